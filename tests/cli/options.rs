//! One validation of every option: the same bad value is refused the same way
//! (exit 2, the same message) by run, study, sweep and eval, so the entry
//! points cannot drift apart again.

use crate::{assert_bad_input, path_str, rramsim, scratch};

/// `rramsim sweep` on a one-point spec with `axis = value`.
fn sweep_with(name: &str, axis: &str, value: &str) -> std::process::Output {
    let dir = scratch(&format!("options-{name}"));
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, format!("arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\n{axis} = [{value}]\n"))
        .unwrap();
    rramsim(&["sweep", path_str(&spec), "-o", path_str(&dir.join("out.csv"))])
}

const MODEL: &str = "tests/fixtures/onnx/resnet20.onnx";

#[test]
fn bad_fault_rates_are_refused_everywhere() {
    for (rate, shown) in [("-0.1", "-0.1"), ("1.5", "1.5"), ("NaN", "NaN")] {
        let needle = format!("fault rate must be in [0, 1], got {shown}");
        let run = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--fault-rate", rate, "--seed", "1"]);
        assert_bad_input(&run, &needle);
        let study =
            rramsim(&["study", "--arch", "isaac", "--workload", "resnet20", "--fault-rate", rate, "--seed", "1"]);
        assert_bad_input(&study, &needle);
        let value = if rate == "NaN" { "nan".to_owned() } else { rate.to_owned() };
        assert_bad_input(&sweep_with(&format!("rate{rate}"), "fault_rate", &value), &needle);
        let eval = rramsim(&["eval", "--model", MODEL, "--arch", "isaac", "--fault-rate", rate]);
        assert_bad_input(&eval, &needle);
    }
    // A rate of 1 (every cell stuck) is a valid, if extreme, setting everywhere.
    let o = rramsim(&["faults", "gen", "--arch", "isaac", "--rate", "1.0", "--seed", "1", "-o", "/nonexistent-dir/x"]);
    assert_bad_input(&o, "does not exist");
}

#[test]
fn bad_sa1_fractions_are_refused_everywhere() {
    let needle = "SA1 fraction must be in [0, 1], got 2";
    let run = rramsim(&[
        "run",
        "--arch",
        "isaac",
        "--workload",
        "resnet20",
        "--fault-rate",
        "0.1",
        "--seed",
        "1",
        "--sa1-fraction",
        "2",
    ]);
    assert_bad_input(&run, needle);
    let generate = rramsim(&[
        "faults",
        "gen",
        "--arch",
        "isaac",
        "--rate",
        "0.1",
        "--sa1-fraction",
        "2",
        "--seed",
        "1",
        "-o",
        "x",
    ]);
    assert_bad_input(&generate, needle);
    let eval = rramsim(&["eval", "--model", MODEL, "--arch", "isaac", "--fault-rate", "0.1", "--sa1-fraction", "2"]);
    assert_bad_input(&eval, needle);
}

#[test]
fn bad_offload_policies_are_refused_everywhere() {
    let needle = "unknown policy `nope`";
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--offload", "nope"]), needle);
    assert_bad_input(&rramsim(&["study", "--arch", "isaac", "--workload", "resnet20", "--offload", "nope"]), needle);
    assert_bad_input(&sweep_with("offload", "offload", "\"nope\""), needle);
    assert_bad_input(&rramsim(&["eval", "--model", MODEL, "--arch", "isaac", "--offload", "nope"]), needle);
}

#[test]
fn bad_widths_are_refused_everywhere() {
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--widen", "-1"]), "--widen");
    assert_bad_input(
        &rramsim(&["study", "--arch", "isaac", "--workload", "resnet20", "--widths", "-1"]),
        "width must be a positive number, got -1",
    );
    assert_bad_input(&sweep_with("width", "width", "-1"), "width must be a positive number, got -1");
}

#[test]
fn bad_batches_are_refused_everywhere() {
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--batch", "0"]), "--batch");
    assert_bad_input(&rramsim(&["study", "--arch", "isaac", "--workload", "resnet20", "--batch", "0"]), "--batch");
    let dir = scratch("options-batch");
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, "arch = \"isaac\"\n[options]\nbatch = 0\n[axes]\nworkload = [\"resnet20\"]\n").unwrap();
    let o = rramsim(&["sweep", path_str(&spec), "-o", path_str(&dir.join("out.csv"))]);
    assert_bad_input(&o, "batch must be between 1");
}
