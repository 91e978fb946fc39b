//! The built-in model zoo: structure-only networks (no trained weights), written
//! layer by layer as their reference implementations define them, BatchNorm
//! layers included (fold them with [`crate::fold_batchnorm`]).
//!
//! References:
//! - `resnet20`: He et al., "Deep Residual Learning", CVPR 2016, §4.2 (CIFAR-10),
//!   with 1x1 projection shortcuts (option B) where the shape changes, as in the
//!   published drop-connect study.
//! - `vgg13`: VGG-13 (Simonyan & Zisserman, configuration B) in its common CIFAR-10
//!   form: 3x3 convs with BatchNorm, five 2x2 max-pools, one 512→10 linear layer.
//! - `mobilenetv2`: Sandler et al., CVPR 2018, in its common CIFAR-10 form: stride 1
//!   in the stem and in the second stage, 1x1 projection shortcuts where a
//!   stride-1 block changes the channel count, ReLU6.
//! - `resnet18`, `resnet50`: ImageNet ResNets as in torchvision (v1.5: a
//!   bottleneck's stride sits on its 3x3 conv).
//! - `vgg16`: ImageNet VGG-16 (configuration D) as in torchvision, without BatchNorm.
//! - `vgg8`: the CIFAR-10 VGG-8 of DNN+NeuroSim (V1.3/V1.4
//!   `Inference_pytorch/models/VGG.py`, `cfg_list['vgg8']`, and
//!   `NeuroSIM/NetWork_VGG8.csv`): six bias-free 3x3 convs with padding 1
//!   (128, 128, pool, 256, 256, pool, 512, 512, pool), each followed by ReLU, then
//!   bias-free linear layers 8192→1024 (ReLU) and 1024→10; no BatchNorm.
//! - `vit_tiny`: a Vision Transformer (Dosovitskiy et al., ICLR 2021) for CIFAR-10
//!   at the size of BERT-tiny (Turc et al. 2019: 2 layers, hidden 128, 2 heads,
//!   feed-forward 512): 4×4 patches (64 tokens), pre-norm blocks, GELU, a
//!   mean-pooled head. Tokens are stored feature-major (`128 × 1 × 64`), so every
//!   token-wise linear layer is a 1×1 convolution on crossbars; the attention
//!   products run on the digital unit.

use crate::layer::{Activation, Axis, BatchNorm, Conv2d, Layer, Linear, Op, Padding, Pool, PoolKind, Shape};
use crate::network::{Network, NetworkBuilder};

/// Names accepted by [`zoo`].
pub const ZOO_NAMES: [&str; 8] =
    ["resnet20", "vgg13", "mobilenetv2", "resnet18", "resnet50", "vgg16", "vit_tiny", "vgg8"];

/// A one-line description of a zoo network, with its reference.
pub fn zoo_description(name: &str) -> Option<&'static str> {
    Some(match name {
        "resnet20" => "CIFAR-10 ResNet-20 (He et al. 2016) with 1x1 projection shortcuts",
        "vgg13" => "CIFAR-10 VGG-13 with BatchNorm (Simonyan & Zisserman 2015, config B)",
        "mobilenetv2" => "CIFAR-10 MobileNetV2 (Sandler et al. 2018), stride-1 stem and second stage",
        "resnet18" => "ImageNet ResNet-18 (He et al. 2016), torchvision layout",
        "resnet50" => "ImageNet ResNet-50 v1.5 (He et al. 2016), torchvision layout",
        "vgg16" => "ImageNet VGG-16 (Simonyan & Zisserman 2015, config D), torchvision layout",
        "vgg8" => "CIFAR-10 VGG-8 of DNN+NeuroSim (models/VGG.py): 6 bias-free 3x3 convs, 3 max-pools, fc 1024, fc 10",
        "vit_tiny" => {
            "CIFAR-10 ViT (Dosovitskiy et al. 2021) at BERT-tiny size: 4x4 patches, 2 layers, 128 wide, 2 heads"
        }
        _ => return None,
    })
}

