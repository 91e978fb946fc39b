//! The numerical forward pass of a [`Network`], one image at a time (images in
//! parallel with rayon; each image's result depends on nothing else, so any
//! thread count gives the same numbers).
//!
//! Convolutions are im2col + GEMM ([`crate::gemm`]); a weighted layer may hold
//! several weight copies (the replicas of its crossbars, each with its own
//! faults): output pixel `p` uses copy `p mod replicas`, as the engine assigns
//! pixels to replicas. Optionally the layer's input is quantized (per image,
//! symmetric, `bits`) and the partial sum of each crossbar row tile is clipped
//! to the ADC's range.

use rayon::prelude::*;
use rramsim_graph::{Network, Op, Params, PoolKind, Shape};

use crate::device::{Analog, AnalogScratch, NoiseKey, analog_gemm};
use crate::error::FuncError;
use crate::gemm::{Strides, sgemm};
use crate::ops;

/// ADC clipping of partial sums: each row tile of `rows` inputs contributes at
/// most `fraction × rows_in_tile × max|w| × max|x|` in magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip {
    pub rows: usize,
    pub fraction: f32,
}

/// The weights one conv/linear layer computes with.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// One or more copies, each `[out][in/groups · kh · kw]` (PyTorch order).
    pub replicas: Vec<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
    /// Quantize the layer's input to this many bits (symmetric, per image).
    pub input_bits: Option<u32>,
    pub clip: Option<Clip>,
    /// Read through the device model's periphery (needs `input_bits`);
    /// `replicas` then hold the folded weights, unused by the forward pass.
    pub analog: Option<Box<Analog>>,
}

impl LayerWeights {
    /// Fault-free float weights from a layer's parameters.
    pub fn exact(weight: Vec<f32>, bias: Option<Vec<f32>>) -> Self {
        LayerWeights { replicas: vec![weight], bias, input_bits: None, clip: None, analog: None }
    }
}

/// A network ready to run: its graph and the weights of every weighted layer.
#[derive(Debug, Clone)]
pub struct Functional {
    net: Network,
    /// Indexed by layer; `Some` exactly for conv and linear layers.
    weights: Vec<Option<LayerWeights>>,
    input_shape: Shape,
    output: usize,
}

/// Reusable buffers of one worker.
#[derive(Debug, Default)]
pub struct Scratch {
    outs: Vec<Vec<f32>>,
    quant: Vec<f32>,
    /// Per-image input scales of an analog layer (its input holds integers).
    x_scale: Vec<f32>,
    buffers: ConvBuffers,
}

impl Functional {
    /// Float inference with the network's own parameters (every conv and
    /// linear layer must have them; BatchNorm layers need their statistics).
    pub fn float(net: &Network) -> Result<Self, FuncError> {
        let mut weights = Vec::with_capacity(net.len());
        for id in net.ids() {
            let layer = net.layer(id);
            weights.push(match (&layer.op, &layer.params) {
                (Op::Conv2d(_) | Op::Linear(_), Some(Params::Dense { weight, bias })) => {
                    Some(LayerWeights::exact(weight.clone(), bias.clone()))
                }
                (Op::Conv2d(_) | Op::Linear(_), _) => {
                    return Err(FuncError::NoTrainedWeights { layer: layer.name.clone() });
                }
                _ => None,
            });
        }
        Self::with_weights(net, weights)
    }

    /// A network with the given weights per layer (checked against the shapes).
    pub fn with_weights(net: &Network, weights: Vec<Option<LayerWeights>>) -> Result<Self, FuncError> {
        if weights.len() != net.len() {
            return Err(FuncError::WeightEntries { entries: weights.len(), layers: net.len() });
        }
        for id in net.ids() {
            let layer = net.layer(id);
            match (&layer.op, &weights[id.0]) {
                (Op::Conv2d(_) | Op::Linear(_), Some(w)) => {
                    let (count, out) = (net.stats(id).weights as usize, net.output_shape(id).channels);
                    if w.replicas.is_empty() || w.replicas.iter().any(|r| r.len() != count) {
                        return Err(FuncError::WeightCount { layer: layer.name.clone(), count });
                    }
                    if w.analog.is_some() && w.input_bits.is_none() {
                        return Err(FuncError::WeightCount { layer: layer.name.clone(), count });
                    }
                    if w.bias.as_ref().is_some_and(|b| b.len() != out) {
                        return Err(FuncError::BiasCount { layer: layer.name.clone(), count: out });
                    }
                }
                (Op::Conv2d(_) | Op::Linear(_), None) => {
                    return Err(FuncError::NoWeights { layer: layer.name.clone() });
                }
                (Op::BatchNorm(_), _) if !matches!(layer.params, Some(Params::BatchNorm { .. })) => {
                    return Err(FuncError::NoStatistics { layer: layer.name.clone() });
                }
                _ => {}
            }
        }
        let outputs = net.outputs();
        let [output] = outputs.as_slice() else {
            return Err(FuncError::Outputs(outputs.len()));
        };
        Ok(Functional { input_shape: net.output_shape(net.input()), output: output.0, net: net.clone(), weights })
    }

    pub fn input_shape(&self) -> Shape {
        self.input_shape
    }

    pub fn output_len(&self) -> usize {
        self.net.output_shape(rramsim_graph::LayerId(self.output)).elements()
    }

    /// Runs one image (`C × H × W`); returns the output layer's values.
    pub fn forward(&self, image: &[f32], s: &mut Scratch) -> Result<Vec<f32>, FuncError> {
        if image.len() != self.input_shape.elements() {
            return Err(FuncError::InputSize {
                values: image.len(),
                expected: self.input_shape.elements(),
                channels: self.input_shape.channels,
                height: self.input_shape.height,
                width: self.input_shape.width,
            });
        }
        Ok(self.forward_chunk(image, 1, 0, s).to_vec())
    }

