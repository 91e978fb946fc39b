//! `rramsim faults …` and `run --faults / --fault-rate`.

use serde_json::Value;

use crate::{assert_bad_input, path_str, rramsim, scratch, stderr, stdout};

/// `faults gen` on the NeuroSim-style preset at `rate`, seed 7.
fn gen_map(dir: &std::path::Path, name: &str, rate: &str, extra: &[&str]) -> std::path::PathBuf {
    gen_map_for("neurosim-8b", dir, name, rate, extra)
}

/// The pre-issue-14 neurosim-8b (2-bit cells, differential encoding): the
/// cell-versus-weight fault comparison below is written for that geometry.
const NEUROSIM_V13: &str = "tests/fixtures/neurosim-v13-2bit.toml";

fn gen_map_for(arch: &str, dir: &std::path::Path, name: &str, rate: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec!["faults", "gen", "--arch", arch, "--rate", rate, "--seed", "7", "-o", path_str(&out)];
    args.extend_from_slice(extra);
    let o = rramsim(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

#[test]
fn gen_is_byte_identical_across_thread_counts() {
    let dir = scratch("faults-gen");
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("t{threads}.faults"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
            .args(["faults", "gen", "--arch", "neurosim-8b", "--rate", "0.05", "--seed", "7", "-o", path_str(&out)])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success());
        assert!(stderr(&o).contains("SA0 = stuck at the lowest conductance"));
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(files[0] == files[1]);
}

#[test]
fn stats_json_has_counts_and_layers() {
    let dir = scratch("faults-stats");
    let map = gen_map_for(
        NEUROSIM_V13,
        &dir,
        "chip.faults",
        "0.05",
        &["--sa1-fraction", "0.25", "--distribution", "clustered"],
    );
    let o = rramsim(&["faults", "stats", path_str(&map), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cells"], 8192 * 128 * 128);
    let (sa0, sa1) = (v["sa0"].as_u64().unwrap(), v["sa1"].as_u64().unwrap());
    assert_eq!(v["faulty_cells"].as_u64().unwrap(), sa0 + sa1);
    assert!(v["convention"].as_str().unwrap().contains("SA1 = stuck at the highest conductance"));
    assert_eq!(v["origin"]["distribution"], "clustered");
    assert!(v.get("layers").is_none());
    let per: Value = serde_json::from_str(&stdout(&rramsim(&[
        "faults",
        "stats",
        path_str(&map),
        "--per-crossbar",
        "--format",
        "json",
    ])))
    .unwrap();
    let rows = per["crossbar_counts"].as_array().unwrap();
    assert_eq!(rows.len(), 8192);
    assert_eq!(rows.iter().map(|r| r["sa0"].as_u64().unwrap()).sum::<u64>(), sa0);
    assert_eq!(rows[9]["pe"], 1); // 8 crossbars per PE
    let o = rramsim(&[
        "faults",
        "stats",
        path_str(&map),
        "--arch",
        NEUROSIM_V13,
        "--workload",
        "resnet20",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert!(layers.iter().any(|l| l["name"] == "conv1"));
    for l in layers {
        let f = l["changed_fraction"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&f));
        assert!(l["faulty_cells"].as_u64().unwrap() >= l["sa1"].as_u64().unwrap());
    }
    // The weight-level model changes at least as many weights as the cell model.
    let wz: Value = serde_json::from_str(&stdout(&rramsim(&[
        "faults",
        "stats",
        path_str(&map),
        "--arch",
        NEUROSIM_V13,
        "--workload",
        "resnet20",
        "--fault-model",
        "weight-zero",
        "--format",
        "json",
    ])))
    .unwrap();
    let changed =
        |v: &Value| v["layers"].as_array().unwrap().iter().map(|l| l["weights_changed"].as_u64().unwrap()).sum::<u64>();
    assert!(changed(&wz) >= changed(&v));
}

#[test]
fn csv_import_and_export_round_trip() {
    let dir = scratch("faults-csv");
    let map = gen_map(&dir, "a.faults", "0.001", &[]);
    let csv = dir.join("a.csv");
    assert_eq!(rramsim(&["faults", "export", path_str(&map), "-o", path_str(&csv)]).status.code(), Some(0));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("tile,pe,crossbar,row,col,type\n"));
    let back = dir.join("b.faults");
    let o = rramsim(&["faults", "import", path_str(&csv), "--arch", "neurosim-8b", "-o", path_str(&back)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv2 = dir.join("b.csv");
    rramsim(&["faults", "export", path_str(&back), "-o", path_str(&csv2)]);
    assert_eq!(std::fs::read_to_string(&csv2).unwrap(), text);
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "tile,pe,crossbar,row,col,type\n0,0,0,0,0,SA0\n0,0,0,999,0,SA1\n").unwrap();
    let out = dir.join("never.faults");
    assert_bad_input(
        &rramsim(&["faults", "import", path_str(&bad), "--arch", "neurosim-8b", "-o", path_str(&out)]),
        "bad.csv:3: `row` 999 is out of range",
    );
    assert!(!out.exists());
}

#[test]
fn bad_fault_files_exit_two() {
    let dir = scratch("faults-bad");
    let map = gen_map(&dir, "ok.faults", "0.05", &[]);
    let bytes = std::fs::read(&map).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.faults", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        ("garbage.faults", b"hello, not a map".to_vec(), "RRFM magic"),
        (
            "corrupt.faults",
            {
                let mut b = bytes.clone();
                let i = b.len() / 3;
                b[i] ^= 1;
                b
            },
            "checksum mismatch",
        ),
        (
            "future.faults",
            {
                let mut b = bytes.clone();
                b[4] = 9;
                b
            },
            "format 9.0 is not readable",
        ),
    ];
    for (name, content, needle) in cases {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        assert_bad_input(&rramsim(&["faults", "stats", path_str(&p)]), needle);
        assert_bad_input(
            &rramsim(&["run", "--arch", "neurosim-8b", "--workload", "resnet20", "--faults", path_str(&p)]),
            needle,
        );
    }
    // A map for another architecture.
    assert_bad_input(
        &rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--faults", path_str(&map)]),
        "the fault map is for 128 tiles",
    );
    assert_bad_input(
        &rramsim(&["faults", "gen", "--arch", "isaac", "--rate", "1.5", "--seed", "1", "-o", "x.faults"]),
        "fault rate must be in [0, 1]",
    );
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--fault-rate", "0.1"]), "--seed");
}

#[test]
fn run_shows_per_layer_faults_beside_timing() {
    let dir = scratch("faults-run");
    let map = gen_map(&dir, "chip.faults", "0.05", &[]);
    let o = rramsim(&[
        "run",
        "--arch",
        "neurosim-8b",
        "--workload",
        "resnet20",
        "--faults",
        path_str(&map),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["faults"]["convention"].as_str().unwrap().starts_with("SA0 = stuck at the lowest"));
    assert_eq!(v["faults"]["fault_model"], "cell");
    let rram_layers = v["layers"].as_array().unwrap().iter().filter(|l| l["target"] == "rram").count();
    assert_eq!(v["faults"]["layers"].as_array().unwrap().len(), rram_layers);
    // Timing does not change with faults (the 1-chip map file limits the run
    // to the chip it covers, like --chip-budget 1).
    let plain: Value = serde_json::from_str(&stdout(&rramsim(&[
        "run",
        "--arch",
        "neurosim-8b",
        "--workload",
        "resnet20",
        "--chip-budget",
        "1",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(plain["total_cycles"], v["total_cycles"]);
    // --fault-rate generates the same map as `faults gen` with that seed.
    let gen_rate: Value = serde_json::from_str(&stdout(&rramsim(&[
        "run",
        "--arch",
        "neurosim-8b",
        "--workload",
        "resnet20",
        "--fault-rate",
        "0.05",
        "--seed",
        "7",
        "--chip-budget",
        "1",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(gen_rate["faults"]["layers"], v["faults"]["layers"]);
    let table =
        stdout(&rramsim(&["run", "--arch", "neurosim-8b", "--workload", "resnet20", "--faults", path_str(&map)]));
    assert!(table.contains("faults (cell model; SA0 = stuck at the lowest"), "{table}");
}

/// ISAAC with spare rows and columns per crossbar.
fn spare_arch(dir: &std::path::Path, rows: &str, cols: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(crate::root().join("arch-configs/isaac.toml")).unwrap();
    let text = text.replacen("[crossbar]\n", &format!("[crossbar]\nspare_rows = {rows}\nspare_cols = {cols}\n"), 1);
    assert!(text.contains("spare_rows"), "isaac.toml has a [crossbar] table");
    let path = dir.join(format!("isaac-spare-{rows}-{cols}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_prices_remapping_and_spare_cells() {
    let dir = scratch("remap-run");
    let plain = crate::json_of(&["run"], &["--arch", "isaac", "--workload", "resnet20"]);
    assert!(plain.get("remap").is_none());
    let arch = spare_arch(&dir, "8", "8");
    let spare = crate::json_of(&["run"], &["--arch", path_str(&arch), "--workload", "resnet20"]);
    let rows = crate::json_of(&["run"], &["--arch", path_str(&arch), "--workload", "resnet20", "--remap", "rows"]);
    let both = crate::json_of(&["run"], &["--arch", path_str(&arch), "--workload", "resnet20", "--remap", "rows+cols"]);
    // Spares add no cycles and no crossbars; they add crossbar read energy.
    assert_eq!(spare["total_cycles"], plain["total_cycles"]);
    assert_eq!(spare["crossbars"], plain["crossbars"]);
    assert!(spare["energy_pj"].as_f64().unwrap() > plain["energy_pj"].as_f64().unwrap());
    let r = &rows["remap"];
    assert_eq!(r["crossbars"], plain["crossbars"]);
    // 136 physical rows: 8-bit row indices, 128 of them per crossbar.
    assert_eq!((r["row_index_bits"].as_u64(), r["col_index_bits"].as_u64()), (Some(8), Some(0)));
    assert_eq!(r["table_bytes_per_crossbar"], 128);
    assert_eq!(both["remap"]["table_bytes_per_crossbar"], 256);
    let crossbars = r["crossbars"].as_f64().unwrap();
    let area = r["table_area_mm2"].as_f64().unwrap();
    assert!((area - crossbars * 128.0 * 0.0021 / 2048.0).abs() < 1e-12 * crossbars.max(1.0));
    assert!(both["remap"]["table_energy_pj"].as_f64().unwrap() > r["table_energy_pj"].as_f64().unwrap());
    assert!(r["table_energy_pj"].as_f64().unwrap() > 0.0 && r["spare_area_mm2"].as_f64().unwrap() > 0.0);
    // The table reads are in the run's energy, as their own component; nothing else changes.
    for run in [&rows, &both] {
        let tables = run["remap"]["table_energy_pj"].as_f64().unwrap();
        let added = run["energy_pj"].as_f64().unwrap() - spare["energy_pj"].as_f64().unwrap();
        assert!((added - tables).abs() <= 1e-9 * tables, "{added} {tables}");
        assert_eq!(run["energy_by_component"]["remap_tables"].as_f64(), Some(tables));
        assert_eq!(run["total_cycles"], spare["total_cycles"]);
    }
    let table = stdout(&rramsim(&["run", "--arch", path_str(&arch), "--workload", "resnet20", "--remap", "rows"]));
    assert!(table.contains("remap rows: 8 spare rows, 8 spare cols"), "{table}");
    let check = stdout(&rramsim(&["check", path_str(&arch)]));
    assert!(check.contains("8 spare rows, 8 spare cols"), "{check}");
    // Bad input: spare counts out of range, unknown modes.
    for (rows, cols, key) in [("-1", "0", "crossbar.spare_rows"), ("0", "129", "crossbar.spare_cols")] {
        let bad = spare_arch(&dir, rows, cols);
        assert_bad_input(&rramsim(&["run", "--arch", path_str(&bad), "--workload", "resnet20"]), key);
    }
    assert_bad_input(&rramsim(&["run", "--arch", "isaac", "--workload", "resnet20", "--remap", "cols"]), "cols");
}
