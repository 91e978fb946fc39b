//! Integration tests of the graph frontend: shape inference, zoo sizes, transforms,
//! BatchNorm folding numerics, the workload format and ONNX import.

mod onnx_import;
mod workload_format;

use proptest::prelude::*;
use rramsim_graph::{
    Activation, BatchNorm, Conv2d, Layer, Linear, Network, NetworkBuilder, Op, Padding, Params, Pool, PoolKind, Shape,
    ZOO_NAMES, fold_batchnorm, projection_shortcuts, shortcut_kernel, widen, zoo,
};

fn conv(out: usize, k: usize, stride: usize, pad: usize) -> Conv2d {
    Conv2d {
        out_channels: out,
        kernel: [k, k],
        stride: [stride, stride],
        padding: Padding::uniform(pad),
        dilation: [1, 1],
        groups: 1,
        bias: false,
    }
}

fn input(c: usize, h: usize, w: usize) -> Layer {
    Layer::new("input", Op::Input { shape: Shape::new(c, h, w) }, &[])
}

fn build(layers: Vec<Layer>) -> Result<Network, rramsim_graph::GraphError> {
    let mut b = NetworkBuilder::new("t");
    for l in layers {
        b.push(l);
    }
    b.build()
}

fn shape_of(net: &Network, name: &str) -> Shape {
    net.output_shape(net.find(name).unwrap())
}

#[test]
fn conv_shapes_follow_pytorch_formula() {
    let dilated = Conv2d { dilation: [2, 2], ..conv(8, 3, 1, 2) };
    let grouped = Conv2d { groups: 4, ..conv(8, 3, 2, 1) };
    let asym = Conv2d { padding: Padding { top: 0, left: 1, bottom: 1, right: 0 }, ..conv(4, 2, 2, 0) };
    let net = build(vec![
        input(4, 15, 15),
        Layer::new("a", Op::Conv2d(conv(8, 3, 2, 1)), &["input"]),
        Layer::new("b", Op::Conv2d(dilated), &["input"]),
        Layer::new("c", Op::Conv2d(grouped), &["input"]),
        Layer::new("d", Op::Conv2d(asym), &["input"]),
        Layer::new(
            "e",
            Op::Conv2d(Conv2d { kernel: [1, 3], padding: Padding::symmetric(0, 1), ..conv(2, 1, 1, 0) }),
            &["input"],
        ),
    ])
    .unwrap();
    // floor((15 + 2 - 3) / 2) + 1 = 8
    assert_eq!(shape_of(&net, "a"), Shape::new(8, 8, 8));
    // dilation 2: span 5; (15 + 4 - 5) / 1 + 1 = 15
    assert_eq!(shape_of(&net, "b"), Shape::new(8, 15, 15));
    assert_eq!(shape_of(&net, "c"), Shape::new(8, 8, 8));
    // (15 + 1 - 2) / 2 + 1 = 8 in both dimensions
    assert_eq!(shape_of(&net, "d"), Shape::new(4, 8, 8));
    assert_eq!(shape_of(&net, "e"), Shape::new(2, 15, 15));
    // Grouped conv: weights = out · in/groups · k²; MACs = weights · H·W.
    let c = net.stats(net.find("c").unwrap());
    assert_eq!(c.weights, 8 * 9); // 8 outputs · (4 in / 4 groups) · 3²
    assert_eq!(c.macs, c.weights * 64);
}

