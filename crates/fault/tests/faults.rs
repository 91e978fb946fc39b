//! Fault maps: hand-computed encodings, statistics of the generators, determinism,
//! storage round trips and corrupt files.

use rramsim_fault::storage::StorageError;
use rramsim_fault::{
    CellState, CrossbarId, Distribution, FaultMap, FaultModel, GenParams, Geometry, Origin, STUCK_CELL, WeightCodec,
    cell_levels, crossbar_counts, crossbar_faults, effective_weights, generate, quantize, storage, summarize,
    weight_cell,
};
use rramsim_graph::{Conv2d, Layer, NetworkBuilder, Op, Shape};
use rramsim_hw::{ArchParams, SignedEncoding, load_arch_toml};
use rramsim_map::{ReplicaPlacement, crossbar_layout};
use statrs::distribution::{Binomial, DiscreteCDF};

fn isaac() -> ArchParams {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
    load_arch_toml(path, &std::fs::read_to_string(path).unwrap()).unwrap().0
}

/// A 4-bit-weight codec over 2-bit cells (2 slices per polarity).
fn codec(encoding: SignedEncoding) -> WeightCodec {
    let slices = 2;
    let cpw = if encoding == SignedEncoding::Differential { 4 } else { 2 };
    let usable = if encoding == SignedEncoding::OffsetColumn { 14 } else { 16 };
    WeightCodec {
        weight_bits: 4,
        cell_bits: 2,
        slices,
        encoding,
        columns_per_weight: cpw,
        weights_per_row: usable / cpw,
        usable_columns: usable,
        rows: 8,
        cols: 16,
        crossbars_per_pe: 1,
    }
}

#[test]
fn differential_deltas_by_hand() {
    let c = codec(SignedEncoding::Differential);
    // q = 5 = 0b01_01: G+ slices [1, 1], G− slices [0, 0].
    let cases = [
        (5, 0, CellState::Sa0, 4),  // G+ slice 0: 1 → 0
        (5, 0, CellState::Sa1, 7),  // G+ slice 0: 1 → 3
        (5, 1, CellState::Sa0, 1),  // G+ slice 1: 1 → 0, −4
        (5, 1, CellState::Sa1, 13), // G+ slice 1: 1 → 3, +8
        (5, 2, CellState::Sa0, 5),  // G− slice 0 already 0
        (5, 2, CellState::Sa1, 2),  // G− slice 0: 0 → 3, −3
        (5, 3, CellState::Sa1, -7), // G− slice 1: 0 → 3, −12
        // q = −6: G+ = 0, G− = 6 = 0b01_10: slices [2, 1].
        (-6, 2, CellState::Sa0, -4),  // G− slice 0: 2 → 0, +2
        (-6, 3, CellState::Sa1, -14), // G− slice 1: 1 → 3, −8
        (-6, 0, CellState::Sa1, -3),  // G+ slice 0: 0 → 3, +3
        (-6, 1, CellState::Sa0, -6),  // G+ slice 1 already 0
    ];
    for (q, s, state, want) in cases {
        assert_eq!(i64::from(q) + c.cell_delta(q, s, state), want, "q={q} column {s} {state:?}");
    }
}

#[test]
fn offset_deltas_by_hand() {
    for enc in [SignedEncoding::OffsetDigital, SignedEncoding::OffsetColumn] {
        let c = codec(enc);
        // q = 5: u = 5 + 8 = 13 = 0b11_01: slices [1, 3].
        let cases = [
            (5, 0, CellState::Sa0, 4),
            (5, 0, CellState::Sa1, 7),
            (5, 1, CellState::Sa0, -7),
            (5, 1, CellState::Sa1, 5),
            // q = −8... clamp is ±7: q = −7: u = 1 = 0b00_01: slices [1, 0].
            (-7, 1, CellState::Sa1, 5),
            (-7, 0, CellState::Sa0, -8),
        ];
        for (q, s, state, want) in cases {
            assert_eq!(i64::from(q) + c.cell_delta(q, s, state), want, "{enc:?} q={q} column {s} {state:?}");
        }
    }
    // The offset 8 = 0b10_00 in slices [0, 2]: an SA1 offset slice 0 reads 3 more
    // (weights −3); an SA0 offset slice 1 reads 8 less (weights +8).
    let c = codec(SignedEncoding::OffsetColumn);
    assert_eq!(c.offset_delta(0, CellState::Sa1), -3);
    assert_eq!(c.offset_delta(1, CellState::Sa0), 8);
    assert_eq!(c.offset_delta(1, CellState::Sa1), -4);
}

