//! Fault maps: per crossbar, each cell OK, SA0 or SA1.
//!
//! Convention (stated in every output that shows faults): **SA0** = stuck at the
//! lowest conductance (HRS): the cell reads as level 0. **SA1** = stuck at the
//! highest conductance (LRS): the cell reads as the top level `2^c − 1`.
//!
//! In memory a map keeps each crossbar in its compact encoded form (see
//! [`Encoding`]) with an index, and decodes one crossbar at a time into a
//! reusable [`XbarFaults`] (two bit planes), so loading is a copy and the
//! effective-weight path allocates nothing per crossbar.

use rramsim_core::codec::push_leb128;
use rramsim_hw::ArchParams;

use crate::error::{FaultError, RecordError};

/// The state of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellState {
    Ok,
    /// Stuck at the lowest conductance (HRS): reads as level 0.
    Sa0,
    /// Stuck at the highest conductance (LRS): reads as the top level.
    Sa1,
}

impl CellState {
    pub fn name(self) -> &'static str {
        match self {
            CellState::Ok => "OK",
            CellState::Sa0 => "SA0",
            CellState::Sa1 => "SA1",
        }
    }
}

/// The fault convention, for outputs.
pub const CONVENTION: &str = "SA0 = stuck at the lowest conductance (HRS), reads as level 0; SA1 = stuck at the highest conductance (LRS), reads as the top level";

/// The crossbar geometry of a node, as a fault map records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub chips: u32,
    pub tiles_per_chip: u32,
    pub pes_per_tile: u32,
    pub crossbars_per_pe: u32,
    pub rows: u32,
    pub cols: u32,
}

/// One crossbar: its tile (numbered across chips), its PE in the tile, and its
/// index in the PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrossbarId {
    pub tile: u32,
    pub pe: u32,
    pub crossbar: u32,
}

impl Geometry {
    pub fn of(arch: &ArchParams) -> Self {
        Self {
            chips: arch.node.chips,
            tiles_per_chip: arch.tiles_per_chip,
            pes_per_tile: arch.tile.pes,
            crossbars_per_pe: arch.pe.crossbars,
            rows: arch.crossbar.physical_rows(),
            cols: arch.crossbar.physical_cols(),
        }
    }

    /// Checks the sizes a map of `chips` chips of this geometry needs: a cell
    /// index (`row · cols + col`) fits the `u32` the records store, and the
    /// per-crossbar lists and the decode buffer fit the memory budget. Geometries
    /// come from architecture files and map headers, so this is checked before
    /// anything is allocated from them.
    pub fn check_size(&self, chips: u32) -> Result<(), String> {
        let cells = u64::from(self.rows) * u64::from(self.cols);
        if cells > u64::from(u32::MAX) {
            return Err(format!(
                "a crossbar of {}x{} has {cells} cells; fault maps index at most 2^32 - 1 cells per crossbar",
                self.rows, self.cols
            ));
        }
        let crossbars = u128::from(chips)
            * u128::from(self.tiles_per_chip)
            * u128::from(self.pes_per_tile)
            * u128::from(self.crossbars_per_pe);
        // Per crossbar: its list, offset and record (at least 3 words); two
        // bit-planes of the decode buffer.
        let bytes = crossbars * 24 + u128::from(cells.div_ceil(64)) * 16;
        rramsim_core::budget::check(
            format_args!("a fault map of {crossbars} crossbars of {}x{}", self.rows, self.cols),
            bytes,
            1,
        )
        .map_err(|e| e.to_string())
    }

    pub fn cells_per_crossbar(&self) -> usize {
        self.rows as usize * self.cols as usize
    }

    pub fn crossbars_per_chip(&self) -> usize {
        self.tiles_per_chip as usize * self.pes_per_tile as usize * self.crossbars_per_pe as usize
    }

    /// Global index of a crossbar (tile-major, then PE, then crossbar).
    pub fn index(&self, id: CrossbarId) -> usize {
        (id.tile as usize * self.pes_per_tile as usize + id.pe as usize) * self.crossbars_per_pe as usize
            + id.crossbar as usize
    }

    pub fn id(&self, index: usize) -> CrossbarId {
        let per_pe = self.crossbars_per_pe as usize;
        let pe_global = index / per_pe;
        CrossbarId {
            tile: (pe_global / self.pes_per_tile as usize) as u32,
            pe: (pe_global % self.pes_per_tile as usize) as u32,
            crossbar: (index % per_pe) as u32,
        }
    }
}

/// One crossbar's faults as two bit planes (bit `r · cols + c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XbarFaults {
    pub rows: u32,
    pub cols: u32,
    sa0: Vec<u64>,
    sa1: Vec<u64>,
}

