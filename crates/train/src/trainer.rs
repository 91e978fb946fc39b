//! The training loop: a network compiled to [`Node`]s with their parameters,
//! run forward and backward over each batch in chunks of [`CHUNK`] images (in
//! parallel), AdamW on the gradients summed over the chunks in order.

use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;
use rramsim_func::Dataset;
use rramsim_graph::{Activation, Network, Op, Padding, Params};
use rramsim_map::Offload;

use crate::kernels::{self, Geometry};
use crate::{EpochReport, MaskScaling, TrainConfig, TrainError};

/// Images per chunk: a fixed number, so every sum (weight gradients, BatchNorm
/// statistics) has the same terms in the same order on any thread count.
const CHUNK: usize = 16;

/// AdamW's constants (candle's and PyTorch's defaults, and the weight decay
/// rramsim has trained with since its first training code).
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;
const WEIGHT_DECAY: f64 = 1e-4;

/// A uniform draw in `[0, 1)`.
fn unit(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box–Muller).
fn gauss(rng: &mut Pcg64Mcg) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A trainable parameter with its gradient and AdamW moments.
#[derive(Debug)]
struct Tensor {
    value: Vec<f32>,
    grad: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Tensor {
    fn new(value: Vec<f32>) -> Self {
        let n = value.len();
        Tensor { value, grad: vec![0.0; n], m: vec![0.0; n], v: vec![0.0; n] }
    }
}

#[derive(Debug)]
struct Dense {
    geo: Geometry,
    w: usize,
    b: Option<usize>,
    /// On RRAM under the offload policy: masked, scaled and noisy.
    masked: bool,
    /// The weights the step computes with.
    eff: Vec<f32>,
    /// `∂eff/∂w` per weight (the mask and its scaling); empty when all 1.
    scale: Vec<f32>,
}

impl Dense {
    fn node(geo: Geometry, w: usize, b: Option<usize>, masked: bool, weights: usize) -> Node {
        Node::Dense(Dense { geo, w, b, masked, eff: vec![0.0; weights], scale: Vec::new() })
    }
}

#[derive(Debug)]
struct Bn {
    gamma: usize,
    beta: usize,
    eps: f32,
    channels: usize,
    pixels: usize,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    /// This batch's statistics, and the sums of `dy` and `dy · xhat`.
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    dsum: Vec<f64>,
    ddot: Vec<f64>,
    /// Values per channel in this batch (`images × pixels`).
    count: usize,
}

#[derive(Debug)]
enum Node {
    Input,
    Dense(Dense),
    Bn(Bn),
    Clamp { lo: f32, hi: f32 },
    Add,
    GlobalAvgPool { pixels: usize },
    Pass,
}

/// The compiled network and its parameters.
#[derive(Debug)]
struct Plan {
    net: Network,
    nodes: Vec<Node>,
    inputs: Vec<Vec<usize>>,
    /// Output values per image, per node.
    sizes: Vec<usize>,
    /// Whether a node's output needs a gradient (everything but the input).
    needs_grad: Vec<bool>,
    output: usize,
    tensors: Vec<Tensor>,
}

impl Plan {
    fn new(net: &Network, offload: &Offload, rng: &mut Pcg64Mcg) -> Result<Self, TrainError> {
        let mut tensors = Vec::new();
        let mut push = |t: Vec<f32>| {
            tensors.push(Tensor::new(t));
            tensors.len() - 1
        };
        let mut nodes = Vec::with_capacity(net.len());
        for id in net.ids() {
            let layer = net.layer(id);
            let ishape = net.input_shapes(id).first().copied();
            let oshape = net.output_shape(id);
            let masked = !offload.offloads(net, id);
            let untrainable = || TrainError::Untrainable { layer: layer.name.clone(), op: layer.op.kind_name() };
            let node = match &layer.op {
                Op::Input { .. } => Node::Input,
                Op::Conv2d(c) => {
                    let i = ishape.expect("a conv has an input");
                    if c.kernel[0] != c.kernel[1]
                        || c.stride[0] != c.stride[1]
                        || c.padding != Padding::uniform(c.padding.top)
                        || c.dilation != [1, 1]
                    {
                        return Err(TrainError::NotSquare(layer.name.clone()));
                    }
                    let depthwise = c.groups > 1;
                    if depthwise && !(c.groups == i.channels && c.groups == c.out_channels) {
                        return Err(untrainable());
                    }
                    let cin = i.channels / c.groups;
                    let fan_in = cin * c.kernel[0] * c.kernel[1];
                    // He-uniform initialization.
                    let bound = (6.0 / fan_in as f64).sqrt();
                    let n = c.out_channels * fan_in;
                    let w: Vec<f32> = (0..n).map(|_| ((unit(rng) * 2.0 - 1.0) * bound) as f32).collect();
                    let geo = Geometry {
                        cin: i.channels,
                        h: i.height,
                        w: i.width,
                        cout: c.out_channels,
                        oh: oshape.height,
                        ow: oshape.width,
                        k: c.kernel[0],
                        stride: c.stride[0],
                        pad: c.padding.top,
                        depthwise,
                    };
                    let (w, b) = (push(w), c.bias.then(|| push(vec![0.0; c.out_channels])));
                    Dense::node(geo, w, b, masked, n)
                }
                Op::Linear(l) => {
                    let i = ishape.expect("a linear layer has an input");
                    if i.height * i.width != 1 {
                        // Channel-major tensors would need a transpose first.
                        return Err(untrainable());
                    }
                    let k = i.elements();
                    let bound = 1.0 / (k as f64).sqrt();
                    let n = l.out_features * k;
                    let w: Vec<f32> = (0..n).map(|_| ((unit(rng) * 2.0 - 1.0) * bound) as f32).collect();
                    let geo = Geometry {
                        cin: k,
                        h: 1,
                        w: 1,
                        cout: l.out_features,
                        oh: 1,
                        ow: 1,
                        k: 1,
                        stride: 1,
                        pad: 0,
                        depthwise: false,
                    };
                    let (w, b) = (push(w), l.bias.then(|| push(vec![0.0; l.out_features])));
                    Dense::node(geo, w, b, masked, n)
                }
                Op::BatchNorm(bn) => {
                    let c = oshape.channels;
                    Node::Bn(Bn {
                        gamma: push(vec![1.0; c]),
                        beta: push(vec![0.0; c]),
                        eps: bn.eps,
                        channels: c,
                        pixels: oshape.height * oshape.width,
                        running_mean: vec![0.0; c],
                        running_var: vec![1.0; c],
                        mean: vec![0.0; c],
                        inv_std: vec![0.0; c],
                        dsum: vec![0.0; c],
                        ddot: vec![0.0; c],
                        count: 0,
                    })
                }
                Op::Activation(a) => {
                    let (lo, hi) = match a {
                        Activation::Relu => (0.0, f32::INFINITY),
                        Activation::Relu6 => (0.0, 6.0),
                        Activation::Clip { min, max } => (*min, *max),
                        _ => return Err(untrainable()),
                    };
                    Node::Clamp { lo, hi }
                }
                Op::Add => Node::Add,
                Op::GlobalAvgPool => {
                    let i = ishape.expect("a pool has an input");
                    Node::GlobalAvgPool { pixels: i.height * i.width }
                }
                Op::Identity | Op::Dropout { .. } => Node::Pass,
                // Flatten of a 1 × 1 image keeps channel-major order.
                Op::Flatten if ishape.is_some_and(|i| i.height * i.width == 1) => Node::Pass,
                _ => return Err(untrainable()),
            };
            nodes.push(node);
        }
        let outputs = net.outputs();
        Ok(Plan {
            inputs: net.ids().map(|id| net.inputs(id).iter().map(|i| i.0).collect()).collect(),
            sizes: net.ids().map(|id| net.output_shape(id).elements()).collect(),
            needs_grad: nodes.iter().map(|n| !matches!(n, Node::Input)).collect(),
            output: outputs[0].0,
            nodes,
            tensors,
            net: net.clone(),
        })
    }

