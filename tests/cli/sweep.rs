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
    assert_eq!(lines[0].split(',').take(4).collect::<Vec<_>>(), ["index", "crossbar.rows", "width", "workload"]);
    assert!(lines[1].starts_with("0,,1.2,resnet20,ok"), "{}", lines[1]);
    assert!(lines[2].starts_with("1,64,,resnet20,ok"), "{}", lines[2]);
}
