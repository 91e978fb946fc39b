//! `rramsim sweep`: determinism, sharding and merging, resuming, invalid points,
//! output formats and bad specs.

use std::path::Path;

use crate::{assert_bad_input, path_str, rramsim, scratch, stderr, stdout};

const SPEC: &str = r#"arch = "isaac"

[options]
seed = 5

[axes]
workload = ["resnet20"]
"crossbar.rows" = [64, 128]
"pe.adc.bits" = { from = 7, to = 8, step = 1 }
width = [1.0, 1.2]
fault_rate = [0.0, 0.05]
"#;

fn spec(dir: &Path) -> String {
    let p = dir.join("spec.toml");
    std::fs::write(&p, SPEC).unwrap();
    path_str(&p).to_owned()
}

fn sweep(args: &[&str], threads: &str) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .arg("sweep")
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn results_do_not_depend_on_threads_or_sharding() {
    let dir = scratch("sweep-det");
    let s = spec(&dir);
    let one = dir.join("one.csv");
    let two = dir.join("two.csv");
    sweep(&[&s, "-o", path_str(&one)], "1");
    sweep(&[&s, "-o", path_str(&two)], "2");
    let a = std::fs::read_to_string(&one).unwrap();
    assert_eq!(a, std::fs::read_to_string(&two).unwrap());
    assert_eq!(a.lines().filter(|l| !l.starts_with('#')).count(), 1 + 16);
    // Invalid points (7-bit ADCs under 128-row crossbars) are rows with their error.
    let invalid: Vec<&str> = a.lines().filter(|l| l.contains(",invalid,")).collect();
    assert_eq!(invalid.len(), 4);
    assert!(invalid.iter().all(|l| l.contains("cannot resolve the column sum")));
    // Shards in Parquet, merged, equal the single run.
    let mut parts = Vec::new();
    for i in 0..3 {
        let p = dir.join(format!("part{i}.parquet"));
        sweep(&[&s, "--shard", &format!("{i}/3"), "-o", path_str(&p)], "2");
        parts.push(path_str(&p).to_owned());
    }
    let merged = dir.join("merged.csv");
    let mut args = vec!["sweep", "merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["-o", path_str(&merged)]);
    assert_eq!(rramsim(&args).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&merged).unwrap(), a);
    // JSON holds the same rows.
    let json = dir.join("all.json");
    sweep(&[&s, "-o", path_str(&json)], "2");
    let back = dir.join("back.csv");
    assert_eq!(rramsim(&["sweep", "merge", path_str(&json), "-o", path_str(&back)]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), a);
}

#[test]
fn sweeps_resume_and_run_single_points() {
    let dir = scratch("sweep-resume");
    let s = spec(&dir);
    let out = dir.join("r.csv");
    sweep(&[&s, "--point", "3", "-o", path_str(&out)], "2");
    let first = std::fs::read_to_string(&out).unwrap();
    assert_eq!(first.lines().filter(|l| l.starts_with("3,")).count(), 1);
    let o = rramsim(&["sweep", &s, "-o", path_str(&out)]);
    assert!(stderr(&o).contains("15 run now, 1 kept"), "{}", stderr(&o));
    let fresh = dir.join("fresh.csv");
    sweep(&[&s, "-o", path_str(&fresh)], "2");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), std::fs::read_to_string(&fresh).unwrap());
    let list = stdout(&rramsim(&["sweep", &s, "--list"]));
    assert_eq!(list.lines().count(), 16);
    let p: serde_json::Value = serde_json::from_str(list.lines().nth(5).unwrap()).unwrap();
    assert_eq!(p["index"], 5);
    assert_eq!(p["point"]["workload"], "resnet20");
}

#[test]
fn bad_sweeps_exit_two() {
    let dir = scratch("sweep-bad");
    let s = spec(&dir);
    assert_bad_input(&rramsim(&["sweep", &s, "--point", "99", "-o", "x.csv"]), "the sweep has 16 points");
    assert_bad_input(&rramsim(&["sweep", &s, "--shard", "3/3", "-o", "x.csv"]), "--shard");
    assert_bad_input(&rramsim(&["sweep", &s, "-o", "x.xlsx"]), ".parquet, .csv or .json");
    let bad = |name: &str, text: &str, needle: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        assert_bad_input(&rramsim(&["sweep", path_str(&p), "-o", "x.csv"]), needle);
    };
    bad("a.toml", "arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\n\"crossbar.rowz\" = [1]\n", "no key `rowz`");
    bad(
        "b.toml",
        "arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\nwidth = { from = 2, to = 1, step = 1 }\n",
        "to >= from",
    );
    bad("c.toml", "arch = \"isaac\"\n[axes]\nwidth = [1.0]\n", "need a `workload`");
    bad(
        "d.toml",
        "arch = \"isaac\"\n[axes]\nworkload = [\"resnet20\"]\noffload = [\"magic\"]\n",
        "unknown policy `magic`",
    );
    bad("e.toml", "arch = \"isaac\"\nextra = 1\n[axes]\nworkload = [\"resnet20\"]\n", "unknown field `extra`");
    bad("f.toml", "arch = \"isaac\"\n[[point]]\nwidth = 1.2\n", "point 0 needs a `workload`");
}