    /// This step's effective weights: masks (with their scaling) and noise on
    /// the masked layers, the trained weights elsewhere.
    fn prepare_weights(&mut self, cfg: &TrainConfig, mask_rng: &mut Pcg64Mcg, noise_rng: &mut Pcg64Mcg) {
        let p = cfg.drop_connect;
        let keep_scale = match cfg.scaling {
            MaskScaling::None => 1.0,
            MaskScaling::Inverted => (1.0 / (1.0 - p)) as f32,
        };
        for node in &mut self.nodes {
            let Node::Dense(d) = node else { continue };
            let w = &self.tensors[d.w].value;
            d.eff.copy_from_slice(w);
            d.scale.clear();
            if !d.masked {
                continue;
            }
            if p > 0.0 {
                d.scale.extend((0..w.len()).map(|_| if unit(mask_rng) < p { 0.0 } else { keep_scale }));
                d.eff.iter_mut().zip(&d.scale).for_each(|(e, s)| *e *= s);
            }
            if cfg.weight_noise > 0.0 {
                let sigma = cfg.weight_noise * f64::from(w.iter().fold(0.0f32, |m, v| m.max(v.abs())));
                for (i, e) in d.eff.iter_mut().enumerate() {
                    let noise = (sigma * gauss(noise_rng)) as f32;
                    // A dropped weight is a zero on the device: no noise on it.
                    if d.scale.get(i).is_none_or(|&s| s != 0.0) {
                        *e += noise;
                    }
                }
            }
        }
    }

    /// One AdamW step at learning rate `lr` (step `t` ≥ 1).
    fn adamw(&mut self, lr: f64, t: i32) {
        let (scale_m, scale_v) = (1.0 / (1.0 - BETA1.powi(t)), 1.0 / (1.0 - BETA2.powi(t)));
        let decay = (1.0 - lr * WEIGHT_DECAY) as f32;
        let (b1, b2) = (BETA1 as f32, BETA2 as f32);
        let (scale_m, scale_v, lr, eps) = (scale_m as f32, scale_v as f32, lr as f32, ADAM_EPS as f32);
        for t in &mut self.tensors {
            for (((w, g), m), v) in t.value.iter_mut().zip(&t.grad).zip(&mut t.m).zip(&mut t.v) {
                *m = *m * b1 + g * (1.0 - b1);
                *v = *v * b2 + g * g * (1.0 - b2);
                let adjusted = (*m * scale_m) / ((*v * scale_v).sqrt() + eps);
                *w = *w * decay - adjusted * lr;
            }
        }
    }

