//! ONNX import for PyTorch-style exports.
//!
//! Supported ops: Conv (groups included), Gemm, MatMul (+ a bias Add),
//! BatchNormalization (folded into the preceding conv/linear), Relu, Clip,
//! Add/Sum, Concat, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape,
//! Constant, ConstantOfShape, Identity and Dropout here; the ops of transformer,
//! MobileNetV3, tf2onnx and Caffe2 exports and the shape arithmetic in [`ops`]
//! (its `SUPPORTED` lists them all). Any other op is an error that names the node
//! and the op and lists the supported ones. Initializers are read from `raw_data` or from the
//! typed fields; tensor shapes given in `value_info` / graph outputs are checked
//! against the inferred ones.
//!
//! The protobuf types in [`proto`] are prost code generated from the committed
//! `proto/onnx.proto` by `cargo run --manifest-path xtask/Cargo.toml -- gen-onnx`.

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_debug_implementations, missing_docs)]
pub mod proto;

mod export;
mod ops;
pub use export::export_onnx;
use ops::Layout;

use std::collections::HashMap;
use std::fmt;

use prost::Message;

use crate::error::GraphError;
use crate::layer::{Activation, BatchNorm, Conv2d, Layer, Linear, Op, Padding, Params, Pool, PoolKind, Shape};
use crate::network::{Network, NetworkBuilder, infer_shape};
use crate::transform::fold_batchnorm;
use proto::tensor_proto::DataType;

/// An import error, naming the ONNX node (and its op) at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxError {
    pub node: Option<String>,
    pub op: Option<String>,
    pub message: String,
}

