//! Per-stage cycles of a crossbar input step and peak figures (throughput,
//! power, efficiency) of one chip, all computed from the resolved parameters.

use rramsim_core::{Cycle, MilliWatt, Nanoseconds, PicoJoule, SquareMm};

use crate::energy::{Action, ActionCounts};
use crate::params::ArchParams;

/// The stages of a crossbar input step, in pipeline order.
///
/// The sample-and-hold decouples the array from the ADCs, so consecutive steps
/// pipeline: each stage is a single server that takes a step as soon as the
/// previous stage has finished it and the stage itself is free (buffering
/// between stages is unbounded, so a stage never blocks the one before it).
/// [`StageCycles::advance`] is that recurrence; the engine runs it per input
/// step, and [`StageCycles::interval`] and [`StageCycles::latency`] are its
/// closed forms (tested against it), which `check` and the mapper use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Dac = 0,
    Read = 1,
    SampleHold = 2,
    Adc = 3,
    ShiftAdd = 4,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Dac, Stage::Read, Stage::SampleHold, Stage::Adc, Stage::ShiftAdd];
}

/// Cycles of each stage of one crossbar input step with every row and column in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageCycles {
    pub dac: Cycle,
    /// Array read(s) for one step (`reads_per_step × read_latency`).
    pub read: Cycle,
    /// Capturing the column outputs; the held values are double-buffered, so
    /// holding them while the ADCs convert does not occupy this stage.
    pub sample_hold: Cycle,
    /// All conversions of one crossbar's columns by its ADCs.
    pub adc: Cycle,
    pub shift_add: Cycle,
}

/// The mutable state of one stage pipeline (a layer replica): the cycle until
/// which each stage is busy, indexed by [`Stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageBusy([Cycle; 5]);

impl StageBusy {
    /// The cycle after the last one `stage` is busy.
    pub fn until(&self, stage: Stage) -> Cycle {
        self.0[stage as usize]
    }
}

impl StageCycles {
    /// The cycles of each stage, indexed by [`Stage`].
    pub fn by_stage(&self) -> [Cycle; 5] {
        [self.dac, self.read, self.sample_hold, self.adc, self.shift_add]
    }

    /// Runs one input step that can enter the first stage at `t` through the
    /// pipeline whose state is `busy`: every stage starts the step when the
    /// previous stage has finished it and the stage is free, and is then busy
    /// for its cycles. Returns the cycle each stage started the step (indexed
    /// by [`Stage`]); the step leaves the pipeline at
    /// `busy.until(Stage::ShiftAdd)`.
    ///
    /// This is the one definition of the pipeline's timing: the engine calls it
    /// per step, and [`StageCycles::interval`] and [`StageCycles::latency`] are
    /// its closed forms.
    #[inline]
    pub fn advance(&self, busy: &mut StageBusy, t: Cycle) -> [Cycle; 5] {
        let cycles = self.by_stage();
        let mut starts = [Cycle::ZERO; 5];
        let mut ready = t;
        for (i, &cycles) in cycles.iter().enumerate() {
            let start = ready.max(busy.0[i]);
            ready = start + cycles;
            busy.0[i] = ready;
            starts[i] = start;
        }
        starts
    }

    /// The initiation interval of pipelined steps: the slowest stage (the
    /// steady state of [`StageCycles::advance`] on back-to-back steps).
    pub fn interval(&self) -> Cycle {
        self.by_stage().into_iter().max().unwrap_or(Cycle::ZERO)
    }

    /// Latency of one step through all stages of an idle pipeline.
    pub fn latency(&self) -> Cycle {
        self.by_stage().into_iter().sum()
    }

    /// When the last of `steps` steps, all ready at `t`, leaves an idle
    /// pipeline: `t + latency + (steps − 1) · interval` (tandem queue with
    /// unbounded buffers), or `t` for no steps.
    pub fn finish(&self, t: Cycle, steps: u64) -> Cycle {
        if steps == 0 { t } else { t + self.latency() + self.interval() * (steps - 1) }
    }
}

