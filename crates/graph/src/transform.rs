//! Graph transforms: BatchNorm folding, widening and shortcut-kernel replacement.
//!
//! Each transform takes a validated [`Network`] and returns a new validated one;
//! none mutates in place, so a failed transform leaves the input intact.

use crate::error::GraphError;
use crate::layer::{Conv2d, Layer, Op, Padding, Params};
use crate::network::{LayerId, Network, NetworkBuilder};

/// Folds every BatchNorm whose producer is a conv or linear layer consumed only by
/// that BatchNorm into the producer (which gains a bias). Where both carry trained
/// parameters, the folded weights are `w·γ/√(σ²+ε)` and the bias
/// `(b − μ)·γ/√(σ²+ε) + β` per output channel. BatchNorms that cannot be folded
/// (e.g. after an add) stay as layers.
pub fn fold_batchnorm(net: &Network) -> Result<Network, GraphError> {
    let mut layers: Vec<Option<Layer>> = net.layers().cloned().map(Some).collect();
    // Consumers of a folded BatchNorm read from the producer instead.
    let mut rename: Vec<(String, String)> = Vec::new();
    for id in net.ids() {
        let Op::BatchNorm(bn) = &net.layer(id).op else {
            continue;
        };
        let [producer] = net.inputs(id) else {
            continue;
        };
        let producer = *producer;
        if !net.layer(producer).op.has_weights() || net.consumers(producer).len() != 1 {
            continue;
        }
        let bn_layer = layers[id.0].take().expect("each BatchNorm is visited once");
        let target = layers[producer.0].as_mut().expect("a producer precedes its consumer and is never folded away");
        let channels = net.output_shape(producer).channels;
        fold_into(target, &bn_layer, bn.eps, channels)?;
        rename.push((bn_layer.name, target.name.clone()));
    }
    let mut builder = NetworkBuilder::new(net.name());
    for mut layer in layers.into_iter().flatten() {
        for input in &mut layer.inputs {
            // Chains (bn after bn) resolve because folds are recorded in order.
            for (from, to) in &rename {
                if input == from {
                    input.clone_from(to);
                }
            }
        }
        builder.push(layer);
    }
    builder.build()
}

fn fold_into(target: &mut Layer, bn: &Layer, eps: f32, channels: usize) -> Result<(), GraphError> {
    match &mut target.op {
        Op::Conv2d(conv) => conv.bias = true,
        Op::Linear(linear) => linear.bias = true,
        _ => unreachable!("fold targets are conv or linear layers"),
    }
    match (&mut target.params, &bn.params) {
        (None, None) => Ok(()),
        (Some(Params::Dense { weight, bias }), Some(Params::BatchNorm { gamma, beta, mean, var })) => {
            let per_channel = weight.len() / channels;
            let mut new_bias = bias.take().unwrap_or_else(|| vec![0.0; channels]);
            for c in 0..channels {
                let scale = gamma[c] / (var[c] + eps).sqrt();
                for w in &mut weight[c * per_channel..(c + 1) * per_channel] {
                    *w *= scale;
                }
                new_bias[c] = (new_bias[c] - mean[c]) * scale + beta[c];
            }
            *bias = Some(new_bias);
            Ok(())
        }
        (Some(_), None) => Err(GraphError::layer(
            &bn.name,
            format!("cannot fold into `{}`: the BatchNorm has no statistics but the layer has weights", target.name),
        )),
        (_, Some(_)) => Err(GraphError::layer(
            &bn.name,
            format!("cannot fold into `{}`: the BatchNorm has statistics but the layer has no weights", target.name),
        )),
    }
}

/// Conv and linear layers whose output reaches a network output without passing
/// through another conv or linear layer: their channel counts are the network's
/// output (e.g. the class count) and are never widened.
fn output_producers(net: &Network) -> Vec<bool> {
    let mut fixed = vec![false; net.len()];
    let mut stack: Vec<LayerId> = net.outputs();
    let mut seen = vec![false; net.len()];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id.0], true) {
            continue;
        }
        if net.layer(id).op.has_weights() {
            fixed[id.0] = true;
        } else {
            stack.extend_from_slice(net.inputs(id));
        }
    }
    fixed
}

fn scaled(channels: usize, factor: f64, multiple: usize) -> usize {
    let units = (channels as f64 * factor / multiple as f64).round() as usize;
    units.max(1) * multiple
}

