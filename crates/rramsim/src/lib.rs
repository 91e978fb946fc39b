//! rramsim as a library: the one place the simulation pipeline is assembled.
//!
//! The model crates (`rramsim-graph`, `-hw`, `-map`, `-engine`, `-fault`,
//! `-func`, `-train`, `-trace`) are pure and take plain typed values; this
//! crate puts them together the way every front end needs them — the `rramsim`
//! CLI and the Python package only translate arguments and render results:
//!
//! - [`Arch`]: presets, architecture files or TOML text, validated; [`check`]
//!   reports their resolved parameters and peak figures.
//! - [`WorkloadSpec`]: zoo names, workload files, ONNX files or workload text,
//!   loaded in one canonical order (BatchNorm folded, shortcut kernel, widen).
//! - [`options`]: every option validated once ([`OffloadSpec`], [`FaultSpec`],
//!   batch, width, probabilities), so run, study, sweep, eval and Python refuse
//!   the same bad value the same way.
//! - [`Experiment`] → [`Prepared`] → [`Outcome`]: map (all-RRAM), fault map,
//!   offload resolved, final mapping; simulate (with an optional event sink or
//!   a streamed trace); [`Metrics`] and the [`RunReport`].
//! - [`study`], [`sweep`] (+ [`results`] tables), [`accuracy`] (Monte Carlo
//!   over fault maps, inference, training), [`baseline`], [`trace`], [`faults`].
//!
//! ```no_run
//! use rramsim::{Experiment, RunOptions, WorkloadSpec};
//!
//! let run = Experiment {
//!     arch: "isaac".into(),
//!     workload: WorkloadSpec::new("resnet20"),
//!     options: RunOptions::default(),
//! }
//! .prepare()?;
//! let outcome = run.simulate()?;
//! println!("{} cycles", outcome.metrics.total_cycles);
//! # Ok::<(), rramsim::Error>(())
//! ```

pub mod accuracy;
mod arch;
pub mod baseline;
mod error;
mod experiment;
pub mod faults;
pub mod io;
pub mod options;
pub mod results;
pub mod study;
pub mod sweep;
pub mod trace;
mod workload;

pub use arch::{Arch, AreaReport, CheckReport, ComponentReport, StageReport, check};
pub use error::{Error, Result};
pub use experiment::{
    Experiment, LayerRow, Metrics, Outcome, Prepared, RemapCostReport, RunFaults, RunOptions, RunReport, prepare,
    target_name,
};
pub use options::{FaultSource, FaultSpec, OffloadSpec, RatePer};
pub use workload::{WorkloadReport, WorkloadSpec, export_toml, load_raw, load_with_weights, report as workload_report};

/// Model types a front end names when it builds options or renders results.
pub mod model {
    pub use rramsim_engine::{EventSink, NoEvents, SimResult};
    pub use rramsim_fault::{Distribution, FaultMap, FaultModel, RemapMode};
    pub use rramsim_graph::{Network, Op, Shape, ZOO_NAMES};
    pub use rramsim_hw::{ArchParams, PRESETS, preset_names};
    pub use rramsim_map::{Offload, Replication, ReplicationBudget};
}

/// The memory budget of allocations sized by input (default
/// [`DEFAULT_MAX_MEMORY`](rramsim_core::budget::DEFAULT_MAX_MEMORY), 4 GiB):
/// loaders and planners refuse input that would allocate more, with
/// [`Error::Input`]. Process-wide; the CLI's `--max-memory` sets it.
pub use rramsim_core::budget::{DEFAULT_MAX_MEMORY, max_memory, parse_bytes, set_max_memory};

/// The simulator's version (traces and baselines record it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
