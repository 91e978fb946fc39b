//! What a simulation reports: per-layer results ([`LayerResult`]) accumulated
//! item by item, and the run's [`SimResult`] with the energy derived from the
//! action counts and the energy table (never inside the timing code).

use rramsim_core::{Cycle, Nanoseconds, PicoJoule};
use rramsim_graph::LayerId;
use rramsim_hw::{ActionCounts, ArchParams, Component};

use crate::plan::Plan;
use crate::state::Readiness;

/// Per-layer results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerResult {
    /// First cycle any of the layer's items started, and last cycle one finished.
    pub start: Cycle,
    pub end: Cycle,
    /// Items (output pixels × images) processed.
    pub items: u64,
    /// Multiply-accumulates performed on crossbars.
    pub macs: u64,
    pub actions: ActionCounts,
    /// Cycles the layer's items waited for room in a consumer's buffer
    /// (back-pressure): computed results waiting to be written, and items
    /// whose inputs had arrived held back while the layer's output registers
    /// were full of such results.
    pub buffer_stall_cycles: u64,
    /// Output bytes held off-chip because a consumer's buffer could not hold
    /// even its minimum (each crossed the off-chip link out and back).
    pub spilled_bytes: u64,
    /// Per kind of resource (indexed by `Resource as usize`): the cycles the
    /// instance busiest with this layer's work spent on it (a replica's
    /// stages; a tile's buffer ports, adder and ALU; a NoC link; an off-chip
    /// link; the digital unit). A layer's traffic is its outputs' delivery to
    /// their readers and its own partial-sum reduction.
    pub busy: [u64; Resource::ALL.len()],
}

/// What limits a layer (see [`LayerResult::bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bound {
    /// One of its resources was busy for at least half its span.
    Resource(Resource),
    /// None was: it spent most of its span waiting for its inputs (or for
    /// room in a consumer's buffer).
    Input,
}

impl Bound {
    pub fn name(self) -> &'static str {
        match self {
            Bound::Resource(r) => r.name(),
            Bound::Input => "input",
        }
    }
}

/// A kind of hardware resource, for the steady-state bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// A replica's DAC bank and crossbar array reads.
    Crossbar,
    /// A replica's sample-and-hold, ADC bank and shift-and-add.
    Adc,
    /// A tile's buffer ports.
    Buffer,
    /// A tile's adder and ALU.
    Alu,
    /// A NoC link.
    Noc,
    /// A chip's off-chip link.
    Offchip,
    /// The digital unit.
    Digital,
}

impl Resource {
    pub const ALL: [Resource; 7] = [
        Resource::Crossbar,
        Resource::Adc,
        Resource::Buffer,
        Resource::Alu,
        Resource::Noc,
        Resource::Offchip,
        Resource::Digital,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Resource::Crossbar => "crossbar",
            Resource::Adc => "adc",
            Resource::Buffer => "buffer",
            Resource::Alu => "alu",
            Resource::Noc => "noc",
            Resource::Offchip => "offchip",
            Resource::Digital => "digital",
        }
    }
}

/// Where a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BufferSlot {
    /// A tile's buffer.
    Tile(u32),
    /// The digital unit's SRAM.
    DigitalSram,
}

/// Occupancy of one buffer that holds activations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferUse {
    pub slot: BufferSlot,
    pub capacity_bytes: u64,
    /// Most bytes held at once (activations written and not yet freed by their
    /// last reader).
    pub peak_bytes: u64,
    /// Bytes the edges held here need at least to run without a deadlock
    /// (spilled edges included).
    pub min_bytes: u64,
    /// Edges held off-chip because their minimum did not fit.
    pub spilled_edges: u32,
}

/// A run that could not finish: results of an edge's producer wait for room
/// that its consumer never frees (only a reconvergence the buffer sizing does not
/// see can cause it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferDeadlock {
    pub producer: LayerId,
    pub consumer: LayerId,
    pub slot: BufferSlot,
    /// Bytes the edge's ring holds.
    pub ring_bytes: u64,
}

impl LayerResult {
    /// Cycles from the layer's first start to its last finish.
    pub fn span(&self) -> Cycle {
        self.end - self.start
    }