#[test]
fn pool_shapes_with_ceil_mode_and_padding() {
    let pool = |kind, k, s, p, ceil_mode| {
        Op::Pool(Pool {
            kind,
            kernel: [k, k],
            stride: [s, s],
            padding: Padding::uniform(p),
            ceil_mode,
            count_include_pad: true,
        })
    };
    let net = build(vec![
        input(3, 16, 16),
        Layer::new("floor", pool(PoolKind::Max, 3, 2, 0, false), &["input"]),
        Layer::new("ceil", pool(PoolKind::Max, 3, 2, 0, true), &["input"]),
        Layer::new("padded", pool(PoolKind::Avg, 3, 2, 1, false), &["input"]),
        Layer::new("ceil_edge", pool(PoolKind::Max, 2, 2, 1, true), &["input"]),
        Layer::new("gap", Op::GlobalAvgPool, &["input"]),
    ])
    .unwrap();
    assert_eq!(shape_of(&net, "floor"), Shape::new(3, 7, 7));
    assert_eq!(shape_of(&net, "ceil"), Shape::new(3, 8, 8));
    assert_eq!(shape_of(&net, "padded"), Shape::new(3, 8, 8));
    // ceil((16 + 2 - 2) / 2) + 1 = 9, and the 9th window starts at 16 = size + pad_begin - 1 < 17: kept
    assert_eq!(shape_of(&net, "ceil_edge"), Shape::new(3, 9, 9));
    assert_eq!(shape_of(&net, "gap"), Shape::new(3, 1, 1));
}

#[test]
fn concat_add_flatten_reshape_linear() {
    let net = build(vec![
        input(3, 8, 8),
        Layer::new("a", Op::Conv2d(conv(4, 3, 1, 1)), &["input"]),
        Layer::new("b", Op::Conv2d(conv(6, 1, 1, 0)), &["input"]),
        Layer::new("cat", Op::Concat, &["a", "b"]),
        Layer::new("c", Op::Conv2d(conv(10, 1, 1, 0)), &["cat"]),
        Layer::new("sum", Op::Add, &["cat", "c"]),
        Layer::new("r", Op::Reshape { shape: Shape::new(40, 4, 4) }, &["sum"]),
        Layer::new("flat", Op::Flatten, &["r"]),
        Layer::new("drop", Op::Dropout { ratio: 0.5 }, &["flat"]),
        Layer::new("fc", Op::Linear(Linear { out_features: 7, bias: true }), &["drop"]),
    ])
    .unwrap();
    assert_eq!(shape_of(&net, "cat"), Shape::new(10, 8, 8));
    assert_eq!(shape_of(&net, "sum"), Shape::new(10, 8, 8));
    assert_eq!(shape_of(&net, "flat"), Shape::flat(640));
    let fc = net.stats(net.find("fc").unwrap());
    assert_eq!((fc.weights, fc.biases, fc.macs), (640 * 7, 7, 640 * 7));
    assert_eq!(net.outputs(), vec![net.find("fc").unwrap()]);
}

#[test]
fn declaration_order_is_kept_and_out_of_order_layers_are_sorted() {
    let net = build(vec![
        Layer::new("relu", Op::Activation(Activation::Relu), &["conv"]),
        input(1, 4, 4),
        Layer::new("conv", Op::Conv2d(conv(2, 3, 1, 1)), &["input"]),
    ])
    .unwrap();
    let names: Vec<&str> = net.layers().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["input", "conv", "relu"]);
}

