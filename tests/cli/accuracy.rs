//! `rramsim train`, `eval` and `infer` on Fashion-MNIST (Debian's
//! `dataset-fashion-mnist`, which `.ci/run` installs).

use std::path::Path;

use crate::{assert_bad_input, path_str, rramsim, scratch, stderr, stdout};

const FASHION: &str = "/usr/share/datasets/fashion-mnist";

/// Whether the dataset is installed; CI (`CI` set) must have it.
fn have_data() -> bool {
    if Path::new(FASHION).join("t10k-labels-idx1-ubyte.gz").exists() {
        return true;
    }
    crate::prerequisite_missing(
        std::thread::current().name().unwrap_or("?"),
        FASHION,
        "apt-get install dataset-fashion-mnist, or run .ci/run",
    );
    false
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let o = rramsim(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("valid JSON")
}

fn train(out: &Path, seed: u64, p: f64) -> serde_json::Value {
    train_on(out, seed, p, 2000)
}

fn train_on(out: &Path, seed: u64, p: f64, images: usize) -> serde_json::Value {
    let (seed, p, images) = (seed.to_string(), p.to_string(), images.to_string());
    json(&[
        "train",
        "--model",
        "resnet-mini",
        "--epochs",
        "2",
        "--train-images",
        &images,
        "--seed",
        &seed,
        "--drop-connect",
        &p,
        "-o",
        path_str(out),
    ])
}

fn accuracy_at_20_percent(model: &Path) -> serde_json::Value {
    json(&[
        "eval",
        "--model",
        path_str(model),
        "--images",
        "500",
        "--arch",
        "isaac",
        "--fault-rate",
        "0.2",
        "--rate-per",
        "weight",
        "--fault-model",
        "weight-zero",
        "--seeds",
        "3",
    ])
}

/// The CI-sized version of the study's first finding: at a 20 % weight fault
/// rate, a model trained with drop-connect at 20 % keeps more accuracy than a
/// normally trained one. Checked for three training seeds (2,000 training
/// images, 2 epochs; 500 test images, 3 fault maps). Measured when written:
/// accuracy under faults 0.567/0.541/0.412 against 0.174/0.271/0.206 (margins
/// 0.21–0.39, asserted ≥ 0.10); accuracy lost 0.009/0.001/−0.088 against
/// 0.584/0.499/0.582 (asserted ≥ 0.20 less).
#[test]
fn drop_connect_training_loses_less_accuracy_under_faults() {
    if !have_data() {
        return;
    }
    let dir = scratch("dropconnect");
    for seed in 1..=3u64 {
        let (normal, dc) = (dir.join(format!("n{seed}.onnx")), dir.join(format!("d{seed}.onnx")));
        let t = train(&normal, seed, 0.0);
        assert_eq!(t["masked_layers"].as_array().unwrap().len(), 10, "every conv and the fc are RRAM-bound");
        train(&dc, seed, 0.2);
        let (a, b) = (accuracy_at_20_percent(&normal), accuracy_at_20_percent(&dc));
        let (a_mean, b_mean) = (a["accuracy_mean"].as_f64().unwrap(), b["accuracy_mean"].as_f64().unwrap());
        let a_loss = a["accuracy_fault_free"].as_f64().unwrap() - a_mean;
        let b_loss = b["accuracy_fault_free"].as_f64().unwrap() - b_mean;
        eprintln!("seed {seed}: normal {a_mean:.3} (loss {a_loss:.3}), drop-connect {b_mean:.3} (loss {b_loss:.3})");
        assert!(a["weights_changed"].as_f64().unwrap() > 0.18 && a["weights_changed"].as_f64().unwrap() < 0.22);
        assert!(b_mean > a_mean + 0.10, "seed {seed}: drop-connect {b_mean} vs normal {a_mean}");
        assert!(b_loss < a_loss - 0.20, "seed {seed}: losses {b_loss} vs {a_loss}");
    }
}

#[test]
fn training_is_reproducible_and_offload_decides_the_masks() {
    if !have_data() {
        return;
    }
    let dir = scratch("train-repro");
    let args = |out: &Path, offload: &'static str| -> Vec<String> {
        [
            "train",
            "--model",
            "resnet-mini",
            "--train-images",
            "256",
            "--drop-connect",
            "0.1",
            "--offload",
            offload,
            "-o",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([path_str(out).to_owned(), "--format".into(), "json".into()])
        .collect()
    };
    let run = |a: Vec<String>| {
        let o = rramsim(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let (x, y) = (dir.join("x.onnx"), dir.join("y.onnx"));
    let rx = run(args(&x, "all-rram"));
    run(args(&y, "all-rram"));
    assert!(std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap(), "same seed, same model");
    let p = run(args(&dir.join("p.onnx"), "pointwise"));
    let masked: Vec<&str> = p["masked_layers"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(rx["masked_layers"].as_array().unwrap().len(), 10);
    assert_eq!(masked.len(), 8, "the two 1x1 projection shortcuts are not masked: {masked:?}");
    assert!(masked.iter().all(|m| !m.contains("shortcut")));
    // The exported model imports and simulates like any other workload.
    let o = rramsim(&["run", "--arch", "isaac", "--workload", path_str(&x), "--offload", "pointwise"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // mobilenet-mini trains too (its pointwise convs go to the digital unit with pointwise).
    let m = run([
        "train",
        "--model",
        "mobilenet-mini",
        "--width",
        "0.5",
        "--train-images",
        "64",
        "--offload",
        "pointwise",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([path_str(&dir.join("m.onnx")).to_owned(), "--format".into(), "json".into()])
    .collect());
    let masked = m["masked_layers"].as_array().unwrap();
    assert!(masked.iter().all(|v| {
        let n = v.as_str().unwrap();
        !n.contains("expand") && !n.contains("project") && n != "head"
    }));
}

/// The training variants are selectable, reported, and change the model;
/// bad settings are bad input (exit 2, nothing written).
#[test]
fn training_variants_are_selectable() {
    if !have_data() {
        return;
    }
    let dir = scratch("train-variants");
    let base = ["train", "--model", "resnet-mini", "--train-images", "128", "--drop-connect", "0.2"];
    let (plain, variant) = (dir.join("plain.onnx"), dir.join("variant.onnx"));
    let mut args = base.to_vec();
    args.extend(["-o", path_str(&plain)]);
    let p = json(&args);
    assert_eq!((p["mask_scaling"].as_str(), p["lr_schedule"].as_str()), (Some("none"), Some("constant")));
    let mut args = base.to_vec();
    args.extend([
        "--mask-scaling",
        "inverted",
        "--weight-noise",
        "0.05",
        "--lr-schedule",
        "step:1:0.5",
        "--crop-pad",
        "2",
        "--hflip",
        "-o",
        path_str(&variant),
    ]);
    let v = json(&args);
    // The study's 3x3-shortcut variant: resnet-mini's two projection shortcuts
    // (16→32 and 32→64 channels) become 3x3, 8 more weights per 1x1 weight.
    let k3 = dir.join("k3.onnx");
    let mut args = base.to_vec();
    args.extend(["--shortcut-kernel", "3", "-o", path_str(&k3)]);
    assert_eq!(json(&args)["shortcut_kernel"], 3);
    let weights = |m: &Path| json(&["workload", "show", path_str(m)])["total_weights"].as_u64().expect("weights");
    assert_eq!(weights(&k3) - weights(&plain), 8 * (16 * 32 + 32 * 64));
    assert_eq!(v["mask_scaling"], "inverted");
    assert_eq!(v["weight_noise"], 0.05);
    assert_eq!(v["lr_schedule"], "step:1:0.5");
    assert_eq!((v["crop_pad"].as_u64(), v["hflip"].as_bool()), (Some(2), Some(true)));
    assert!(std::fs::read(&plain).unwrap() != std::fs::read(&variant).unwrap(), "the variant trains another model");
    let bad = dir.join("bad.onnx");
    for (flag, value, message) in [
        ("--lr-schedule", "step:0:0.5", "--lr-schedule"),
        ("--mask-scaling", "halved", "--mask-scaling"),
        ("--weight-noise", "-0.1", "weight noise"),
        ("--shortcut-kernel", "2", "--shortcut-kernel"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value, "-o", path_str(&bad)]);
        assert_bad_input(&rramsim(&args), message);
        assert!(!bad.exists());
    }
}

#[test]
fn eval_reports_float_quantized_and_faulty_accuracy() {
    if !have_data() {
        return;
    }
    let dir = scratch("eval");
    let model = dir.join("m.onnx");
    train_on(&model, 7, 0.0, 400);
    let float = json(&["eval", "--model", path_str(&model), "--images", "300"]);
    assert_eq!(float["seeds"], 0);
    let m = path_str(&model);
    let faulty = [
        "eval",
        "--model",
        m,
        "--images",
        "300",
        "--arch",
        "neurosim-8b",
        "--fault-rate",
        "0.01",
        "--seeds",
        "4",
        "--offload",
        "pointwise",
        // Ideal periphery: neurosim-8b's 5-bit ADC (NeuroSim V1.4's sense amps)
        // costs real accuracy, which the device tests measure; this test is
        // about weight quantization and faults.
        "--device",
        "off",
    ];
    let e = json(&faulty);
    assert_eq!(e["accuracy_float"], float["accuracy_float"]);
    assert_eq!(e["accuracy_per_seed"].as_array().unwrap().len(), 4);
    let (mean, min, max) = (
        e["accuracy_mean"].as_f64().unwrap(),
        e["accuracy_min"].as_f64().unwrap(),
        e["accuracy_max"].as_f64().unwrap(),
    );
    assert!(min <= mean && mean <= max);
    // 8-bit quantization costs little on a fault-free chip.
    assert!((e["accuracy_fault_free"].as_f64().unwrap() - float["accuracy_float"].as_f64().unwrap()).abs() < 0.05);
    // Same seeds, same numbers (on any thread count).
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(faulty)
        .args(["--format", "json"])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    // Progress lines when stderr is not a terminal.
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("progress: samples 4/4 (100%)"), "{log}");
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["accuracy_per_seed"], e["accuracy_per_seed"]);
    // Bad input.
    assert_bad_input(&rramsim(&["eval", "--model", path_str(&model), "--fault-rate", "0.1"]), "needs --arch");
    assert_bad_input(&rramsim(&["eval", "--model", "resnet20", "--images", "10"]), "no trained weights");
    assert_bad_input(&rramsim(&["eval", "--model", path_str(&model), "--data", "cifar10"]), "cifar10:DIR");
    assert_bad_input(
        &rramsim(&["eval", "--model", path_str(&model), "--data", "fashion-mnist:/nonexistent"]),
        "no t10k-images",
    );
    assert_bad_input(
        &rramsim(&["eval", "--model", path_str(&model), "--arch", "isaac", "--offload", "auto"]),
        "not available",
    );
    assert_bad_input(&rramsim(&["train", "--model", "vgg", "-o", path_str(&dir.join("v.onnx"))]), "unknown model");
    assert_bad_input(
        &rramsim(&["train", "--model", "resnet-mini", "-o", "/nonexistent-dir-rramsim/m.onnx"]),
        "does not exist",
    );
    assert!(!dir.join("v.onnx").exists());
}

/// A zoo network takes the weights of the same-named layers of an ONNX file:
/// the results equal the ONNX model's own.
#[test]
fn zoo_models_take_weights_files() {
    let dir = scratch("weights");
    let x = dir.join("x.npy");
    let values: Vec<f32> = (0..2 * 3 * 32 * 32).map(|i| ((i % 13) as f32 - 6.0) / 6.0).collect();
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[2, 3, 32, 32], &values)).unwrap();
    let onnx = "tests/fixtures/onnx/resnet20.onnx";
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    let o = rramsim(&["infer", "--model", onnx, "--input", path_str(&x), "-o", path_str(&a)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = rramsim(&["infer", "--model", "resnet20", "--weights", onnx, "--input", path_str(&x), "-o", path_str(&b)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
    let o = rramsim(&["infer", "--model", "vgg13", "--weights", onnx, "--input", path_str(&x), "-o", path_str(&b)]);
    assert_bad_input(&o, "no parameters for layer");
}

#[test]
fn infer_checks_its_input() {
    let dir = scratch("infer");
    let x = dir.join("x.npy");
    let model = "tests/fixtures/onnx/typed_fields.onnx";
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[2, 2, 6, 6], &[0.5; 144])).unwrap();
    let y = dir.join("y.npy");
    let o = rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (shape, v) = rramsim::accuracy::npy::read_f32(&std::fs::read(&y).unwrap()).unwrap();
    assert_eq!(shape, vec![2, 3]);
    assert_eq!(v[..3], v[3..], "equal images, equal outputs");
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[2, 3, 6, 6], &[0.5; 216])).unwrap();
    assert_bad_input(
        &rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)]),
        "is not [N, 2, 6, 6]",
    );
    std::fs::write(&x, b"not npy").unwrap();
    assert_bad_input(&rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)]), "bad magic");
}

