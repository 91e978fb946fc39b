//! Fault-map files: the versioned binary format (the only module that uses
//! bincode, so the serializer can be swapped) and the CSV list of faulty cells.
//!
//! Binary layout (little endian):
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `RRFM` |
//! | 2 + 2 | format major, minor (readers accept their major, any minor) |
//! | 8 | payload length |
//! | n | payload: bincode 2 (standard config) of [`FileBody`] |
//! | 8 | FNV-1a 64 of the payload (detects corruption, not tampering) |
//!
//! The payload's header records the simulator version, the node geometry, the
//! origin (generator parameters and seed, or imported) and the crossbar count;
//! then come the encoded per-crossbar records and their offsets.
//!
//! Errors: [`StorageError`] for the binary file and [`CsvError`] (with its
//! line) for the CSV list; both are always the input's fault.

use bincode::{Decode, Encode};
use rramsim_core::codec::fnv1a;
use thiserror::Error;

use crate::error::{FaultError, RecordError};
use crate::generate::{Distribution, GenParams};
use crate::map::{CellState, FaultMap, Geometry, Origin, decode_faults};

/// A binary fault-map file that cannot be read, or a map for another geometry.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("not an rramsim fault map (missing the RRFM magic)")]
    NoMagic,
    #[error("fault-map format {major}.{minor} is not readable by this rramsim (reads format {FORMAT_MAJOR}.x)")]
    Version { major: u16, minor: u16 },
    #[error("truncated file")]
    Truncated,
    #[error("truncated file: {have} payload bytes of {len}")]
    TruncatedPayload { have: usize, len: usize },
    #[error("{0} unexpected bytes after the checksum")]
    TrailingBytes(usize),
    #[error("checksum mismatch: the file is corrupt")]
    Checksum,
    #[error("corrupt payload: {0}")]
    Payload(#[source] bincode::error::DecodeError),
    #[error("corrupt payload: a length prefix claims more memory than a payload of this size can hold")]
    Claim,
    #[error("corrupt payload: trailing bytes")]
    PayloadTrailing,
    #[error("corrupt header: a zero dimension")]
    ZeroDimension,
    #[error("header: {0}")]
    Size(String),
    #[error("corrupt header: unknown distribution `{0}`")]
    UnknownDistribution(String),
    #[error("corrupt header: unknown origin `{0}`")]
    UnknownOrigin(String),
    #[error("corrupt record index")]
    RecordIndex,
    #[error("corrupt record of crossbar {crossbar}: {source}")]
    Record { crossbar: usize, source: RecordError },
    #[error(
        "the fault map is for {} tiles x {} PEs x {} crossbars of {}x{} per chip, the architecture has {} x {} x {} of {}x{}",
        .map.tiles_per_chip, .map.pes_per_tile, .map.crossbars_per_pe, .map.rows, .map.cols,
        .arch.tiles_per_chip, .arch.pes_per_tile, .arch.crossbars_per_pe, .arch.rows, .arch.cols
    )]
    GeometryMismatch { map: Geometry, arch: Geometry },
}

/// A CSV list of faulty cells that cannot be read: the 1-based line and what
/// is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {kind}")]
pub struct CsvError {
    pub line: usize,
    pub kind: CsvErrorKind,
}

