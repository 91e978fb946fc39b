"""rramsim: a cycle-level simulator of RRAM DNN accelerators, from Python.

The simulator is the Rust ``rramsim`` crate; this package is a thin layer over
it (the ``rramsim._rramsim`` extension module). Figures are the CLI's: the dict
a function returns has the keys and values of the matching ``rramsim ...
--format json`` document, and tables come as pandas DataFrames.

Architectures and workloads are accepted as names (``"isaac"``,
``"resnet20"``), paths (``.toml``, ``.onnx``; ``str`` or ``os.PathLike``) or
TOML text. Errors raise :class:`InputError` (bad input; the message names the
file, line, key, layer or argument at fault) or :class:`RramsimError`.

>>> import rramsim
>>> r = rramsim.run(arch="isaac", workload="resnet20")
>>> r.summary["total_cycles"], len(r.layers)
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _rramsim
from ._rramsim import InputError, RramsimError
from . import faults

__version__: str = _rramsim.version()

PathLike = Union[str, "os.PathLike[str]"]


def _text(x: PathLike) -> str:
    return os.fspath(x)


def _opt_text(x: Optional[PathLike]) -> Optional[str]:
    return None if x is None else os.fspath(x)


def _pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("rramsim tables need pandas: pip install pandas") from e
    return pandas


def presets() -> List[str]:
    """The built-in architecture presets."""
    return list(_rramsim.presets())


def zoo() -> List[str]:
    """The built-in networks."""
    return list(_rramsim.zoo())


class Result:
    """A simulated run.

    ``summary``: the run report, the keys and values of ``rramsim run --format
    json`` (totals, energy by component, the per-layer list, fault statistics
    when the run has faults). ``layers``: one DataFrame row per layer (name, op,
    target, crossbars, replicas, utilization, start/end cycles, cycles, MACs,
    energy, and ``energy_<component>_pj`` columns).
    """

    def __init__(self, summary: Dict[str, Any]):
        self.summary: Dict[str, Any] = summary

    @property
    def layers(self):
        pd = _pandas()
        rows = []
        for layer in self.summary["layers"]:
            row = {k: v for k, v in layer.items() if k != "energy_by_component"}
            for component, pj in layer["energy_by_component"].items():
                row[f"energy_{component}_pj"] = pj
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<rramsim.Result {s['workload']} on {s['arch']}: {s['total_cycles']} cycles, "
            f"{s['energy_pj'] / 1e6:.3f} uJ, {len(s['layers'])} layers>"
        )


def run(
    arch: PathLike = "isaac",
    workload: PathLike = "resnet20",
    *,
    batch: int = 1,
    offload: str = "all-rram",
    replication: str = "balanced",
    widen: Optional[float] = None,
    shortcut_kernel: Optional[int] = None,
    faults: Optional[PathLike] = None,
    fault_rate: Optional[float] = None,
    seed: Optional[int] = None,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
    trace: Optional[PathLike] = None,
    max_replicas: Optional[int] = None,
    chip_budget: Optional[int] = None,
    remap: str = "none",
) -> Result:
    """Map ``workload`` onto ``arch`` and simulate it cycle by cycle (``rramsim run``).

    ``offload``: ``all-rram``, ``pointwise``, ``all-digital``, ``layers=A,B`` or
    ``auto[:F]`` (needs faults). Faults: a map file (``faults=``) or a generated
    map (``fault_rate=`` per cell, with ``seed=``). ``trace=``: also write a
    binary ``.rtrace`` of every event. ``max_replicas=`` / ``chip_budget=``: the
    replication budget (``--max-replicas`` / ``--chip-budget``, whole numbers of
    at least 1; default: no replica limit, the chips one copy needs).
    ``remap=``: ``none``, ``rows`` or ``rows+cols``, the fault-aware remapping's
    hardware cost in the report's ``remap`` (``run --remap``).
    """
    text = _rramsim.run(
        _text(arch),
        _text(workload),
        batch=batch,
        offload=offload,
        replication=replication,
        widen=widen,
        shortcut_kernel=shortcut_kernel,
        faults=_opt_text(faults),
        fault_rate=fault_rate,
        seed=seed,
        sa1_fraction=sa1_fraction,
        distribution=distribution,
        fault_model=fault_model,
        trace=_opt_text(trace),
        max_replicas=max_replicas,
        chip_budget=chip_budget,
        remap=remap,
    )
    return Result(json.loads(text))


def check(arch: PathLike = "isaac") -> Dict[str, Any]:
    """An architecture's resolved parameters and peak figures (``rramsim check``)."""
    return json.loads(_rramsim.check(_text(arch)))


def workload(source: PathLike, *, widen: Optional[float] = None, shortcut_kernel: Optional[int] = None):
    """A network's layers (``rramsim workload show``): a DataFrame, with the
    totals in ``.attrs``."""
    doc = json.loads(_rramsim.workload(_text(source), widen=widen, shortcut_kernel=shortcut_kernel))
    df = _pandas().DataFrame(doc.pop("layers"))
    df.attrs.update(doc)
    return df


