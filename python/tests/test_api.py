"""The Python package against the CLI: the same inputs give the same figures.

Run by `cargo test` (tests/cli/python.rs) with the tools venv, which passes the
CLI binary in RRAMSIM_BIN and the repository root in RRAMSIM_ROOT.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rramsim

ROOT = Path(os.environ.get("RRAMSIM_ROOT", Path(__file__).resolve().parents[2]))
BIN = os.environ.get("RRAMSIM_BIN")
FIXTURE = ROOT / "tests/fixtures/onnx/resnet20.onnx"

needs_cli = pytest.mark.skipif(BIN is None, reason="RRAMSIM_BIN (the rramsim binary) not given")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], cwd=ROOT, capture_output=True, text=True)


def cli_json(*args: str):
    p = cli(*args, "--format", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@needs_cli
def test_run_summary_equals_the_cli():
    r = rramsim.run(arch="isaac", workload="resnet20")
    assert r.summary == cli_json("run", "--arch", "isaac", "--workload", "resnet20")
    assert len(r.layers) == len(r.summary["layers"])
    assert r.layers["cycles"].sum() == sum(l["cycles"] for l in r.summary["layers"])
    assert "energy_adc_pj" in r.layers.columns


@needs_cli
def test_run_with_options_and_faults_equals_the_cli():
    kw = dict(batch=2, offload="pointwise", widen=1.2, fault_rate=0.1, seed=7, fault_model="weight-zero")
    r = rramsim.run("neurosim-8b", "resnet20", **kw)
    doc = cli_json(
        "run", "--arch", "neurosim-8b", "--workload", "resnet20", "--batch", "2", "--offload", "pointwise",
        "--widen", "1.2", "--fault-rate", "0.1", "--seed", "7", "--fault-model", "weight-zero",
    )
    assert r.summary == doc
    assert r.summary["faults"]["fault_model"] == "weight-zero"


@needs_cli
def test_run_with_a_replication_budget_equals_the_cli():
    r = rramsim.run("isaac", "resnet20", max_replicas=2, chip_budget=1)
    doc = cli_json("run", "--arch", "isaac", "--workload", "resnet20", "--max-replicas", "2", "--chip-budget", "1")
    assert r.summary == doc
    # The budget acts: one replica at most per layer is a different mapping.
    one = rramsim.run("isaac", "resnet20", max_replicas=1).summary
    assert one["total_cycles"] != r.summary["total_cycles"]
    for bad in (dict(max_replicas=0), dict(chip_budget=-1)):
        with pytest.raises(rramsim.InputError, match="at least 1"):
            rramsim.run("isaac", "resnet20", **bad)


@needs_cli
def test_run_with_remap_cost_equals_the_cli():
    r = rramsim.run("isaac", "resnet20", remap="rows+cols")
    assert r.summary == cli_json("run", "--arch", "isaac", "--workload", "resnet20", "--remap", "rows+cols")
    cost = r.summary["remap"]
    assert cost["mode"] == "rows+cols" and cost["table_area_mm2"] > 0
    assert rramsim.run("isaac", "resnet20").summary.get("remap") is None
    with pytest.raises(rramsim.InputError, match="remap"):
        rramsim.run("isaac", "resnet20", remap="cols")


@needs_cli
def test_check_equals_the_cli():
    assert rramsim.check("isaac") == cli_json("check", "isaac")


def test_architectures_and_workloads_as_paths_and_text():
    text = (ROOT / "arch-configs/isaac.toml").read_text()
    by_name = rramsim.run("isaac", "resnet20").summary
    assert rramsim.run(ROOT / "arch-configs/isaac.toml", "resnet20").summary["total_cycles"] == by_name["total_cycles"]
    assert rramsim.run(text, "resnet20").summary["total_cycles"] == by_name["total_cycles"]
    workload_text = (ROOT / "workloads/resnet20.toml").read_text()
    assert rramsim.run("isaac", workload_text).summary["total_cycles"] == by_name["total_cycles"]
    assert rramsim.workload("resnet20").attrs["total_macs"] == 40_813_184


@needs_cli
def test_study_equals_the_cli():
    df = rramsim.study("isaac", "resnet20", widths=[1.0, 1.2], offload=["all-rram", "pointwise"])
    doc = cli_json("study", "--arch", "isaac", "--workload", "resnet20", "--widths", "1.0,1.2")
    assert df.to_dict("records") == doc["rows"]
    assert df.attrs["baseline"] == doc["baseline"]


@needs_cli
def test_sweep_from_a_dict_equals_the_cli(tmp_path):
    spec = {
        "arch": "isaac",
        "options": {"seed": 3},
        "axes": {"workload": ["resnet20"], "pe.adc.bits": [7, 8], "fault_rate": [0.0, 0.05]},
    }
    df = rramsim.sweep(spec)
    # Axes run, and columns appear, in the dict's order (as in a spec file).
    assert list(df.columns[:6]) == ["index", "workload", "pe.adc.bits", "fault_rate", "status", "error"]
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        'arch = "isaac"\n[options]\nseed = 3\n[axes]\nworkload = ["resnet20"]\n'
        '"pe.adc.bits" = [7, 8]\nfault_rate = [0.0, 0.05]\n'
    )
    out = tmp_path / "out.csv"
    p = cli("sweep", str(spec_file), "-o", str(out))
    assert p.returncode == 0, p.stderr
    expect = pd.read_csv(out, comment="#")
    assert len(df) == len(expect) == 4
    for col in ["total_cycles", "energy_pj", "seed", "weights_changed_fraction"]:
        assert np.allclose(df[col].to_numpy(float), expect[col].to_numpy(float), equal_nan=True, rtol=0, atol=0), col
    assert list(df["status"]) == list(expect["status"])
    # The same spec as a file and as text.
    assert rramsim.sweep(spec_file)["total_cycles"].equals(df["total_cycles"])
    assert rramsim.sweep(spec_file.read_text())["total_cycles"].equals(df["total_cycles"])


@needs_cli
def test_fault_maps_equal_the_cli(tmp_path):
    out = tmp_path / "m.faults"
    stats = rramsim.faults.generate("isaac", 0.01, seed=9, output=out)
    assert out.exists() and stats["faulty_cells"] > 0
    assert rramsim.faults.stats(out) == cli_json("faults", "stats", str(out))
    layered = rramsim.faults.stats(out, arch="isaac", workload="resnet20")
    assert layered == cli_json("faults", "stats", str(out), "--arch", "isaac", "--workload", "resnet20")
    cli_out = tmp_path / "c.faults"
    p = cli("faults", "gen", "--arch", "isaac", "--rate", "0.01", "--seed", "9", "-o", str(cli_out))
    assert p.returncode == 0, p.stderr
    assert cli_out.read_bytes() == out.read_bytes()


def synthetic_cifar(dir: Path, n: int = 64) -> str:
    rng = np.random.default_rng(0)
    records = np.zeros((n, 3073), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, n)
    records[:, 1:] = rng.integers(0, 256, (n, 3072))
    (dir / "test_batch.bin").write_bytes(records.tobytes())
    return f"cifar10:{dir}"


@needs_cli
def test_eval_equals_the_cli(tmp_path):
    data = synthetic_cifar(tmp_path)
    kw = dict(data=data, arch="isaac", fault_rate=0.05, seeds=2, seed=4)
    got = rramsim.eval(FIXTURE, **kw)
    want = cli_json(
        "eval", "--model", str(FIXTURE), "--data", data, "--arch", "isaac", "--fault-rate", "0.05",
        "--seeds", "2", "--seed", "4",
    )
    for d in (got, want):
        d.pop("images_per_s")
        d.pop("remap_seconds")  # wall time, like images_per_s
    assert got == want
    assert got["seeds"] == 2 and len(got["accuracy_per_seed"]) == 2


@needs_cli
def test_infer_equals_the_cli(tmp_path):
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    y = rramsim.infer(FIXTURE, x, arch="isaac", fault_rate=0.02, seed=5)
    assert y.shape == (3, 10) and y.dtype == np.float32
    np.save(tmp_path / "x.npy", x)
    p = cli(
        "infer", "--model", str(FIXTURE), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
        "--arch", "isaac", "--fault-rate", "0.02", "--seed", "5",
    )
    assert p.returncode == 0, p.stderr
    assert np.array_equal(np.load(tmp_path / "y.npy"), y)
    # NHWC is refused, not reinterpreted.
    with pytest.raises(rramsim.InputError, match=r"is not \[N, 3, 32, 32\]"):
        rramsim.infer(FIXTURE, x.transpose(0, 2, 3, 1))


@needs_cli
def test_errors_carry_the_clis_located_messages(tmp_path):
    with pytest.raises(rramsim.InputError, match="unknown workload `resnet21`") as e:
        rramsim.run("isaac", "resnet21")
    p = cli("run", "--arch", "isaac", "--workload", "resnet21")
    assert p.returncode == 2 and str(e.value) in p.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "arch-configs/isaac.toml").read_text().replace("[clock]", "[clock]\nbogus = 1", 1))
    with pytest.raises(rramsim.InputError) as e:
        rramsim.check(bad)
    p = cli("check", str(bad))
    assert p.returncode == 2 and str(e.value) in p.stderr
    assert "bad.toml:" in str(e.value) and "bogus" in str(e.value)
    for rate in (-0.1, 1.5):
        with pytest.raises(rramsim.InputError, match=r"fault rate must be in \[0, 1\]"):
            rramsim.run("isaac", "resnet20", fault_rate=rate, seed=1)
        with pytest.raises(rramsim.InputError, match=r"fault rate must be in \[0, 1\]"):
            rramsim.sweep({"arch": "isaac", "axes": {"workload": ["resnet20"], "fault_rate": [rate]}})
    with pytest.raises(rramsim.InputError, match="unknown policy `nope`"):
        rramsim.study("isaac", "resnet20", offload=["nope"])
    with pytest.raises(rramsim.InputError, match="batch must be between 1"):
        rramsim.run("isaac", "resnet20", batch=0)
    assert issubclass(rramsim.InputError, rramsim.RramsimError)


def test_simulation_releases_the_gil():
    done = threading.Event()
    ticks = 0

    def work():
        rramsim.run("isaac", "resnet50")
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole simulation this thread could not tick
    # until it ended; released, it ticks about once per millisecond.
    assert elapsed < 0.02 or ticks >= 0.2 * elapsed / 0.001, (ticks, elapsed)
