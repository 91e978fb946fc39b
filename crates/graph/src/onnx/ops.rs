//! The ops of real-world exports beyond plain CNNs: layouts of transposed and
//! reshaped activations, constant-folded shape sub-graphs, element-wise
//! arithmetic with constants (affine `scale` layers), the transformer ops
//! (Softmax, LayerNormalization, MatMul between activations) and the smooth
//! activations.
//!
//! Every activation tensor has a [`Layout`]: its ONNX dims (batch excluded) and
//! which ONNX axis each axis of the stored `C × H × W` tensor holds. A Transpose,
//! and a Reshape/Squeeze/Unsqueeze that only splits or merges axes that are
//! adjacent in memory, relabels the same stored values and costs nothing; a
//! token sequence `[N, T, D]` made from a conv's `[N, D, h, w]` stays stored
//! feature-major as `D × 1 × T`, so a MatMul by a weight matrix over `D` is a 1×1
//! convolution on crossbars.

use crate::layer::{Activation, Axis, Conv2d, Layer, Op, PadMode, Padding, Params, ResizeCoord, Shape};

use super::{Data, Importer, NodeCtx, OnnxError, Tensor, Value};

/// How an activation's ONNX dims are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// ONNX dims of one sample (the batch dimension excluded).
    pub dims: Vec<usize>,
    /// Stored axis `i` holds ONNX axis `perm[i]` (1-based batch excluded: 0 is the
    /// first per-sample axis).
    pub perm: Vec<usize>,
}

impl Layout {
    pub fn identity(dims: Vec<usize>) -> Self {
        let perm = (0..dims.len()).collect();
        Self { dims, perm }
    }

    /// The identity layout of a stored shape of `rank` ONNX axes.
    pub fn of_shape(shape: Shape, rank: usize) -> Self {
        Self::identity(match rank {
            0 | 1 => vec![shape.elements()],
            2 => vec![shape.channels * shape.height, shape.width],
            _ => vec![shape.channels, shape.height, shape.width],
        })
    }

    pub fn is_identity(&self) -> bool {
        self.perm.iter().enumerate().all(|(i, &p)| i == p)
    }

    fn stored_dims(&self) -> Vec<usize> {
        self.perm.iter().map(|&a| self.dims[a]).collect()
    }

    /// The stored `C × H × W` shape: one axis is `n × 1 × 1`, two are `a × 1 × b`
    /// (a token sequence: features × tokens), three are `a × b × c`.
    pub fn shape(&self) -> Option<Shape> {
        match self.stored_dims().as_slice() {
            [] => Some(Shape::flat(1)),
            [a] => Some(Shape::flat(*a)),
            [a, b] => Some(Shape::new(*a, 1, *b)),
            [a, b, c] => Some(Shape::new(*a, *b, *c)),
            _ => None,
        }
    }

    /// The stored axis holding ONNX axis `logical`.
    fn stored_axis(&self, logical: usize) -> Axis {
        let i = self.perm.iter().position(|&p| p == logical).unwrap_or(0);
        match (self.perm.len(), i) {
            (_, 0) => Axis::Channels,
            (2, _) | (_, 2) => Axis::Width,
            _ => Axis::Height,
        }
    }

    fn describe(&self) -> String {
        let dims: Vec<String> = self.dims.iter().map(usize::to_string).collect();
        dims.join("x")
    }

    /// The layout after a reshape to `new_dims` that moves no value, if there is one:
    /// groups of ONNX axes merged or split must be adjacent and in order in memory.
    fn reshaped(&self, new_dims: &[usize]) -> Option<Layout> {
        if self.is_identity() {
            return Some(Layout::identity(new_dims.to_vec()));
        }
        let old: Vec<usize> = (0..self.dims.len()).filter(|&a| self.dims[a] != 1).collect();
        let new: Vec<usize> = (0..new_dims.len()).filter(|&a| new_dims[a] != 1).collect();
        // Pair up runs of old and new axes with equal products.
        let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let (&o, &n) = (old.get(i)?, new.get(j)?);
            let (mut go, mut gn) = (vec![o], vec![n]);
            let (mut po, mut pn) = (self.dims[o], new_dims[n]);
            i += 1;
            j += 1;
            while po != pn {
                if po < pn {
                    let &o = old.get(i)?;
                    po = po.checked_mul(self.dims[o])?;
                    go.push(o);
                    i += 1;
                } else {
                    let &n = new.get(j)?;
                    pn = pn.checked_mul(new_dims[n])?;
                    gn.push(n);
                    j += 1;
                }
            }
            groups.push((go, gn));
        }
        let stored: Vec<usize> = self.perm.iter().copied().filter(|&a| self.dims[a] != 1).collect();
        let mut perm = Vec::new();
        for (go, _) in &groups {
            let at = stored.iter().position(|&a| a == go[0])?;
            if stored.get(at..at + go.len())? != go.as_slice() {
                return None;
            }
        }
        for &a in &stored {
            if let Some((_, gn)) = groups.iter().find(|(go, _)| go[0] == a) {
                perm.extend_from_slice(gn);
            }
        }
        perm.extend((0..new_dims.len()).filter(|&a| new_dims[a] == 1));
        Some(Layout { dims: new_dims.to_vec(), perm })
    }
}

/// Every op the importer reads, for the unsupported-op message.
pub(super) const SUPPORTED: &str = "Conv, Gemm, MatMul, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, \
     HardSwish, Tanh, Erf, Gelu, Add, Sum, Sub, Mul, Div, Concat, MaxPool, AveragePool, GlobalAveragePool, \
     GlobalMaxPool, LRN, Pad (constant, reflect, edge), Resize, Upsample, Split (of the channels), ReduceMean, Softmax, LogSoftmax, LayerNormalization, Flatten, Reshape, Transpose, Squeeze, \
     Unsqueeze, Shape, Gather, Slice, Cast, Constant, ConstantOfShape, Identity and Dropout";

fn ints_of(t: &Tensor) -> Vec<i64> {
    t.ints()
}

