//! Mapping invariants (property tests) and the does-not-fit error.

use proptest::prelude::*;
use rramsim_graph::{Conv2d, Layer, Linear, Network, NetworkBuilder, Op, Padding, Shape, fold_batchnorm, zoo};
use rramsim_hw::{ArchParams, NocTopology, load_arch_toml};
use rramsim_map::{
    MapError, Mapping, MappingOptions, Placement, Replication, ReplicationBudget, crossbar_layout, map_network,
};

fn preset(name: &str) -> ArchParams {
    let path = format!("{}/../../arch-configs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    load_arch_toml(&path, &std::fs::read_to_string(&path).unwrap()).unwrap().0
}

fn conv_net(cin: usize, hw: usize, cout: usize, k: usize, groups: usize) -> Network {
    let mut b = NetworkBuilder::new("p");
    b.push(Layer::new("input", Op::Input { shape: Shape::new(cin, hw, hw) }, &[]));
    let conv = Conv2d {
        out_channels: cout,
        kernel: [k, k],
        stride: [1, 1],
        padding: Padding::uniform(k / 2),
        dilation: [1, 1],
        groups,
        bias: false,
    };
    b.push(Layer::new("c", Op::Conv2d(conv), &["input"]));
    b.build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every weight cell has a crossbar cell; the step counts cover exactly the
    /// used rows and columns; utilization is a fraction.
    #[test]
    fn layouts_hold_every_weight(
        cin_per_group in 1usize..300,
        groups in 1usize..5,
        cout_per_group in 1usize..200,
        k in prop::sample::select(vec![1usize, 3, 5]),
        arch_name in prop::sample::select(vec!["isaac", "neurosim-8b"]),
    ) {
        let arch = preset(arch_name);
        let net = conv_net(cin_per_group * groups, 4, cout_per_group * groups, k, groups);
        let l = crossbar_layout(&net, &arch, net.find("c").unwrap()).unwrap();
        let cpw = u64::from(arch.columns_per_weight());
        let cells_needed = (cin_per_group * k * k * cout_per_group * groups) as u64 * cpw;
        let cells = u64::from(l.crossbars) * u64::from(arch.crossbar.rows) * u64::from(arch.crossbar.cols);
        prop_assert!(cells >= cells_needed);
        prop_assert!(l.utilization > 0.0 && l.utilization <= 1.0);
        prop_assert!(l.max_rows <= arch.crossbar.rows && l.max_cols <= arch.crossbar.cols);
        // Each weight row is driven once per column tile, each weight column read once per row tile.
        prop_assert!(l.rows_driven >= (cin_per_group * k * k * groups) as u64);
        prop_assert!(l.cols_converted >= (cout_per_group * groups) as u64 * cpw);
        prop_assert!(l.rows_driven <= u64::from(l.crossbars) * u64::from(arch.crossbar.rows));
        prop_assert!(l.cols_converted <= u64::from(l.crossbars) * u64::from(arch.crossbar.cols));
    }
}

/// Checks the invariants of a mapping: every replica holds its layer's whole
/// crossbar footprint, once; no crossbar holds two replicas; everything is
/// inside the budget; a layer whose replicas fit easily in one chip is on one;
/// the counts add up.
fn check_mapping(net: &Network, arch: &ArchParams, options: &MappingOptions, m: &Mapping) {
    let per_pe = u64::from(arch.pe.crossbars);
    let per_tile = per_pe * u64::from(arch.tile.pes);
    let per_chip = per_tile * u64::from(arch.tiles_per_chip);
    let chips = options.budget.chips.unwrap_or(arch.node.chips);
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut crossbars = 0u64;
    let total: u64 = net
        .ids()
        .filter_map(|id| match &m.layer(id).placement {
            Placement::Crossbars { layout, replicas } => Some(u64::from(layout.crossbars) * replicas.len() as u64),
            _ => None,
        })
        .sum();
    for id in net.ids() {
        let Placement::Crossbars { layout, replicas } = &m.layer(id).placement else { continue };
        let n = replicas.len() as u32;
        assert!(n >= 1);
        assert!(u64::from(n) <= m.layer(id).pixels);
        if options.replication == Replication::None {
            assert_eq!(n, 1);
        }
        if let Some(max) = options.budget.max_replicas {
            assert!(n <= max, "{n} replicas > max {max}");
        }
        let size = u64::from(layout.crossbars);
        crossbars += size * u64::from(n);
        for r in replicas {
            // The replica's crossbars are [first, first + size): its PEs and tiles follow.
            assert_eq!(u64::from(r.first_pe), r.first_crossbar / per_pe);
            assert_eq!(u64::from(r.first_pe + r.pes - 1), (r.first_crossbar + size - 1) / per_pe);
            // At most one tile more than its size needs (tile alignment is
            // given up before replicas are).
            let (a, b) = r.tiles(arch);
            assert!(u64::from(b - a) <= size.div_ceil(per_tile), "a replica of {size} crossbars spans {a}..={b}");
            spans.push((r.first_crossbar, r.first_crossbar + size));
        }
        // A layer that fits easily in a chip is on one, unless the network had
        // to be packed: strict placement leaves less than half a chip free per
        // chip boundary, so it always fits when the copy takes at most half the
        // budget (beyond that `map_network` may fall back to packing).
        if 2 * size * u64::from(n) <= per_chip && 2 * total <= per_chip * u64::from(chips) {
            assert_eq!(m.layer_chips(arch, id).len(), 1, "{}: split across chips", net.layer(id).name);
        }
    }
    assert_eq!(m.crossbars_used, crossbars);
    check_locality(net, arch, m);
    spans.sort_unstable();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping crossbars {w:?}");
    }
    if let Some(last) = spans.last() {
        assert!(last.1 <= per_chip * u64::from(chips), "past the chip budget");
        assert!(u64::from(m.chips_used) <= u64::from(chips));
        assert!(u64::from(m.pes_used) * per_pe >= crossbars);
    }
}

