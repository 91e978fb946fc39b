//! The validated network: a petgraph DAG of layers in topological order with
//! inferred shapes, and per-layer weight and MAC counts.

use std::collections::{BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::GraphError;
use crate::layer::{Activation, Layer, Op, PadMode, Padding, Params, Pool, Shape};

/// Index of a layer in a [`Network`]; layers are numbered in topological order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(pub usize);

/// Collects layers in any order; [`NetworkBuilder::build`] validates them.
#[derive(Debug, Clone, Default)]
pub struct NetworkBuilder {
    name: String,
    layers: Vec<Layer>,
}

impl NetworkBuilder {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), layers: Vec::new() }
    }

    pub fn push(&mut self, layer: Layer) -> &mut Self {
        self.layers.push(layer);
        self
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layer named `name` (the first, if the name is repeated).
    pub fn layer_mut(&mut self, name: &str) -> Option<&mut Layer> {
        self.layers.iter_mut().find(|l| l.name == name)
    }

    /// Checks names and references, orders the layers topologically (keeping the
    /// declaration order where it already is one), infers every shape and checks
    /// parameter sizes.
    pub fn build(self) -> Result<Network, GraphError> {
        let NetworkBuilder { name, layers } = self;
        if layers.is_empty() {
            return Err(GraphError::network("the network has no layers"));
        }
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(layers.len());
        for (i, layer) in layers.iter().enumerate() {
            if layer.name.is_empty() {
                return Err(GraphError::network(format!("layer #{i} has an empty name")));
            }
            if index.insert(layer.name.as_str(), i).is_some() {
                return Err(GraphError::layer_key(
                    &layer.name,
                    "name",
                    "the name is used by an earlier layer; layer names must be unique",
                ));
            }
        }
        let inputs: Vec<&Layer> = layers.iter().filter(|l| matches!(l.op, Op::Input { .. })).collect();
        match inputs.as_slice() {
            [] => return Err(GraphError::network("the network has no `input` layer")),
            [_] => {}
            [_, second, ..] => {
                return Err(GraphError::layer(
                    &second.name,
                    "a second `input` layer; rramsim supports networks with exactly one input",
                ));
            }
        }
        // Resolve operand names.
        let mut operands: Vec<Vec<usize>> = Vec::with_capacity(layers.len());
        for layer in &layers {
            let mut ids = Vec::with_capacity(layer.inputs.len());
            for input in &layer.inputs {
                match index.get(input.as_str()) {
                    Some(&j) => ids.push(j),
                    None => {
                        return Err(GraphError::layer_key(
                            &layer.name,
                            "inputs",
                            format!("input `{input}` is not a layer of this network"),
                        ));
                    }
                }
            }
            operands.push(ids);
        }
        let order = topological_order(&layers, &operands)?;
        let mut position = vec![0usize; layers.len()];
        for (pos, &old) in order.iter().enumerate() {
            position[old] = pos;
        }
        let mut slots: Vec<Option<Layer>> = layers.into_iter().map(Some).collect();
        let mut graph: DiGraph<Layer, ()> = DiGraph::with_capacity(slots.len(), slots.len());
        let mut inputs_of: Vec<Vec<LayerId>> = Vec::with_capacity(slots.len());
        for &old in &order {
            let layer = slots[old].take().expect("each layer is placed once");
            graph.add_node(layer);
            inputs_of.push(operands[old].iter().map(|&j| LayerId(position[j])).collect());
        }
        for (consumer, ops) in inputs_of.iter().enumerate() {
            for producer in ops {
                graph.add_edge(NodeIndex::new(producer.0), NodeIndex::new(consumer), ());
            }
        }
        let mut shapes: Vec<Shape> = Vec::with_capacity(graph.node_count());
        let mut totals = LayerStats::default();
        for (i, ops) in inputs_of.iter().enumerate() {
            let layer = &graph[NodeIndex::new(i)];
            let in_shapes: Vec<Shape> = ops.iter().map(|p| shapes[p.0]).collect();
            let shape = infer_shape(layer, &in_shapes)?;
            check_sizes(layer, &in_shapes, shape, &mut totals)?;
            check_params(layer, &in_shapes, shape)?;
            shapes.push(shape);
        }
        let by_name = (0..graph.node_count()).map(|i| (graph[NodeIndex::new(i)].name.clone(), LayerId(i))).collect();
        Ok(Network { name, graph, inputs: inputs_of, shapes, by_name })
    }
}