#[test]
fn quantization_is_symmetric_per_layer() {
    let (q, scale) = quantize(&[0.5, -1.0, 0.25, 0.0], 4);
    assert_eq!(q, vec![4, -7, 2, 0]); // scale = 1/7
    assert!((scale - 1.0 / 7.0).abs() < 1e-7);
}

/// Effective weights of a real layout on the ISAAC preset (16-bit weights over
/// eight 2-bit cells, offset-digital): faults placed by hand.
#[test]
fn effective_weights_follow_the_layout() {
    let arch = isaac();
    let mut b = NetworkBuilder::new("t");
    b.push(Layer::new("input", Op::Input { shape: Shape::new(200, 1, 1) }, &[]));
    let conv = Conv2d::pointwise(20, false);
    b.push(Layer::new("c", Op::Conv2d(conv), &["input"]));
    let net = b.build().unwrap();
    let layout = crossbar_layout(&net, &arch, net.find("c").unwrap()).unwrap();
    // K = 200 rows: 2 row tiles; N = 20 weights of 8 columns, 16 per crossbar: 2 column tiles.
    assert_eq!((layout.row_tiles, layout.col_tiles, layout.crossbars), (2, 2, 4));
    let geometry = Geometry::of(&arch);
    let mut lists = vec![Vec::new(); geometry.crossbars_per_chip()];
    let cols = arch.crossbar.cols;
    // Crossbar 0 (row tile 0, column tile 0): row 3, column 8·2 + 7 = weight n = 2,
    // slice 7 (the top slice), SA0. Crossbar 3 (row tile 1, column tile 1): row 5
    // (k = 133), column 8·1 + 0: weight n = 17, slice 0, SA1.
    lists[0].push((3 * cols + 23, false));
    lists[3].push((5 * cols + 8, true));
    // Crossbar 1, column 8 · 4 = 32: weight n = 16 + 4 = 20 ≥ N: unused.
    lists[1].push((32, true));
    let map = FaultMap::from_lists(geometry, Origin::Imported, &lists);
    let codec = WeightCodec::new(&arch);
    let q: Vec<i32> = (0..20 * 200).map(|i: i32| i % 97 - 48).collect();
    let replica = ReplicaPlacement { first_crossbar: 0, first_pe: 0, pes: 1 };
    let (mut buf, mut out) = (map.buffer(), Vec::new());
    let tally = effective_weights(&codec, &layout, &replica, &map, FaultModel::Cell, &q, &mut buf, &mut out).unwrap();
    assert_eq!((tally.used_faulty_cells, tally.sa0, tally.sa1, tally.unused_faulty_cells), (2, 1, 1, 1));
    let a = 2 * 200 + 3; // weight (n = 2, k = 3)
    let b = 17 * 200 + 133; // weight (n = 17, k = 133)
    let changed: Vec<usize> = (0..q.len()).filter(|&i| q[i] != out[i]).collect();
    // u = q + 2^15; the top slice of u is (u >> 14) & 3.
    let top = ((i64::from(q[a]) + 32768) >> 14) & 3;
    assert_eq!(i64::from(out[a]), i64::from(q[a]) - (top << 14));
    let low = (i64::from(q[b]) + 32768) & 3;
    assert_eq!(i64::from(out[b]), i64::from(q[b]) + (3 - low));
    assert_eq!(changed.len(), [a, b].iter().filter(|&&i| q[i] != out[i]).count());
    // The weight-level model zeroes both weights and nothing else.
    effective_weights(&codec, &layout, &replica, &map, FaultModel::WeightZero, &q, &mut buf, &mut out).unwrap();
    let zeroed: Vec<usize> = (0..q.len()).filter(|&i| q[i] != out[i]).collect();
    assert_eq!(zeroed, [a, b].iter().copied().filter(|&i| q[i] != 0).collect::<Vec<_>>());
    assert_eq!((out[a], out[b]), (0, 0));
    // Cell levels: decoding them gives the effective weights, and the changed
    // cells are where `weight_cell` says the faults are.
    let mut levels = Vec::new();
    cell_levels(&codec, &layout, &replica, Some((&map, FaultModel::Cell)), &q, &mut buf, &mut levels).unwrap();
    effective_weights(&codec, &layout, &replica, &map, FaultModel::Cell, &q, &mut buf, &mut out).unwrap();
    for (i, &v) in out.iter().enumerate() {
        let u: i64 = (0..8).map(|s| i64::from(levels[i * 8 + s] & !STUCK_CELL) << (2 * s)).sum();
        assert_eq!(u - 32768, i64::from(v), "weight {i}");
    }
    assert_eq!(weight_cell(&codec, &layout, a, 7), (0, 3, 23));
    assert_eq!(weight_cell(&codec, &layout, b, 0), (3, 5, 8));
}

