//! Trace dumps of rramsim simulations.
//!
//! - [`format`]: the versioned binary `.rtrace` format, written streaming by a
//!   [`TraceWriter`] (an engine event sink) and read record by record by a
//!   [`TraceReader`]. The only module that uses bincode.
//! - [`filter`]: keep events by layer, cycle window, hierarchy level.
//! - [`chrome`]: Chrome Trace Event JSON for Perfetto and chrome://tracing.
//! - [`table`]: CSV and Parquet tables for pandas and polars.
//! - [`summary`]: per-layer and per-unit totals; diffs of two traces.
//!
//! Errors: [`TraceError`] (reading and converting; `is_input` tells a bad
//! trace from a failure to write), [`FilterError`], [`ChromeCheckError`].
//!
//! Files are the CLI's business except for the trace itself, which this crate
//! streams to disk so a trace of any size needs bounded memory.

pub mod chrome;
mod error;
pub mod filter;
pub mod format;
pub mod summary;
pub mod table;

pub use chrome::{ChromeStats, check_chrome, to_chrome};
pub use error::{ChromeCheckError, FilterError, TraceError};
pub use filter::Filter;
pub use format::{FORMAT_MAJOR, FORMAT_MINOR, Header, LayerInfo, LayerStats, Record, TraceReader, TraceWriter, open};
pub use summary::{Diff, Summary, diff, summarize};
pub use table::{SCHEMA_VERSION, TableStats, to_csv, to_parquet};