/// Kahn's algorithm, always taking the lowest declaration index that is ready, so a
/// file that is already in order keeps its order.
fn topological_order(layers: &[Layer], operands: &[Vec<usize>]) -> Result<Vec<usize>, GraphError> {
    let n = layers.len();
    let mut pending: Vec<usize> = operands.iter().map(Vec::len).collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (c, ops) in operands.iter().enumerate() {
        for &p in ops {
            consumers[p].push(c);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &c in &consumers[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.insert(c);
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| pending[i] > 0).expect("a layer is left when the order is short");
        return Err(GraphError::layer_key(
            &layers[stuck].name,
            "inputs",
            "the layer is part of a cycle; a network must be a directed acyclic graph",
        ));
    }
    Ok(order)
}

fn expect_operands(layer: &Layer, inputs: &[Shape], n: usize) -> Result<(), GraphError> {
    if inputs.len() != n {
        return Err(GraphError::layer_key(
            &layer.name,
            "inputs",
            format!(
                "`{}` takes {n} input{}, got {}",
                layer.op.kind_name(),
                if n == 1 { "" } else { "s" },
                inputs.len()
            ),
        ));
    }
    Ok(())
}

/// The largest count a built `Network` may hold: values of one layer's output per
/// sample, weight-matrix elements or MACs of a layer, and their network totals.
/// 2^48 is four orders of magnitude above the largest published DNNs, and keeps
/// every count a mapper or engine derives from these (× bits, × cycles, × batch)
/// far inside `u64` and exact in `f64`. Sizes from input above it are an error
/// naming the layer, never a wrapped product.
pub const MAX_COUNT: u64 = 1 << 48;

/// `a × b × …` of sizes from input, or an error naming the layer and key.
fn checked_product(layer: &Layer, key: &'static str, what: &str, factors: &[u64]) -> Result<u64, GraphError> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f)).filter(|&n| n <= MAX_COUNT).ok_or_else(|| {
        let product = factors.iter().map(u64::to_string).collect::<Vec<_>>().join(" x ");
        GraphError::layer_key(&layer.name, key, format!("{what} ({product}) exceeds the limit of 2^48 ({MAX_COUNT})"))
    })
}

/// One spatial dimension of a sliding window.
struct Window {
    size: usize,
    pad_begin: usize,
    pad_end: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    ceil_mode: bool,
}

/// Output size of a sliding window along one dimension (PyTorch's formula).
fn window_out(layer: &Layer, w: Window) -> Result<usize, GraphError> {
    let too_large = |key: &'static str, what: &str| {
        GraphError::layer_key(&layer.name, key, format!("the {what} overflows (sizes from input are checked)"))
    };
    let span = w
        .dilation
        .checked_mul(w.kernel - 1)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| too_large("dilation", "dilated kernel span"))?;
    let padded = w
        .size
        .checked_add(w.pad_begin)
        .and_then(|s| s.checked_add(w.pad_end))
        .ok_or_else(|| too_large("padding", "padded input size"))?;
    if padded < span {
        return Err(GraphError::layer_key(
            &layer.name,
            "kernel",
            format!("the window ({span} with dilation) is larger than the padded input ({padded})"),
        ));
    }
    let steps = padded - span;
    let mut out = if w.ceil_mode { steps.div_ceil(w.stride) + 1 } else { steps / w.stride + 1 };
    // With ceil_mode the last window must start inside the input or the
    // leading padding.
    // (out - 1) · stride ≤ steps + stride - 1 and size + pad_begin ≤ padded: no overflow.
    if w.ceil_mode && (out - 1) * w.stride >= w.size + w.pad_begin {
        out -= 1;
    }
    Ok(out)
}

/// Output height and width of a 2-D window over `x`.
fn window_hw(
    layer: &Layer,
    x: Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    p: Padding,
    dilation: [usize; 2],
    ceil_mode: bool,
) -> Result<(usize, usize), GraphError> {
    let along = |size, pad_begin, pad_end, d: usize| {
        window_out(
            layer,
            Window { size, pad_begin, pad_end, kernel: kernel[d], stride: stride[d], dilation: dilation[d], ceil_mode },
        )
    };
    Ok((along(x.height, p.top, p.bottom, 0)?, along(x.width, p.left, p.right, 1)?))
}

