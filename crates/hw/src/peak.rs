//! Per-stage cycles of a crossbar input step and peak figures (throughput,
//! power, efficiency) of one chip, all computed from the resolved parameters.

use rramsim_core::{Cycle, MilliWatt, Nanoseconds, PicoJoule, SquareMm};

use crate::energy::{Action, ActionCounts};
use crate::params::ArchParams;

/// Cycles of each stage of one crossbar input step with every row and column in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageCycles {
    pub dac: Cycle,
    /// Array read(s) for one step (`reads_per_step × read_latency`).
    pub read: Cycle,
    pub sample_hold: Cycle,
    /// All conversions of one crossbar's columns by its ADCs.
    pub adc: Cycle,
    pub shift_add: Cycle,
}

impl StageCycles {
    /// The initiation interval of pipelined steps: the slowest stage.
    pub fn interval(&self) -> Cycle {
        self.dac.max(self.read).max(self.sample_hold).max(self.adc).max(self.shift_add)
    }

    /// Latency of one step through all stages.
    pub fn latency(&self) -> Cycle {
        self.dac + self.read + self.sample_hold + self.adc + self.shift_add
    }
}

/// Stage cycles of a step that drives `rows` rows and reads `cols` columns.
pub fn stage_cycles(arch: &ArchParams, rows: u32, cols: u32) -> StageCycles {
    StageCycles {
        dac: arch.pe.dac_latency,
        read: arch.crossbar.read_latency * u64::from(arch.reads_per_step(rows)),
        sample_hold: arch.pe.sample_hold_latency,
        adc: arch.adc_stage(cols),
        shift_add: arch.pe.shift_add_latency,
    }
}

/// Peak figures of one chip with every crossbar busy.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakFigures {
    pub stages: StageCycles,
    /// MACs of one crossbar per input vector: rows × weights side by side.
    pub macs_per_crossbar_vector: u64,
    /// Tera-operations per second (1 MAC = 2 ops).
    pub tops: f64,
    /// Power with every crossbar and tile unit at full rate, plus leakage.
    pub power: MilliWatt,
    /// Power of the PEs alone (crossbars, DACs, S&H, ADCs, S&A, registers).
    pub pe_power: MilliWatt,
    pub tops_per_watt: f64,
    pub area: SquareMm,
    /// TOPS per mm².
    pub tops_per_mm2: f64,
}

pub fn peak_figures(arch: &ArchParams) -> PeakFigures {
    let rows = arch.crossbar.rows;
    let cols = arch.crossbar.cols;
    let stages = stage_cycles(arch, rows, cols);
    let steps = u64::from(arch.input_steps());
    let interval = stages.interval().get().max(1);
    let macs_per_crossbar_vector = u64::from(rows) * u64::from(arch.weights_per_crossbar_row());
    let crossbars = arch.crossbars_per_chip() as f64;
    let vectors_per_ns = arch.clock.ghz() / (steps * interval) as f64;
    let tops = 2.0 * macs_per_crossbar_vector as f64 * crossbars * vectors_per_ns / 1e3;

    // Energy of one input step of one crossbar, every row and column in use.
    let mut step = ActionCounts::default();
    step[Action::DacConversion] = u64::from(rows);
    step[Action::CrossbarRead] = u64::from(arch.reads_per_step(rows));
    step[Action::SampleHold] = u64::from(cols);
    step[Action::AdcConversion] = u64::from(cols);
    step[Action::ShiftAdd] = u64::from(cols);
    step[Action::InputRegisterByte] = u64::from(rows * arch.pe.dac_bits).div_ceil(8);
    let pe_step = arch.energy.energy(&step).0;
    // Outputs leave through the output register once per vector.
    let out_bytes = u64::from(arch.weights_per_crossbar_row()) * u64::from(arch.activation_bits).div_ceil(8);
    let vector_pj = pe_step * steps as f64 + arch.energy[Action::OutputRegisterByte].0 * out_bytes as f64;
    // pJ per ns = mW.
    let pe_power = MilliWatt(vector_pj * crossbars * vectors_per_ns);

    // Tile-level units at full rate, per cycle.
    let t = &arch.tile;
    let e = &arch.energy;
    let per_cycle = |a: Action, n: f64| e[a].0 * n;
    let tile_pj_per_cycle = per_cycle(Action::BufferReadByte, f64::from(t.buffer.read_bytes_per_cycle))
        + per_cycle(Action::BufferWriteByte, f64::from(t.buffer.write_bytes_per_cycle))
        + per_cycle(Action::TileAdd, f64::from(t.adder.lanes))
        + per_cycle(Action::AluOp, f64::from(t.alu.lanes))
        // Each tile injects one flit per cycle.
        + per_cycle(Action::NocFlitHop, 1.0);
    let tiles_power = MilliWatt(tile_pj_per_cycle * arch.clock.ghz() * f64::from(arch.tiles_per_chip));
    let offchip_power = MilliWatt(per_cycle(Action::OffchipByte, arch.node.offchip_bytes_per_cycle) * arch.clock.ghz());
    let leakage = MilliWatt(arch.leakage.tile.0 * f64::from(arch.tiles_per_chip));
    let power = MilliWatt(pe_power.0 + tiles_power.0 + offchip_power.0 + leakage.0);
    let area = arch.chip_area();
    PeakFigures {
        stages,
        macs_per_crossbar_vector,
        tops,
        power,
        pe_power,
        tops_per_watt: tops / (power.0 / 1e3),
        area,
        tops_per_mm2: tops / area.0,
    }
}

/// Static energy of `tiles` tiles (and the digital unit when `digital`) over `t`.
pub fn leakage_energy(arch: &ArchParams, tiles: u32, digital: bool, t: Nanoseconds) -> PicoJoule {
    let mw = arch.leakage.tile.0 * f64::from(tiles) + if digital { arch.leakage.digital.0 } else { 0.0 };
    MilliWatt(mw).over(t)
}
