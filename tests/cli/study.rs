//! `rramsim study` and `run --offload`.

use serde_json::Value;

use crate::{assert_bad_input, path_str, rramsim, scratch, stderr, stdout};

fn json(args: &[&str]) -> Value {
    let o = rramsim(args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("valid JSON")
}

#[test]
fn study_changes_equal_the_ratios_of_single_runs() {
    let dir = scratch("study");
    let svg = dir.join("study.svg");
    let v = json(&[
        "study",
        "--arch",
        "isaac",
        "--workload",
        "resnet20",
        "--widths",
        "1.0,1.2",
        "--offload",
        "all-rram,pointwise",
        "--shortcut-kernel",
        "1,3",
        "--format",
        "json",
        "--plot",
        path_str(&svg),
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2);
    let base = json(&["run", "--arch", "isaac", "--workload", "resnet20", "--format", "json"]);
    // Runtime is the steady-state time per image (1 / throughput), energy the
    // steady state's marginal energy per image.
    let steady_energy = |v: &Value| v["steady_state_energy_per_image_pj"].as_f64().unwrap();
    let (bc, be) = (1.0 / base["throughput_images_per_s"].as_f64().unwrap(), steady_energy(&base));
    for row in rows {
        for key in ["width", "offload", "total_cycles", "energy_pj", "runtime_change_pct", "energy_change_pct"] {
            assert!(!row[key].is_null(), "row without `{key}`: {row}");
        }
        let width = row["width"].as_f64().unwrap().to_string();
        let k = row["shortcut_kernel"].as_u64().unwrap().to_string();
        let offload = row["offload"].as_str().unwrap();
        let single = json(&[
            "run",
            "--arch",
            "isaac",
            "--workload",
            "resnet20",
            "--widen",
            &width,
            "--shortcut-kernel",
            &k,
            "--offload",
            offload,
            "--format",
            "json",
        ]);
        assert_eq!(single["total_cycles"], row["total_cycles"], "{row}");
        let (c, e) = (1.0 / single["throughput_images_per_s"].as_f64().unwrap(), steady_energy(&single));
        assert_eq!(single["steady_state_energy_per_image_pj"], row["steady_state_energy_per_image_pj"], "{row}");
        assert!((row["runtime_change_pct"].as_f64().unwrap() - 100.0 * (c / bc - 1.0)).abs() < 1e-9);
        assert!((row["energy_change_pct"].as_f64().unwrap() - 100.0 * (e / be - 1.0)).abs() < 1e-9);
    }
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<rect").count(), 2 * rows.len() + 2);
}

#[test]
fn run_reports_digital_targets_and_frees_crossbars() {
    let rram =
        json(&["run", "--arch", "isaac", "--workload", "mobilenetv2", "--replication", "none", "--format", "json"]);
    let pw = json(&[
        "run",
        "--arch",
        "isaac",
        "--workload",
        "mobilenetv2",
        "--replication",
        "none",
        "--offload",
        "pointwise",
        "--format",
        "json",
    ]);
    let layers = pw["layers"].as_array().unwrap();
    let digital: Vec<&Value> = layers.iter().filter(|l| l["target"] == "digital").collect();
    assert!(!digital.is_empty());
    assert!(digital.iter().all(|l| l["crossbars"] == 0 && l["op"] == "conv2d"));
    let freed: u64 = rram["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| digital.iter().any(|d| d["name"] == l["name"]))
        .map(|l| l["crossbars"].as_u64().unwrap())
        .sum();
    assert_eq!(rram["crossbars"].as_u64().unwrap() - pw["crossbars"].as_u64().unwrap(), freed);
    assert_eq!(pw["macs"], rram["macs"]);
    assert!(pw["digital_utilization"].as_f64().unwrap() > 0.0);
    let one = json(&[
        "run",
        "--arch",
        "isaac",
        "--workload",
        "resnet20",
        "--offload",
        "layers=layer2.0.shortcut.0",
        "--format",
        "json",
    ]);
    let targets: Vec<&str> = one["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["target"] == "digital")
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["layer2.0.shortcut.0"]);
    let auto = json(&[
        "run",
        "--arch",
        "isaac",
        "--workload",
        "resnet20",
        "--offload",
        "auto:0.2",
        "--fault-rate",
        "0.1",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert!(auto["offload"].as_str().unwrap().starts_with("layers=["));
    assert_bad_input(
        &rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--offload", "some"]),
        "unknown policy `some`",
    );
    assert_bad_input(
        &rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--offload", "layers=nope"]),
        "no layer named `nope`",
    );
    assert_bad_input(
        &rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--offload", "auto"]),
        "give --faults or --fault-rate",
    );
}

fn study_csv(workload: &str) -> String {
    let o = rramsim(&[
        "study",
        "--arch",
        "isaac",
        "--workload",
        workload,
        "--widths",
        "1.0,1.2,1.6",
        "--offload",
        "all-rram,pointwise",
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn study_snapshot_resnet20_isaac() {
    insta::assert_snapshot!("study_resnet20_isaac", study_csv("resnet20"));
}

#[test]
fn study_snapshot_mobilenetv2_isaac() {
    insta::assert_snapshot!("study_mobilenetv2_isaac", study_csv("mobilenetv2"));
}