fn check_nonzero(layer: &Layer, key: &'static str, values: &[usize]) -> Result<(), GraphError> {
    if values.contains(&0) {
        return Err(GraphError::layer_key(&layer.name, key, "must be at least 1"));
    }
    Ok(())
}

/// The output shape of `layer` given its operands' shapes.
pub(crate) fn infer_shape(layer: &Layer, inputs: &[Shape]) -> Result<Shape, GraphError> {
    let name = layer.name.as_str();
    match &layer.op {
        Op::Input { shape } => {
            expect_operands(layer, inputs, 0)?;
            if shape.checked_elements() == Some(0) {
                return Err(GraphError::layer_key(name, "shape", "every dimension must be at least 1"));
            }
            Ok(*shape)
        }
        Op::Conv2d(conv) => {
            expect_operands(layer, inputs, 1)?;
            let x = inputs[0];
            check_nonzero(layer, "kernel", &conv.kernel)?;
            check_nonzero(layer, "stride", &conv.stride)?;
            check_nonzero(layer, "dilation", &conv.dilation)?;
            check_nonzero(layer, "out_channels", &[conv.out_channels])?;
            check_nonzero(layer, "groups", &[conv.groups])?;
            if x.channels % conv.groups != 0 {
                return Err(GraphError::layer_key(
                    name,
                    "groups",
                    format!("{} input channels are not divisible into {} groups", x.channels, conv.groups),
                ));
            }
            if conv.out_channels % conv.groups != 0 {
                return Err(GraphError::layer_key(
                    name,
                    "out_channels",
                    format!("{} output channels are not divisible into {} groups", conv.out_channels, conv.groups),
                ));
            }
            let (h, w) = window_hw(layer, x, conv.kernel, conv.stride, conv.padding, conv.dilation, false)?;
            Ok(Shape::new(conv.out_channels, h, w))
        }
        Op::Linear(linear) => {
            expect_operands(layer, inputs, 1)?;
            check_nonzero(layer, "out_features", &[linear.out_features])?;
            if !inputs[0].is_flat() {
                return Err(GraphError::layer_key(
                    name,
                    "inputs",
                    format!("`linear` needs a flat input, got {}; insert a `flatten` layer", inputs[0]),
                ));
            }
            Ok(Shape::flat(linear.out_features))
        }
        Op::BatchNorm(_) | Op::Activation(_) | Op::Identity | Op::Dropout { .. } => {
            expect_operands(layer, inputs, 1)?;
            if let Op::Activation(Activation::Clip { min, max }) = layer.op {
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(GraphError::layer_key(name, "min", format!("clip range [{min}, {max}] is empty")));
                }
            }
            if let Op::Dropout { ratio } = layer.op {
                if !(0.0..1.0).contains(&ratio) {
                    return Err(GraphError::layer_key(
                        name,
                        "ratio",
                        format!("dropout ratio {ratio} is outside [0, 1)"),
                    ));
                }
            }
            Ok(inputs[0])
        }
        Op::Pool(pool) => {
            expect_operands(layer, inputs, 1)?;
            let x = inputs[0];
            check_nonzero(layer, "kernel", &pool.kernel)?;
            check_nonzero(layer, "stride", &pool.stride)?;
            let Pool { kernel, stride, padding: p, ceil_mode, .. } = pool;
            if p.top.max(p.bottom).saturating_mul(2) > kernel[0] || p.left.max(p.right).saturating_mul(2) > kernel[1] {
                return Err(GraphError::layer_key(name, "padding", "pool padding must be at most half the kernel"));
            }
            let (h, w) = window_hw(layer, x, *kernel, *stride, *p, [1, 1], *ceil_mode)?;
            Ok(Shape::new(x.channels, h, w))
        }
        Op::GlobalAvgPool | Op::GlobalMaxPool => {
            expect_operands(layer, inputs, 1)?;
            Ok(Shape::new(inputs[0].channels, 1, 1))
        }
        Op::Transpose { perm } => {
            expect_operands(layer, inputs, 1)?;
            let mut sorted = *perm;
            sorted.sort_unstable();
            if sorted != [0, 1, 2] {
                return Err(GraphError::layer_key(name, "perm", format!("{perm:?} is not a permutation of [0, 1, 2]")));
            }
            let x = inputs[0];
            let d = [x.channels, x.height, x.width];
            Ok(Shape::new(d[perm[0]], d[perm[1]], d[perm[2]]))
        }
        Op::Lrn { size, .. } => {
            expect_operands(layer, inputs, 1)?;
            check_nonzero(layer, "size", &[*size])?;
            Ok(inputs[0])
        }
        Op::Resize { size, linear, round, .. } => {
            expect_operands(layer, inputs, 1)?;
            check_nonzero(layer, "size", size)?;
            if *linear && *round {
                return Err(GraphError::layer_key(name, "nearest_mode", "a linear resize does not round"));
            }
            Ok(Shape::new(inputs[0].channels, size[0], size[1]))
        }
        Op::ChannelSlice { start, len } => {
            expect_operands(layer, inputs, 1)?;
            check_nonzero(layer, "channels", &[*len])?;
            let c = inputs[0].channels;
            if start.checked_add(*len).is_none_or(|end| end > c) {
                return Err(GraphError::layer_key(
                    name,
                    "start",
                    format!("channels {start}..{start}+{len} are outside the input's {c} channels"),
                ));
            }
            Ok(Shape::new(*len, inputs[0].height, inputs[0].width))
        }
        Op::Pad { padding: p, mode, .. } => {
            expect_operands(layer, inputs, 1)?;
            let x = inputs[0];
            let grow = |n: usize, a: usize, b: usize| n.checked_add(a)?.checked_add(b);
            let (Some(h), Some(w)) = (grow(x.height, p.top, p.bottom), grow(x.width, p.left, p.right)) else {
                return Err(GraphError::layer_key(name, "padding", "the padded size overflows"));
            };
            if *mode == PadMode::Reflect && (p.top.max(p.bottom) >= x.height || p.left.max(p.right) >= x.width) {
                return Err(GraphError::layer_key(
                    name,
                    "padding",
                    format!("reflect padding must be smaller than the input's {}x{} plane", x.height, x.width),
                ));
            }
            Ok(Shape::new(x.channels, h, w))
        }
        Op::Scale | Op::Softmax { .. } => {
            expect_operands(layer, inputs, 1)?;
            Ok(inputs[0])
        }
        Op::LayerNorm { eps, .. } => {
            expect_operands(layer, inputs, 1)?;
            if eps.is_nan() || *eps < 0.0 {
                return Err(GraphError::layer_key(name, "eps", format!("epsilon {eps} must be non-negative")));
            }
            Ok(inputs[0])
        }
        Op::Mul => {
            expect_operands(layer, inputs, 2)?;
            let (a, b) = (inputs[0], inputs[1]);
            if a != b && b != Shape::new(a.channels, 1, 1) {
                return Err(GraphError::layer_key(
                    name,
                    "inputs",
                    format!(
                        "`mul` inputs must have the same shape (or the second one value per channel), got {a} and {b}"
                    ),
                ));
            }
            Ok(inputs[0])
        }
        Op::MatMul { transpose_a, transpose_b } => {
            expect_operands(layer, inputs, 2)?;
            let (a, b) = (inputs[0], inputs[1]);
            let (m, ka) = if *transpose_a { (a.width, a.height) } else { (a.height, a.width) };
            let (kb, n) = if *transpose_b { (b.width, b.height) } else { (b.height, b.width) };
            if a.channels != b.channels || ka != kb {
                return Err(GraphError::layer_key(
                    name,
                    "inputs",
                    format!(
                        "`matmul` multiplies {} matrices of {m}x{ka} by {} of {kb}x{n}: the batch (channels) and \
                         inner sizes must agree",
                        a.channels, b.channels
                    ),
                ));
            }
            Ok(Shape::new(a.channels, m, n))
        }
        Op::Add => {
            if inputs.len() < 2 {
                return Err(GraphError::layer_key(name, "inputs", "`add` takes at least 2 inputs"));
            }
            if let Some(other) = inputs.iter().find(|s| **s != inputs[0]) {
                return Err(GraphError::layer_key(
                    name,
                    "inputs",
                    format!("`add` inputs must have the same shape, got {} and {}", inputs[0], other),
                ));
            }
            Ok(inputs[0])
        }
        Op::Concat => {
            if inputs.len() < 2 {
                return Err(GraphError::layer_key(name, "inputs", "`concat` takes at least 2 inputs"));
            }
            let first = inputs[0];
            if let Some(other) = inputs.iter().find(|s| (s.height, s.width) != (first.height, first.width)) {
                return Err(GraphError::layer_key(
                    name,
                    "inputs",
                    format!("`concat` joins channels of equal height and width, got {first} and {other}"),
                ));
            }
            let channels = inputs
                .iter()
                .try_fold(0usize, |acc, s| acc.checked_add(s.channels))
                .ok_or_else(|| GraphError::layer_key(name, "inputs", "the concatenated channel count overflows"))?;
            Ok(Shape::new(channels, first.height, first.width))
        }
        Op::Flatten => {
            expect_operands(layer, inputs, 1)?;
            Ok(Shape::flat(inputs[0].elements()))
        }
        Op::Reshape { shape } => {
            expect_operands(layer, inputs, 1)?;
            if shape.checked_elements() != Some(inputs[0].elements()) {
                return Err(GraphError::layer_key(
                    name,
                    "shape",
                    format!(
                        "cannot reshape {} ({} values) to {} ({} values)",
                        inputs[0],
                        inputs[0].elements(),
                        shape,
                        shape.checked_elements().map_or_else(|| "too many".to_owned(), |n| n.to_string())
                    ),
                ));
            }
            Ok(*shape)
        }
    }
}