    /// Runs `b` images at once (each layer one GEMM per group and replica over
    /// all their pixels); returns the `b` outputs back to back.
    /// `first` numbers the first image within the evaluated set: read noise is
    /// keyed per image, so results depend on neither the batching nor the
    /// thread count.
    fn forward_chunk<'s>(&self, images: &[f32], b: usize, first: u64, s: &'s mut Scratch) -> &'s [f32] {
        let net = &self.net;
        s.outs.resize_with(net.len(), Vec::new);
        for id in net.ids() {
            let mut out = std::mem::take(&mut s.outs[id.0]);
            out.clear();
            let layer = net.layer(id);
            let ins = net.inputs(id);
            let shapes = net.input_shapes(id);
            let oshape = net.output_shape(id);
            let per_in = shapes.first().map(|x| x.elements()).unwrap_or(0);
            let per_out = oshape.elements();
            match &layer.op {
                Op::Input { .. } => out.extend_from_slice(images),
                Op::Conv2d(_) | Op::Linear(_) => {
                    let w = self.weights[id.0].as_ref().expect("checked");
                    let geometry = match &layer.op {
                        Op::Conv2d(c) => ConvGeometry {
                            cin: shapes[0].channels,
                            h: shapes[0].height,
                            w: shapes[0].width,
                            cout: c.out_channels,
                            oh: oshape.height,
                            ow: oshape.width,
                            kernel: c.kernel,
                            stride: c.stride,
                            dilation: c.dilation,
                            pad: [c.padding.top, c.padding.left],
                            groups: c.groups,
                        },
                        _ => ConvGeometry {
                            cin: per_in,
                            h: 1,
                            w: 1,
                            cout: oshape.channels,
                            oh: 1,
                            ow: 1,
                            kernel: [1, 1],
                            stride: [1, 1],
                            dilation: [1, 1],
                            pad: [0, 0],
                            groups: 1,
                        },
                    };
                    let key = (id.0 as u64) << 40;
                    let x = if w.analog.is_some() {
                        let bits = w.input_bits.expect("checked");
                        prepare_ints(&s.outs[ins[0].0], per_in, bits, &mut s.quant, &mut s.x_scale)
                    } else {
                        prepare_input(&s.outs[ins[0].0], per_in, w.input_bits, &mut s.quant)
                    };
                    conv(&geometry, x, b, w, &s.x_scale, (key, first), &mut s.buffers, &mut out);
                }
                Op::BatchNorm(bn) => {
                    let Some(Params::BatchNorm { gamma, beta, mean, var }) = &layer.params else {
                        unreachable!("checked")
                    };
                    let per = oshape.height * oshape.width;
                    for img in s.outs[ins[0].0].chunks(per_out) {
                        for ch in 0..oshape.channels {
                            let scale = gamma[ch] / (var[ch] + bn.eps).sqrt();
                            let shift = beta[ch] - mean[ch] * scale;
                            out.extend(img[ch * per..(ch + 1) * per].iter().map(|v| v * scale + shift));
                        }
                    }
                }
                Op::Activation(a) => ops::activate_all(*a, &s.outs[ins[0].0], &mut out),
                Op::Pool(p) => {
                    for img in s.outs[ins[0].0].chunks(per_in) {
                        pool(p, shapes[0], oshape, img, &mut out);
                    }
                }
                Op::GlobalAvgPool => {
                    let per = shapes[0].height * shapes[0].width;
                    for img in s.outs[ins[0].0].chunks(per_in) {
                        out.extend(img.chunks(per).map(|plane| plane.iter().sum::<f32>() / per as f32));
                    }
                }
                Op::Add => {
                    out.extend_from_slice(&s.outs[ins[0].0]);
                    for i in &ins[1..] {
                        for (o, v) in out.iter_mut().zip(&s.outs[i.0]) {
                            *o += v;
                        }
                    }
                }
                Op::Concat => {
                    for img in 0..b {
                        for (i, shape) in ins.iter().zip(&shapes) {
                            let n = shape.elements();
                            out.extend_from_slice(&s.outs[i.0][img * n..(img + 1) * n]);
                        }
                    }
                }
                Op::Flatten | Op::Reshape { .. } | Op::Identity | Op::Dropout { .. } => {
                    out.extend_from_slice(&s.outs[ins[0].0]);
                }
                Op::Scale => ops::scale(layer.params.as_ref(), oshape, &s.outs[ins[0].0], &mut out),
                Op::Mul => ops::mul(oshape, shapes[1], &s.outs[ins[0].0], &s.outs[ins[1].0], &mut out),
                Op::Softmax { axis, log } => ops::softmax(*axis, *log, oshape, &s.outs[ins[0].0], &mut out),
                Op::LayerNorm { axis, eps } => {
                    ops::layer_norm(*axis, *eps, layer.params.as_ref(), oshape, &s.outs[ins[0].0], &mut out);
                }
                Op::MatMul { transpose_a, transpose_b } => ops::matmul(
                    [*transpose_a, *transpose_b],
                    [shapes[0], shapes[1]],
                    oshape,
                    &s.outs[ins[0].0],
                    &s.outs[ins[1].0],
                    &mut out,
                ),
                Op::GlobalMaxPool => ops::global_max(shapes[0], &s.outs[ins[0].0], &mut out),
                Op::Transpose { perm } => ops::transpose(*perm, shapes[0], &s.outs[ins[0].0], &mut out),
                Op::Lrn { size, alpha, beta, bias } => {
                    ops::lrn([*alpha, *beta, *bias], *size, oshape, &s.outs[ins[0].0], &mut out);
                }
                Op::ChannelSlice { start, len } => {
                    let plane = oshape.height * oshape.width;
                    for img in s.outs[ins[0].0].chunks(per_in) {
                        out.extend_from_slice(&img[start * plane..(start + len) * plane]);
                    }
                }
                Op::Pad { padding, mode, value } => {
                    ops::pad(*padding, *mode, *value, [shapes[0], oshape], &s.outs[ins[0].0], &mut out);
                }
                Op::Resize { linear, coord, round, .. } => {
                    ops::resize([*linear, *round], *coord, [shapes[0], oshape], &s.outs[ins[0].0], &mut out);
                }
            }
            debug_assert_eq!(out.len(), b * per_out, "{}", layer.name);
            s.outs[id.0] = out;
        }
        &s.outs[self.output]
    }

    /// Runs every image of `images` (concatenated `C × H × W` blocks) in
    /// parallel; returns the outputs in order.
    pub fn forward_batch(&self, images: &[f32]) -> Result<Vec<Vec<f32>>, FuncError> {
        let n = self.input_shape.elements();
        if images.len() % n != 0 {
            return Err(FuncError::PartialImage { values: images.len(), image: n });
        }
        let per_out = self.output_len();
        let outs: Vec<Vec<Vec<f32>>> = images
            .par_chunks(n * self.chunk())
            .enumerate()
            .map_init(Scratch::default, |s, (i, chunk)| {
                let first = (i * self.chunk()) as u64;
                self.forward_chunk(chunk, chunk.len() / n, first, s).chunks(per_out).map(<[f32]>::to_vec).collect()
            })
            .collect();
        Ok(outs.into_iter().flatten().collect())
    }

    /// Top-1 accuracy on `images`/`labels`.
    pub fn accuracy(&self, images: &[f32], labels: &[u8]) -> Result<f64, FuncError> {
        let n = self.input_shape.elements();
        if images.len() != labels.len() * n {
            return Err(FuncError::LabelCount { labels: labels.len(), values: images.len(), image: n });
        }
        let per_out = self.output_len();
        let correct: usize = images
            .par_chunks(n * self.chunk())
            .zip(labels.par_chunks(self.chunk()))
            .enumerate()
            .map_init(Scratch::default, |s, (i, (chunk, labels))| {
                let outs = self.forward_chunk(chunk, labels.len(), (i * self.chunk()) as u64, s);
                outs.chunks(per_out).zip(labels).filter(|(o, l)| argmax(o) == usize::from(**l)).count()
            })
            .sum();
        Ok(correct as f64 / labels.len().max(1) as f64)
    }
}

