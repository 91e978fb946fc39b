//! The workload TOML format: loading (with located errors) and export.
//!
//! The format is documented in the repository's `workloads/README.md`. In short:
//!
//! ```toml
//! [network]
//! name = "tiny"
//!
//! [[layer]]
//! name = "input"
//! op = "input"
//! shape = [3, 32, 32]
//!
//! [[layer]]
//! name = "conv1"
//! op = "conv2d"
//! inputs = ["input"]
//! out_channels = 16
//! kernel = 3
//! padding = 1
//! ```
//!
//! Raw serde types live here and nowhere else; they are converted into
//! [`Layer`]s and validated by [`NetworkBuilder::build`], whose errors are mapped
//! back to the line and column of the key at fault.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use rramsim_core::SourceError;
use serde::Deserialize;
use toml::Spanned;

use crate::error::GraphError;
use crate::layer::{
    Activation, Axis, BatchNorm, Conv2d, Layer, Linear, Op, PadMode, Padding, Pool, PoolKind, ResizeCoord, Shape,
};
use crate::network::{Network, NetworkBuilder};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    network: RawNetwork,
    #[serde(default)]
    layer: Vec<Spanned<RawLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for readers of the file
    description: Option<String>,
}

type Value = Spanned<toml::Value>;

/// Every key a layer table may have; which ones an op accepts is checked after
/// parsing, so a misplaced key gets a message naming the op.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: Spanned<String>,
    op: Spanned<String>,
    inputs: Option<Spanned<Vec<String>>>,
    shape: Option<Value>,
    out_channels: Option<Value>,
    out_features: Option<Value>,
    kernel: Option<Value>,
    stride: Option<Value>,
    padding: Option<Value>,
    dilation: Option<Value>,
    groups: Option<Value>,
    bias: Option<Value>,
    eps: Option<Value>,
    min: Option<Value>,
    max: Option<Value>,
    ratio: Option<Value>,
    ceil_mode: Option<Value>,
    count_include_pad: Option<Value>,
    axis: Option<Value>,
    alpha: Option<Value>,
    beta: Option<Value>,
    transpose_a: Option<Value>,
    transpose_b: Option<Value>,
    perm: Option<Value>,
    size: Option<Value>,
    bias_term: Option<Value>,
    mode: Option<Value>,
    coordinates: Option<Value>,
    nearest_mode: Option<Value>,
    value: Option<Value>,
    start: Option<Value>,
    channels: Option<Value>,
}

const OPS: [&str; 34] = [
    "input",
    "conv2d",
    "linear",
    "batchnorm",
    "relu",
    "relu6",
    "clip",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "add",
    "concat",
    "flatten",
    "reshape",
    "identity",
    "dropout",
    "sigmoid",
    "hard_sigmoid",
    "hard_swish",
    "tanh",
    "erf",
    "gelu",
    "scale",
    "mul",
    "softmax",
    "log_softmax",
    "layernorm",
    "matmul",
    "global_maxpool",
    "transpose",
    "lrn",
    "resize",
    "pad",
    "channel_slice",
];

/// Keys each op accepts besides `name`, `op` and `inputs`.
fn op_keys(op: &str) -> &'static [&'static str] {
    match op {
        "input" | "reshape" => &["shape"],
        "conv2d" => &["out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias"],
        "linear" => &["out_features", "bias"],
        "batchnorm" => &["eps"],
        "clip" => &["min", "max"],
        "maxpool" => &["kernel", "stride", "padding", "ceil_mode"],
        "avgpool" => &["kernel", "stride", "padding", "ceil_mode", "count_include_pad"],
        "dropout" => &["ratio"],
        "hard_sigmoid" => &["alpha", "beta"],
        "softmax" | "log_softmax" => &["axis"],
        "layernorm" => &["axis", "eps"],
        "matmul" => &["transpose_a", "transpose_b"],
        "transpose" => &["perm"],
        "lrn" => &["size", "alpha", "beta", "bias_term"],
        "resize" => &["size", "mode", "coordinates", "nearest_mode"],
        "pad" => &["padding", "mode", "value"],
        "channel_slice" => &["start", "channels"],
        _ => &[],
    }
}