impl OnnxError {
    fn model(message: impl Into<String>) -> Self {
        Self { node: None, op: None, message: message.into() }
    }
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.node, &self.op) {
            (Some(node), Some(op)) => write!(f, "node `{node}` (op {op}): {}", self.message),
            (Some(node), None) => write!(f, "node `{node}`: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for OnnxError {}

/// A constant tensor (initializer or Constant output).
#[derive(Debug, Clone)]
struct Tensor {
    dims: Vec<i64>,
    data: Data,
}

#[derive(Debug, Clone)]
enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl Tensor {
    fn floats(&self) -> Vec<f32> {
        match &self.data {
            Data::F32(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    fn ints(&self) -> Vec<i64> {
        match &self.data {
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
        }
    }

    fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }
}

fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| c.try_into().expect("chunks_exact yields N bytes"))
}

/// The element count of a tensor of `dims` (`what` names it in errors): no
/// negative dimension, a product that does not overflow, and values of
/// `elem_bytes` bytes each that fit the memory budget.
fn element_count(what: &str, dims: &[i64], elem_bytes: u128) -> Result<usize, String> {
    if dims.iter().any(|&d| d < 0) {
        return Err(format!("{what} has a negative dimension {dims:?}"));
    }
    let n = dims
        .iter()
        .try_fold(1usize, |acc, &d| usize::try_from(d).ok().and_then(|d| acc.checked_mul(d)))
        .ok_or_else(|| format!("{what}: the product of the dims {dims:?} overflows"))?;
    rramsim_core::budget::check(format_args!("{what} of dims {dims:?}"), n as u128, elem_bytes)
        .map_err(|e| e.to_string())?;
    Ok(n)
}

fn decode_tensor(t: &proto::TensorProto) -> Result<Tensor, String> {
    let name = t.name.as_deref().unwrap_or("");
    if t.data_location == Some(proto::tensor_proto::DataLocation::External as i32) {
        return Err(format!(
            "tensor `{name}` keeps its data in an external file, which is not supported; re-export with the data embedded"
        ));
    }
    let dims = t.dims.clone();
    let expected = element_count(&format!("tensor `{name}`"), &dims, 4)?;
    let raw = t.raw_data.as_deref();
    let dtype = t.data_type.unwrap_or(0);
    let data = match DataType::try_from(dtype) {
        Ok(DataType::Float) => Data::F32(match raw {
            Some(raw) => chunks::<4>(raw).map(f32::from_le_bytes).collect(),
            None => t.float_data.clone(),
        }),
        Ok(DataType::Double) => Data::F32(match raw {
            Some(raw) => chunks::<8>(raw).map(|b| f64::from_le_bytes(b) as f32).collect(),
            None => t.double_data.iter().map(|&x| x as f32).collect(),
        }),
        Ok(DataType::Int64) => Data::I64(match raw {
            Some(raw) => chunks::<8>(raw).map(i64::from_le_bytes).collect(),
            None => t.int64_data.clone(),
        }),
        Ok(DataType::Int32) => Data::I64(match raw {
            Some(raw) => chunks::<4>(raw).map(|b| i64::from(i32::from_le_bytes(b))).collect(),
            None => t.int32_data.iter().map(|&x| i64::from(x)).collect(),
        }),
        Ok(other) => {
            return Err(format!(
                "tensor `{name}` has data type {}, rramsim reads FLOAT, DOUBLE, INT32 and INT64",
                other.as_str_name()
            ));
        }
        Err(_) => return Err(format!("tensor `{name}` has an unknown data type {dtype}")),
    };
    let tensor = Tensor { dims, data };
    if tensor.len() != expected {
        return Err(format!(
            "tensor `{name}` has {} values but its dims {:?} need {expected}",
            tensor.len(),
            tensor.dims
        ));
    }
    Ok(tensor)
}

/// What a tensor name refers to during import.
#[derive(Debug, Clone)]
enum Value {
    Const(Tensor),
    /// The output of a layer, by layer name.
    Act(String),
}

/// Per-node view with attribute and operand helpers that produce located errors.
struct NodeCtx<'a> {
    node: &'a proto::NodeProto,
    name: String,
    op: &'a str,
}

impl NodeCtx<'_> {
    fn err(&self, message: impl Into<String>) -> OnnxError {
        OnnxError { node: Some(self.name.clone()), op: Some(self.op.to_owned()), message: message.into() }
    }

    fn attr(&self, name: &str) -> Option<&proto::AttributeProto> {
        self.node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(|a| a.i).unwrap_or(default)
    }

    fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).and_then(|a| a.f).unwrap_or(default)
    }

    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    fn string(&self, name: &str) -> Option<String> {
        self.attr(name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).into_owned())
    }

    fn usizes(&self, name: &str, len: usize, default: usize) -> Result<Vec<usize>, OnnxError> {
        match self.ints(name) {
            None => Ok(vec![default; len]),
            Some(v) if v.len() == len && v.iter().all(|&x| x >= 0) => Ok(v.iter().map(|&x| x as usize).collect()),
            Some(v) => Err(self.err(format!("attribute `{name}` must be {len} non-negative integers, got {v:?}"))),
        }
    }

    fn pair(&self, name: &str, default: usize) -> Result<[usize; 2], OnnxError> {
        let v = self.usizes(name, 2, default)?;
        Ok([v[0], v[1]])
    }

    fn pads(&self) -> Result<Padding, OnnxError> {
        if let Some(mode) = self.string("auto_pad") {
            if mode != "NOTSET" && mode != "VALID" {
                return Err(self.err(format!("auto_pad {mode} is not supported; export with explicit pads")));
            }
        }
        // ONNX order: [x1_begin, x2_begin, x1_end, x2_end].
        let p = self.usizes("pads", 4, 0)?;
        Ok(Padding { top: p[0], left: p[1], bottom: p[2], right: p[3] })
    }

    /// Operand `i`'s name, `None` if absent or the empty (omitted) name.
    fn input(&self, i: usize) -> Option<&str> {
        self.node.input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    fn output(&self) -> Result<&str, OnnxError> {
        self.node
            .output
            .first()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err("the node has no output"))
    }
}

struct Importer {
    values: HashMap<String, Value>,
    builder: NetworkBuilder,
    /// Layer name → (ONNX node name, op type), for error messages.
    origin: HashMap<String, (String, String)>,
    /// How many nodes read each tensor (graph outputs count as readers).
    uses: HashMap<String, usize>,
    /// Layers created from a MatMul and still waiting for a bias Add.
    biasless_matmul: HashMap<String, usize>,
    /// Tensor name → layer producing it directly (for value_info checks).
    produced: HashMap<String, String>,
    /// Activation tensor name → its ONNX dims and how they are stored.
    layouts: HashMap<String, Layout>,
    /// Layer name → its output shape.
    shapes: HashMap<String, Shape>,
    /// Pad outputs (tensor name → spatial zero padding) waiting to fold into a Conv.
    pending_pads: HashMap<String, Padding>,
    /// Version of the default-domain operator set (defaults of Softmax and others changed).
    opset: i64,
}

impl Importer {
    fn value(&self, ctx: &NodeCtx<'_>, i: usize) -> Result<&Value, OnnxError> {
        let name = ctx.input(i).ok_or_else(|| ctx.err(format!("operand {i} is missing")))?;
        self.values.get(name).ok_or_else(|| {
            ctx.err(format!("operand `{name}` is neither a graph input, an initializer nor an earlier node's output"))
        })
    }