/// Checks that the layer's output values per sample, weights and MACs, and the
/// network totals so far, stay within [`MAX_COUNT`] (so `Network::stats` and
/// everything computed from it cannot overflow).
fn check_sizes(layer: &Layer, inputs: &[Shape], output: Shape, totals: &mut LayerStats) -> Result<(), GraphError> {
    let dims = [output.channels as u64, output.height as u64, output.width as u64];
    let key = match layer.op {
        Op::Input { .. } | Op::Reshape { .. } => "shape",
        Op::Resize { .. } => "size",
        Op::Pad { .. } => "padding",
        Op::ChannelSlice { .. } => "channels",
        _ => "inputs",
    };
    checked_product(layer, key, "the output's values per sample", &dims)?;
    let (weights, biases, macs) = match &layer.op {
        Op::Conv2d(conv) => {
            let cin = inputs[0].channels as u64 / conv.groups as u64;
            let [kh, kw] = conv.kernel.map(|k| k as u64);
            let w =
                checked_product(layer, "out_channels", "the weight count", &[conv.out_channels as u64, cin, kh, kw])?;
            let spatial = (output.height * output.width) as u64;
            (w, conv.out_channels as u64, checked_product(layer, "out_channels", "the MAC count", &[w, spatial])?)
        }
        Op::Linear(linear) => {
            let w = checked_product(
                layer,
                "out_features",
                "the weight count",
                &[inputs[0].channels as u64, linear.out_features as u64],
            )?;
            (w, linear.out_features as u64, w)
        }
        _ => (0, 0, 0),
    };
    let sum = |a: u64, b: u64| a.checked_add(b).filter(|&n| n <= MAX_COUNT);
    match (sum(totals.weights, weights), sum(totals.biases, biases), sum(totals.macs, macs)) {
        (Some(weights), Some(biases), Some(macs)) => {
            *totals = LayerStats { weights, biases, macs };
            Ok(())
        }
        _ => Err(GraphError::layer(
            &layer.name,
            format!("the network's total weights or MACs up to this layer exceed the limit of 2^48 ({MAX_COUNT})"),
        )),
    }
}

