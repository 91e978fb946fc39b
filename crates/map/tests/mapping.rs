//! Mapping invariants (property tests) and the does-not-fit error.

use proptest::prelude::*;
use rramsim_graph::{Conv2d, Layer, Network, NetworkBuilder, Op, Padding, Shape, fold_batchnorm, zoo};
use rramsim_hw::{ArchParams, load_arch_toml};
use rramsim_map::{MapError, MappingOptions, Placement, Replication, crossbar_layout, map_network};

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

#[test]
fn replicas_occupy_disjoint_pes_inside_the_node() {
    for arch_name in ["isaac", "neurosim-8b"] {
        let arch = preset(arch_name);
        for name in ["resnet20", "mobilenetv2", "resnet50"] {
            let net = fold_batchnorm(&zoo(name).unwrap()).unwrap();
            for replication in [Replication::None, Replication::Balanced] {
                let m = map_network(&net, &arch, &MappingOptions::rram(replication)).unwrap();
                let mut spans: Vec<(u32, u32)> = Vec::new();
                for id in net.ids() {
                    if let Placement::Crossbars { layout, replicas } = &m.layer(id).placement {
                        assert!(!replicas.is_empty());
                        assert!(u64::from(replicas.len() as u32) <= m.layer(id).pixels);
                        for r in replicas {
                            assert!(r.pes * arch.pe.crossbars >= layout.crossbars);
                            spans.push((r.first_pe, r.first_pe + r.pes));
                        }
                    }
                }
                spans.sort_unstable();
                for w in spans.windows(2) {
                    assert!(w[0].1 <= w[1].0, "{name}: overlapping PEs {w:?}");
                }
                let pes_in_node = arch.tile.pes * arch.tiles_per_chip * arch.node.chips;
                assert!(spans.last().unwrap().1 <= pes_in_node);
                assert_eq!(m.pes_used, spans.last().unwrap().1);
                if replication == Replication::Balanced {
                    // Balancing stays within the chips one copy needs.
                    let one = map_network(&net, &arch, &MappingOptions::rram(Replication::None)).unwrap();
                    assert!(m.chips_used <= one.chips_used.max(1));
                }
            }
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