#[test]
fn shape_errors_name_the_layer_and_key() {
    let cases: Vec<(Vec<Layer>, &str, Option<&str>, &str)> = vec![
        (
            vec![input(3, 8, 8), Layer::new("fc", Op::Linear(Linear { out_features: 2, bias: true }), &["input"])],
            "fc",
            Some("inputs"),
            "flat input",
        ),
        (
            vec![input(3, 8, 8), Layer::new("g", Op::Conv2d(Conv2d { groups: 2, ..conv(4, 3, 1, 1) }), &["input"])],
            "g",
            Some("groups"),
            "not divisible",
        ),
        (
            vec![input(3, 2, 2), Layer::new("big", Op::Conv2d(conv(4, 5, 1, 0)), &["input"])],
            "big",
            Some("kernel"),
            "larger than the padded input",
        ),
        (
            vec![
                input(3, 8, 8),
                Layer::new("a", Op::Conv2d(conv(4, 3, 2, 1)), &["input"]),
                Layer::new("sum", Op::Add, &["a", "input"]),
            ],
            "sum",
            Some("inputs"),
            "same shape",
        ),
        (vec![input(3, 8, 8), Layer::new("x", Op::Identity, &["nope"])], "x", Some("inputs"), "`nope`"),
        (
            vec![
                input(3, 8, 8),
                Layer::new("a", Op::Activation(Activation::Relu), &["b"]),
                Layer::new("b", Op::Activation(Activation::Relu), &["a"]),
            ],
            "a",
            Some("inputs"),
            "cycle",
        ),
        (vec![input(3, 8, 8), Layer::new("input", Op::Identity, &["input"])], "input", Some("name"), "unique"),
        (
            vec![input(3, 8, 8), Layer::new("r", Op::Reshape { shape: Shape::new(2, 2, 2) }, &["input"])],
            "r",
            Some("shape"),
            "cannot reshape",
        ),
        (
            vec![input(3, 8, 8), Layer::new("s", Op::Conv2d(conv(4, 3, 0, 1)), &["input"])],
            "s",
            Some("stride"),
            "at least 1",
        ),
    ];
    for (layers, layer, key, text) in cases {
        let e = build(layers).unwrap_err();
        assert_eq!(e.layer.as_deref(), Some(layer), "{e}");
        assert_eq!(e.key, key, "{e}");
        assert!(e.to_string().contains(text), "`{e}` should contain `{text}`");
    }
    let e = build(vec![Layer::new("x", Op::Identity, &[])]).unwrap_err();
    assert!(e.to_string().contains("no `input` layer"), "{e}");
}

