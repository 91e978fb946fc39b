//! The weights a mapped network computes with on the accelerator: quantized to
//! the architecture's weight bits (per layer, symmetric, as `rramsim-fault`
//! encodes them), inputs quantized to its activation bits, and — for layers on
//! crossbars — the effective weights of each replica under a fault map. Layers
//! the mapping places on the digital unit keep fault-free quantized weights.

use rramsim_fault::remap::RemapScratch;
use rramsim_fault::{
    FaultMap, FaultModel, RemapMode, RemapStats, ReplicaRemap, WeightCodec, XbarFaults, cell_levels_remapped,
    effective_weights_remapped, quantize, remap_replica,
};
use rramsim_graph::{Network, Op, Params};
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, Placement};

use crate::device::{DeviceOptions, build_analog};
use crate::error::FuncError;
use crate::model::{Clip, LayerWeights};

/// How a network's weights are realised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardwareOptions {
    /// Clip each crossbar row tile's partial sum to the ADC range (an
    /// approximation: see [`adc_clip_fraction`]).
    pub adc_clip: bool,
    /// The device model (`[device]`, on/off ratio, bit-exact periphery) on
    /// crossbar layers; `None`: ideal integer cells.
    pub device: Option<DeviceOptions>,
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
    /// The fault-aware placement's objective (see `rramsim_fault::remap`).
    pub remap: RemapStats,
}

/// The fault-aware placement of replica `r`'s crossbars, `None` for the identity:
/// without faults or without remapping no search runs (and no objective is
/// reported; it is reported only when remapping).
#[allow(clippy::too_many_arguments)]
fn placement(
    codec: &WeightCodec,
    layout: &rramsim_map::CrossbarLayout,
    r: &rramsim_map::ReplicaPlacement,
    faults: Option<(&FaultMap, FaultModel)>,
    remap: RemapMode,
    q: &[i32],
    buf: &mut XbarFaults,
    scratch: &mut RemapScratch,
    stats: &mut BuildStats,
) -> Result<Option<ReplicaRemap>, rramsim_fault::FaultError> {
    match faults {
        Some((map, model)) if remap != RemapMode::None => {
            let (p, s) = remap_replica(codec, layout, r, map, model, remap, q, buf, scratch)?;
            stats.remap.add(&s);
            Ok(Some(p))
        }
        _ => Ok(None),
    }
}

/// Per-layer weights for [`crate::Functional::with_weights`].
pub fn hardware_weights(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    faults: Option<(&FaultMap, FaultModel)>,
    options: HardwareOptions,
) -> Result<(Vec<Option<LayerWeights>>, BuildStats), FuncError> {
    hardware_weights_remapped(net, arch, mapping, faults, RemapMode::None, options)
}

/// [`hardware_weights`] with each replica's crossbars placed fault-aware
/// (`rramsim_fault::remap`) before the faults are applied.
pub fn hardware_weights_remapped(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    faults: Option<(&FaultMap, FaultModel)>,
    remap: RemapMode,
    options: HardwareOptions,
) -> Result<(Vec<Option<LayerWeights>>, BuildStats), FuncError> {
    let mut scratch = RemapScratch::default();
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
        let (replicas, layer_clip, analog) = match (&mapping.layer(id).placement, options.device) {
            (Placement::Crossbars { layout, replicas }, Some(device)) => {
                let mut xbuf = buf.take().unwrap_or_else(|| XbarFaults::new(arch.crossbar.rows, arch.crossbar.cols));
                let mut levels = Vec::with_capacity(replicas.len());
                for r in replicas {
                    let mut lv = Vec::new();
                    let placement =
                        placement(&codec, layout, r, faults, remap, &q, &mut xbuf, &mut scratch, &mut stats)
                            .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })?;
                    cell_levels_remapped(&codec, layout, r, faults, placement.as_ref(), &q, &mut xbuf, &mut lv)
                        .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })?;
                    if let Some((map, model)) = faults {
                        // The fault statistics, as without the device model.
                        effective_weights_remapped(
                            &codec,
                            layout,
                            r,
                            map,
                            model,
                            placement.as_ref(),
                            &q,
                            &mut xbuf,
                            &mut out,
                        )
                        .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })
                        .map(|t| stats.faulty_cells += t.used_faulty_cells)?;
                        stats.weights_changed += q.iter().zip(&out).filter(|(a, b)| a != b).count() as u64;
                        stats.weights += q.len() as u64;
                    }
                    levels.push(lv);
                }
                if faults.is_some() {
                    buf = Some(xbuf);
                }
                let cout = net.output_shape(id).channels;
                let mut analog = build_analog(arch, layout, replicas, &levels, scale, cout, id.0 as u64, &device);
                let k = layout.rows_per_group as usize;
                let copies: Vec<Vec<f32>> = (0..replicas.len()).map(|r| analog.folded_weights(r, k)).collect();
                match (device.exact, analog.lossless) {
                    (true, false) => (copies, None, Some(Box::new(analog))),
                    // A lossless periphery (integer conductances, no read noise,
                    // no sum beyond the ADC) computes the integer product itself,
                    // exact or fast.
                    (_, true) => (copies, None, None),
                    (false, false) => {
                        let q_max = ((1u64 << (arch.activation_bits.max(2) - 1)) - 1) as f32;
                        analog.make_fast(k, options.adc_clip.then(|| (adc_clip_fraction(arch), q_max)));
                        (copies, None, Some(Box::new(analog)))
                    }
                }
            }
            (Placement::Crossbars { layout, replicas }, None) => match (faults, &mut buf) {
                (Some((map, model)), Some(buf)) => {
                    let mut copies = Vec::with_capacity(replicas.len());
                    for r in replicas {
                        let placement = placement(&codec, layout, r, faults, remap, &q, buf, &mut scratch, &mut stats)
                            .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })?;
                        let t = effective_weights_remapped(
                            &codec,
                            layout,
                            r,
                            map,
                            model,
                            placement.as_ref(),
                            &q,
                            buf,
                            &mut out,
                        )
                        .map_err(|source| FuncError::Faults { layer: layer.name.clone(), source })?;
                        stats.faulty_cells += t.used_faulty_cells;
                        stats.weights_changed += q.iter().zip(&out).filter(|(a, b)| a != b).count() as u64;
                        stats.weights += q.len() as u64;
                        copies.push(dequant(&out));
                    }
                    (copies, clip, None)
                }
                _ => (vec![dequant(&q)], clip, None),
            },
            // The digital unit: fault-free, quantized, no ADC.
            _ => (vec![dequant(&q)], None, None),
        };
        weights.push(Some(LayerWeights {
            replicas,
            bias: bias.clone(),
            input_bits: Some(arch.activation_bits),
            clip: layer_clip,
            analog,
        }));
    }
    Ok((weights, stats))
}