/// Checks that trained parameters, where present, have the sizes the shapes imply.
fn check_params(layer: &Layer, inputs: &[Shape], output: Shape) -> Result<(), GraphError> {
    let Some(params) = &layer.params else {
        return Ok(());
    };
    let (weights, biases) = weight_counts(&layer.op, inputs, output);
    let bad = |what: &str, got: usize, want: u64| {
        GraphError::layer(&layer.name, format!("{what} has {got} values, the layer's shape needs {want}"))
    };
    match (params, &layer.op) {
        (Params::Dense { weight, bias }, Op::Conv2d(_) | Op::Linear(_)) => {
            if weight.len() as u64 != weights {
                return Err(bad("the weight tensor", weight.len(), weights));
            }
            if let Some(bias) = bias {
                if bias.len() != output.channels || biases == 0 {
                    return Err(bad("the bias", bias.len(), output.channels as u64));
                }
            }
            Ok(())
        }
        (Params::Affine { scale, shift }, Op::Scale) => {
            let (c, e) = (output.channels, output.elements());
            for (what, v) in [("scale", scale), ("shift", shift)] {
                if v.len() != 1 && v.len() != c && v.len() != e {
                    return Err(GraphError::layer(
                        &layer.name,
                        format!(
                            "{what} has {} values; a scale takes 1, {c} (per channel) or {e} (per element)",
                            v.len()
                        ),
                    ));
                }
            }
            Ok(())
        }
        (Params::Affine { scale, shift }, Op::LayerNorm { axis, .. }) => {
            let n = axis.len(output);
            for (what, v) in [("gamma", scale), ("beta", shift)] {
                if v.len() != n {
                    return Err(bad(what, v.len(), n as u64));
                }
            }
            Ok(())
        }
        (Params::BatchNorm { gamma, beta, mean, var }, Op::BatchNorm(_)) => {
            let c = output.channels;
            for (what, v) in [("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)] {
                if v.len() != c {
                    return Err(bad(what, v.len(), c as u64));
                }
            }
            Ok(())
        }
        _ => Err(GraphError::layer(&layer.name, format!("`{}` cannot carry these parameters", layer.op.kind_name()))),
    }
}

/// Weight-matrix elements and bias values of a layer.
fn weight_counts(op: &Op, inputs: &[Shape], output: Shape) -> (u64, u64) {
    match op {
        Op::Conv2d(conv) => {
            let cin = inputs[0].channels as u64;
            let w = conv.out_channels as u64 * (cin / conv.groups as u64) * (conv.kernel[0] * conv.kernel[1]) as u64;
            (w, if conv.bias { conv.out_channels as u64 } else { 0 })
        }
        Op::Linear(linear) => (
            inputs[0].channels as u64 * linear.out_features as u64,
            if linear.bias { linear.out_features as u64 } else { 0 },
        ),
        _ => {
            let _ = output;
            (0, 0)
        }
    }
}

/// Size figures of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerStats {
    /// Elements of the weight matrix (what a crossbar stores).
    pub weights: u64,
    /// Bias values (added after the matrix product; not stored in crossbars).
    pub biases: u64,
    /// Multiply-accumulates for one input sample.
    pub macs: u64,
}

