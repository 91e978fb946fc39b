//! Events the engine reports to an [`EventSink`] while it simulates.
//!
//! An event is one use of one hardware unit by one work item: the unit (a tile,
//! a PE group, the crossbars of a replica, a NoC link, an off-chip link or the
//! digital unit), what it did, for which layer and image, from which cycle to
//! which, and how much (bytes, conversions, operations, flits). Events are
//! reported in processing order, which is not time order; the per-layer
//! results of [`crate::SimResult`] do not depend on whether a sink listens.
//!
//! The engine is generic over the sink: with [`NoEvents`] the reporting code is
//! compiled out, so untraced runs pay nothing.

use std::fmt;

/// Depth in the hardware hierarchy: tile ⊃ PE ⊃ crossbar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Tile-level units: work items, buffer ports, tile adder and ALU, NoC and
    /// off-chip links, the digital unit.
    Tile = 0,
    /// A replica's PE group: one matrix-vector multiply per item.
    Pe = 1,
    /// The crossbar pipeline stages of a replica: DACs, arrays, ADCs, shift-and-add.
    Xbar = 2,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Tile, Level::Pe, Level::Xbar];

    pub fn name(self) -> &'static str {
        match self {
            Level::Tile => "tile",
            Level::Pe => "pe",
            Level::Xbar => "xbar",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// What an event did. The discriminants are stable: they are stored in traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// One output pixel of a layer, from its inputs being ready to its output
    /// being in the buffer. Amount: 1.
    Item = 0,
    /// A buffer read-port reservation. Amount: bytes.
    BufferRead = 1,
    /// A buffer write-port reservation. Amount: bytes.
    BufferWrite = 2,
    /// Tile adder (partial sums). Amount: additions.
    Adder = 3,
    /// Tile ALU (pooling, element-wise, fused activations). Amount: operations.
    Alu = 4,
    /// A replica's matrix-vector multiply over all input steps. Amount: steps.
    Mvm = 5,
    /// DAC bank over all input steps. Amount: conversions.
    Dac = 6,
    /// Crossbar reads over all input steps. Amount: crossbar reads.
    Array = 7,
    /// ADC bank (with sample-and-hold) over all input steps. Amount: conversions.
    Adc = 8,
    /// Shift-and-add over all input steps. Amount: operations.
    ShiftAdd = 9,
    /// One NoC link (or the ejection port) carrying a transfer. Amount: flits.
    Link = 10,
    /// A chip's off-chip link. Amount: bytes.
    Offchip = 11,
    /// The digital unit computing one item. Amount: MACs.
    Digital = 12,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::Item,
        EventKind::BufferRead,
        EventKind::BufferWrite,
        EventKind::Adder,
        EventKind::Alu,
        EventKind::Mvm,
        EventKind::Dac,
        EventKind::Array,
        EventKind::Adc,
        EventKind::ShiftAdd,
        EventKind::Link,
        EventKind::Offchip,
        EventKind::Digital,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::Item => "item",
            EventKind::BufferRead => "buffer_read",
            EventKind::BufferWrite => "buffer_write",
            EventKind::Adder => "adder",
            EventKind::Alu => "alu",
            EventKind::Mvm => "mvm",
            EventKind::Dac => "dac",
            EventKind::Array => "array",
            EventKind::Adc => "adc",
            EventKind::ShiftAdd => "shift_add",
            EventKind::Link => "link",
            EventKind::Offchip => "offchip",
            EventKind::Digital => "digital",
        }
    }

    /// The unit of the event's amount.
    pub fn amount_unit(self) -> &'static str {
        match self {
            EventKind::Item => "items",
            EventKind::BufferRead | EventKind::BufferWrite | EventKind::Offchip => "bytes",
            EventKind::Adder => "adds",
            EventKind::Alu | EventKind::ShiftAdd => "ops",
            EventKind::Mvm => "steps",
            EventKind::Dac | EventKind::Adc => "conversions",
            EventKind::Array => "reads",
            EventKind::Link => "flits",
            EventKind::Digital => "macs",
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn level(self) -> Level {
        match self {
            EventKind::Mvm => Level::Pe,
            EventKind::Dac | EventKind::Array | EventKind::Adc | EventKind::ShiftAdd => Level::Xbar,
            _ => Level::Tile,
        }
    }
}

/// NoC router ports, in the engine's link order.
pub const PORTS: [&str; 5] = ["east", "west", "south", "north", "eject"];

/// The hardware unit an event used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// A tile (global index), for tile-level units.
    Tile { tile: u32 },
    /// The PE group of a replica: `pes` PEs from PE `pe` (index within `tile`).
    Pe { tile: u32, pe: u32, pes: u32 },
    /// The `crossbars` crossbars of a replica, from crossbar `xbar` of `tile`
    /// (numbered PE by PE within the tile), which operate in lock-step.
    /// Replicas placed at crossbar granularity may share a PE, so the first
    /// crossbar, not the PE, tells them apart.
    Xbars { tile: u32, xbar: u32, crossbars: u32 },
    /// A NoC link leaving router `router` of `chip` through `port` (see
    /// [`PORTS`]); on a bus, router 0, port 0.
    Link { chip: u32, router: u32, port: u8 },
    /// A chip's off-chip link.
    Offchip { chip: u32 },
    /// The fault-free digital unit.
    Digital,
}

