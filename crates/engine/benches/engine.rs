//! Engine benchmarks on the ISAAC preset, batch 1: mapping + cycle-level
//! simulation of ImageNet ResNet-50 (target < 1 s on one core) and CIFAR
//! ResNet-20 (target < 50 ms). Prints the events each run processes, so events
//! per second follow from the reported times.
//!
//! `cargo bench -p rramsim-engine --bench engine`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rramsim_engine::{SimOptions, simulate};
use rramsim_graph::{fold_batchnorm, zoo};
use rramsim_hw::load_arch_toml;
use rramsim_map::{MappingOptions, Replication, map_network};

fn engine(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
    let arch = load_arch_toml("isaac.toml", &std::fs::read_to_string(path).expect("isaac preset")).expect("valid").0;
    let mut group = c.benchmark_group("simulate_isaac");
    group.sample_size(10);
    for name in ["resnet20", "resnet50"] {
        let net = fold_batchnorm(&zoo(name).expect("zoo")).expect("folds");
        let options = MappingOptions::rram(Replication::Balanced);
        let mapping = map_network(&net, &arch, &options).expect("fits");
        let events = simulate(&net, &arch, &mapping, SimOptions { batch: 1 }).events;
        eprintln!("{name}: {events} events per run");
        group.bench_function(name, |b| {
            b.iter(|| {
                let mapping = map_network(&net, &arch, &options).expect("fits");
                black_box(simulate(&net, &arch, &mapping, SimOptions { batch: 1 }).total_cycles)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