    /// What limits the layer: the resource of its `busy` cycles with the most
    /// (the first of [`Resource::ALL`] on ties) when that is at least half of
    /// its span — over half of the time it ran, one instance was serving it,
    /// so a faster instance would shorten it — and otherwise `Input`: no
    /// resource of its own was busy most of the time, so it waited (for its
    /// producers' pixels, or for buffer room downstream).
    pub fn bound(&self) -> Bound {
        let (r, cycles) = Resource::ALL
            .iter()
            .map(|&r| (r, self.busy[r as usize]))
            .fold((Resource::Crossbar, 0), |best, (r, c)| if c > best.1 { (r, c) } else { best });
        if cycles > 0 && 2 * cycles >= self.span().get() { Bound::Resource(r) } else { Bound::Input }
    }
}

/// The result of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// The cycle the last output of the last image was written: the run's length.
    pub total_cycles: Cycle,
    /// The cycle each image's last output was written.
    pub image_done: Vec<Cycle>,
    /// Indexed by `LayerId`.
    pub layers: Vec<LayerResult>,
    pub actions: ActionCounts,
    /// Work items processed (the engine's events).
    pub events: u64,
    pub tiles_used: u32,
    /// Whether any layer ran on the digital unit (its leakage is then charged).
    pub digital_used: bool,
    /// Cycles the digital unit computed.
    pub digital_busy_cycles: u64,
    /// Every buffer that holds activations (tiles by index, then the SRAM).
    pub buffers: Vec<BufferUse>,
    /// Set when the run stopped before every item ran.
    pub deadlock: Option<BufferDeadlock>,
    /// Per kind of resource, the busiest instance's busy cycles over the run.
    pub busiest: Vec<(Resource, u64)>,
}

impl SimResult {
    /// Latency of the first image.
    pub fn first_latency(&self) -> Cycle {
        self.image_done[0]
    }

    /// Steady-state cycles between images (the last image's gap to the first's,
    /// averaged); the first image's latency for a batch of one.
    pub fn cycles_per_image(&self) -> f64 {
        let n = self.image_done.len();
        if n < 2 {
            return self.image_done[0].get() as f64;
        }
        (self.image_done[n - 1].get() - self.image_done[0].get()) as f64 / (n - 1) as f64
    }

    /// The simulated interval between images in the steady state: this
    /// batch's cycles beyond one image's latency alone (`lone`, from a run of
    /// one image of the same mapping) per further image,
    /// `(total - lone) / (n - 1)`, and never less than
    /// [`SimResult::steady_state_bound`] (a batch too short to settle can
    /// finish its images together). `None` for a batch of one.
    pub fn steady_interval(&self, lone: Cycle) -> Option<f64> {
        let n = self.image_done.len();
        if n < 2 {
            return None;
        }
        let extra = self.total_cycles.get().saturating_sub(lone.get()) as f64 / (n - 1) as f64;
        Some(extra.max(self.steady_state_bound().1))
    }

    /// A lower bound on the steady-state interval between images: the busiest
    /// single resource's busy cycles per image (no resource can serve images
    /// faster), and that resource. The simulated interval
    /// ([`SimResult::steady_interval`]) is longer when items wait for
    /// anything else (buffer room, their inputs).
    pub fn steady_state_bound(&self) -> (Resource, f64) {
        let images = self.image_done.len().max(1) as f64;
        let (r, cycles) = self
            .busiest
            .iter()
            .copied()
            .max_by_key(|&(r, c)| (c, std::cmp::Reverse(r)))
            .unwrap_or((Resource::Crossbar, 0));
        (r, cycles as f64 / images)
    }

    /// Dynamic energy: Σ actions × table.
    pub fn dynamic_energy(&self, arch: &ArchParams) -> PicoJoule {
        arch.energy.energy(&self.actions)
    }

    /// Static energy of the tiles in use (and the digital unit, when used) over
    /// the whole run.
    pub fn leakage_energy(&self, arch: &ArchParams) -> PicoJoule {
        rramsim_hw::leakage_energy(arch, self.tiles_used, self.digital_used, arch.clock.to_ns(self.total_cycles))
    }

    /// Fraction of the run the digital unit was computing.
    pub fn digital_utilization(&self) -> f64 {
        if self.total_cycles.get() == 0 {
            0.0
        } else {
            self.digital_busy_cycles as f64 / self.total_cycles.get() as f64
        }
    }

