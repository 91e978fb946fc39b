//! Hardware cost of fault-aware remapping (`rramsim_fault::remap`).
//!
//! A remapped crossbar needs, besides its spare cells (already in the
//! crossbar's area and read energy, see [`crate::CrossbarParams`]):
//! - a **row index table**: for each logical row, the physical row it drives,
//!   `rows · ceil(log2(rows + spare_rows))` bits, read once per input-vector
//!   fill: each arriving input is written to the input-register entry of the
//!   physical row it drives, and the DAC stage then reads the register in
//!   physical order, step after step, without further lookups;
//! - with column remapping, a **column index table**: `cols ·
//!   ceil(log2(cols + spare_cols))` bits, read once per ADC conversion by the
//!   shift-and-add to find the column's output and significance.
//!
//! Estimate (stated, not fitted): the tables are register files like the PE's
//! input register, so their area is priced at ISAAC's input-register density
//! (Shafiee et al., ISCA 2016, Table I: 2 KB in 0.0021 mm² at 32 nm, not
//! node-scaled) and a table byte read at the architecture's
//! `input_register_byte` energy. The lookup overlaps the input-register fill
//! and the conversion it serves, so no extra cycles are modelled.

use crate::energy::{Action, ActionCounts};
use crate::params::ArchParams;

/// mm² per byte of index table: ISAAC Table I input register, 0.0021 mm² / 2048 B.
pub const INDEX_TABLE_MM2_PER_BYTE: f64 = 0.0021 / 2048.0;

/// Bits to name one of `n` rows or columns.
fn index_bits(n: u32) -> u32 {
    (u32::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// The per-crossbar hardware of a remap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemapHardware {
    pub row_index_bits: u32,
    /// 0 without column remapping.
    pub col_index_bits: u32,
    /// Index-table bytes per crossbar.
    pub table_bytes: u64,
    pub table_area_mm2: f64,
    /// Spare cells per crossbar and their share of the crossbar's area.
    pub spare_cells: u64,
    pub spare_area_mm2: f64,
}

impl RemapHardware {
    /// `cols`: column remapping too. `None` without remapping.
    pub fn of(arch: &ArchParams, rows: bool, cols: bool) -> Option<Self> {
        if !rows && !cols {
            return None;
        }
        let x = &arch.crossbar;
        let row_index_bits = if rows { index_bits(x.physical_rows()) } else { 0 };
        let col_index_bits = if cols { index_bits(x.physical_cols()) } else { 0 };
        let bits = u64::from(x.rows) * u64::from(row_index_bits) + u64::from(x.cols) * u64::from(col_index_bits);
        let table_bytes = bits.div_ceil(8);
        let spare_cells = x.physical_cells() - u64::from(x.rows) * u64::from(x.cols);
        Some(Self {
            row_index_bits,
            col_index_bits,
            table_bytes,
            table_area_mm2: table_bytes as f64 * INDEX_TABLE_MM2_PER_BYTE,
            spare_cells,
            spare_area_mm2: arch.area.crossbar.0 * spare_cells as f64 / x.physical_cells() as f64,
        })
    }

    /// Energy of the table reads of a run with these action counts: per
    /// input-register byte written (`8 / activation_bits` inputs, one lookup
    /// each) `row_index_bits / activation_bits` bytes of row index, per ADC
    /// conversion `col_index_bits / 8` bytes.
    pub fn energy_pj(&self, arch: &ArchParams, counts: &ActionCounts) -> f64 {
        let per_byte = arch.energy[Action::InputRegisterByte].0;
        let row = counts[Action::InputRegisterByte] as f64 * f64::from(self.row_index_bits)
            / f64::from(arch.activation_bits.max(1));
        let col = counts[Action::AdcConversion] as f64 * f64::from(self.col_index_bits) / 8.0;
        (row + col) * per_byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ISAAC with 8 spare rows: one 128-input vector of 16-bit inputs fills
    /// 256 input-register bytes and takes 128 lookups of 8 bits (128 B of row
    /// table), however many DAC steps read it; a conversion reads one 8-bit
    /// column index.
    #[test]
    fn table_reads_by_hand() {
        let (mut arch, _) = crate::load_arch_toml("isaac", crate::preset("isaac").expect("preset")).expect("valid");
        arch.crossbar.spare_rows = 8;
        arch.crossbar.spare_cols = 8;
        let hw = RemapHardware::of(&arch, true, true).expect("remapped");
        assert_eq!((hw.row_index_bits, hw.col_index_bits, hw.table_bytes), (8, 8, 256));
        let mut counts = ActionCounts::default();
        counts[Action::InputRegisterByte] = 256;
        counts[Action::AdcConversion] = 10;
        let per_byte = arch.energy[Action::InputRegisterByte].0;
        assert!((hw.energy_pj(&arch, &counts) - (128.0 + 10.0) * per_byte).abs() < 1e-12);
    }

    #[test]
    fn index_bits_by_hand() {
        assert_eq!([1, 2, 3, 128, 129, 136, 256].map(index_bits), [1, 1, 2, 7, 8, 8, 8]);
    }
}
