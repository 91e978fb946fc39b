//! Fault maps as the front ends use them: generation over an architecture,
//! import and export, and the statistics `faults stats` and `run` report.

use std::path::Path;

use rramsim_fault::{
    CONVENTION, FaultMap, FaultModel, GenParams, Geometry, LayerFaultStats, Origin, crossbar_counts, layer_stats,
    storage, summarize,
};
use rramsim_graph::Network;
use rramsim_hw::ArchParams;
use rramsim_map::{Mapping, MappingOptions, Replication, map_network};
use serde::Serialize;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::options::{FaultSpec, read_fault_map};
use crate::workload::WorkloadSpec;

pub use rramsim_fault::{CONVENTION as FAULT_CONVENTION, Distribution};

/// Generates a fault map covering the first `chips` chips of `arch`.
pub fn generate(arch: &ArchParams, spec: &FaultSpec, chips: u32) -> Result<FaultMap> {
    if chips == 0 || chips > arch.node.chips {
        return Err(Error::input(format!(
            "chips to cover must be between 1 and the node's {}, got {chips}",
            arch.node.chips
        )));
    }
    spec.materialize(arch, chips)
}

/// The binary fault-map file's bytes.
pub fn to_bytes(map: &FaultMap) -> Vec<u8> {
    storage::to_bytes(map)
}

/// Reads a fault-map file.
pub fn read(path: &Path) -> Result<FaultMap> {
    read_fault_map(path)
}

/// A map from a CSV list of faulty cells (`label` names it in errors).
pub fn from_csv(label: &str, text: &str, arch: &ArchParams) -> Result<FaultMap> {
    storage::from_csv(text, Geometry::of(arch)).map_err(|e| Error::input(format!("{label}:{}: {}", e.line, e.kind)))
}

/// The CSV list of a map's faulty cells.
pub fn to_csv(map: &FaultMap) -> String {
    storage::to_csv(map)
}

/// Per-layer statistics of `map` on a mapping; synthetic weights (for networks
/// without trained ones) are seeded with the generator's seed (0 for imported
/// maps).
pub fn run_layer_stats(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    map: &FaultMap,
    model: FaultModel,
) -> Result<Vec<LayerFaultStats>> {
    let seed = match &map.origin {
        Origin::Generated(p) => p.seed,
        Origin::Imported => 0,
    };
    layer_stats(net, arch, mapping, map, model, seed).map_err(Error::from)
}

/// One layer's fault statistics as reports show them.
#[derive(Debug, Clone, Serialize)]
pub struct LayerFaultRow {
    pub name: String,
    pub replicas: u32,
    pub weights: u64,
    pub faulty_cells: u64,
    pub sa0: u64,
    pub sa1: u64,
    pub unused_faulty_cells: u64,
    pub off_block_sa1: u64,
    pub weights_changed: u64,
    pub changed_fraction: f64,
    pub mean_rel_dw: f64,
    pub max_rel_dw: f64,
    pub synthetic_weights: bool,
}

pub fn layer_rows(net: &Network, stats: &[LayerFaultStats]) -> Vec<LayerFaultRow> {
    stats
        .iter()
        .map(|s| LayerFaultRow {
            name: net.layer(s.layer).name.clone(),
            replicas: s.replicas,
            weights: s.weights,
            faulty_cells: s.tally.used_faulty_cells,
            sa0: s.tally.sa0,
            sa1: s.tally.sa1,
            unused_faulty_cells: s.tally.unused_faulty_cells,
            off_block_sa1: s.tally.off_block_faults,
            weights_changed: s.weights_changed,
            changed_fraction: s.changed_fraction(),
            mean_rel_dw: s.mean_rel_dw,
            max_rel_dw: s.max_rel_dw,
            synthetic_weights: s.synthetic_weights,
        })
        .collect()
}

/// Where a map came from.
#[derive(Debug, Clone, Serialize)]
pub struct OriginReport {
    pub kind: &'static str,
    pub rate: Option<f64>,
    pub sa1_fraction: Option<f64>,
    pub distribution: Option<&'static str>,
    pub seed: Option<u64>,
}

