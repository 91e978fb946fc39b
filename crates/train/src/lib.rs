//! Drop-connect training (CPU, rramsim's own kernels) of a small model family
//! for 28×28 single-channel inputs, exported to ONNX with rramsim's own prost code.
//!
//! - [`family()`] builds `resnet-mini` (residual blocks with 1x1 projection shortcuts)
//!   and `mobilenet-mini` (inverted residuals with pointwise convolutions), as
//!   [`Network`] structures; width multipliers go through rramsim's `widen`.
//! - [`train()`] runs forward and backward passes of such a network with the
//!   kernels of `kernels` (im2col + the GEMM of `rramsim-func`, channel-major
//!   tensors). At every step a fresh Bernoulli mask zeroes a fraction `p` of the
//!   weights of every conv/linear layer that will sit on RRAM under the chosen
//!   offload policy (layers the policy sends to the digital unit are never
//!   masked); by default the kept weights are not rescaled, so training sees what
//!   a weight-zero fault map of rate `p` does ([`MaskScaling`]). Optional
//!   Gaussian weight noise on the same layers (noise-aware training), a
//!   learning-rate schedule ([`LrSchedule`]) and augmentation ([`Augment`]).
//!   BatchNorm uses batch statistics in training and running statistics
//!   (momentum 0.1) in the exported model. AdamW optimizes every parameter.
//!
//! Everything random (initialization, shuffling, masks, noise, augmentation)
//! comes from seeded `Pcg64Mcg` streams, and a batch is processed in chunks of a
//! fixed number of images whose partial sums are combined in a fixed order, so a
//! run gives byte-identical models on any thread count.
//!
//! Errors are [`TrainError`]s; [`TrainError::is_input`] tells bad input (an
//! unknown model, a bad width or setting, a dataset of another shape, a layer
//! outside the trainable family) from an internal error (a model of the family
//! that does not build).

mod kernels;
mod trainer;

pub use trainer::train;

use rramsim_graph::{Activation, BatchNorm, Conv2d, Layer, Linear, Network, NetworkBuilder, Op, Padding, Shape, widen};
use rramsim_map::Offload;
use thiserror::Error;

/// A training failure.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("unknown model `{name}`; expected one of {}", MODELS.join(", "))]
    UnknownModel { name: String },
    /// A model of the family does not build: a bug.
    #[error(transparent)]
    Build(rramsim_graph::GraphError),
    /// The width multiplier cannot be applied.
    #[error(transparent)]
    Widen(rramsim_graph::GraphError),
    #[error("layer `{0}`: training needs square kernels, strides and paddings")]
    NotSquare(String),
    #[error("layer `{layer}`: op {op} is not in the trainable family")]
    Untrainable { layer: String, op: &'static str },
    #[error("drop-connect rate must be in [0, 1), got {0}")]
    DropConnect(f64),
    #[error("training needs at least one epoch, a batch size of at least 1 and some images")]
    Empty,
    #[error(
        "the model takes {}×{}×{} images, the dataset has {}×{}×{}",
        .model.channels, .model.height, .model.width, .data.0, .data.1, .data.2
    )]
    ImageShape { model: Shape, data: (usize, usize, usize) },
    #[error("weight noise must be a finite relative sigma ≥ 0, got {0}")]
    WeightNoise(f64),
    #[error("learning-rate schedule: {0}")]
    Schedule(String),
    #[error("{epochs} epochs of {steps} steps each are more steps than can be counted")]
    TooManySteps { epochs: usize, steps: usize },
}

impl TrainError {
    /// True for the caller's bad input, false for an internal error.
    pub fn is_input(&self) -> bool {
        !matches!(self, Self::Build(_))
    }
}

/// The models `rramsim train` knows.
pub const MODELS: [&str; 2] = ["resnet-mini", "mobilenet-mini"];

fn conv(out: usize, k: usize, stride: usize, groups: usize) -> Op {
    Op::Conv2d(Conv2d {
        out_channels: out,
        kernel: [k, k],
        stride: [stride, stride],
        padding: Padding::uniform(k / 2),
        dilation: [1, 1],
        groups,
        bias: false,
    })
}