/// Context for converting one layer table, carrying what error messages need.
struct Ctx<'a> {
    file: &'a str,
    source: &'a str,
    index: usize,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> SourceError {
        SourceError::at(self.file, self.source, Some(span), Some(format!("layer[{}].{key}", self.index)), message)
    }

    fn int(&self, key: &str, v: &Value) -> Result<usize, SourceError> {
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 => Ok(*i as usize),
            other => Err(self.err(v.span(), key, format!("expected a non-negative integer, got {}", describe(other)))),
        }
    }

    fn req_int(&self, raw: &Spanned<RawLayer>, key: &str, v: &Option<Value>) -> Result<usize, SourceError> {
        match v {
            Some(v) => self.int(key, v),
            None => Err(self.missing(raw, key)),
        }
    }

    fn missing(&self, raw: &Spanned<RawLayer>, key: &str) -> SourceError {
        let op = raw.get_ref().op.get_ref();
        self.err(raw.span(), key, format!("op `{op}` needs the key `{key}`"))
    }

    fn opt_int(&self, key: &str, v: &Option<Value>, default: usize) -> Result<usize, SourceError> {
        v.as_ref().map_or(Ok(default), |v| self.int(key, v))
    }

    /// An axis name; channels when absent (the feature axis of token sequences).
    fn axis(&self, v: &Option<Value>) -> Result<Axis, SourceError> {
        let Some(v) = v else { return Ok(Axis::Channels) };
        match v.get_ref() {
            toml::Value::String(s) if s == "channels" => Ok(Axis::Channels),
            toml::Value::String(s) if s == "height" => Ok(Axis::Height),
            toml::Value::String(s) if s == "width" => Ok(Axis::Width),
            other => Err(self.err(
                v.span(),
                "axis",
                format!("expected \"channels\", \"height\" or \"width\", got {}", describe(other)),
            )),
        }
    }

    /// One of `choices` (the first is the default).
    fn choice(&self, key: &str, v: &Option<Value>, choices: &[&'static str]) -> Result<&'static str, SourceError> {
        let Some(v) = v else { return Ok(choices[0]) };
        match v.get_ref() {
            toml::Value::String(s) if choices.contains(&s.as_str()) => {
                Ok(choices.iter().find(|c| **c == s.as_str()).expect("contained"))
            }
            other => {
                let list = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
                Err(self.err(v.span(), key, format!("expected one of {list}, got {}", describe(other))))
            }
        }
    }

    fn boolean(&self, key: &str, v: &Option<Value>, default: bool) -> Result<bool, SourceError> {
        match v {
            None => Ok(default),
            Some(v) => match v.get_ref() {
                toml::Value::Boolean(b) => Ok(*b),
                other => Err(self.err(v.span(), key, format!("expected true or false, got {}", describe(other)))),
            },
        }
    }

    fn float(&self, key: &str, v: &Option<Value>, default: f32) -> Result<f32, SourceError> {
        match v {
            None => Ok(default),
            Some(v) => match v.get_ref() {
                toml::Value::Float(f) => Ok(*f as f32),
                toml::Value::Integer(i) => Ok(*i as f32),
                other => Err(self.err(v.span(), key, format!("expected a number, got {}", describe(other)))),
            },
        }
    }

    fn ints(&self, key: &str, v: &Value) -> Result<Vec<usize>, SourceError> {
        match v.get_ref() {
            toml::Value::Integer(_) => Ok(vec![self.int(key, v)?]),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::Integer(i) if *i >= 0 => Ok(*i as usize),
                    other => Err(self.err(
                        v.span(),
                        key,
                        format!("expected non-negative integers, found {}", describe(other)),
                    )),
                })
                .collect(),
            other => Err(self.err(
                v.span(),
                key,
                format!("expected an integer or a list of integers, got {}", describe(other)),
            )),
        }
    }

    /// `k` or `[kh, kw]`.
    fn pair(&self, key: &str, v: &Option<Value>, default: usize) -> Result<[usize; 2], SourceError> {
        let Some(v) = v else {
            return Ok([default, default]);
        };
        match self.ints(key, v)?.as_slice() {
            [k] => Ok([*k, *k]),
            [h, w] => Ok([*h, *w]),
            other => Err(self.err(
                v.span(),
                key,
                format!("expected one value or [height, width], got {} values", other.len()),
            )),
        }
    }

    /// `p`, `[ph, pw]` or `[top, left, bottom, right]`.
    fn padding(&self, v: &Option<Value>) -> Result<Padding, SourceError> {
        let Some(v) = v else {
            return Ok(Padding::uniform(0));
        };
        match self.ints("padding", v)?.as_slice() {
            [p] => Ok(Padding::uniform(*p)),
            [h, w] => Ok(Padding::symmetric(*h, *w)),
            [top, left, bottom, right] => Ok(Padding { top: *top, left: *left, bottom: *bottom, right: *right }),
            other => Err(self.err(
                v.span(),
                "padding",
                format!(
                    "expected one value, [height, width] or [top, left, bottom, right], got {} values",
                    other.len()
                ),
            )),
        }
    }

    /// `[channels, height, width]`, or `[features]` for a flat vector.
    fn shape(&self, raw: &Spanned<RawLayer>, v: &Option<Value>) -> Result<Shape, SourceError> {
        let Some(v) = v else {
            return Err(self.missing(raw, "shape"));
        };
        match self.ints("shape", v)?.as_slice() {
            [n] => Ok(Shape::flat(*n)),
            [c, h, w] => Ok(Shape::new(*c, *h, *w)),
            other => Err(self.err(
                v.span(),
                "shape",
                format!("expected [channels, height, width] or [features], got {} values", other.len()),
            )),
        }
    }
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(i) => format!("the integer {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Datetime(_) => "a date".to_owned(),
        toml::Value::Array(_) => "a list".to_owned(),
        toml::Value::Table(_) => "a table".to_owned(),
    }
}