fn small_geometry() -> Geometry {
    Geometry { chips: 1, tiles_per_chip: 4, pes_per_tile: 4, crossbars_per_pe: 8, rows: 64, cols: 64 }
}

/// 99.9 % two-sided binomial interval.
fn within(count: u64, n: u64, p: f64) -> bool {
    let b = Binomial::new(p, n).unwrap();
    let (lo, hi) = (b.inverse_cdf(0.0005), b.inverse_cdf(0.9995));
    (lo..=hi).contains(&count)
}

#[test]
fn uniform_rates_fall_in_binomial_intervals() {
    let g = small_geometry();
    let mut outside = 0;
    for seed in 0..40u64 {
        for (rate, f) in [(0.01, 0.5), (0.1, 0.3), (0.3, 0.9)] {
            let params = GenParams { rate, sa1_fraction: f, distribution: Distribution::Uniform, seed };
            let map = generate(g, 1, params).unwrap();
            let s = summarize(&crossbar_counts(&map).unwrap(), g.cells_per_crossbar() as u64);
            let faults = s.sa0 + s.sa1;
            if !within(faults, s.cells, rate) {
                outside += 1;
            }
            if faults > 0 && !within(s.sa1, faults, f) {
                outside += 1;
            }
        }
    }
    // 240 checks at 99.9 %: expect ~0.24 misses.
    assert!(outside <= 2, "{outside} checks fell outside their 99.9 % intervals");
}

#[test]
fn rows_and_cols_fail_whole_with_one_type() {
    let g = small_geometry();
    for (dist, seed) in [(Distribution::Rows, 3), (Distribution::Cols, 4)] {
        let params = GenParams { rate: 0.1, sa1_fraction: 0.5, distribution: dist, seed };
        let (mut lines, mut failed) = (0u64, 0u64);
        for i in 0..g.crossbars_per_chip() {
            let faults = crossbar_faults(&g, &params, g.id(i));
            let mut by_line: std::collections::BTreeMap<u32, Vec<bool>> = std::collections::BTreeMap::new();
            for (cell, sa1) in faults {
                let line = if dist == Distribution::Rows { cell / g.cols } else { cell % g.cols };
                by_line.entry(line).or_default().push(sa1);
            }
            for types in by_line.values() {
                assert_eq!(types.len() as u32, if dist == Distribution::Rows { g.cols } else { g.rows });
                assert!(types.iter().all(|&t| t == types[0]), "a failed line has one type");
            }
            failed += by_line.len() as u64;
            lines += u64::from(g.rows);
        }
        assert!(within(failed, lines, 0.1), "{dist:?}: {failed} of {lines} lines");
    }
}