/// The crossbar layer (looking through views and fused activations) whose
/// replicas an ALU layer reading `id` follows.
fn crossbar_producer(net: &Network, m: &Mapping, mut id: rramsim_graph::LayerId) -> Option<rramsim_graph::LayerId> {
    loop {
        match &m.layer(id).placement {
            Placement::Crossbars { .. } | Placement::Alu { .. } => return Some(id),
            Placement::View { .. } | Placement::Fused { .. } => id = *net.inputs(id).first()?,
            Placement::Input { .. } | Placement::Digital { .. } => return None,
        }
    }
}

/// Locality: layers follow each other along the tile order (which runs along
/// the mesh's serpentine curve), so a crossbar layer starts on the tile where
/// the previous crossbar layer ends or the next one (same chip: at most one
/// router hop away), or on a later chip; ALU layers run on their producer's
/// replica tiles (one per replica, home tile first) and report their chips.
fn check_locality(net: &Network, arch: &ArchParams, m: &Mapping) {
    let mut prev_last: Option<u32> = None;
    for id in net.ids() {
        match &m.layer(id).placement {
            Placement::Crossbars { replicas, .. } => {
                let first = replicas[0].tiles(arch).0;
                let last = replicas.iter().map(|r| r.tiles(arch).1).max().unwrap();
                for w in replicas.windows(2) {
                    assert!(w[0].first_crossbar < w[1].first_crossbar, "replicas out of order");
                }
                if let Some(p) = prev_last {
                    assert!(first >= p, "{} placed before its predecessor", net.layer(id).name);
                    if first / arch.tiles_per_chip == p / arch.tiles_per_chip {
                        assert!(first - p <= 1, "{}: a gap of {} tiles", net.layer(id).name, first - p);
                        let c = match arch.noc.topology {
                            NocTopology::Mesh { concentration, .. } => concentration,
                            NocTopology::Bus => 1,
                        };
                        let (a, b) = ((p % arch.tiles_per_chip) / c, (first % arch.tiles_per_chip) / c);
                        assert!(arch.noc.topology.hops(a, b) <= 1, "{}: {a} -> {b}", net.layer(id).name);
                    }
                }
                prev_last = Some(last);
            }
            Placement::Alu { tile, spread } => {
                assert_eq!(spread.first(), Some(tile));
                let producer = crossbar_producer(net, m, net.inputs(id)[0]);
                match producer.map(|p| &m.layer(p).placement) {
                    Some(Placement::Crossbars { replicas, .. }) => {
                        let homes: Vec<u32> = replicas.iter().map(|r| r.tiles(arch).0).collect();
                        assert_eq!(spread, &homes, "{}", net.layer(id).name);
                    }
                    Some(Placement::Alu { spread: s, .. }) => assert_eq!(spread, s),
                    _ => assert_eq!(spread, &vec![*tile]),
                }
                let mut chips: Vec<u32> = spread.iter().map(|t| t / arch.tiles_per_chip).collect();
                chips.sort_unstable();
                chips.dedup();
                assert_eq!(m.layer_chips(arch, id), chips);
                let mut tiles = spread.clone();
                tiles.sort_unstable();
                tiles.dedup();
                assert_eq!(m.layer_tiles(arch, id), tiles);
            }
            _ => {}
        }
    }
}