/// Stage cycles of a step of a replica of `crossbars` crossbars that drives
/// `rows` rows and reads `cols` columns of its fullest crossbar (the ADC stage
/// follows [`ArchParams::adc_stage_shared`]).
pub fn stage_cycles(arch: &ArchParams, rows: u32, cols: u32, crossbars: u32) -> StageCycles {
    StageCycles {
        dac: arch.pe.dac_latency,
        read: arch.crossbar.read_latency * u64::from(arch.reads_per_step(rows)),
        sample_hold: arch.pe.sample_hold_latency,
        adc: arch.adc_stage_shared(cols, crossbars),
        shift_add: arch.pe.shift_add_latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(c: [u64; 5]) -> StageCycles {
        StageCycles {
            dac: Cycle(c[0]),
            read: Cycle(c[1]),
            sample_hold: Cycle(c[2]),
            adc: Cycle(c[3]),
            shift_add: Cycle(c[4]),
        }
    }

    /// The closed forms are the recurrence's: each stage in turn the slowest,
    /// a slow sample-and-hold included, for steps arriving all at once.
    #[test]
    fn closed_forms_match_the_recurrence() {
        let cases = [
            [9, 3, 1, 2, 1],
            [1, 9, 1, 2, 1],
            [1, 3, 9, 2, 1],
            [1, 3, 1, 9, 1],
            [1, 3, 1, 2, 9],
            [1, 120, 500, 120, 1],
            [0, 0, 0, 0, 0],
            [4, 4, 4, 4, 4],
        ];
        for c in cases {
            let s = stages(c);
            for steps in [1u64, 2, 7, 16] {
                let mut busy = StageBusy::default();
                let mut ends = Vec::new();
                for _ in 0..steps {
                    s.advance(&mut busy, Cycle(5));
                    ends.push(busy.until(Stage::ShiftAdd));
                }
                assert_eq!(ends[0], Cycle(5) + s.latency(), "{c:?}");
                assert_eq!(*ends.last().unwrap(), s.finish(Cycle(5), steps), "{c:?} × {steps}");
                // Both edges: consecutive steps leave exactly one interval apart.
                for w in ends.windows(2) {
                    assert_eq!(w[1] - w[0], s.interval(), "{c:?}");
                }
            }
        }
    }

    /// A stage busy from earlier work delays the step; one free in time does
    /// not (both edges: the ADC free at the cycle the S&H finishes, and one
    /// cycle later).
    #[test]
    fn a_busy_stage_delays_the_step() {
        let s = stages([1, 10, 1, 16, 1]);
        let adc_busy_until = |t: u64| {
            let mut busy = StageBusy::default();
            busy.0[Stage::Adc as usize] = Cycle(t);
            let starts = s.advance(&mut busy, Cycle(0));
            (starts, busy.until(Stage::ShiftAdd))
        };
        // DAC 0..1, read 1..11, S&H 11..12: the ADC can start at 12.
        assert_eq!(adc_busy_until(12), ([Cycle(0), Cycle(1), Cycle(11), Cycle(12), Cycle(28)], Cycle(29)));
        assert_eq!(adc_busy_until(13), ([Cycle(0), Cycle(1), Cycle(11), Cycle(13), Cycle(29)], Cycle(30)));
        assert_eq!(adc_busy_until(40).1, Cycle(57));
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
    /// The static (leakage) part of `power`: every tile's.
    pub static_power: MilliWatt,
    pub tops_per_watt: f64,
    /// The most efficient a run on the crossbars can be: every crossbar fully
    /// used with nothing but the PEs' dynamic energy and every tile's static
    /// power (partly used crossbars, buffers, NoC and off-chip traffic only add
    /// to a run). MACs the mapper puts on the digital unit are not bounded by it.
    pub tops_per_watt_bound: f64,
    pub area: SquareMm,
    /// TOPS per mm².
    pub tops_per_mm2: f64,
}

pub fn peak_figures(arch: &ArchParams) -> PeakFigures {
    let rows = arch.crossbar.rows;
    let cols = arch.crossbar.cols;
    // Every crossbar busy: a shared ADC converts its whole group.
    let stages = stage_cycles(arch, rows, cols, arch.pe.crossbars);
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
        static_power: leakage,
        tops_per_watt: tops / (power.0 / 1e3),
        tops_per_watt_bound: tops / ((pe_power.0 + leakage.0) / 1e3),
        area,
        tops_per_mm2: tops / area.0,
    }
}

/// Static energy of `tiles` tiles (and the digital unit when `digital`) over `t`.
pub fn leakage_energy(arch: &ArchParams, tiles: u32, digital: bool, t: Nanoseconds) -> PicoJoule {
    let mw = arch.leakage.tile.0 * f64::from(tiles) + if digital { arch.leakage.digital.0 } else { 0.0 };
    MilliWatt(mw).over(t)
}