/// A zoo network by name, or `None` for an unknown name.
pub fn zoo(name: &str) -> Option<Network> {
    let net = match name {
        "resnet20" => resnet_cifar("resnet20", 3),
        "vgg13" => vgg13_cifar(),
        "mobilenetv2" => mobilenetv2_cifar(),
        "resnet18" => resnet_imagenet("resnet18", Block::Basic, [2, 2, 2, 2]),
        "resnet50" => resnet_imagenet("resnet50", Block::Bottleneck, [3, 4, 6, 3]),
        "vgg16" => vgg16_imagenet(),
        "vit_tiny" => vit_tiny_cifar(),
        "vgg8" => vgg8_neurosim(),
        _ => return None,
    };
    Some(net.build().expect("zoo networks are valid"))
}

/// A square conv with "same" padding (`k/2`).
#[derive(Clone, Copy)]
struct ConvSpec {
    out: usize,
    k: usize,
    stride: usize,
    groups: usize,
    bias: bool,
}

const fn conv(out: usize, k: usize, stride: usize) -> ConvSpec {
    ConvSpec { out, k, stride, groups: 1, bias: false }
}

impl ConvSpec {
    const fn groups(self, groups: usize) -> Self {
        Self { groups, ..self }
    }

    const fn bias(self) -> Self {
        Self { bias: true, ..self }
    }
}

/// Appends layers and hands back the name of the one just added.
struct Chain {
    builder: NetworkBuilder,
}

impl Chain {
    fn new(name: &str, input: Shape) -> Self {
        let mut builder = NetworkBuilder::new(name);
        builder.push(Layer::new("input", Op::Input { shape: input }, &[]));
        Self { builder }
    }

    fn add(&mut self, name: &str, op: Op, inputs: &[&str]) -> String {
        self.builder.push(Layer::new(name, op, inputs));
        name.to_owned()
    }

    fn conv(&mut self, name: &str, input: &str, spec: ConvSpec) -> String {
        let op = Op::Conv2d(Conv2d {
            out_channels: spec.out,
            kernel: [spec.k, spec.k],
            stride: [spec.stride, spec.stride],
            padding: Padding::uniform(spec.k / 2),
            dilation: [1, 1],
            groups: spec.groups,
            bias: spec.bias,
        });
        self.add(name, op, &[input])
    }

    /// conv → BatchNorm, named `{prefix}conv{i}` and `{prefix}bn{i}`.
    fn conv_bn(&mut self, prefix: &str, i: &str, input: &str, spec: ConvSpec) -> String {
        let c = self.conv(&format!("{prefix}conv{i}"), input, spec);
        self.bn(&format!("{prefix}bn{i}"), &c)
    }

    fn bn(&mut self, name: &str, input: &str) -> String {
        self.add(name, Op::BatchNorm(BatchNorm { eps: 1e-5 }), &[input])
    }

    fn act(&mut self, name: &str, input: &str, act: Activation) -> String {
        self.add(name, Op::Activation(act), &[input])
    }

    fn relu(&mut self, name: &str, input: &str) -> String {
        self.act(name, input, Activation::Relu)
    }

    fn pool(&mut self, name: &str, input: &str, kind: PoolKind, k: usize, stride: usize, pad: usize) -> String {
        let op = Op::Pool(Pool {
            kind,
            kernel: [k, k],
            stride: [stride, stride],
            padding: Padding::uniform(pad),
            ceil_mode: false,
            count_include_pad: true,
        });
        self.add(name, op, &[input])
    }

    fn linear(&mut self, name: &str, input: &str, out: usize) -> String {
        self.add(name, Op::Linear(Linear { out_features: out, bias: true }), &[input])
    }

    /// Global average pool, flatten and the classifier.
    fn head(&mut self, input: &str, classes: usize) -> String {
        let p = self.add("avgpool", Op::GlobalAvgPool, &[input]);
        let f = self.add("flatten", Op::Flatten, &[&p]);
        self.linear("fc", &f, classes)
    }

    fn build(self) -> NetworkBuilder {
        self.builder
    }
}

