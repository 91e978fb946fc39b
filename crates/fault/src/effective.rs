//! Weight encoding and the effective weights a faulty crossbar holds.
//!
//! A weight is quantized symmetrically per layer to `b`-bit integers
//! `q = round(w / s)`, `s = max|w| / (2^(b−1) − 1)`, then sliced over
//! `n = ceil(b / c)` cells of `c` bits, least significant slice first:
//! - differential: `max(q, 0)` in the G+ cells (columns `0..n`), `max(−q, 0)` in the
//!   G− cells (columns `n..2n`); the weight is G+ − G−;
//! - offset: `u = q + 2^(b−1)` in `n` cells; the weight is `u − 2^(b−1)`, the offset
//!   read from an offset column set (`offset-column`, whose cells can fail too and
//!   then shift every weight of their row) or exact (`offset-digital`).
//!
//! A faulty cell reads level 0 (SA0) or `2^c − 1` (SA1) instead of its slice, which
//! changes the weight by `(level' − level) · 2^(c·j)` (negated in G−). In the
//! weight-level model of the drop-connect study (`WeightZero`) a weight with any
//! faulty cell contributes zero.
//!
//! Faults in cells that hold no weight (unused rows receive zero input, unused
//! columns are not read) change nothing. In block-diagonally packed crossbars an
//! SA1 cell outside a group's block would couple two groups; it is counted as an
//! off-block fault and not reflected in the effective weights.

use rramsim_hw::{ArchParams, SignedEncoding};
use rramsim_map::{CrossbarLayout, ReplicaPlacement};

use crate::error::FaultError;
use crate::map::{CellState, FaultMap, XbarFaults};
use crate::remap::{ReplicaRemap, logical};

/// How faults act on weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultModel {
    /// Stuck cells read their stuck level (this module's encoding).
    Cell,
    /// A weight with any faulty cell contributes zero (the drop-connect study).
    WeightZero,
}

impl FaultModel {
    pub fn name(self) -> &'static str {
        match self {
            FaultModel::Cell => "cell",
            FaultModel::WeightZero => "weight-zero",
        }
    }
}

/// The encoding parameters of an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightCodec {
    pub weight_bits: u32,
    pub cell_bits: u32,
    pub slices: u32,
    pub encoding: SignedEncoding,
    pub columns_per_weight: u32,
    pub weights_per_row: u32,
    pub usable_columns: u32,
    /// Logical rows and columns of a crossbar (spare rows and columns excluded).
    pub rows: u32,
    pub cols: u32,
    pub crossbars_per_pe: u32,
}

impl WeightCodec {
    pub fn new(arch: &ArchParams) -> Self {
        Self {
            weight_bits: arch.weight_bits,
            cell_bits: arch.crossbar.bits_per_cell,
            slices: arch.slices_per_weight(),
            encoding: arch.encoding,
            columns_per_weight: arch.columns_per_weight(),
            weights_per_row: arch.weights_per_crossbar_row(),
            usable_columns: arch.usable_columns(),
            rows: arch.crossbar.rows,
            cols: arch.crossbar.cols,
            crossbars_per_pe: arch.pe.crossbars,
        }
    }

    fn mask(&self) -> i64 {
        (1i64 << self.cell_bits) - 1
    }

    fn offset(&self) -> i64 {
        1i64 << (self.weight_bits - 1)
    }

    /// The change of weight `q` when weight column `s` (0-based within the
    /// weight's columns) reads `state` instead of its level.
    pub fn cell_delta(&self, q: i32, s: u32, state: CellState) -> i64 {
        let (level, slice, sign) = self.cell(q, s);
        let c = self.cell_bits;
        let faulty = match state {
            CellState::Ok => level,
            CellState::Sa0 => 0,
            CellState::Sa1 => self.mask(),
        };
        sign * ((faulty - level) << (c * slice))
    }