/// Images per GEMM (one rayon task). Nothing depends on the batching: every
/// output is a sum over its own image's values only, in the same order, and
/// read noise is drawn from a generator per (seed, layer, group, replica,
/// image).
const CHUNK: usize = 16;

/// Images per GEMM when a layer has several replicas: each replica's weights
/// are then read once per `WIDE_CHUNK` images rather than per `CHUNK`
/// (ISAAC's balanced replication holds one weight copy per output pixel).
const WIDE_CHUNK: usize = 64;

impl Functional {
    /// The batch of [`Functional::accuracy`] and [`Functional::forward_batch`].
    fn chunk(&self) -> usize {
        let replicated = self.weights.iter().flatten().any(|w| w.replicas.len() > 1);
        if replicated { WIDE_CHUNK } else { CHUNK }
    }
}

/// Index of the largest value (the first of ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// `max(0, max |v|)` over `v`, NaNs skipped: `fold(0.0, |m, v| m.max(v.abs()))`
/// (the same value: the maximum of a set does not depend on the order) in
/// eight lanes the compiler vectorizes.
#[inline]
fn abs_max(v: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            let a = x.abs();
            // A NaN compares false and is skipped, as `f32::max` skips it.
            *l = if a > *l { a } else { *l };
        }
    }
    let m = chunks.remainder().iter().fold(0.0f32, |m, x| m.max(x.abs()));
    lanes.iter().fold(m, |m, l| m.max(*l))
}

/// Zeroes a short run (the padding columns of an im2col row: usually 0 to 2
/// values) without a `memset` call for each.
#[inline]
fn zero(v: &mut [f32]) {
    match v {
        [] => {}
        [a] => *a = 0.0,
        [a, b] => (*a, *b) = (0.0, 0.0),
        _ => v.fill(0.0),
    }
}

/// The layer input, quantized into `buf` when `bits` is set (each image of
/// `per` values with its own scale).
fn prepare_input<'a>(x: &'a [f32], per: usize, bits: Option<u32>, buf: &'a mut Vec<f32>) -> &'a [f32] {
    let Some(bits) = bits else { return x };
    let q_max = ((1u64 << (bits - 1)) - 1) as f32;
    buf.clear();
    for img in x.chunks(per) {
        let max = abs_max(img);
        if max == 0.0 {
            buf.extend_from_slice(img);
        } else {
            let scale = max / q_max;
            buf.extend(img.iter().map(|v| round(v * q_max / max) * scale));
        }
    }
    buf
}

/// The layer input as integers in `buf` (each image of `per` values quantized
/// symmetrically to `bits` with its own scale, pushed to `scales`).
fn prepare_ints<'a>(x: &[f32], per: usize, bits: u32, buf: &'a mut Vec<f32>, scales: &mut Vec<f32>) -> &'a [f32] {
    let q_max = ((1u64 << (bits.max(2) - 1)) - 1) as f32;
    buf.clear();
    scales.clear();
    for img in x.chunks(per) {
        let max = abs_max(img);
        if max == 0.0 {
            buf.extend(img.iter().map(|_| 0.0));
            scales.push(1.0);
        } else {
            buf.extend(img.iter().map(|v| round(v * q_max / max)));
            scales.push(max / q_max);
        }
    }
    buf
}

/// `f32::round` (half away from zero) without the libm call it compiles to
/// on baseline x86-64: below 2^23 in magnitude truncation through `i32` is
/// exact, at or above it every float is an integer already (NaN stays NaN).
///
/// Branch-free (so loops of it vectorize): below 2^23, `(|v| + 2^23) − 2^23`
/// is `|v|` rounded to the nearest integer, ties to even (the sum is exact
/// to one unit); a tie rounded down (`|v| − r = ½`) goes up instead. The sign
/// is put back last, so −0.4 rounds to −0, as in std.
#[inline]
pub(crate) fn round(v: f32) -> f32 {
    const TWO_23: f32 = 8_388_608.0;
    let a = v.abs();
    let r = (a + TWO_23) - TWO_23;
    let r = if a - r == 0.5 { r + 1.0 } else { r };
    if a < TWO_23 { r.copysign(v) } else { v }
}