/// Normalizes an ONNX axis of a rank-`rank` tensor (batch included).
fn norm_axis(ctx: &NodeCtx<'_>, axis: i64, rank: usize) -> Result<usize, OnnxError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(ctx.err(format!("axis {axis} is out of range for a rank-{rank} tensor")));
    }
    Ok(a as usize)
}

impl Importer {
    pub(super) fn layout(&self, ctx: &NodeCtx<'_>, i: usize) -> Result<Layout, OnnxError> {
        let name = ctx.input(i).unwrap_or("");
        self.layouts.get(name).cloned().ok_or_else(|| ctx.err(format!("operand {i} (`{name}`) has no known shape")))
    }

    /// Records that the node's output is `layer`'s values seen through `layout`.
    fn alias(&mut self, ctx: &NodeCtx<'_>, layer: String, layout: Layout) -> Result<(), OnnxError> {
        let out = ctx.output()?.to_owned();
        self.values.insert(out.clone(), Value::Act(layer));
        self.layouts.insert(out, layout);
        Ok(())
    }

    fn set_const(&mut self, ctx: &NodeCtx<'_>, t: Tensor) -> Result<(), OnnxError> {
        self.values.insert(ctx.output()?.to_owned(), Value::Const(t));
        Ok(())
    }

    pub(super) fn is_const(&self, ctx: &NodeCtx<'_>, i: usize) -> bool {
        ctx.input(i).and_then(|n| self.values.get(n)).is_some_and(|v| matches!(v, Value::Const(_)))
    }

    /// Axes from the `axes` attribute (before opset 13/18) or operand 1.
    fn axes(&self, ctx: &NodeCtx<'_>, operand: usize) -> Result<Option<Vec<i64>>, OnnxError> {
        if let Some(a) = ctx.ints("axes") {
            return Ok(Some(a));
        }
        Ok(self.opt_constant(ctx, operand)?.map(|t| ints_of(&t)))
    }

    /// The ops of this module; `None` when `ctx.op` is none of them.
    pub(super) fn extended(&mut self, ctx: &NodeCtx<'_>) -> Option<Result<(), OnnxError>> {
        let r = match ctx.op {
            "Sigmoid" | "HardSigmoid" | "HardSwish" | "Tanh" | "Erf" | "Gelu" => self.activation(ctx),
            "Sub" | "Mul" | "Div" => self.arithmetic(ctx),
            "Softmax" | "LogSoftmax" => self.softmax(ctx),
            "LayerNormalization" => self.layer_norm(ctx),
            "GlobalMaxPool" => self.act(ctx, 0).and_then(|x| {
                self.emit(ctx, Layer { name: ctx.name.clone(), op: Op::GlobalMaxPool, inputs: vec![x], params: None })
            }),
            "LRN" => self.lrn(ctx),
            "Resize" | "Upsample" => self.resize(ctx),
            "Split" => self.split(ctx),
            "Pad" => self.pad(ctx),
            "ReduceMean" => self.reduce_mean(ctx),
            "Transpose" => self.transpose(ctx),
            "Squeeze" | "Unsqueeze" => self.squeeze(ctx),
            "Shape" => self.shape_of(ctx),
            "Gather" => self.gather(ctx),
            "Slice" => self.slice(ctx),
            "Cast" => self.cast(ctx),
            _ => return None,
        };
        Some(r)
    }

    /// Operand `i` stored in ONNX order: the operand itself, or a `transpose` layer
    /// (named after the node) that moves its values there.
    pub(super) fn materialize(&mut self, ctx: &NodeCtx<'_>, i: usize) -> Result<(String, Layout), OnnxError> {
        let x = self.act(ctx, i)?;
        let l = self.layout(ctx, i)?;
        if l.is_identity() {
            return Ok((x, l));
        }
        // Stored axis k of a rank-r layout is this axis of the C × H × W shape.
        let r = l.perm.len();
        let axis3 = |k: usize| match r {
            2 => [0, 2][k],
            _ => k,
        };
        let mut perm = [0, 1, 2];
        for j in 0..r {
            let from = l.perm.iter().position(|&p| p == j).expect("a permutation");
            perm[axis3(j)] = axis3(from);
        }
        let name = if i == 0 { format!("{}.transpose", ctx.name) } else { format!("{}.transpose{i}", ctx.name) };
        let layer = Layer { name: name.clone(), op: Op::Transpose { perm }, inputs: vec![x.clone()], params: None };
        let input = *self.shapes.get(&x).ok_or_else(|| ctx.err(format!("operand `{x}` has no known shape")))?;
        let shape = crate::network::infer_shape(&layer, &[input]).map_err(|e| ctx.err(e.message))?;
        self.shapes.insert(name.clone(), shape);
        self.origin.insert(name.clone(), (ctx.name.clone(), ctx.op.to_owned()));
        self.builder.push(layer);
        Ok((name, Layout::identity(l.dims)))
    }

