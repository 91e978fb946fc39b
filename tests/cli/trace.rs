//! `run --trace`, `trace convert|summary|diff`, and baselines.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{assert_bad_input, json_of, path_str, root, rramsim, scratch, stderr, stdout};

const TINY: &str = "tests/fixtures/trace/tiny.toml";

/// Runs a traced simulation; returns the run report.
fn traced(trace: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--arch", "isaac", "--trace", path_str(trace)];
    args.extend_from_slice(extra);
    json_of(&["run"], &args)
}

/// Event count and Σ amount per kind, read from a CSV events table.
fn csv_totals(path: &Path) -> (u64, BTreeMap<String, u64>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("# rramsim trace events, schema 1"));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (kind, amount) = (0, header.iter().position(|h| *h == "amount").unwrap());
    let mut totals = BTreeMap::new();
    let mut n = 0;
    for line in lines {
        // Layer names here have no commas, so a plain split is exact.
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), header.len(), "{line}");
        *totals.entry(f[kind].to_owned()).or_default() += f[amount].parse::<u64>().unwrap();
        n += 1;
    }
    (n, totals)
}

fn summary(trace: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![path_str(trace)];
    args.extend_from_slice(extra);
    json_of(&["trace", "summary"], &args)
}

/// Σ amount per kind from a summary's unit lines.
fn summary_totals(s: &serde_json::Value) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for u in s["units"].as_array().unwrap() {
        *totals.entry(u["kind"].as_str().unwrap().to_owned()).or_default() += u["amount"].as_u64().unwrap();
    }
    totals
}