#[derive(Debug, Clone, Copy)]
struct ConvGeometry {
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    oh: usize,
    ow: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
    groups: usize,
}

/// Buffers of the convolution.
#[derive(Debug, Default)]
pub(crate) struct ConvBuffers {
    col: Vec<f32>,
    acc: Vec<f32>,
    tile: Vec<f32>,
    x_max: Vec<f32>,
    /// im2col in (image, pixel) order before a replicated layer's reordering.
    plain: Vec<f32>,
    analog: AnalogScratch,
}

/// `out[i][co][p] = bias[co] + Σ_k W_r[co][k] · col_i[p][k]` with `r = p mod R`,
/// for `b` images. im2col is built once per group, k-major, with its columns
/// ordered by (replica, image, pixel), so each replica's pixels of every image
/// form one contiguous block and one GEMM per replica covers them.
#[allow(clippy::too_many_arguments)]
fn conv(
    g: &ConvGeometry,
    x: &[f32],
    b: usize,
    w: &LayerWeights,
    x_scale: &[f32],
    (key, first): (u64, u64),
    buf: &mut ConvBuffers,
    out: &mut Vec<f32>,
) {
    let p_count = g.oh * g.ow;
    let (cin_g, cout_g) = (g.cin / g.groups, g.cout / g.groups);
    let k = cin_g * g.kernel[0] * g.kernel[1];
    let per_in = g.cin * g.h * g.w;
    let per_out = g.cout * p_count;
    let n_total = b * p_count;
    out.clear();
    out.resize(b * per_out, 0.0);
    if w.clip.is_some() {
        buf.x_max.clear();
        buf.x_max.extend(x.chunks(per_in).map(abs_max));
    }
    let replicas = w.replicas.len().min(p_count);
    // Replica r's pixels per image, and where its column block starts.
    let per_image = |r: usize| (p_count - r).div_ceil(replicas);
    let offsets: Vec<usize> =
        (0..replicas).scan(0, |acc, r| Some(std::mem::replace(acc, *acc + b * per_image(r)))).collect();
    for grp in 0..g.groups {
        build_col(g, x, b, grp, replicas, &mut buf.plain, &mut buf.col);
        // The GEMMs write every element (C = A·B, beta = 0); the clipped
        // tiles add into zeros.
        if w.clip.is_some() {
            buf.acc.clear();
        }
        buf.acc.resize(cout_g * n_total, 0.0);
        for (r, weights) in w.replicas.iter().enumerate().take(replicas) {
            let (n, offset) = (b * per_image(r), offsets[r]);
            let a = Strides { offset: grp * cout_g * k, rs: k, cs: 1 };
            let bt = Strides { offset, rs: n_total, cs: 1 };
            let c = Strides { offset, rs: n_total, cs: 1 };
            if let Some(analog) = &w.analog {
                let per = per_image(r);
                let scale = |j: usize| x_scale[j / per];
                let noise = NoiseKey { key: key ^ ((grp as u64) << 20) ^ r as u64, first_image: first, per_image: per };
                let cout = g.cout;
                analog_gemm(
                    analog,
                    r,
                    grp,
                    cout_g,
                    cout,
                    k,
                    n,
                    &buf.col,
                    offset,
                    n_total,
                    &scale,
                    &mut buf.acc,
                    offset,
                    noise,
                    &mut buf.analog,
                );
                continue;
            }
            match w.clip {
                None => sgemm(cout_g, k, n, weights, a, &buf.col, bt, 0.0, &mut buf.acc, c),
                Some(clip) => {
                    let w_max = weights.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    buf.tile.resize(cout_g * n, 0.0);
                    for start in (0..k).step_by(clip.rows.max(1)) {
                        let len = clip.rows.min(k - start);
                        let ta = Strides { offset: a.offset + start, ..a };
                        let tb = Strides { offset: offset + start * n_total, ..bt };
                        sgemm(cout_g, len, n, weights, ta, &buf.col, tb, 0.0, &mut buf.tile, Strides::rows(0, n));
                        for i in 0..cout_g {
                            for j in 0..n {
                                let bound = clip.fraction * len as f32 * w_max * buf.x_max[j / per_image(r)];
                                buf.acc[i * n_total + offset + j] += buf.tile[i * n + j].clamp(-bound, bound);
                            }
                        }
                    }
                }
            }
        }
        // Back to [image][channel][pixel].
        for i in 0..cout_g {
            let co = grp * cout_g + i;
            let acc = &buf.acc[i * n_total..(i + 1) * n_total];
            for img in 0..b {
                let dst = &mut out[img * per_out + co * p_count..][..p_count];
                if replicas == 1 {
                    dst.copy_from_slice(&acc[img * p_count..(img + 1) * p_count]);
                } else if replicas == p_count {
                    for (p, d) in dst.iter_mut().enumerate() {
                        *d = acc[p * b + img];
                    }
                } else {
                    // Replica r's pixels r, r + R, … of this image.
                    for (r, &start) in offsets.iter().enumerate() {
                        let mut at = start + img * per_image(r);
                        let mut p = r;
                        while p < p_count {
                            dst[p] = acc[at];
                            at += 1;
                            p += replicas;
                        }
                    }
                }
            }
        }
    }
    if let Some(bias) = &w.bias {
        for img in out.chunks_mut(per_out) {
            for (co, bias) in bias.iter().enumerate() {
                for v in &mut img[co * p_count..(co + 1) * p_count] {
                    *v += bias;
                }
            }
        }
    }
}

