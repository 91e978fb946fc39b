//! Actions and the per-action energy reference table (Accelergy's ERT idea):
//! timing code counts actions; energy is `count × table` at report time.

use std::ops::{Add, AddAssign, Index, IndexMut};

use rramsim_core::PicoJoule;

/// Everything the engine counts. A closed enum indexed by position, so counting is
/// an array increment (no string lookups in the hot loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// One DAC driving one crossbar row for one input step.
    DacConversion,
    /// One analog read of a crossbar (all driven rows, all columns).
    CrossbarRead,
    /// One sample-and-hold capture of one column.
    SampleHold,
    /// One ADC conversion (one column).
    AdcConversion,
    /// One shift-and-add of an ADC output.
    ShiftAdd,
    /// One byte into a PE's input register.
    InputRegisterByte,
    /// One byte out of a PE's output register.
    OutputRegisterByte,
    /// One partial-sum addition in the tile adder.
    TileAdd,
    /// One element processed by the tile ALU (pool, activation, residual add).
    AluOp,
    BufferReadByte,
    BufferWriteByte,
    /// One flit crossing one router/link.
    NocFlitHop,
    /// One byte crossing a chip-to-chip link.
    OffchipByte,
    /// One multiply-accumulate in the digital unit.
    DigitalMac,
    /// One byte read or written in the digital unit's SRAM.
    DigitalSramByte,
}

impl Action {
    pub const COUNT: usize = 15;

    pub const ALL: [Action; Self::COUNT] = [
        Action::DacConversion,
        Action::CrossbarRead,
        Action::SampleHold,
        Action::AdcConversion,
        Action::ShiftAdd,
        Action::InputRegisterByte,
        Action::OutputRegisterByte,
        Action::TileAdd,
        Action::AluOp,
        Action::BufferReadByte,
        Action::BufferWriteByte,
        Action::NocFlitHop,
        Action::OffchipByte,
        Action::DigitalMac,
        Action::DigitalSramByte,
    ];

    /// Snake-case name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Action::DacConversion => "dac_conversion",
            Action::CrossbarRead => "crossbar_read",
            Action::SampleHold => "sample_hold",
            Action::AdcConversion => "adc_conversion",
            Action::ShiftAdd => "shift_add",
            Action::InputRegisterByte => "input_register_byte",
            Action::OutputRegisterByte => "output_register_byte",
            Action::TileAdd => "tile_add",
            Action::AluOp => "alu_op",
            Action::BufferReadByte => "buffer_read_byte",
            Action::BufferWriteByte => "buffer_write_byte",
            Action::NocFlitHop => "noc_flit_hop",
            Action::OffchipByte => "offchip_byte",
            Action::DigitalMac => "digital_mac",
            Action::DigitalSramByte => "digital_sram_byte",
        }
    }

    /// The component an action's energy is reported under.
    pub fn component(self) -> Component {
        match self {
            Action::DacConversion => Component::Dac,
            Action::CrossbarRead => Component::Crossbar,
            Action::SampleHold => Component::SampleHold,
            Action::AdcConversion => Component::Adc,
            Action::ShiftAdd => Component::ShiftAdd,
            Action::InputRegisterByte | Action::OutputRegisterByte => Component::PeRegisters,
            Action::TileAdd => Component::TileAdder,
            Action::AluOp => Component::Alu,
            Action::BufferReadByte | Action::BufferWriteByte => Component::Buffer,
            Action::NocFlitHop => Component::Noc,
            Action::OffchipByte => Component::Offchip,
            Action::DigitalMac | Action::DigitalSramByte => Component::Digital,
        }
    }
}

/// Components energy and area are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Dac,
    Crossbar,
    SampleHold,
    Adc,
    ShiftAdd,
    PeRegisters,
    TileAdder,
    Alu,
    Buffer,
    Noc,
    Offchip,
    Digital,
    Leakage,
}

impl Component {
    pub const ALL: [Component; 13] = [
        Component::Dac,
        Component::Crossbar,
        Component::SampleHold,
        Component::Adc,
        Component::ShiftAdd,
        Component::PeRegisters,
        Component::TileAdder,
        Component::Alu,
        Component::Buffer,
        Component::Noc,
        Component::Offchip,
        Component::Digital,
        Component::Leakage,
    ];

