//! The digital unit's cycle model against SCALE-Sim's own numbers
//! (tests/fixtures/scalesim/reference.csv, made by tools/scalesim_reference.py).

use rramsim_core::Clock;
use rramsim_hw::{Dataflow, DigitalParams, Gemm, systolic_cycles};

#[test]
fn systolic_cycles_match_scalesim() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/scalesim/reference.csv");
    let text = std::fs::read_to_string(path).expect("reference CSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (df, rows_c, cols_c) = (col("dataflow"), col("array_rows"), col("array_cols"));
    let (h, w, k, c, m, s, p, cyc, ver) = (
        col("ifmap_h"),
        col("ifmap_w"),
        col("kernel"),
        col("channels"),
        col("filters"),
        col("stride"),
        col("padding"),
        col("compute_cycles"),
        col("scalesim_version"),
    );
    let mut worst = 0.0f64;
    let mut checked = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<u64>().unwrap();
        assert_eq!(f[ver], "3.0.0");
        let out_h = (n(h) + 2 * n(p) - n(k)) / n(s) + 1;
        let out_w = (n(w) + 2 * n(p) - n(k)) / n(s) + 1;
        let params = DigitalParams {
            rows: n(rows_c) as u32,
            cols: n(cols_c) as u32,
            dataflow: match f[df] {
                "ws" => Dataflow::WeightStationary,
                "os" => Dataflow::OutputStationary,
                "is" => Dataflow::InputStationary,
                other => panic!("dataflow {other}"),
            },
            sram: rramsim_core::Bytes(1 << 20),
            clock: Clock::from_ghz(1.0).unwrap(),
        };
        let gemm = Gemm { k: n(k) * n(k) * n(c), m: n(m), p: out_h * out_w, groups: 1 };
        let ours = systolic_cycles(&params, gemm) as f64;
        let theirs = n(cyc) as f64;
        let rel = (ours - theirs).abs() / theirs;
        worst = worst.max(rel);
        assert!(rel <= 0.01, "{line}: rramsim {ours} vs SCALE-Sim {theirs}");
        checked += 1;
    }
    assert!(checked >= 30, "{checked} reference rows");
    eprintln!("worst relative error against SCALE-Sim over {checked} layer/dataflow pairs: {worst:.2e}");
}
