//! Stuck-at-0/1 cell fault maps.
//!
//! Convention: **SA0** = a cell stuck at its lowest conductance (HRS), read as
//! level 0; **SA1** = stuck at its highest conductance (LRS), read as the top level
//! `2^c − 1`. (The drop-connect study's "stuck-at-1 → weight zero" is the separate
//! [`FaultModel::WeightZero`] model.)
//!
//! - [`generate`]: maps from a rate, an SA1 fraction, a spatial [`Distribution`]
//!   and a seed; each crossbar's map depends on (seed, tile, PE, crossbar) alone.
//! - [`FaultMap`]: per-crossbar compact records (sparse gap lists or dense 2-bit
//!   planes, whichever is smaller), decoded one crossbar at a time.
//! - [`storage`]: the versioned binary file (bincode 2.0.1, only there) and the
//!   CSV list of faulty cells for maps measured on real chips.
//! - [`effective_weights`]: the weights a faulty crossbar really holds, given the
//!   weight encoding; allocation-free per crossbar.
//! - [`remap`]: fault-aware row/column permutations per crossbar (spare rows and
//!   columns included), applied by the `_remapped` variants above.
//! - [`layer_stats`]: faulty cells, changed weights and |Δw| per layer.
//!
//! Errors: [`FaultError`] (parameters, crossbar access, statistics; its
//! `is_input` tells bad input from an internal error), [`RecordError`] (a
//! crossbar record that does not decode), and in [`storage`] the file errors
//! [`storage::StorageError`] and [`storage::CsvError`] (always bad input).
//!
//! This crate knows nothing about timing; it reads no files (storage works on
//! bytes and strings).

mod effective;
mod error;
mod generate;
mod map;
pub mod remap;
mod stats;
pub mod storage;

pub use effective::{
    FaultModel, FaultTally, STUCK_CELL, WeightCodec, cell_levels, cell_levels_remapped, effective_weights,
    effective_weights_remapped, quantize, weight_cell,
};
pub use error::{FaultError, RecordError};
pub use generate::{Distribution, GenParams, crossbar_faults, crossbar_rng, generate, splitmix};
pub use map::{CONVENTION, CellState, CrossbarId, Encoding, FaultMap, Geometry, Origin, XbarFaults};
pub use remap::{RemapMode, RemapStats, ReplicaRemap, XbarPerm, remap_replica};
pub use stats::{
    CrossbarCount, LayerFaultStats, MapSummary, crossbar_counts, layer_stats, summarize, synthetic_weights,
};
