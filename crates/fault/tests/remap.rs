//! Fault-aware remapping: never worse than the identity, exact with enough spare
//! rows, deterministic.

use rramsim_fault::{
    Distribution, FaultMap, FaultModel, GenParams, Geometry, Origin, RemapMode, WeightCodec,
    effective_weights_remapped, generate, remap_replica,
};
use rramsim_graph::{Conv2d, Layer, NetworkBuilder, Op, Shape};
use rramsim_hw::{ArchParams, load_arch_toml};
use rramsim_map::{CrossbarLayout, ReplicaPlacement, crossbar_layout};

fn isaac(spare_rows: u32, spare_cols: u32) -> ArchParams {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
    let mut a = load_arch_toml(path, &std::fs::read_to_string(path).unwrap()).unwrap().0;
    a.crossbar.spare_rows = spare_rows;
    a.crossbar.spare_cols = spare_cols;
    a
}

/// A 200-input, 20-output pointwise layer: 2 × 2 crossbars on ISAAC.
fn layer(arch: &ArchParams) -> (CrossbarLayout, Vec<i32>) {
    let mut b = NetworkBuilder::new("t");
    b.push(Layer::new("input", Op::Input { shape: Shape::new(200, 1, 1) }, &[]));
    b.push(Layer::new("c", Op::Conv2d(Conv2d::pointwise(20, false)), &["input"]));
    let net = b.build().unwrap();
    let layout = crossbar_layout(&net, arch, net.find("c").unwrap()).unwrap();
    // Mostly small weights with a few large ones, as trained layers have.
    let q = (0..20 * 200).map(|i: i32| if i % 37 == 0 { (i % 30000) - 15000 } else { i % 301 - 150 }).collect();
    (layout, q)
}

fn map(arch: &ArchParams, rate: f64, sa1: f64, distribution: Distribution, seed: u64) -> FaultMap {
    generate(Geometry::of(arch), 1, GenParams { rate, sa1_fraction: sa1, distribution, seed }).unwrap()
}

const REPLICA: ReplicaPlacement = ReplicaPlacement { first_pe: 0, pes: 1, first_crossbar: 0 };

#[test]
fn remapping_never_increases_the_objective_and_bounds_the_weight_error() {
    let mut strictly_better = 0;
    for (spare_rows, spare_cols) in [(0, 0), (8, 0), (8, 8)] {
        let arch = isaac(spare_rows, spare_cols);
        let (layout, q) = layer(&arch);
        let codec = WeightCodec::new(&arch);
        for seed in 0..4 {
            for model in [FaultModel::Cell, FaultModel::WeightZero] {
                let m = map(&arch, 0.01, 0.3, Distribution::Uniform, seed);
                let mut buf = m.buffer();
                let mut out = Vec::new();
                let mut scratch = Default::default();
                let (_, base) =
                    remap_replica(&codec, &layout, &REPLICA, &m, model, RemapMode::None, &q, &mut buf, &mut scratch)
                        .unwrap();
                assert_eq!(base.identity_cost, base.remapped_cost);
                for mode in [RemapMode::Rows, RemapMode::RowsCols] {
                    let (remap, s) =
                        remap_replica(&codec, &layout, &REPLICA, &m, model, mode, &q, &mut buf, &mut scratch).unwrap();
                    assert_eq!(s.identity_cost, base.identity_cost);
                    assert!(s.remapped_cost <= s.identity_cost, "{mode:?} {model:?} seed {seed}");
                    if s.remapped_cost < s.identity_cost {
                        strictly_better += 1;
                    }
                    effective_weights_remapped(
                        &codec,
                        &layout,
                        &REPLICA,
                        &m,
                        model,
                        Some(&remap),
                        &q,
                        &mut buf,
                        &mut out,
                    )
                    .unwrap();
                    // Σ |Δw| over weights ≤ Σ over faulty cells of |Δ| (faults of one weight may cancel).
                    let err: u64 =
                        q.iter().zip(&out).map(|(a, b)| (i64::from(*a) - i64::from(*b)).unsigned_abs()).sum();
                    if model == FaultModel::Cell {
                        assert!(err <= s.remapped_cost, "{err} > {}", s.remapped_cost);
                    }
                    // Every crossbar's placement is a partial permutation.
                    for x in &remap.xbars {
                        for (v, n) in [(&x.row_of_phys, codec.rows), (&x.col_of_phys, codec.cols)] {
                            if v.is_empty() {
                                continue;
                            }
                            let mut seen: Vec<u32> = v.iter().copied().filter(|&l| l != u32::MAX).collect();
                            seen.sort_unstable();
                            assert_eq!(seen, (0..n).collect::<Vec<_>>());
                        }
                    }
                }
            }
        }
    }
    assert!(strictly_better > 0, "remapping never helped");
}

/// With at least as many spare rows as faulty rows in every crossbar, a row
/// remap moves every fault off the array: the weights are the fault-free ones.
#[test]
fn enough_spare_rows_give_the_fault_free_weights() {
    let arch = isaac(6, 0);
    let (layout, q) = layer(&arch);
    let codec = WeightCodec::new(&arch);
    let g = Geometry::of(&arch);
    assert_eq!((g.rows, g.cols), (134, 128));
    for (seed, sa1) in [(1u64, false), (2, false), (3, true)] {
        // Six faulty rows per crossbar (several faults each), SA0 only unless `sa1`.
        let mut lists = vec![Vec::new(); g.crossbars_per_chip()];
        for (x, list) in lists.iter_mut().enumerate().take(4) {
            for k in 0..6u32 {
                let row = (seed as u32 * 17 + x as u32 * 29 + k * 21) % 134;
                for c in [k, 40 + k, 100 + 3 * k] {
                    list.push((row * 128 + c, sa1));
                }
            }
            list.sort_unstable();
            list.dedup_by_key(|(c, _)| *c);
        }
        let m = FaultMap::from_lists(g, Origin::Imported, &lists);
        let (mut buf, mut out, mut scratch) = (m.buffer(), Vec::new(), Default::default());
        let (none, _) =
            remap_replica(&codec, &layout, &REPLICA, &m, FaultModel::Cell, RemapMode::None, &q, &mut buf, &mut scratch)
                .unwrap();
        effective_weights_remapped(
            &codec,
            &layout,
            &REPLICA,
            &m,
            FaultModel::Cell,
            Some(&none),
            &q,
            &mut buf,
            &mut out,
        )
        .unwrap();
        assert_ne!(out, q, "the identity placement keeps some faults");
        let (rows, s) =
            remap_replica(&codec, &layout, &REPLICA, &m, FaultModel::Cell, RemapMode::Rows, &q, &mut buf, &mut scratch)
                .unwrap();
        assert_eq!(s.remapped_cost, 0);
        effective_weights_remapped(
            &codec,
            &layout,
            &REPLICA,
            &m,
            FaultModel::Cell,
            Some(&rows),
            &q,
            &mut buf,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, q);
    }
}

#[test]
fn remapping_is_deterministic() {
    let arch = isaac(4, 4);
    let (layout, q) = layer(&arch);
    let codec = WeightCodec::new(&arch);
    let m = map(&arch, 0.02, 0.5, Distribution::Clustered, 9);
    let run = || {
        let (mut buf, mut scratch) = (m.buffer(), Default::default());
        remap_replica(&codec, &layout, &REPLICA, &m, FaultModel::Cell, RemapMode::RowsCols, &q, &mut buf, &mut scratch)
            .unwrap()
    };
    assert_eq!(run(), run());
}