/// The im2col of group `grp` of `b` images `x` into `col` (`k` rows of
/// `b · p` columns, ordered as [`conv`] describes); `plain` is scratch.
fn build_col(
    g: &ConvGeometry,
    x: &[f32],
    b: usize,
    grp: usize,
    replicas: usize,
    plain: &mut Vec<f32>,
    col: &mut Vec<f32>,
) {
    let p_count = g.oh * g.ow;
    let cin_g = g.cin / g.groups;
    let k = cin_g * g.kernel[0] * g.kernel[1];
    let per_in = g.cin * g.h * g.w;
    let n_total = b * p_count;
    if replicas == p_count && replicas > 1 {
        // One replica per pixel: im2col in (pixel, image) order straight
        // from the group's input with the image index innermost.
        let hw = g.h * g.w;
        plain.clear();
        plain.resize(cin_g * hw * b, 0.0);
        for img in 0..b {
            let x = &x[img * per_in + grp * cin_g * hw..][..cin_g * hw];
            for (e, v) in x.iter().enumerate() {
                plain[e * b + img] = *v;
            }
        }
        col.resize(k * n_total, 0.0);
        for ci in 0..cin_g {
            for ky in 0..g.kernel[0] {
                for kx in 0..g.kernel[1] {
                    let kk = (ci * g.kernel[0] + ky) * g.kernel[1] + kx;
                    let row = &mut col[kk * n_total..(kk + 1) * n_total];
                    im2col_pixel_major(g, &plain[ci * hw * b..(ci + 1) * hw * b], b, ky, kx, row);
                }
            }
        }
    } else {
        // im2col in (image, pixel) order; a replicated layer's columns are
        // then reordered to (replica, image, pixel) blocks, so each
        // replica's pixels of every image form one contiguous block and
        // one GEMM.
        let dst = if replicas == 1 { &mut *col } else { &mut *plain };
        // Every element is written (zeros in the padding).
        dst.resize(k * n_total, 0.0);
        let taps: Vec<Tap> = (0..g.kernel[0])
            .flat_map(|ky| (0..g.kernel[1]).map(move |kx| (ky, kx)))
            .map(|(ky, kx)| Tap::new(g, ky, kx))
            .collect();
        for img in 0..b {
            let x = &x[img * per_in..(img + 1) * per_in];
            for ci in 0..cin_g {
                let plane = &x[(grp * cin_g + ci) * g.h * g.w..][..g.h * g.w];
                for (t, tap) in taps.iter().enumerate() {
                    let kk = ci * taps.len() + t;
                    let row = &mut dst[kk * n_total + img * p_count..][..p_count];
                    im2col_tap(g, tap, plane, row);
                }
            }
        }
        if replicas > 1 {
            // Every element is written.
            col.resize(k * n_total, 0.0);
            for (row, src) in col.chunks_exact_mut(n_total).zip(plain.chunks_exact(n_total)) {
                to_replica_blocks(src, row, b, p_count, replicas);
            }
        }
    }
}

/// Where one kernel offset's im2col row reads: the valid output rows and
/// columns (each one range) and the input offset of output pixel (0, 0).
#[derive(Debug, Clone, Copy)]
struct Tap {
    oy: (usize, usize),
    ox: (usize, usize),
    dy: isize,
    dx: isize,
}

impl Tap {
    fn new(g: &ConvGeometry, ky: usize, kx: usize) -> Tap {
        let dy = (ky * g.dilation[0]) as isize - g.pad[0] as isize;
        let dx = (kx * g.dilation[1]) as isize - g.pad[1] as isize;
        let valid = |d: isize, s: usize, n: usize, on: usize| {
            let lo = if d >= 0 { 0 } else { ((-d) as usize).div_ceil(s) }.min(on);
            let hi = if (n as isize) > d { ((n as isize - d - 1) as usize / s + 1).min(on) } else { 0 };
            (lo, hi.max(lo))
        };
        Tap { oy: valid(dy, g.stride[0], g.h, g.oh), ox: valid(dx, g.stride[1], g.w, g.ow), dy, dx }
    }
}

/// One im2col row of one image: input values at kernel offset (`ky`, `kx`)
/// for every output pixel (zero where the window is in the padding). Every
/// element of `dst` is written.
#[cfg(test)]
fn im2col_row(g: &ConvGeometry, plane: &[f32], ky: usize, kx: usize, dst: &mut [f32]) {
    im2col_tap(g, &Tap::new(g, ky, kx), plane, dst);
}

/// [`im2col_row`] of a precomputed [`Tap`].
fn im2col_tap(g: &ConvGeometry, tap: &Tap, plane: &[f32], dst: &mut [f32]) {
    let ((oy_lo, oy_hi), (ox_lo, ox_hi), dy, dx) = (tap.oy, tap.ox, tap.dy, tap.dx);
    let (sy, sx) = (g.stride[0], g.stride[1]);
    let ow = g.ow;
    if oy_lo == oy_hi || ox_lo == ox_hi {
        dst.fill(0.0);
        return;
    }
    zero(&mut dst[..oy_lo * ow]);
    zero(&mut dst[oy_hi * ow..]);
    let len = ox_hi - ox_lo;
    if sy == 1 && sx == 1 && ow == g.w {
        // Output pixel p reads input p + dy·w + dx: the valid rows are one
        // contiguous copy, then the padding columns are zeroed over it (one
        // strided pass per padding column).
        let shift = dy * g.w as isize + dx;
        let (lo, hi) = (oy_lo * ow + ox_lo, (oy_hi - 1) * ow + ox_hi);
        let from = (lo as isize + shift) as usize;
        dst[lo..hi].copy_from_slice(&plane[from..from + (hi - lo)]);
        if len < ow {
            let rows = &mut dst[oy_lo * ow..oy_hi * ow];
            for c in (0..ox_lo).chain(ox_hi..ow) {
                for v in rows[c..].iter_mut().step_by(ow) {
                    *v = 0.0;
                }
            }
        }
        return;
    }
    let x0 = (ox_lo * sx) as isize + dx;
    for (oy, out) in dst[oy_lo * ow..oy_hi * ow].chunks_exact_mut(ow).enumerate() {
        let iy = ((oy_lo + oy) * sy) as isize + dy;
        let src = &plane[(iy as usize * g.w + x0 as usize)..];
        zero(&mut out[..ox_lo]);
        zero(&mut out[ox_hi..]);
        let out = &mut out[ox_lo..ox_hi];
        if sx == 1 {
            out.copy_from_slice(&src[..len]);
        } else {
            for (o, v) in out.iter_mut().zip(src.iter().step_by(sx)) {
                *o = *v;
            }
        }
    }
}

