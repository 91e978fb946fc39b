//! Component cost models with a calibration point.
//!
//! An architecture file gives each component's energy, area and timing as
//! sourced figures, and (in its `[calibration]` table) the parameters those
//! figures were published at. A design whose parameters differ from the
//! calibration point gets the sourced figure times the ratio `law(design) /
//! law(calibration)`, so at the calibration point every figure is exactly the
//! sourced one and away from it the cited scaling law takes over. The laws are
//! listed, with their sources, in `arch-configs/README.md`:
//!
//! * ADC, SAR: energy per conversion `∝ 2^b + 4^b / 2^10`: the Walden figure of
//!   merit (energy ∝ 2^ENOB) bounds the low-resolution designs of Murmann's ADC
//!   Performance Survey 1997–2024, the thermal-noise (Schreier FOM) limit
//!   (energy ∝ 4^ENOB) the designs above ≈ 10 bits, where the two envelopes
//!   cross. Area `∝ 2^b` (the binary-weighted capacitor DAC of 2^b unit
//!   capacitors dominates), conversion time `∝ b` (one bit decided per
//!   comparator cycle).
//! * ADC, flash: `2^b − 1` comparators fire per conversion and take area, so
//!   energy and area `∝ 2^b − 1`; conversion time does not depend on bits.
//! * DAC: `2^b − 1` unit elements (unary current-steering / resistor ladder),
//!   energy and area `∝ 2^b − 1`.
//! * Sample-and-hold: the hold capacitor must keep kT/C noise below half an
//!   ADC LSB, `C ∝ 4^b` of the ADC bits, so energy and area `∝ 4^b`.
//! * Crossbar read: `E = V² · Ḡ · t · rows_driven · cols`, with `Ḡ` the mean
//!   cell conductance over `2^c` levels evenly spaced in conductance between
//!   `1/r_off` and `1/r_on` (every input row active; the engine counts reads
//!   of the rows a layer drives). Area `∝ rows · cols · F²` (a 4F² 1R cell at
//!   feature size F = node). The read latency is the pulse width as given: a
//!   bit line's first-order RC delay (`0.38 · R_wire · C_wire · rows²`, ps for
//!   rows ≤ 1024 at these nodes) stays far below it.
//! * Shift-and-add: an accumulator of `adc_bits + activation_bits` bits:
//!   energy and area `∝` that width (ripple-carry adder, Horowitz ISSCC 2014:
//!   add energy linear in width).
//! * Tile adder and ALU: energy per op `∝ activation_bits` (same law), area
//!   `∝ lanes · activation_bits`.
//! * Buffers and SRAM: energy per byte `∝ √capacity` (bit- and word-line length
//!   grow with the side of the array: the CACTI trend, which fits Horowitz ISSCC
//!   2014's 64-bit reads of 8 KB / 32 KB / 1 MB SRAMs at 10 / 20 / 100 pJ within
//!   15 %); area and leakage `∝ capacity`.
//! * Router and links: energy per flit-hop `∝ flit width` (link wires and
//!   buffers), router area `∝ flit width²` (the matrix crossbar of Orion 2.0,
//!   Kahng et al. DATE 2009).
//! * Technology node (`[technology] node_nm`): classical scaling from the
//!   calibration node — area `∝ F²`, delay `∝ F`, switching energy `C·V² ∝ F`
//!   with the supply held (Dennard et al. 1974 for area and delay; the constant
//!   supply of the post-Dennard nodes, as in Horowitz ISSCC 2014). Stillmaker &
//!   Baas 2017 show this over-estimates the gain below 22 nm; their fitted
//!   tables are not reproduced. RRAM read energy, off-chip links (pad-limited)
//!   and cycle-counted latencies are not node-scaled; the ADC conversion time is.

/// The parameters the sourced figures of a file hold at.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub node_nm: f64,
    pub adc_bits: u32,
    pub dac_bits: u32,
    pub rows_per_read: u32,
    pub crossbar_rows: u32,
    pub crossbar_cols: u32,
    /// Cell resistances (both or neither).
    pub r_on_off_ohm: Option<(f64, f64)>,
    pub read_voltage_v: f64,
    pub read_pulse_ns: f64,
    pub activation_bits: u32,
    pub adder_lanes: u32,
    pub alu_lanes: u32,
    pub buffer_kib: f64,
    pub sram_kib: f64,
    pub flit_bytes: u32,
}

/// ADC architecture: decides the scaling law of energy, area and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdcKind {
    Sar,
    Flash,
}

impl AdcKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sar => "sar",
            Self::Flash => "flash",
        }
    }
}

fn pow2(b: u32) -> f64 {
    2f64.powi(b as i32)
}

/// Crossover of the Walden (2^b) and thermal-noise (4^b) envelopes, in bits.
const ADC_THERMAL_CORNER_BITS: i32 = 10;