fn resnet_cifar(name: &str, blocks_per_stage: usize) -> NetworkBuilder {
    let mut n = Chain::new(name, Shape::new(3, 32, 32));
    let c = n.conv_bn("", "1", "input", conv(16, 3, 1));
    let mut x = n.relu("relu1", &c);
    let mut in_c = 16;
    for (stage, &width) in [16usize, 32, 64].iter().enumerate() {
        for block in 0..blocks_per_stage {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let p = format!("layer{}.{}.", stage + 1, block);
            let a = n.conv_bn(&p, "1", &x, conv(width, 3, stride));
            let a = n.relu(&format!("{p}relu1"), &a);
            let b = n.conv_bn(&p, "2", &a, conv(width, 3, 1));
            let shortcut = if stride != 1 || in_c != width {
                let s = n.conv(&format!("{p}shortcut.0"), &x, conv(width, 1, stride));
                n.bn(&format!("{p}shortcut.1"), &s)
            } else {
                x.clone()
            };
            let sum = n.add(&format!("{p}add"), Op::Add, &[&b, &shortcut]);
            x = n.relu(&format!("{p}relu2"), &sum);
            in_c = width;
        }
    }
    n.head(&x, 10);
    n.build()
}

#[derive(Clone, Copy)]
enum Block {
    Basic,
    Bottleneck,
}

fn resnet_imagenet(name: &str, block: Block, layers: [usize; 4]) -> NetworkBuilder {
    let mut n = Chain::new(name, Shape::new(3, 224, 224));
    let c = n.conv_bn("", "1", "input", conv(64, 7, 2));
    let r = n.relu("relu", &c);
    let mut x = n.pool("maxpool", &r, PoolKind::Max, 3, 2, 1);
    let expansion = match block {
        Block::Basic => 1,
        Block::Bottleneck => 4,
    };
    let mut in_c = 64;
    for (stage, &count) in layers.iter().enumerate() {
        let width = 64 << stage;
        for b in 0..count {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            let p = format!("layer{}.{}.", stage + 1, b);
            let main = match block {
                Block::Basic => {
                    let a = n.conv_bn(&p, "1", &x, conv(width, 3, stride));
                    let a = n.relu(&format!("{p}relu1"), &a);
                    n.conv_bn(&p, "2", &a, conv(width, 3, 1))
                }
                Block::Bottleneck => {
                    let a = n.conv_bn(&p, "1", &x, conv(width, 1, 1));
                    let a = n.relu(&format!("{p}relu1"), &a);
                    let a = n.conv_bn(&p, "2", &a, conv(width, 3, stride));
                    let a = n.relu(&format!("{p}relu2"), &a);
                    n.conv_bn(&p, "3", &a, conv(width * expansion, 1, 1))
                }
            };
            let shortcut = if stride != 1 || in_c != width * expansion {
                let s = n.conv(&format!("{p}downsample.0"), &x, conv(width * expansion, 1, stride));
                n.bn(&format!("{p}downsample.1"), &s)
            } else {
                x.clone()
            };
            let sum = n.add(&format!("{p}add"), Op::Add, &[&main, &shortcut]);
            x = n.relu(&format!("{p}relu"), &sum);
            in_c = width * expansion;
        }
    }
    n.head(&x, 1000);
    n.build()
}

/// `0` marks a 2x2 max-pool in a VGG configuration.
const VGG8: [usize; 9] = [128, 128, 0, 256, 256, 0, 512, 512, 0];
const VGG13: [usize; 15] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
const VGG16: [usize; 18] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

/// VGG feature extractor named torchvision-style (`features.{index}`).
fn vgg_features(n: &mut Chain, cfg: &[usize], batch_norm: bool) -> String {
    let mut x = "input".to_owned();
    let mut i = 0;
    for &c in cfg {
        if c == 0 {
            x = n.pool(&format!("features.{i}"), &x, PoolKind::Max, 2, 2, 0);
            i += 1;
            continue;
        }
        // Without BatchNorm the convs carry their own bias (torchvision).
        let spec = if batch_norm { conv(c, 3, 1) } else { conv(c, 3, 1).bias() };
        x = n.conv(&format!("features.{i}"), &x, spec);
        i += 1;
        if batch_norm {
            x = n.bn(&format!("features.{i}"), &x);
            i += 1;
        }
        x = n.relu(&format!("features.{i}"), &x);
        i += 1;
    }
    x
}