/// Scales every hidden conv/linear layer's output channels by `factor` (rounded to
/// nearest, at least 1). The input's channels and the output layers' channels
/// (the class count) stay. Depthwise convs follow their input's channel count;
/// other grouped convs keep their group count and round to a multiple of it.
/// Trained parameters are dropped (a widened network must be retrained).
pub fn widen(net: &Network, factor: f64) -> Result<Network, GraphError> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(GraphError::network(format!("widen factor must be a positive number, got {factor}")));
    }
    let fixed = output_producers(net);
    let mut builder = NetworkBuilder::new(net.name());
    // Channel counts of the widened network, to resize depthwise convs.
    let mut new_channels: Vec<usize> = Vec::with_capacity(net.len());
    for id in net.ids() {
        let mut layer = net.layer(id).clone();
        layer.params = None;
        let in_channels = net.inputs(id).first().map(|p| new_channels[p.0]);
        let old_in = net.input_shapes(id).first().map(|s| s.channels);
        match &mut layer.op {
            Op::Conv2d(conv) => {
                let in_c = in_channels.expect("a conv has one input");
                let depthwise = conv.groups > 1 && Some(conv.groups) == old_in;
                if depthwise {
                    let multiplier = conv.out_channels / conv.groups;
                    conv.groups = in_c;
                    conv.out_channels = if fixed[id.0] { conv.out_channels } else { in_c * multiplier };
                } else if !fixed[id.0] {
                    conv.out_channels = scaled(conv.out_channels, factor, conv.groups);
                }
            }
            Op::Linear(linear) if !fixed[id.0] => {
                linear.out_features = scaled(linear.out_features, factor, 1);
            }
            _ => {}
        }
        builder.push(layer);
        // Track the channel count this layer will produce once rebuilt.
        let c = match &builder.layers().last().expect("just pushed").op {
            Op::Conv2d(conv) => conv.out_channels,
            Op::Linear(linear) => linear.out_features,
            Op::Input { shape } => shape.channels,
            Op::Concat => net.inputs(id).iter().map(|p| new_channels[p.0]).sum(),
            Op::Flatten => {
                let s = net.input_shapes(id)[0];
                new_channels[net.inputs(id)[0].0] * s.height * s.width
            }
            Op::Reshape { .. } => {
                return Err(GraphError::layer_key(
                    &net.layer(id).name,
                    "shape",
                    "an explicit reshape cannot be widened; use `flatten`",
                ));
            }
            _ => in_channels.expect("other layers have an input"),
        };
        new_channels.push(c);
    }
    builder.build()
}

/// Replaces every 1x1 projection shortcut by a `k`×`k` convolution with the same
/// stride and padding `k/2`.
///
/// A projection shortcut is a 1x1 conv feeding (through BatchNorm, identity or
/// dropout layers only) an `add` whose other operand descends from the conv's
/// own input: the side branch of a residual block, not the main branch's last
/// pointwise conv (as in MobileNetV2's linear bottleneck).
pub fn shortcut_kernel(net: &Network, k: usize) -> Result<Network, GraphError> {
    if k == 0 || k % 2 == 0 {
        return Err(GraphError::network(format!("shortcut kernel must be odd and at least 1, got {k}")));
    }
    let shortcuts = projection_shortcuts(net);
    let mut builder = NetworkBuilder::new(net.name());
    for id in net.ids() {
        let mut layer = net.layer(id).clone();
        if shortcuts.contains(&id) {
            if let Op::Conv2d(conv) = &mut layer.op {
                *conv = Conv2d { kernel: [k, k], padding: Padding::uniform(k / 2), ..conv.clone() };
                layer.params = None;
            }
        }
        builder.push(layer);
    }
    builder.build()
}

/// The 1x1 convs that are projection shortcuts of residual adds (see [`shortcut_kernel`]).
pub fn projection_shortcuts(net: &Network) -> Vec<LayerId> {
    let mut found = Vec::new();
    for add in net.ids().filter(|&id| net.layer(id).op == Op::Add) {
        let operands = net.inputs(add);
        for (i, &operand) in operands.iter().enumerate() {
            let mut at = operand;
            // Walk back through layers that do not change values' positions.
            while matches!(net.layer(at).op, Op::BatchNorm(_)) || net.layer(at).op.is_passthrough() {
                at = net.inputs(at)[0];
            }
            let Op::Conv2d(conv) = &net.layer(at).op else {
                continue;
            };
            if !conv.is_pointwise() {
                continue;
            }
            let source = net.inputs(at)[0];
            // The other operand must descend from the conv's input but not from
            // the conv itself (else `at` ends an earlier block that feeds this one).
            let feeds_other = operands
                .iter()
                .enumerate()
                .any(|(j, &other)| j != i && net.reaches(source, other) && !net.reaches(at, other));
            if feeds_other && !found.contains(&at) {
                found.push(at);
            }
        }
    }
    found.sort_unstable();
    found
}