    /// The level weight `q` stores in its weight column `s`, that column's
    /// slice (`0` least significant) and its sign (−1 for G− columns).
    pub fn cell(&self, q: i32, s: u32) -> (i64, u32, i64) {
        let c = self.cell_bits;
        let q = i64::from(q);
        let (stored, slice, sign) = match self.encoding {
            SignedEncoding::Differential if s < self.slices => (q.max(0), s, 1),
            SignedEncoding::Differential => ((-q).max(0), s - self.slices, -1),
            SignedEncoding::OffsetColumn | SignedEncoding::OffsetDigital => (q + self.offset(), s, 1),
        };
        ((stored >> (c * slice)) & self.mask(), slice, sign)
    }

    /// The change of every weight in a row when offset-column cell `j` reads
    /// `state` (the read offset grows, so weights shrink).
    pub fn offset_delta(&self, j: u32, state: CellState) -> i64 {
        let c = self.cell_bits;
        let level = (self.offset() >> (c * j)) & self.mask();
        let faulty = match state {
            CellState::Ok => level,
            CellState::Sa0 => 0,
            CellState::Sa1 => self.mask(),
        };
        -((faulty - level) << (c * j))
    }
}

/// Symmetric per-layer quantization to `bits`: returns the integers and the scale.
pub fn quantize(weights: &[f32], bits: u32) -> (Vec<i32>, f32) {
    let q_max = ((1i64 << (bits - 1)) - 1) as f32;
    let max = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    if max == 0.0 {
        return (vec![0; weights.len()], 1.0);
    }
    // w · q_max / max (not w / scale) keeps exact halves exact before rounding.
    let q = weights.iter().map(|w| (w * q_max / max).round().clamp(-q_max, q_max) as i32).collect();
    (q, max / q_max)
}

/// Fault counts met while computing one replica's effective weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultTally {
    /// Faulty cells that hold a weight slice or an offset.
    pub used_faulty_cells: u64,
    pub sa0: u64,
    pub sa1: u64,
    /// Faulty cells in the replica's crossbars that hold nothing.
    pub unused_faulty_cells: u64,
    /// SA1 cells off the diagonal blocks of packed crossbars (not modelled).
    pub off_block_faults: u64,
}

/// Where a crossbar cell's content comes from.
pub(crate) enum Slot {
    /// Weight `index` (layout order `[group][output][row]`), weight column `s`.
    Weight {
        index: usize,
        s: u32,
    },
    /// Offset-column cell `j` of crossbar row `row`.
    Offset {
        row: u32,
        j: u32,
    },
    /// An off-diagonal cell of a packed crossbar.
    OffBlock,
    Unused,
}

pub(crate) fn slot(codec: &WeightCodec, layout: &CrossbarLayout, x: u32, r: u32, c: u32) -> Slot {
    let (k_rows, n_out) = (layout.rows_per_group, layout.outputs_per_group);
    if c >= codec.usable_columns {
        return Slot::Offset { row: r, j: c - codec.usable_columns };
    }
    let (wcol, s) = (c / codec.columns_per_weight, c % codec.columns_per_weight);
    if layout.groups_per_crossbar > 1 {
        let (i_r, k) = (r / k_rows, r % k_rows);
        let (i_c, n) = (wcol / n_out, wcol % n_out);
        let g = x * layout.groups_per_crossbar + i_r;
        if i_r >= layout.groups_per_crossbar || g >= layout.groups {
            return Slot::Unused;
        }
        if i_c >= layout.groups_per_crossbar || x * layout.groups_per_crossbar + i_c >= layout.groups {
            return Slot::Unused;
        }
        if i_r != i_c {
            return Slot::OffBlock;
        }
        let index = ((g * n_out + n) * k_rows + k) as usize;
        return Slot::Weight { index, s };
    }
    let per_group = layout.row_tiles * layout.col_tiles;
    let (g, rem) = (x / per_group, x % per_group);
    let (rt, ct) = (rem / layout.col_tiles, rem % layout.col_tiles);
    let k = rt * codec.rows + r;
    let n = ct * codec.weights_per_row + wcol;
    if k >= k_rows || wcol >= codec.weights_per_row || n >= n_out {
        return Slot::Unused;
    }
    Slot::Weight { index: ((g * n_out + n) * k_rows + k) as usize, s }
}