    /// A constant-zero Pad of the spatial axes (tf2onnx's SAME padding, PyTorch's
    /// ZeroPad2d) waits for the Conv that reads it and becomes its padding; any
    /// other Pad of the height and width (a constant, reflect or edge fill) is a
    /// `pad` layer.
    fn pad(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let mode = ctx.string("mode").unwrap_or_else(|| "constant".to_owned());
        // Opset 11 moved pads (and the fill value) from attributes to operands.
        let pads = match ctx.ints("pads") {
            Some(p) => p,
            None => ints_of(&self.constant(ctx, 1)?),
        };
        let value = match ctx.attr("value").and_then(|a| a.f) {
            Some(v) => v,
            None => self.opt_constant(ctx, 2)?.and_then(|t| t.floats().first().copied()).unwrap_or(0.0),
        };
        if ctx.input(3).is_some() {
            return Err(ctx.err("the `axes` operand is not supported; export pads for every axis"));
        }
        let fill = match mode.as_str() {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "edge" => PadMode::Edge,
            other => return Err(ctx.err(format!("mode `{other}` is not supported (constant, reflect, edge)"))),
        };
        // ONNX axis a (0 = batch) pads pads[a] before and pads[rank + a] after; only
        // the height and width of a 4-D tensor may grow.
        let rank = layout.dims.len() + 1;
        let mut stored = [[0i64; 2]; 3];
        let mut ok = rank == 4 && pads.len() == 2 * rank && pads[0] == 0 && pads[rank] == 0;
        for a in 1..rank.min(4) {
            let i = layout.perm.iter().position(|&p| p == a - 1).unwrap_or(0);
            stored[i] = [pads.get(a).copied().unwrap_or(0), pads.get(rank + a).copied().unwrap_or(0)];
        }
        ok &= stored[0] == [0, 0];
        if !ok {
            return Err(
                ctx.err(format!("pads {pads:?} are not supported: rramsim pads the height and width of a 4-D tensor"))
            );
        }
        let spatial = [stored[1][0], stored[2][0], stored[1][1], stored[2][1]];
        if spatial.iter().any(|&p| p < 0) {
            return Err(ctx.err("a Pad that crops (negative pads) is not supported"));
        }
        let [t, l, b, r] = spatial.map(|p| usize::try_from(p).unwrap_or(usize::MAX));
        let padding = Padding { top: t, left: l, bottom: b, right: r };
        if fill == PadMode::Constant && value == 0.0 {
            let out = ctx.output()?.to_owned();
            self.pending_pads.insert(out, padding);
            return self.alias(ctx, x, layout);
        }
        // The layer pads the stored height and width: ONNX order once moved.
        if pads[1] != 0 || pads[5] != 0 {
            return Err(ctx.err(format!("pads {pads:?} are not supported: rramsim pads the height and width")));
        }
        let onnx = [pads[2], pads[3], pads[6], pads[7]].map(|p| usize::try_from(p).unwrap_or(usize::MAX));
        let padding = Padding { top: onnx[0], left: onnx[1], bottom: onnx[2], right: onnx[3] };
        let op = Op::Pad { padding, mode: fill, value };
        self.emit(ctx, Layer { name: ctx.name.clone(), op, inputs: vec![x], params: None })
    }

    /// A Conv's padding plus that of a Pad it reads.
    pub(super) fn padded(&self, ctx: &NodeCtx<'_>, own: Padding) -> Result<Padding, OnnxError> {
        let Some(p) = ctx.input(0).and_then(|n| self.pending_pads.get(n)) else { return Ok(own) };
        let add = |a: usize, b: usize| a.checked_add(b).ok_or_else(|| ctx.err("padding overflows"));
        Ok(Padding {
            top: add(own.top, p.top)?,
            left: add(own.left, p.left)?,
            bottom: add(own.bottom, p.bottom)?,
            right: add(own.right, p.right)?,
        })
    }

    /// Split along the axis stored as channels (the channels of an image, the
    /// features of a token sequence): one `channel_slice` layer per output, named
    /// `<node>.<i>`. Sizes from the `split` attribute (opset 2–12) or operand
    /// (13+), else equal parts (opset 18's `num_outputs`: the last may be smaller).
    fn split(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let rank = layout.dims.len() + 1;
        let axis = norm_axis(ctx, ctx.int("axis", 0), rank)?;
        if axis == 0 || layout.stored_axis(axis - 1) != Axis::Channels {
            return Err(ctx.err(format!(
                "splitting axis {axis} of a {} tensor is not supported: rramsim splits the channels (axis 1 of \
                 N×C×H×W) or the features of a token sequence",
                layout.describe()
            )));
        }
        let n = layout.dims[axis - 1];
        let outputs = &ctx.node.output;
        let k = outputs.len();
        let sizes: Vec<i64> = match ctx.ints("split") {
            Some(s) => s,
            None => match self.opt_constant(ctx, 1)? {
                Some(t) => t.ints(),
                None => {
                    let parts = usize::try_from(ctx.int("num_outputs", k as i64)).unwrap_or(0);
                    if parts == 0 || parts != k {
                        return Err(ctx.err(format!("num_outputs does not match the node's {k} outputs")));
                    }
                    let each = n.div_ceil(parts);
                    if ctx.attr("num_outputs").is_none() && each * parts != n {
                        return Err(ctx.err(format!("{n} channels do not split into {parts} equal parts")));
                    }
                    (0..parts).map(|i| n.saturating_sub(i * each).min(each) as i64).collect()
                }
            },
        };
        let total = sizes.iter().try_fold(0i64, |a, &b| if b > 0 { a.checked_add(b) } else { None });
        if sizes.len() != k || total != i64::try_from(n).ok() {
            return Err(ctx.err(format!("split sizes {sizes:?} do not divide {n} channels into {k} outputs")));
        }
        let mut start = 0usize;
        for (i, (out, &len)) in outputs.iter().zip(&sizes).enumerate() {
            let len = len as usize;
            if !out.is_empty() {
                let mut dims = layout.dims.clone();
                dims[axis - 1] = len;
                let out_layout = Layout { dims, perm: layout.perm.clone() };
                let op = Op::ChannelSlice { start, len };
                let layer = Layer { name: format!("{}.{i}", ctx.name), op, inputs: vec![x.clone()], params: None };
                self.emit_output(ctx, layer, out_layout, out)?;
            }
            start += len;
        }
        Ok(())
    }

