//! What each key of the architecture format moves, and in which direction: the
//! one table the no-dead-keys test (`crates/hw/tests/config.rs`) enforces for
//! every numeric key of every preset and that `arch-configs/README.md` renders
//! (`key_effects_markdown`, checked equal to the README's copy).

use crate::energy::Action;
use crate::params::ArchParams;
use crate::peak::peak_figures;

/// A figure a key moves, read from the resolved parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// Peak TOPS of one chip (`check`'s `peak_tops`).
    PeakTops,
    /// Peak power of one chip at full rate (`peak_power_w`).
    PeakPower,
    /// Area of one chip.
    ChipArea,
    /// Area of the node (chip area × chips).
    NodeArea,
    /// Static power of one tile.
    TileStatic,
    /// Static power of the digital unit.
    DigitalStatic,
    /// Energy of one action.
    Energy(Action),
    /// Latency of one crossbar input step through all stages (cycles).
    StepLatency,
    /// A latency the engine charges outside the crossbar pipeline (cycles):
    /// buffer access, adder, ALU, hop, off-chip.
    UnitLatency,
    /// Cycles of the digital unit for a fixed GEMM, over its clock (ns).
    DigitalTime,
    /// A configuration that is refused (the perturbed value is invalid).
    Validity,
}

/// Direction of a figure when the key's value increases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
}

impl Figure {
    pub fn name(self) -> String {
        match self {
            Figure::PeakTops => "peak TOPS".into(),
            Figure::PeakPower => "peak power".into(),
            Figure::ChipArea => "chip area".into(),
            Figure::NodeArea => "node area".into(),
            Figure::TileStatic => "tile static power".into(),
            Figure::DigitalStatic => "digital static power".into(),
            Figure::Energy(a) => format!("`{}` energy", a.name()),
            Figure::StepLatency => "step latency (cycles)".into(),
            Figure::UnitLatency => "unit latency (cycles)".into(),
            Figure::DigitalTime => "digital-unit time".into(),
            Figure::Validity => "validity".into(),
        }
    }

    /// The figure's value (`Validity` has none).
    pub fn value(self, a: &ArchParams) -> Option<f64> {
        let peak = || peak_figures(a);
        Some(match self {
            Figure::PeakTops => peak().tops,
            Figure::PeakPower => peak().power.0,
            Figure::ChipArea => a.chip_area().0,
            Figure::NodeArea => a.chip_area().0 * f64::from(a.node.chips),
            Figure::TileStatic => a.leakage.tile.0,
            Figure::DigitalStatic => a.leakage.digital.0,
            Figure::Energy(act) => a.energy[act].0,
            Figure::StepLatency => peak().stages.latency().get() as f64,
            Figure::UnitLatency => (a.tile.buffer.latency
                + a.tile.adder.latency
                + a.tile.alu.latency
                + a.noc.hop_latency
                + a.node.offchip_latency)
                .get() as f64,
            Figure::DigitalTime => {
                let g = crate::digital::Gemm { k: 300, m: 70, p: 500, groups: 1 };
                crate::digital::systolic_cycles(&a.digital, g) as f64 / a.digital.clock.ghz()
            }
            Figure::Validity => return None,
        })
    }
}

/// One row: a key (dotted, as in the TOML file) and what an increase of its
/// value does; an empty list marks metadata.
#[derive(Debug)]
pub struct KeyEffect {
    pub key: &'static str,
    pub moves: &'static [(Figure, Dir)],
}

use Dir::{Down, Up};
use Figure::*;

const fn e(a: Action) -> Figure {
    Energy(a)
}

