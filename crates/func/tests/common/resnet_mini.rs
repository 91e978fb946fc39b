//! resnet-mini — the structure `rramsim train --model resnet-mini` builds, for
//! 1 × 28 × 28 Fashion-MNIST images — with seeded random weights: shared by the
//! device benchmark and the throughput-path lock test.

use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rramsim_graph::{
    Activation, BatchNorm, Conv2d, Layer, Linear, Network, NetworkBuilder, Op, Padding, Params, Shape,
};

/// resnet-mini with weights ~ U(−1, 1)/√fan-in and identity batch norms.
pub fn resnet_mini(rng: &mut Pcg64Mcg) -> Network {
    let mut uniform = move || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
    let mut b = NetworkBuilder::new("resnet-mini");
    let mut push = |name: &str, op: Op, inputs: &[&str], fan: Option<(usize, usize)>| {
        let mut layer = Layer::new(name, op, inputs);
        layer.params = match (&layer.op, fan) {
            (Op::BatchNorm(_), Some((c, _))) => Some(Params::BatchNorm {
                gamma: vec![1.0; c],
                beta: vec![0.0; c],
                mean: vec![0.0; c],
                var: vec![1.0; c],
            }),
            (_, Some((out, fan_in))) => Some(Params::Dense {
                weight: (0..out * fan_in).map(|_| uniform() / (fan_in as f32).sqrt()).collect(),
                bias: matches!(layer.op, Op::Linear(_)).then(|| vec![0.0; out]),
            }),
            _ => None,
        };
        b.push(layer);
        name.to_owned()
    };
    let conv = |out: usize, k: usize, stride: usize| {
        Op::Conv2d(Conv2d {
            out_channels: out,
            kernel: [k, k],
            stride: [stride, stride],
            padding: Padding::uniform(k / 2),
            dilation: [1, 1],
            groups: 1,
            bias: false,
        })
    };
    let bn = || Op::BatchNorm(BatchNorm { eps: 1e-5 });
    let relu = || Op::Activation(Activation::Relu);
    push("input", Op::Input { shape: Shape::new(1, 28, 28) }, &[], None);
    push("stem", conv(16, 3, 2), &["input"], Some((16, 9)));
    push("stem.bn", bn(), &["stem"], Some((16, 0)));
    let mut x = push("stem.relu", relu(), &["stem.bn"], None);
    for (i, (cin, cout, stride)) in [(16, 16, 1), (16, 32, 2), (32, 64, 2)].into_iter().enumerate() {
        let p = format!("block{}", i + 1);
        let n = |s: &str| format!("{p}.{s}");
        push(&n("conv1"), conv(cout, 3, stride), &[&x], Some((cout, cin * 9)));
        push(&n("bn1"), bn(), &[&n("conv1")], Some((cout, 0)));
        push(&n("relu1"), relu(), &[&n("bn1")], None);
        push(&n("conv2"), conv(cout, 3, 1), &[&n("relu1")], Some((cout, cout * 9)));
        push(&n("bn2"), bn(), &[&n("conv2")], Some((cout, 0)));
        let shortcut = if cin != cout || stride != 1 {
            push(&n("shortcut"), conv(cout, 1, stride), &[&x], Some((cout, cin)));
            push(&n("shortcut.bn"), bn(), &[&n("shortcut")], Some((cout, 0)))
        } else {
            x.clone()
        };
        push(&n("add"), Op::Add, &[&n("bn2"), &shortcut], None);
        x = push(&n("relu2"), relu(), &[&n("add")], None);
    }
    push("pool", Op::GlobalAvgPool, &[&x], None);
    push("fc", Op::Linear(Linear { out_features: 10, bias: true }), &["pool"], Some((10, 64)));
    b.build().expect("resnet-mini builds")
}