fn bn() -> Op {
    Op::BatchNorm(BatchNorm { eps: 1e-5 })
}

/// A structure of the family at width 1.0 (before `widen`), for `1 × 28 × 28`
/// inputs: a stride-2 stem (to 14×14), three stages of 16, 32 and 64 channels
/// (the last two stride 2), global average pooling and a linear classifier.
fn base(name: &str, input: Shape) -> Result<Network, TrainError> {
    let mut b = NetworkBuilder::new(name);
    let mut push = |name: &str, op: Op, inputs: &[&str]| {
        b.push(Layer::new(name, op, inputs));
        name.to_owned()
    };
    push("input", Op::Input { shape: input }, &[]);
    match name {
        "resnet-mini" => {
            push("stem", conv(16, 3, 2, 1), &["input"]);
            push("stem.bn", bn(), &["stem"]);
            let mut x = push("stem.relu", Op::Activation(Activation::Relu), &["stem.bn"]);
            for (i, (cin, cout, stride)) in [(16, 16, 1), (16, 32, 2), (32, 64, 2)].into_iter().enumerate() {
                let p = format!("block{}", i + 1);
                push(&format!("{p}.conv1"), conv(cout, 3, stride, 1), &[&x]);
                push(&format!("{p}.bn1"), bn(), &[&format!("{p}.conv1")]);
                push(&format!("{p}.relu1"), Op::Activation(Activation::Relu), &[&format!("{p}.bn1")]);
                push(&format!("{p}.conv2"), conv(cout, 3, 1, 1), &[&format!("{p}.relu1")]);
                push(&format!("{p}.bn2"), bn(), &[&format!("{p}.conv2")]);
                let shortcut = if cin != cout || stride != 1 {
                    // The 1x1 projection shortcut.
                    push(&format!("{p}.shortcut"), conv(cout, 1, stride, 1), &[&x]);
                    push(&format!("{p}.shortcut.bn"), bn(), &[&format!("{p}.shortcut")])
                } else {
                    x.clone()
                };
                push(&format!("{p}.add"), Op::Add, &[&format!("{p}.bn2"), &shortcut]);
                x = push(&format!("{p}.relu2"), Op::Activation(Activation::Relu), &[&format!("{p}.add")]);
            }
            push("pool", Op::GlobalAvgPool, &[&x]);
            push("fc", Op::Linear(Linear { out_features: 10, bias: true }), &["pool"]);
        }
        "mobilenet-mini" => {
            push("stem", conv(16, 3, 2, 1), &["input"]);
            push("stem.bn", bn(), &["stem"]);
            let mut x = push("stem.relu", Op::Activation(Activation::Relu6), &["stem.bn"]);
            for (i, (cin, cout, stride)) in [(16, 16, 1), (16, 32, 2), (32, 64, 2)].into_iter().enumerate() {
                let p = format!("block{}", i + 1);
                let block_in = x.clone();
                let hidden = cin * 4;
                push(&format!("{p}.expand"), conv(hidden, 1, 1, 1), &[&x]);
                push(&format!("{p}.expand.bn"), bn(), &[&format!("{p}.expand")]);
                push(&format!("{p}.expand.relu"), Op::Activation(Activation::Relu6), &[&format!("{p}.expand.bn")]);
                push(&format!("{p}.dw"), conv(hidden, 3, stride, hidden), &[&format!("{p}.expand.relu")]);
                push(&format!("{p}.dw.bn"), bn(), &[&format!("{p}.dw")]);
                push(&format!("{p}.dw.relu"), Op::Activation(Activation::Relu6), &[&format!("{p}.dw.bn")]);
                push(&format!("{p}.project"), conv(cout, 1, 1, 1), &[&format!("{p}.dw.relu")]);
                x = push(&format!("{p}.project.bn"), bn(), &[&format!("{p}.project")]);
                if cin == cout && stride == 1 {
                    x = push(&format!("{p}.add"), Op::Add, &[&x, &block_in]);
                }
            }
            push("head", conv(128, 1, 1, 1), &[&x]);
            push("head.bn", bn(), &["head"]);
            push("head.relu", Op::Activation(Activation::Relu6), &["head.bn"]);
            push("pool", Op::GlobalAvgPool, &["head.relu"]);
            push("fc", Op::Linear(Linear { out_features: 10, bias: true }), &["pool"]);
        }
        other => return Err(TrainError::UnknownModel { name: other.to_owned() }),
    }
    b.build().map_err(TrainError::Build)
}

