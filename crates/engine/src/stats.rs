//! What a simulation reports: per-layer results ([`LayerResult`]) accumulated
//! item by item, and the run's [`SimResult`] with the energy derived from the
//! action counts and the energy table (never inside the timing code).

use rramsim_core::{Cycle, Nanoseconds, PicoJoule};
use rramsim_hw::{ActionCounts, ArchParams, Component};

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
}

impl LayerResult {
    /// Cycles from the layer's first start to its last finish.
    pub fn span(&self) -> Cycle {
        self.end - self.start
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
    pub(crate) fn finish(mut self, tiles_used: u32, digital_used: bool) -> SimResult {
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
        }
    }
}