fn vgg13_cifar() -> NetworkBuilder {
    let mut n = Chain::new("vgg13", Shape::new(3, 32, 32));
    let x = vgg_features(&mut n, &VGG13, true);
    let f = n.add("flatten", Op::Flatten, &[&x]);
    n.linear("classifier", &f, 10);
    n.build()
}

/// DNN+NeuroSim's VGG-8 (`models/VGG.py`): `QConv2d`/`QLinear` default to
/// `bias=False`, so no layer has a bias; the layer names follow its
/// `nn.Sequential` indices (`features.0` conv, `features.1` ReLU, …).
fn vgg8_neurosim() -> NetworkBuilder {
    let mut n = Chain::new("vgg8", Shape::new(3, 32, 32));
    let mut x = "input".to_owned();
    let mut i = 0;
    for &c in &VGG8 {
        if c == 0 {
            x = n.pool(&format!("features.{i}"), &x, PoolKind::Max, 2, 2, 0);
            i += 1;
            continue;
        }
        x = n.conv(&format!("features.{i}"), &x, conv(c, 3, 1));
        x = n.relu(&format!("features.{}", i + 1), &x);
        i += 2;
    }
    let f = n.add("flatten", Op::Flatten, &[&x]);
    let bias_free = |out_features| Op::Linear(Linear { out_features, bias: false });
    let a = n.add("classifier.0", bias_free(1024), &[&f]);
    let a = n.relu("classifier.1", &a);
    n.add("classifier.2", bias_free(10), &[&a]);
    n.build()
}

fn vgg16_imagenet() -> NetworkBuilder {
    let mut n = Chain::new("vgg16", Shape::new(3, 224, 224));
    let x = vgg_features(&mut n, &VGG16, false);
    let f = n.add("flatten", Op::Flatten, &[&x]);
    let a = n.linear("classifier.0", &f, 4096);
    let a = n.relu("classifier.1", &a);
    let a = n.add("classifier.2", Op::Dropout { ratio: 0.5 }, &[&a]);
    let a = n.linear("classifier.3", &a, 4096);
    let a = n.relu("classifier.4", &a);
    let a = n.add("classifier.5", Op::Dropout { ratio: 0.5 }, &[&a]);
    n.linear("classifier.6", &a, 1000);
    n.build()
}