/// Computes the effective quantized weights of one layer replica into `out`
/// (resized to `q.len()`), reusing `buf` for decoding; no other allocation.
///
/// `q` is in PyTorch order, `[C_out][C_in/groups][kh][kw]` (or `[out][in]`), which
/// is `[group][output][row]` of the layout.
#[allow(clippy::too_many_arguments)]
pub fn effective_weights(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    replica: &ReplicaPlacement,
    map: &FaultMap,
    model: FaultModel,
    q: &[i32],
    buf: &mut XbarFaults,
    out: &mut Vec<i32>,
) -> Result<FaultTally, FaultError> {
    effective_weights_remapped(codec, layout, replica, map, model, None, q, buf, out)
}

/// [`effective_weights`] under a fault-aware placement (`None`: identity; see
/// [`crate::remap`]). Faults in spare or unassigned rows and columns change nothing.
#[allow(clippy::too_many_arguments)]
pub fn effective_weights_remapped(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    replica: &ReplicaPlacement,
    map: &FaultMap,
    model: FaultModel,
    remap: Option<&ReplicaRemap>,
    q: &[i32],
    buf: &mut XbarFaults,
    out: &mut Vec<i32>,
) -> Result<FaultTally, FaultError> {
    out.clear();
    out.extend_from_slice(q);
    let mut tally = FaultTally::default();
    let first = replica.first_crossbar as usize;
    for x in 0..layout.crossbars {
        map.crossbar_into(first + x as usize, buf)?;
        let cols = buf.cols;
        let perm = remap.map(|m| &m.xbars[x as usize]);
        buf.for_each_fault(|cell, state| {
            let Some((r, c)) = logical(codec, perm, cell as u32 / cols, cell as u32 % cols) else {
                tally.unused_faulty_cells += 1;
                return;
            };
            match slot(codec, layout, x, r, c) {
                Slot::Weight { index, s } => {
                    tally.used_faulty_cells += 1;
                    match state {
                        CellState::Sa0 => tally.sa0 += 1,
                        CellState::Sa1 => tally.sa1 += 1,
                        CellState::Ok => {}
                    }
                    match model {
                        FaultModel::WeightZero => out[index] = 0,
                        FaultModel::Cell => {
                            // Deltas are computed from the ideal value, so several
                            // faults of one weight add up. Stuck-high cells may push
                            // a weight past its nominal range, as they do in hardware.
                            let v = i64::from(out[index]) + codec.cell_delta(q[index], s, state);
                            out[index] = v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                        }
                    }
                }
                Slot::Offset { row, j } => {
                    tally.used_faulty_cells += 1;
                    match state {
                        CellState::Sa0 => tally.sa0 += 1,
                        CellState::Sa1 => tally.sa1 += 1,
                        CellState::Ok => {}
                    }
                    if model == FaultModel::Cell && codec.encoding == SignedEncoding::OffsetColumn {
                        // The offset is subtracted from every output of the row.
                        let d = codec.offset_delta(j, state);
                        for wcol in 0..codec.weights_per_row {
                            if let Slot::Weight { index, .. } =
                                slot(codec, layout, x, row, wcol * codec.columns_per_weight)
                            {
                                out[index] = (i64::from(out[index]) + d) as i32;
                            }
                        }
                    }
                }
                Slot::OffBlock => {
                    if state == CellState::Sa1 {
                        tally.off_block_faults += 1;
                    } else {
                        tally.unused_faulty_cells += 1;
                    }
                }
                Slot::Unused => tally.unused_faulty_cells += 1,
            }
        });
    }
    Ok(tally)
}