#[test]
fn explicit_point_lists_run_as_given() {
    let dir = scratch("sweep-points");
    let p = dir.join("points.toml");
    std::fs::write(
        &p,
        "arch = \"isaac\"\n[[point]]\nworkload = \"resnet20\"\nwidth = 1.2\n\n[[point]]\nworkload = \"resnet20\"\n\"crossbar.rows\" = 64\n",
    )
    .unwrap();
    let out = dir.join("p.csv");
    sweep(&[path_str(&p), "-o", path_str(&out)], "2");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    // Columns in the order the points first name them.
    assert_eq!(lines[0].split(',').take(4).collect::<Vec<_>>(), ["index", "workload", "width", "crossbar.rows"]);
    assert!(lines[1].starts_with("0,resnet20,1.2,,ok"), "{}", lines[1]);
    assert!(lines[2].starts_with("1,resnet20,,64,ok"), "{}", lines[2]);
}

/// Rows (without comment lines) of a results CSV.
fn csv_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect()
}

#[test]
fn axes_run_in_spec_order_and_list_prints_integers() {
    let dir = scratch("sweep-order");
    let s = spec(&dir);
    let list = stdout(&rramsim(&["sweep", &s, "--list"]));
    let lines: Vec<&str> = list.lines().collect();
    // The spec's order (workload, crossbar.rows, pe.adc.bits, width, fault_rate); last axis fastest.
    assert_eq!(
        lines[0],
        r#"{"index":0,"point":{"workload":"resnet20","crossbar.rows":64,"pe.adc.bits":7,"width":1,"fault_rate":0}}"#
    );
    assert_eq!(
        lines[1],
        r#"{"index":1,"point":{"workload":"resnet20","crossbar.rows":64,"pe.adc.bits":7,"width":1,"fault_rate":0.05}}"#
    );
    assert!(lines[2].contains(r#""width":1.2,"fault_rate":0}"#), "{}", lines[2]);
    // One point without -o prints its row.
    let o = rramsim(&["sweep", &s, "--point", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let row: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(row["index"], 1);
    assert_eq!(row["point"]["fault_rate"], 0.05);
    assert_eq!(row["status"], "ok");
    assert!(row["metrics"]["total_cycles"].as_f64().unwrap() > 0.0);
    assert_bad_input(&rramsim(&["sweep", &s]), "sweep needs -o");
    // Columns follow the spec's order.
    let out = dir.join("one.csv");
    sweep(&[&s, "--point", "1", "-o", path_str(&out)], "1");
    let rows = csv_rows(&out);
    assert!(rows[0].starts_with("index,workload,crossbar.rows,pe.adc.bits,width,fault_rate,status"), "{}", rows[0]);
    assert!(rows[1].starts_with("1,resnet20,64,7,1,0.05,ok"), "{}", rows[1]);
}

#[test]
fn results_of_another_spec_are_refused() {
    let dir = scratch("sweep-identity");
    let s = spec(&dir);
    let out = dir.join("r.csv");
    sweep(&[&s, "--point", "0", "-o", path_str(&out)], "1");
    let first = std::fs::read_to_string(&out).unwrap();
    assert!(first.starts_with("# rramsim sweep results, schema 1, spec "), "{first}");
    // Comments and layout do not change the identity…
    let same = dir.join("same.toml");
    std::fs::write(&same, format!("# a comment\n{SPEC}")).unwrap();
    sweep(&[path_str(&same), "--point", "1", "-o", path_str(&out)], "1");
    // …a different seed does.
    let other = dir.join("other.toml");
    std::fs::write(&other, SPEC.replace("seed = 5", "seed = 6")).unwrap();
    let before = std::fs::read_to_string(&out).unwrap();
    assert_bad_input(&rramsim(&["sweep", path_str(&other), "-o", path_str(&out)]), "belong to another sweep spec");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    // Merging shards of two specs is refused too.
    let out2 = dir.join("r2.csv");
    sweep(&[path_str(&other), "--point", "2", "-o", path_str(&out2)], "1");
    let merged = dir.join("m.csv");
    let o = rramsim(&["sweep", "merge", path_str(&out), path_str(&out2), "-o", path_str(&merged)]);
    assert_bad_input(&o, "results of another sweep spec");
}

/// A sweep killed after k points resumes with every finished point kept.
#[test]
fn a_killed_sweep_resumes_keeping_every_finished_point() {
    let dir = scratch("sweep-kill");
    let s = spec(&dir);
    let out = dir.join("r.csv");
    let journal = dir.join("r.csv.journal");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(["sweep", &s, "-o", path_str(&out)])
        .env("RAYON_NUM_THREADS", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Header line + at least 3 finished points, then SIGKILL (no chance to clean up).
    let t0 = std::time::Instant::now();
    let finished = loop {
        let n = std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0);
        if n >= 4 {
            break n - 1;
        }
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before it was killed");
        assert!(t0.elapsed().as_secs() < 300);
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "the results file is written at the end only");
    let kept: Vec<String> = std::fs::read_to_string(&journal).unwrap().lines().skip(1).map(str::to_owned).collect();
    assert!(kept.len() >= finished && kept.len() < 16, "{} points in the journal", kept.len());
    let o = rramsim(&["sweep", &s, "-o", path_str(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let msg = format!("{} run now, {} kept", 16 - kept.len(), kept.len());
    assert!(stderr(&o).contains(&msg), "{}", stderr(&o));
    assert!(!journal.exists(), "the journal is removed once the results are written");
    // Every point, each kept one exactly as it was: the same file as an uninterrupted sweep.
    let fresh = dir.join("fresh.csv");
    sweep(&[&s, "-o", path_str(&fresh)], "2");
    assert_eq!(csv_rows(&out), csv_rows(&fresh));
    assert_eq!(csv_rows(&out).len(), 17);
}

/// The ISAAC design-space spec (tools/experiments/isaac_dse/sweep.toml, no
/// workload: the check model only) runs, and its trends keep the published
/// sign (Shafiee et al. ISCA 2016, Sec. V and VIII-A) — not exact values.
#[test]
fn isaac_design_space_spec_keeps_the_published_trend_signs() {
    let dir = scratch("sweep-isaac-dse");
    let spec = crate::root().join("tools/experiments/isaac_dse/sweep.toml");
    let out = dir.join("dse.csv");
    sweep(&[path_str(&spec), "-o", path_str(&out)], "2");
    let rows = csv_rows(&out);
    let header: Vec<&str> = rows[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (name, status) = (col("name"), col("status"));
    let get = |point: &str, metric: &str| -> f64 {
        let row = rows.iter().skip(1).find(|r| r.split(',').nth(name) == Some(point)).expect(point);
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[status], "ok", "{row}");
        fields[col(metric)].parse().unwrap_or_else(|_| panic!("{point} {metric}: {row}"))
    };
    // Without a workload no run metrics are reported.
    let base_row: Vec<String> = rows[1].split(',').map(str::to_owned).collect();
    assert!(base_row[col("total_cycles")].is_empty(), "{}", rows[1]);
    // PE as ISAAC adds it up (Table IV: every unit at full rate).
    let (ce, pe, tops) = ("peak_tops_per_mm2", "peak_tops_per_w_full_rate", "peak_tops");
    let base = |m| get("isaac-ce", m);
    // ISAAC-CE at ISAAC's calibration point: the preset's figures (Table IV: 478.95 GOPS/s/mm²).
    assert!((base(ce) * 1e3 / 478.95 - 1.0).abs() < 0.05, "{}", base(ce));
    // "a 9-bit ADC is never worth the power/area overhead": CE and PE fall.
    assert!(get("adc9", ce) < base(ce) && get("adc9", pe) < base(pe));
    // CE peaks at 1-bit DACs and 2-bit cells; smaller crossbars lose CE.
    for p in ["v2", "v4", "w1", "w4", "h32", "h64"] {
        assert!(get(p, ce) < base(ce), "{p}: {} >= {}", get(p, ce), base(ce));
    }
    // A 200 ns read halves throughput; 32-bit fixed point quarters it.
    assert!((get("read200", tops) / base(tops) - 0.5).abs() < 1e-9);
    assert!((get("fixed32", tops) / base(tops) - 0.25).abs() < 1e-9);
    // The encoding switch is swept as a string: without it the ADC needs 9 bits.
    assert!(get("noflip-adc9", pe) < base(pe));
}

#[test]
fn a_sweep_without_workload_rejects_run_axes_and_bad_switches() {
    let dir = scratch("sweep-noworkload");
    let p = dir.join("a.toml");
    std::fs::write(&p, "arch = \"isaac\"\n[axes]\n\"pe.adc.bits\" = [8]\nfault_rate = [0.1]\n").unwrap();
    assert_bad_input(
        &rramsim(&["sweep", path_str(&p), "-o", path_str(&dir.join("a.csv"))]),
        "need a `workload` for `fault_rate`",
    );
    // A switch takes "true" or "false" only: another string is an invalid point, not a crash.
    std::fs::write(&p, "arch = \"isaac\"\n[axes]\n\"pe.adc.flip_encoding\" = [\"maybe\"]\n").unwrap();
    let out = dir.join("b.csv");
    sweep(&[path_str(&p), "-o", path_str(&out)], "1");
    let rows = csv_rows(&out);
    assert!(rows[1].contains(",invalid,"), "{}", rows[1]);
}
