//! Fault statistics: per crossbar from a map alone, and per layer once a
//! network is mapped (faulty cells under its weights, weights changed, |Δw|).

use rand_core::Rng;
use rayon::prelude::*;
use rramsim_graph::{LayerId, Network, Params};
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, Placement};

use crate::effective::{FaultModel, FaultTally, WeightCodec, effective_weights, quantize};
use crate::error::FaultError;
use crate::generate::crossbar_rng;
use crate::map::{CrossbarId, FaultMap};

/// Totals of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSummary {
    pub crossbars: u64,
    pub cells: u64,
    pub sa0: u64,
    pub sa1: u64,
    /// Crossbars with at least one fault.
    pub faulty_crossbars: u64,
    /// Most faults in one crossbar.
    pub max_per_crossbar: u64,
}

/// One crossbar's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossbarCount {
    pub id: CrossbarId,
    pub sa0: u64,
    pub sa1: u64,
}

/// Counts every crossbar (in parallel; the result is in crossbar order).
pub fn crossbar_counts(map: &FaultMap) -> Result<Vec<CrossbarCount>, FaultError> {
    (0..map.crossbars())
        .into_par_iter()
        .map_init(
            || map.buffer(),
            |buf, i| {
                map.crossbar_into(i, buf)?;
                let (sa0, sa1) = buf.count();
                Ok(CrossbarCount { id: map.geometry.id(i), sa0, sa1 })
            },
        )
        .collect()
}

pub fn summarize(counts: &[CrossbarCount], cells_per_crossbar: u64) -> MapSummary {
    MapSummary {
        crossbars: counts.len() as u64,
        cells: counts.len() as u64 * cells_per_crossbar,
        sa0: counts.iter().map(|c| c.sa0).sum(),
        sa1: counts.iter().map(|c| c.sa1).sum(),
        faulty_crossbars: counts.iter().filter(|c| c.sa0 + c.sa1 > 0).count() as u64,
        max_per_crossbar: counts.iter().map(|c| c.sa0 + c.sa1).max().unwrap_or(0),
    }
}

/// Fault statistics of one layer on RRAM, over all its replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFaultStats {
    pub layer: LayerId,
    pub replicas: u32,
    /// Weights × replicas.
    pub weights: u64,
    pub tally: FaultTally,
    /// Weights (over replicas) whose effective value differs from the ideal one.
    pub weights_changed: u64,
    /// Mean and max |Δw| over all weights, relative to the layer's weight range
    /// (max − min of its float weights).
    pub mean_rel_dw: f64,
    pub max_rel_dw: f64,
    /// True when the network carries no trained weights and seeded synthetic
    /// weights (He-normal) stood in.
    pub synthetic_weights: bool,
}

impl LayerFaultStats {
    pub fn changed_fraction(&self) -> f64 {
        if self.weights == 0 { 0.0 } else { self.weights_changed as f64 / self.weights as f64 }
    }
}

/// He-normal weights for a layer without trained ones, seeded by (seed, layer).
pub fn synthetic_weights(seed: u64, layer: LayerId, count: usize, fan_in: usize) -> Vec<f32> {
    let mut rng =
        crossbar_rng(seed ^ 0x5EED_5EED, CrossbarId { tile: layer.0 as u32, pe: u32::MAX, crossbar: u32::MAX });
    let sigma = (2.0 / fan_in.max(1) as f64).sqrt();
    let unit = |rng: &mut rand_pcg::Pcg64Mcg| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (0..count)
        .map(|_| {
            // Box–Muller.
            let (u1, u2) = (unit(&mut rng), unit(&mut rng));
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * sigma) as f32
        })
        .collect()
}

/// Per-layer statistics of `map` under `mapping` (layers on RRAM only, in
/// network order). Layers run in parallel; the result does not depend on it.
pub fn layer_stats(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    map: &FaultMap,
    model: FaultModel,
    synthetic_seed: u64,
) -> Result<Vec<LayerFaultStats>, FaultError> {
    let needed = mapping.pes_used as usize * arch.pe.crossbars as usize;
    if needed > map.crossbars() {
        return Err(FaultError::MapTooSmall { crossbars: map.crossbars(), chips: map.chips(), needed });
    }
    let codec = WeightCodec::new(arch);
    let layers: Vec<LayerId> =
        net.ids().filter(|&id| matches!(mapping.layer(id).placement, Placement::Crossbars { .. })).collect();
    layers
        .par_iter()
        .map(|&id| {
            let Placement::Crossbars { layout, replicas } = &mapping.layer(id).placement else {
                unreachable!("filtered to crossbar layers")
            };
            let (weights, synthetic) = match &net.layer(id).params {
                Some(Params::Dense { weight, .. }) => (weight.clone(), false),
                _ => {
                    let count = net.stats(id).weights as usize;
                    (synthetic_weights(synthetic_seed, id, count, layout.rows_per_group as usize), true)
                }
            };
            let (q, scale) = quantize(&weights, arch.weight_bits);
            let (lo, hi) = weights.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &w| (lo.min(w), hi.max(w)));
            let range = if hi > lo { f64::from(hi - lo) } else { 1.0 };
            let mut buf = map.buffer();
            let mut out = Vec::with_capacity(q.len());
            let mut tally = FaultTally::default();
            let (mut changed, mut sum, mut max) = (0u64, 0.0f64, 0.0f64);
            for replica in replicas {
                let t = effective_weights(&codec, layout, replica, map, model, &q, &mut buf, &mut out)?;
                tally.used_faulty_cells += t.used_faulty_cells;
                tally.sa0 += t.sa0;
                tally.sa1 += t.sa1;
                tally.unused_faulty_cells += t.unused_faulty_cells;
                tally.off_block_faults += t.off_block_faults;
                for (a, b) in q.iter().zip(&out) {
                    if a != b {
                        changed += 1;
                        let d = f64::from((i64::from(*b) - i64::from(*a)) as f32 * scale).abs() / range;
                        sum += d;
                        max = max.max(d);
                    }
                }
            }
            let total = q.len() as u64 * replicas.len() as u64;
            Ok(LayerFaultStats {
                layer: id,
                replicas: replicas.len() as u32,
                weights: total,
                tally,
                weights_changed: changed,
                mean_rel_dw: if total > 0 { sum / total as f64 } else { 0.0 },
                max_rel_dw: max,
                synthetic_weights: synthetic,
            })
        })
        .collect()
}