#[test]
fn binary_trace_round_trips_to_chrome_parquet_and_csv() {
    let dir = scratch("trace-roundtrip");
    let trace = dir.join("r20.rtrace");
    let report = traced(&trace, &["--workload", "resnet20", "--offload", "pointwise"]);
    let s = summary(&trace, &[]);
    let events = s["events"].as_u64().unwrap();
    assert!(events > 100_000, "{events}");
    assert_eq!(s["total_cycles"], report["total_cycles"]);
    // The per-layer statistics are the run's.
    for (a, b) in s["layers"].as_array().unwrap().iter().zip(report["layers"].as_array().unwrap()) {
        assert_eq!(a["name"], b["name"]);
        assert_eq!(a["cycles"], b["cycles"]);
        let (x, y) = (a["energy_pj"].as_f64().unwrap(), b["energy_pj"].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-9 * y.max(1.0), "{x} vs {y}");
    }
    let totals = summary_totals(&s);

    // CSV: same events, same totals per kind.
    let csv = dir.join("t.csv");
    let o = rramsim(&["trace", "convert", path_str(&trace), "--to", "csv", "-o", path_str(&csv)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (n, csv_sums) = csv_totals(&csv);
    assert_eq!(n, events);
    assert_eq!(csv_sums, totals);
    let layers = std::fs::read_to_string(dir.join("t.layers.csv")).unwrap();
    assert_eq!(layers.lines().count(), 2 + report["layers"].as_array().unwrap().len());

    // Parquet: same rows and totals, schema version in the metadata.
    let pq = dir.join("t.parquet");
    let o = rramsim(&["trace", "convert", path_str(&trace), "--to", "parquet", "-o", path_str(&pq)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (n, pq_sums) = parquet_totals(&pq);
    assert_eq!(n, events);
    assert_eq!(pq_sums, totals);
    assert!(dir.join("t.layers.parquet").exists());

    // Chrome: one complete event per trace event, with the amounts; structure checked.
    let chrome = dir.join("t.json");
    let o = rramsim(&["trace", "convert", path_str(&trace), "--to", "chrome", "-o", path_str(&chrome)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&chrome).unwrap()).unwrap();
    assert_eq!(rramsim_trace::check_chrome(&doc).unwrap(), events);
    let mut chrome_sums: BTreeMap<String, u64> = BTreeMap::new();
    let mut processes = std::collections::BTreeSet::new();
    for e in doc["traceEvents"].as_array().unwrap() {
        match e["ph"].as_str().unwrap() {
            "X" => {
                let args = e["args"].as_object().unwrap();
                let amount = args
                    .iter()
                    .find(|(k, _)| !["unit", "image", "start_cycle", "end_cycle"].contains(&k.as_str()))
                    .unwrap()
                    .1;
                *chrome_sums.entry(e["cat"].as_str().unwrap().to_owned()).or_default() += amount.as_u64().unwrap();
            }
            "M" if e["name"] == "process_name" => {
                processes.insert(e["args"]["name"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    assert_eq!(chrome_sums, totals);
    assert!(processes.contains("digital unit") && processes.contains("tile[1]"), "{processes:?}");
    assert!(processes.contains("chip[0] interconnect"));
}

#[cfg(feature = "parquet")]
fn parquet_totals(path: &Path) -> (u64, BTreeMap<String, u64>) {
    use arrow_array::{Array, StringArray, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let meta = builder.schema().metadata().clone();
    assert_eq!(meta.get("rramsim.schema_version").map(String::as_str), Some("1"));
    assert_eq!(meta.get("rramsim.table").map(String::as_str), Some("trace-events"));
    let mut totals = BTreeMap::new();
    let mut n = 0;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let kind = batch.column_by_name("kind").unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let amount = batch.column_by_name("amount").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap().clone();
        for r in 0..batch.num_rows() {
            *totals.entry(kind.value(r).to_owned()).or_default() += amount.value(r);
        }
        n += kind.len() as u64;
    }
    (n, totals)
}

#[cfg(not(feature = "parquet"))]
fn parquet_totals(_: &Path) -> (u64, BTreeMap<String, u64>) {
    unreachable!("the parquet feature is on by default")
}

#[test]
fn traces_are_deterministic_and_do_not_change_the_run() {
    let dir = scratch("trace-determinism");
    let plain = json_of(&["run"], &["--arch", "isaac", "--workload", TINY, "--batch", "2"]);
    let (a, b) = (dir.join("a.rtrace"), dir.join("b.rtrace"));
    let ra = traced(&a, &["--workload", TINY, "--batch", "2"]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rramsim"))
        .args(["run", "--arch", "isaac", "--workload", TINY, "--batch", "2", "--trace", path_str(&b)])
        .env("RAYON_NUM_THREADS", "1")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(plain["total_cycles"], ra["total_cycles"]);
    assert_eq!(plain["energy_pj"], ra["energy_pj"]);
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "traces must be byte-identical");
    let o = rramsim(&["trace", "diff", path_str(&a), path_str(&b)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("identical"), "{}", stdout(&o));
}

#[test]
fn diff_reports_the_first_differing_event_and_layer_deltas() {
    let dir = scratch("trace-diff");
    let (a, b) = (dir.join("a.rtrace"), dir.join("b.rtrace"));
    traced(&a, &["--workload", TINY]);
    traced(&b, &["--workload", TINY, "--replication", "none"]);
    let o = rramsim(&["trace", "diff", path_str(&a), path_str(&b)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("header config_hash"), "{out}");
    assert!(out.contains("first differing event #"), "{out}");
    assert!(out.contains("conv1"), "per-layer deltas name the layers: {out}");
    let o = rramsim(&["trace", "diff", path_str(&a), path_str(&b), "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(d["identical"], false);
    assert!(!d["layers"].as_array().unwrap().is_empty());
}

#[test]
fn filters_keep_layers_windows_and_levels() {
    let dir = scratch("trace-filter");
    let full = dir.join("full.rtrace");
    traced(&full, &["--workload", TINY, "--offload", "pointwise"]);
    let all = summary(&full, &[])["events"].as_u64().unwrap();
    // At write time, by layer.
    let only = dir.join("conv1.rtrace");
    traced(&only, &["--workload", TINY, "--trace-layer", "conv*"]);
    let s = summary(&only, &[]);
    for l in s["layers"].as_array().unwrap() {
        if l["name"] != "conv1" {
            assert_eq!(l["events"], 0, "{l}");
        }
    }
    assert!(s["events"].as_u64().unwrap() > 0 && s["events"].as_u64().unwrap() < all);
    // By level: tile keeps no PE or crossbar events.
    let s = summary(&full, &["--trace-level", "tile"]);
    let kinds: Vec<&str> = s["units"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert!(kinds.iter().all(|k| !["mvm", "dac", "array", "adc", "shift_add"].contains(k)), "{kinds:?}");
    let pe = summary(&full, &["--trace-level", "pe"])["events"].as_u64().unwrap();
    assert!(s["events"].as_u64().unwrap() < pe && pe < all);
    // By window: every kept event overlaps it.
    let csv = dir.join("w.csv");
    let o = rramsim(&[
        "trace",
        "convert",
        path_str(&full),
        "--to",
        "csv",
        "-o",
        path_str(&csv),
        "--trace-window",
        "1000..2000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut n = 0;
    for line in text.lines().skip(2) {
        let f: Vec<&str> = line.split(',').collect();
        let (start, end): (u64, u64) = (f[7].parse().unwrap(), f[8].parse().unwrap());
        assert!(start < 2000 && (end > 1000 || start == 1000), "{line}");
        n += 1;
    }
    assert!(n > 0 && n < all);
    // Bad filters: exit 2, no trace left behind.
    let bad = dir.join("bad.rtrace");
    let o =
        rramsim(&["run", "--arch", "isaac", "--workload", TINY, "--trace", path_str(&bad), "--trace-layer", "nosuch"]);
    assert_bad_input(&o, "matches no layer");
    assert!(!bad.exists());
    for (flag, value, needle) in [("--trace-window", "9..3", "is empty"), ("--trace-level", "chip", "tile, pe or xbar")]
    {
        let o = rramsim(&["trace", "summary", path_str(&full), flag, value]);
        assert_bad_input(&o, needle);
    }
    let o = rramsim(&["run", "--arch", "isaac", "--workload", TINY, "--trace-level", "pe"]);
    assert_bad_input(&o, "give --trace FILE");
}

#[test]
fn corrupt_truncated_and_future_traces_are_bad_input() {
    let dir = scratch("trace-corrupt");
    let good = std::fs::read(root().join("tests/fixtures/trace/v1.0.rtrace")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "not an rramsim trace"),
        ("magic", b"PK\x03\x04 not a trace at all".to_vec(), "not an rramsim trace"),
        (
            "future",
            {
                let mut b = good.clone();
                b[8] = 9;
                b
            },
            "trace format 9.0 is not readable",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "truncated trace"),
        ("no-end", good[..good.len() - 12].to_vec(), "truncated"),
        (
            "flipped",
            {
                let mut b = good.clone();
                let i = b.len() / 2;
                b[i] ^= 0x01;
                b
            },
            "corrupt",
        ),
        (
            "trailing",
            {
                let mut b = good.clone();
                b.push(0);
                b
            },
            "after the end record",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(format!("{name}.rtrace"));
        std::fs::write(&path, &bytes).unwrap();
        let o = rramsim(&["trace", "summary", path_str(&path)]);
        assert_bad_input(&o, needle);
        let out = dir.join(format!("{name}.json"));
        let o = rramsim(&["trace", "convert", path_str(&path), "--to", "chrome", "-o", path_str(&out)]);
        assert_bad_input(&o, needle);
        assert!(!out.exists(), "{name}: no half-written output");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
    let o = rramsim(&["trace", "summary", path_str(&dir.join("missing.rtrace"))]);
    assert_bad_input(&o, "cannot read");
}

#[test]
fn readers_skip_record_kinds_they_do_not_know() {
    let dir = scratch("trace-unknown");
    let good = std::fs::read(root().join("tests/fixtures/trace/v1.0.rtrace")).unwrap();
    let newer = rramsim_trace::format::insert_record_for_tests(&good, 42, b"a record from a later minor version");
    let path = dir.join("newer.rtrace");
    std::fs::write(&path, newer).unwrap();
    let s = summary(&path, &[]);
    let golden = summary(&root().join("tests/fixtures/trace/v1.0.rtrace"), &[]);
    assert_eq!(s["skipped_records"], 1);
    assert_eq!(s["events"], golden["events"]);
    assert_eq!(s["layers"], golden["layers"]);
}

/// Every committed golden trace (one per format version) still decodes, with
/// the figures it was written with.
#[test]
fn golden_traces_decode() {
    let dir = root().join("tests/fixtures/trace");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rtrace") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let s = summary(&path, &[]);
        let mut keep = serde_json::Map::new();
        for k in ["format", "arch", "workload", "batch", "offload", "seed", "events", "total_cycles", "layers"] {
            keep.insert(k.to_owned(), s[k].clone());
        }
        insta::assert_yaml_snapshot!(format!("golden_trace_{name}"), keep);
        found += 1;
    }
    assert!(found >= 1);
}

#[test]
fn baselines_lock_cycles_and_report_what_moved() {
    let dir = scratch("baseline");
    let base = dir.join("base.json");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--arch", "isaac", "--workload", TINY];
        args.extend_from_slice(extra);
        rramsim(&args)
    };
    let o = run(&["--save-baseline", path_str(&base)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(b["format"], "rramsim-baseline");
    assert!(b["total_cycles"].as_u64().unwrap() > 0 && !b["layers"].as_array().unwrap().is_empty());
    // The same run passes exactly.
    let o = run(&["--check-baseline", path_str(&base)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("ok, every locked figure"));
    // Another configuration moves figures: exit 3 and a per-layer diff.
    let o = run(&["--check-baseline", path_str(&base), "--replication", "none"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("configuration changed") && err.contains("moved beyond tolerance 0"), "{err}");
    assert!(err.contains("conv1") && err.contains("cycles"), "{err}");
    assert!(!err.contains("panicked"));
    // A loose tolerance accepts small moves but not large ones.
    let o = run(&["--check-baseline", path_str(&base), "--batch", "2", "--tolerance", "1000"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Bad baselines are bad input.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"format\": \"rramsim-baseline\", \"version\": 1, \"surprise\": 3}").unwrap();
    assert_bad_input(&run(&["--check-baseline", path_str(&broken)]), "not a baseline file");
    std::fs::write(&broken, b["format"].to_string().replace("rramsim", "x")).unwrap();
    assert_bad_input(&run(&["--check-baseline", path_str(&broken)]), "broken.json");
    let future = dir.join("future.json");
    std::fs::write(&future, std::fs::read_to_string(&base).unwrap().replace("\"version\": 1", "\"version\": 7"))
        .unwrap();
    assert_bad_input(&run(&["--check-baseline", path_str(&future)]), "version 7");
    assert_bad_input(&run(&["--check-baseline", path_str(&dir.join("none.json"))]), "cannot read");
    assert_bad_input(&run(&["--check-baseline", path_str(&base), "--tolerance", "-1"]), "non-negative");
}

/// The golden traces in `traces/`: each is re-run from its configuration and
/// must decode to the same header, events and per-layer figures (`trace diff`
/// exits 0); its per-layer CSV table and a Chrome JSON excerpt (layer `fc`,
/// tile level) must be byte-identical. To regenerate them deliberately (after
/// a change that moves a figure, explained in the commit message):
/// `RRAMSIM_REGENERATE_TRACES=1 cargo test -p rramsim-cli --all-features --test
/// cli golden_traces_folder` (see traces/README.md).
#[test]
fn golden_traces_folder_matches_fresh_runs() {
    const GOLDEN: [(&str, &[&str]); 2] = [
        ("tiny-isaac", &["--arch", "isaac", "--workload", TINY]),
        ("tiny-neurosim-pointwise", &["--arch", "neurosim-8b", "--workload", TINY, "--offload", "pointwise"]),
    ];
    let regenerate = std::env::var_os("RRAMSIM_REGENERATE_TRACES").is_some();
    let folder = root().join("traces");
    let dir = scratch("trace-golden-folder");
    for (name, args) in GOLDEN {
        let fresh = dir.join(format!("{name}.rtrace"));
        let mut run = vec!["run"];
        run.extend_from_slice(args);
        run.extend_from_slice(&["--trace", path_str(&fresh), "--format", "json"]);
        let o = rramsim(&run);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let chrome = dir.join(format!("{name}.fc.chrome.json"));
        let fresh_s = path_str(&fresh);
        let convert = [
            vec!["trace", "convert", fresh_s, "--to", "chrome", "--trace-layer", "fc", "--trace-level", "tile"],
            vec!["trace", "convert", fresh_s, "--to", "csv"],
        ];
        let events = dir.join(format!("{name}.csv"));
        for (mut c, out) in convert.into_iter().zip([&chrome, &events]) {
            c.extend_from_slice(&["-o", path_str(out)]);
            let o = rramsim(&c);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        }
        let layers = dir.join(format!("{name}.layers.csv"));
        let texts = [(fresh.clone(), "rtrace"), (chrome, "fc.chrome.json"), (layers, "layers.csv")];
        for (fresh_file, ext) in texts {
            let golden = folder.join(format!("{name}.{ext}"));
            if regenerate {
                std::fs::copy(&fresh_file, &golden).unwrap();
                continue;
            }
            let size = std::fs::metadata(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display())).len();
            assert!(size < 50 * 1024, "{}: {size} bytes; golden traces stay small", golden.display());
            if ext == "rtrace" {
                let o = rramsim(&["trace", "diff", path_str(&golden), path_str(&fresh_file)]);
                assert_eq!(o.status.code(), Some(0), "{name}: {}{}", stdout(&o), stderr(&o));
                assert!(stdout(&o).starts_with("identical"), "{}", stdout(&o));
            } else {
                let same = std::fs::read(&golden).unwrap() == std::fs::read(&fresh_file).unwrap();
                assert!(same, "{}: the conversion of the golden trace changed", golden.display());
            }
        }
    }
}

/// `trace diff` reports an expected difference as a result, not an error, with
/// the whole-run cycle and energy change.
#[test]
fn trace_diff_reports_totals_without_calling_it_an_error() {
    let dir = scratch("trace-diff-words");
    let a = dir.join("a.rtrace");
    let b = dir.join("b.rtrace");
    traced(&a, &["--workload", TINY]);
    traced(&b, &["--workload", TINY, "--offload", "pointwise"]);
    let o = rramsim(&["trace", "diff", path_str(&a), path_str(&b)]);
    assert_eq!(o.status.code(), Some(3));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(!out.to_lowercase().contains("error") && !err.to_lowercase().contains("error"), "{out}{err}");
    assert!(err.contains("differ (exit code 3)"), "{err}");
    let total = out.lines().find(|l| l.starts_with("total: ")).unwrap_or_else(|| panic!("{out}"));
    assert!(total.contains(" cycles (") && total.contains(" uJ dynamic energy ("), "{total}");
}