/// Relative energy per conversion of a `b`-bit ADC.
pub fn adc_energy_law(kind: AdcKind, b: u32) -> f64 {
    match kind {
        AdcKind::Sar => pow2(b) + pow2(2 * b) / 2f64.powi(ADC_THERMAL_CORNER_BITS),
        AdcKind::Flash => pow2(b) - 1.0,
    }
}

/// Relative area of a `b`-bit ADC.
pub fn adc_area_law(kind: AdcKind, b: u32) -> f64 {
    match kind {
        AdcKind::Sar => pow2(b),
        AdcKind::Flash => pow2(b) - 1.0,
    }
}

/// Relative conversion time of a `b`-bit ADC.
pub fn adc_time_law(kind: AdcKind, b: u32) -> f64 {
    match kind {
        AdcKind::Sar => f64::from(b),
        AdcKind::Flash => 1.0,
    }
}

/// Relative energy and area of a `b`-bit DAC.
pub fn dac_law(b: u32) -> f64 {
    pow2(b) - 1.0
}

/// Relative energy and area of a sample-and-hold feeding a `b`-bit ADC.
pub fn sample_hold_law(adc_bits: u32) -> f64 {
    pow2(2 * adc_bits)
}

/// Mean conductance (S) of a cell over `2^c` levels evenly spaced in
/// conductance between `1/r_off` and `1/r_on`.
pub fn mean_conductance(r_on: f64, r_off: f64) -> f64 {
    // Evenly spaced levels, endpoints included: the mean is the midpoint for
    // any number of levels.
    (1.0 / r_on + 1.0 / r_off) / 2.0
}

/// Relative read energy of one array read.
pub fn crossbar_read_law(rows_driven: u32, cols: u32, conductance: f64, volts: f64, pulse_ns: f64) -> f64 {
    f64::from(rows_driven) * f64::from(cols) * conductance * volts * volts * pulse_ns
}

/// Relative energy per byte of a buffer or SRAM of `kib`.
pub fn memory_energy_law(kib: f64) -> f64 {
    kib.sqrt()
}

/// Node factors of area, delay and switching energy from `from` to `to` nm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeScale {
    pub area: f64,
    pub delay: f64,
    pub energy: f64,
}

impl NodeScale {
    pub fn between(from_nm: f64, to_nm: f64) -> Self {
        let s = to_nm / from_nm;
        Self { area: s * s, delay: s, energy: s }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sar_energy_doubles_per_bit_below_the_corner_and_quadruples_above() {
        let r = |b| adc_energy_law(AdcKind::Sar, b + 1) / adc_energy_law(AdcKind::Sar, b);
        assert!((r(4) - 2.0).abs() < 0.1, "{}", r(4));
        assert!((r(15) - 4.0).abs() < 0.2, "{}", r(15));
        assert!(r(9) > 2.0 && r(9) < 4.0);
    }

    #[test]
    fn flash_time_is_flat_and_sar_time_grows_with_bits() {
        assert_eq!(adc_time_law(AdcKind::Flash, 4), adc_time_law(AdcKind::Flash, 8));
        assert_eq!(adc_time_law(AdcKind::Sar, 10) / adc_time_law(AdcKind::Sar, 8), 1.25);
        assert_eq!(adc_area_law(AdcKind::Flash, 3), 7.0);
    }

    #[test]
    fn memory_law_follows_horowitz_sram_table_within_15_percent() {
        // Horowitz ISSCC 2014, 64-bit reads: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ.
        let predicted_1mb = 20.0 * memory_energy_law(1024.0) / memory_energy_law(32.0);
        let predicted_8kb = 20.0 * memory_energy_law(8.0) / memory_energy_law(32.0);
        assert!((predicted_1mb / 100.0 - 1.0).abs() < 0.15, "{predicted_1mb}");
        assert!((predicted_8kb / 10.0 - 1.0).abs() < 0.15, "{predicted_8kb}");
    }

    #[test]
    fn read_energy_follows_conductance_and_voltage() {
        let g1 = mean_conductance(6e3, 9e5);
        let g2 = mean_conductance(12e3, 9e5);
        assert!(g2 < g1);
        let base = crossbar_read_law(128, 128, g1, 0.5, 10.0);
        assert!((crossbar_read_law(128, 128, g1, 1.0, 10.0) / base - 4.0).abs() < 1e-12);
        assert!((crossbar_read_law(256, 128, g1, 0.5, 10.0) / base - 2.0).abs() < 1e-12);
    }

    #[test]
    fn node_scaling_is_identity_at_the_same_node() {
        assert_eq!(NodeScale::between(32.0, 32.0), NodeScale { area: 1.0, delay: 1.0, energy: 1.0 });
        let s = NodeScale::between(32.0, 16.0);
        assert_eq!((s.area, s.delay, s.energy), (0.25, 0.5, 0.5));
    }
}