def study(
    arch: PathLike,
    workload: PathLike,
    *,
    widths: Sequence[float] = (1.0, 1.2, 1.6),
    offload: Sequence[str] = ("all-rram", "pointwise"),
    shortcut_kernels: Sequence[int] = (1,),
    replication: str = "balanced",
    batch: int = 1,
    faults: Optional[PathLike] = None,
    fault_rate: Optional[float] = None,
    seed: Optional[int] = None,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
):
    """The widening / offload cost study (``rramsim study``): one DataFrame row
    per (width, offload policy, shortcut kernel) with cycles, latency,
    throughput, energy, crossbars, tiles, digital-unit utilization and the %
    change against width 1.0 / all-rram / kernel 1. The report's other fields
    are in ``.attrs``."""
    doc = json.loads(
        _rramsim.study(
            _text(arch),
            _text(workload),
            widths=[float(w) for w in widths],
            offload=list(offload),
            shortcut_kernels=[int(k) for k in shortcut_kernels],
            replication=replication,
            batch=batch,
            faults=_opt_text(faults),
            fault_rate=fault_rate,
            seed=seed,
            sa1_fraction=sa1_fraction,
            distribution=distribution,
            fault_model=fault_model,
        )
    )
    df = _pandas().DataFrame(doc.pop("rows"))
    df.attrs.update(doc)
    return df


def sweep(spec: Union[PathLike, Dict[str, Any]], *, base_dir: Optional[PathLike] = None):
    """Run a design-space sweep (``rramsim sweep``): ``spec`` is a spec file,
    TOML text or a dict of the same structure. Returns a DataFrame with the
    columns of the CLI's results file: ``index``, the axes, ``status``,
    ``error``, then the metrics (NaN where a metric does not apply)."""
    if isinstance(spec, dict):
        text, is_json = json.dumps(spec), True
    else:
        text, is_json = _text(spec), False
    doc = json.loads(_rramsim.sweep(text, is_json=is_json, base_dir=_opt_text(base_dir)))
    rows = []
    for r in doc["rows"]:
        row: Dict[str, Any] = {"index": r["index"]}
        for axis in doc["axes"]:
            row[axis] = r["point"].get(axis)
        row["status"] = r["status"]
        row["error"] = r["error"]
        for m in doc["metrics"]:
            row[m] = r["metrics"].get(m, float("nan"))
        rows.append(row)
    columns = ["index", *doc["axes"], "status", "error", *doc["metrics"]]
    return _pandas().DataFrame(rows, columns=columns)


def eval(
    model: PathLike,
    *,
    data: str = "fashion-mnist",
    images: Optional[int] = None,
    arch: Optional[PathLike] = None,
    offload: str = "all-rram",
    replication: str = "balanced",
    fault_rate: float = 0.0,
    rate_per: str = "cell",
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
    seeds: int = 10,
    seed: int = 1,
    adc_clip: bool = False,
    weights: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Accuracy of a trained model (``rramsim eval``): float, quantized
    fault-free on ``arch``, and mean ± std (min, max) over ``seeds`` fault maps."""
    return json.loads(
        _rramsim.eval(
            _text(model),
            data=data,
            images=images,
            arch=_opt_text(arch),
            offload=offload,
            replication=replication,
            fault_rate=fault_rate,
            rate_per=rate_per,
            sa1_fraction=sa1_fraction,
            distribution=distribution,
            fault_model=fault_model,
            seeds=seeds,
            seed=seed,
            adc_clip=adc_clip,
            weights=_opt_text(weights),
        )
    )


def infer(
    model: PathLike,
    x,
    *,
    weights: Optional[PathLike] = None,
    arch: Optional[PathLike] = None,
    offload: str = "all-rram",
    fault_rate: Optional[float] = None,
    seed: int = 1,
    sa1_fraction: float = 0.5,
    fault_model: str = "cell",
    adc_clip: bool = False,
):
    """Functional inference (``rramsim infer``) of ``x``, a float32-convertible
    array ``[N, C, H, W]`` (or one ``[C, H, W]`` image); returns ``[N, outputs]``
    as a numpy array. With ``arch``: on its quantized (and, with ``fault_rate``,
    faulty) crossbars."""
    import numpy as np

    a = np.ascontiguousarray(x, dtype="<f4")
    data, shape = _rramsim.infer(
        _text(model),
        a.tobytes(),
        list(a.shape),
        weights=_opt_text(weights),
        arch=_opt_text(arch),
        offload=offload,
        fault_rate=fault_rate,
        seed=seed,
        sa1_fraction=sa1_fraction,
        fault_model=fault_model,
        adc_clip=adc_clip,
    )
    return np.frombuffer(bytes(data), dtype="<f4").reshape(shape).copy()


__all__ = [
    "InputError",
    "RramsimError",
    "Result",
    "__version__",
    "check",
    "eval",
    "faults",
    "infer",
    "presets",
    "run",
    "study",
    "sweep",
    "workload",
    "zoo",
]