#[test]
fn clustered_faults_come_in_blocks() {
    let g = small_geometry();
    let neighbour_share = |dist| {
        let params = GenParams { rate: 0.05, sa1_fraction: 0.5, distribution: dist, seed: 11 };
        let (mut faulty, mut with_neighbour) = (0u64, 0u64);
        for i in 0..g.crossbars_per_chip() {
            let cells: std::collections::HashSet<u32> =
                crossbar_faults(&g, &params, g.id(i)).into_iter().map(|(c, _)| c).collect();
            for &c in &cells {
                let (r, col) = ((c / g.cols) as i64, (c % g.cols) as i64);
                let near = (-1..=1i64).flat_map(|dr| (-1..=1i64).map(move |dc| (dr, dc))).any(|(dr, dc)| {
                    let (rr, cc) = (r + dr, col + dc);
                    (dr, dc) != (0, 0)
                        && rr >= 0
                        && cc >= 0
                        && rr < i64::from(g.rows)
                        && cc < i64::from(g.cols)
                        && cells.contains(&((rr * i64::from(g.cols) + cc) as u32))
                });
                faulty += 1;
                with_neighbour += u64::from(near);
            }
        }
        (faulty, with_neighbour as f64 / faulty as f64)
    };
    let (n_uniform, uniform) = neighbour_share(Distribution::Uniform);
    let (n_clustered, clustered) = neighbour_share(Distribution::Clustered);
    // Every clustered fault sits in a 3x3 block; uniform faults at 5 % rarely touch.
    assert!(clustered > 0.99, "{clustered}");
    assert!(uniform < 0.5, "{uniform}");
    // Away from edges a cell is faulty with probability 1 − (1 − p/9)^9 ≈ 0.0489;
    // counts come in blocks of up to 9, so allow a wide band.
    let cells = (g.crossbars_per_chip() * g.cells_per_crossbar()) as f64;
    let rate = n_clustered as f64 / cells;
    let expected = 1.0 - (1.0 - 0.05f64 / 9.0).powi(9);
    assert!((rate - expected).abs() < 0.2 * expected, "{rate} vs {expected}");
    assert!(n_uniform > 0);
}

#[test]
fn same_seed_gives_identical_bytes_on_any_thread_count() {
    let g = small_geometry();
    let params = GenParams { rate: 0.1, sa1_fraction: 0.5, distribution: Distribution::Uniform, seed: 7 };
    let bytes = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| storage::to_bytes(&generate(g, 1, params).unwrap()))
    };
    let (one, two) = (bytes(1), bytes(2));
    assert!(one == two);
    assert!(one == bytes(2));
    let other = storage::to_bytes(&generate(g, 1, GenParams { seed: 8, ..params }).unwrap());
    assert!(one != other);
}

#[test]
fn crossbars_get_independent_streams() {
    let g = small_geometry();
    let params = GenParams { rate: 0.2, sa1_fraction: 0.5, distribution: Distribution::Uniform, seed: 1 };
    let cells = |tile, pe, crossbar| -> std::collections::HashSet<u32> {
        crossbar_faults(&g, &params, CrossbarId { tile, pe, crossbar }).into_iter().map(|(c, _)| c).collect()
    };
    // Neighbouring ids differ, and their overlap is what independence predicts.
    let mut overlap = 0u64;
    let pairs = [((0, 0, 0), (0, 0, 1)), ((0, 0, 0), (0, 1, 0)), ((0, 0, 0), (1, 0, 0)), ((1, 2, 3), (1, 2, 4))];
    for ((a, b, c), (d, e, f)) in pairs {
        let (x, y) = (cells(a, b, c), cells(d, e, f));
        assert_ne!(x, y);
        overlap += x.intersection(&y).count() as u64;
    }
    let n = pairs.len() as u64 * g.cells_per_crossbar() as u64;
    assert!(within(overlap, n, 0.04), "overlap {overlap} of {n}");
    // A crossbar's map does not depend on which others are generated.
    let whole = generate(g, 1, params).unwrap();
    let states = storage::crossbar_states(&whole, g.index(CrossbarId { tile: 1, pe: 2, crossbar: 3 })).unwrap();
    let alone = cells(1, 2, 3);
    for (i, s) in states.iter().enumerate() {
        assert_eq!(*s != CellState::Ok, alone.contains(&(i as u32)));
    }
}