impl XbarFaults {
    pub fn new(rows: u32, cols: u32) -> Self {
        let words = (rows as usize * cols as usize).div_ceil(64);
        Self { rows, cols, sa0: vec![0; words], sa1: vec![0; words] }
    }

    pub fn clear(&mut self) {
        self.sa0.fill(0);
        self.sa1.fill(0);
    }

    pub fn set(&mut self, cell: usize, state: CellState) {
        let (w, b) = (cell / 64, 1u64 << (cell % 64));
        self.sa0[w] &= !b;
        self.sa1[w] &= !b;
        match state {
            CellState::Ok => {}
            CellState::Sa0 => self.sa0[w] |= b,
            CellState::Sa1 => self.sa1[w] |= b,
        }
    }

    pub fn get(&self, row: u32, col: u32) -> CellState {
        let cell = row as usize * self.cols as usize + col as usize;
        let (w, b) = (cell / 64, 1u64 << (cell % 64));
        if self.sa0[w] & b != 0 {
            CellState::Sa0
        } else if self.sa1[w] & b != 0 {
            CellState::Sa1
        } else {
            CellState::Ok
        }
    }

    pub fn count(&self) -> (u64, u64) {
        let ones = |v: &[u64]| v.iter().map(|w| u64::from(w.count_ones())).sum();
        (ones(&self.sa0), ones(&self.sa1))
    }

    /// Calls `f(cell, state)` for every faulty cell in cell order.
    pub fn for_each_fault(&self, mut f: impl FnMut(usize, CellState)) {
        for (w, (&a, &b)) in self.sa0.iter().zip(&self.sa1).enumerate() {
            let mut bits = a | b;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let state = if a >> bit & 1 == 1 { CellState::Sa0 } else { CellState::Sa1 };
                f(w * 64 + bit, state);
            }
        }
    }
}

/// How one crossbar's faults are stored: whichever is smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// LEB128 varints of `(gap to the previous fault) << 1 | is_sa1`: about one
    /// byte per fault at rates above ~1 %, two below.
    Sparse = 0,
    /// Two bits per cell (00 OK, 01 SA0, 10 SA1), four cells per byte.
    Dense = 1,
}

/// Appends the encoded form of a sorted fault list (cell, is_sa1) to `out`:
/// one tag byte, then the payload.
pub(crate) fn encode_faults(faults: &[(u32, bool)], cells: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(Encoding::Sparse as u8);
    let mut prev: i64 = -1;
    for &(cell, sa1) in faults {
        let gap = (i64::from(cell) - prev - 1) as u64;
        push_leb128(out, gap << 1 | u64::from(sa1));
        prev = i64::from(cell);
    }
    let dense_len = cells.div_ceil(4);
    if out.len() - start - 1 > dense_len {
        out.truncate(start);
        out.push(Encoding::Dense as u8);
        let base = out.len();
        out.resize(base + dense_len, 0);
        for &(cell, sa1) in faults {
            let code: u8 = if sa1 { 2 } else { 1 };
            out[base + cell as usize / 4] |= code << (2 * (cell % 4));
        }
    }
}

/// Decodes one crossbar's record into `into` (cleared first).
pub(crate) fn decode_faults(record: &[u8], into: &mut XbarFaults) -> Result<(), RecordError> {
    into.clear();
    let cells = into.rows as usize * into.cols as usize;
    let (&tag, payload) = record.split_first().ok_or(RecordError::Empty)?;
    match tag {
        t if t == Encoding::Sparse as u8 => {
            let mut cell: i64 = -1;
            let mut i = 0;
            while i < payload.len() {
                let mut v: u64 = 0;
                let mut shift = 0;
                loop {
                    let byte = *payload.get(i).ok_or(RecordError::TruncatedVarint)?;
                    i += 1;
                    if shift >= 64 {
                        return Err(RecordError::VarintTooLong);
                    }
                    v |= u64::from(byte & 0x7f) << shift;
                    shift += 7;
                    if byte & 0x80 == 0 {
                        break;
                    }
                }
                cell += (v >> 1) as i64 + 1;
                if cell as usize >= cells {
                    return Err(RecordError::CellBeyond { cell, cells });
                }
                into.set(cell as usize, if v & 1 == 1 { CellState::Sa1 } else { CellState::Sa0 });
            }
            Ok(())
        }
        t if t == Encoding::Dense as u8 => {
            if payload.len() != cells.div_ceil(4) {
                return Err(RecordError::DenseLength { len: payload.len(), expected: cells.div_ceil(4) });
            }
            for (i, &byte) in payload.iter().enumerate() {
                if byte == 0 {
                    continue;
                }
                for j in 0..4 {
                    let cell = i * 4 + j;
                    match byte >> (2 * j) & 3 {
                        0 => {}
                        1 if cell < cells => into.set(cell, CellState::Sa0),
                        2 if cell < cells => into.set(cell, CellState::Sa1),
                        code => return Err(RecordError::CellCode { code, cell }),
                    }
                }
            }
            Ok(())
        }
        other => Err(RecordError::UnknownTag(other)),
    }
}