/// Σ over producer → consumer edges of the router hops from the producer's
/// home tile to each distinct tile of the consumer on the same chip, with
/// routers at `xy`.
fn edge_hops(net: &Network, arch: &ArchParams, m: &Mapping, xy: impl Fn(u32) -> (u32, u32)) -> u64 {
    let NocTopology::Mesh { concentration, .. } = arch.noc.topology else { panic!("a mesh") };
    let router = |t: u32| (t % arch.tiles_per_chip) / concentration;
    let mut total = 0u64;
    for id in net.ids() {
        for &p in net.inputs(id) {
            let src = m.home_tile(arch, p);
            for dst in m.layer_tiles(arch, id) {
                if src / arch.tiles_per_chip == dst / arch.tiles_per_chip {
                    let ((ax, ay), (bx, by)) = (xy(router(src)), xy(router(dst)));
                    total += u64::from(ax.abs_diff(bx) + ay.abs_diff(by));
                }
            }
        }
    }
    total
}

/// The serpentine numbering of routers puts consecutive layers on adjacent
/// routers: on ResNet-20 over ISAAC's 7x6 mesh the producer → consumer hops
/// fall against the row-major numbering the simulator used before.
#[test]
fn serpentine_routers_shorten_producer_consumer_routes() {
    let arch = preset("isaac");
    let NocTopology::Mesh { width, .. } = arch.noc.topology else { panic!("ISAAC has a mesh") };
    let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    let m = map_network(&net, &arch, &MappingOptions::rram(Replication::Balanced)).unwrap();
    let serpentine = edge_hops(&net, &arch, &m, |r| NocTopology::router_xy(width, r));
    let row_major = edge_hops(&net, &arch, &m, |r| (r % width, r / width));
    eprintln!("producer -> consumer hops: serpentine {serpentine}, row-major {row_major}");
    assert!(serpentine * 20 < row_major * 19, "serpentine {serpentine} vs row-major {row_major} hops");
    // Consecutive routers are neighbours along the whole mesh.
    let routers = arch.routers_per_chip();
    for r in 1..routers {
        assert_eq!(arch.noc.topology.hops(r - 1, r), 1);
        let (x, y) = NocTopology::router_xy(width, r);
        assert_eq!(NocTopology::router_at(width, x, y), r);
    }
}

#[test]
fn zoo_mappings_keep_the_invariants() {
    for arch_name in ["isaac", "neurosim-8b"] {
        let arch = preset(arch_name);
        for name in ["resnet20", "mobilenetv2", "resnet50"] {
            let net = fold_batchnorm(&zoo(name).unwrap()).unwrap();
            for replication in [Replication::None, Replication::Balanced] {
                let options = MappingOptions::rram(replication);
                let m = map_network(&net, &arch, &options).unwrap();
                check_mapping(&net, &arch, &options, &m);
                // Deterministic.
                assert_eq!(m, map_network(&net, &arch, &options).unwrap());
            }
        }
    }
}

#[test]
fn balanced_replication_fills_the_budget_at_crossbar_granularity() {
    let arch = preset("isaac");
    let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    let one = map_network(&net, &arch, &MappingOptions::rram(Replication::None)).unwrap();
    let node = ReplicationBudget { chips: Some(arch.node.chips), max_replicas: None };
    let all = map_network(&net, &arch, &MappingOptions { budget: node, ..MappingOptions::rram(Replication::Balanced) })
        .unwrap();
    let budget = ReplicationBudget { chips: Some(1), max_replicas: None };
    let chip =
        map_network(&net, &arch, &MappingOptions { budget, ..MappingOptions::rram(Replication::Balanced) }).unwrap();
    let capped = ReplicationBudget { chips: None, max_replicas: Some(4) };
    let four =
        map_network(&net, &arch, &MappingOptions { budget: capped, ..MappingOptions::rram(Replication::Balanced) })
            .unwrap();
    assert_eq!(chip.chips_used, 1);
    assert!(all.crossbars_used > chip.crossbars_used && chip.crossbars_used > one.crossbars_used);
    assert!(four.crossbars_used <= 4 * one.crossbars_used);
    // Crossbar granularity: almost every crossbar of the PEs in use holds weights.
    assert!(arch.pe.crossbars > 1 && rramsim_map::crossbar_granular(&arch));
    let allocated = u64::from(chip.pes_used) * u64::from(arch.pe.crossbars);
    assert!(chip.crossbars_used as f64 >= 0.95 * allocated as f64, "{} of {allocated}", chip.crossbars_used);
}

#[test]
fn bad_budgets_are_errors() {
    let arch = preset("isaac");
    let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    let vgg = fold_batchnorm(&zoo("vgg16").unwrap()).unwrap();
    let with = |chips, max_replicas| MappingOptions {
        budget: ReplicationBudget { chips, max_replicas },
        ..MappingOptions::rram(Replication::Balanced)
    };
    for (net, options) in [(&net, with(Some(0), None)), (&net, with(None, Some(0))), (&net, with(Some(9), None))] {
        let err = map_network(net, &arch, &options).unwrap_err();
        assert!(matches!(err, MapError::BadBudget(_)), "{err}");
        assert!(err.to_string().contains("budget"), "{err}");
    }
    // VGG-16 needs more than one chip of ISAAC.
    let err = map_network(&vgg, &arch, &with(Some(1), None)).unwrap_err();
    assert!(matches!(err, MapError::DoesNotFit { available_chips: 1, .. }), "{err}");
}

