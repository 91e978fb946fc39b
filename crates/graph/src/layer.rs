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
            Op::Pool(Pool { kind: PoolKind::Max, .. }) => "maxpool",
            Op::Pool(Pool { kind: PoolKind::Avg, .. }) => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Flatten => "flatten",
            Op::Reshape { .. } => "reshape",
            Op::Identity => "identity",
            Op::Dropout { .. } => "dropout",
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
    Dense { weight: Vec<f32>, bias: Option<Vec<f32>> },
    BatchNorm { gamma: Vec<f32>, beta: Vec<f32>, mean: Vec<f32>, var: Vec<f32> },
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