    /// The network with the trained parameters (BatchNorm with running statistics).
    fn export(&self) -> Result<Network, TrainError> {
        let mut b = self.net.to_builder();
        for id in self.net.ids() {
            let params = match &self.nodes[id.0] {
                Node::Dense(d) => Params::Dense {
                    weight: self.tensors[d.w].value.clone(),
                    bias: d.b.map(|b| self.tensors[b].value.clone()),
                },
                Node::Bn(bn) => Params::BatchNorm {
                    gamma: self.tensors[bn.gamma].value.clone(),
                    beta: self.tensors[bn.beta].value.clone(),
                    mean: bn.running_mean.clone(),
                    var: bn.running_var.clone(),
                },
                _ => continue,
            };
            let name = &self.net.layer(id).name;
            b.layer_mut(name).expect("the layer exists").params = Some(params);
        }
        b.build().map_err(TrainError::Build)
    }
}

/// A random crop offset and flip of one image.
#[derive(Debug, Clone, Copy, Default)]
struct Aug {
    dy: isize,
    dx: isize,
    flip: bool,
}

/// One chunk of a batch with its activations, gradients and scratch buffers
/// (sized once, reused every step).
#[derive(Debug, Default)]
struct Chunk {
    n: usize,
    labels: Vec<u8>,
    outs: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    /// Whether a gradient has been written this step (else it holds stale values).
    written: Vec<bool>,
    /// im2col matrices of convolutions, phase planes of depthwise ones,
    /// normalized values of BatchNorm layers.
    cols: Vec<Vec<f32>>,
    /// Backward scratch: the im2col gradient, or depthwise phase planes.
    dcol: Vec<f32>,
    /// Per-tensor gradients of this chunk (weights and biases of dense layers).
    dparams: Vec<Vec<f32>>,
    sums: Vec<f64>,
    sqs: Vec<f64>,
    loss: f64,
    correct: usize,
}

/// Adds `src` into `dst`, or writes it when `dst` holds nothing yet.
fn accumulate(dst: &mut [f32], fresh: bool, src: impl Iterator<Item = f32>) {
    if fresh {
        dst.iter_mut().zip(src).for_each(|(d, s)| *d = s);
    } else {
        dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
    }
}

impl Chunk {
    fn new(plan: &Plan) -> Self {
        let layers = plan.nodes.len();
        let widest = plan.nodes.iter().map(|n| if let Node::Bn(b) = n { b.channels } else { 0 }).max().unwrap_or(0);
        Chunk {
            outs: vec![Vec::new(); layers],
            grads: vec![Vec::new(); layers],
            written: vec![false; layers],
            cols: vec![Vec::new(); layers],
            dparams: plan.tensors.iter().map(|t| vec![0.0; t.value.len()]).collect(),
            sums: vec![0.0; widest],
            sqs: vec![0.0; widest],
            ..Chunk::default()
        }
    }

    /// Copies (and augments) images `idx` of `data` into the input layer.
    fn load(&mut self, plan: &Plan, data: &Dataset, idx: &[usize], augs: &[Aug]) {
        self.n = idx.len();
        self.labels.clear();
        self.labels.extend(idx.iter().map(|&i| data.labels[i]));
        let (c, h, w) = (data.channels, data.height, data.width);
        let input = plan.net.input().0;
        let x = &mut self.outs[input];
        x.resize(self.n * c * h * w, 0.0);
        for (j, (&i, a)) in idx.iter().zip(augs).enumerate() {
            let img = data.image(i);
            for ch in 0..c {
                let src = &img[ch * h * w..][..h * w];
                let dst = &mut x[(ch * self.n + j) * h * w..][..h * w];
                for y in 0..h {
                    for xx in 0..w {
                        let sy = y as isize + a.dy;
                        let sx = xx as isize + a.dx;
                        let inside = (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx);
                        let sx = if a.flip { w as isize - 1 - sx } else { sx };
                        dst[y * w + xx] = if inside { src[sy as usize * w + sx as usize] } else { 0.0 };
                    }
                }
            }
        }
        self.written.iter_mut().for_each(|w| *w = false);
    }

    fn forward(&mut self, plan: &Plan, id: usize) {
        let n = self.n;
        let mut out = std::mem::take(&mut self.outs[id]);
        out.resize(n * plan.sizes[id], 0.0);
        let ins = &plan.inputs[id];
        match &plan.nodes[id] {
            Node::Input => {}
            Node::Dense(d) => {
                let x = &self.outs[ins[0]];
                let bias = d.b.map(|b| plan.tensors[b].value.as_slice());
                if d.geo.depthwise {
                    kernels::depthwise_forward(&d.geo, n, x, &d.eff, bias, &mut self.cols[id], &mut out);
                } else {
                    kernels::conv_forward(&d.geo, n, x, &d.eff, bias, &mut self.cols[id], &mut out);
                }
            }
            Node::Bn(bn) => {
                let x = &self.outs[ins[0]];
                let len = n * bn.pixels;
                let xhat = &mut self.cols[id];
                xhat.resize(x.len(), 0.0);
                let (gamma, beta) = (&plan.tensors[bn.gamma].value, &plan.tensors[bn.beta].value);
                for c in 0..bn.channels {
                    let (m, s, g, b) = (bn.mean[c], bn.inv_std[c], gamma[c], beta[c]);
                    let rows = x[c * len..][..len].iter().zip(&mut xhat[c * len..][..len]);
                    for ((v, h), o) in rows.zip(&mut out[c * len..][..len]) {
                        *h = (v - m) * s;
                        *o = g * *h + b;
                    }
                }
            }
            Node::Clamp { lo, hi } => {
                let (lo, hi) = (*lo, *hi);
                out.iter_mut().zip(&self.outs[ins[0]]).for_each(|(o, v)| *o = v.max(lo).min(hi));
            }
            Node::Add => {
                out.copy_from_slice(&self.outs[ins[0]]);
                for i in &ins[1..] {
                    out.iter_mut().zip(&self.outs[*i]).for_each(|(o, v)| *o += v);
                }
            }
            Node::GlobalAvgPool { pixels } => {
                let x = &self.outs[ins[0]];
                for (o, plane) in out.iter_mut().zip(x.chunks(*pixels)) {
                    *o = plane.iter().sum::<f32>() / *pixels as f32;
                }
            }
            Node::Pass => out.copy_from_slice(&self.outs[ins[0]]),
        }
        self.outs[id] = out;
    }

