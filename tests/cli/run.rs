//! `rramsim run` and `rramsim check`: report keys, snapshots locking cycles and
//! energy for the zoo on each preset, determinism, and bad configurations.

use serde_json::Value;

use crate::{assert_bad_input, path_str, root, rramsim, scratch, stderr, stdout};

fn run_json(args: &[&str]) -> Value {
    crate::json_of(&["run"], args)
}

#[test]
fn run_json_has_the_documented_keys() {
    let v = run_json(&["--arch", "isaac", "--workload", "resnet20"]);
    for key in ["total_cycles", "latency_ns", "energy_pj", "energy_by_component", "layers", "tops_per_w"] {
        assert!(!v[key].is_null(), "missing `{key}`");
    }
    assert!(v["energy_by_component"].is_object());
    let by_component: f64 = v["energy_by_component"].as_object().unwrap().values().map(|e| e.as_f64().unwrap()).sum();
    let total = v["energy_pj"].as_f64().unwrap();
    assert!((by_component - total).abs() <= 1e-6 * total);
    let layers = v["layers"].as_array().unwrap();
    for l in layers {
        for key in ["name", "target", "crossbars", "cycles", "energy_pj"] {
            assert!(!l[key].is_null(), "layer without `{key}`: {l}");
        }
    }
    let conv1 = layers.iter().find(|l| l["name"] == "conv1").unwrap();
    assert_eq!(conv1["target"], "rram");
    let parts: f64 = conv1["energy_by_component"].as_object().unwrap().values().map(|e| e.as_f64().unwrap()).sum();
    assert!((parts - conv1["energy_pj"].as_f64().unwrap()).abs() <= 1e-6 * parts);
    assert!(conv1["energy_by_component"]["adc"].as_f64().unwrap() > 0.0);
    assert!(conv1["crossbars"].as_u64().unwrap() >= 1);
    assert_eq!(v["macs"], 40_813_184);
    // latency = cycles / clock
    let ns = v["total_cycles"].as_f64().unwrap() / v["clock_ghz"].as_f64().unwrap();
    assert!((ns - v["latency_ns"].as_f64().unwrap()).abs() < 1e-6);
}

#[test]
fn batches_pipeline_and_report_throughput() {
    let one = run_json(&["--arch", "isaac", "--workload", "resnet20"]);
    let four = run_json(&["--arch", "isaac", "--workload", "resnet20", "--batch", "4"]);
    let (c1, c4) = (one["total_cycles"].as_u64().unwrap(), four["total_cycles"].as_u64().unwrap());
    // Overlapped: four images take less than four times one, more than one.
    assert!(c4 > c1 && c4 < 4 * c1, "{c1} {c4}");
    // Later images compete with the first for the same resources.
    assert!(four["first_image_cycles"].as_u64().unwrap() >= c1);
    assert!(four["cycles_per_image"].as_f64().unwrap() < c1 as f64);
    // The same actions per image; static energy per image falls as images overlap.
    let per_image = |v: &Value, key: &str, n: f64| v[key].as_f64().unwrap() / n;
    let dynamic = per_image(&four, "dynamic_energy_pj", 4.0) / per_image(&one, "dynamic_energy_pj", 1.0);
    assert!((dynamic - 1.0).abs() < 0.01, "{dynamic}");
    assert!(per_image(&four, "static_energy_pj", 4.0) < per_image(&one, "static_energy_pj", 1.0));
    assert!(one["static_energy_pj"].as_f64().unwrap() > 0.0);
    // No run is more efficient than the bound `check` prints.
    let o = rramsim(&["check", "isaac", "--format", "json"]);
    let check: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let bound = check["tops_per_w_bound"].as_f64().unwrap();
    for v in [&one, &four] {
        assert!(v["tops_per_w"].as_f64().unwrap() <= bound, "{} > {bound}", v["tops_per_w"]);
    }
}

#[test]
fn results_do_not_depend_on_threads_or_repetition() {
    let mut outputs = Vec::new();
    for threads in ["1", "2", "1", "2"] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
            .args(["run", "--arch", "neurosim-8b", "--workload", "mobilenetv2", "--batch", "2", "--format", "json"])
            .current_dir(root())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success());
        outputs.push(o.stdout);
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
}

/// The locked figures of one run: totals and every layer that does work.
fn locked(arch: &str, workload: &str) -> String {
    let v = run_json(&["--arch", arch, "--workload", workload]);
    let mut out = format!(
        "arch: {arch}\nworkload: {workload}\ntotal_cycles: {}\nenergy_pj: {:.1}\ncrossbars: {}\ntiles: {}\nchips: {}\nlayers:\n",
        v["total_cycles"],
        v["energy_pj"].as_f64().unwrap(),
        v["crossbars"],
        v["tiles"],
        v["chips"]
    );
    for l in v["layers"].as_array().unwrap() {
        if l["target"] == "rram" || l["target"] == "tile" {
            out.push_str(&format!(
                "  - {{ name: {}, target: {}, replicas: {}, cycles: {}, energy_pj: {:.1} }}\n",
                l["name"].as_str().unwrap(),
                l["target"].as_str().unwrap(),
                l["replicas"],
                l["cycles"],
                l["energy_pj"].as_f64().unwrap()
            ));
        }
    }
    out
}