/// (expansion, output channels, blocks, first stride) per stage, CIFAR form.
const MOBILENETV2_CIFAR: [(usize, usize, usize, usize); 7] =
    [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

fn mobilenetv2_cifar() -> NetworkBuilder {
    let mut n = Chain::new("mobilenetv2", Shape::new(3, 32, 32));
    let c = n.conv_bn("", "1", "input", conv(32, 3, 1));
    let mut x = n.act("relu1", &c, Activation::Relu6);
    let mut in_c = 32;
    let mut index = 0;
    for &(expansion, out_c, count, first_stride) in &MOBILENETV2_CIFAR {
        for b in 0..count {
            let stride = if b == 0 { first_stride } else { 1 };
            let planes = expansion * in_c;
            let p = format!("layers.{index}.");
            let a = n.conv_bn(&p, "1", &x, conv(planes, 1, 1));
            let a = n.act(&format!("{p}relu1"), &a, Activation::Relu6);
            let a = n.conv_bn(&p, "2", &a, conv(planes, 3, stride).groups(planes));
            let a = n.act(&format!("{p}relu2"), &a, Activation::Relu6);
            let a = n.conv_bn(&p, "3", &a, conv(out_c, 1, 1));
            x = if stride == 1 {
                let shortcut = if in_c != out_c {
                    let s = n.conv(&format!("{p}shortcut.0"), &x, conv(out_c, 1, 1));
                    n.bn(&format!("{p}shortcut.1"), &s)
                } else {
                    x.clone()
                };
                n.add(&format!("{p}add"), Op::Add, &[&a, &shortcut])
            } else {
                a
            };
            in_c = out_c;
            index += 1;
        }
    }
    let c = n.conv_bn("", "2", &x, conv(1280, 1, 1));
    let x = n.act("relu2", &c, Activation::Relu6);
    n.head(&x, 10);
    n.build()
}

/// `vit_tiny` (see the module header). Layer names follow timm's `VisionTransformer`.
fn vit_tiny_cifar() -> NetworkBuilder {
    const DIM: usize = 128;
    const HEADS: usize = 2;
    const MLP: usize = 4 * DIM;
    const PATCH: usize = 4;
    const TOKENS: usize = (32 / PATCH) * (32 / PATCH);
    let mut n = Chain::new("vit_tiny", Shape::new(3, 32, 32));
    let dense = |out: usize, k: usize, stride: usize| {
        Op::Conv2d(Conv2d {
            out_channels: out,
            kernel: [k, k],
            stride: [stride, stride],
            padding: Padding::uniform(0),
            dilation: [1, 1],
            groups: 1,
            bias: true,
        })
    };
    let seq = Shape::new(DIM, 1, TOKENS);
    let heads = Shape::new(HEADS, DIM / HEADS, TOKENS);
    let norm = Op::LayerNorm { axis: Axis::Channels, eps: 1e-6 };
    n.add("patch_embed.proj", dense(DIM, PATCH, PATCH), &["input"]);
    n.add("patch_embed.flatten", Op::Reshape { shape: seq }, &["patch_embed.proj"]);
    let mut x = n.add("pos_embed", Op::Scale, &["patch_embed.flatten"]);
    for b in 0..2 {
        let p = format!("blocks.{b}.");
        let h = n.add(&format!("{p}norm1"), norm.clone(), &[&x]);
        let mut qkv = Vec::new();
        for part in ["q", "k", "v"] {
            let l = n.add(&format!("{p}attn.{part}"), dense(DIM, 1, 1), &[&h]);
            qkv.push(n.add(&format!("{p}attn.{part}.heads"), Op::Reshape { shape: heads }, &[&l]));
        }
        // Scores Qᵀ·K per head (tokens × tokens), scaled by 1/√(head dim), softmax over keys.
        let qk = Op::MatMul { transpose_a: true, transpose_b: false };
        let s = n.add(&format!("{p}attn.scores"), qk, &[&qkv[0], &qkv[1]]);
        let s = n.add(&format!("{p}attn.scale"), Op::Scale, &[&s]);
        let s = n.add(&format!("{p}attn.softmax"), Op::Softmax { axis: Axis::Width, log: false }, &[&s]);
        // Context V·Pᵀ per head: head dim × tokens, feature-major again.
        let pv = Op::MatMul { transpose_a: false, transpose_b: true };
        let c = n.add(&format!("{p}attn.context"), pv, &[&qkv[2], &s]);
        let c = n.add(&format!("{p}attn.merge"), Op::Reshape { shape: seq }, &[&c]);
        let c = n.add(&format!("{p}attn.proj"), dense(DIM, 1, 1), &[&c]);
        x = n.add(&format!("{p}add1"), Op::Add, &[&x, &c]);
        let h = n.add(&format!("{p}norm2"), norm.clone(), &[&x]);
        let h = n.add(&format!("{p}mlp.fc1"), dense(MLP, 1, 1), &[&h]);
        let h = n.act(&format!("{p}mlp.act"), &h, Activation::Gelu);
        let h = n.add(&format!("{p}mlp.fc2"), dense(DIM, 1, 1), &[&h]);
        x = n.add(&format!("{p}add2"), Op::Add, &[&x, &h]);
    }
    let x = n.add("norm", norm, &[&x]);
    let x = n.add("pool", Op::GlobalAvgPool, &[&x]);
    n.add("head", Op::Linear(Linear { out_features: 10, bias: true }), &[&x]);
    n.builder
}