    /// Per-channel sums of a BatchNorm layer's input (forward) or of `dy` and
    /// `dy · xhat` (backward) into `sums`/`sqs`.
    fn bn_sums(&mut self, plan: &Plan, id: usize, backward: bool) {
        let Node::Bn(bn) = &plan.nodes[id] else { unreachable!("a BatchNorm layer") };
        let (c, len) = (bn.channels, self.n * bn.pixels);
        if backward && !self.written[id] {
            // Nothing downstream of the layer: zero gradient.
            self.sums[..c].fill(0.0);
            self.sqs[..c].fill(0.0);
        } else if backward {
            kernels::row_dot(&self.grads[id], &self.cols[id], len, &mut self.sums[..c], &mut self.sqs[..c]);
        } else {
            kernels::row_moments(&self.outs[plan.inputs[id][0]], len, &mut self.sums[..c], &mut self.sqs[..c]);
        }
    }

    /// The loss and its gradient for a batch of `batch` images.
    fn loss(&mut self, plan: &Plan, batch: usize) {
        let out = plan.output;
        let mut dy = std::mem::take(&mut self.grads[out]);
        dy.resize(self.outs[out].len(), 0.0);
        (self.loss, self.correct) = kernels::softmax_cross_entropy(&self.outs[out], &self.labels, batch, &mut dy);
        self.grads[out] = dy;
        self.written[out] = true;
    }

