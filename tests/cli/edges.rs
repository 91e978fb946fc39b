//! Nothing overwritten, nothing lost: every command with an output refuses a
//! path that is one of its inputs (exit 2, the input untouched), outputs are
//! checked before the work starts, Ctrl-C leaves no temporary file and a closed
//! stdout ends quietly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{assert_bad_input, path_str, root, rramsim, scratch, stderr};

const TINY: &str = "tests/fixtures/trace/tiny.toml";

/// A copy of `text` in `dir` that a refused command must leave byte-identical.
fn input(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `args`, asserts exit 2 with the refusal message, and that `input` is unchanged.
#[track_caller]
fn assert_refused(args: &[&str], input: &Path) {
    let before = std::fs::read(input).unwrap();
    let o = rramsim(args);
    assert_bad_input(&o, "refusing to overwrite the input");
    assert_eq!(std::fs::read(input).unwrap(), before, "{} changed", input.display());
}

fn fault_map(dir: &Path) -> PathBuf {
    let map = dir.join("m.rfm");
    let o = rramsim(&["faults", "gen", "--arch", "isaac", "--rate", "0.01", "--seed", "1", "-o", path_str(&map)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    map
}

#[test]
fn faults_gen_refuses_its_architecture_file() {
    let dir = scratch("edges-gen");
    let arch = input(dir.as_path(), "a.toml", rramsim_preset().as_bytes());
    assert_refused(
        &["faults", "gen", "--arch", path_str(&arch), "--rate", "0.01", "--seed", "1", "-o", path_str(&arch)],
        &arch,
    );
}

fn rramsim_preset() -> String {
    std::fs::read_to_string(root().join("arch-configs/isaac.toml")).unwrap()
}

#[test]
fn faults_import_and_export_refuse_their_inputs() {
    let dir = scratch("edges-import");
    let map = fault_map(&dir);
    let csv = dir.join("m.csv");
    assert_eq!(rramsim(&["faults", "export", path_str(&map), "-o", path_str(&csv)]).status.code(), Some(0));
    assert_refused(&["faults", "import", path_str(&csv), "--arch", "isaac", "-o", path_str(&csv)], &csv);
    assert_refused(&["faults", "export", path_str(&map), "-o", path_str(&map)], &map);
    // Through a symbolic link and a hard link: the same file.
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink(&csv, &link).unwrap();
    assert_refused(&["faults", "import", path_str(&csv), "--arch", "isaac", "-o", path_str(&link)], &csv);
    let hard = dir.join("hard.rfm");
    std::fs::hard_link(&map, &hard).unwrap();
    assert_refused(&["faults", "export", path_str(&map), "-o", path_str(&hard)], &map);
}

#[test]
fn trace_convert_refuses_its_trace() {
    let dir = scratch("edges-convert");
    let trace = input(&dir, "t.rtrace", &std::fs::read(root().join("tests/fixtures/trace/v1.0.rtrace")).unwrap());
    assert_refused(&["trace", "convert", path_str(&trace), "--to", "chrome", "-o", path_str(&trace)], &trace);
    // The layer table of `-o x.rtrace` (`x.layers.rtrace`) must not be the input either.
    let trace2 = input(&dir, "x.layers.rtrace", &std::fs::read(&trace).unwrap());
    let out = dir.join("x.rtrace");
    assert_refused(&["trace", "convert", path_str(&trace2), "--to", "csv", "-o", path_str(&out)], &trace2);
    assert!(!out.exists());
}

#[test]
fn infer_refuses_its_input_array() {
    let dir = scratch("edges-infer");
    let model = root().join("tests/fixtures/onnx/resnet20.onnx");
    // A valid .npy header is not needed: the output is checked before reading.
    let x = input(&dir, "x.npy", b"not read");
    assert_refused(&["infer", "--model", path_str(&model), "--input", path_str(&x), "-o", path_str(&x)], &x);
    let m = input(&dir, "m.onnx", &std::fs::read(&model).unwrap());
    let out = dir.join("m.onnx");
    assert_refused(&["infer", "--model", path_str(&m), "--input", path_str(&x), "-o", path_str(&out)], &m);
}

#[test]
fn run_refuses_inputs_as_baseline_or_trace_and_two_outputs_in_one_file() {
    let dir = scratch("edges-run");
    let arch = input(&dir, "a.toml", rramsim_preset().as_bytes());
    let arch_s = path_str(&arch);
    assert_refused(&["run", "--arch", arch_s, "--workload", TINY, "--save-baseline", arch_s], &arch);
    assert_refused(&["run", "--arch", arch_s, "--workload", TINY, "--trace", arch_s], &arch);
    let tiny = root().join(TINY);
    let o = rramsim(&["run", "--arch", "isaac", "--workload", TINY, "--save-baseline", path_str(&tiny)]);
    assert_bad_input(&o, "refusing to overwrite the input");
    let both = dir.join("both.json");
    let o = rramsim(&[
        "run",
        "--arch",
        "isaac",
        "--workload",
        TINY,
        "--trace",
        path_str(&both),
        "--save-baseline",
        path_str(&both),
    ]);
    assert_bad_input(&o, "both name");
    assert!(!both.exists());
}

#[test]
fn study_refuses_its_architecture_as_plot() {
    let dir = scratch("edges-study");
    let arch = input(&dir, "a.toml", rramsim_preset().as_bytes());
    assert_refused(&["study", "--arch", path_str(&arch), "--workload", TINY, "--plot", path_str(&arch)], &arch);
}

#[test]
fn workload_export_refuses_its_source() {
    let dir = scratch("edges-export");
    let w = input(&dir, "w.toml", &std::fs::read(root().join(TINY)).unwrap());
    assert_refused(&["workload", "export", path_str(&w), "-o", path_str(&w)], &w);
}

#[test]
fn train_refuses_a_dataset_file() {
    let dir = scratch("edges-train");
    let data = input(&dir, "train-images-idx3-ubyte", b"not read");
    let arg = format!("fashion-mnist:{}", path_str(&dir));
    let o = rramsim(&["train", "--model", "resnet-mini", "--data", &arg, "-o", path_str(&data)]);
    // Without the `train` feature the command is refused before its arguments are checked.
    if cfg!(feature = "train") {
        assert_bad_input(&o, "refusing to overwrite the input");
    } else {
        assert_bad_input(&o, "without the `train` feature");
    }
    assert_eq!(std::fs::read(&data).unwrap(), b"not read");
}

#[test]
fn sweep_refuses_its_spec_and_merge_its_inputs() {
    let dir = scratch("edges-sweep");
    let spec = input(&dir, "s.json", b"arch = \"isaac\"\n[axes]\nworkload = [\"tests/fixtures/trace/tiny.toml\"]\n");
    // The spec is read first; `s.json` is a results extension, so the only objection is the overwrite.
    let o = rramsim(&["sweep", path_str(&spec), "-o", path_str(&spec)]);
    assert_bad_input(&o, "refusing to overwrite the input");
    let out = dir.join("r.csv");
    assert_eq!(rramsim(&["sweep", path_str(&spec), "-o", path_str(&out)]).status.code(), Some(0));
    assert_refused(&["sweep", "merge", path_str(&out), "-o", path_str(&out)], &out);
}

#[test]
fn a_bad_output_directory_is_reported_before_any_work() {
    let dir = scratch("edges-outdir");
    let spec =
        input(&dir, "s.toml", b"arch = \"isaac\"\n[axes]\nworkload = [\"resnet50\"]\n\"crossbar.rows\" = [64, 128]\n");
    let o = rramsim(&["sweep", path_str(&spec), "-o", "/nonexistent-rramsim-dir/r.csv"]);
    assert_bad_input(
        &o,
        "-o: cannot write /nonexistent-rramsim-dir/r.csv: directory /nonexistent-rramsim-dir does not exist",
    );
    // Nothing was simulated: the message comes before the (silent) progress bar's points.
    assert!(!stderr(&o).contains("points"), "{}", stderr(&o));
}

/// `kill -SIG pid`.
fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn ctrl_c_during_a_traced_run_leaves_no_partial_file() {
    let dir = scratch("edges-sigint");
    let trace = dir.join("big.rtrace");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(["run", "--arch", "isaac", "--workload", "resnet50", "--batch", "4", "--trace", path_str(&trace)])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.join("big.rtrace.partial");
    let t0 = std::time::Instant::now();
    while !partial.exists() {
        assert!(t0.elapsed().as_secs() < 120, "no .partial file appeared");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(child.id(), "-INT");
    let status = child.wait().unwrap();
    assert!(!status.success());
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = scratch("edges-pipe");
    let spec = input(
        &dir,
        "s.toml",
        b"arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\nwidth = { from = 1.0, to = 1000.0, step = 0.001 }\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(["sweep", path_str(&spec), "--list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe (as `| head -1` does).
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(err.is_empty(), "{err}");
    // Ended by the closed pipe (the list is ~40 MB, far past the pipe's buffer),
    // as SIGPIPE's default action ends `yes | head -1`.
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(o.status.signal(), Some(13), "{:?}", o.status);
}

#[test]
fn run_table_shows_area_every_layer_and_explains_util() {
    let o = rramsim(&["run", "--arch", "isaac", "--workload", "resnet20"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = crate::stdout(&o);
    let area = table.lines().find(|l| l.starts_with("area: ")).unwrap_or_else(|| panic!("{table}"));
    assert!(area.contains(" mm2 per chip, ") && area.contains(" chip(s) used"), "{area}");
    assert!(table.contains("util%: weight cells used / cells of the layer's crossbars"), "{table}");
    // One table row per layer of the JSON report, views and fused layers included.
    let report = crate::json_of(&["run"], &["--arch", "isaac", "--workload", "resnet20"]);
    let layers = report["layers"].as_array().unwrap();
    assert!(layers.iter().any(|l| l["target"] != "rram"));
    for l in layers {
        let name = l["name"].as_str().unwrap();
        assert!(table.lines().any(|row| row.split_whitespace().next() == Some(name)), "no row for {name}:\n{table}");
    }
}