/// A chain of convolutions (and a final linear layer) with random shapes.
fn random_chain(cin: usize, hw: usize, layers: &[(usize, usize)]) -> Network {
    let mut b = NetworkBuilder::new("chain");
    b.push(Layer::new("input", Op::Input { shape: Shape::new(cin, hw, hw) }, &[]));
    let mut prev = "input".to_string();
    for (i, &(cout, k)) in layers.iter().enumerate() {
        let conv = Conv2d {
            out_channels: cout,
            kernel: [k, k],
            stride: [1, 1],
            padding: Padding::uniform(k / 2),
            dilation: [1, 1],
            groups: 1,
            bias: false,
        };
        let name = format!("c{i}");
        b.push(Layer::new(name.as_str(), Op::Conv2d(conv), &[prev.as_str()]));
        prev = name;
    }
    b.push(Layer::new("flat", Op::Flatten, &[prev.as_str()]));
    b.push(Layer::new("fc", Op::Linear(Linear { out_features: 10, bias: false }), &["flat"]));
    b.build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On small chips (so that layers meet chip boundaries), with any budget:
    /// the invariants of `check_mapping`, and determinism.
    #[test]
    fn mappings_keep_the_invariants(
        cin in 1usize..64,
        hw in 1usize..9,
        layers in prop::collection::vec((1usize..400, prop::sample::select(vec![1usize, 3])), 1..7),
        tiles_per_chip in 1u32..6,
        chips in 1u32..5,
        budget_chips in prop::option::of(1u32..5),
        max_replicas in prop::option::of(1u32..20),
        balanced in any::<bool>(),
        arch_name in prop::sample::select(vec!["isaac", "neurosim-8b"]),
    ) {
        let mut arch = preset(arch_name);
        arch.tiles_per_chip = tiles_per_chip;
        arch.node.chips = chips;
        let net = random_chain(cin, hw, &layers);
        let replication = if balanced { Replication::Balanced } else { Replication::None };
        let budget = ReplicationBudget { chips: budget_chips, max_replicas };
        let options = MappingOptions { budget, ..MappingOptions::rram(replication) };
        match map_network(&net, &arch, &options) {
            Ok(m) => {
                check_mapping(&net, &arch, &options, &m);
                prop_assert_eq!(&m, &map_network(&net, &arch, &options).unwrap());
                // The unreplicated mapping uses no more crossbars.
                let one = map_network(&net, &arch, &MappingOptions { budget, ..MappingOptions::rram(Replication::None) })
                    .unwrap();
                prop_assert!(one.crossbars_used <= m.crossbars_used);
            }
            Err(MapError::BadBudget(_)) => prop_assert!(budget_chips.is_some_and(|c| c > chips)),
            Err(MapError::DoesNotFit { needed_crossbars, available_crossbars, .. }) => {
                prop_assert!(needed_crossbars > available_crossbars);
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

#[test]
fn depthwise_groups_are_packed_block_diagonally() {
    let arch = preset("isaac");
    let net = conv_net(64, 8, 64, 3, 64);
    let l = crossbar_layout(&net, &arch, net.find("c").unwrap()).unwrap();
    // 9 rows and 1 weight (8 columns) per group: min(128/9, 16/1) = 14 groups per crossbar.
    assert_eq!(l.groups_per_crossbar, 14);
    assert_eq!(l.crossbars, 5); // ceil(64 / 14)
    assert!(l.utilization < 0.1, "depthwise maps poorly: {}", l.utilization);
}

#[test]
fn a_network_too_large_is_an_error_with_counts() {
    let mut arch = preset("isaac");
    arch.node.chips = 1;
    let net = fold_batchnorm(&zoo("vgg16").unwrap()).unwrap();
    let err = map_network(&net, &arch, &MappingOptions::rram(Replication::None)).unwrap_err();
    let MapError::DoesNotFit { needed_crossbars, needed_chips, available_chips, available_crossbars, .. } = err.clone()
    else {
        panic!("{err}")
    };
    assert_eq!(available_chips, 1);
    assert_eq!(available_crossbars, 16_128);
    assert!(needed_crossbars > available_crossbars && needed_chips >= 5, "{err}");
    let text = err.to_string();
    assert!(text.contains("does not fit") && text.contains(&needed_crossbars.to_string()), "{text}");
}