/// One im2col row in (pixel, image) order from a channel plane stored with
/// the image index innermost (`plane[(y·w + x)·b + img]`): each output pixel's
/// `b` values are one contiguous copy (zeros in the padding).
fn im2col_pixel_major(g: &ConvGeometry, plane: &[f32], b: usize, ky: usize, kx: usize, dst: &mut [f32]) {
    let dy = (ky * g.dilation[0]) as isize - g.pad[0] as isize;
    let dx = (kx * g.dilation[1]) as isize - g.pad[1] as isize;
    for (p, out) in dst.chunks_exact_mut(b).enumerate() {
        let iy = (p / g.ow * g.stride[0]) as isize + dy;
        let ix = (p % g.ow * g.stride[1]) as isize + dx;
        if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
            out.copy_from_slice(&plane[(iy as usize * g.w + ix as usize) * b..][..b]);
        } else {
            out.fill(0.0);
        }
    }
}

/// The columns of one im2col row in (image, pixel) order (`src`, `b` images
/// of `p_count` pixels) reordered to (replica, image, pixel) blocks in `dst`:
/// pixel `p` goes to replica `p mod R`, block `r` holds its pixels `r, r + R,
/// …` of every image in turn.
fn to_replica_blocks(src: &[f32], dst: &mut [f32], b: usize, p_count: usize, replicas: usize) {
    let mut at = 0;
    for r in 0..replicas {
        for img in 0..b {
            let mut p = img * p_count + r;
            let end = (img + 1) * p_count;
            while p < end {
                dst[at] = src[p];
                at += 1;
                p += replicas;
            }
        }
    }
}

