//! Layer kinds, their parameters and per-sample tensor shapes.

use std::fmt;

/// Shape of one sample's activation tensor, channels × height × width.
///
/// A flat feature vector of `n` values is `n × 1 × 1` (what `Flatten` produces and
/// what `Linear` consumes). The batch dimension is never part of a `Shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Shape {
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        Self { channels, height, width }
    }

    /// A flat vector of `n` features.
    pub const fn flat(n: usize) -> Self {
        Self::new(n, 1, 1)
    }

    /// Number of values in one sample. Shapes of a built `Network` have at most
    /// [`MAX_COUNT`](crate::MAX_COUNT) values; for a shape from input use
    /// [`Shape::checked_elements`].
    pub const fn elements(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of values in one sample, `None` if the product overflows.
    pub fn checked_elements(&self) -> Option<usize> {
        self.channels.checked_mul(self.height)?.checked_mul(self.width)
    }

    pub const fn is_flat(&self) -> bool {
        self.height == 1 && self.width == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// Zero padding on each side of the spatial dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding {
    /// The same padding on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Self { top: p, left: p, bottom: p, right: p }
    }

    /// `ph` rows above and below, `pw` columns left and right.
    pub const fn symmetric(ph: usize, pw: usize) -> Self {
        Self { top: ph, left: pw, bottom: ph, right: pw }
    }

    pub const fn is_symmetric(&self) -> bool {
        self.top == self.bottom && self.left == self.right
    }
}

/// A 2-D convolution. The input channel count is not stored: it comes from the
/// producer's shape, so transforms such as widening stay consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    pub dilation: [usize; 2],
    /// Channel groups: 1 for a dense conv, the input channel count for a
    /// depthwise conv.
    pub groups: usize,
    pub bias: bool,
}

impl Conv2d {
    /// A 1x1 convolution of stride 1, no padding, no groups.
    pub fn pointwise(out_channels: usize, bias: bool) -> Self {
        Conv2d {
            out_channels,
            kernel: [1, 1],
            stride: [1, 1],
            padding: Padding::uniform(0),
            dilation: [1, 1],
            groups: 1,
            bias,
        }
    }

    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
    }
}

/// A fully connected layer on a flat input.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub out_features: usize,
    pub bias: bool,
}

/// Batch normalization in inference form: `y = gamma * (x - mean) / sqrt(var + eps) + beta`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub eps: f32,
}

/// Element-wise activation functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    /// `min(max(x, 0), 6)`, as in MobileNetV2.
    Relu6,
    /// `min(max(x, min), max)`.
    Clip {
        min: f32,
        max: f32,
    },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `max(0, min(1, alpha·x + beta))` (ONNX HardSigmoid).
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x · max(0, min(1, x/6 + 1/2))` (ONNX HardSwish, MobileNetV3).
    HardSwish,
    Tanh,
    /// The error function (PyTorch exports GELU as `x · (1 + erf(x/√2)) / 2`).
    Erf,
    /// Exact GELU, `x · Φ(x)` (ONNX Gelu, opset 20).
    Gelu,
}

/// An axis of the per-sample `C × H × W` layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    Channels,
    Height,
    Width,
}

impl Axis {
    /// The name used in the workload format and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Axis::Channels => "channels",
            Axis::Height => "height",
            Axis::Width => "width",
        }
    }

    /// The axis's length in `shape`.
    pub const fn len(self, shape: Shape) -> usize {
        match self {
            Axis::Channels => shape.channels,
            Axis::Height => shape.height,
            Axis::Width => shape.width,
        }
    }
}

/// How a [`Op::Resize`] maps an output coordinate `o` to an input coordinate,
/// with `s` = output length / input length (ONNX `coordinate_transformation_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeCoord {
    /// `o / s` (PyTorch's nearest, opset-9 Upsample).
    Asymmetric,
    /// `(o + 1/2) / s - 1/2` (PyTorch's `align_corners=False`, tf2onnx).
    HalfPixel,
    /// `o · (in - 1) / (out - 1)` (PyTorch's `align_corners=True`).
    AlignCorners,
}

