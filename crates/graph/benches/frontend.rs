//! Frontend benchmarks: parse + validate + shape-infer ImageNet ResNet-50 from its
//! workload TOML, and import the ONNX ResNet-20 fixture (decode, fold BN, infer).
//!
//! `cargo bench -p rramsim-graph --bench frontend`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn frontend(c: &mut Criterion) {
    let resnet50 = std::fs::read_to_string(repo_file("workloads/resnet50.toml")).expect("workloads/resnet50.toml");
    c.bench_function("load_toml_resnet50", |b| {
        b.iter(|| {
            let net = rramsim_graph::load_workload_toml("resnet50.toml", black_box(&resnet50)).expect("valid");
            black_box(net.total_stats())
        })
    });
    let onnx = std::fs::read(repo_file("tests/fixtures/onnx/resnet20.onnx")).expect("resnet20.onnx fixture");
    c.bench_function("import_onnx_resnet20", |b| {
        b.iter(|| {
            let net = rramsim_graph::import_onnx("resnet20.onnx", black_box(&onnx)).expect("valid");
            black_box(net.total_stats())
        })
    });
}

criterion_group!(benches, frontend);
criterion_main!(benches);