#[test]
fn binary_files_round_trip_and_reject_corruption() {
    let g = small_geometry();
    let params = GenParams { rate: 0.05, sa1_fraction: 0.25, distribution: Distribution::Clustered, seed: 3 };
    let map = generate(g, 1, params).unwrap();
    let bytes = storage::to_bytes(&map);
    let back = storage::from_bytes(&bytes).unwrap();
    assert_eq!(back, map);
    assert_eq!(back.origin, Origin::Generated(params));
    // Truncated, corrupt, wrong magic, future major version.
    let err = storage::from_bytes(&bytes[..bytes.len() - 9]).unwrap_err();
    assert!(matches!(err, StorageError::TruncatedPayload { .. }), "{err}");
    assert!(err.to_string().contains("truncated"));
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(matches!(storage::from_bytes(&flipped), Err(StorageError::Checksum)));
    assert!(storage::from_bytes(b"PNG\x89 not a map at all").unwrap_err().to_string().contains("magic"));
    let mut future = bytes.clone();
    future[4..6].copy_from_slice(&2u16.to_le_bytes());
    let err = storage::from_bytes(&future).unwrap_err();
    assert!(matches!(err, StorageError::Version { major: 2, minor: 0 }), "{err}");
    assert!(err.to_string().contains("format 2.0"));
    // A newer minor version of the same major is read.
    let mut minor = bytes.clone();
    minor[6..8].copy_from_slice(&9u16.to_le_bytes());
    assert!(storage::from_bytes(&minor).is_ok());
    // Geometry checks against an architecture.
    let other = Geometry { rows: 128, ..g };
    assert!(storage::check_geometry(&back, &other).unwrap_err().to_string().contains("64x64"));
    assert!(storage::check_geometry(&back, &g).is_ok());
}

#[test]
fn csv_round_trips_and_reports_lines() {
    let g = small_geometry();
    let params = GenParams { rate: 0.01, sa1_fraction: 0.5, distribution: Distribution::Uniform, seed: 5 };
    let map = generate(g, 1, params).unwrap();
    let csv = storage::to_csv(&map);
    let back = storage::from_csv(&csv, g).unwrap();
    assert_eq!(back.origin, Origin::Imported);
    assert_eq!(storage::to_csv(&back), csv);
    let header = "tile,pe,crossbar,row,col,type\n";
    let bad = [
        ("tile,pe,xbar,row,col,type\n", 1, "header"),
        (&format!("{header}0,0,0,1,1,SA2\n") as &str, 2, "SA0 or SA1"),
        (&format!("{header}0,0,0,1,1,SA0\n0,0,9,1,1,SA1\n"), 3, "`crossbar` 9 is out of range"),
        (&format!("{header}0,0,0,1,1,SA0\n0,0,0,1,1,SA1\n"), 3, "listed twice"),
        (&format!("{header}0,0,0,1,SA0\n"), 2, "6 fields"),
        (&format!("{header}0,0,0,-1,1,SA0\n"), 2, "non-negative integer"),
    ];
    for (text, line, needle) in bad {
        let err = storage::from_csv(text, g).unwrap_err();
        assert_eq!(err.line, line, "{err}");
        assert!(err.kind.to_string().contains(needle), "{err}");
    }
}