    fn act(&self, ctx: &NodeCtx<'_>, i: usize) -> Result<String, OnnxError> {
        let name = ctx.input(i).unwrap_or("");
        if self.pending_pads.contains_key(name) && !(matches!(ctx.op, "Conv" | "Transpose") && i == 0) {
            return Err(ctx.err(format!(
                "operand `{name}` is a Pad's output; rramsim folds a zero Pad into the padding of a following Conv only"
            )));
        }
        match self.value(ctx, i)? {
            Value::Act(layer) => Ok(layer.clone()),
            Value::Const(_) => Err(ctx.err(format!("operand {i} is a constant; rramsim needs an activation there"))),
        }
    }

    fn constant(&self, ctx: &NodeCtx<'_>, i: usize) -> Result<Tensor, OnnxError> {
        match self.value(ctx, i)? {
            Value::Const(t) => Ok(t.clone()),
            Value::Act(_) => Err(ctx.err(format!(
                "operand {i} (`{}`) must be a constant (initializer): rramsim maps weights onto crossbars ahead of time",
                ctx.input(i).unwrap_or("")
            ))),
        }
    }

    fn opt_constant(&self, ctx: &NodeCtx<'_>, i: usize) -> Result<Option<Tensor>, OnnxError> {
        if ctx.input(i).is_none() {
            return Ok(None);
        }
        self.constant(ctx, i).map(Some)
    }

    fn emit(&mut self, ctx: &NodeCtx<'_>, layer: Layer) -> Result<(), OnnxError> {
        self.emit_with(ctx, layer, None)
    }

    /// Emits `layer`; its output layout is `layout`, or by default the identity
    /// layout of its shape for the ops that need their operand in stored order
    /// and the first operand's layout for element-wise ops.
    fn emit_with(&mut self, ctx: &NodeCtx<'_>, mut layer: Layer, layout: Option<Layout>) -> Result<(), OnnxError> {
        let out = ctx.output()?.to_owned();
        let stored_order = matches!(
            layer.op,
            Op::Conv2d(_)
                | Op::Pool(_)
                | Op::GlobalAvgPool
                | Op::GlobalMaxPool
                | Op::Concat
                | Op::Lrn { .. }
                | Op::Resize { .. }
                | Op::Pad { .. }
                | Op::Linear(_)
                | Op::Flatten
                | Op::Reshape { .. }
        );
        if layout.is_none() && stored_order {
            // These read their operands in ONNX order: transposed views are moved first.
            for i in 0..layer.inputs.len() {
                layer.inputs[i] = self.materialize(ctx, i)?.0;
            }
        }
        let shape = self.layer_shape(ctx, &layer)?;
        let layout = match (layout, &layer.op) {
            (Some(l), _) => l,
            (None, Op::Linear(_) | Op::Flatten | Op::Reshape { .. }) => {
                Layout::of_shape(shape, if shape.is_flat() { 1 } else { 3 })
            }
            (None, _) if stored_order => Layout::of_shape(shape, 3),
            (None, _) => self.layout(ctx, 0)?,
        };
        self.record(ctx, layer, shape, layout, &out);
        Ok(())
    }

    /// Emits `layer` as the producer of the node's output `out` (a node with several
    /// outputs), stored in `layout`; the operands are used as they are stored.
    fn emit_output(&mut self, ctx: &NodeCtx<'_>, layer: Layer, layout: Layout, out: &str) -> Result<(), OnnxError> {
        let shape = self.layer_shape(ctx, &layer)?;
        self.record(ctx, layer, shape, layout, out);
        Ok(())
    }

    /// The output shape of `layer` from its operands' shapes; errors name the node.
    fn layer_shape(&self, ctx: &NodeCtx<'_>, layer: &Layer) -> Result<Shape, OnnxError> {
        let mut in_shapes = Vec::with_capacity(layer.inputs.len());
        for l in &layer.inputs {
            in_shapes.push(*self.shapes.get(l).ok_or_else(|| ctx.err(format!("operand `{l}` has no known shape")))?);
        }
        infer_shape(layer, &in_shapes).map_err(|e| {
            let mut origin = HashMap::new();
            origin.insert(layer.name.clone(), (ctx.name.clone(), ctx.op.to_owned()));
            from_graph_error(e, &origin)
        })
    }

    /// Records `layer` as the producer of the node's output `out`, stored in `layout`.
    fn record(&mut self, ctx: &NodeCtx<'_>, layer: Layer, shape: Shape, layout: Layout, out: &str) {
        self.layouts.insert(out.to_owned(), layout);
        self.shapes.insert(layer.name.clone(), shape);
        self.origin.insert(layer.name.clone(), (ctx.name.clone(), ctx.op.to_owned()));
        self.produced.insert(out.to_owned(), layer.name.clone());
        self.values.insert(out.to_owned(), Value::Act(layer.name.clone()));
        self.builder.push(layer);
    }