impl ResizeCoord {
    /// The name used in the workload format (ONNX's).
    pub const fn name(self) -> &'static str {
        match self {
            ResizeCoord::Asymmetric => "asymmetric",
            ResizeCoord::HalfPixel => "half_pixel",
            ResizeCoord::AlignCorners => "align_corners",
        }
    }
}

/// What a [`Op::Pad`] writes outside the input (ONNX Pad's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PadMode {
    /// The constant `value`.
    Constant,
    /// The input mirrored about its border row or column (not repeating it).
    Reflect,
    /// The border row or column repeated.
    Edge,
}

impl PadMode {
    /// The name used in the workload format (ONNX's).
    pub const fn name(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Edge => "edge",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    Avg,
}

/// Spatial pooling with a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kind: PoolKind,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    /// Output size rounds up instead of down (PyTorch `ceil_mode`).
    pub ceil_mode: bool,
    /// Average pooling divides by the full window, padding included.
    pub count_include_pad: bool,
}

/// What a layer computes. A closed enum: adding a kind is a compile error in every
/// place that must handle it.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The network input (one per network).
    Input {
        shape: Shape,
    },
    Conv2d(Conv2d),
    Linear(Linear),
    BatchNorm(BatchNorm),
    Activation(Activation),
    Pool(Pool),
    GlobalAvgPool,
    /// Element-wise sum of two or more inputs of the same shape (residual add).
    Add,
    /// Concatenation of two or more inputs along channels.
    Concat,
    /// `C × H × W` → `(C·H·W) × 1 × 1`.
    Flatten,
    /// Reinterprets the values as a new shape with the same element count.
    Reshape {
        shape: Shape,
    },
    Identity,
    /// Identity at inference; the ratio is kept for reference.
    Dropout {
        ratio: f32,
    },
    /// `y = x · scale + shift` with constants broadcast per tensor (1 value), per
    /// channel (`C` values) or per element (`C·H·W` values): what ONNX Mul, Add,
    /// Sub and Div by a constant become. Parameters: [`Params::Affine`].
    Scale,
    /// Element-wise product of two inputs of the same shape (SiLU's `x · sigmoid(x)`,
    /// GELU's `x · Φ(x)`), or of an input and one value per channel (`C × 1 × 1`,
    /// a squeeze-and-excitation gate).
    Mul,
    /// `exp(x) / Σ exp` along `axis` (the log of it when `log`).
    Softmax {
        axis: Axis,
        log: bool,
    },
    /// Normalization to zero mean and unit variance along `axis`, then a per-position
    /// `gamma`/`beta` affine ([`Params::Affine`] of `axis`'s length, when known).
    LayerNorm {
        axis: Axis,
        eps: f32,
    },
    /// Product of two activations, batched over channels: each channel of the
    /// operands is an `H × W` matrix; `out[c] = op(a[c]) · op(b[c])`, where `op`
    /// transposes when the flag is set (attention's `Q·Kᵀ` and `P·V`). Runs on the
    /// digital unit: neither operand is known ahead of time.
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// Maximum over each channel's `H × W` plane.
    GlobalMaxPool,
    /// Moves values: output axis `i` (channels, height, width) is input axis
    /// `perm[i]` (a TensorFlow export's NHWC ↔ NCHW transposes).
    Transpose {
        perm: [usize; 3],
    },
    /// Local response normalization across channels (AlexNet, GoogLeNet; ONNX LRN):
    /// `x / (bias + alpha/size · Σ x²)^beta` over a window of `size` channels.
    Lrn {
        size: usize,
        alpha: f32,
        beta: f32,
        bias: f32,
    },
    /// Spatial resampling of each channel to `size` = [height, width] (ONNX Resize,
    /// Upsample): nearest neighbour (the input coordinate rounded down, or to the
    /// nearest with ties down when `round`) or bilinear when `linear`.
    Resize {
        size: [usize; 2],
        linear: bool,
        coord: ResizeCoord,
        round: bool,
    },
    /// Channels `start .. start + len` of the input (one output of an ONNX Split).
    /// Moves no value: each pixel's channel vector is read in place.
    ChannelSlice {
        start: usize,
        len: usize,
    },
    /// Grows each channel's plane by `padding`, filled by `mode` (ONNX Pad that is
    /// not a zero Pad folded into the next Conv's padding).
    Pad {
        padding: Padding,
        mode: PadMode,
        value: f32,
    },
}

