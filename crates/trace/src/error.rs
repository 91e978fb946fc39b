//! Errors of reading, filtering, converting and checking traces.
//!
//! [`TraceError::is_input`] tells a trace that cannot be read (bad input) from
//! a failure to write a conversion (an internal or environment error, e.g. a
//! full disk). [`FilterError`] (a filter spec) is always bad input;
//! [`ChromeCheckError`] reports what [`crate::check_chrome`] finds wrong.

use thiserror::Error;

use crate::format::FORMAT_MAJOR;

#[derive(Debug, Error)]
pub enum TraceError {
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("not an rramsim trace (missing the RRTRACE magic)")]
    NoMagic,
    #[error("truncated trace: the file ends inside {0}")]
    Truncated(&'static str),
    #[error(
        "trace format {major}.{minor} is not readable by this rramsim (reads format {FORMAT_MAJOR}.x); \
         use the rramsim that wrote it"
    )]
    Version { major: u16, minor: u16 },
    #[error("corrupt header: length {0}")]
    HeaderLength(u64),
    #[error("corrupt header: {0}")]
    Header(#[source] bincode::error::DecodeError),
    #[error("corrupt header: clock {0} GHz")]
    Clock(f64),
    #[error("truncated trace: no end record after {events} events (was the run interrupted?)")]
    NoEnd { events: u64 },
    #[error("corrupt record length")]
    RecordLengthOverflow,
    #[error("corrupt record: length {len} after {events} events")]
    RecordLength { len: u64, events: u64 },
    #[error("corrupt event record {index}: {source}")]
    EventRecord { index: u64, source: bincode::error::DecodeError },
    #[error("corrupt event record {index}: unit tag {tag}")]
    UnitTag { index: u64, tag: u8 },
    #[error("corrupt event record: span overflows")]
    SpanOverflow,
    #[error("corrupt event record {index}: layer {layer}")]
    EventLayer { index: u64, layer: u32 },
    #[error("corrupt layer record: {0}")]
    LayerRecord(#[source] bincode::error::DecodeError),
    #[error("corrupt layer record for layer {0}")]
    LayerStats(u32),
    #[error("corrupt end record: {0}")]
    EndRecord(#[source] bincode::error::DecodeError),
    #[error("checksum mismatch: the trace is corrupt")]
    Checksum,
    #[error(
        "corrupt trace: {events} events and {layers} layer records, the end record says {end_events} and {end_layers}"
    )]
    Counts { events: u64, layers: u64, end_events: u64, end_layers: u64 },
    #[error("corrupt trace: bytes after the end record")]
    TrailingBytes,
    #[error("cannot write: {0}")]
    Write(#[source] std::io::Error),
    #[cfg(feature = "parquet")]
    #[error("cannot write Parquet: {0}")]
    Parquet(#[source] parquet::errors::ParquetError),
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Arrow(arrow_schema::ArrowError),
    #[error("this rramsim was built without the `parquet` feature; convert to csv")]
    NoParquet,
}

impl TraceError {
    /// True when the trace (or the request) is at fault, false for a failure
    /// to write the output.
    pub fn is_input(&self) -> bool {
        match self {
            Self::Write(_) => false,
            #[cfg(feature = "parquet")]
            Self::Parquet(_) | Self::Arrow(_) => false,
            _ => true,
        }
    }
}

/// A filter spec that cannot be parsed or matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("--layer: `{pattern}` matches no layer (layers: {}{})", .near.join(", "), if *.more { ", …" } else { "" })]
    NoLayer {
        pattern: String,
        /// The first few layer names, as a hint.
        near: Vec<String>,
        /// More layers exist than `near` lists.
        more: bool,
    },
    #[error("--window: expected FROM..TO in cycles (e.g. 1000..5000), got `{0}`")]
    Window(String),
    #[error("--window: `{0}` is empty (FROM must be below TO)")]
    EmptyWindow(String),
    #[error("--level: expected tile, pe or xbar, got `{0}`")]
    Level(String),
}

/// Chrome Trace Event JSON that is not well formed (see [`crate::check_chrome`]).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChromeCheckError {
    #[error("no traceEvents array")]
    NoEvents,
    #[error("event {index}: no {field}")]
    Missing { index: usize, field: &'static str },
    #[error("event {0}: metadata without args")]
    MetadataArgs(usize),
    #[error("event {0}: negative ts or dur")]
    Negative(usize),
    #[error("event {0}: counter without ts")]
    CounterTs(usize),
    #[error("event {0}: counter without args")]
    CounterArgs(usize),
    #[error("event {0}: counter values must be numbers")]
    CounterValues(usize),
    #[error("event {index}: unexpected phase `{phase}`")]
    Phase { index: usize, phase: String },
    #[error("pid {0} has no process_name")]
    ProcessName(u64),
    #[error("pid {pid} tid {tid} has no thread_name")]
    ThreadName { pid: u64, tid: u64 },
    #[error("pid {pid} tid {tid}: span [{start}, {end}] overlaps one ending at {open_end} without nesting")]
    Overlap { pid: u64, tid: u64, start: f64, end: f64, open_end: f64 },
}