/// PyTorch/ONNX pooling: windows clipped to the padded input; average pooling
/// divides by the clipped window (`count_include_pad`) or by its in-bounds part.
fn pool(p: &rramsim_graph::Pool, input: Shape, output: Shape, x: &[f32], out: &mut Vec<f32>) {
    let (h, w) = (input.height as isize, input.width as isize);
    let (pt, pl) = (p.padding.top as isize, p.padding.left as isize);
    let (pb, pr) = (p.padding.bottom as isize, p.padding.right as isize);
    for ch in 0..output.channels {
        let plane = &x[ch * input.height * input.width..][..input.height * input.width];
        for oy in 0..output.height as isize {
            for ox in 0..output.width as isize {
                let hs = oy * p.stride[0] as isize - pt;
                let ws = ox * p.stride[1] as isize - pl;
                let he = (hs + p.kernel[0] as isize).min(h + pb);
                let we = (ws + p.kernel[1] as isize).min(w + pr);
                let padded = (he - hs) * (we - ws);
                let (hs, ws, he, we) = (hs.max(0), ws.max(0), he.min(h), we.min(w));
                let v = match p.kind {
                    PoolKind::Max => {
                        let mut m = f32::NEG_INFINITY;
                        for y in hs..he {
                            for xx in ws..we {
                                m = m.max(plane[(y * w + xx) as usize]);
                            }
                        }
                        m
                    }
                    PoolKind::Avg => {
                        let mut sum = 0.0;
                        for y in hs..he {
                            for xx in ws..we {
                                sum += plane[(y * w + xx) as usize];
                            }
                        }
                        let count = if p.count_include_pad { padded } else { (he - hs) * (we - ws) };
                        sum / count.max(1) as f32
                    }
                };
                out.push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rramsim_graph::{Conv2d, Layer, NetworkBuilder, Padding};

    /// input 1×2×2 → 1x1 conv with one output channel.
    fn net() -> Network {
        let mut b = NetworkBuilder::new("t");
        b.push(Layer::new("input", Op::Input { shape: Shape::new(1, 2, 2) }, &[]));
        b.push(Layer::new("conv", Op::Conv2d(Conv2d::pointwise(1, true)), &["input"]));
        b.build().unwrap()
    }

    fn weights(replicas: Vec<Vec<f32>>, clip: Option<Clip>) -> Vec<Option<LayerWeights>> {
        vec![None, Some(LayerWeights { replicas, bias: Some(vec![0.5]), input_bits: None, clip, analog: None })]
    }

    #[test]
    fn round_matches_std() {
        let mut xs = vec![0.5, -0.5, 1.5, -2.5, 0.49999997, -0.49999997, 8_388_607.5, 8_388_608.0, 1e30, -0.0, 3.0];
        let mut rng = rand_pcg::Pcg64Mcg::new(4);
        xs.extend((0..100_000).map(|_| {
            let u = rand_core::Rng::next_u32(&mut rng);
            (f64::from(u) / f64::from(u32::MAX) * 600.0 - 300.0) as f32
        }));
        // Every tie and its neighbours up to 2^23, and arbitrary bit patterns
        // (tiny, huge, infinite, NaN).
        for k in (0..1u32 << 24).step_by(997) {
            let h = k as f32 * 0.5;
            xs.extend([h, -h, f32::from_bits(h.to_bits() + 1), f32::from_bits(h.to_bits().saturating_sub(1))]);
        }
        xs.extend((0..100_000).map(|_| f32::from_bits(rand_core::Rng::next_u32(&mut rng))));
        for x in xs {
            if x.is_nan() {
                assert!(round(x).is_nan());
            } else {
                assert_eq!(round(x).to_bits(), x.round().to_bits(), "{x}");
            }
        }
        assert!(round(f32::NAN).is_nan());
    }

    #[test]
    fn abs_max_matches_the_fold() {
        let mut rng = rand_pcg::Pcg64Mcg::new(9);
        for len in [0usize, 1, 7, 8, 9, 31, 100] {
            for special in [None, Some(f32::NAN), Some(f32::INFINITY), Some(-0.0), Some(-1e30)] {
                let mut v: Vec<f32> =
                    (0..len).map(|_| f32::from_bits(rand_core::Rng::next_u32(&mut rng)) % 100.0).collect();
                if let (Some(x), Some(at)) = (special, len.checked_sub(1)) {
                    v[at / 2] = x;
                }
                let want = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                assert_eq!(abs_max(&v).to_bits(), want.to_bits(), "{v:?}");
            }
        }
    }

    #[test]
    fn im2col_rows_match_a_direct_gather() {
        for (h, w, k, stride, dilation, pad) in [
            (5, 7, 3, 1, 1, 1),
            (6, 6, 3, 2, 1, 1),
            (7, 5, 3, 1, 2, 2),
            (8, 8, 1, 2, 1, 0),
            (4, 9, 5, 3, 1, 2),
            (3, 4, 1, 1, 1, 0),
            (6, 5, 3, 1, 1, 0),
            (2, 3, 5, 1, 1, 2),
        ] {
            let oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            let ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            let g = ConvGeometry {
                cin: 1,
                h,
                w,
                cout: 1,
                oh,
                ow,
                kernel: [k, k],
                stride: [stride, stride],
                dilation: [dilation, dilation],
                pad: [pad, pad],
                groups: 1,
            };
            let plane: Vec<f32> = (0..h * w).map(|i| i as f32 + 1.0).collect();
            for (ky, kx) in [(0, 0), (k / 2, k - 1), (k - 1, 0)] {
                let want: Vec<f32> = (0..oh * ow)
                    .map(|p| {
                        let iy = ((p / ow) * stride + ky * dilation) as isize - pad as isize;
                        let ix = ((p % ow) * stride + kx * dilation) as isize - pad as isize;
                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                        if inside { plane[iy as usize * w + ix as usize] } else { 0.0 }
                    })
                    .collect();
                // Stale values: every element must be written.
                let mut row = vec![-1.0; oh * ow];
                im2col_row(&g, &plane, ky, kx, &mut row);
                assert_eq!(row, want, "{h}x{w} k{k} s{stride} d{dilation} p{pad} at ({ky}, {kx})");
                // Two images, pixel-major (one replica per pixel): the second
                // image's plane is the first's + 0.5.
                let interleaved: Vec<f32> = plane.iter().flat_map(|v| [*v, v + 0.5]).collect();
                let mut pm = vec![-1.0; 2 * oh * ow];
                im2col_pixel_major(&g, &interleaved, 2, ky, kx, &mut pm);
                for p in 0..oh * ow {
                    let second = if want[p] == 0.0 { 0.0 } else { want[p] + 0.5 };
                    assert_eq!([pm[2 * p], pm[2 * p + 1]], [want[p], second], "pixel {p}");
                }
                // Reordered for 3 replicas, and one per pixel, over 2 images:
                // pixel p of image i at base[p] + i · mult[p].
                let two: Vec<f32> = want.iter().copied().chain(want.iter().map(|v| v + 0.5)).collect();
                for reps in [3, oh * ow] {
                    let per = |r: usize| (oh * ow - r).div_ceil(reps);
                    let base: Vec<usize> =
                        (0..oh * ow).map(|p| 2 * (0..p % reps).map(per).sum::<usize>() + p / reps).collect();
                    let mult: Vec<usize> = (0..oh * ow).map(|p| per(p % reps)).collect();
                    let mut blocks = vec![-1.0; 2 * oh * ow];
                    to_replica_blocks(&two, &mut blocks, 2, oh * ow, reps);
                    for p in 0..oh * ow {
                        assert_eq!(blocks[base[p]], want[p], "pixel {p} of {reps}");
                        assert_eq!(blocks[base[p] + mult[p]], want[p] + 0.5, "pixel {p} of {reps}");
                    }
                }
            }
        }
    }

    /// A replicated grouped 3x3 conv (stride 2, padding 1) over a batch equals a
    /// direct per-pixel computation with replica `p mod R`'s weights.
    #[test]
    fn replicated_grouped_convs_match_a_direct_loop() {
        let (cin, cout, h, w, groups, replicas) = (4, 6, 7, 6, 2, 5);
        let mut b = NetworkBuilder::new("t");
        b.push(Layer::new("input", Op::Input { shape: Shape::new(cin, h, w) }, &[]));
        b.push(Layer::new(
            "conv",
            Op::Conv2d(Conv2d {
                out_channels: cout,
                kernel: [3, 3],
                stride: [2, 2],
                padding: Padding::uniform(1),
                dilation: [1, 1],
                groups,
                bias: false,
            }),
            &["input"],
        ));
        let net = b.build().unwrap();
        let per = cout * (cin / groups) * 9;
        let copies: Vec<Vec<f32>> =
            (0..replicas).map(|r| (0..per).map(|i| ((i * 7 + r * 13) % 11) as f32 - 5.0).collect()).collect();
        let weights = vec![
            None,
            Some(LayerWeights { replicas: copies.clone(), bias: None, input_bits: None, clip: None, analog: None }),
        ];
        let f = Functional::with_weights(&net, weights).unwrap();
        let (oh, ow) = (4, 3);
        let images: Vec<f32> = (0..3 * cin * h * w).map(|i| ((i * 5) % 17) as f32 - 8.0).collect();
        let outs = f.forward_batch(&images).unwrap();
        for (img, out) in outs.iter().enumerate() {
            let x = &images[img * cin * h * w..][..cin * h * w];
            for co in 0..cout {
                let grp = co / (cout / groups);
                for p in 0..oh * ow {
                    let wr = &copies[p % replicas];
                    let mut sum = 0.0;
                    for ci in 0..cin / groups {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let iy = ((p / ow) * 2 + ky) as isize - 1;
                                let ix = ((p % ow) * 2 + kx) as isize - 1;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    let c = grp * (cin / groups) + ci;
                                    sum += wr[((co * (cin / groups) + ci) * 3 + ky) * 3 + kx]
                                        * x[(c * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                    }
                    assert_eq!(out[co * oh * ow + p], sum, "image {img} channel {co} pixel {p}");
                }
            }
        }
    }

    #[test]
    fn pixels_use_their_replica() {
        let f = Functional::with_weights(&net(), weights(vec![vec![2.0], vec![-1.0], vec![10.0]], None)).unwrap();
        let mut s = Scratch::default();
        // Pixels 0..4 use replicas 0, 1, 2, 0.
        assert_eq!(f.forward(&[1.0, 1.0, 1.0, 3.0], &mut s).unwrap(), vec![2.5, -0.5, 10.5, 6.5]);
        // Batched and single-image runs agree.
        let images: Vec<f32> = (0..4 * 40).map(|i| (i % 7) as f32 - 3.0).collect();
        let batch = f.forward_batch(&images).unwrap();
        for (i, out) in batch.iter().enumerate() {
            assert_eq!(*out, f.forward(&images[i * 4..(i + 1) * 4], &mut s).unwrap());
        }
    }

    #[test]
    fn partial_sums_clip_and_inputs_quantize() {
        // One row per tile, fraction 0.5: |w·x| ≤ 0.5 · 1 · |w| · max|x|.
        let clip = Some(Clip { rows: 1, fraction: 0.5 });
        let f = Functional::with_weights(&net(), weights(vec![vec![2.0]], clip)).unwrap();
        let mut s = Scratch::default();
        assert_eq!(f.forward(&[4.0, 1.0, -4.0, 2.0], &mut s).unwrap(), vec![4.5, 2.5, -3.5, 4.5]);
        let mut w = weights(vec![vec![1.0]], None);
        w[1].as_mut().unwrap().input_bits = Some(2); // levels −1, 0, 1 of max|x|
        let f = Functional::with_weights(&net(), w).unwrap();
        assert_eq!(f.forward(&[4.0, 1.0, -4.0, 2.5], &mut s).unwrap(), vec![4.5, 0.5, -3.5, 4.5]);
        let err = f.forward(&[1.0], &mut s).unwrap_err();
        assert!(matches!(err, FuncError::InputSize { values: 1, expected: 4, .. }) && err.is_input(), "{err}");
        assert!(err.to_string().contains("takes 4"));
        let err = Functional::with_weights(&net(), weights(vec![vec![1.0, 2.0]], None)).unwrap_err();
        assert!(matches!(err, FuncError::WeightCount { count: 1, .. }) && !err.is_input(), "{err}");
    }

    /// Read noise is keyed per image: a 3×3 conv (padding 1) and a 1×1 conv
    /// on 2×6×6 images, read with 5 % read noise in the fast and the
    /// bit-exact mode, one copy per layer or one per output pixel (balanced
    /// replication), give every image the same logits whether it runs alone,
    /// in uneven batches, in one batch of all, or through `forward_batch`
    /// (its fixed chunks on the thread pool).
    #[test]
    fn read_noise_does_not_depend_on_the_batching() {
        use crate::{DeviceOptions, HardwareOptions, hardware_weights};
        use rramsim_map::{MappingOptions, Replication, map_network};
        let mut b = NetworkBuilder::new("t");
        b.push(Layer::new("input", Op::Input { shape: Shape::new(2, 6, 6) }, &[]));
        let square = Conv2d {
            out_channels: 4,
            kernel: [3, 3],
            stride: [1, 1],
            padding: Padding::uniform(1),
            dilation: [1, 1],
            groups: 1,
            bias: false,
        };
        let mut conv = Layer::new("c1", Op::Conv2d(square), &["input"]);
        let weight = (0..4 * 18).map(|i| ((i * 7) % 13) as f32 / 6.0 - 1.0).collect();
        conv.params = Some(Params::Dense { weight, bias: None });
        b.push(conv);
        let mut point = Layer::new("c2", Op::Conv2d(Conv2d::pointwise(3, false)), &["c1"]);
        let weight = (0..3 * 4).map(|i| ((i * 5) % 11) as f32 / 5.0 - 1.0).collect();
        point.params = Some(Params::Dense { weight, bias: None });
        b.push(point);
        let net = b.build().unwrap();
        let (mut arch, _) =
            rramsim_hw::load_arch_toml("neurosim-8b", rramsim_hw::preset("neurosim-8b").unwrap()).unwrap();
        arch.device.program_sigma = vec![0.1];
        arch.device.read_sigma = 0.05;
        let per = 2 * 36;
        let images: Vec<f32> = (0..40 * per).map(|i| ((i * 29) % 17) as f32 / 8.0 - 1.0).collect();
        for replication in [Replication::None, Replication::Balanced] {
            let mapping = map_network(&net, &arch, &MappingOptions::rram(replication)).unwrap();
            for exact in [false, true] {
                let device = Some(DeviceOptions { time_s: 1.0, seed: 3, exact });
                let options = HardwareOptions { adc_clip: false, device };
                let (w, _) = hardware_weights(&net, &arch, &mapping, None, options).unwrap();
                let f = Functional::with_weights(&net, w).unwrap();
                let mut s = Scratch::default();
                let all = f.forward_chunk(&images, 40, 0, &mut s).to_vec();
                let mut parts = Vec::new();
                for (lo, hi) in [(0, 1), (1, 17), (17, 40)] {
                    parts.extend_from_slice(f.forward_chunk(&images[lo * per..hi * per], hi - lo, lo as u64, &mut s));
                }
                assert_eq!(all, parts, "{replication:?} exact {exact}");
                let batch: Vec<f32> = f.forward_batch(&images).unwrap().concat();
                assert_eq!(all, batch, "{replication:?} exact {exact}");
                // The noise is there: an image run as another index differs.
                assert_ne!(&all[..3 * 36], f.forward_chunk(&images[..per], 1, 1, &mut s), "{replication:?} {exact}");
            }
        }
    }
}