    fn node(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let name = ctx.name.clone();
        let layer =
            |op: Op, inputs: Vec<String>, params: Option<Params>| Layer { name: name.clone(), op, inputs, params };
        match ctx.op {
            "Conv" => {
                let x = self.act(ctx, 0)?;
                let w = self.constant(ctx, 1)?;
                let b = self.opt_constant(ctx, 2)?;
                if w.dims.len() != 4 {
                    return Err(ctx.err(format!("weight must be 4-D [M, C/group, kH, kW], got dims {:?}", w.dims)));
                }
                let kernel = match ctx.ints("kernel_shape") {
                    Some(_) => ctx.pair("kernel_shape", 1)?,
                    None => [w.dims[2] as usize, w.dims[3] as usize],
                };
                if kernel != [w.dims[2] as usize, w.dims[3] as usize] {
                    return Err(ctx.err(format!("kernel_shape {kernel:?} disagrees with the weight dims {:?}", w.dims)));
                }
                let group = ctx.int("group", 1);
                if group < 1 {
                    return Err(ctx.err(format!("group must be at least 1, got {group}")));
                }
                let conv = Conv2d {
                    out_channels: w.dims[0] as usize,
                    kernel,
                    stride: ctx.pair("strides", 1)?,
                    padding: self.padded(ctx, ctx.pads()?)?,
                    dilation: ctx.pair("dilations", 1)?,
                    groups: group as usize,
                    bias: b.is_some(),
                };
                let params = Params::Dense { weight: w.floats(), bias: b.map(|b| b.floats()) };
                self.emit(ctx, layer(Op::Conv2d(conv), vec![x], Some(params)))
            }
            "MatMul" if !self.is_const(ctx, 1) => self.act_matmul(ctx),
            "Gemm" | "MatMul" => {
                let x = self.act(ctx, 0)?;
                let w = self.constant(ctx, 1)?;
                if w.dims.len() != 2 {
                    return Err(ctx.err(format!("weight must be 2-D, got dims {:?}", w.dims)));
                }
                if ctx.op == "MatMul" && self.layout(ctx, 0)?.dims.len() > 1 {
                    return self.token_matmul(ctx, &w);
                }
                if ctx.int("transA", 0) != 0 {
                    return Err(ctx.err("transA=1 is not supported: the activation must be the left operand"));
                }
                let (alpha, beta) = (ctx.float("alpha", 1.0), ctx.float("beta", 1.0));
                let trans_b = ctx.op == "Gemm" && ctx.int("transB", 0) != 0;
                let (rows, cols) = (w.dims[0] as usize, w.dims[1] as usize);
                // Store as [out][in]: ONNX gives [in][out] unless transB.
                let mut weight = w.floats();
                if !trans_b {
                    weight = (0..cols)
                        .flat_map(|o| (0..rows).map(move |i| (o, i)))
                        .map(|(o, i)| weight[i * cols + o])
                        .collect();
                }
                let out = if trans_b { rows } else { cols };
                weight.iter_mut().for_each(|v| *v *= alpha);
                let bias = match self.opt_constant(ctx, 2)? {
                    Some(c) if ctx.op == "Gemm" => {
                        let c = c.floats();
                        let c = match c.len() {
                            1 => vec![c[0]; out],
                            n if n == out => c,
                            n => return Err(ctx.err(format!("bias C has {n} values, expected {out} (or 1)"))),
                        };
                        Some(c.into_iter().map(|v| v * beta).collect::<Vec<_>>())
                    }
                    _ => None,
                };
                let linear = Linear { out_features: out, bias: bias.is_some() };
                if ctx.op == "MatMul" {
                    self.biasless_matmul.insert(ctx.output()?.to_owned(), out);
                }
                self.emit(ctx, layer(Op::Linear(linear), vec![x], Some(Params::Dense { weight, bias })))
            }
            "BatchNormalization" => {
                let x = self.act(ctx, 0)?;
                if ctx.int("training_mode", 0) != 0 {
                    return Err(ctx.err("training_mode=1 is not supported; export the model in eval mode"));
                }
                let [gamma, beta, mean, var] = [1, 2, 3, 4].map(|i| self.constant(ctx, i).map(|t| t.floats()));
                let params = Params::BatchNorm { gamma: gamma?, beta: beta?, mean: mean?, var: var? };
                let eps = ctx.float("epsilon", 1e-5);
                self.emit(ctx, layer(Op::BatchNorm(BatchNorm { eps }), vec![x], Some(params)))
            }
            "Relu" => {
                let x = self.act(ctx, 0)?;
                self.emit(ctx, layer(Op::Activation(Activation::Relu), vec![x], None))
            }
            "Clip" => {
                let x = self.act(ctx, 0)?;
                let bound = |i: usize, attr: &str, default: f32| -> Result<f32, OnnxError> {
                    match self.opt_constant(ctx, i)? {
                        Some(t) if t.len() == 1 => Ok(t.floats()[0]),
                        Some(_) => Err(ctx.err(format!("Clip operand {i} must be a scalar"))),
                        None => Ok(ctx.float(attr, default)),
                    }
                };
                let (min, max) = (bound(1, "min", f32::NEG_INFINITY)?, bound(2, "max", f32::INFINITY)?);
                let act = if min == 0.0 && max == 6.0 {
                    Activation::Relu6
                } else if min == 0.0 && max == f32::INFINITY {
                    Activation::Relu
                } else {
                    Activation::Clip { min, max }
                };
                self.emit(ctx, layer(Op::Activation(act), vec![x], None))
            }
            "MaxPool" | "AveragePool" => {
                let x = self.act(ctx, 0)?;
                if ctx.node.output.iter().skip(1).any(|o| !o.is_empty() && self.uses.get(o).copied().unwrap_or(0) > 0) {
                    return Err(ctx.err("the Indices output is not supported"));
                }
                if ctx.usizes("dilations", 2, 1)? != [1, 1] {
                    return Err(ctx.err("pooling with dilations is not supported"));
                }
                let kernel = match ctx.ints("kernel_shape") {
                    Some(_) => ctx.pair("kernel_shape", 1)?,
                    None => return Err(ctx.err("attribute `kernel_shape` is required")),
                };
                let pool = Pool {
                    kind: if ctx.op == "MaxPool" { PoolKind::Max } else { PoolKind::Avg },
                    kernel,
                    stride: ctx.pair("strides", 1)?,
                    padding: ctx.pads()?,
                    ceil_mode: ctx.int("ceil_mode", 0) != 0,
                    count_include_pad: ctx.int("count_include_pad", 0) != 0,
                };
                self.emit(ctx, layer(Op::Pool(pool), vec![x], None))
            }
            "GlobalAveragePool" => {
                let x = self.act(ctx, 0)?;
                self.emit(ctx, layer(Op::GlobalAvgPool, vec![x], None))
            }
            "Flatten" => {
                let x = self.act(ctx, 0)?;
                let axis = ctx.int("axis", 1);
                if axis != 1 {
                    return Err(ctx.err(format!("only axis=1 (keep the batch dimension) is supported, got {axis}")));
                }
                let layout = self.layout(ctx, 0)?;
                if !layout.is_identity() {
                    return self.reshape_to(ctx, vec![layout.dims.iter().product()]);
                }
                self.emit(ctx, layer(Op::Flatten, vec![x], None))
            }
            "Reshape" => {
                let x = self.act(ctx, 0)?;
                let shape = self.constant(ctx, 1)?.ints();
                let layout = self.layout(ctx, 0)?;
                let legacy = matches!(shape.as_slice(), [_, -1] | [_, _] | [_, _, _, _])
                    && shape.iter().skip(1).all(|&d| d != 0);
                if !layout.is_identity() || !legacy || layout.dims.len() == 2 {
                    let dims = self.reshape_target(ctx, &shape)?;
                    return self.reshape_to(ctx, dims);
                }
                let op = match shape.as_slice() {
                    [_, -1] => Op::Flatten,
                    [_, n] if *n > 0 => Op::Reshape { shape: Shape::flat(*n as usize) },
                    [_, c, h, w] if *c > 0 && *h > 0 && *w > 0 => {
                        Op::Reshape { shape: Shape::new(*c as usize, *h as usize, *w as usize) }
                    }
                    _ => {
                        return Err(ctx.err(format!(
                            "target shape {shape:?} is not supported: use [N, -1], [N, features] or [N, C, H, W]"
                        )));
                    }
                };
                self.emit(ctx, layer(op, vec![x], None))
            }
            "Add" | "Sum" => self.add(ctx),
            "Concat" if (0..ctx.node.input.len()).all(|i| self.is_const(ctx, i)) => {
                let parts = (0..ctx.node.input.len()).map(|i| self.constant(ctx, i)).collect::<Result<Vec<_>, _>>()?;
                if parts.iter().any(|t| t.dims.len() != 1) {
                    return Err(ctx.err("concatenating constants is supported for 1-D ones (shape arithmetic) only"));
                }
                let data = if parts.iter().all(|t| matches!(t.data, Data::I64(_))) {
                    Data::I64(parts.iter().flat_map(Tensor::ints).collect())
                } else {
                    Data::F32(parts.iter().flat_map(Tensor::floats).collect())
                };
                let n = parts.iter().map(Tensor::len).sum::<usize>() as i64;
                self.values.insert(ctx.output()?.to_owned(), Value::Const(Tensor { dims: vec![n], data }));
                Ok(())
            }
            "Concat" => {
                let axis = ctx.int("axis", 1);
                if axis != 1 && axis != -3 {
                    return Err(ctx.err(format!("only channel concatenation (axis=1) is supported, got axis={axis}")));
                }
                let inputs = (0..ctx.node.input.len()).map(|i| self.act(ctx, i)).collect::<Result<Vec<_>, _>>()?;
                self.emit(ctx, layer(Op::Concat, inputs, None))
            }
            "Identity" | "Dropout" => {
                if ctx.node.output.iter().skip(1).any(|o| !o.is_empty() && self.uses.get(o).copied().unwrap_or(0) > 0) {
                    return Err(ctx.err("the dropout mask output is not supported"));
                }
                // Pass-through: the output names the same value as the input.
                let v = self.value(ctx, 0)?.clone();
                if let Value::Act(_) = v {
                    let layout = self.layout(ctx, 0)?;
                    self.layouts.insert(ctx.output()?.to_owned(), layout);
                }
                self.values.insert(ctx.output()?.to_owned(), v);
                Ok(())
            }
            "Constant" => {
                let t = if let Some(t) = ctx.attr("value").and_then(|a| a.t.as_ref()) {
                    decode_tensor(t).map_err(|e| ctx.err(e))?
                } else if let Some(f) = ctx.attr("value_float").and_then(|a| a.f) {
                    Tensor { dims: vec![], data: Data::F32(vec![f]) }
                } else if let Some(a) = ctx.attr("value_floats") {
                    Tensor { dims: vec![a.floats.len() as i64], data: Data::F32(a.floats.clone()) }
                } else if let Some(i) = ctx.attr("value_int").and_then(|a| a.i) {
                    Tensor { dims: vec![], data: Data::I64(vec![i]) }
                } else if let Some(a) = ctx.attr("value_ints") {
                    Tensor { dims: vec![a.ints.len() as i64], data: Data::I64(a.ints.clone()) }
                } else {
                    return Err(ctx.err("a Constant needs a `value`, `value_float(s)` or `value_int(s)` attribute"));
                };
                self.values.insert(ctx.output()?.to_owned(), Value::Const(t));
                Ok(())
            }
            "ConstantOfShape" => {
                let dims = self.constant(ctx, 0)?.ints();
                // Checked before the fill allocates (8 bytes: the widest value kind).
                let n = element_count("the shape", &dims, 8).map_err(|e| ctx.err(e))?;
                let fill = match ctx.attr("value").and_then(|a| a.t.as_ref()) {
                    Some(t) => decode_tensor(t).map_err(|e| ctx.err(e))?,
                    None => Tensor { dims: vec![1], data: Data::F32(vec![0.0]) },
                };
                let data = match fill.data {
                    Data::F32(v) if v.len() == 1 => Data::F32(vec![v[0]; n]),
                    Data::I64(v) if v.len() == 1 => Data::I64(vec![v[0]; n]),
                    _ => return Err(ctx.err("attribute `value` must hold exactly one element")),
                };
                self.values.insert(ctx.output()?.to_owned(), Value::Const(Tensor { dims, data }));
                Ok(())
            }
            other => match self.extended(ctx) {
                Some(result) => result,
                None => Err(ctx.err(format!("unsupported op `{other}`; rramsim imports {}", ops::SUPPORTED))),
            },
        }
    }