/// Spans of each present key of a layer, for mapping graph errors back.
fn key_spans(raw: &RawLayer) -> Vec<(&'static str, Range<usize>)> {
    let mut spans = vec![("name", raw.name.span()), ("op", raw.op.span())];
    if let Some(v) = &raw.inputs {
        spans.push(("inputs", v.span()));
    }
    let values: [(&'static str, &Option<Value>); 29] = [
        ("shape", &raw.shape),
        ("out_channels", &raw.out_channels),
        ("out_features", &raw.out_features),
        ("kernel", &raw.kernel),
        ("stride", &raw.stride),
        ("padding", &raw.padding),
        ("dilation", &raw.dilation),
        ("groups", &raw.groups),
        ("bias", &raw.bias),
        ("eps", &raw.eps),
        ("min", &raw.min),
        ("max", &raw.max),
        ("axis", &raw.axis),
        ("alpha", &raw.alpha),
        ("beta", &raw.beta),
        ("transpose_a", &raw.transpose_a),
        ("transpose_b", &raw.transpose_b),
        ("perm", &raw.perm),
        ("size", &raw.size),
        ("bias_term", &raw.bias_term),
        ("mode", &raw.mode),
        ("coordinates", &raw.coordinates),
        ("nearest_mode", &raw.nearest_mode),
        ("value", &raw.value),
        ("start", &raw.start),
        ("channels", &raw.channels),
        ("ratio", &raw.ratio),
        ("ceil_mode", &raw.ceil_mode),
        ("count_include_pad", &raw.count_include_pad),
    ];
    for (key, v) in values {
        if let Some(v) = v {
            spans.push((key, v.span()));
        }
    }
    spans
}

fn layer_from_raw(ctx: &Ctx<'_>, raw: &Spanned<RawLayer>) -> Result<Layer, SourceError> {
    let r = raw.get_ref();
    let op_name = r.op.get_ref().as_str();
    if !OPS.contains(&op_name) {
        return Err(ctx.err(r.op.span(), "op", format!("unknown op `{op_name}`; expected one of: {}", OPS.join(", "))));
    }
    let allowed = op_keys(op_name);
    for (key, span) in key_spans(r) {
        if !matches!(key, "name" | "op" | "inputs") && !allowed.contains(&key) {
            let hint = if allowed.is_empty() {
                "it takes no keys besides name, op and inputs".to_owned()
            } else {
                format!("its keys are: {}", allowed.join(", "))
            };
            return Err(ctx.err(span, key, format!("op `{op_name}` has no key `{key}`; {hint}")));
        }
    }
    let inputs: Vec<String> = match (&r.inputs, op_name) {
        (Some(v), "input") => return Err(ctx.err(v.span(), "inputs", "the `input` layer takes no inputs")),
        (None, "input") => Vec::new(),
        (None, _) => return Err(ctx.missing(raw, "inputs")),
        (Some(v), _) => v.get_ref().clone(),
    };
    let op = match op_name {
        "input" => Op::Input { shape: ctx.shape(raw, &r.shape)? },
        "conv2d" => Op::Conv2d(Conv2d {
            out_channels: ctx.req_int(raw, "out_channels", &r.out_channels)?,
            kernel: match &r.kernel {
                Some(_) => ctx.pair("kernel", &r.kernel, 1)?,
                None => return Err(ctx.missing(raw, "kernel")),
            },
            stride: ctx.pair("stride", &r.stride, 1)?,
            padding: ctx.padding(&r.padding)?,
            dilation: ctx.pair("dilation", &r.dilation, 1)?,
            groups: ctx.opt_int("groups", &r.groups, 1)?,
            bias: ctx.boolean("bias", &r.bias, false)?,
        }),
        "linear" => Op::Linear(Linear {
            out_features: ctx.req_int(raw, "out_features", &r.out_features)?,
            bias: ctx.boolean("bias", &r.bias, true)?,
        }),
        "batchnorm" => Op::BatchNorm(BatchNorm { eps: ctx.float("eps", &r.eps, 1e-5)? }),
        "relu" => Op::Activation(Activation::Relu),
        "relu6" => Op::Activation(Activation::Relu6),
        "clip" => Op::Activation(Activation::Clip {
            min: ctx.float("min", &r.min, f32::NEG_INFINITY)?,
            max: ctx.float("max", &r.max, f32::INFINITY)?,
        }),
        "maxpool" | "avgpool" => {
            let kernel = match &r.kernel {
                Some(_) => ctx.pair("kernel", &r.kernel, 1)?,
                None => return Err(ctx.missing(raw, "kernel")),
            };
            Op::Pool(Pool {
                kind: if op_name == "maxpool" { PoolKind::Max } else { PoolKind::Avg },
                kernel,
                // PyTorch's default stride is the kernel size.
                stride: match &r.stride {
                    Some(_) => ctx.pair("stride", &r.stride, 1)?,
                    None => kernel,
                },
                padding: ctx.padding(&r.padding)?,
                ceil_mode: ctx.boolean("ceil_mode", &r.ceil_mode, false)?,
                count_include_pad: ctx.boolean("count_include_pad", &r.count_include_pad, true)?,
            })
        }
        "global_avgpool" => Op::GlobalAvgPool,
        "add" => Op::Add,
        "concat" => Op::Concat,
        "flatten" => Op::Flatten,
        "reshape" => Op::Reshape { shape: ctx.shape(raw, &r.shape)? },
        "identity" => Op::Identity,
        "dropout" => Op::Dropout { ratio: ctx.float("ratio", &r.ratio, 0.5)? },
        "sigmoid" => Op::Activation(Activation::Sigmoid),
        "hard_sigmoid" => Op::Activation(Activation::HardSigmoid {
            // ONNX HardSigmoid's defaults.
            alpha: ctx.float("alpha", &r.alpha, 0.2)?,
            beta: ctx.float("beta", &r.beta, 0.5)?,
        }),
        "hard_swish" => Op::Activation(Activation::HardSwish),
        "tanh" => Op::Activation(Activation::Tanh),
        "erf" => Op::Activation(Activation::Erf),
        "gelu" => Op::Activation(Activation::Gelu),
        "scale" => Op::Scale,
        "mul" => Op::Mul,
        "softmax" | "log_softmax" => Op::Softmax { axis: ctx.axis(&r.axis)?, log: op_name == "log_softmax" },
        "layernorm" => Op::LayerNorm { axis: ctx.axis(&r.axis)?, eps: ctx.float("eps", &r.eps, 1e-5)? },
        "matmul" => Op::MatMul {
            transpose_a: ctx.boolean("transpose_a", &r.transpose_a, false)?,
            transpose_b: ctx.boolean("transpose_b", &r.transpose_b, false)?,
        },
        "global_maxpool" => Op::GlobalMaxPool,
        "transpose" => {
            let perm = match &r.perm {
                Some(v) => ctx.ints("perm", v)?,
                None => return Err(ctx.missing(raw, "perm")),
            };
            let Ok(perm) = <[usize; 3]>::try_from(perm) else {
                let span = r.perm.as_ref().map_or(0..0, Spanned::span);
                return Err(ctx.err(span, "perm", "expected three axes, e.g. [0, 2, 1]"));
            };
            Op::Transpose { perm }
        }
        "lrn" => Op::Lrn {
            size: ctx.req_int(raw, "size", &r.size)?,
            // ONNX LRN's defaults.
            alpha: ctx.float("alpha", &r.alpha, 1e-4)?,
            beta: ctx.float("beta", &r.beta, 0.75)?,
            bias: ctx.float("bias_term", &r.bias_term, 1.0)?,
        },
        "resize" => {
            let size = match &r.size {
                Some(_) => ctx.pair("size", &r.size, 1)?,
                None => return Err(ctx.missing(raw, "size")),
            };
            let linear = ctx.choice("mode", &r.mode, &["nearest", "linear"])? == "linear";
            let coord =
                match ctx.choice("coordinates", &r.coordinates, &["asymmetric", "half_pixel", "align_corners"])? {
                    "asymmetric" => ResizeCoord::Asymmetric,
                    "half_pixel" => ResizeCoord::HalfPixel,
                    _ => ResizeCoord::AlignCorners,
                };
            let round = ctx.choice("nearest_mode", &r.nearest_mode, &["floor", "round_prefer_floor"])? != "floor";
            Op::Resize { size, linear, coord, round }
        }
        "channel_slice" => Op::ChannelSlice {
            start: ctx.opt_int("start", &r.start, 0)?,
            len: ctx.req_int(raw, "channels", &r.channels)?,
        },
        "pad" => {
            if r.padding.is_none() {
                return Err(ctx.missing(raw, "padding"));
            }
            let mode = match ctx.choice("mode", &r.mode, &["constant", "reflect", "edge"])? {
                "constant" => PadMode::Constant,
                "reflect" => PadMode::Reflect,
                _ => PadMode::Edge,
            };
            Op::Pad { padding: ctx.padding(&r.padding)?, mode, value: ctx.float("value", &r.value, 0.0)? }
        }
        _ => unreachable!("op names were checked against OPS"),
    };
    Ok(Layer { name: r.name.get_ref().clone(), op, inputs, params: None })
}

/// Parses and validates a workload. `file` names the source in error messages.
/// BatchNorm layers are kept (see [`crate::fold_batchnorm`]).
pub fn load_workload_toml(file: &str, source: &str) -> Result<Network, SourceError> {
    let raw: RawWorkload = toml::from_str(source).map_err(|e| {
        let message = e.message().trim_end().to_owned();
        SourceError::at(file, source, e.span(), None, message)
    })?;
    let mut builder = NetworkBuilder::new(raw.network.name.clone());
    let mut layer_index: HashMap<&str, usize> = HashMap::new();
    for (index, layer) in raw.layer.iter().enumerate() {
        let ctx = Ctx { file, source, index };
        builder.push(layer_from_raw(&ctx, layer)?);
        layer_index.entry(layer.get_ref().name.get_ref().as_str()).or_insert(index);
    }
    builder.build().map_err(|e| locate_graph_error(file, source, &raw, &layer_index, e))
}

fn locate_graph_error(
    file: &str,
    source: &str,
    raw: &RawWorkload,
    layer_index: &HashMap<&str, usize>,
    e: GraphError,
) -> SourceError {
    let Some(layer) = &e.layer else {
        return SourceError::at(file, source, None, None, e.message);
    };
    let Some(&index) = layer_index.get(layer.as_str()) else {
        return SourceError::at(file, source, None, None, e.to_string());
    };
    let raw_layer = &raw.layer[index];
    // A duplicate name is reported at the later layer, which the index map does
    // not hold: find it by scanning.
    let (index, raw_layer) = if e.key == Some("name") {
        raw.layer
            .iter()
            .enumerate()
            .filter(|(_, l)| l.get_ref().name.get_ref() == layer)
            .nth(1)
            .unwrap_or((index, raw_layer))
    } else {
        (index, raw_layer)
    };
    let key = e.key.unwrap_or("name");
    let span = key_spans(raw_layer.get_ref())
        .into_iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| raw_layer.span(), |(_, s)| s);
    SourceError::at(
        file,
        source,
        Some(span),
        Some(format!("layer[{index}].{key}")),
        format!("layer `{layer}`: {}", e.message),
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn pair_text(v: [usize; 2]) -> String {
    if v[0] == v[1] { v[0].to_string() } else { format!("[{}, {}]", v[0], v[1]) }
}

fn padding_text(p: Padding) -> String {
    if p.top == p.left && p.is_symmetric() {
        p.top.to_string()
    } else if p.is_symmetric() {
        format!("[{}, {}]", p.top, p.left)
    } else {
        format!("[{}, {}, {}, {}]", p.top, p.left, p.bottom, p.right)
    }
}

fn shape_text(s: Shape) -> String {
    if s.is_flat() { format!("[{}]", s.channels) } else { format!("[{}, {}, {}]", s.channels, s.height, s.width) }
}

fn float_text(f: f32) -> String {
    toml::Value::Float(f64::from(f)).to_string()
}

/// Writes `net` in the workload format (structure only: trained parameters are
/// not part of the format). Loading the text gives back the same layers.
pub fn to_workload_toml(net: &Network, description: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# rramsim workload (format reference: workloads/README.md)");
    let _ = writeln!(out, "[network]\nname = {}", toml_string(net.name()));
    if let Some(d) = description {
        let _ = writeln!(out, "description = {}", toml_string(d));
    }
    for layer in net.layers() {
        let _ = writeln!(out, "\n[[layer]]\nname = {}\nop = \"{}\"", toml_string(&layer.name), layer.op.kind_name());
        if !layer.inputs.is_empty() {
            let names: Vec<String> = layer.inputs.iter().map(|s| toml_string(s)).collect();
            let _ = writeln!(out, "inputs = [{}]", names.join(", "));
        }
        let mut kv = |k: &str, v: String| {
            let _ = writeln!(out, "{k} = {v}");
        };
        match &layer.op {
            Op::Input { shape } | Op::Reshape { shape } => kv("shape", shape_text(*shape)),
            Op::Conv2d(c) => {
                kv("out_channels", c.out_channels.to_string());
                kv("kernel", pair_text(c.kernel));
                if c.stride != [1, 1] {
                    kv("stride", pair_text(c.stride));
                }
                if c.padding != Padding::uniform(0) {
                    kv("padding", padding_text(c.padding));
                }
                if c.dilation != [1, 1] {
                    kv("dilation", pair_text(c.dilation));
                }
                if c.groups != 1 {
                    kv("groups", c.groups.to_string());
                }
                if c.bias {
                    kv("bias", "true".to_owned());
                }
            }
            Op::Linear(l) => {
                kv("out_features", l.out_features.to_string());
                if !l.bias {
                    kv("bias", "false".to_owned());
                }
            }
            Op::BatchNorm(bn) => {
                if bn.eps != 1e-5 {
                    kv("eps", float_text(bn.eps));
                }
            }
            Op::Activation(Activation::Clip { min, max }) => {
                kv("min", float_text(*min));
                kv("max", float_text(*max));
            }
            Op::Pool(p) => {
                kv("kernel", pair_text(p.kernel));
                if p.stride != p.kernel {
                    kv("stride", pair_text(p.stride));
                }
                if p.padding != Padding::uniform(0) {
                    kv("padding", padding_text(p.padding));
                }
                if p.ceil_mode {
                    kv("ceil_mode", "true".to_owned());
                }
                if p.kind == PoolKind::Avg && !p.count_include_pad {
                    kv("count_include_pad", "false".to_owned());
                }
            }
            Op::Dropout { ratio } => kv("ratio", float_text(*ratio)),
            Op::Activation(Activation::HardSigmoid { alpha, beta }) => {
                kv("alpha", float_text(*alpha));
                kv("beta", float_text(*beta));
            }
            Op::Softmax { axis, .. } => kv("axis", toml_string(axis.name())),
            Op::LayerNorm { axis, eps } => {
                kv("axis", toml_string(axis.name()));
                if *eps != 1e-5 {
                    kv("eps", float_text(*eps));
                }
            }
            Op::Transpose { perm } => kv("perm", format!("[{}, {}, {}]", perm[0], perm[1], perm[2])),
            Op::Lrn { size, alpha, beta, bias } => {
                kv("size", size.to_string());
                kv("alpha", float_text(*alpha));
                kv("beta", float_text(*beta));
                kv("bias_term", float_text(*bias));
            }
            Op::Resize { size, linear, coord, round } => {
                kv("size", format!("[{}, {}]", size[0], size[1]));
                if *linear {
                    kv("mode", toml_string("linear"));
                }
                if *coord != ResizeCoord::Asymmetric {
                    kv("coordinates", toml_string(coord.name()));
                }
                if *round {
                    kv("nearest_mode", toml_string("round_prefer_floor"));
                }
            }
            Op::ChannelSlice { start, len } => {
                kv("start", start.to_string());
                kv("channels", len.to_string());
            }
            Op::Pad { padding, mode, value } => {
                kv("padding", padding_text(*padding));
                if *mode != PadMode::Constant {
                    kv("mode", toml_string(mode.name()));
                }
                if *value != 0.0 {
                    kv("value", float_text(*value));
                }
            }
            Op::MatMul { transpose_a, transpose_b } => {
                if *transpose_a {
                    kv("transpose_a", "true".to_owned());
                }
                if *transpose_b {
                    kv("transpose_b", "true".to_owned());
                }
            }
            Op::Activation(_)
            | Op::GlobalAvgPool
            | Op::GlobalMaxPool
            | Op::Add
            | Op::Concat
            | Op::Flatten
            | Op::Identity
            | Op::Scale
            | Op::Mul => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_spellings_round_trip() {
        assert_eq!(pair_text([3, 3]), "3");
        assert_eq!(pair_text([1, 3]), "[1, 3]");
        assert_eq!(padding_text(Padding::uniform(2)), "2");
        assert_eq!(padding_text(Padding::symmetric(0, 1)), "[0, 1]");
        assert_eq!(padding_text(Padding { top: 0, left: 1, bottom: 1, right: 0 }), "[0, 1, 1, 0]");
        assert_eq!(shape_text(Shape::flat(10)), "[10]");
        assert_eq!(float_text(f32::NEG_INFINITY), "-inf");
    }

    #[test]
    fn every_op_has_a_kind_name_the_loader_accepts() {
        for op in OPS {
            // Keys listed for an op are keys the raw layer knows.
            for key in op_keys(op) {
                assert!(
                    [
                        "shape",
                        "out_channels",
                        "out_features",
                        "kernel",
                        "stride",
                        "padding",
                        "dilation",
                        "groups",
                        "bias",
                        "eps",
                        "min",
                        "max",
                        "ratio",
                        "ceil_mode",
                        "count_include_pad",
                        "axis",
                        "alpha",
                        "beta",
                        "transpose_a",
                        "transpose_b",
                        "perm",
                        "size",
                        "bias_term",
                        "mode",
                        "coordinates",
                        "nearest_mode",
                        "value",
                        "start",
                        "channels"
                    ]
                    .contains(key),
                    "{op}: {key}"
                );
            }
        }
    }
}