impl Unit {
    /// Stable tag and fields, for storage.
    pub fn to_parts(self) -> (u8, u32, u32, u32) {
        match self {
            Unit::Tile { tile } => (0, tile, 0, 0),
            Unit::Pe { tile, pe, pes } => (1, tile, pe, pes),
            Unit::Xbars { tile, xbar, crossbars } => (2, tile, xbar, crossbars),
            Unit::Link { chip, router, port } => (3, chip, router, u32::from(port)),
            Unit::Offchip { chip } => (4, chip, 0, 0),
            Unit::Digital => (5, 0, 0, 0),
        }
    }

    pub fn from_parts(tag: u8, a: u32, b: u32, c: u32) -> Option<Self> {
        Some(match tag {
            0 => Unit::Tile { tile: a },
            1 => Unit::Pe { tile: a, pe: b, pes: c },
            2 => Unit::Xbars { tile: a, xbar: b, crossbars: c },
            3 if (c as usize) < PORTS.len() => Unit::Link { chip: a, router: b, port: c as u8 },
            4 => Unit::Offchip { chip: a },
            5 => Unit::Digital,
            _ => return None,
        })
    }

    /// The tile the unit belongs to, if any.
    pub fn tile(self) -> Option<u32> {
        match self {
            Unit::Tile { tile } | Unit::Pe { tile, .. } | Unit::Xbars { tile, .. } => Some(tile),
            _ => None,
        }
    }
}

/// Paths such as `tile[3].pe[1]`, `tile[3].xbar[8..32]`,
/// `chip[0].router[5].east`, `chip[1].offchip`, `digital`.
impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Unit::Tile { tile } => write!(f, "tile[{tile}]"),
            Unit::Pe { tile, pe, pes: 1 } => write!(f, "tile[{tile}].pe[{pe}]"),
            Unit::Pe { tile, pe, pes } => write!(f, "tile[{tile}].pe[{pe}..{}]", pe + pes),
            Unit::Xbars { tile, xbar, crossbars } => write!(f, "tile[{tile}].xbar[{xbar}..{}]", xbar + crossbars),
            Unit::Link { chip, router, port } => write!(f, "chip[{chip}].router[{router}].{}", PORTS[port as usize]),
            Unit::Offchip { chip } => write!(f, "chip[{chip}].offchip"),
            Unit::Digital => f.write_str("digital"),
        }
    }
}

/// One event: `unit` did `kind` for (`layer`, `image`) over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    pub kind: EventKind,
    pub unit: Unit,
    /// Index of the layer (its `LayerId`).
    pub layer: u32,
    pub image: u32,
    pub start: u64,
    pub end: u64,
    pub amount: u64,
}

/// Receives the engine's events.
pub trait EventSink {
    /// Whether events are wanted at all; `false` compiles the reporting out.
    const ENABLED: bool = true;

    fn event(&mut self, event: &Event);
}

/// The sink of untraced runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    const ENABLED: bool = false;

    fn event(&mut self, _: &Event) {}
}

/// Collects events in memory (tests, small networks).
impl EventSink for Vec<Event> {
    fn event(&mut self, event: &Event) {
        self.push(*event);
    }
}

/// The engine's side of a sink: stamps events with the layer and image of the
/// item being processed. With a disabled sink, `emit` compiles to nothing.
pub(crate) struct Emitter<'s, S: EventSink> {
    sink: &'s mut S,
    /// The layer and image whose item is being processed.
    pub cur: (u32, u32),
}

impl<'s, S: EventSink> Emitter<'s, S> {
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Emitter { sink, cur: (0, 0) }
    }

    /// Reports an event of the current item to the sink.
    #[inline(always)]
    pub(crate) fn emit(&mut self, kind: EventKind, unit: Unit, start: u64, end: u64, amount: u64) {
        if S::ENABLED {
            let (layer, image) = self.cur;
            self.sink.event(&Event { kind, unit, layer, image, start, end, amount });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_parts_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_code(k.code()), Some(k));
        }
        assert_eq!(EventKind::from_code(13), None);
        for u in [
            Unit::Tile { tile: 3 },
            Unit::Pe { tile: 1, pe: 2, pes: 3 },
            Unit::Xbars { tile: 1, xbar: 16, crossbars: 24 },
            Unit::Link { chip: 1, router: 5, port: 4 },
            Unit::Offchip { chip: 2 },
            Unit::Digital,
        ] {
            let (t, a, b, c) = u.to_parts();
            assert_eq!(Unit::from_parts(t, a, b, c), Some(u));
        }
        assert_eq!(Unit::from_parts(3, 0, 0, 5), None);
        assert_eq!(Unit::from_parts(9, 0, 0, 0), None);
    }

    #[test]
    fn paths_read_like_the_hierarchy() {
        assert_eq!(Unit::Pe { tile: 3, pe: 1, pes: 1 }.to_string(), "tile[3].pe[1]");
        assert_eq!(Unit::Pe { tile: 3, pe: 1, pes: 4 }.to_string(), "tile[3].pe[1..5]");
        assert_eq!(Unit::Xbars { tile: 3, xbar: 9, crossbars: 7 }.to_string(), "tile[3].xbar[9..16]");
        assert_eq!(Unit::Link { chip: 0, router: 5, port: 0 }.to_string(), "chip[0].router[5].east");
        assert_eq!(Level::from_name("pe"), Some(Level::Pe));
    }
}