    /// Add/Sum of activations is a residual add; a constant operand is accepted
    /// only as the bias of a preceding bias-less MatMul (PyTorch's Linear export).
    fn add(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let n = ctx.node.input.len();
        let mut acts = Vec::new();
        let mut consts = Vec::new();
        for i in 0..n {
            match self.value(ctx, i)? {
                Value::Act(l) => acts.push((i, l.clone())),
                Value::Const(t) => consts.push(t.clone()),
            }
        }
        match (acts.as_slice(), consts.as_slice()) {
            ([], [_, _]) => self.arithmetic(ctx),
            ([_, _, ..], []) => {
                let first = self.layout(ctx, 0)?;
                let mut same = true;
                for i in 1..n {
                    same &= self.layout(ctx, i)? == first;
                }
                if same {
                    let inputs = acts.into_iter().map(|(_, l)| l).collect();
                    let layer = Layer { name: ctx.name.clone(), op: Op::Add, inputs, params: None };
                    return self.emit(ctx, layer);
                }
                // Operands stored in different orders: add them in ONNX order.
                let inputs = (0..n).map(|i| self.materialize(ctx, i).map(|m| m.0)).collect::<Result<Vec<_>, _>>()?;
                let layer = Layer { name: ctx.name.clone(), op: Op::Add, inputs, params: None };
                self.emit_with(ctx, layer, Some(Layout::identity(first.dims)))
            }
            ([(i, l)], [bias]) => {
                let source = ctx.input(*i).unwrap_or("").to_owned();
                let out_features = self.biasless_matmul.get(&source).copied();
                let single_use = self.uses.get(&source).copied() == Some(1);
                let Some(out_features) = out_features.filter(|_| single_use) else {
                    // Not a bias: an affine `scale` layer.
                    return self.arithmetic(ctx);
                };
                if bias.len() != 1 && bias.dims.len() > 1 && bias.dims[..bias.dims.len() - 1].iter().any(|&d| d != 1) {
                    return self.arithmetic(ctx);
                }
                let b = bias.floats();
                let b = match b.len() {
                    1 => vec![b[0]; out_features],
                    len if len == out_features => b,
                    len => return Err(ctx.err(format!("bias has {len} values, the MatMul produces {out_features}"))),
                };
                let layer = self.builder_layer_mut(l).expect("MatMul layers are in the builder");
                match &mut layer.op {
                    Op::Linear(linear) => linear.bias = true,
                    Op::Conv2d(conv) => conv.bias = true,
                    _ => {}
                }
                if let Some(Params::Dense { bias, .. }) = &mut layer.params {
                    *bias = Some(b);
                }
                self.biasless_matmul.remove(&source);
                let layout = self.layout(ctx, *i)?;
                self.layouts.insert(ctx.output()?.to_owned(), layout);
                self.values.insert(ctx.output()?.to_owned(), Value::Act(l.clone()));
                // The tensor name of the biased output now refers to the linear layer.
                let out = ctx.output()?.to_owned();
                self.produced.insert(out, l.clone());
                Ok(())
            }
            _ => Err(ctx.err("an add needs two or more activation operands (or one activation and a bias)")),
        }
    }