    /// The architecture keys a component's energy per action, area and timing
    /// follow (the scaling laws of [`crate::scaling`]); `technology.node_nm`
    /// scales every CMOS component.
    pub fn depends_on(self) -> &'static [&'static str] {
        match self {
            Component::Dac => &["pe.dac.bits", "crossbar.rows", "technology.node_nm"],
            Component::Crossbar => &[
                "crossbar.rows_per_read",
                "crossbar.rows",
                "crossbar.cols",
                "crossbar.r_on_ohm",
                "crossbar.r_off_ohm",
                "crossbar.read_voltage_v",
                "crossbar.read_latency",
                "technology.node_nm (area)",
            ],
            Component::SampleHold => &["pe.adc.bits", "crossbar.cols", "technology.node_nm"],
            Component::Adc => &["pe.adc.bits", "pe.adc.kind", "pe.adc.per_crossbar", "technology.node_nm"],
            Component::ShiftAdd => &["pe.adc.bits", "precision.activation_bits", "technology.node_nm"],
            Component::PeRegisters => &["pe.dac.bits", "technology.node_nm"],
            Component::TileAdder => &["tile.adder.lanes", "precision.activation_bits", "technology.node_nm"],
            Component::Alu => &["tile.alu.lanes", "precision.activation_bits", "technology.node_nm"],
            Component::Buffer => &["tile.buffer.kib", "technology.node_nm"],
            Component::Noc => &["noc.flit_bytes", "noc.concentration", "technology.node_nm"],
            Component::Offchip => &["node.offchip_bandwidth_gb_per_s"],
            Component::Digital => &["digital.rows", "digital.cols", "digital.sram_kib", "technology.node_nm"],
            Component::Leakage => &["tile.leakage_mw", "digital.leakage_mw", "chip.tiles"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Component::Dac => "dac",
            Component::Crossbar => "crossbar",
            Component::SampleHold => "sample_hold",
            Component::Adc => "adc",
            Component::ShiftAdd => "shift_add",
            Component::PeRegisters => "pe_registers",
            Component::TileAdder => "tile_adder",
            Component::Alu => "alu",
            Component::Buffer => "buffer",
            Component::Noc => "noc",
            Component::Offchip => "offchip",
            Component::Digital => "digital",
            Component::Leakage => "leakage",
        }
    }
}

/// Counts of every action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionCounts(pub [u64; Action::COUNT]);

impl Index<Action> for ActionCounts {
    type Output = u64;
    fn index(&self, a: Action) -> &u64 {
        &self.0[a as usize]
    }
}

impl IndexMut<Action> for ActionCounts {
    fn index_mut(&mut self, a: Action) -> &mut u64 {
        &mut self.0[a as usize]
    }
}

impl Add for ActionCounts {
    type Output = ActionCounts;
    fn add(mut self, rhs: ActionCounts) -> ActionCounts {
        self += rhs;
        self
    }
}

impl AddAssign for ActionCounts {
    fn add_assign(&mut self, rhs: ActionCounts) {
        for (a, b) in self.0.iter_mut().zip(rhs.0) {
            *a += b;
        }
    }
}

impl ActionCounts {
    pub fn iter(&self) -> impl Iterator<Item = (Action, u64)> + '_ {
        Action::ALL.iter().map(|&a| (a, self[a]))
    }
}

/// Energy of one of each action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyTable(pub [PicoJoule; Action::COUNT]);

impl Index<Action> for EnergyTable {
    type Output = PicoJoule;
    fn index(&self, a: Action) -> &PicoJoule {
        &self.0[a as usize]
    }
}

impl EnergyTable {
    /// Σ count × energy.
    pub fn energy(&self, counts: &ActionCounts) -> PicoJoule {
        counts.iter().map(|(a, n)| self[a] * n as f64).sum()
    }

    /// Energy per component (leakage excluded: it is not an action).
    pub fn by_component(&self, counts: &ActionCounts) -> Vec<(Component, PicoJoule)> {
        let mut out: Vec<(Component, PicoJoule)> = Vec::new();
        for (a, n) in counts.iter() {
            let c = a.component();
            let e = self[a] * n as f64;
            match out.iter_mut().find(|(k, _)| *k == c) {
                Some((_, acc)) => *acc += e,
                None => out.push((c, e)),
            }
        }
        out.sort_by_key(|(c, _)| *c);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_action_in_index_order() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
        }
    }

    #[test]
    fn energy_is_counts_times_table() {
        let mut table = [PicoJoule(0.0); Action::COUNT];
        table[Action::AdcConversion as usize] = PicoJoule(1.5);
        table[Action::BufferReadByte as usize] = PicoJoule(0.25);
        let table = EnergyTable(table);
        let mut counts = ActionCounts::default();
        counts[Action::AdcConversion] = 10;
        counts[Action::BufferReadByte] = 4;
        counts[Action::DacConversion] = 1000; // zero energy
        assert_eq!(table.energy(&counts), PicoJoule(16.0));
        let by = table.by_component(&counts);
        assert!(by.contains(&(Component::Adc, PicoJoule(15.0))));
        assert!(by.contains(&(Component::Buffer, PicoJoule(1.0))));
    }
}