/// The model `name` at `width` (channel multiplier) for `input`-shaped images.
pub fn family(name: &str, width: f64, input: Shape) -> Result<Network, TrainError> {
    let net = base(name, input)?;
    if width == 1.0 { Ok(net) } else { widen(&net, width).map_err(TrainError::Widen) }
}

/// How the kept weights of a drop-connect mask are scaled during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskScaling {
    /// Kept weights as they are: training sees what a weight-zero fault map does.
    None,
    /// Kept weights divided by `1 − p` (inverted dropout): the expected weight
    /// is the trained one, and the exported model is unmasked.
    Inverted,
}

impl MaskScaling {
    pub const NAMES: [&str; 2] = ["none", "inverted"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "inverted" => Some(Self::Inverted),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Inverted => "inverted",
        }
    }
}

/// The learning rate over training, a multiple of the base rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    Constant,
    /// Multiplied by `gamma` every `every` epochs.
    Step {
        every: usize,
        gamma: f64,
    },
    /// Cosine annealing from the base rate to 0 over all steps.
    Cosine,
}

impl LrSchedule {
    /// `constant`, `cosine` or `step:EVERY:GAMMA` (e.g. `step:10:0.1`).
    pub fn parse(text: &str) -> Result<Self, TrainError> {
        let bad = || {
            TrainError::Schedule(format!(
                "`{text}`: expected constant, cosine or step:EPOCHS:GAMMA (EPOCHS ≥ 1, GAMMA in (0, 1])"
            ))
        };
        match text.split(':').collect::<Vec<_>>().as_slice() {
            ["constant"] => Ok(Self::Constant),
            ["cosine"] => Ok(Self::Cosine),
            ["step", every, gamma] => {
                let every: usize = every.parse().map_err(|_| bad())?;
                let gamma: f64 = gamma.parse().map_err(|_| bad())?;
                if every == 0 || !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(bad());
                }
                Ok(Self::Step { every, gamma })
            }
            _ => Err(bad()),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Self::Constant => "constant".into(),
            Self::Cosine => "cosine".into(),
            Self::Step { every, gamma } => format!("step:{every}:{gamma}"),
        }
    }

    /// The factor at `step` (0-based) of `total` steps, in epoch `epoch`.
    fn factor(&self, epoch: usize, step: usize, total: usize) -> f64 {
        match *self {
            Self::Constant => 1.0,
            Self::Step { every, gamma } => gamma.powi(i32::try_from(epoch / every).unwrap_or(i32::MAX)),
            Self::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total as f64).cos()),
        }
    }
}

/// Training-time augmentation of each image as it enters a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Augment {
    /// Random crop with this much zero padding: the image is shifted by a
    /// uniform `(dy, dx)` in `[-pad, pad]²` (0: off).
    pub crop_pad: usize,
    /// Horizontal flip with probability ½.
    pub hflip: bool,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// AdamW base learning rate.
    pub lr: f64,
    pub schedule: LrSchedule,
    /// Fraction of each masked layer's weights zeroed at every step.
    pub drop_connect: f64,
    pub scaling: MaskScaling,
    /// Noise-aware training: every step, each weight of a masked (RRAM-bound)
    /// layer gets Gaussian noise of `weight_noise × max|w|` of its layer (0: off).
    pub weight_noise: f64,
    pub augment: Augment,
    /// Layers this policy sends to the digital unit are not masked.
    pub offload: Offload,
    pub seed: u64,
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f64,
    /// Accuracy on the training batches as seen (masked, training-mode BatchNorm).
    pub train_accuracy: f64,
}