/// Every key of the format (strings and booleans, which are choices rather
/// than magnitudes, are listed with what they choose).
pub const KEY_EFFECTS: &[KeyEffect] = &[
    KeyEffect { key: "clock.ghz", moves: &[(PeakPower, Up)] },
    KeyEffect { key: "node.chips", moves: &[(NodeArea, Up)] },
    KeyEffect { key: "node.offchip_bandwidth_gb_per_s", moves: &[(PeakPower, Up)] },
    KeyEffect { key: "node.offchip_latency", moves: &[(UnitLatency, Up)] },
    KeyEffect { key: "node.offchip_energy_pj_per_byte", moves: &[(e(Action::OffchipByte), Up), (PeakPower, Up)] },
    KeyEffect { key: "node.offchip_area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "chip.tiles", moves: &[(PeakTops, Up), (ChipArea, Up)] },
    KeyEffect { key: "noc.concentration", moves: &[(ChipArea, Down)] },
    KeyEffect { key: "noc.flit_bytes", moves: &[(e(Action::NocFlitHop), Up), (ChipArea, Up)] },
    KeyEffect { key: "noc.hop_latency", moves: &[(UnitLatency, Up)] },
    KeyEffect { key: "noc.flit_hop_energy_pj", moves: &[(e(Action::NocFlitHop), Up)] },
    KeyEffect { key: "noc.router_area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "tile.pes", moves: &[(PeakTops, Up), (ChipArea, Up)] },
    KeyEffect { key: "tile.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "tile.buffer.kib", moves: &[(e(Action::BufferReadByte), Up), (ChipArea, Up)] },
    KeyEffect { key: "tile.buffer.read_bytes_per_cycle", moves: &[(PeakPower, Up)] },
    KeyEffect { key: "tile.buffer.write_bytes_per_cycle", moves: &[(PeakPower, Up)] },
    KeyEffect { key: "tile.buffer.latency", moves: &[(UnitLatency, Up)] },
    KeyEffect { key: "tile.buffer.read_energy_pj_per_byte", moves: &[(e(Action::BufferReadByte), Up)] },
    KeyEffect { key: "tile.buffer.write_energy_pj_per_byte", moves: &[(e(Action::BufferWriteByte), Up)] },
    KeyEffect { key: "tile.buffer.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "tile.buffer.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "tile.adder.lanes", moves: &[(ChipArea, Up), (PeakPower, Up)] },
    KeyEffect { key: "tile.adder.latency", moves: &[(UnitLatency, Up)] },
    KeyEffect { key: "tile.adder.energy_pj_per_op", moves: &[(e(Action::TileAdd), Up)] },
    KeyEffect { key: "tile.adder.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "tile.adder.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "tile.alu.lanes", moves: &[(ChipArea, Up), (PeakPower, Up)] },
    KeyEffect { key: "tile.alu.latency", moves: &[(UnitLatency, Up)] },
    KeyEffect { key: "tile.alu.energy_pj_per_op", moves: &[(e(Action::AluOp), Up)] },
    KeyEffect { key: "tile.alu.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "tile.alu.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "pe.crossbars", moves: &[(PeakTops, Up), (ChipArea, Up)] },
    KeyEffect { key: "pe.input_register_energy_pj_per_byte", moves: &[(e(Action::InputRegisterByte), Up)] },
    KeyEffect { key: "pe.output_register_energy_pj_per_byte", moves: &[(e(Action::OutputRegisterByte), Up)] },
    KeyEffect { key: "pe.registers_area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "pe.dac.bits", moves: &[(e(Action::DacConversion), Up), (PeakTops, Up), (Validity, Up)] },
    KeyEffect { key: "pe.dac.latency", moves: &[(StepLatency, Up)] },
    KeyEffect { key: "pe.dac.energy_pj", moves: &[(e(Action::DacConversion), Up)] },
    KeyEffect { key: "pe.dac.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "pe.dac.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "pe.sample_hold.latency", moves: &[(StepLatency, Up)] },
    KeyEffect { key: "pe.sample_hold.energy_pj", moves: &[(e(Action::SampleHold), Up)] },
    KeyEffect { key: "pe.sample_hold.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "pe.sample_hold.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect {
        key: "pe.adc.bits",
        moves: &[(e(Action::AdcConversion), Up), (ChipArea, Up), (TileStatic, Up), (StepLatency, Up)],
    },
    KeyEffect {
        key: "pe.adc.per_crossbar",
        moves: &[(ChipArea, Up), (TileStatic, Up), (StepLatency, Down), (Validity, Up)],
    },
    KeyEffect { key: "pe.adc.shared_by", moves: &[(ChipArea, Down), (TileStatic, Down), (StepLatency, Up)] },
    KeyEffect { key: "pe.adc.conversion_time", moves: &[(StepLatency, Up)] },
    KeyEffect { key: "pe.adc.energy_pj", moves: &[(e(Action::AdcConversion), Up)] },
    KeyEffect { key: "pe.adc.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "pe.adc.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "pe.shift_add.latency", moves: &[(StepLatency, Up)] },
    KeyEffect { key: "pe.shift_add.energy_pj", moves: &[(e(Action::ShiftAdd), Up)] },
    KeyEffect { key: "pe.shift_add.leakage_mw", moves: &[(TileStatic, Up)] },
    KeyEffect { key: "pe.shift_add.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect {
        key: "crossbar.rows",
        moves: &[(e(Action::CrossbarRead), Up), (ChipArea, Up), (PeakTops, Up), (Validity, Up)],
    },
    KeyEffect { key: "crossbar.cols", moves: &[(e(Action::CrossbarRead), Up), (ChipArea, Up)] },
    KeyEffect { key: "crossbar.bits_per_cell", moves: &[(PeakTops, Up), (Validity, Up)] },
    KeyEffect { key: "crossbar.rows_per_read", moves: &[(e(Action::CrossbarRead), Up), (Validity, Up)] },
    KeyEffect { key: "crossbar.read_latency", moves: &[(StepLatency, Up), (PeakTops, Down)] },
    KeyEffect { key: "crossbar.read_energy_pj", moves: &[(e(Action::CrossbarRead), Up)] },
    KeyEffect { key: "crossbar.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect { key: "crossbar.r_on_ohm", moves: &[(e(Action::CrossbarRead), Down), (Validity, Up)] },
    KeyEffect { key: "crossbar.r_off_ohm", moves: &[(e(Action::CrossbarRead), Down)] },
    KeyEffect { key: "crossbar.read_voltage_v", moves: &[(e(Action::CrossbarRead), Up)] },
    KeyEffect { key: "crossbar.spare_rows", moves: &[(e(Action::CrossbarRead), Up), (ChipArea, Up)] },
    KeyEffect { key: "crossbar.spare_cols", moves: &[(e(Action::CrossbarRead), Up), (ChipArea, Up)] },
    KeyEffect { key: "precision.weight_bits", moves: &[(PeakTops, Down), (Validity, Up)] },
    KeyEffect { key: "precision.activation_bits", moves: &[(PeakTops, Down), (e(Action::TileAdd), Up)] },
    KeyEffect { key: "digital.rows", moves: &[(DigitalTime, Down)] },
    KeyEffect { key: "digital.cols", moves: &[(DigitalTime, Down)] },
    KeyEffect { key: "digital.sram_kib", moves: &[(e(Action::DigitalSramByte), Up)] },
    KeyEffect { key: "digital.clock_ghz", moves: &[(DigitalTime, Down)] },
    KeyEffect { key: "digital.mac_energy_pj", moves: &[(e(Action::DigitalMac), Up)] },
    KeyEffect { key: "digital.sram_energy_pj_per_byte", moves: &[(e(Action::DigitalSramByte), Up)] },
    KeyEffect { key: "digital.leakage_mw", moves: &[(DigitalStatic, Up)] },
    KeyEffect { key: "digital.area_mm2", moves: &[(ChipArea, Up)] },
    KeyEffect {
        key: "technology.node_nm",
        moves: &[(ChipArea, Up), (e(Action::AdcConversion), Up), (TileStatic, Up), (StepLatency, Up)],
    },
    KeyEffect { key: "calibration.node_nm", moves: &[(ChipArea, Down), (e(Action::AdcConversion), Down)] },
    KeyEffect { key: "calibration.adc_bits", moves: &[(e(Action::AdcConversion), Down), (ChipArea, Down)] },
    KeyEffect { key: "calibration.dac_bits", moves: &[(e(Action::DacConversion), Down)] },
    KeyEffect { key: "calibration.crossbar_rows", moves: &[(ChipArea, Down)] },
    KeyEffect { key: "calibration.crossbar_cols", moves: &[(ChipArea, Down), (e(Action::CrossbarRead), Down)] },
    KeyEffect { key: "calibration.rows_per_read", moves: &[(e(Action::CrossbarRead), Down)] },
    KeyEffect { key: "calibration.r_on_ohm", moves: &[(e(Action::CrossbarRead), Up)] },
    KeyEffect { key: "calibration.r_off_ohm", moves: &[(e(Action::CrossbarRead), Up)] },
    KeyEffect { key: "calibration.read_voltage_v", moves: &[(e(Action::CrossbarRead), Down)] },
    KeyEffect { key: "calibration.read_pulse_ns", moves: &[(e(Action::CrossbarRead), Down)] },
    KeyEffect { key: "calibration.activation_bits", moves: &[(e(Action::TileAdd), Down)] },
    KeyEffect { key: "calibration.adder_lanes", moves: &[(ChipArea, Down)] },
    KeyEffect { key: "calibration.alu_lanes", moves: &[(ChipArea, Down)] },
    KeyEffect { key: "calibration.buffer_kib", moves: &[(e(Action::BufferReadByte), Down)] },
    KeyEffect { key: "calibration.sram_kib", moves: &[(e(Action::DigitalSramByte), Down)] },
    KeyEffect { key: "calibration.flit_bytes", moves: &[(e(Action::NocFlitHop), Down), (ChipArea, Down)] },
    // Metadata: names, descriptions and the sources of the numbers.
    KeyEffect { key: "name", moves: &[] },
    KeyEffect { key: "description", moves: &[] },
    KeyEffect { key: "calibration.source", moves: &[] },
    KeyEffect { key: "*.source", moves: &[] },
];

/// The row of `key`.
pub fn key_effect(key: &str) -> Option<&'static KeyEffect> {
    KEY_EFFECTS.iter().find(|k| k.key == key)
}

/// The table as Markdown (`arch-configs/README.md` holds this text).
pub fn key_effects_markdown() -> String {
    let mut out = String::from("| key | an increase moves |\n|---|---|\n");
    for k in KEY_EFFECTS {
        let moves = if k.moves.is_empty() {
            "metadata (no figure)".to_owned()
        } else {
            k.moves
                .iter()
                .map(|(f, d)| match (f, d) {
                    (Validity, _) => "may be refused (validity)".to_owned(),
                    (f, Up) => format!("{} ↑", f.name()),
                    (f, Down) => format!("{} ↓", f.name()),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("| `{}` | {moves} |\n", k.key));
    }
    out
}