impl Op {
    /// The short name used in tables, JSON and the workload format.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Conv2d(_) => "conv2d",
            Op::Linear(_) => "linear",
            Op::BatchNorm(_) => "batchnorm",
            Op::Activation(Activation::Relu) => "relu",
            Op::Activation(Activation::Relu6) => "relu6",
            Op::Activation(Activation::Clip { .. }) => "clip",
            Op::Activation(Activation::Sigmoid) => "sigmoid",
            Op::Activation(Activation::HardSigmoid { .. }) => "hard_sigmoid",
            Op::Activation(Activation::HardSwish) => "hard_swish",
            Op::Activation(Activation::Tanh) => "tanh",
            Op::Activation(Activation::Erf) => "erf",
            Op::Activation(Activation::Gelu) => "gelu",
            Op::Pool(Pool { kind: PoolKind::Max, .. }) => "maxpool",
            Op::Pool(Pool { kind: PoolKind::Avg, .. }) => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Flatten => "flatten",
            Op::Reshape { .. } => "reshape",
            Op::Identity => "identity",
            Op::Dropout { .. } => "dropout",
            Op::Scale => "scale",
            Op::Mul => "mul",
            Op::Softmax { log: false, .. } => "softmax",
            Op::Softmax { log: true, .. } => "log_softmax",
            Op::LayerNorm { .. } => "layernorm",
            Op::MatMul { .. } => "matmul",
            Op::GlobalMaxPool => "global_maxpool",
            Op::Transpose { .. } => "transpose",
            Op::Lrn { .. } => "lrn",
            Op::Resize { .. } => "resize",
            Op::Pad { .. } => "pad",
            Op::ChannelSlice { .. } => "channel_slice",
        }
    }

    /// Layers with a weight matrix (the ones that map onto crossbars).
    pub fn has_weights(&self) -> bool {
        matches!(self, Op::Conv2d(_) | Op::Linear(_))
    }

    /// Layers that only pass values through at inference.
    pub fn is_passthrough(&self) -> bool {
        matches!(self, Op::Identity | Op::Dropout { .. })
    }
}

/// Trained parameters of a layer, where the source (ONNX) carries them.
///
/// Conv weights are laid out `[out_channels][in_channels / groups][kh][kw]`,
/// linear weights `[out_features][in_features]` (PyTorch/ONNX order).
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    Dense {
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    BatchNorm {
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
    },
    /// `x · scale + shift` of a `scale` or `layernorm` layer. Each vector holds 1
    /// value (per tensor), one per channel, or one per element (`C × H × W` order);
    /// a layernorm's hold one per position of its axis.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
}

/// One node of the network graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub op: Op,
    /// Names of the producing layers, in operand order.
    pub inputs: Vec<String>,
    /// Trained parameters, when known. Structure-only workloads (the zoo, TOML
    /// files) have none.
    pub params: Option<Params>,
}

impl Layer {
    pub fn new(name: impl Into<String>, op: Op, inputs: &[&str]) -> Self {
        Self { name: name.into(), op, inputs: inputs.iter().map(|s| (*s).to_owned()).collect(), params: None }
    }
}
