//! Functional inference throughput (images/s) of resnet-mini — the structure
//! `rramsim train --model resnet-mini` builds, for 1 × 28 × 28 Fashion-MNIST
//! images — with seeded random weights, in one run:
//!
//! - neurosim-8b, one copy per layer: fault-free quantized (`--device off`),
//!   the fast device model (`approx`: folded conductances, the ADC on each row
//!   group's sum, read noise once per output) and the bit-exact periphery
//!   (`exact`, per input bit and weight slice through the 5-bit ADC), with 10 %
//!   programming variation, 5 % read noise, 1 Ω wire segments (IR drop) and
//!   the preset's on/off ratio. No drift: a day of it (ν = 0.1) leaves a third
//!   of each conductance, the offset encoding then reads every weight far
//!   below zero and the network's activations die after the first ReLU (the
//!   exact mode, which skips zero inputs, then measured almost no work).
//!   And `approx` once more without read noise (the read noise's own cost).
//! - ISAAC with balanced replication (one crossbar copy per output pixel of
//!   every conv: 196, 49, 16 replicas, each with its own device sample) and 10 %
//!   programming variation, no read noise: `rramsim eval --arch <isaac with
//!   program_sigma 0.1> --device off|approx`.
//!
//! `cargo bench -p rramsim-func --bench device`; criterion's `thrpt` line is
//! images per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rramsim_func::{DeviceOptions, Functional, HardwareOptions, hardware_weights};
use rramsim_hw::{ArchParams, load_arch_toml, preset};
use rramsim_map::{MappingOptions, Replication, map_network};

#[path = "../tests/common/resnet_mini.rs"]
mod resnet_mini;
use resnet_mini::resnet_mini;

/// Images per iteration (`DEVICE_BENCH_IMAGES` overrides).
fn images() -> usize {
    std::env::var("DEVICE_BENCH_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

fn run(c: &mut Criterion, group: &str, arch: &ArchParams, replication: Replication, modes: &[(&str, Option<bool>)]) {
    let mut rng = Pcg64Mcg::new(42);
    let net = resnet_mini(&mut rng);
    let mapping = map_network(&net, arch, &MappingOptions::rram(replication)).expect("fits");
    let count = images();
    let images: Vec<f32> = (0..count * 784).map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32).collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(count as u64)).sample_size(10);
    for &(name, exact) in modes {
        let device = exact.map(|exact| DeviceOptions { time_s: 1.0, seed: 1, exact });
        let (w, _) =
            hardware_weights(&net, arch, &mapping, None, HardwareOptions { adc_clip: false, device }).expect("weights");
        let f = Functional::with_weights(&net, w).expect("model");
        group.bench_function(name, |b| b.iter(|| f.accuracy(&images, &labels).expect("runs")));
    }
    group.finish();
}

fn device(c: &mut Criterion) {
    let (mut arch, _) = load_arch_toml("neurosim-8b", preset("neurosim-8b").expect("preset")).expect("valid");
    arch.device.program_sigma = vec![0.1];
    arch.device.read_sigma = 0.05;
    arch.device.wire_ohm = 1.0;
    let modes = [("off", None), ("approx", Some(false)), ("exact", Some(true))];
    run(c, "resnet-mini-neurosim-8b", &arch, Replication::None, &modes);
    arch.device.read_sigma = 0.0;
    run(c, "resnet-mini-neurosim-8b-no-read-noise", &arch, Replication::None, &modes[1..2]);
    let (mut arch, _) = load_arch_toml("isaac", preset("isaac").expect("preset")).expect("valid");
    arch.device.program_sigma = vec![0.1];
    run(c, "resnet-mini-isaac-balanced", &arch, Replication::Balanced, &modes[..2]);
}

criterion_group!(benches, device);
criterion_main!(benches);