/// Published sizes. Weights are weight-matrix elements (what crossbars hold);
/// biases (after BN folding) are separate.
#[test]
fn zoo_sizes_match_published_figures() {
    let within = |got: u64, want: f64, rel: f64| ((got as f64 - want) / want).abs() <= rel;
    for name in ZOO_NAMES {
        let net = fold_batchnorm(&zoo(name).unwrap()).unwrap();
        let t = net.total_stats();
        let (weights, macs) = (t.weights, t.macs);
        match name {
            // He et al. 2016: 0.27 M parameters; 40.8 M MACs by closed form.
            "resnet20" => {
                assert_eq!(weights, 270_896);
                assert_eq!(macs, 40_813_184);
                assert!(within(weights, 0.27e6, 0.01) && within(macs, 41e6, 0.01));
            }
            // CIFAR VGG-13 (BN): 9.41 M parameters (conv 9,402,048 + fc 5,120),
            // 0.228 G MACs by closed form (16/4/1 output pixels per stage…).
            "vgg13" => {
                assert_eq!(weights, 9_407_168);
                assert_eq!(macs, 228_267_008);
            }
            // CIFAR MobileNetV2 (pytorch-cifar layout): 2,296,922 parameters
            // counting BN γ/β, i.e. weights + 2·(BN channels) + 10 fc biases.
            "mobilenetv2" => {
                let bn_channels = t.biases - 10;
                assert_eq!(weights + 2 * bn_channels + 10, 2_296_922);
                assert_eq!(macs, 91_154_944);
            }
            // torchvision: 11,689,512 parameters, 1.82 G MACs.
            "resnet18" => {
                assert_eq!(weights, 11_678_912);
                assert!(within(macs, 1.82e9, 0.005));
            }
            // torchvision: 25,557,032 parameters (25.6 M), 4.09 G MACs (≈ 4.1 G).
            "resnet50" => {
                assert!(within(weights, 25.6e6, 0.01), "{weights}");
                assert!(within(macs, 4.1e9, 0.01), "{macs}");
                assert_eq!(weights, 25_502_912);
            }
            // torchvision: 138,357,544 parameters (138 M), 15.5 G MACs.
            "vgg16" => {
                assert_eq!(weights + t.biases, 138_357_544);
                assert!(within(macs, 15.5e9, 0.005), "{macs}");
            }
            // DNN+NeuroSim VGG-8 (issue 14: about 12.97 M weights, 616 M MACs). Closed
            // form: conv weights 9·(3·128 + 128·128 + 128·256 + 256·256 + 256·512 +
            // 512·512), fc 8192·1024 + 1024·10; conv MACs per output pixel times
            // 32², 32², 16², 16², 8², 8² pixels.
            "vgg8" => {
                let convs = [
                    (3, 128, 1024),
                    (128, 128, 1024),
                    (128, 256, 256),
                    (256, 256, 256),
                    (256, 512, 64),
                    (512, 512, 64),
                ];
                let conv_w: u64 = convs.iter().map(|&(i, o, _)| 9 * i * o).sum();
                let conv_m: u64 = convs.iter().map(|&(i, o, p)| 9 * i * o * p).sum();
                let fc = 8192 * 1024 + 1024 * 10;
                assert_eq!((weights, macs), (conv_w + fc, conv_m + fc));
                assert_eq!((weights, macs, t.biases), (12_973_440, 615_917_568, 0));
                assert!(within(weights, 12.97e6, 0.001) && within(macs, 616e6, 0.001), "{weights} {macs}");
            }
            // Closed form: patch embedding 3·4·4·128 weights over 64 tokens; per block
            // q, k, v, proj (128²) and fc1, fc2 (128·512) over 64 tokens, plus the two
            // attention products 2 heads · 64 · 64 · 64; the head 128·10.
            "vit_tiny" => {
                let block_weights = 4 * 128 * 128 + 2 * 128 * 512;
                assert_eq!(weights, 3 * 16 * 128 + 2 * block_weights + 1280);
                assert_eq!(macs, 3 * 16 * 128 * 64 + 2 * (block_weights * 64 + 2 * 2 * 64 * 64 * 64) + 1280);
                assert_eq!((weights, macs), (400_640, 27_657_472));
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn widen_scales_hidden_channels_and_keeps_io() {
    let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    let wide = widen(&net, 1.2).unwrap();
    let out_c = |n: &Network, name: &str| shape_of(n, name).channels;
    assert_eq!(out_c(&wide, "conv1"), 19); // round(16 · 1.2) = 19
    assert_eq!(out_c(&wide, "layer2.0.conv1"), 38);
    assert_eq!(out_c(&wide, "layer3.2.conv2"), 77);
    assert_eq!(out_c(&wide, "fc"), 10);
    assert_eq!(wide.input_shapes(wide.find("conv1").unwrap())[0].channels, 3);
    // conv1: 3 → 19 channels; fc: 77 → 10.
    assert_eq!(wide.stats(wide.find("conv1").unwrap()).weights, 19 * 3 * 9);
    assert_eq!(wide.stats(wide.find("fc").unwrap()).weights, 77 * 10);
    assert_eq!(wide.stats(wide.find("layer1.0.conv1").unwrap()).weights, 19 * 19 * 9);
    // Factor 1 is the identity on structure.
    assert_eq!(widen(&net, 1.0).unwrap().total_stats(), net.total_stats());
    assert!(widen(&net, 0.0).is_err() && widen(&net, f64::NAN).is_err());
}

#[test]
fn widen_keeps_depthwise_convs_depthwise() {
    let net = fold_batchnorm(&zoo("mobilenetv2").unwrap()).unwrap();
    let wide = widen(&net, 1.6).unwrap();
    for id in wide.ids() {
        if let Op::Conv2d(c) = &wide.layer(id).op {
            if c.kernel == [3, 3] && c.groups > 1 {
                assert_eq!(c.groups, wide.input_shapes(id)[0].channels);
                assert_eq!(c.out_channels, c.groups);
            }
        }
    }
    assert_eq!(shape_of(&wide, "fc").channels, 10);
    assert_eq!(shape_of(&wide, "conv2").channels, 2048); // 1280 · 1.6
}

#[test]
fn projection_shortcuts_are_found_structurally() {
    let count = |name: &str| projection_shortcuts(&fold_batchnorm(&zoo(name).unwrap()).unwrap()).len();
    assert_eq!(count("resnet20"), 2);
    assert_eq!(count("resnet18"), 3);
    assert_eq!(count("resnet50"), 4);
    // Stride-1 blocks that change width: 32→16, 16→24, 64→96, 160→320. The
    // main branch's last 1x1 conv also feeds the add but is not a shortcut.
    assert_eq!(count("mobilenetv2"), 4);
    assert_eq!(count("vgg13"), 0);
}

#[test]
fn shortcut_kernel_replaces_projection_convs() {
    let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
    let k3 = shortcut_kernel(&net, 3).unwrap();
    let sc = k3.find("layer2.0.shortcut.0").unwrap();
    let Op::Conv2d(c) = &k3.layer(sc).op else { panic!() };
    assert_eq!((c.kernel, c.stride, c.padding), ([3, 3], [2, 2], Padding::uniform(1)));
    assert_eq!(k3.output_shape(sc), net.output_shape(sc));
    // Each shortcut's weights grow ninefold: (512 + 2048) · 8 more weights, and
    // both shortcuts had 131,072 MACs.
    let (a, b) = (net.total_stats(), k3.total_stats());
    assert_eq!(b.weights - a.weights, (512 + 2048) * 8);
    assert_eq!(b.macs - a.macs, 2 * 131_072 * 8);
    assert!(shortcut_kernel(&net, 2).is_err());
    // Kernel 1 leaves the network unchanged.
    assert_eq!(shortcut_kernel(&net, 1).unwrap().total_stats(), a);
}

/// Naive NCHW conv2d for one sample (cross-correlation, PyTorch semantics).
fn conv_ref(x: &[f32], s: Shape, c: &Conv2d, w: &[f32], b: Option<&[f32]>, out: Shape) -> Vec<f32> {
    let cin_g = s.channels / c.groups;
    let cout_g = c.out_channels / c.groups;
    let mut y = vec![0.0f32; out.elements()];
    for o in 0..c.out_channels {
        let g = o / cout_g;
        for oy in 0..out.height {
            for ox in 0..out.width {
                let mut acc = b.map_or(0.0, |b| b[o]);
                for ci in 0..cin_g {
                    for ky in 0..c.kernel[0] {
                        for kx in 0..c.kernel[1] {
                            let iy = (oy * c.stride[0] + ky * c.dilation[0]) as isize - c.padding.top as isize;
                            let ix = (ox * c.stride[1] + kx * c.dilation[1]) as isize - c.padding.left as isize;
                            if iy < 0 || ix < 0 || iy >= s.height as isize || ix >= s.width as isize {
                                continue;
                            }
                            let xi = ((g * cin_g + ci) * s.height + iy as usize) * s.width + ix as usize;
                            let wi = ((o * cin_g + ci) * c.kernel[0] + ky) * c.kernel[1] + kx;
                            acc += x[xi] * w[wi];
                        }
                    }
                }
                y[(o * out.height + oy) * out.width + ox] = acc;
            }
        }
    }
    y
}

/// A small deterministic generator (tests only; no dependency needed).
fn lcg(seed: &mut u64) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

#[test]
fn folded_conv_equals_conv_then_batchnorm() {
    let mut seed = 42;
    let mut rnd = |n: usize| (0..n).map(|_| lcg(&mut seed)).collect::<Vec<f32>>();
    let s = Shape::new(4, 7, 7);
    for groups in [1, 2, 4] {
        let c = Conv2d { groups, bias: groups == 2, ..conv(8, 3, 2, 1) };
        let w = rnd(8 * (4 / groups) * 9);
        let b = if c.bias { Some(rnd(8)) } else { None };
        let gamma: Vec<f32> = rnd(8).iter().map(|v| 1.0 + 0.5 * v).collect();
        let beta = rnd(8);
        let mean = rnd(8);
        let var: Vec<f32> = rnd(8).iter().map(|v| 1.0 + 0.9 * v).collect();
        let eps = 1e-5;
        let mut conv_layer = Layer::new("conv", Op::Conv2d(c.clone()), &["input"]);
        conv_layer.params = Some(Params::Dense { weight: w.clone(), bias: b.clone() });
        let mut bn = Layer::new("bn", Op::BatchNorm(BatchNorm { eps }), &["conv"]);
        bn.params =
            Some(Params::BatchNorm { gamma: gamma.clone(), beta: beta.clone(), mean: mean.clone(), var: var.clone() });
        let relu = Layer::new("relu", Op::Activation(Activation::Relu), &["bn"]);
        let net = build(vec![input(4, 7, 7), conv_layer, bn, relu]).unwrap();
        let folded = fold_batchnorm(&net).unwrap();
        assert_eq!(folded.len(), 3, "the BatchNorm is gone");
        let relu_id = folded.find("relu").unwrap();
        assert_eq!(folded.layer(relu_id).inputs, ["conv"]);
        let out = folded.output_shape(folded.find("conv").unwrap());
        let x = rnd(s.elements());
        let y = conv_ref(&x, s, &c, &w, b.as_deref(), out);
        let hw = out.height * out.width;
        let want: Vec<f32> = y
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ch = i / hw;
                (v - mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch]
            })
            .collect();
        let fl = folded.layer(folded.find("conv").unwrap());
        let Op::Conv2d(fc) = &fl.op else { panic!() };
        assert!(fc.bias);
        let Some(Params::Dense { weight, bias }) = &fl.params else { panic!() };
        let got = conv_ref(&x, s, fc, weight, bias.as_deref(), out);
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "groups {groups}: max |Δ| = {worst}");
    }
}

#[test]
fn batchnorm_after_add_is_not_folded() {
    let net = build(vec![
        input(2, 4, 4),
        Layer::new("a", Op::Conv2d(conv(2, 3, 1, 1)), &["input"]),
        Layer::new("sum", Op::Add, &["a", "input"]),
        Layer::new("bn", Op::BatchNorm(BatchNorm { eps: 1e-5 }), &["sum"]),
        // A conv read by two layers keeps its own output: its BN cannot fold.
        Layer::new("b", Op::Conv2d(conv(2, 3, 1, 1)), &["bn"]),
        Layer::new("bn2", Op::BatchNorm(BatchNorm { eps: 1e-5 }), &["b"]),
        Layer::new("other", Op::Activation(Activation::Relu), &["b"]),
    ])
    .unwrap();
    let folded = fold_batchnorm(&net).unwrap();
    assert!(folded.find("bn").is_some() && folded.find("bn2").is_some());
}

fn zoo_strategy() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["resnet20", "vgg13", "mobilenetv2"][..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Widening keeps the input and class count, never shrinks a network when the
    /// factor grows, and keeps every residual add and depthwise conv consistent
    /// (the rebuilt network validates).
    #[test]
    fn widen_is_monotone_and_keeps_io(name in zoo_strategy(), f in 0.25f64..2.0, df in 0.0f64..1.0) {
        let net = fold_batchnorm(&zoo(name).unwrap()).unwrap();
        let a = widen(&net, f).unwrap();
        let b = widen(&net, f + df).unwrap();
        let out = |n: &Network| n.output_shape(n.outputs()[0]);
        prop_assert_eq!(out(&a), out(&net));
        prop_assert_eq!(a.output_shape(a.input()), net.output_shape(net.input()));
        prop_assert!(a.total_stats().weights <= b.total_stats().weights);
        prop_assert!(a.total_stats().macs <= b.total_stats().macs);
        prop_assert_eq!(a.len(), net.len());
    }
}