    /// Resize (opset 10+) and Upsample (7–9) of the height and width of an
    /// `N × C × H × W` tensor, by constant scales or to constant sizes.
    fn resize(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let [c, h, w] = layout.dims[..] else {
            return Err(ctx.err(format!("only a 4-D N×C×H×W tensor can be resized, got {}", layout.describe())));
        };
        let mode = ctx.string("mode").unwrap_or_else(|| "nearest".to_owned());
        let linear = match mode.as_str() {
            "nearest" => false,
            "linear" | "bilinear" => true,
            other => return Err(ctx.err(format!("mode `{other}` is not supported (nearest, linear)"))),
        };
        // Upsample and opset-10 Resize: asymmetric coordinates, rounded down.
        let modern = ctx.op == "Resize" && self.opset >= 11;
        let (coord, round) = if modern {
            let coord = match ctx.string("coordinate_transformation_mode").as_deref().unwrap_or("half_pixel") {
                "asymmetric" => ResizeCoord::Asymmetric,
                "half_pixel" | "pytorch_half_pixel" => ResizeCoord::HalfPixel,
                "align_corners" => ResizeCoord::AlignCorners,
                other => {
                    return Err(ctx.err(format!(
                        "coordinate_transformation_mode `{other}` is not supported (asymmetric, half_pixel, \
                         pytorch_half_pixel, align_corners)"
                    )));
                }
            };
            let round = match ctx.string("nearest_mode").as_deref().unwrap_or("round_prefer_floor") {
                _ if linear => false,
                "floor" => false,
                "round_prefer_floor" => true,
                other => {
                    return Err(ctx.err(format!("nearest_mode `{other}` is not supported (floor, round_prefer_floor)")));
                }
            };
            (coord, round)
        } else {
            (ResizeCoord::Asymmetric, false)
        };
        if ctx.int("antialias", 0) != 0 {
            return Err(ctx.err("antialias is not supported"));
        }
        // Opset 18's `axes` lists the axes the scales or sizes are for.
        let axes = match ctx.ints("axes") {
            None => vec![0, 1, 2, 3],
            Some(a) => a.iter().map(|&v| norm_axis(ctx, v, 4)).collect::<Result<Vec<_>, _>>()?,
        };
        let (scales, sizes) = if ctx.op == "Upsample" && ctx.input(1).is_none() {
            (ctx.attr("scales").map(|a| a.floats.clone()).unwrap_or_default(), Vec::new())
        } else if !modern {
            (self.constant(ctx, 1)?.floats(), Vec::new())
        } else {
            let scales = self.opt_constant(ctx, 2)?.map(|t| t.floats()).unwrap_or_default();
            let sizes = self.opt_constant(ctx, 3)?.map(|t| t.ints()).unwrap_or_default();
            (scales, sizes)
        };
        let given = if sizes.is_empty() { scales.len() } else { sizes.len() };
        if given != axes.len() || (scales.is_empty() && sizes.is_empty()) {
            return Err(ctx.err(format!(
                "needs constant scales or sizes for {} axes, got scales {scales:?} and sizes {sizes:?}",
                axes.len()
            )));
        }
        let dims = [1, c, h, w];
        let mut out = dims;
        for (k, &a) in axes.iter().enumerate() {
            let n = dims[a];
            if a == 0 {
                // The batch: sizes name the exported batch size; a scale must be 1.
                if sizes.is_empty() && scales[k] != 1.0 {
                    return Err(ctx.err("only the height and width can be resized, not the batch"));
                }
                continue;
            }
            out[a] = if sizes.is_empty() {
                let s = f64::from(scales[k]);
                let m = n as f64 * s;
                // ONNX's output length is ⌊n·s⌋; a fractional n·s moves sampling
                // positions by the scale rramsim does not keep.
                if !(s > 0.0 && m.is_finite() && m.fract() == 0.0 && m <= crate::MAX_COUNT as f64) {
                    return Err(ctx.err(format!(
                        "scale {s} of axis {a} (length {n}) does not give a whole length; export with sizes"
                    )));
                }
                m as usize
            } else {
                usize::try_from(sizes[k])
                    .ok()
                    .filter(|&m| m > 0 && m as u64 <= crate::MAX_COUNT)
                    .ok_or_else(|| ctx.err(format!("size {} of axis {a} is not a positive length", sizes[k])))?
            };
            if a == 1 && out[a] != c {
                return Err(ctx.err("only the height and width can be resized, not the channels"));
            }
        }
        if !modern && (out[2] < h || out[3] < w) {
            return Err(ctx.err("opset-10 and earlier down-sampling is not supported"));
        }
        let one_to_many = |n: usize, m: usize| m == 1 && n > 1;
        if ctx.string("coordinate_transformation_mode").as_deref() == Some("pytorch_half_pixel")
            && (one_to_many(h, out[2]) || one_to_many(w, out[3]))
        {
            return Err(ctx.err("pytorch_half_pixel to a length of 1 is not supported"));
        }
        let op = Op::Resize { size: [out[2], out[3]], linear, coord, round };
        self.emit(ctx, Layer { name: ctx.name.clone(), op, inputs: vec![x], params: None })
    }

    fn lrn(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let size = ctx.int("size", 0);
        if size < 1 {
            return Err(ctx.err("attribute `size` (a positive channel count) is required"));
        }
        let op = Op::Lrn {
            size: size as usize,
            alpha: ctx.float("alpha", 1e-4),
            beta: ctx.float("beta", 0.75),
            bias: ctx.float("bias", 1.0),
        };
        self.emit(ctx, Layer { name: ctx.name.clone(), op, inputs: vec![x], params: None })
    }

    fn activation(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let a = match ctx.op {
            "Sigmoid" => Activation::Sigmoid,
            "HardSigmoid" => Activation::HardSigmoid { alpha: ctx.float("alpha", 0.2), beta: ctx.float("beta", 0.5) },
            "HardSwish" => Activation::HardSwish,
            "Tanh" => Activation::Tanh,
            "Erf" => Activation::Erf,
            _ => match ctx.string("approximate").as_deref() {
                None | Some("none") => Activation::Gelu,
                Some(other) => return Err(ctx.err(format!("approximate=\"{other}\" is not supported (only \"none\")"))),
            },
        };
        self.emit(ctx, Layer { name: ctx.name.clone(), op: Op::Activation(a), inputs: vec![x], params: None })
    }

