//! The weights a mapped network computes with on the accelerator: quantized to
//! the architecture's weight bits (per layer, symmetric, as `rramsim-fault`
//! encodes them), inputs quantized to its activation bits, and — for layers on
//! crossbars — the effective weights of each replica under a fault map. Layers
//! the mapping places on the digital unit keep fault-free quantized weights.

use rramsim_fault::{FaultMap, FaultModel, WeightCodec, effective_weights, quantize};
use rramsim_graph::{Network, Op, Params};
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, Placement};

use crate::error::FuncError;
use crate::model::{Clip, LayerWeights};

/// How a network's weights are realised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardwareOptions {
    /// Clip each crossbar row tile's partial sum to the ADC range (an
    /// approximation: see [`adc_clip_fraction`]).
    pub adc_clip: bool,
}

/// Fraction of a row tile's largest possible partial sum an ADC can represent:
/// one conversion reads at most `rows · (2^c − 1) · (2^d − 1)` (cell bits `c`,
/// DAC bits `d`) and resolves `2^adc − 1` levels. The functional model applies
/// this fraction to the full-precision partial sum of the tile rather than to
/// each slice and input bit: a first-order model of saturation.
/// Levels are `2^bits − 1` in `f64`: a shift of `1u64` by 64 or more bits wraps
/// (a 64-bit ADC would resolve 0 levels and clip every output to zero).
pub fn adc_clip_fraction(arch: &ArchParams) -> f32 {
    let levels = |bits: u32| 2f64.powf(f64::from(bits)) - 1.0;
    let full = f64::from(arch.crossbar.rows) * levels(arch.crossbar.bits_per_cell) * levels(arch.pe.dac_bits);
    (levels(arch.pe.adc.bits) / full).min(1.0) as f32
}

/// Faults met while building the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildStats {
    /// Weights (over all replicas) whose value differs from the fault-free one.
    pub weights_changed: u64,
    pub weights: u64,
    pub faulty_cells: u64,
}

/// Per-layer weights for [`crate::Functional::with_weights`].
pub fn hardware_weights(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    faults: Option<(&FaultMap, FaultModel)>,
    options: HardwareOptions,
) -> Result<(Vec<Option<LayerWeights>>, BuildStats), FuncError> {
    let codec = WeightCodec::new(arch);
    let clip = options.adc_clip.then(|| Clip { rows: arch.crossbar.rows as usize, fraction: adc_clip_fraction(arch) });
    let mut stats = BuildStats::default();
    let mut buf = faults.map(|(m, _)| m.buffer());
    let mut out = Vec::new();
    let mut weights = Vec::with_capacity(net.len());
    for id in net.ids() {
        let layer = net.layer(id);
        if !matches!(layer.op, Op::Conv2d(_) | Op::Linear(_)) {
            weights.push(None);
            continue;
        }
        let Some(Params::Dense { weight, bias }) = &layer.params else {
            return Err(FuncError::NoTrainedWeights { layer: layer.name.clone() });
        };
        let (q, scale) = quantize(weight, arch.weight_bits);
        let dequant = |q: &[i32]| -> Vec<f32> { q.iter().map(|&v| v as f32 * scale).collect() };
        let (replicas, layer_clip) = match &mapping.layer(id).placement {
            Placement::Crossbars { layout, replicas } => match (faults, &mut buf) {
                (Some((map, model)), Some(buf)) => {
                    let mut copies = Vec::with_capacity(replicas.len());
                    for r in replicas {
                        let t = effective_weights(&codec, layout, r, map, model, &q, buf, &mut out)
                            .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })?;
                        stats.faulty_cells += t.used_faulty_cells;
                        stats.weights_changed += q.iter().zip(&out).filter(|(a, b)| a != b).count() as u64;
                        stats.weights += q.len() as u64;
                        copies.push(dequant(&out));
                    }
                    (copies, clip)
                }
                _ => (vec![dequant(&q)], clip),
            },
            // The digital unit: fault-free, quantized, no ADC.
            _ => (vec![dequant(&q)], None),
        };
        weights.push(Some(LayerWeights {
            replicas,
            bias: bias.clone(),
            input_bits: Some(arch.activation_bits),
            clip: layer_clip,
        }));
    }
    Ok((weights, stats))
}
