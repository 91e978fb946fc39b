//! Tracing overhead: map + simulate CIFAR ResNet-20 on ISAAC untraced, and with
//! a full (unfiltered) streaming trace written to a file. Target: traced < 2×
//! untraced. Prints the events and bytes each traced run writes.
//!
//! `cargo bench -p rramsim-trace --bench trace`
//!
//! Peak memory while tracing ResNet-50 is measured on the CLI:
//! `/usr/bin/time -v target/release/rramsim run --arch isaac --workload resnet50 --trace r50.rtrace`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rramsim_engine::{SimOptions, simulate, simulate_with};
use rramsim_graph::{fold_batchnorm, zoo};
use rramsim_hw::load_arch_toml;
use rramsim_map::{MappingOptions, Replication, map_network};
use rramsim_trace::{Filter, Header, TraceWriter};

fn tracing(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
    let arch = load_arch_toml("isaac.toml", &std::fs::read_to_string(path).expect("isaac preset")).expect("valid").0;
    let net = fold_batchnorm(&zoo("resnet20").expect("zoo")).expect("folds");
    let options = MappingOptions::rram(Replication::Balanced);
    let header = Header {
        simulator_version: "bench".into(),
        config_hash: 0,
        seed: None,
        clock_ghz: arch.clock.ghz(),
        arch: arch.name.clone(),
        workload: "resnet20".into(),
        batch: 1,
        offload: "all-rram".into(),
        layers: net
            .ids()
            .map(|id| rramsim_trace::LayerInfo {
                name: net.layer(id).name.clone(),
                op: String::new(),
                target: String::new(),
            })
            .collect(),
        actions: vec![],
        components: vec![],
        filter: String::new(),
    };
    let out = std::env::temp_dir().join(format!("rramsim-bench-{}.rtrace", std::process::id()));
    let mut group = c.benchmark_group("trace_resnet20_isaac");
    group.sample_size(20);
    group.bench_function("untraced", |b| {
        b.iter(|| {
            let mapping = map_network(&net, &arch, &options).expect("fits");
            black_box(simulate(&net, &arch, &mapping, SimOptions { batch: 1 }).total_cycles)
        })
    });
    group.bench_function("traced", |b| {
        b.iter(|| {
            let mapping = map_network(&net, &arch, &options).expect("fits");
            let mut w = TraceWriter::create(&out, &header, Filter::default()).expect("writable");
            let r = simulate_with(&net, &arch, &mapping, SimOptions { batch: 1 }, &mut w);
            black_box(w.finish(&[]).expect("written"));
            black_box(r.total_cycles)
        })
    });
    group.finish();
    eprintln!("full trace: {} bytes", std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0));
    let _ = std::fs::remove_file(&out);
}

criterion_group!(benches, tracing);
criterion_main!(benches);