/// How a map came to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Generated(crate::generate::GenParams),
    /// Imported from a list of faulty cells (e.g. measured on a chip).
    Imported,
}

/// Fault maps of the first `crossbars` crossbars of a node (all of the covered
/// chips), each stored encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMap {
    pub geometry: Geometry,
    pub origin: Origin,
    /// Encoded records, back to back.
    pub(crate) data: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is crossbar `i`'s record.
    pub(crate) offsets: Vec<usize>,
}

impl FaultMap {
    /// Builds a map from per-crossbar sorted fault lists.
    pub fn from_lists(geometry: Geometry, origin: Origin, lists: &[Vec<(u32, bool)>]) -> Self {
        let mut data = Vec::new();
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0);
        for l in lists {
            encode_faults(l, geometry.cells_per_crossbar(), &mut data);
            offsets.push(data.len());
        }
        Self { geometry, origin, data, offsets }
    }

    /// Crossbars the map covers.
    pub fn crossbars(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Chips the map covers.
    pub fn chips(&self) -> usize {
        self.crossbars() / self.geometry.crossbars_per_chip().max(1)
    }

    /// Decodes crossbar `index` into `into` (which must have the map's geometry).
    pub fn crossbar_into(&self, index: usize, into: &mut XbarFaults) -> Result<(), FaultError> {
        if index >= self.crossbars() {
            return Err(FaultError::OutsideMap { index, crossbars: self.crossbars(), chips: self.chips() });
        }
        Ok(decode_faults(&self.data[self.offsets[index]..self.offsets[index + 1]], into)?)
    }

    /// A fresh decoding buffer of the map's geometry.
    pub fn buffer(&self) -> XbarFaults {
        XbarFaults::new(self.geometry.rows, self.geometry.cols)
    }

    /// Bytes of encoded fault data.
    pub fn encoded_bytes(&self) -> usize {
        self.data.len()
    }

    /// How many crossbars use each encoding: (sparse, dense).
    pub fn encodings(&self) -> (usize, usize) {
        let dense = self.offsets[..self.crossbars()].iter().filter(|&&o| self.data[o] == Encoding::Dense as u8).count();
        (self.crossbars() - dense, dense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_round_trip() {
        let cells = 16 * 16;
        for faults in [vec![], vec![(0, false), (5, true), (255, false)], (0..200).map(|c| (c, c % 3 == 0)).collect()] {
            let mut out = Vec::new();
            encode_faults(&faults, cells, &mut out);
            let expect_dense = faults.len() > 64;
            assert_eq!(out[0] == Encoding::Dense as u8, expect_dense, "{} faults", faults.len());
            let mut x = XbarFaults::new(16, 16);
            decode_faults(&out, &mut x).unwrap();
            let mut back = Vec::new();
            x.for_each_fault(|c, s| back.push((c as u32, s == CellState::Sa1)));
            assert_eq!(back, faults);
        }
    }

    #[test]
    fn corrupt_records_are_errors() {
        let mut x = XbarFaults::new(4, 4);
        assert_eq!(decode_faults(&[], &mut x), Err(RecordError::Empty));
        assert_eq!(decode_faults(&[7], &mut x), Err(RecordError::UnknownTag(7)));
        assert_eq!(decode_faults(&[0, 0x80], &mut x), Err(RecordError::TruncatedVarint));
        assert_eq!(decode_faults(&[0, 40], &mut x), Err(RecordError::CellBeyond { cell: 20, cells: 16 }));
        assert_eq!(decode_faults(&[1, 0, 0], &mut x), Err(RecordError::DenseLength { len: 2, expected: 4 }));
        assert_eq!(decode_faults(&[1, 3, 0, 0, 0], &mut x), Err(RecordError::CellCode { code: 3, cell: 0 }));
    }

    #[test]
    fn geometry_indices_round_trip() {
        let g = Geometry { chips: 2, tiles_per_chip: 3, pes_per_tile: 4, crossbars_per_pe: 5, rows: 8, cols: 8 };
        for i in 0..(2 * 3 * 4 * 5) {
            assert_eq!(g.index(g.id(i)), i);
        }
        assert_eq!(g.id(23), CrossbarId { tile: 1, pe: 0, crossbar: 3 });
    }
}
