//! Errors of fault maps in memory: generator parameters, crossbar access and
//! per-layer statistics. File formats have their own errors
//! ([`crate::storage::StorageError`], [`crate::storage::CsvError`]).
//!
//! [`FaultError::is_input`] tells the caller's bad input (a rate out of range,
//! a map too small for the mapping) from an internal error (a record of a map
//! already checked, or built in memory, that does not decode).

use thiserror::Error;

/// A crossbar record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("empty crossbar record")]
    Empty,
    #[error("truncated varint")]
    TruncatedVarint,
    #[error("varint too long")]
    VarintTooLong,
    #[error("fault at cell {cell} beyond the crossbar's {cells} cells")]
    CellBeyond { cell: i64, cells: usize },
    #[error("dense record of {len} bytes, expected {expected}")]
    DenseLength { len: usize, expected: usize },
    #[error("invalid cell code {code} at cell {cell}")]
    CellCode { code: u8, cell: usize },
    #[error("unknown crossbar encoding tag {0}")]
    UnknownTag(u8),
}

/// Generation, crossbar access and statistics failures.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FaultError {
    #[error("fault rate must be in [0, 1], got {0}")]
    Rate(f64),
    #[error("SA1 fraction must be in [0, 1], got {0}")]
    Sa1Fraction(f64),
    #[error("chips to cover must be between 1 and the node's {node_chips}, got {chips}")]
    Chips { chips: u32, node_chips: u32 },
    #[error("{0}")]
    Size(String),
    #[error("crossbar {index} is outside the map, which covers {crossbars} crossbars ({chips} chips)")]
    OutsideMap { index: usize, crossbars: usize, chips: usize },
    #[error(
        "the fault map covers {crossbars} crossbars ({chips} chip(s)) but the mapping uses {needed}; generate it with more chips"
    )]
    MapTooSmall { crossbars: usize, chips: usize, needed: usize },
    /// A record of a map in memory does not decode: maps are checked when read
    /// ([`crate::storage::from_bytes`]) or built valid, so this is a bug.
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl FaultError {
    /// True for the caller's bad input, false for an internal error.
    pub fn is_input(&self) -> bool {
        !matches!(self, Self::Record(_))
    }
}