#[test]
fn infer_runs_the_device_model_and_checks_its_keys() {
    let dir = scratch("device");
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    let model = "tests/fixtures/onnx/typed_fields.onnx";
    let values: Vec<f32> = (0..144).map(|i| ((i * 7) % 13) as f32 / 13.0).collect();
    std::fs::write(&x, rramsim::accuracy::npy::write_f32(&[2, 2, 6, 6], &values)).unwrap();
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/neurosim-8b.toml")).unwrap();
    let arch = dir.join("noisy.toml");
    std::fs::write(&arch, format!("{base}\n[device]\nprogram_sigma = 0.2\nread_sigma = 0.05\ndrift_nu = 0.1\n"))
        .unwrap();
    let out = |extra: &[&str]| {
        let mut args = vec!["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y)];
        args.extend_from_slice(extra);
        let o = rramsim(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        rramsim::accuracy::npy::read_f32(&std::fs::read(&y).unwrap()).unwrap().1
    };
    let ideal = out(&["--arch", path_str(&arch), "--device", "off"]);
    let noisy = out(&["--arch", path_str(&arch), "--seed", "3"]);
    assert_ne!(ideal, noisy);
    assert_eq!(noisy, out(&["--arch", path_str(&arch), "--seed", "3"]), "seeded");
    assert_ne!(noisy, out(&["--arch", path_str(&arch), "--seed", "3", "--time", "1e6"]), "drift");
    let args = |a: &str, t: &str| {
        rramsim(&["infer", "--model", model, "--input", path_str(&x), "-o", path_str(&y), "--arch", a, "--time", t])
    };
    assert_bad_input(&args(path_str(&arch), "-1"), "--time must be");
    for (key, value, needle) in [
        ("program_sigma", "-0.1", "device.program_sigma"),
        ("read_sigma", "-1.0", "device.read_sigma"),
        ("drift_nu", "1.5", "device.drift_nu"),
    ] {
        let bad = dir.join(format!("{key}.toml"));
        std::fs::write(&bad, format!("{base}\n[device]\n{key} = {value}\n")).unwrap();
        assert_bad_input(&args(path_str(&bad), "1"), needle);
    }
}

#[test]
fn eval_remap_lowers_the_fault_objective() {
    if !have_data() {
        return;
    }
    let dir = scratch("eval-remap");
    let model = dir.join("m.onnx");
    train_on(&model, 7, 0.0, 300);
    let m = path_str(&model);
    let base = ["eval", "--model", m, "--images", "200", "--arch", "isaac", "--fault-rate", "0.02", "--seeds", "2"];
    let none = json(&base);
    assert_eq!(none["remap"], "none");
    // Without remapping there is no search and no objective to report.
    assert_eq!((none["remap_objective"].as_u64(), none["remap_objective_identity"].as_u64()), (Some(0), Some(0)));
    let mut identity = None;
    for mode in ["rows", "rows+cols"] {
        let mut args = base.to_vec();
        args.extend(["--remap", mode]);
        let r = json(&args);
        assert_eq!(r["remap"], mode);
        // The same fault maps: the identity objective is the same, the remapped one lower.
        let id = r["remap_objective_identity"].as_u64().unwrap();
        assert_eq!(*identity.get_or_insert(id), id);
        assert!(r["remap_objective"].as_u64().unwrap() < r["remap_objective_identity"].as_u64().unwrap());
        assert!(r["remap_crossbars_permuted"].as_f64().unwrap() > 0.0);
    }
    let mut bad = base.to_vec();
    bad.extend(["--remap", "diagonal"]);
    assert_bad_input(&rramsim(&bad), "diagonal");
    // Without faults a remap has nothing to do: said on stderr, in the table
    // and in the report's warnings (the library's, so Python sees it too).
    let quiet = ["eval", "--model", m, "--images", "20", "--arch", "isaac", "--device", "off", "--remap", "rows"];
    let o = rramsim(&quiet);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: remap rows has no effect without faults"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("remap rows: no effect (no faults)"));
    let r = json(&quiet);
    let warnings = r["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().starts_with("remap rows has no effect")), "{warnings:?}");
    assert_eq!(none["warnings"], serde_json::json!([]));
}