/// A validated network: layers in topological order, every shape known.
#[derive(Debug, Clone)]
pub struct Network {
    name: String,
    /// Node `i` is layer `LayerId(i)`; edges run producer → consumer.
    graph: DiGraph<Layer, ()>,
    /// Operands of each layer, in operand order (petgraph edges are unordered).
    inputs: Vec<Vec<LayerId>>,
    /// Output shape of each layer.
    shapes: Vec<Shape>,
    /// Layer name → id.
    by_name: HashMap<String, LayerId>,
}

impl Network {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn ids(&self) -> impl ExactSizeIterator<Item = LayerId> + '_ {
        (0..self.len()).map(LayerId)
    }

    pub fn layer(&self, id: LayerId) -> &Layer {
        &self.graph[NodeIndex::new(id.0)]
    }

    pub fn layers(&self) -> impl ExactSizeIterator<Item = &Layer> + '_ {
        self.ids().map(|id| self.layer(id))
    }

    pub fn find(&self, name: &str) -> Option<LayerId> {
        self.by_name.get(name).copied()
    }

    /// The producing layers of `id`, in operand order.
    pub fn inputs(&self, id: LayerId) -> &[LayerId] {
        &self.inputs[id.0]
    }

    /// The consuming layers of `id`, in ascending order.
    pub fn consumers(&self, id: LayerId) -> Vec<LayerId> {
        let mut c: Vec<LayerId> = self
            .graph
            .neighbors_directed(NodeIndex::new(id.0), petgraph::Direction::Outgoing)
            .map(|n| LayerId(n.index()))
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// Whether a path of edges leads from `from` to `to` (a layer reaches itself).
    pub fn reaches(&self, from: LayerId, to: LayerId) -> bool {
        petgraph::algo::has_path_connecting(&self.graph, NodeIndex::new(from.0), NodeIndex::new(to.0), None)
    }

    /// The network's input layer.
    pub fn input(&self) -> LayerId {
        self.ids()
            .find(|&id| matches!(self.layer(id).op, Op::Input { .. }))
            .expect("a built network has exactly one input")
    }

    /// Layers no other layer consumes.
    pub fn outputs(&self) -> Vec<LayerId> {
        self.ids().filter(|&id| self.consumers(id).is_empty()).collect()
    }

    pub fn output_shape(&self, id: LayerId) -> Shape {
        self.shapes[id.0]
    }

    pub fn input_shapes(&self, id: LayerId) -> Vec<Shape> {
        self.inputs(id).iter().map(|p| self.shapes[p.0]).collect()
    }

    pub fn stats(&self, id: LayerId) -> LayerStats {
        let layer = self.layer(id);
        let output = self.shapes[id.0];
        let (weights, biases) = weight_counts(&layer.op, &self.input_shapes(id), output);
        let macs = match layer.op {
            Op::Conv2d(_) => weights * (output.height * output.width) as u64,
            Op::Linear(_) => weights,
            Op::MatMul { transpose_a, .. } => {
                let a = self.input_shapes(id)[0];
                let k = if transpose_a { a.height } else { a.width };
                (output.elements() * k) as u64
            }
            _ => 0,
        };
        LayerStats { weights, biases, macs }
    }

    pub fn total_stats(&self) -> LayerStats {
        self.ids().map(|id| self.stats(id)).fold(LayerStats::default(), |a, s| LayerStats {
            weights: a.weights + s.weights,
            biases: a.biases + s.biases,
            macs: a.macs + s.macs,
        })
    }

    /// A builder holding this network's layers, for transforms that rebuild it.
    pub fn to_builder(&self) -> NetworkBuilder {
        let mut b = NetworkBuilder::new(self.name.clone());
        for layer in self.layers() {
            b.push(layer.clone());
        }
        b
    }

    /// The same network under another name.
    pub fn renamed(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(size: usize, pad: usize, kernel: usize, stride: usize, ceil_mode: bool) -> Result<usize, GraphError> {
        let layer = Layer::new("l", Op::Identity, &[]);
        window_out(&layer, Window { size, pad_begin: pad, pad_end: pad, kernel, stride, dilation: 1, ceil_mode })
    }

    #[test]
    fn window_fits_exactly_at_the_edge() {
        // A kernel as large as the padded input gives one output; one more is an error.
        assert_eq!(win(3, 1, 5, 1, false).unwrap(), 1);
        assert!(win(3, 1, 6, 1, false).is_err());
        assert!(win(3, 0, 4, 1, false).is_err());
    }

    #[test]
    fn ceil_mode_drops_a_window_starting_in_the_end_padding() {
        // size 5, kernel 2, stride 2: floor → 2, ceil → 3 (last window starts at 4 < 5).
        assert_eq!(win(5, 0, 2, 2, false).unwrap(), 2);
        assert_eq!(win(5, 0, 2, 2, true).unwrap(), 3);
        // size 4, pad 1, kernel 2, stride 3: ceil((6 - 2) / 3) + 1 = 3, but the third
        // window would start at 6 ≥ 4 + 1: dropped.
        assert_eq!(win(4, 1, 2, 3, true).unwrap(), 2);
    }

    #[test]
    fn topological_order_prefers_declaration_order() {
        let layers = vec![
            Layer::new("c", Op::Identity, &["b"]),
            Layer::new("a", Op::Identity, &[]),
            Layer::new("b", Op::Identity, &["a"]),
            Layer::new("d", Op::Identity, &["a"]),
        ];
        let operands = vec![vec![2], vec![], vec![1], vec![1]];
        assert_eq!(topological_order(&layers, &operands).unwrap(), vec![1, 2, 0, 3]);
    }
}