    /// Sub, Mul and Div (Add comes here for a constant that is not a MatMul bias):
    /// constants fold, an activation with a constant becomes an affine `scale`
    /// layer, two activations multiply element-wise.
    pub(super) fn arithmetic(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        if ctx.node.input.len() != 2 {
            return Err(ctx.err(format!("{} takes 2 operands, got {}", ctx.op, ctx.node.input.len())));
        }
        match (self.is_const(ctx, 0), self.is_const(ctx, 1)) {
            (true, true) => {
                let (a, b) = (self.constant(ctx, 0)?, self.constant(ctx, 1)?);
                let t = fold_binary(ctx, &a, &b)?;
                self.set_const(ctx, t)
            }
            (false, false) => {
                let (a, b) = (self.act(ctx, 0)?, self.act(ctx, 1)?);
                if ctx.op != "Mul" {
                    return Err(ctx.err(format!("{} of two activations is not supported (Add and Mul are)", ctx.op)));
                }
                let (la, lb) = (self.layout(ctx, 0)?, self.layout(ctx, 1)?);
                // A squeeze-and-excitation gate: one value per channel, second.
                let gate = |l: &Layout, x: &Layout| {
                    l.is_identity()
                        && x.is_identity()
                        && l.dims.len() == 3
                        && l.dims[1..] == [1, 1]
                        && l.dims[0] == x.dims[0]
                };
                if la != lb && gate(&lb, &la) {
                    return self
                        .emit(ctx, Layer { name: ctx.name.clone(), op: Op::Mul, inputs: vec![a, b], params: None });
                }
                if la != lb && gate(&la, &lb) {
                    let layer = Layer { name: ctx.name.clone(), op: Op::Mul, inputs: vec![b, a], params: None };
                    return self.emit_with(ctx, layer, Some(lb));
                }
                if la != lb {
                    return Err(ctx.err(format!(
                        "Mul operands must have the same dims and order, got {} and {}",
                        la.describe(),
                        lb.describe()
                    )));
                }
                self.emit(ctx, Layer { name: ctx.name.clone(), op: Op::Mul, inputs: vec![a, b], params: None })
            }
            (a_const, _) => {
                let (xi, ci) = if a_const { (1, 0) } else { (0, 1) };
                let x = self.act(ctx, xi)?;
                let layout = self.layout(ctx, xi)?;
                let c = self.constant(ctx, ci)?;
                let v = broadcast(ctx, &c, &layout)?;
                let (scale, shift): (Vec<f32>, Vec<f32>) = match (ctx.op, a_const) {
                    ("Add" | "Sum", _) => (vec![1.0], v),
                    ("Sub", false) => (vec![1.0], v.iter().map(|x| -x).collect()),
                    ("Sub", true) => (vec![-1.0], v),
                    ("Mul", _) => (v, vec![0.0]),
                    ("Div", false) => (v.iter().map(|x| 1.0 / x).collect(), vec![0.0]),
                    _ => return Err(ctx.err("dividing a constant by an activation is not supported")),
                };
                let shape = layout.shape().ok_or_else(|| ctx.err("more than three per-sample axes"))?;
                let params = Params::Affine { scale: compress(scale, shape), shift: compress(shift, shape) };
                self.emit(ctx, Layer { name: ctx.name.clone(), op: Op::Scale, inputs: vec![x], params: Some(params) })
            }
        }
    }

    /// The logical axis of a Softmax/LayerNormalization, checked to be the only
    /// non-trivial axis from it to the end (what both ops normalize over).
    fn last_axis(&self, ctx: &NodeCtx<'_>, default: i64) -> Result<(usize, Layout), OnnxError> {
        let layout = self.layout(ctx, 0)?;
        let rank = layout.dims.len();
        let axis = norm_axis(ctx, ctx.int("axis", default), rank + 1)?;
        if axis == 0 {
            return Err(ctx.err("normalizing over the batch axis is not supported"));
        }
        let a = axis - 1;
        if layout.dims[a + 1..].iter().any(|&d| d != 1) {
            return Err(ctx.err(format!(
                "axis {axis} spans several axes of {}; rramsim normalizes over one axis",
                layout.describe()
            )));
        }
        Ok((a, layout))
    }

    fn softmax(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        // Opset 13 made the last axis the default (before, axis 1 and flattening).
        let default = if self.opset < 13 { 1 } else { -1 };
        let (a, layout) = self.last_axis(ctx, default)?;
        let op = Op::Softmax { axis: layout.stored_axis(a), log: ctx.op == "LogSoftmax" };
        self.emit(ctx, Layer { name: ctx.name.clone(), op, inputs: vec![x], params: None })
    }

    fn layer_norm(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        if ctx.node.output.iter().skip(1).any(|o| !o.is_empty() && self.uses.get(o).copied().unwrap_or(0) > 0) {
            return Err(ctx.err("the Mean and InvStdDev outputs are not supported"));
        }
        let (a, layout) = self.last_axis(ctx, -1)?;
        let n = layout.dims[a];
        let per_axis = |t: Option<Tensor>, fill: f32, what: &str| -> Result<Vec<f32>, OnnxError> {
            match t.map(|t| t.floats()) {
                None => Ok(vec![fill; n]),
                Some(v) if v.len() == n => Ok(v),
                Some(v) if v.len() == 1 => Ok(vec![v[0]; n]),
                Some(v) => Err(ctx.err(format!("{what} has {} values, the normalized axis {n}", v.len()))),
            }
        };
        let scale = per_axis(Some(self.constant(ctx, 1)?), 1.0, "Scale")?;
        let shift = per_axis(self.opt_constant(ctx, 2)?, 0.0, "B")?;
        let op = Op::LayerNorm { axis: layout.stored_axis(a), eps: ctx.float("epsilon", 1e-5) };
        let params = Some(Params::Affine { scale, shift });
        self.emit(ctx, Layer { name: ctx.name.clone(), op, inputs: vec![x], params })
    }

    /// ReduceMean over every stored axis but the channels: a global average pool.
    fn reduce_mean(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let rank = layout.dims.len();
        let axes = self.axes(ctx, 1)?.ok_or_else(|| ctx.err("reducing over every axis is not supported"))?;
        let mut reduced = axes.iter().map(|&a| norm_axis(ctx, a, rank + 1)).collect::<Result<Vec<_>, _>>()?;
        reduced.sort_unstable();
        reduced.dedup();
        let spatial: Vec<usize> = {
            let mut s: Vec<usize> =
                layout.perm[1..].iter().map(|&a| a + 1).filter(|&a| layout.dims[a - 1] != 1).collect();
            s.sort_unstable();
            s
        };
        let kept: Vec<usize> =
            reduced.iter().copied().filter(|&a| layout.dims[a - 1] != 1 || !spatial.is_empty()).collect();
        if reduced.contains(&0)
            || kept.iter().any(|a| !spatial.contains(a))
            || spatial.iter().any(|a| !reduced.contains(a))
        {
            return Err(ctx.err(format!(
                "ReduceMean over axes {axes:?} of {} is not supported: rramsim reduces every axis but the \
                 channels (a global average pool)",
                layout.describe()
            )));
        }
        let keep = ctx.int("keepdims", 1) != 0;
        let dims: Vec<usize> = (0..rank)
            .filter_map(|a| match (reduced.contains(&(a + 1)), keep) {
                (true, true) => Some(1),
                (true, false) => None,
                (false, _) => Some(layout.dims[a]),
            })
            .collect();
        let out = if keep { Layout { dims, perm: layout.perm.clone() } } else { Layout::identity(dims) };
        let layer = Layer { name: ctx.name.clone(), op: Op::GlobalAvgPool, inputs: vec![x], params: None };
        self.emit_with(ctx, layer, Some(out))
    }