    fn backward(&mut self, plan: &Plan, id: usize) {
        if !self.written[id] {
            // Nothing downstream: no gradient to propagate (and no parameter gradient).
            if let Node::Dense(d) = &plan.nodes[id] {
                self.dparams[d.w].fill(0.0);
                if let Some(b) = d.b {
                    self.dparams[b].fill(0.0);
                }
            }
            return;
        }
        let n = self.n;
        let dy = std::mem::take(&mut self.grads[id]);
        let ins = &plan.inputs[id];
        // The input gradient to write into, and whether it holds nothing yet.
        let target = |chunk: &mut Chunk, i: usize| -> Option<(Vec<f32>, bool)> {
            if !plan.needs_grad[i] {
                return None;
            }
            let mut g = std::mem::take(&mut chunk.grads[i]);
            g.resize(n * plan.sizes[i], 0.0);
            let fresh = !chunk.written[i];
            chunk.written[i] = true;
            Some((g, fresh))
        };
        match &plan.nodes[id] {
            Node::Input => {}
            Node::Dense(d) => {
                let i = ins[0];
                let mut dx = target(self, i);
                let mut dw = std::mem::take(&mut self.dparams[d.w]);
                let mut db = d.b.map(|b| std::mem::take(&mut self.dparams[b]));
                let dxr = dx.as_mut().map(|(g, fresh)| (g.as_mut_slice(), *fresh));
                let x = &self.outs[i];
                if d.geo.depthwise {
                    kernels::depthwise_backward(
                        &d.geo,
                        n,
                        &self.cols[id],
                        &d.eff,
                        &dy,
                        &mut dw,
                        db.as_deref_mut(),
                        dxr,
                        &mut self.dcol,
                    );
                } else {
                    kernels::conv_backward(
                        &d.geo,
                        n,
                        x,
                        &d.eff,
                        &dy,
                        &mut dw,
                        db.as_deref_mut(),
                        dxr,
                        &mut self.cols[id],
                        &mut self.dcol,
                    );
                }
                self.dparams[d.w] = dw;
                if let (Some(b), Some(db)) = (d.b, db) {
                    self.dparams[b] = db;
                }
                if let Some((g, _)) = dx {
                    self.grads[i] = g;
                }
            }
            Node::Bn(bn) => {
                if let Some((mut g, fresh)) = target(self, ins[0]) {
                    let len = n * bn.pixels;
                    let gamma = &plan.tensors[bn.gamma].value;
                    // M over the whole batch: the statistics are the batch's.
                    let m = bn.count as f32;
                    for c in 0..bn.channels {
                        let k = gamma[c] * bn.inv_std[c] / m;
                        let (sum, dot) = ((bn.dsum[c]) as f32, bn.ddot[c] as f32);
                        let rows = dy[c * len..][..len].iter().zip(&self.cols[id][c * len..][..len]);
                        let src = rows.map(|(d, h)| k * (m * d - sum - h * dot));
                        accumulate(&mut g[c * len..][..len], fresh, src);
                    }
                    self.grads[ins[0]] = g;
                }
            }
            Node::Clamp { lo, hi } => {
                if let Some((mut g, fresh)) = target(self, ins[0]) {
                    // Bounds in locals and slices of one length: a branch-free, vectorized loop.
                    let (lo, hi, len) = (*lo, *hi, g.len());
                    let (x, dy) = (&self.outs[ins[0]][..len], &dy[..len]);
                    let src = dy.iter().zip(x).map(|(d, v)| if *v > lo && *v < hi { *d } else { 0.0 });
                    accumulate(&mut g, fresh, src);
                    self.grads[ins[0]] = g;
                }
            }
            Node::Add | Node::Pass => {
                for &i in ins {
                    if let Some((mut g, fresh)) = target(self, i) {
                        accumulate(&mut g, fresh, dy.iter().copied());
                        self.grads[i] = g;
                    }
                }
            }
            Node::GlobalAvgPool { pixels } => {
                if let Some((mut g, fresh)) = target(self, ins[0]) {
                    let inv = 1.0 / *pixels as f32;
                    accumulate(&mut g, fresh, dy.iter().flat_map(|d| std::iter::repeat_n(d * inv, *pixels)));
                    self.grads[ins[0]] = g;
                }
            }
        }
        self.grads[id] = dy;
    }
}

/// Trains `structure` on `data`; returns the network with its parameters (its
/// BatchNorm layers unfolded, as a training framework exports them).
/// `progress(done, total)` is called after every step.
pub fn train(
    structure: &Network,
    data: &Dataset,
    cfg: &TrainConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Network, Vec<EpochReport>), TrainError> {
    if !(0.0..1.0).contains(&cfg.drop_connect) {
        return Err(TrainError::DropConnect(cfg.drop_connect));
    }
    if !(cfg.weight_noise.is_finite() && cfg.weight_noise >= 0.0) {
        return Err(TrainError::WeightNoise(cfg.weight_noise));
    }
    if cfg.batch_size == 0 || cfg.epochs == 0 || data.is_empty() {
        return Err(TrainError::Empty);
    }
    let input = structure.output_shape(structure.input());
    if input.elements() != data.image_size() {
        return Err(TrainError::ImageShape { model: input, data: (data.channels, data.height, data.width) });
    }
    let stream = |k: u64| Pcg64Mcg::new(u128::from(rramsim_fault::splitmix(cfg.seed ^ k)) << 64 | u128::from(k));
    let (mut init_rng, mut order_rng, mut mask_rng) = (stream(1), stream(2), stream(3));
    let (mut augment_rng, mut noise_rng) = (stream(4), stream(5));
    let mut plan = Plan::new(structure, &cfg.offload, &mut init_rng)?;
    let batch_size = cfg.batch_size.min(data.len());
    let mut chunks: Vec<Chunk> = (0..batch_size.div_ceil(CHUNK)).map(|_| Chunk::new(&plan)).collect();
    let n = data.len();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = steps_per_epoch
        .checked_mul(cfg.epochs)
        .ok_or(TrainError::TooManySteps { epochs: cfg.epochs, steps: steps_per_epoch })?;
    let mut reports = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    let mut augs = vec![Aug::default(); batch_size];
    let pad = cfg.augment.crop_pad as u64;
    let ids: Vec<usize> = structure.ids().map(|id| id.0).collect();
    for epoch in 0..cfg.epochs {
        // Fisher-Yates shuffle.
        for i in (1..n).rev() {
            let j = (order_rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for (step, idx) in order.chunks(cfg.batch_size).enumerate() {
            let global = epoch * steps_per_epoch + step;
            let lr = cfg.lr * cfg.schedule.factor(epoch, global, total);
            for a in &mut augs[..idx.len()] {
                let offset = |rng: &mut Pcg64Mcg| (rng.next_u64() % (2 * pad + 1)) as isize - pad as isize;
                *a = Aug {
                    dy: if pad > 0 { offset(&mut augment_rng) } else { 0 },
                    dx: if pad > 0 { offset(&mut augment_rng) } else { 0 },
                    flip: cfg.augment.hflip && augment_rng.next_u64() & 1 == 1,
                };
            }
            plan.prepare_weights(cfg, &mut mask_rng, &mut noise_rng);
            let active = &mut chunks[..idx.len().div_ceil(CHUNK)];
            active.par_iter_mut().zip(idx.par_chunks(CHUNK)).zip(augs.par_chunks(CHUNK)).for_each(
                |((c, idx), augs)| {
                    c.load(&plan, data, idx, augs);
                },
            );
            let (loss, right) = forward_backward(&mut plan, active, &ids, idx.len());
            loss_sum += loss / idx.len() as f64;
            correct += right;
            plan.adamw(lr, i32::try_from(global + 1).unwrap_or(i32::MAX));
            progress(global + 1, total);
        }
        reports.push(EpochReport {
            epoch: epoch + 1,
            loss: loss_sum / steps_per_epoch as f64,
            train_accuracy: correct as f64 / n as f64,
        });
    }
    Ok((plan.export()?, reports))
}

/// One forward and backward pass over the loaded chunks (`batch` images):
/// leaves the parameter gradients in the tensors; returns the summed loss and
/// the number of correct predictions.
fn forward_backward(plan: &mut Plan, active: &mut [Chunk], ids: &[usize], batch: usize) -> (f64, usize) {
    // The chunks run independently between BatchNorm layers, whose statistics
    // (and, backward, whose gradient sums) are the whole batch's: one parallel
    // region per stretch of layers between two of them, so the threads meet
    // (and the serial reductions run) only there.
    let mut start = 0;
    for (at, &id) in ids.iter().enumerate() {
        if let Node::Bn(_) = plan.nodes[id] {
            let run = &ids[start..at];
            let shared = &*plan;
            active.par_iter_mut().for_each(|c| {
                run.iter().for_each(|&l| c.forward(shared, l));
                c.bn_sums(shared, id, false);
            });
            let Node::Bn(bn) = &mut plan.nodes[id] else { unreachable!("a BatchNorm layer") };
            bn_statistics(bn, active);
            start = at;
        }
    }
    let run = &ids[start..];
    let shared = &*plan;
    active.par_iter_mut().for_each(|c| {
        run.iter().for_each(|&l| c.forward(shared, l));
        c.loss(shared, batch);
    });
    let loss = active.iter().map(|c| c.loss).sum::<f64>();
    let correct = active.iter().map(|c| c.correct).sum::<usize>();
    let mut end = ids.len();
    for (at, &id) in ids.iter().enumerate().rev() {
        if let Node::Bn(_) = plan.nodes[id] {
            let run = &ids[at + 1..end];
            let shared = &*plan;
            active.par_iter_mut().for_each(|c| {
                run.iter().rev().for_each(|&l| c.backward(shared, l));
                c.bn_sums(shared, id, true);
            });
            let Node::Bn(bn) = &mut plan.nodes[id] else { unreachable!("a BatchNorm layer") };
            bn.dsum.fill(0.0);
            bn.ddot.fill(0.0);
            for c in active.iter() {
                for ch in 0..bn.channels {
                    bn.dsum[ch] += c.sums[ch];
                    bn.ddot[ch] += c.sqs[ch];
                }
            }
            let (gamma, beta) = (bn.gamma, bn.beta);
            let Node::Bn(bn) = &plan.nodes[id] else { unreachable!("a BatchNorm layer") };
            let tensors = &mut plan.tensors;
            tensors[beta].grad.iter_mut().zip(&bn.dsum).for_each(|(g, s)| *g = *s as f32);
            tensors[gamma].grad.iter_mut().zip(&bn.ddot).for_each(|(g, s)| *g = *s as f32);
            end = at + 1;
        }
    }
    let run = &ids[..end];
    let shared = &*plan;
    active.par_iter_mut().for_each(|c| run.iter().rev().for_each(|&l| c.backward(shared, l)));
    reduce_dense_gradients(plan, active);
    (loss, correct)
}

/// The batch statistics of a BatchNorm layer from its chunks' sums, and the
/// running statistics (PyTorch's momentum 0.1 and unbiased variance).
fn bn_statistics(bn: &mut Bn, chunks: &[Chunk]) {
    bn.count = chunks.iter().map(|c| c.n).sum::<usize>() * bn.pixels;
    let count = bn.count as f64;
    let unbias = if count > 1.0 { count / (count - 1.0) } else { 1.0 };
    for ch in 0..bn.channels {
        let (mut s, mut q) = (0.0, 0.0);
        for c in chunks {
            s += c.sums[ch];
            q += c.sqs[ch];
        }
        let mean = s / count;
        let var = (q / count - mean * mean).max(0.0);
        bn.mean[ch] = mean as f32;
        bn.inv_std[ch] = (1.0 / (var + f64::from(bn.eps)).sqrt()) as f32;
        bn.running_mean[ch] = 0.9 * bn.running_mean[ch] + 0.1 * mean as f32;
        bn.running_var[ch] = 0.9 * bn.running_var[ch] + 0.1 * (var * unbias) as f32;
    }
}

/// Sums the chunks' weight and bias gradients in chunk order, through the
/// mask (`∂eff/∂w`) for weights.
fn reduce_dense_gradients(plan: &mut Plan, chunks: &[Chunk]) {
    for node in &plan.nodes {
        let Node::Dense(d) = node else { continue };
        for (t, scale) in [(Some(d.w), d.scale.as_slice()), (d.b, &[][..])] {
            let Some(t) = t else { continue };
            let grad = &mut plan.tensors[t].grad;
            grad.copy_from_slice(&chunks[0].dparams[t]);
            for c in &chunks[1..] {
                grad.iter_mut().zip(&c.dparams[t]).for_each(|(g, v)| *g += v);
            }
            if !scale.is_empty() {
                grad.iter_mut().zip(scale).for_each(|(g, s)| *g *= s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rramsim_graph::{BatchNorm, Conv2d, Layer, Linear, NetworkBuilder, Shape};

    use super::*;
    use crate::{Augment, LrSchedule};

    /// The family's convolution, with a bias (to check its gradient too).
    fn conv(out: usize, k: usize, stride: usize, groups: usize) -> Op {
        let Op::Conv2d(c) = crate::conv(out, k, stride, groups) else { unreachable!("a convolution") };
        Op::Conv2d(Conv2d { bias: true, ..c })
    }

    /// Every layer kind of the family: a strided 3x3 conv, BatchNorm, ReLU6, a
    /// depthwise conv, a pointwise conv, a strided 1x1 conv, ReLU, Add, global
    /// average pooling, Flatten and a linear classifier.
    fn all_kinds() -> Network {
        let mut b = NetworkBuilder::new("kinds");
        let mut push = |name: &str, op: Op, inputs: &[&str]| {
            b.push(Layer::new(name, op, inputs));
        };
        push("input", Op::Input { shape: Shape::new(2, 7, 7) }, &[]);
        push("c1", conv(4, 3, 2, 1), &["input"]);
        push("bn", Op::BatchNorm(BatchNorm { eps: 1e-5 }), &["c1"]);
        push("r6", Op::Activation(Activation::Relu6), &["bn"]);
        push("dw", conv(4, 3, 1, 4), &["r6"]);
        push("pw", conv(3, 1, 1, 1), &["dw"]);
        push("short", conv(3, 1, 2, 1), &["input"]);
        push("add", Op::Add, &["pw", "short"]);
        push("relu", Op::Activation(Activation::Relu), &["add"]);
        push("gap", Op::GlobalAvgPool, &["relu"]);
        push("flat", Op::Flatten, &["gap"]);
        push("fc", Op::Linear(Linear { out_features: 5, bias: true }), &["flat"]);
        b.build().expect("builds")
    }

    fn config(p: f64) -> TrainConfig {
        TrainConfig {
            epochs: 1,
            batch_size: 20,
            lr: 0.01,
            schedule: LrSchedule::Constant,
            drop_connect: p,
            scaling: MaskScaling::None,
            weight_noise: 0.0,
            augment: Augment::default(),
            offload: Offload::AllRram,
            seed: 3,
        }
    }

    fn dataset(n: usize, shape: Shape, classes: u8, seed: u64) -> Dataset {
        let mut rng = Pcg64Mcg::new(u128::from(seed));
        Dataset {
            name: "random".into(),
            channels: shape.channels,
            height: shape.height,
            width: shape.width,
            images: (0..n * shape.elements()).map(|_| unit(&mut rng) as f32).collect(),
            labels: (0..n).map(|_| (rng.next_u64() % u64::from(classes)) as u8).collect(),
            classes: usize::from(classes),
        }
    }

    /// The batch's mean loss with the plan's current weights, and its gradients.
    fn loss(plan: &mut Plan, data: &Dataset) -> f64 {
        let mut rng = Pcg64Mcg::new(0);
        plan.prepare_weights(&config(0.0), &mut rng.clone(), &mut rng);
        let idx: Vec<usize> = (0..data.len()).collect();
        let augs = vec![Aug::default(); idx.len()];
        let mut chunks: Vec<Chunk> = (0..idx.len().div_ceil(CHUNK)).map(|_| Chunk::new(plan)).collect();
        for ((c, idx), augs) in chunks.iter_mut().zip(idx.chunks(CHUNK)).zip(augs.chunks(CHUNK)) {
            c.load(plan, data, idx, augs);
        }
        let ids: Vec<usize> = (0..plan.nodes.len()).collect();
        forward_backward(plan, &mut chunks, &ids, idx.len()).0 / idx.len() as f64
    }

    /// Central finite differences against the analytic gradient, for a few
    /// entries of every parameter tensor (each layer kind's weights; the
    /// gradients of the layers between them flow through these).
    #[test]
    fn gradients_match_finite_differences() {
        let net = all_kinds();
        // Two chunks, the second partial: the sums across chunks are checked too.
        let data = dataset(CHUNK + 5, Shape::new(2, 7, 7), 5, 9);
        let mut plan = Plan::new(&net, &Offload::AllRram, &mut Pcg64Mcg::new(7)).expect("trainable");
        // Non-trivial BatchNorm parameters and biases.
        let mut rng = Pcg64Mcg::new(11);
        for t in &mut plan.tensors {
            for v in &mut t.value {
                *v += (unit(&mut rng) as f32 - 0.5) * 0.4;
            }
        }
        loss(&mut plan, &data);
        let analytic: Vec<Vec<f32>> = plan.tensors.iter().map(|t| t.grad.clone()).collect();
        let names: Vec<String> = plan
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                let name = net.layer(rramsim_graph::LayerId(i)).name.clone();
                match n {
                    Node::Dense(d) => {
                        vec![format!("{name}.w")].into_iter().chain(d.b.map(|_| format!("{name}.b"))).collect()
                    }
                    Node::Bn(_) => vec![format!("{name}.gamma"), format!("{name}.beta")],
                    _ => vec![],
                }
            })
            .collect();
        assert_eq!(names.len(), plan.tensors.len());
        let h = 1e-2f32;
        for t in 0..plan.tensors.len() {
            let len = plan.tensors[t].value.len();
            for i in [0, len / 2, len - 1] {
                let v = plan.tensors[t].value[i];
                plan.tensors[t].value[i] = v + h;
                let up = loss(&mut plan, &data);
                plan.tensors[t].value[i] = v - h;
                let down = loss(&mut plan, &data);
                plan.tensors[t].value[i] = v;
                let numeric = (up - down) / (2.0 * f64::from(h));
                let a = f64::from(analytic[t][i]);
                assert!(
                    (a - numeric).abs() <= 2e-3 + 2e-2 * numeric.abs(),
                    "{}[{i}]: analytic {a}, finite differences {numeric}",
                    names[t]
                );
            }
        }
    }

    /// A drop-connect step with inverted scaling computes with kept weights
    /// divided by 1 − p and the rest zero; noise leaves dropped weights at zero.
    #[test]
    fn masks_scale_and_noise() {
        let net = all_kinds();
        let mut plan = Plan::new(&net, &Offload::AllRram, &mut Pcg64Mcg::new(7)).expect("trainable");
        let mut cfg = config(0.5);
        cfg.scaling = MaskScaling::Inverted;
        plan.prepare_weights(&cfg, &mut Pcg64Mcg::new(1), &mut Pcg64Mcg::new(2));
        let (mut kept, mut dropped) = (0, 0);
        for node in &plan.nodes {
            let Node::Dense(d) = node else { continue };
            for (e, w) in d.eff.iter().zip(&plan.tensors[d.w].value) {
                if *e == 0.0 {
                    dropped += 1;
                } else {
                    assert_eq!(*e, w * 2.0);
                    kept += 1;
                }
            }
        }
        assert!(kept > 0 && dropped > 0, "{kept} kept, {dropped} dropped");
        cfg.weight_noise = 0.1;
        plan.prepare_weights(&cfg, &mut Pcg64Mcg::new(1), &mut Pcg64Mcg::new(2));
        let mut noisy = 0;
        for node in &plan.nodes {
            let Node::Dense(d) = node else { continue };
            for ((e, w), s) in d.eff.iter().zip(&plan.tensors[d.w].value).zip(&d.scale) {
                if *s == 0.0 {
                    assert_eq!(*e, 0.0);
                } else if *e != w * 2.0 {
                    noisy += 1;
                }
            }
        }
        assert_eq!(noisy, kept, "every kept weight is perturbed");
    }

    /// The same seed gives byte-identical models on 1 and 3 threads, with every
    /// random option on (masks, noise, augmentation).
    #[test]
    fn models_are_identical_on_any_thread_count() {
        let net = all_kinds();
        let data = dataset(50, Shape::new(2, 7, 7), 5, 1);
        let mut cfg = config(0.2);
        cfg.weight_noise = 0.05;
        cfg.augment = Augment { crop_pad: 1, hflip: true };
        cfg.schedule = LrSchedule::Cosine;
        cfg.epochs = 2;
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
            let (model, reports) = pool.install(|| train(&net, &data, &cfg, |_, _| {})).expect("trains");
            (rramsim_graph::export_onnx(&model).expect("exports"), reports)
        };
        let (one, r1) = run(1);
        let (three, r3) = run(3);
        assert_eq!(r1, r3);
        assert!(one == three, "models differ between 1 and 3 threads");
    }

    #[test]
    fn schedules() {
        assert_eq!(LrSchedule::parse("step:2:0.5").unwrap(), LrSchedule::Step { every: 2, gamma: 0.5 });
        for bad in ["step:0:0.5", "step:2:1.5", "step:2", "linear", "cosine:1"] {
            assert!(LrSchedule::parse(bad).is_err(), "{bad}");
        }
        let step = LrSchedule::Step { every: 2, gamma: 0.5 };
        assert_eq!([0, 1, 2, 5].map(|e| step.factor(e, 0, 10)), [1.0, 1.0, 0.5, 0.25]);
        let cosine = LrSchedule::Cosine;
        assert_eq!(cosine.factor(0, 0, 10), 1.0);
        assert!((cosine.factor(0, 5, 10) - 0.5).abs() < 1e-12);
        assert!(cosine.factor(3, 9, 10) < 0.03);
    }

    /// A small model learns: on 1,000 Fashion-MNIST images, two epochs of
    /// resnet-mini lower the loss and reach well above chance (10 %) on 500
    /// test images. Needs Debian's `dataset-fashion-mnist` (CI installs it).
    #[test]
    fn resnet_mini_learns_fashion_mnist() {
        let spec = rramsim_func::DataSpec::parse("fashion-mnist").expect("the default dataset");
        let (train_set, test_set) = match (spec.load(rramsim_func::Split::Train), spec.load(rramsim_func::Split::Test))
        {
            (Ok(a), Ok(b)) => (a.truncated(1000), b.truncated(500)),
            (Err(e), _) | (_, Err(e)) => {
                assert!(std::env::var_os("CI").is_none(), "CI must have Fashion-MNIST: {e}");
                // Raw stderr, past the test harness's capture, as the CLI tests' NOTICE.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: test `resnet_mini_learns_fashion_mnist` SKIPPED: {e} (apt-get install dataset-fashion-mnist)"
                );
                return;
            }
        };
        let input = Shape::new(train_set.channels, train_set.height, train_set.width);
        let net = crate::family("resnet-mini", 1.0, input).expect("builds");
        let mut cfg = config(0.0);
        cfg.epochs = 2;
        cfg.batch_size = 64;
        cfg.lr = 0.003;
        let (model, reports) = train(&net, &train_set, &cfg, |_, _| {}).expect("trains");
        assert!(reports[1].loss < reports[0].loss, "{reports:?}");
        let folded = rramsim_graph::fold_batchnorm(&model).expect("folds");
        let f = rramsim_func::Functional::float(&folded).expect("runs");
        let accuracy = f.accuracy(&test_set.images, &test_set.labels).expect("evaluates");
        assert!(accuracy > 0.5, "test accuracy {accuracy} after {reports:?}");
    }
}
