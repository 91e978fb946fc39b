//! Drop-connect training (candle, CPU) of a small model family for 28×28
//! single-channel inputs, exported to ONNX with rramsim's own prost code.
//!
//! - [`family()`] builds `resnet-mini` (residual blocks with 1x1 projection shortcuts)
//!   and `mobilenet-mini` (inverted residuals with pointwise convolutions), as
//!   [`Network`] structures; width multipliers go through rramsim's `widen`.
//! - [`train()`] runs a candle interpreter of such a network. At every step a fresh
//!   Bernoulli mask zeroes a fraction `p` of the weights of every conv/linear
//!   layer that will sit on RRAM under the chosen offload policy (layers the
//!   policy sends to the digital unit are never masked); the masked weights are
//!   not rescaled, so training sees what a weight-zero fault map of rate `p`
//!   does. BatchNorm uses batch statistics in training and running statistics
//!   (momentum 0.1) in the exported model.
//!
//! Everything random (initialization, shuffling, masks) comes from seeded
//! `Pcg64Mcg` streams, so a run is reproducible on a given machine and thread
//! count (candle's CPU kernels may sum in a different order on another count).
//!
//! Errors are [`TrainError`]s; [`TrainError::is_input`] tells bad input (an
//! unknown model, a bad width or setting, a dataset of another shape, a layer
//! outside the trainable family) from an internal error (candle failing, or a
//! model of the family that does not build).

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rramsim_func::Dataset;
use rramsim_graph::{
    Activation, BatchNorm, Conv2d, Layer, Linear, Network, NetworkBuilder, Op, Padding, Params, Shape, widen,
};
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
    #[error("training: {0}")]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
    /// True for the caller's bad input, false for an internal error.
    pub fn is_input(&self) -> bool {
        !matches!(self, Self::Build(_) | Self::Candle(_))
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

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// Fraction of each masked layer's weights zeroed at every step.
    pub drop_connect: f64,
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

#[derive(Debug)]
enum Param {
    Dense { w: Var, b: Option<Var>, masked: bool },
    Bn { gamma: Var, beta: Var, mean: Vec<f32>, var: Vec<f32>, eps: f32 },
}

/// A uniform draw in `[0, 1)`.
fn unit(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The candle model: the network's layers in order, with their parameters.
#[derive(Debug)]
struct Model {
    net: Network,
    params: Vec<Option<Param>>,
    device: Device,
}

impl Model {
    fn new(net: &Network, offload: &Offload, rng: &mut Pcg64Mcg) -> Result<Self, TrainError> {
        let device = Device::Cpu;
        let mut params = Vec::with_capacity(net.len());
        for id in net.ids() {
            let layer = net.layer(id);
            let masked = !offload.offloads(net, id);
            let p = match &layer.op {
                Op::Conv2d(c) => {
                    if c.kernel[0] != c.kernel[1]
                        || c.stride[0] != c.stride[1]
                        || c.padding != Padding::uniform(c.padding.top)
                    {
                        return Err(TrainError::NotSquare(layer.name.clone()));
                    }
                    let cin = net.input_shapes(id)[0].channels / c.groups;
                    let fan_in = cin * c.kernel[0] * c.kernel[1];
                    // He-uniform initialization.
                    let bound = (6.0 / fan_in as f64).sqrt();
                    let n = c.out_channels * fan_in;
                    let w: Vec<f32> = (0..n).map(|_| ((unit(rng) * 2.0 - 1.0) * bound) as f32).collect();
                    let w = Var::from_vec(w, (c.out_channels, cin, c.kernel[0], c.kernel[1]), &device)?;
                    let b = c.bias.then(|| Var::zeros(c.out_channels, DType::F32, &device)).transpose()?;
                    Some(Param::Dense { w, b, masked })
                }
                Op::Linear(l) => {
                    let k = net.input_shapes(id)[0].elements();
                    let bound = 1.0 / (k as f64).sqrt();
                    let w: Vec<f32> =
                        (0..l.out_features * k).map(|_| ((unit(rng) * 2.0 - 1.0) * bound) as f32).collect();
                    let w = Var::from_vec(w, (l.out_features, k), &device)?;
                    let b = l.bias.then(|| Var::zeros(l.out_features, DType::F32, &device)).transpose()?;
                    Some(Param::Dense { w, b, masked })
                }
                Op::BatchNorm(bn) => {
                    let c = net.output_shape(id).channels;
                    Some(Param::Bn {
                        gamma: Var::ones(c, DType::F32, &device)?,
                        beta: Var::zeros(c, DType::F32, &device)?,
                        mean: vec![0.0; c],
                        var: vec![1.0; c],
                        eps: bn.eps,
                    })
                }
                Op::Pool(_)
                | Op::Concat
                | Op::Reshape { .. }
                | Op::Scale
                | Op::Mul
                | Op::Softmax { .. }
                | Op::LayerNorm { .. }
                | Op::MatMul { .. }
                | Op::GlobalMaxPool
                | Op::Transpose { .. }
                | Op::Lrn { .. }
                | Op::Activation(
                    Activation::Sigmoid
                    | Activation::HardSigmoid { .. }
                    | Activation::HardSwish
                    | Activation::Tanh
                    | Activation::Erf
                    | Activation::Gelu,
                ) => {
                    return Err(TrainError::Untrainable { layer: layer.name.clone(), op: layer.op.kind_name() });
                }
                _ => None,
            };
            params.push(p);
        }
        Ok(Model { net: net.clone(), params, device })
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for p in self.params.iter().flatten() {
            match p {
                Param::Dense { w, b, .. } => {
                    v.push(w.clone());
                    v.extend(b.iter().cloned());
                }
                Param::Bn { gamma, beta, .. } => {
                    v.push(gamma.clone());
                    v.push(beta.clone());
                }
            }
        }
        v
    }

    /// Fresh Bernoulli keep-masks for the masked layers (`None` when p = 0).
    fn masks(&self, p: f64, rng: &mut Pcg64Mcg) -> Result<HashMap<usize, Tensor>, TrainError> {
        let mut masks = HashMap::new();
        if p <= 0.0 {
            return Ok(masks);
        }
        for (i, param) in self.params.iter().enumerate() {
            if let Some(Param::Dense { w, masked: true, .. }) = param {
                let n = w.as_tensor().elem_count();
                let m: Vec<f32> = (0..n).map(|_| if unit(rng) < p { 0.0 } else { 1.0 }).collect();
                masks.insert(i, Tensor::from_vec(m, w.as_tensor().shape(), &self.device)?);
            }
        }
        Ok(masks)
    }

    /// Forward pass; in training mode BatchNorm uses (and records) batch statistics.
    fn forward(
        &self,
        x: &Tensor,
        masks: &HashMap<usize, Tensor>,
        train: bool,
        stats: &mut Vec<(usize, Vec<f32>, Vec<f32>)>,
    ) -> candle_core::Result<Tensor> {
        let net = &self.net;
        let mut outs: Vec<Option<Tensor>> = vec![None; net.len()];
        for id in net.ids() {
            let layer = net.layer(id);
            let input = |k: usize| outs[net.inputs(id)[k].0].clone().expect("inputs precede their consumers");
            let y = match (&layer.op, &self.params[id.0]) {
                (Op::Input { .. }, _) => x.clone(),
                (Op::Conv2d(c), Some(Param::Dense { w, b, .. })) => {
                    let w = match masks.get(&id.0) {
                        Some(m) if train => w.as_tensor().mul(m)?,
                        _ => w.as_tensor().clone(),
                    };
                    let y = input(0).conv2d(&w, c.padding.top, c.stride[0], c.dilation[0], c.groups)?;
                    match b {
                        Some(b) => y.broadcast_add(&b.as_tensor().reshape((1, c.out_channels, 1, 1))?)?,
                        None => y,
                    }
                }
                (Op::Linear(_), Some(Param::Dense { w, b, .. })) => {
                    let w = match masks.get(&id.0) {
                        Some(m) if train => w.as_tensor().mul(m)?,
                        _ => w.as_tensor().clone(),
                    };
                    let y = input(0).flatten_from(1)?.matmul(&w.t()?)?;
                    match b {
                        Some(b) => y.broadcast_add(b.as_tensor())?,
                        None => y,
                    }
                }
                (Op::BatchNorm(_), Some(Param::Bn { gamma, beta, mean, var, eps })) => {
                    let x = input(0);
                    let c = gamma.as_tensor().elem_count();
                    let (m, v) = if train {
                        let xt = x.transpose(0, 1)?.flatten_from(1)?;
                        let m = xt.mean(1)?;
                        let v = xt.broadcast_sub(&m.unsqueeze(1)?)?.sqr()?.mean(1)?;
                        stats.push((id.0, m.to_vec1()?, v.to_vec1()?));
                        (m, v)
                    } else {
                        (Tensor::new(mean.as_slice(), &self.device)?, Tensor::new(var.as_slice(), &self.device)?)
                    };
                    let shape = (1, c, 1, 1);
                    let scale = gamma.as_tensor().div(&(v + f64::from(*eps))?.sqrt()?)?;
                    x.broadcast_sub(&m.reshape(shape)?)?
                        .broadcast_mul(&scale.reshape(shape)?)?
                        .broadcast_add(&beta.as_tensor().reshape(shape)?)?
                }
                (Op::Activation(Activation::Relu), _) => input(0).relu()?,
                (Op::Activation(Activation::Relu6), _) => input(0).clamp(0f32, 6f32)?,
                (Op::Activation(Activation::Clip { min, max }), _) => input(0).clamp(*min, *max)?,
                (Op::Add, _) => {
                    let mut y = input(0);
                    for k in 1..net.inputs(id).len() {
                        y = (y + input(k))?;
                    }
                    y
                }
                (Op::GlobalAvgPool, _) => input(0).mean_keepdim(3)?.mean_keepdim(2)?,
                (Op::Flatten, _) => input(0).flatten_from(1)?,
                (Op::Identity | Op::Dropout { .. }, _) => input(0),
                (op, _) => candle_core::bail!("layer `{}`: {} cannot be trained", layer.name, op.kind_name()),
            };
            outs[id.0] = Some(y);
        }
        let out = net.outputs()[0];
        outs[out.0].take().expect("the output is computed").flatten_from(1)
    }

    /// The network with the trained parameters.
    fn export(&self) -> Result<Network, TrainError> {
        let mut b = self.net.to_builder();
        for id in self.net.ids() {
            let name = self.net.layer(id).name.clone();
            let params = match &self.params[id.0] {
                Some(Param::Dense { w, b, .. }) => Params::Dense {
                    weight: w.as_tensor().flatten_all().and_then(|t| t.to_vec1())?,
                    bias: b.as_ref().map(|b| b.as_tensor().to_vec1()).transpose()?,
                },
                Some(Param::Bn { gamma, beta, mean, var, .. }) => Params::BatchNorm {
                    gamma: gamma.as_tensor().to_vec1()?,
                    beta: beta.as_tensor().to_vec1()?,
                    mean: mean.clone(),
                    var: var.clone(),
                },
                None => continue,
            };
            b.layer_mut(&name).expect("the layer exists").params = Some(params);
        }
        b.build().map_err(TrainError::Build)
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
    if cfg.batch_size == 0 || cfg.epochs == 0 || data.is_empty() {
        return Err(TrainError::Empty);
    }
    let input = structure.output_shape(structure.input());
    if input.elements() != data.image_size() {
        return Err(TrainError::ImageShape { model: input, data: (data.channels, data.height, data.width) });
    }
    let stream = |k: u64| Pcg64Mcg::new(u128::from(rramsim_fault::splitmix(cfg.seed ^ k)) << 64 | u128::from(k));
    let (mut init_rng, mut order_rng, mut mask_rng) = (stream(1), stream(2), stream(3));
    let mut model = Model::new(structure, &cfg.offload, &mut init_rng)?;
    let mut opt = AdamW::new(model.vars(), ParamsAdamW { lr: cfg.lr, weight_decay: 1e-4, ..Default::default() })?;
    let n = data.len();
    let size = data.image_size();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = steps_per_epoch * cfg.epochs;
    let mut reports = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    let mut batch = Vec::with_capacity(cfg.batch_size * size);
    for epoch in 0..cfg.epochs {
        // Fisher-Yates shuffle.
        for i in (1..n).rev() {
            let j = (order_rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for (step, idx) in order.chunks(cfg.batch_size).enumerate() {
            batch.clear();
            for &i in idx {
                batch.extend_from_slice(data.image(i));
            }
            let labels: Vec<u32> = idx.iter().map(|&i| u32::from(data.labels[i])).collect();
            let x =
                Tensor::from_vec(batch.clone(), (idx.len(), input.channels, input.height, input.width), &model.device)?;
            let y = Tensor::from_vec(labels.clone(), idx.len(), &model.device)?;
            let masks = model.masks(cfg.drop_connect, &mut mask_rng)?;
            let mut stats = Vec::new();
            let logits = model.forward(&x, &masks, true, &mut stats)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            let pred: Vec<u32> = logits.argmax(D::Minus1).and_then(|t| t.to_vec1())?;
            correct += pred.iter().zip(&labels).filter(|(a, b)| a == b).count();
            // Running statistics, PyTorch's momentum 0.1 and unbiased variance.
            for (layer, m, v) in stats {
                let shape = model.net.output_shape(rramsim_graph::LayerId(layer));
                let count = (idx.len() * shape.height * shape.width) as f32;
                if let Some(Param::Bn { mean, var, .. }) = &mut model.params[layer] {
                    let unbias = if count > 1.0 { count / (count - 1.0) } else { 1.0 };
                    for c in 0..mean.len() {
                        mean[c] = 0.9 * mean[c] + 0.1 * m[c];
                        var[c] = 0.9 * var[c] + 0.1 * v[c] * unbias;
                    }
                }
            }
            progress(epoch * steps_per_epoch + step + 1, total);
        }
        reports.push(EpochReport {
            epoch: epoch + 1,
            loss: loss_sum / steps_per_epoch as f64,
            train_accuracy: correct as f64 / n as f64,
        });
    }
    Ok((model.export()?, reports))
}
