//! The hardware model of rramsim: the architecture TOML format, validated
//! parameter types, the per-action energy table, area and peak figures.
//!
//! Raw TOML types are private to [`config`]; everything else works on
//! [`ArchParams`], whose latencies are whole cycles of one global clock. This
//! crate knows nothing about networks or files: [`load_arch_toml`] takes the
//! source text and a name for error messages.

mod config;
mod device;
mod digital;
mod energy;
mod keys;
mod params;
mod peak;
mod presets;
pub mod remap;
mod scaling;

pub use config::{ConfigWarning, load_arch_toml};
pub use device::DeviceParams;
pub use digital::{Gemm, systolic_cycles};
pub use energy::{Action, ActionCounts, Component, EnergyTable};
pub use keys::{Dir, Figure, KEY_EFFECTS, KeyEffect, key_effect, key_effects_markdown};
pub use params::{
    AdcParams, ArchParams, AreaParams, BufferParams, CrossbarParams, Dataflow, DigitalParams, LeakageParams, NocParams,
    NocTopology, NodeParams, PeParams, SignedEncoding, TileParams, VectorUnitParams,
};
pub use peak::{PeakFigures, Stage, StageBusy, StageCycles, leakage_energy, peak_figures, stage_cycles};
pub use presets::{PRESETS, preset, preset_names};
pub use scaling::{AdcKind, Calibration, NodeScale};