/// What is wrong with a line of a CSV fault list.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CsvErrorKind {
    #[error("empty file")]
    Empty,
    #[error("expected the header tile,pe,crossbar,row,col,type, got `{0}`")]
    Header(String),
    #[error("expected 6 fields, got {0}")]
    FieldCount(usize),
    #[error("`{field}` must be a non-negative integer, got `{value}`")]
    NotInteger { field: &'static str, value: String },
    #[error("`{field}` {value} is out of range (the architecture has {limit})")]
    OutOfRange { field: &'static str, value: u64, limit: u64 },
    #[error("`type` must be SA0 or SA1, got `{0}`")]
    Type(String),
    #[error("{0}")]
    Size(String),
    #[error("cell ({row}, {col}) of tile {tile} PE {pe} crossbar {crossbar} is listed twice")]
    Duplicate { row: u32, col: u32, tile: u32, pe: u32, crossbar: u32 },
}

pub const MAGIC: &[u8; 4] = b"RRFM";
pub const FORMAT_MAJOR: u16 = 1;
pub const FORMAT_MINOR: u16 = 0;

#[derive(Debug, Encode, Decode)]
struct FileHeader {
    simulator_version: String,
    chips: u32,
    tiles_per_chip: u32,
    pes_per_tile: u32,
    crossbars_per_pe: u32,
    rows: u32,
    cols: u32,
    crossbars: u64,
    /// "generated" or "imported".
    origin: String,
    rate: f64,
    sa1_fraction: f64,
    distribution: String,
    seed: u64,
}

#[derive(Debug, Encode, Decode)]
struct FileBody {
    header: FileHeader,
    offsets: Vec<u64>,
    data: Vec<u8>,
}

/// Serializes a map to the binary format.
pub fn to_bytes(map: &FaultMap) -> Vec<u8> {
    let g = map.geometry;
    let (origin, rate, sa1_fraction, distribution, seed) = match &map.origin {
        Origin::Generated(p) => ("generated", p.rate, p.sa1_fraction, p.distribution.name(), p.seed),
        Origin::Imported => ("imported", 0.0, 0.0, "", 0),
    };
    let body = FileBody {
        header: FileHeader {
            simulator_version: env!("CARGO_PKG_VERSION").to_owned(),
            chips: g.chips,
            tiles_per_chip: g.tiles_per_chip,
            pes_per_tile: g.pes_per_tile,
            crossbars_per_pe: g.crossbars_per_pe,
            rows: g.rows,
            cols: g.cols,
            crossbars: map.crossbars() as u64,
            origin: origin.to_owned(),
            rate,
            sa1_fraction,
            distribution: distribution.to_owned(),
            seed,
        },
        offsets: map.offsets.iter().map(|&o| o as u64).collect(),
        data: map.data.clone(),
    };
    let payload = bincode::encode_to_vec(&body, bincode::config::standard()).expect("encoding to memory cannot fail");
    let mut out = Vec::with_capacity(payload.len() + 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    out.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out
}

/// Parses the binary format, checking magic, version, length, checksum and the
/// structure of every record.
pub fn from_bytes(bytes: &[u8]) -> Result<FaultMap, StorageError> {
    if bytes.len() < 16 || &bytes[..4] != MAGIC {
        return Err(StorageError::NoMagic);
    }
    let major = u16::from_le_bytes([bytes[4], bytes[5]]);
    let minor = u16::from_le_bytes([bytes[6], bytes[7]]);
    if major != FORMAT_MAJOR {
        return Err(StorageError::Version { major, minor });
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let Some(rest) = bytes.get(16..) else { return Err(StorageError::Truncated) };
    if rest.len() < len.saturating_add(8) {
        return Err(StorageError::TruncatedPayload { have: rest.len().saturating_sub(8), len });
    }
    if rest.len() > len + 8 {
        return Err(StorageError::TrailingBytes(rest.len() - len - 8));
    }
    let payload = &rest[..len];
    let stored = u64::from_le_bytes(rest[len..len + 8].try_into().expect("8 bytes"));
    if fnv1a(payload) != stored {
        return Err(StorageError::Checksum);
    }
    let (body, used) = decode_body(payload)?;
    if used != payload.len() {
        return Err(StorageError::PayloadTrailing);
    }
    let h = body.header;
    let geometry = Geometry {
        chips: h.chips,
        tiles_per_chip: h.tiles_per_chip,
        pes_per_tile: h.pes_per_tile,
        crossbars_per_pe: h.crossbars_per_pe,
        rows: h.rows,
        cols: h.cols,
    };
    if [h.chips, h.tiles_per_chip, h.pes_per_tile, h.crossbars_per_pe, h.rows, h.cols].contains(&0) {
        return Err(StorageError::ZeroDimension);
    }
    geometry.check_size(h.chips).map_err(StorageError::Size)?;
    let origin = match h.origin.as_str() {
        "generated" => Origin::Generated(GenParams {
            rate: h.rate,
            sa1_fraction: h.sa1_fraction,
            distribution: Distribution::from_name(&h.distribution)
                .ok_or_else(|| StorageError::UnknownDistribution(h.distribution.clone()))?,
            seed: h.seed,
        }),
        "imported" => Origin::Imported,
        other => return Err(StorageError::UnknownOrigin(other.to_owned())),
    };
    let offsets: Vec<usize> = body.offsets.iter().map(|&o| o as usize).collect();
    let valid = offsets.len() as u64 == h.crossbars + 1
        && offsets.first() == Some(&0)
        && offsets.last() == Some(&body.data.len())
        && offsets.windows(2).all(|w| w[0] < w[1]);
    if !valid {
        return Err(StorageError::RecordIndex);
    }
    let map = FaultMap { geometry, origin, data: body.data, offsets };
    let mut buf = map.buffer();
    for i in 0..map.crossbars() {
        decode_faults(&map.data[map.offsets[i]..map.offsets[i + 1]], &mut buf)
            .map_err(|source| StorageError::Record { crossbar: i, source })?;
    }
    Ok(map)
}

/// Decodes the payload with a limit on the bytes its length prefixes may claim:
/// every decoded element takes at least one payload byte and at most 24 bytes in
/// memory, so a valid payload claims at most 24 × its length (and the memory
/// budget). A corrupt length prefix is refused instead of allocated; bincode
/// takes the limit as a constant, hence the ladder of powers of two.
fn decode_body(payload: &[u8]) -> Result<(FileBody, usize), StorageError> {
    let error = |e| match e {
        bincode::error::DecodeError::LimitExceeded => StorageError::Claim,
        e => StorageError::Payload(e),
    };
    let claim = (payload.len() as u128 * 24).min(u128::from(rramsim_core::budget::max_memory()));
    macro_rules! limited {
        ($($shift:literal),*) => {$(
            if claim <= 1u128 << $shift {
                let config = bincode::config::standard().with_limit::<{ 1usize << $shift }>();
                return bincode::decode_from_slice(payload, config).map_err(error);
            }
        )*};
    }
    limited!(16, 20, 24, 28, 32, 36, 40);
    let config = bincode::config::standard().with_limit::<{ 1usize << 44 }>();
    bincode::decode_from_slice(payload, config).map_err(error)
}

/// Checks that a map was made for `geometry`.
pub fn check_geometry(map: &FaultMap, geometry: &Geometry) -> Result<(), StorageError> {
    let g = &map.geometry;
    let same_chip = (g.tiles_per_chip, g.pes_per_tile, g.crossbars_per_pe, g.rows, g.cols)
        == (geometry.tiles_per_chip, geometry.pes_per_tile, geometry.crossbars_per_pe, geometry.rows, geometry.cols);
    if !same_chip {
        return Err(StorageError::GeometryMismatch { map: *g, arch: *geometry });
    }
    Ok(())
}

/// The CSV list of faulty cells (`tile,pe,crossbar,row,col,type`), one line per
/// faulty cell, with a header.
pub fn to_csv(map: &FaultMap) -> String {
    let mut out = String::from("tile,pe,crossbar,row,col,type\n");
    let mut buf = map.buffer();
    let cols = map.geometry.cols as usize;
    for i in 0..map.crossbars() {
        map.crossbar_into(i, &mut buf).expect("a loaded map decodes");
        let id = map.geometry.id(i);
        buf.for_each_fault(|cell, state| {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                id.tile,
                id.pe,
                id.crossbar,
                cell / cols,
                cell % cols,
                state.name()
            ));
        });
    }
    out
}

/// Parses a CSV list of faulty cells for `geometry`. Errors give the line.
/// The map covers every chip up to the last one named.
pub fn from_csv(text: &str, geometry: Geometry) -> Result<FaultMap, CsvError> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else { return Err(CsvError { line: 1, kind: CsvErrorKind::Empty }) };
    let header: Vec<String> = header.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    if header != ["tile", "pe", "crossbar", "row", "col", "type"] {
        return Err(CsvError { line: 1, kind: CsvErrorKind::Header(header.join(",")) });
    }
    geometry.check_size(geometry.chips).map_err(|e| CsvError { line: 1, kind: CsvErrorKind::Size(e) })?;
    let per_chip = geometry.crossbars_per_chip();
    let mut lists: Vec<Vec<(u32, bool)>> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let err = |kind| CsvError { line: n, kind };
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 6 {
            return Err(err(CsvErrorKind::FieldCount(fields.len())));
        }
        let num = |k: usize, field: &'static str, limit: u64| -> Result<u32, CsvError> {
            let v: u64 =
                fields[k].parse().map_err(|_| err(CsvErrorKind::NotInteger { field, value: fields[k].to_owned() }))?;
            if v >= limit {
                return Err(err(CsvErrorKind::OutOfRange { field, value: v, limit }));
            }
            Ok(v as u32)
        };
        let tile = num(0, "tile", u64::from(geometry.tiles_per_chip) * u64::from(geometry.chips))?;
        let pe = num(1, "pe", u64::from(geometry.pes_per_tile))?;
        let crossbar = num(2, "crossbar", u64::from(geometry.crossbars_per_pe))?;
        let row = num(3, "row", u64::from(geometry.rows))?;
        let col = num(4, "col", u64::from(geometry.cols))?;
        let sa1 = match fields[5].to_ascii_uppercase().as_str() {
            "SA0" => false,
            "SA1" => true,
            other => return Err(err(CsvErrorKind::Type(other.to_owned()))),
        };
        let index = geometry.index(crate::map::CrossbarId { tile, pe, crossbar });
        let needed = (index / per_chip + 1) * per_chip;
        if lists.len() < needed {
            lists.resize(needed, Vec::new());
        }
        let cell = row * geometry.cols + col;
        if lists[index].iter().any(|&(c, _)| c == cell) {
            return Err(err(CsvErrorKind::Duplicate { row, col, tile, pe, crossbar }));
        }
        lists[index].push((cell, sa1));
    }
    if lists.is_empty() {
        lists.resize(per_chip, Vec::new());
    }
    for l in &mut lists {
        l.sort_unstable();
    }
    Ok(FaultMap::from_lists(geometry, Origin::Imported, &lists))
}

/// Every cell's state of one crossbar, for tests and small dumps.
pub fn crossbar_states(map: &FaultMap, index: usize) -> Result<Vec<CellState>, FaultError> {
    let mut buf = map.buffer();
    map.crossbar_into(index, &mut buf)?;
    let mut out = Vec::with_capacity(map.geometry.cells_per_crossbar());
    for r in 0..map.geometry.rows {
        for c in 0..map.geometry.cols {
            out.push(buf.get(r, c));
        }
    }
    Ok(out)
}