impl OriginReport {
    pub fn of(origin: &Origin) -> Self {
        match origin {
            Origin::Generated(p) => OriginReport {
                kind: "generated",
                rate: Some(p.rate),
                sa1_fraction: Some(p.sa1_fraction),
                distribution: Some(p.distribution.name()),
                seed: Some(p.seed),
            },
            Origin::Imported => {
                OriginReport { kind: "imported", rate: None, sa1_fraction: None, distribution: None, seed: None }
            }
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self.kind {
            "generated" => format!(
                "generated: rate {}, SA1 fraction {}, {} distribution, seed {}",
                self.rate.unwrap_or_default(),
                self.sa1_fraction.unwrap_or_default(),
                self.distribution.unwrap_or_default(),
                self.seed.unwrap_or_default()
            ),
            _ => "imported from a list of faulty cells".to_owned(),
        }
    }
}

/// One crossbar's fault counts.
#[derive(Debug, Clone, Serialize)]
pub struct CrossbarRow {
    pub tile: u32,
    pub pe: u32,
    pub crossbar: u32,
    pub sa0: u64,
    pub sa1: u64,
}

/// What `rramsim faults stats` reports (its `--format json` document).
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub convention: &'static str,
    pub origin: OriginReport,
    pub chips_covered: usize,
    pub crossbars: u64,
    pub cells: u64,
    pub faulty_cells: u64,
    pub sa0: u64,
    pub sa1: u64,
    pub fault_rate: f64,
    pub faulty_crossbars: u64,
    pub max_faults_per_crossbar: u64,
    pub encoded_bytes: usize,
    pub sparse_crossbars: usize,
    pub dense_crossbars: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crossbar_counts: Option<Vec<CrossbarRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<LayerFaultRow>>,
}

/// Per-layer statistics need a workload mapped on an architecture.
#[derive(Debug, Clone)]
pub struct StatsOn<'a> {
    pub arch: &'a Arch,
    pub workload: &'a str,
    pub replication: Replication,
    pub model: FaultModel,
}

/// Totals of a map and, with `on`, per-layer statistics of a mapped workload.
pub fn stats(map: &FaultMap, label: &str, on: Option<StatsOn<'_>>, per_crossbar: bool) -> Result<StatsReport> {
    let counts = crossbar_counts(map).map_err(Error::from)?;
    let s = summarize(&counts, map.geometry.cells_per_crossbar() as u64);
    let (layers, model) = match on {
        Some(on) => {
            let arch = &on.arch.params;
            storage::check_geometry(map, &Geometry::of(arch)).map_err(|e| Error::input(format!("{label}: {e}")))?;
            let net = WorkloadSpec::new(on.workload).load()?;
            // `run`'s rule: the default budget, or the chips the map covers
            // when it covers fewer than the mapping uses.
            let mut options = MappingOptions::rram(on.replication);
            let mut mapping = map_network(&net, arch, &options).map_err(Error::from)?;
            let map_chips = u32::try_from(map.chips()).unwrap_or(u32::MAX);
            if map_chips < mapping.chips_used {
                options.budget.chips = Some(map_chips.clamp(1, arch.node.chips));
                mapping = map_network(&net, arch, &options).map_err(Error::from)?;
            }
            let stats = run_layer_stats(&net, arch, &mapping, map, on.model)?;
            (Some(layer_rows(&net, &stats)), Some(on.model.name()))
        }
        None => (None, None),
    };
    let (sparse, dense) = map.encodings();
    Ok(StatsReport {
        convention: CONVENTION,
        origin: OriginReport::of(&map.origin),
        chips_covered: map.chips(),
        crossbars: s.crossbars,
        cells: s.cells,
        faulty_cells: s.sa0 + s.sa1,
        sa0: s.sa0,
        sa1: s.sa1,
        fault_rate: if s.cells == 0 { 0.0 } else { (s.sa0 + s.sa1) as f64 / s.cells as f64 },
        faulty_crossbars: s.faulty_crossbars,
        max_faults_per_crossbar: s.max_per_crossbar,
        encoded_bytes: map.encoded_bytes(),
        sparse_crossbars: sparse,
        dense_crossbars: dense,
        crossbar_counts: per_crossbar.then(|| {
            counts
                .iter()
                .map(|c| CrossbarRow { tile: c.id.tile, pe: c.id.pe, crossbar: c.id.crossbar, sa0: c.sa0, sa1: c.sa1 })
                .collect()
        }),
        fault_model: model,
        layers,
    })
}

/// The generator parameters of a map, if generated.
pub fn gen_params(map: &FaultMap) -> Option<GenParams> {
    match &map.origin {
        Origin::Generated(p) => Some(*p),
        Origin::Imported => None,
    }
}