    fn builder_layer_mut(&mut self, name: &str) -> Option<&mut Layer> {
        self.builder.layer_mut(name)
    }
}

fn tensor_dims(v: &proto::ValueInfoProto) -> Option<Vec<Option<i64>>> {
    let proto::type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()? else {
        return None;
    };
    let shape = t.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match d.value {
                Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) => Some(v),
                _ => None,
            })
            .collect(),
    )
}

/// Imports an ONNX model. `label` names it in errors; the network is named after
/// the graph (or `label`). BatchNormalization layers are folded.
pub fn import_onnx(label: &str, bytes: &[u8]) -> Result<Network, OnnxError> {
    let model =
        proto::ModelProto::decode(bytes).map_err(|e| OnnxError::model(format!("not a valid ONNX model: {e}")))?;
    let graph = model.graph.as_ref().ok_or_else(|| OnnxError::model("the model has no graph"))?;
    for opset in &model.opset_import {
        let domain = opset.domain.as_deref().unwrap_or("");
        if !domain.is_empty() && domain != "ai.onnx" {
            return Err(OnnxError::model(format!(
                "operator set domain `{domain}` is not supported (only the default ONNX domain)"
            )));
        }
    }
    let net_name = graph.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| label.to_owned());
    let mut imp = Importer {
        values: HashMap::new(),
        builder: NetworkBuilder::new(net_name),
        origin: HashMap::new(),
        uses: HashMap::new(),
        biasless_matmul: HashMap::new(),
        produced: HashMap::new(),
        layouts: HashMap::new(),
        shapes: HashMap::new(),
        pending_pads: HashMap::new(),
        opset: model
            .opset_import
            .iter()
            .find(|o| o.domain.as_deref().unwrap_or("").is_empty() || o.domain.as_deref() == Some("ai.onnx"))
            .and_then(|o| o.version)
            .unwrap_or(1),
    };
    for node in &graph.node {
        for input in node.input.iter().filter(|s| !s.is_empty()) {
            *imp.uses.entry(input.clone()).or_default() += 1;
        }
    }
    for out in &graph.output {
        *imp.uses.entry(out.name.clone().unwrap_or_default()).or_default() += 1;
    }
    for init in &graph.initializer {
        let name = init.name.clone().unwrap_or_default();
        let t = decode_tensor(init).map_err(|e| OnnxError::model(format!("initializer: {e}")))?;
        imp.values.insert(name, Value::Const(t));
    }
    let activations: Vec<&proto::ValueInfoProto> =
        graph.input.iter().filter(|i| !imp.values.contains_key(i.name.as_deref().unwrap_or(""))).collect();
    let input = match activations.as_slice() {
        [one] => *one,
        [] => return Err(OnnxError::model("the graph has no input besides its initializers")),
        many => {
            let names: Vec<&str> = many.iter().map(|v| v.name.as_deref().unwrap_or("")).collect();
            return Err(OnnxError::model(format!(
                "the graph has {} inputs ({}); rramsim imports single-input networks",
                many.len(),
                names.join(", ")
            )));
        }
    };
    let input_name = input.name.clone().unwrap_or_default();
    let dims = tensor_dims(input).unwrap_or_default();
    // The batch dimension may be dynamic (a name, or absent); the others must be known.
    let per_sample: Option<Vec<usize>> =
        dims.get(1..).and_then(|d| d.iter().map(|d| d.filter(|&v| v > 0).map(|v| v as usize)).collect());
    let layout = per_sample.filter(|d| (1..=3).contains(&d.len())).map(Layout::identity);
    let shape = layout.as_ref().and_then(Layout::shape).ok_or_else(|| {
        OnnxError::model(format!(
            "graph input `{input_name}` needs a static shape [N, C, H, W], [N, T, D] or [N, F], got {dims:?}"
        ))
    })?;
    imp.builder.push(Layer::new(input_name.clone(), Op::Input { shape }, &[]));
    imp.values.insert(input_name.clone(), Value::Act(input_name.clone()));
    imp.layouts.insert(input_name.clone(), layout.expect("checked above"));
    imp.shapes.insert(input_name.clone(), shape);

    let mut used_names: HashMap<String, usize> = HashMap::new();
    used_names.insert(input_name, 1);
    for (i, node) in graph.node.iter().enumerate() {
        let op = node.op_type.as_deref().unwrap_or("");
        let base = node
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| node.output.first().cloned())
            .unwrap_or_else(|| format!("{op}_{i}"));
        let count = used_names.entry(base.clone()).or_default();
        *count += 1;
        let name = if *count == 1 { base } else { format!("{base}#{count}") };
        if let Some(domain) = node.domain.as_deref().filter(|d| !d.is_empty() && *d != "ai.onnx") {
            return Err(OnnxError {
                node: Some(name),
                op: Some(op.to_owned()),
                message: format!("custom domain `{domain}` is not supported"),
            });
        }
        let ctx = NodeCtx { node, name, op };
        imp.node(&ctx)?;
    }
    let origin = imp.origin;
    let network = imp.builder.build().map_err(|e| from_graph_error(e, &origin))?;
    // Check the dims the importer followed against the dims the file declares.
    for info in graph.value_info.iter().chain(&graph.output) {
        let tensor = info.name.as_deref().unwrap_or("");
        let (Some(layer), Some(layout)) = (imp.produced.get(tensor), imp.layouts.get(tensor)) else {
            continue;
        };
        let Some(declared) = tensor_dims(info) else {
            continue;
        };
        let declared = declared.get(1..).unwrap_or(&[]);
        let agrees = declared.len() == layout.dims.len()
            && declared.iter().zip(&layout.dims).all(|(d, &n)| d.is_none_or(|d| d == n as i64));
        if !agrees && declared.iter().all(|d| d.is_some_and(|d| d > 0)) {
            let (node, op) = origin.get(layer).cloned().unwrap_or_default();
            let text = |d: Vec<String>| d.join("x");
            return Err(OnnxError {
                node: Some(node),
                op: Some(op),
                message: format!(
                    "output `{tensor}` is declared {} per sample, but the layer produces {}",
                    text(declared.iter().map(|d| d.unwrap_or(0).to_string()).collect()),
                    text(layout.dims.iter().map(usize::to_string).collect())
                ),
            });
        }
    }
    fold_batchnorm(&network).map_err(|e| from_graph_error(e, &origin))
}

fn from_graph_error(e: GraphError, origin: &HashMap<String, (String, String)>) -> OnnxError {
    match e.layer.as_ref().and_then(|l| origin.get(l)) {
        Some((node, op)) => OnnxError {
            node: Some(node.clone()),
            op: Some(op.clone()),
            message: match e.key {
                Some(key) => format!("{key}: {}", e.message),
                None => e.message,
            },
        },
        None => OnnxError::model(e.to_string()),
    }
}
