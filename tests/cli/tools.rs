//! Tests of the Python helpers in tools/, run with the tools virtual
//! environment (`tools/.venv`, created by `.ci/run` from tools/requirements.txt).
//! Without the venv they are skipped locally, and fail under CI (`CI` set), so a
//! CI run cannot pass without running them.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, scratch};

/// The tools venv's python, or `None` (skip) outside CI when it is missing.
pub fn tools_python() -> Option<PathBuf> {
    let python = root().join("tools/.venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    crate::prerequisite_missing(
        std::thread::current().name().unwrap_or("?"),
        &python.display().to_string(),
        "create it with .ci/run",
    );
    None
}

/// The committed ONNX fixtures are exactly what tools/onnx_fixtures.py builds;
/// the script also runs each valid fixture through onnxruntime once.
#[test]
fn onnx_fixtures_are_reproducible() {
    let Some(python) = tools_python() else { return };
    let out = scratch("fixtures");
    let o = Command::new(python)
        .arg(root().join("tools/onnx_fixtures.py"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let committed = root().join("tests/fixtures/onnx");
    let mut count = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let want = std::fs::read(committed.join(name)).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert!(std::fs::read(&path).unwrap() == want, "{name:?} differs from the committed fixture: regenerate it");
        count += 1;
    }
    assert_eq!(count, std::fs::read_dir(&committed).unwrap().count());
}

/// The Dask driver, on a 2-worker LocalCluster bound to 127.0.0.1, merges to the
/// same result as a local `rramsim sweep`.
#[test]
fn dask_sweep_matches_the_local_sweep() {
    let Some(python) = tools_python() else { return };
    let dir = scratch("dask");
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        "arch = \"neurosim-8b\"\n[axes]\nworkload = [\"resnet20\", \"mobilenetv2\"]\nwidth = [1.0, 1.2, 1.6]\n\"crossbar.rows\" = [64, 128]\n",
    )
    .unwrap();
    let local = dir.join("local.parquet");
    let o = Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(["sweep", spec.to_str().unwrap(), "-o", local.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dask = dir.join("dask.parquet");
    let o = Command::new(python)
        .arg(root().join("tools/dask_sweep.py"))
        .arg(&spec)
        .args(["-o", dask.to_str().unwrap(), "--workers", "2", "--rramsim", env!("CARGO_BIN_EXE_rramsim")])
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Compare as CSV (Parquet files embed writer metadata).
    let as_csv = |p: &std::path::Path, name: &str| {
        let out = dir.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_rramsim"))
            .args(["sweep", "merge", p.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success());
        std::fs::read_to_string(out).unwrap()
    };
    let (a, b) = (as_csv(&local, "local.csv"), as_csv(&dask, "dask.csv"));
    assert_eq!(a.lines().count(), 2 + 12);
    assert_eq!(a, b);
}

/// tools/trace_plot.py loads the Parquet and CSV tables the CLI just wrote into
/// pandas and polars (which must agree with each other and with the trace's
/// own summary) and draws both charts.
#[test]
fn trace_plot_loads_tables_into_pandas_and_polars() {
    let Some(python) = tools_python() else { return };
    let dir = scratch("trace-plot");
    let trace = dir.join("t.rtrace");
    let bin = env!("CARGO_BIN_EXE_rramsim");
    let run = |args: &[&str]| {
        let o = Command::new(bin).args(args).current_dir(root()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    let t = trace.to_str().unwrap();
    run(&["run", "--arch", "isaac", "--workload", "resnet20", "--offload", "pointwise", "--trace", t]);
    let summary: serde_json::Value =
        serde_json::from_slice(&run(&["trace", "summary", t, "--format", "json"]).stdout).unwrap();
    for ext in ["parquet", "csv"] {
        let table = dir.join(format!("events.{ext}"));
        run(&["trace", "convert", t, "--to", ext, "-o", table.to_str().unwrap()]);
        let out = dir.join(format!("charts-{ext}"));
        let o = Command::new(&python)
            .arg(root().join("tools/trace_plot.py"))
            .arg(&table)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("python runs");
        assert!(o.status.success(), "{ext}: {}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["events"], summary["events"], "{ext}");
        assert_eq!(r["events_polars"], summary["events"], "{ext}");
        assert_eq!(r["layers"].as_u64().unwrap() as usize, summary["layers"].as_array().unwrap().len());
        let (a, b) = (r["energy_pj"].as_f64().unwrap(), summary["energy_pj"].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-6 * b, "{ext}: {a} vs {b}");
        for chart in ["timeline.png", "energy.png"] {
            let bytes = std::fs::read(out.join(chart)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{ext}: {chart}");
        }
    }
}

/// Functional inference matches onnxruntime on the ONNX fixtures (the PyTorch-style
/// transformer, MobileNetV3-style, tf2onnx NHWC and UNet-style Resize and opset-9 Upsample exports included) and on a model
/// `rramsim train` just exported: float within 1e-4 (absolute), quantized to
/// 16 bits (ISAAC) within 1e-3 and to 8 bits (neurosim-8b) within 5e-2 of the
/// output's largest magnitude (the documented bounds).
#[test]
fn functional_inference_matches_onnxruntime() {
    let Some(python) = tools_python() else { return };
    let dir = scratch("func-ort");
    let trained = dir.join("trained.onnx");
    let fashion = cfg!(feature = "train")
        && std::path::Path::new("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").exists();
    let mut models: Vec<PathBuf> = [
        "resnet20",
        "mixed_ops",
        "typed_fields",
        "vit_tiny",
        "torch_mobile_ops",
        "tf2onnx_nhwc",
        "torch_unet_resize",
        "upsample_opset9",
    ]
    .iter()
    .map(|m| root().join(format!("tests/fixtures/onnx/{m}.onnx")))
    .collect();
    if fashion {
        let o = Command::new(env!("CARGO_BIN_EXE_rramsim"))
            .args(["train", "--model", "resnet-mini", "--width", "1.2", "--train-images", "128", "-o"])
            .arg(&trained)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        models.push(trained);
    }
    let o = Command::new(python)
        .arg(root().join("tools/func_reference.py"))
        .args(["--rramsim", env!("CARGO_BIN_EXE_rramsim"), "--arch", "isaac", "--arch", "neurosim-8b"])
        .args(&models)
        .output()
        .expect("python runs");
    let report: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert!(o.status.success(), "float error above 1e-4: {report:#}");
    assert_eq!(report.as_object().unwrap().len(), models.len());
    for (name, r) in report.as_object().unwrap() {
        let f = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{name}: {k}"));
        assert!(f("float_max_abs_error") <= 1e-4, "{name}: {r}");
        assert_eq!(f("float_argmax_agreement"), 1.0, "{name}");
        assert!(f("isaac_max_rel_error") <= 1e-3, "{name}: {r}");
        assert!(f("neurosim-8b_max_rel_error") <= 5e-2, "{name}: {r}");
    }
}

/// The device model (on/off ratio, drift, IR drop, bit-exact 5- and 12-bit ADC)
/// matches the independent NumPy implementation of tools/device_reference.py.
#[test]
fn device_model_matches_the_numpy_reference() {
    let Some(python) = tools_python() else { return };
    let o = Command::new(python)
        .arg(root().join("tools/device_reference.py"))
        .args(["--rramsim", env!("CARGO_BIN_EXE_rramsim"), "--arch-base"])
        .arg(root().join("tests/fixtures/neurosim-v13-2bit.toml"))
        .arg(root().join("tests/fixtures/onnx/typed_fields.onnx"))
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

/// The Caffe2-style opset-7 export (LRN, Sum, Softmax over axis 1) matches
/// onnxruntime in float. Its 10-way softmax output is small (largest value 0.42),
/// so 8-bit quantization moves it by 9% of that: it is not held to the relative
/// bounds above.
#[test]
fn caffe2_opset7_export_matches_onnxruntime_in_float() {
    let Some(python) = tools_python() else { return };
    let o = Command::new(python)
        .arg(root().join("tools/func_reference.py"))
        .args(["--rramsim", env!("CARGO_BIN_EXE_rramsim")])
        .arg(root().join("tests/fixtures/onnx/caffe2_opset7.onnx"))
        .output()
        .expect("python runs");
    let report: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert!(o.status.success(), "{report:#}");
    let r = &report["caffe2_opset7.onnx"];
    assert!(r["float_max_abs_error"].as_f64().unwrap() <= 1e-4, "{r}");
    assert_eq!(r["float_argmax_agreement"].as_f64(), Some(1.0), "{r}");
}