    fn transpose(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        if self.is_const(ctx, 0) {
            return Err(ctx.err("transposing a constant is not supported"));
        }
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        // A pending Pad stays pending: it pads stored axes, whatever their labels.
        if let Some(p) = ctx.input(0).and_then(|n| self.pending_pads.get(n)).copied() {
            self.pending_pads.insert(ctx.output()?.to_owned(), p);
        }
        let rank = layout.dims.len();
        let perm = ctx.ints("perm").unwrap_or_else(|| (0..=rank as i64).rev().collect());
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..=rank as i64).collect::<Vec<_>>() || perm[0] != 0 {
            return Err(ctx.err(format!(
                "perm {perm:?} must permute the {rank} per-sample axes and keep the batch axis 0 first"
            )));
        }
        // New ONNX axis j is old axis q[j].
        let q: Vec<usize> = perm[1..].iter().map(|&p| p as usize - 1).collect();
        let dims = q.iter().map(|&a| layout.dims[a]).collect();
        let new_of_old = |old: usize| q.iter().position(|&a| a == old).expect("a permutation");
        let stored = layout.perm.iter().map(|&a| new_of_old(a)).collect();
        self.alias(ctx, x, Layout { dims, perm: stored })
    }

    /// Moves the values of operand 0 to `dims` without moving memory: a relabel when
    /// the stored shape stays, a `reshape` view layer otherwise.
    pub(super) fn reshape_to(&mut self, ctx: &NodeCtx<'_>, dims: Vec<usize>) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let (x, layout, new) = match layout.reshaped(&dims) {
            Some(new) => (x, layout, new),
            // The reshape would reorder values: move them to ONNX order first.
            None => {
                let (x, layout) = self.materialize(ctx, 0)?;
                (x, layout, Layout::identity(dims.clone()))
            }
        };
        let shape = new.shape().ok_or_else(|| {
            ctx.err(format!("{} has more than three per-sample axes", Layout::identity(dims.clone()).describe()))
        })?;
        if !layout.is_identity() && layout.shape() == Some(shape) {
            return self.alias(ctx, x, new);
        }
        let layer = Layer { name: ctx.name.clone(), op: Op::Reshape { shape }, inputs: vec![x], params: None };
        self.emit_with(ctx, layer, Some(new))
    }

    /// The per-sample dims a Reshape's target asks for (0 copies, -1 infers).
    pub(super) fn reshape_target(&self, ctx: &NodeCtx<'_>, target: &[i64]) -> Result<Vec<usize>, OnnxError> {
        let layout = self.layout(ctx, 0)?;
        let total: usize = layout.dims.iter().product();
        let allow_zero = ctx.int("allowzero", 0) != 0;
        let Some(rest) = target.get(1..) else {
            return Err(ctx.err("a target shape needs the batch dimension first"));
        };
        let mut dims = Vec::with_capacity(rest.len());
        let mut infer = None;
        for (i, &d) in rest.iter().enumerate() {
            dims.push(match d {
                0 if !allow_zero => {
                    *layout.dims.get(i).ok_or_else(|| ctx.err(format!("target {target:?} copies a missing axis")))?
                }
                -1 if infer.is_none() => {
                    infer = Some(i);
                    1
                }
                d if d > 0 => usize::try_from(d).map_err(|_| ctx.err(format!("target dimension {d} is too large")))?,
                d => return Err(ctx.err(format!("target shape {target:?} has an invalid dimension {d}"))),
            });
        }
        let known = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(0);
        if let Some(i) = infer {
            if known == 0 || total % known != 0 {
                return Err(ctx.err(format!("target shape {target:?} does not divide {} values", total)));
            }
            dims[i] = total / known;
        } else if known != total {
            return Err(ctx.err(format!("cannot reshape {} ({total} values) to {target:?}", layout.describe())));
        }
        Ok(dims)
    }

    fn squeeze(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let axes = self.axes(ctx, 1)?;
        if self.is_const(ctx, 0) {
            let t = self.constant(ctx, 0)?;
            let dims: Vec<i64> = squeezed(ctx, &t.dims, axes.as_deref())?;
            return self.set_const(ctx, Tensor { dims, data: t.data });
        }
        let layout = self.layout(ctx, 0)?;
        let mut full: Vec<i64> = std::iter::once(1).chain(layout.dims.iter().map(|&d| d as i64)).collect();
        full = squeezed(ctx, &full, axes.as_deref())?;
        if full.first() != Some(&1) && ctx.op == "Squeeze" {
            return Err(ctx.err("squeezing the batch axis is not supported"));
        }
        let dims = full[1..].iter().map(|&d| d as usize).collect();
        self.reshape_to(ctx, dims)
    }

    fn shape_of(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        // The batch size is dynamic: it reads as 1 (Reshape targets ignore it).
        let full: Vec<i64> = match self.value(ctx, 0)? {
            Value::Const(t) => t.dims.clone(),
            Value::Act(_) => std::iter::once(1).chain(self.layout(ctx, 0)?.dims.iter().map(|&d| d as i64)).collect(),
        };
        let n = full.len() as i64;
        let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) } as usize;
        let (start, end) = (clamp(ctx.int("start", 0)), clamp(ctx.int("end", n)));
        let v: Vec<i64> = full.get(start..end.max(start)).unwrap_or(&[]).to_vec();
        self.set_const(ctx, Tensor { dims: vec![v.len() as i64], data: Data::I64(v) })
    }

    fn gather(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let data = self.constant(ctx, 0)?;
        let idx = self.constant(ctx, 1)?;
        if data.dims.len() != 1 || ctx.int("axis", 0) != 0 {
            return Err(ctx.err("Gather is supported on 1-D constants (shape arithmetic) only"));
        }
        let n = data.len() as i64;
        let picks = ints_of(&idx)
            .into_iter()
            .map(|i| {
                let j = if i < 0 { i + n } else { i };
                usize::try_from(j)
                    .ok()
                    .filter(|&j| j < data.len())
                    .ok_or_else(|| ctx.err(format!("index {i} is out of range")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = match &data.data {
            Data::F32(v) => Data::F32(picks.iter().map(|&i| v[i]).collect()),
            Data::I64(v) => Data::I64(picks.iter().map(|&i| v[i]).collect()),
        };
        self.set_const(ctx, Tensor { dims: idx.dims.clone(), data: out })
    }

    fn slice(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let data = self.constant(ctx, 0)?;
        if data.dims.len() != 1 {
            return Err(ctx.err("Slice is supported on 1-D constants (shape arithmetic) only"));
        }
        // Opset 10 moved starts/ends/axes/steps from attributes to operands.
        let get = |attr: &str, i: usize| -> Result<Option<i64>, OnnxError> {
            if let Some(v) = ctx.ints(attr) {
                return Ok(v.first().copied());
            }
            Ok(self.opt_constant(ctx, i)?.and_then(|t| ints_of(&t).first().copied()))
        };
        let n = data.len() as i64;
        let step = get("steps", 4)?.unwrap_or(1);
        if step != 1 {
            return Err(ctx.err(format!("step {step} is not supported")));
        }
        let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) } as usize;
        let start = clamp(get("starts", 1)?.unwrap_or(0));
        let end = clamp(get("ends", 2)?.unwrap_or(n)).max(start);
        let out = match &data.data {
            Data::F32(v) => Data::F32(v[start..end].to_vec()),
            Data::I64(v) => Data::I64(v[start..end].to_vec()),
        };
        self.set_const(ctx, Tensor { dims: vec![(end - start) as i64], data: out })
    }

    fn cast(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        match self.value(ctx, 0)?.clone() {
            // Activations are floats throughout.
            Value::Act(l) => {
                let layout = self.layout(ctx, 0)?;
                self.alias(ctx, l, layout)
            }
            Value::Const(t) => {
                // TensorProto data types: 1 FLOAT, 6 INT32, 7 INT64, 11 DOUBLE.
                let data = match ctx.int("to", 1) {
                    1 | 11 => Data::F32(t.floats()),
                    6 | 7 => Data::I64(t.ints()),
                    to => return Err(ctx.err(format!("Cast to data type {to} is not supported"))),
                };
                self.set_const(ctx, Tensor { dims: t.dims, data })
            }
        }
    }

    /// A MatMul whose weight is constant on an activation of more than one axis:
    /// a 1×1 conv when the contracted axis is stored as channels.
    pub(super) fn token_matmul(&mut self, ctx: &NodeCtx<'_>, w: &Tensor) -> Result<(), OnnxError> {
        let x = self.act(ctx, 0)?;
        let layout = self.layout(ctx, 0)?;
        let last = layout.dims.len() - 1;
        if layout.perm[0] != last {
            return Err(ctx.err(format!(
                "a MatMul over the last axis of {} needs that axis stored as channels (rramsim maps it onto a 1x1 \
                 convolution)",
                layout.describe()
            )));
        }
        let (k, m) = (w.dims[0] as usize, w.dims[1] as usize);
        if k != layout.dims[last] {
            return Err(
                ctx.err(format!("weight dims {:?} do not match the input's last axis {}", w.dims, layout.dims[last]))
            );
        }
        let v = w.floats();
        let weight = (0..m).flat_map(|o| (0..k).map(move |i| (o, i))).map(|(o, i)| v[i * m + o]).collect();
        let conv = Conv2d::pointwise(m, false);
        let mut dims = layout.dims.clone();
        dims[last] = m;
        let out = Layout { dims, perm: layout.perm.clone() };
        self.biasless_matmul.insert(ctx.output()?.to_owned(), m);
        let params = Some(Params::Dense { weight, bias: None });
        self.emit_with(ctx, Layer { name: ctx.name.clone(), op: Op::Conv2d(conv), inputs: vec![x], params }, Some(out))
    }

    /// A MatMul of two activations `[B, M, K] · [B, K, N]`, batched over `B`.
    pub(super) fn act_matmul(&mut self, ctx: &NodeCtx<'_>) -> Result<(), OnnxError> {
        let (a, b) = (self.act(ctx, 0)?, self.act(ctx, 1)?);
        let (la, lb) = (self.layout(ctx, 0)?, self.layout(ctx, 1)?);
        let trans = |l: &Layout| -> Option<bool> {
            match l.perm.as_slice() {
                [0, 1, 2] => Some(false),
                [0, 2, 1] => Some(true),
                _ => None,
            }
        };
        if la.dims.len() == 3 && lb.dims.len() == 3 && (trans(&la).is_none() || trans(&lb).is_none()) {
            let (a, la) = self.materialize(ctx, 0)?;
            let (b, lb) = self.materialize(ctx, 1)?;
            let dims = vec![la.dims[0], la.dims[1], lb.dims[2]];
            let layer = Layer {
                name: ctx.name.clone(),
                op: Op::MatMul { transpose_a: false, transpose_b: false },
                inputs: vec![a, b],
                params: None,
            };
            return self.emit_with(ctx, layer, Some(Layout::identity(dims)));
        }
        let (Some(ta), Some(tb)) = (trans(&la), trans(&lb)) else {
            return Err(ctx.err(format!(
                "a MatMul of activations needs 3 per-sample axes [batch, rows, cols] with the batch stored first, got \
                 {} and {}",
                la.describe(),
                lb.describe()
            )));
        };
        let dims = vec![la.dims[0], la.dims[1], lb.dims[2]];
        // When the right operand is stored column-major (attention's V after its
        // head transpose), compute the transposed product `op(b)ᵀ · op(a)ᵀ`: the
        // result is then stored feature-major like the rest of the sequence, and
        // the head merge that follows moves no value.
        let (op, inputs, perm) = if tb {
            (Op::MatMul { transpose_a: !tb, transpose_b: !ta }, vec![b, a], vec![0, 2, 1])
        } else {
            (Op::MatMul { transpose_a: ta, transpose_b: tb }, vec![a, b], vec![0, 1, 2])
        };
        let layer = Layer { name: ctx.name.clone(), op, inputs, params: None };
        self.emit_with(ctx, layer, Some(Layout { dims, perm }))
    }
}

fn squeezed(ctx: &NodeCtx<'_>, dims: &[i64], axes: Option<&[i64]>) -> Result<Vec<i64>, OnnxError> {
    if ctx.op == "Squeeze" {
        let axes = match axes {
            Some(a) => a.iter().map(|&a| norm_axis(ctx, a, dims.len())).collect::<Result<Vec<_>, _>>()?,
            None => (0..dims.len()).filter(|&a| dims[a] == 1).collect(),
        };
        if let Some(&a) = axes.iter().find(|&&a| dims[a] != 1) {
            return Err(ctx.err(format!("axis {a} has size {}, not 1", dims[a])));
        }
        Ok((0..dims.len()).filter(|a| !axes.contains(a)).map(|a| dims[a]).collect())
    } else {
        let axes = axes.ok_or_else(|| ctx.err("Unsqueeze needs axes"))?;
        let rank = dims.len() + axes.len();
        let axes = axes.iter().map(|&a| norm_axis(ctx, a, rank)).collect::<Result<Vec<_>, _>>()?;
        let mut rest = dims.iter();
        Ok((0..rank).map(|a| if axes.contains(&a) { 1 } else { *rest.next().unwrap_or(&1) }).collect())
    }
}

/// Element-wise arithmetic on constants (shape sub-graphs), with scalar broadcasting.
fn fold_binary(ctx: &NodeCtx<'_>, a: &Tensor, b: &Tensor) -> Result<Tensor, OnnxError> {
    let (n, dims) = match (a.len(), b.len()) {
        (x, y) if x == y => (x, a.dims.clone()),
        (1, y) => (y, b.dims.clone()),
        (x, 1) => (x, a.dims.clone()),
        (x, y) => return Err(ctx.err(format!("constant operands of {x} and {y} values do not broadcast"))),
    };
    let pick = |len: usize, i: usize| if len == 1 { 0 } else { i };
    let data = match (&a.data, &b.data) {
        (Data::I64(x), Data::I64(y)) => {
            let f = |p: i64, q: i64| match ctx.op {
                "Add" | "Sum" => p.checked_add(q),
                "Sub" => p.checked_sub(q),
                "Mul" => p.checked_mul(q),
                _ => p.checked_div(q),
            };
            Data::I64(
                (0..n)
                    .map(|i| f(x[pick(x.len(), i)], y[pick(y.len(), i)]).ok_or_else(|| ctx.err("integer overflow")))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => {
            let (x, y) = (a.floats(), b.floats());
            let f = |p: f32, q: f32| match ctx.op {
                "Add" | "Sum" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => p / q,
            };
            Data::F32((0..n).map(|i| f(x[pick(x.len(), i)], y[pick(y.len(), i)])).collect())
        }
    };
    Ok(Tensor { dims, data })
}

/// A constant broadcast (numpy rules, batch axis of size 1) against an activation of
/// `layout`, as one value per stored element in stored order.
fn broadcast(ctx: &NodeCtx<'_>, c: &Tensor, layout: &Layout) -> Result<Vec<f32>, OnnxError> {
    let rank = layout.dims.len();
    let cd: Vec<usize> = c.dims.iter().map(|&d| d as usize).collect();
    if cd.len() > rank + 1 || (cd.len() == rank + 1 && cd[0] != 1) {
        return Err(ctx.err(format!(
            "constant of dims {:?} does not broadcast over one sample of {}",
            c.dims,
            layout.describe()
        )));
    }
    // Constant dims aligned to the per-sample axes (missing leading ones are 1).
    let aligned: Vec<usize> = (0..rank)
        .map(|a| {
            let off = rank - cd.len().min(rank);
            if a < off { 1 } else { cd[cd.len() - (rank - a)] }
        })
        .collect();
    if let Some(a) = (0..rank).find(|&a| aligned[a] != 1 && aligned[a] != layout.dims[a]) {
        return Err(ctx.err(format!(
            "constant of dims {:?} does not broadcast over {} (axis {})",
            c.dims,
            layout.describe(),
            a + 1
        )));
    }
    let v = c.floats();
    // Strides of the constant in ONNX order.
    let mut strides = vec![0usize; rank];
    let mut s = 1;
    for a in (0..rank).rev() {
        strides[a] = if aligned[a] == 1 { 0 } else { s };
        s *= aligned[a];
    }
    let stored: Vec<usize> = layout.perm.iter().map(|&a| layout.dims[a]).collect();
    let total: usize = stored.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let at: usize = (0..rank).map(|i| idx[i] * strides[layout.perm[i]]).sum();
        out.push(if v.len() == 1 { v[0] } else { v[at] });
        for i in (0..rank).rev() {
            idx[i] += 1;
            if idx[i] < stored[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    if rank == 0 {
        out = v.first().copied().into_iter().collect();
    }
    Ok(out)
}

/// Stores a per-element vector in its smallest form: 1 value, one per channel, or all.
fn compress(v: Vec<f32>, shape: Shape) -> Vec<f32> {
    if v.iter().all(|&x| x == v[0]) {
        return vec![v[0]];
    }
    let per = shape.height * shape.width;
    if per > 0 && v.len() == shape.elements() && v.chunks(per).all(|c| c.iter().all(|&x| x == c[0])) {
        return v.chunks(per).map(|c| c[0]).collect();
    }
    v
}
