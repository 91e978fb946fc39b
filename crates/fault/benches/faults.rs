//! Fault-map benchmarks: generate maps for 16,384 crossbars of 128x128 at 10 %
//! (target < 1 s), load that map from its bytes (< 0.2 s), and compute the
//! effective weights of every layer of ResNet-50 on the ISAAC preset (< 1 s).
//! Also prints the file size of the sparse and dense encodings at several rates.
//!
//! `cargo bench -p rramsim-fault --bench faults`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rramsim_fault::{
    Distribution, FaultModel, GenParams, Geometry, WeightCodec, effective_weights, generate, quantize, storage,
    synthetic_weights,
};
use rramsim_graph::{fold_batchnorm, zoo};
use rramsim_hw::load_arch_toml;
use rramsim_map::{MappingOptions, Placement, Replication, map_network};

fn faults(c: &mut Criterion) {
    let geometry =
        Geometry { chips: 1, tiles_per_chip: 128, pes_per_tile: 16, crossbars_per_pe: 8, rows: 128, cols: 128 };
    let params = GenParams { rate: 0.1, sa1_fraction: 0.5, distribution: Distribution::Uniform, seed: 7 };
    for rate in [0.001, 0.01, 0.1, 0.3] {
        let map = generate(geometry, 1, GenParams { rate, ..params }).expect("valid");
        let (sparse, dense) = map.encodings();
        let dense_only = geometry.crossbars_per_chip() * (1 + geometry.cells_per_crossbar() / 4);
        eprintln!(
            "rate {rate}: {} bytes encoded ({sparse} sparse, {dense} dense records); all-dense would be {dense_only}",
            map.encoded_bytes()
        );
    }
    let mut group = c.benchmark_group("faults");
    group.sample_size(10);
    group.bench_function("generate_16384x128x128_at_10pct", |b| {
        b.iter(|| black_box(generate(geometry, 1, params).expect("valid")))
    });
    let bytes = storage::to_bytes(&generate(geometry, 1, params).expect("valid"));
    eprintln!("file: {} bytes", bytes.len());
    group.bench_function("load_16384x128x128_at_10pct", |b| {
        b.iter(|| black_box(storage::from_bytes(&bytes).expect("valid")))
    });

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
    let arch = load_arch_toml(path, &std::fs::read_to_string(path).expect("preset")).expect("valid").0;
    let net = fold_batchnorm(&zoo("resnet50").expect("zoo")).expect("folds");
    let mapping = map_network(&net, &arch, &MappingOptions::rram(Replication::None)).expect("fits");
    let map = generate(Geometry::of(&arch), 1, params).expect("valid");
    let codec = WeightCodec::new(&arch);
    let layers: Vec<_> = net
        .ids()
        .filter_map(|id| match &mapping.layer(id).placement {
            Placement::Crossbars { layout, replicas } => {
                let w = synthetic_weights(1, id, net.stats(id).weights as usize, layout.rows_per_group as usize);
                Some((layout.clone(), replicas[0], quantize(&w, arch.weight_bits).0))
            }
            _ => None,
        })
        .collect();
    let weights: usize = layers.iter().map(|(_, _, q)| q.len()).sum();
    eprintln!("resnet50: {} layers, {weights} weights", layers.len());
    group.bench_function("effective_weights_resnet50_isaac", |b| {
        let mut buf = map.buffer();
        let mut out = Vec::new();
        b.iter(|| {
            for (layout, replica, q) in &layers {
                effective_weights(&codec, layout, replica, &map, FaultModel::Cell, q, &mut buf, &mut out)
                    .expect("covered");
                black_box(&out);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, faults);
criterion_main!(benches);