    /// Dynamic + static energy.
    pub fn energy(&self, arch: &ArchParams) -> PicoJoule {
        self.dynamic_energy(arch) + self.leakage_energy(arch)
    }

    /// Energy per component, leakage included.
    pub fn energy_by_component(&self, arch: &ArchParams) -> Vec<(Component, PicoJoule)> {
        let mut v = arch.energy.by_component(&self.actions);
        v.push((Component::Leakage, self.leakage_energy(arch)));
        v
    }

    pub fn latency(&self, arch: &ArchParams) -> Nanoseconds {
        arch.clock.to_ns(self.total_cycles)
    }
}

/// Statistics accumulated while the simulation runs.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Indexed by layer.
    pub layers: Vec<LayerResult>,
    /// Per image: the cycle its last output was written.
    pub image_done: Vec<u64>,
    /// Items processed.
    pub events: u64,
    /// Cycles the digital unit computed.
    pub digital_busy: u64,
}

impl Stats {
    pub(crate) fn new(layers: usize, batch: usize) -> Self {
        Stats {
            layers: vec![LayerResult { start: Cycle(u64::MAX), ..LayerResult::default() }; layers],
            image_done: vec![0; batch],
            events: 0,
            digital_busy: 0,
        }
    }

    /// An item of `layer` ran from `ready` to `done`.
    pub(crate) fn item(&mut self, layer: usize, ready: u64, done: u64) {
        self.events += 1;
        let r = &mut self.layers[layer];
        r.start = r.start.min(Cycle(ready));
        r.end = r.end.max(Cycle(done));
        r.items += 1;
    }

    /// The run's result; layers that processed nothing start at cycle 0.
    pub(crate) fn finish(mut self, tiles_used: u32, digital_used: bool, plan: &Plan, ready: &Readiness) -> SimResult {
        for (r, &stall) in self.layers.iter_mut().zip(&ready.stall) {
            r.buffer_stall_cycles = stall;
        }
        let slot = |s: usize| if s == plan.tiles { BufferSlot::DigitalSram } else { BufferSlot::Tile(s as u32) };
        let mut buffers: Vec<BufferUse> = (0..plan.slot_capacity.len())
            .map(|s| BufferUse {
                slot: slot(s),
                capacity_bytes: plan.slot_capacity[s],
                peak_bytes: ready.peak[s],
                min_bytes: 0,
                spilled_edges: 0,
            })
            .collect();
        for edge in &plan.edges {
            for &(s, bytes) in &edge.slots {
                let b = &mut buffers[s as usize];
                b.min_bytes = b.min_bytes.saturating_add(edge.min_ring.saturating_mul(bytes));
            }
            for &(s, bytes) in &edge.spilled_slots {
                let b = &mut buffers[s as usize];
                b.min_bytes = b.min_bytes.saturating_add(edge.min_ring.saturating_mul(bytes));
                b.spilled_edges += 1;
            }
        }
        // Results never written: the first edge whose room they wait for.
        let deadlock = plan.edges.iter().enumerate().find_map(|(e, edge)| {
            (!ready.parked[e].is_empty()).then(|| BufferDeadlock {
                producer: LayerId(edge.producer),
                consumer: LayerId(edge.consumer),
                slot: slot(edge.slots[0].0 as usize),
                ring_bytes: edge.ring.saturating_mul(edge.slots[0].1),
            })
        });
        for r in &mut self.layers {
            if r.start.get() == u64::MAX {
                r.start = Cycle::ZERO;
            }
        }
        let actions = self.layers.iter().fold(ActionCounts::default(), |acc, l| acc + l.actions);
        let image_done: Vec<Cycle> = self.image_done.iter().map(|&t| Cycle(t)).collect();
        SimResult {
            total_cycles: image_done.iter().copied().max().unwrap_or(Cycle::ZERO),
            image_done,
            layers: self.layers,
            actions,
            events: self.events,
            tiles_used,
            digital_used,
            digital_busy_cycles: self.digital_busy,
            buffers: buffers.into_iter().filter(|b| b.peak_bytes > 0 || b.min_bytes > 0).collect(),
            deadlock,
            busiest: Vec::new(),
        }
    }
}