/// Where weight `index` (layout order `[group][output][row]`), weight column
/// `s`, sits in a replica: its crossbar, and the row and column within it.
pub fn weight_cell(codec: &WeightCodec, layout: &CrossbarLayout, index: usize, s: u32) -> (u32, u32, u32) {
    let (k_rows, n_out) = (layout.rows_per_group as usize, layout.outputs_per_group as usize);
    let (g, n, k) = (index / (n_out * k_rows), (index / k_rows) % n_out, index % k_rows);
    let (g, n, k) = (g as u32, n as u32, k as u32);
    if layout.groups_per_crossbar > 1 {
        let (x, i) = (g / layout.groups_per_crossbar, g % layout.groups_per_crossbar);
        let r = i * layout.rows_per_group + k;
        return (x, r, (i * layout.outputs_per_group + n) * codec.columns_per_weight + s);
    }
    let (rt, r) = (k / codec.rows, k % codec.rows);
    let (ct, wcol) = (n / codec.weights_per_row, n % codec.weights_per_row);
    let x = g * layout.row_tiles * layout.col_tiles + rt * layout.col_tiles + ct;
    (x, r, wcol * codec.columns_per_weight + s)
}

/// Marks a stuck cell in [`cell_levels`]' output (its level in the low bits).
pub const STUCK_CELL: u16 = 0x8000;

/// The level every weight cell of one replica reads, faults included (`None`:
/// fault-free): `levels[index · columns_per_weight + s]` for weight `index`
/// (layout order) and weight column `s`. A stuck cell reads 0 (SA0) or
/// `2^c − 1` (SA1), marked with [`STUCK_CELL`]; in the weight-zero model a
/// weight with a stuck cell stores the encoding of 0. Offset-column cells are
/// not included.
pub fn cell_levels(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    replica: &ReplicaPlacement,
    faults: Option<(&FaultMap, FaultModel)>,
    q: &[i32],
    buf: &mut XbarFaults,
    levels: &mut Vec<u16>,
) -> Result<(), FaultError> {
    cell_levels_remapped(codec, layout, replica, faults, None, q, buf, levels)
}

/// [`cell_levels`] under a fault-aware placement (`None`: identity).
#[allow(clippy::too_many_arguments)]
pub fn cell_levels_remapped(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    replica: &ReplicaPlacement,
    faults: Option<(&FaultMap, FaultModel)>,
    remap: Option<&ReplicaRemap>,
    q: &[i32],
    buf: &mut XbarFaults,
    levels: &mut Vec<u16>,
) -> Result<(), FaultError> {
    let cpw = codec.columns_per_weight as usize;
    levels.clear();
    for &v in q {
        levels.extend((0..codec.columns_per_weight).map(|s| codec.cell(v, s).0 as u16));
    }
    let Some((map, model)) = faults else { return Ok(()) };
    let first = replica.first_crossbar as usize;
    let mask = ((1u32 << codec.cell_bits) - 1) as u16;
    for x in 0..layout.crossbars {
        map.crossbar_into(first + x as usize, buf)?;
        let cols = buf.cols;
        let perm = remap.map(|m| &m.xbars[x as usize]);
        buf.for_each_fault(|cell, state| {
            let Some((r, c)) = logical(codec, perm, cell as u32 / cols, cell as u32 % cols) else { return };
            if let Slot::Weight { index, s } = slot(codec, layout, x, r, c) {
                match model {
                    FaultModel::WeightZero => {
                        for (j, l) in levels[index * cpw..(index + 1) * cpw].iter_mut().enumerate() {
                            *l = codec.cell(0, j as u32).0 as u16;
                        }
                    }
                    FaultModel::Cell => {
                        levels[index * cpw + s as usize] = STUCK_CELL | if state == CellState::Sa1 { mask } else { 0 };
                    }
                }
            }
        });
    }
    Ok(())
}