macro_rules! zoo_snapshot {
    ($test:ident, $arch:literal, $workload:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!(concat!("run_", $arch, "_", $workload), locked($arch, $workload));
        }
    };
}

zoo_snapshot!(snapshot_isaac_resnet20, "isaac", "resnet20");
zoo_snapshot!(snapshot_isaac_vgg13, "isaac", "vgg13");
zoo_snapshot!(snapshot_isaac_mobilenetv2, "isaac", "mobilenetv2");
zoo_snapshot!(snapshot_isaac_resnet18, "isaac", "resnet18");
zoo_snapshot!(snapshot_isaac_resnet50, "isaac", "resnet50");
zoo_snapshot!(snapshot_isaac_vgg16, "isaac", "vgg16");
zoo_snapshot!(snapshot_neurosim_resnet20, "neurosim-8b", "resnet20");
zoo_snapshot!(snapshot_neurosim_vgg13, "neurosim-8b", "vgg13");
zoo_snapshot!(snapshot_neurosim_mobilenetv2, "neurosim-8b", "mobilenetv2");
zoo_snapshot!(snapshot_neurosim_resnet18, "neurosim-8b", "resnet18");
zoo_snapshot!(snapshot_neurosim_resnet50, "neurosim-8b", "resnet50");
zoo_snapshot!(snapshot_neurosim_vgg16, "neurosim-8b", "vgg16");
zoo_snapshot!(snapshot_neurosim_vgg8, "neurosim-8b", "vgg8");

#[test]
fn check_prints_resolved_figures() {
    let o = rramsim(&["check", "isaac", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["stage_cycles"]["crossbar_read"], 120);
    assert_eq!(v["stage_cycles"]["initiation_interval"], 120);
    assert_eq!(v["crossbars_per_chip"], 16_128);
    assert!(v["peak_tops"].as_f64().unwrap() > 40.0);
    let table = stdout(&rramsim(&["check", "arch-configs/neurosim-8b.toml"]));
    assert!(table.contains("warning: pe.adc.bits"), "{table}");
    assert!(table.contains("peak (one chip)"), "{table}");
    let csv = stdout(&rramsim(&["check", "isaac", "--format", "csv"]));
    assert!(csv.lines().any(|l| l.starts_with("energy_pj.adc_conversion,1.40625")), "{csv}");
}

#[test]
fn bad_configurations_exit_two_with_locations() {
    let dir = scratch("bad-arch");
    let base = std::fs::read_to_string(root().join("arch-configs/isaac.toml")).unwrap();
    let cases = [
        (
            "rows = { value = 128",
            "rows = { value = 0",
            "key `crossbar.rows`: 0 is physically impossible here; accepted range [1, 65536]",
        ),
        ("ghz = { value = 1.2", "ghz = { value = 1e23", "key `clock.ghz`"),
        ("node_nm = { value = 32", "node_nm = { value = 0", "key `technology.node_nm`: 0 is physically impossible"),
        ("bits = { value = 8,", "bits = { value = 64,", "key `pe.adc.bits`: 64 is physically impossible"),
        ("kib = { value = 64", "kib = { value = 0", "key `tile.buffer.kib`: 0 is physically impossible"),
        ("bits = { value = 8,", "bits = { value = 4,", "key `pe.adc.bits`: a 4-bit ADC cannot resolve"),
        ("ghz = { value = 1.2", "ghz = { value = 0.0", "key `clock.ghz`"),
        ("topology = \"mesh\"", "topology = \"ring\"", "unknown topology `ring`"),
        ("[digital]", "[digitl]", "unknown field `digitl`"),
    ];
    for (i, (from, to, needle)) in cases.iter().enumerate() {
        assert!(base.contains(from), "{from}");
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
        let p = path_str(&path);
        let o = rramsim(&["check", p]);
        assert_bad_input(&o, needle);
        assert!(stderr(&o).contains(&format!("{p}:")), "{}", stderr(&o));
        assert_bad_input(&rramsim(&["run", "--arch", p, "--workload", "resnet20"]), needle);
    }
    assert_bad_input(&rramsim(&["check", "tpu"]), "unknown architecture `tpu`");
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--batch", "0"]), "--batch");
}

#[test]
fn a_network_that_does_not_fit_is_bad_input() {
    let dir = scratch("tiny-node");
    let base = std::fs::read_to_string(root().join("arch-configs/isaac.toml")).unwrap();
    let path = dir.join("one-chip.toml");
    std::fs::write(&path, base.replacen("chips = { value = 8,", "chips = { value = 1,", 1)).unwrap();
    let o = rramsim(&["run", "--arch", path_str(&path), "--workload", "vgg16"]);
    assert_bad_input(&o, "does not fit");
    assert!(stderr(&o).contains("16128 crossbars in 1 chips"), "{}", stderr(&o));
}
