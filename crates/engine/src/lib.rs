//! The cycle-level engine: a discrete-event simulation of a mapped network.
//!
//! Work items are output pixels (one per layer, image and output position),
//! processed in order of the time their inputs are ready. Every stage is a
//! resource with its own busy-until time: per replica the DAC bank, the crossbar
//! array, the ADC bank and the shift-and-add unit (advanced once per input step);
//! per tile the buffer's read and write ports, the tile adder and the ALU; the NoC
//! links (XY routing on a mesh, or one bus) and each chip's off-chip link. A
//! consumer pixel becomes ready when every producer pixel up to the last one of
//! its receptive field (in raster order) has reached its tile. The run ends when
//! the last output of the last image is written.
//!
//! The engine counts actions; energy is computed from them with the energy table
//! by [`SimResult::energy`], never inside the timing code. It knows nothing
//! about files or the CLI, and is deterministic: one thread, a total order on
//! events.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rramsim_core::{Cycle, Nanoseconds, PicoJoule};
use rramsim_graph::{Network, Op};
use rramsim_hw::{Action, ActionCounts, ArchParams, Component, NocTopology, SignedEncoding, stage_cycles};
use rramsim_map::{Mapping, Placement};

mod events;

pub use events::{Event, EventKind, EventSink, Level, NoEvents, PORTS, Unit};

const NOT_YET: u64 = u64::MAX;

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

/// Simulation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimOptions {
    /// Inputs processed back to back.
    pub batch: u32,
}

/// Which producer pixels a consumer pixel needs (as a raster-order prefix).
#[derive(Debug, Clone, Copy)]
enum Need {
    /// Element-wise: the same pixel.
    Same,
    /// Every producer pixel.
    All,
    /// A sliding window over a `width`-wide producer.
    Window { height: u64, width: u64, out_width: u64, stride: [u64; 2], reach: [u64; 2], pad: [u64; 2] },
}

impl Need {
    /// Number of leading producer pixels consumer pixel `q` needs.
    fn prefix(&self, q: u64, producer_pixels: u64) -> u64 {
        match *self {
            Need::Same => q + 1,
            Need::All => producer_pixels,
            Need::Window { height, width, out_width, stride, reach, pad } => {
                let (oy, ox) = (q / out_width, q % out_width);
                let last_y = (oy * stride[0] + reach[0]).saturating_sub(pad[0]).min(height - 1);
                let last_x = (ox * stride[1] + reach[1]).saturating_sub(pad[1]).min(width - 1);
                last_y * width + last_x + 1
            }
        }
    }

    /// Consumer pixels that read producer pixel `p` (a superset is fine: it only
    /// decides where the pixel is sent).
    fn readers(&self, p: u64, consumer_pixels: u64, out: &mut Vec<u64>) {
        out.clear();
        match *self {
            Need::Same => out.push(p),
            Need::All => out.push(0),
            Need::Window { width, out_width, stride, reach, pad, .. } => {
                let (y, x) = (p / width, p % width);
                let out_height = consumer_pixels / out_width;
                let range = |v: u64, d: usize, n: u64| {
                    let hi = ((v + pad[d]) / stride[d]).min(n.saturating_sub(1));
                    let lo = (v + pad[d]).saturating_sub(reach[d]).div_ceil(stride[d]);
                    lo..=hi
                };
                for oy in range(y, 0, out_height) {
                    for ox in range(x, 1, out_width) {
                        out.push(oy * out_width + ox);
                    }
                }
            }
        }
    }
}

/// A producer → consumer connection.
#[derive(Debug, Clone)]
struct Edge {
    producer: usize,
    consumer: usize,
    need: Need,
    /// Bytes of one producer pixel.
    bytes: u64,
}

/// What one item of a layer does, precomputed.
#[derive(Debug, Clone)]
enum Work {
    Input,
    View,
    Crossbar(Box<XbarWork>),
    /// A layer on the digital unit: `cycles` per image spread evenly over its
    /// `pixels` items; weights are read from its SRAM once per image.
    Digital {
        cycles: u64,
        pixels: u64,
        actions: ActionCounts,
        weight_bytes: u64,
    },
    Alu {
        tile: u32,
        in_bytes: u64,
        ops: u64,
        out_bytes: u64,
        actions: ActionCounts,
    },
}

#[derive(Debug, Clone)]
struct XbarWork {
    /// Index of replica 0's resources in `Sim::groups`.
    group_base: usize,
    /// Home tile and the other tiles each replica spans.
    replica_tiles: Vec<(u32, Vec<u32>)>,
    /// Per replica: its first PE's index within the home tile, and its PE count.
    replica_pes: Vec<(u32, u32)>,
    crossbars: u32,
    steps: u32,
    t_dac: u64,
    t_read: u64,
    t_sh: u64,
    t_adc: u64,
    t_sa: u64,
    in_bytes: u64,
    out_bytes: u64,
    /// Partial-sum bytes each extra spanned tile returns.
    psum_bytes: u64,
    adds: u64,
    fused_ops: u64,
    macs: u64,
    actions: ActionCounts,
}

#[derive(Debug, Clone, Copy, Default)]
struct Group {
    dac: u64,
    array: u64,
    adc: u64,
    shift_add: u64,
}

/// A shared, pipelined resource (a buffer port, the tile adder or ALU, a link):
/// its busy cycles as disjoint intervals `[start, end)`.
///
/// Items reserve shared resources at the time they will reach them, which may
/// be later than the requests of items processed after them. The resource serves
/// cycle by cycle: a request of `n` cycles takes the first `n` free cycles at or
/// after its arrival, filling gaps that earlier reservations left, so service
/// follows arrival time and not processing order. Intervals that ended before the
/// current event time can no longer matter and are pruned.
#[derive(Debug, Clone, Default)]
struct Timeline {
    busy: BTreeMap<u64, u64>,
}

impl Timeline {
    /// Reserves `n` free cycles at or after `t`; returns the cycle after the last.
    #[cfg(test)]
    fn reserve(&mut self, now: u64, t: u64, n: u64) -> u64 {
        self.reserve_span(now, t, n).1
    }

    /// Like [`Timeline::reserve`], also returning the first cycle reserved.
    fn reserve_span(&mut self, now: u64, t: u64, n: u64) -> (u64, u64) {
        if n == 0 {
            return (t, t);
        }
        while let Some((&s, &e)) = self.busy.first_key_value() {
            if e <= now {
                self.busy.remove(&s);
            } else {
                break;
            }
        }
        let mut cursor = t;
        if let Some((_, &e)) = self.busy.range(..=cursor).next_back() {
            cursor = cursor.max(e);
        }
        let mut remaining = n;
        let mut first = None;
        loop {
            let next = self.busy.range(cursor..).next().map(|(&s, &e)| (s, e));
            match next {
                Some((s, e)) if s < cursor + remaining => {
                    // Fill the gap before the next busy interval, then skip it.
                    if s > cursor {
                        remaining -= s - cursor;
                        first.get_or_insert(cursor);
                        self.insert(cursor, s);
                    }
                    cursor = e;
                }
                _ => {
                    self.insert(cursor, cursor + remaining);
                    return (first.unwrap_or(cursor), cursor + remaining);
                }
            }
        }
    }

    /// Marks `[a, b)` busy, merging with intervals that touch it.
    fn insert(&mut self, a: u64, b: u64) {
        let mut begin = a;
        let mut end = b;
        if let Some((&s, &e)) = self.busy.range(..=a).next_back() {
            if e == a {
                begin = s;
                self.busy.remove(&s);
            }
        }
        if let Some(e) = self.busy.remove(&b) {
            end = e;
        }
        self.busy.insert(begin, end);
    }
}

#[derive(Debug, Clone, Default)]
struct TileState {
    buffer_read: Timeline,
    buffer_write: Timeline,
    adder: Timeline,
    alu: Timeline,
}

/// The mutable state of a simulation and the fixed plans it follows.
struct Sim<'a, 's, S: EventSink> {
    arch: &'a ArchParams,
    sink: &'s mut S,
    /// The layer and image whose item is being processed (events name them).
    cur: (u32, u32),
    work: Vec<Work>,
    home: Vec<u32>,
    pixels: Vec<u64>,
    edges: Vec<Edge>,
    out_edges: Vec<Vec<usize>>,
    in_edges: Vec<Vec<usize>>,
    /// Per image, per edge: arrival time of each producer pixel, overwritten with
    /// the running maximum once the prefix passes it.
    arrived: Vec<Vec<Vec<u64>>>,
    /// Per image, per edge: producer pixels delivered as a contiguous prefix.
    prefix: Vec<Vec<u64>>,
    /// Per image, per layer: consumer pixels released so far.
    released: Vec<Vec<u64>>,
    /// Per image: layers' finished items (to detect the image's end).
    groups: Vec<Group>,
    tiles: Vec<TileState>,
    digital: Timeline,
    digital_busy: u64,
    /// Mesh links: per chip, per router, 4 directions + the ejection port; bus: one per chip.
    links: Vec<Timeline>,
    offchip: Vec<Timeline>,
    /// The time of the event being processed.
    now: u64,
    heap: BinaryHeap<Reverse<(u64, u32, usize, u64)>>,
    results: Vec<LayerResult>,
    image_done: Vec<u64>,
    scratch: Vec<u64>,
    tiles_seen: Vec<u32>,
    events: u64,
}

fn bytes_of(values: u64, bits: u32) -> u64 {
    (values * u64::from(bits)).div_ceil(8)
}

/// Simulates `batch` inputs through `net` as mapped by `mapping` onto `arch`.
pub fn simulate(net: &Network, arch: &ArchParams, mapping: &Mapping, options: SimOptions) -> SimResult {
    simulate_with(net, arch, mapping, options, &mut NoEvents)
}

/// [`simulate`], reporting every event to `sink`. The result is the same
/// whichever sink listens.
pub fn simulate_with<S: EventSink>(
    net: &Network,
    arch: &ArchParams,
    mapping: &Mapping,
    options: SimOptions,
    sink: &mut S,
) -> SimResult {
    let mut sim = Sim::new(net, arch, mapping, options.batch.max(1), sink);
    sim.run(net);
    let actions = sim.results.iter().fold(ActionCounts::default(), |acc, l| acc + l.actions);
    let image_done: Vec<Cycle> = sim.image_done.iter().map(|&t| Cycle(t)).collect();
    SimResult {
        total_cycles: image_done.iter().copied().max().unwrap_or(Cycle::ZERO),
        image_done,
        layers: sim.results,
        actions,
        events: sim.events,
        tiles_used: mapping.tiles_used,
        digital_used: sim.work.iter().any(|w| matches!(w, Work::Digital { .. })),
        digital_busy_cycles: sim.digital_busy,
    }
}

impl<'a, 's, S: EventSink> Sim<'a, 's, S> {
    fn new(net: &Network, arch: &'a ArchParams, mapping: &Mapping, batch: u32, sink: &'s mut S) -> Self {
        let a_bits = arch.activation_bits;
        let n = net.len();
        let pixels: Vec<u64> = net.ids().map(|id| mapping.layer(id).pixels).collect();
        let home: Vec<u32> = net.ids().map(|id| mapping.home_tile(arch, id)).collect();
        let mut groups = 0usize;
        let mut work = Vec::with_capacity(n);
        for id in net.ids() {
            let w = match &mapping.layer(id).placement {
                Placement::Input { .. } => Work::Input,
                Placement::View { .. } | Placement::Fused { .. } => Work::View,
                Placement::Crossbars { layout, replicas } => {
                    let base = groups;
                    groups += replicas.len();
                    let stages = stage_cycles(arch, layout.max_rows, layout.max_cols);
                    let steps = arch.input_steps();
                    let k_total = u64::from(layout.groups) * u64::from(layout.rows_per_group);
                    let n_total = u64::from(layout.groups) * u64::from(layout.outputs_per_group);
                    let in_bytes = bytes_of(k_total, a_bits);
                    let out_bytes = bytes_of(n_total, a_bits);
                    let mut adds = u64::from(layout.row_tiles - 1) * n_total;
                    if arch.encoding == SignedEncoding::OffsetDigital {
                        // Σx once per pixel, and one subtraction of offset·Σx per output.
                        adds += k_total + n_total;
                    }
                    let fused_ops = net
                        .consumers(id)
                        .iter()
                        .filter(|c| matches!(mapping.layer(**c).placement, Placement::Fused { .. }))
                        .count() as u64
                        * n_total;
                    let s = u64::from(steps);
                    let mut act = ActionCounts::default();
                    act[Action::DacConversion] = layout.rows_driven * s;
                    act[Action::CrossbarRead] =
                        u64::from(layout.crossbars) * u64::from(arch.reads_per_step(layout.max_rows)) * s;
                    act[Action::SampleHold] = layout.cols_converted * s;
                    act[Action::AdcConversion] = layout.cols_converted * s;
                    act[Action::ShiftAdd] = layout.cols_converted * s;
                    act[Action::InputRegisterByte] = bytes_of(layout.rows_driven, a_bits);
                    act[Action::OutputRegisterByte] = out_bytes;
                    act[Action::BufferReadByte] = in_bytes;
                    act[Action::BufferWriteByte] = out_bytes;
                    act[Action::TileAdd] = adds;
                    act[Action::AluOp] = fused_ops;
                    let replica_pes = replicas.iter().map(|r| (r.first_pe % arch.tile.pes, r.pes)).collect();
                    let replica_tiles = replicas
                        .iter()
                        .map(|r| {
                            let first = r.first_pe / arch.tile.pes;
                            let last = (r.first_pe + r.pes - 1) / arch.tile.pes;
                            (first, (first + 1..=last).collect())
                        })
                        .collect();
                    let stats = net.stats(id);
                    Work::Crossbar(Box::new(XbarWork {
                        group_base: base,
                        replica_tiles,
                        replica_pes,
                        crossbars: layout.crossbars,
                        steps,
                        t_dac: stages.dac.get(),
                        t_read: stages.read.get(),
                        t_sh: stages.sample_hold.get(),
                        t_adc: stages.adc.get(),
                        t_sa: stages.shift_add.get(),
                        in_bytes,
                        out_bytes,
                        // 32-bit partial sums per output.
                        psum_bytes: n_total * 4,
                        adds,
                        fused_ops,
                        macs: stats.macs / pixels[id.0].max(1),
                        actions: act,
                    }))
                }
                Placement::Digital { gemm, cycles } => {
                    let w_bits = arch.weight_bits;
                    let mut act = ActionCounts::default();
                    act[Action::DigitalMac] = gemm.k * gemm.m * gemm.groups;
                    // One input vector read and one output vector written per pixel.
                    act[Action::DigitalSramByte] =
                        bytes_of(gemm.k * gemm.groups, a_bits) + bytes_of(gemm.m * gemm.groups, a_bits);
                    Work::Digital {
                        cycles: *cycles,
                        pixels: pixels[id.0],
                        actions: act,
                        weight_bytes: bytes_of(gemm.k * gemm.m * gemm.groups, w_bits),
                    }
                }
                Placement::Alu { tile } => {
                    let layer = net.layer(id);
                    let ins = net.input_shapes(id);
                    let c = net.output_shape(id).channels as u64;
                    let (in_values, ops) = match &layer.op {
                        Op::Pool(p) => {
                            let k = (p.kernel[0] * p.kernel[1]) as u64;
                            (c * k, c * k)
                        }
                        Op::GlobalAvgPool => {
                            let e = ins[0].elements() as u64;
                            (e, e)
                        }
                        Op::Add => (c * ins.len() as u64, c * (ins.len() as u64 - 1)),
                        Op::Concat => (c, c),
                        Op::BatchNorm(_) => (c, 2 * c),
                        _ => (c, c),
                    };
                    let in_bytes = bytes_of(in_values, a_bits);
                    let out_bytes = bytes_of(c, a_bits);
                    let mut act = ActionCounts::default();
                    act[Action::BufferReadByte] = in_bytes;
                    act[Action::AluOp] = ops;
                    act[Action::BufferWriteByte] = out_bytes;
                    Work::Alu { tile: *tile, in_bytes, ops, out_bytes, actions: act }
                }
            };
            work.push(w);
        }
        // Edges.
        let mut edges = Vec::new();
        let mut out_edges = vec![Vec::new(); n];
        let mut in_edges = vec![Vec::new(); n];
        for id in net.ids() {
            for &p in net.inputs(id) {
                let ps = net.output_shape(p);
                let need = match &net.layer(id).op {
                    Op::Conv2d(c) => window(
                        ps,
                        net.output_shape(id),
                        c.kernel,
                        c.stride,
                        c.dilation,
                        [c.padding.top, c.padding.left],
                    ),
                    Op::Pool(pl) => window(
                        ps,
                        net.output_shape(id),
                        pl.kernel,
                        pl.stride,
                        [1, 1],
                        [pl.padding.top, pl.padding.left],
                    ),
                    Op::Linear(_) | Op::GlobalAvgPool | Op::Flatten | Op::Reshape { .. } => Need::All,
                    _ => Need::Same,
                };
                let e = edges.len();
                edges.push(Edge { producer: p.0, consumer: id.0, need, bytes: bytes_of(ps.channels as u64, a_bits) });
                out_edges[p.0].push(e);
                in_edges[id.0].push(e);
            }
        }
        let batch = batch as usize;
        let arrived =
            (0..batch).map(|_| edges.iter().map(|e| vec![NOT_YET; pixels[e.producer] as usize]).collect()).collect();
        let link_count = match arch.noc.topology {
            NocTopology::Mesh { width, height, .. } => (width * height * 5) as usize,
            NocTopology::Bus => 1,
        } * arch.node.chips as usize;
        let tiles = (arch.tiles_per_chip * arch.node.chips) as usize;
        Sim {
            arch,
            sink,
            cur: (0, 0),
            work,
            home,
            pixels,
            out_edges,
            in_edges,
            arrived,
            prefix: vec![vec![0; edges.len()]; batch],
            released: vec![vec![0; n]; batch],
            edges,
            groups: vec![Group::default(); groups],
            tiles: vec![TileState::default(); tiles],
            digital: Timeline::default(),
            digital_busy: 0,
            links: vec![Timeline::default(); link_count],
            offchip: vec![Timeline::default(); arch.node.chips as usize],
            now: 0,
            heap: BinaryHeap::new(),
            results: vec![LayerResult { start: Cycle(u64::MAX), ..LayerResult::default() }; n],
            image_done: vec![0; batch],
            scratch: Vec::new(),
            tiles_seen: Vec::new(),
            events: 0,
        }
    }

    fn run(&mut self, net: &Network) {
        let input = net.input().0;
        for image in 0..self.image_done.len() {
            for p in 0..self.pixels[input] {
                self.cur = (input as u32, image as u32);
                self.complete(image, input, p, 0);
            }
        }
        while let Some(Reverse((ready, image, layer, pixel))) = self.heap.pop() {
            self.events += 1;
            self.now = ready;
            self.cur = (layer as u32, image);
            let done = self.process(layer, pixel, ready);
            let r = &mut self.results[layer];
            r.start = r.start.min(Cycle(ready));
            r.end = r.end.max(Cycle(done));
            r.items += 1;
            self.complete(image as usize, layer, pixel, done);
        }
        for r in &mut self.results {
            if r.start.get() == u64::MAX {
                r.start = Cycle::ZERO;
            }
        }
    }

    /// Reports an event of the current item to the sink.
    #[inline(always)]
    fn emit(&mut self, kind: EventKind, unit: Unit, start: u64, end: u64, amount: u64) {
        if S::ENABLED {
            let (layer, image) = self.cur;
            self.sink.event(&Event { kind, unit, layer, image, start, end, amount });
        }
    }

    /// Runs one item from `ready`; returns when its output is in its tile's buffer.
    fn process(&mut self, layer: usize, pixel: u64, ready: u64) -> u64 {
        match &self.work[layer] {
            Work::Input | Work::View => ready,
            &Work::Digital { cycles, pixels, actions, weight_bytes } => {
                // Pixel q's share of the layer's cycles; the shares add up exactly.
                let cost = (pixel + 1) * cycles / pixels - pixel * cycles / pixels;
                let (first, done) = self.digital.reserve_span(self.now, ready, cost);
                self.digital_busy += cost;
                if S::ENABLED && cost > 0 {
                    self.emit(EventKind::Digital, Unit::Digital, first, done, actions[Action::DigitalMac]);
                    self.emit(EventKind::Item, Unit::Digital, ready, done, 1);
                }
                let res = &mut self.results[layer];
                res.actions += actions;
                res.macs += actions[Action::DigitalMac];
                if pixel == 0 {
                    res.actions[Action::DigitalSramByte] += weight_bytes;
                }
                done
            }
            Work::Alu { tile, in_bytes, ops, out_bytes, actions } => {
                let (tile, in_bytes, ops, out_bytes, actions) = (*tile as usize, *in_bytes, *ops, *out_bytes, *actions);
                let t = self.tile_unit(tile, EventKind::BufferRead, in_bytes, ready);
                let t = self.tile_unit(tile, EventKind::Alu, ops, t);
                let done = self.tile_unit(tile, EventKind::BufferWrite, out_bytes, t);
                self.results[layer].actions += actions;
                self.emit(EventKind::Item, Unit::Tile { tile: tile as u32 }, ready, done, 1);
                done
            }
            Work::Crossbar(w) => {
                let w: &XbarWork = w;
                let replicas = w.replica_tiles.len() as u64;
                let r = (pixel % replicas) as usize;
                let (home, ref others) = w.replica_tiles[r];
                let others = others.clone();
                let (pe, pes) = w.replica_pes[r];
                let crossbars = w.crossbars;
                let a = w.actions;
                let stage_amounts =
                    [a[Action::DacConversion], a[Action::CrossbarRead], a[Action::AdcConversion], a[Action::ShiftAdd]];
                let (steps, t_dac, t_read, t_sh, t_adc, t_sa) = (w.steps, w.t_dac, w.t_read, w.t_sh, w.t_adc, w.t_sa);
                let (in_bytes, out_bytes, psum_bytes, adds, fused_ops, macs, actions) =
                    (w.in_bytes, w.out_bytes, w.psum_bytes, w.adds, w.fused_ops, w.macs, w.actions);
                let g = w.group_base + r;
                let home = home as usize;
                let mut t = self.tile_unit(home, EventKind::BufferRead, in_bytes, ready);
                let mut counts = actions;
                // A replica wider than a tile: its inputs go to the other tiles.
                let start = t;
                for &o in &others {
                    t = t.max(self.transfer(home as u32, o, in_bytes, start, &mut counts));
                }
                let mut grp = self.groups[g];
                let mut last = t;
                // First start of each stage: DAC, array, ADC (with S&H), S&A.
                let mut first = [0u64; 4];
                for step in 0..steps {
                    if S::ENABLED && step == 0 {
                        first[0] = t.max(grp.dac);
                        first[1] = (first[0] + t_dac).max(grp.array);
                        first[2] = (first[1] + t_read).max(grp.adc);
                        first[3] = (first[2] + t_sh + t_adc).max(grp.shift_add);
                    }
                    let dac = t.max(grp.dac) + t_dac;
                    grp.dac = dac;
                    let read = dac.max(grp.array) + t_read;
                    grp.array = read;
                    let adc = (read + t_sh).max(grp.adc) + t_adc;
                    grp.adc = adc;
                    let sa = adc.max(grp.shift_add) + t_sa;
                    grp.shift_add = sa;
                    last = sa;
                }
                self.groups[g] = grp;
                if S::ENABLED && steps > 0 {
                    let home = home as u32;
                    let xbars = Unit::Xbars { tile: home, pe, crossbars };
                    self.emit(EventKind::Mvm, Unit::Pe { tile: home, pe, pes }, first[0], last, u64::from(steps));
                    let ends = [grp.dac, grp.array, grp.adc, grp.shift_add];
                    let kinds = [EventKind::Dac, EventKind::Array, EventKind::Adc, EventKind::ShiftAdd];
                    for i in 0..4 {
                        self.emit(kinds[i], xbars, first[i], ends[i], stage_amounts[i]);
                    }
                }
                let mut t = last;
                for &o in &others {
                    t = t.max(self.transfer(o, home as u32, psum_bytes, last, &mut counts));
                }
                if adds > 0 {
                    t = self.tile_unit(home, EventKind::Adder, adds, t);
                }
                if fused_ops > 0 {
                    t = self.tile_unit(home, EventKind::Alu, fused_ops, t);
                }
                let done = self.tile_unit(home, EventKind::BufferWrite, out_bytes, t);
                let res = &mut self.results[layer];
                res.actions += counts;
                res.macs += macs;
                self.emit(EventKind::Item, Unit::Tile { tile: home as u32 }, ready, done, 1);
                done
            }
        }
    }

    /// Reserves tile `tile`'s buffer read or write port, adder or ALU (`kind`)
    /// for `amount` bytes or operations from `t`; returns when the result is
    /// ready, after the unit's latency.
    fn tile_unit(&mut self, tile: usize, kind: EventKind, amount: u64, t: u64) -> u64 {
        let arch = &self.arch.tile;
        let state = &mut self.tiles[tile];
        let (timeline, per_cycle, latency) = match kind {
            EventKind::BufferRead => (&mut state.buffer_read, arch.buffer.read_bytes_per_cycle, arch.buffer.latency),
            EventKind::BufferWrite => (&mut state.buffer_write, arch.buffer.write_bytes_per_cycle, arch.buffer.latency),
            EventKind::Adder => (&mut state.adder, arch.adder.lanes, arch.adder.latency),
            EventKind::Alu => (&mut state.alu, arch.alu.lanes, arch.alu.latency),
            other => unreachable!("{other:?} is not a tile unit"),
        };
        let occupancy = amount.div_ceil(u64::from(per_cycle));
        let (first, end) = timeline.reserve_span(self.now, t, occupancy);
        if occupancy > 0 {
            self.emit(kind, Unit::Tile { tile: tile as u32 }, first, end, amount);
        }
        end + latency.get()
    }

    /// Moves `bytes` from tile `src` to tile `dst` starting at `t`; returns the
    /// arrival of the last flit and counts flit-hops and off-chip bytes.
    fn transfer(&mut self, src: u32, dst: u32, bytes: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        if src == dst || bytes == 0 {
            return t;
        }
        let arch = self.arch;
        let per_chip = arch.tiles_per_chip;
        let (src_chip, dst_chip) = (src / per_chip, dst / per_chip);
        let flits = bytes.div_ceil(u64::from(arch.noc.flit_bytes));
        let router = |tile: u32| match arch.noc.topology {
            NocTopology::Mesh { concentration, .. } => (tile % per_chip) / concentration,
            NocTopology::Bus => 0,
        };
        if src_chip == dst_chip {
            return self.route(src_chip, router(src), router(dst), flits, t, counts);
        }
        // Through the chip's I/O router (router 0) and the off-chip links.
        let t = self.route(src_chip, router(src), 0, flits, t, counts);
        let occupancy = (bytes as f64 / arch.node.offchip_bytes_per_cycle).ceil() as u64;
        let (first, end) = self.offchip[src_chip as usize].reserve_span(self.now, t, occupancy);
        self.emit(EventKind::Offchip, Unit::Offchip { chip: src_chip }, first, end, bytes);
        counts[Action::OffchipByte] += bytes;
        let t = end + arch.node.offchip_latency.get();
        self.route(dst_chip, 0, router(dst), flits, t, counts)
    }

    /// XY routing from router `a` to router `b` of `chip`, ending in `b`'s
    /// ejection port. Each link carries the `flits` one per free cycle; the head
    /// reaches the next router one hop latency after it enters a link, so an
    /// uncontended transfer over `k` links (ejection included) arrives
    /// `k · hop_latency + flits` cycles after it starts.
    fn route(&mut self, chip: u32, a: u32, b: u32, flits: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        let (hops, end) = match self.arch.noc.topology {
            NocTopology::Bus => (1, self.cross(chip as usize, Unit::Link { chip, router: 0, port: 0 }, flits, t).1),
            NocTopology::Mesh { width, height, .. } => {
                let base = (chip * width * height * 5) as usize;
                let mut link = |router: u32, port: u8, t: u64| {
                    let l = base + (router * 5 + u32::from(port)) as usize;
                    self.cross(l, Unit::Link { chip, router, port }, flits, t)
                };
                let mut t = t;
                let mut hops = 1u64;
                let (mut x, mut y) = (a % width, a / width);
                let (bx, by) = (b % width, b / width);
                while x != bx {
                    t = link(y * width + x, if bx > x { 0 } else { 1 }, t).0;
                    x = if bx > x { x + 1 } else { x - 1 };
                    hops += 1;
                }
                while y != by {
                    t = link(y * width + x, if by > y { 2 } else { 3 }, t).0;
                    y = if by > y { y + 1 } else { y - 1 };
                    hops += 1;
                }
                (hops, link(b, 4, t).1)
            }
        };
        counts[Action::NocFlitHop] += flits * hops;
        end + self.arch.noc.hop_latency.get()
    }

    /// Sends `flits` over link `l` from `t`: returns when the head reaches the
    /// next router, and when the tail left the link.
    fn cross(&mut self, l: usize, unit: Unit, flits: u64, t: u64) -> (u64, u64) {
        let (first, end) = self.links[l].reserve_span(self.now, t, flits);
        self.emit(EventKind::Link, unit, first, end, flits);
        (end - flits + self.arch.noc.hop_latency.get(), end)
    }

    /// Producer pixel `p` of `layer` is in its tile's buffer at `t`: send it to its
    /// readers, advance their inputs, and release the consumer pixels now ready.
    fn complete(&mut self, image: usize, layer: usize, p: u64, t: u64) {
        self.cur = (layer as u32, image as u32);
        let layer_pixels = self.pixels[layer];
        // An image is done when its last output layer's pixels are all written.
        if self.out_edges[layer].is_empty() {
            self.image_done[image] = self.image_done[image].max(t);
        }
        for ei in 0..self.out_edges[layer].len() {
            let e = self.out_edges[layer][ei];
            let (consumer, need, bytes) = (self.edges[e].consumer, self.edges[e].need, self.edges[e].bytes);
            // Where the pixel goes: the tiles of the consumer replicas that read it.
            let mut arrival = t;
            let src = self.home_of_output(layer, p);
            let dests = self.reader_tiles(consumer, need, p);
            let mut counts = ActionCounts::default();
            for &d in &dests {
                arrival = arrival.max(self.transfer(src, d, bytes, t, &mut counts));
            }
            self.tiles_seen = dests;
            self.results[layer].actions += counts;
            // Record and advance the delivered prefix.
            let arr = &mut self.arrived[image][e];
            arr[p as usize] = arrival;
            let mut k = self.prefix[image][e];
            let mut running = if k > 0 { arr[k as usize - 1] } else { 0 };
            while k < layer_pixels && arr[k as usize] != NOT_YET {
                running = running.max(arr[k as usize]);
                arr[k as usize] = running;
                k += 1;
            }
            self.prefix[image][e] = k;
            self.release(image, consumer);
        }
    }

    /// The tile where producer pixel `p` of `layer` was written.
    fn home_of_output(&self, layer: usize, p: u64) -> u32 {
        match &self.work[layer] {
            Work::Crossbar(w) => w.replica_tiles[(p % w.replica_tiles.len() as u64) as usize].0,
            // An element-wise view (a fused activation, identity) holds its
            // producer's pixel wherever the producer wrote it.
            Work::View => match self.in_edges[layer].as_slice() {
                [e] if matches!(self.edges[*e].need, Need::Same) => self.home_of_output(self.edges[*e].producer, p),
                _ => self.home[layer],
            },
            _ => self.home[layer],
        }
    }

    /// Distinct tiles that need producer pixel `p` for `consumer` (reuses a buffer).
    fn reader_tiles(&mut self, consumer: usize, need: Need, p: u64) -> Vec<u32> {
        let mut tiles = std::mem::take(&mut self.tiles_seen);
        tiles.clear();
        match &self.work[consumer] {
            Work::Crossbar(w) if w.replica_tiles.len() > 1 => {
                let mut readers = std::mem::take(&mut self.scratch);
                need.readers(p, self.pixels[consumer], &mut readers);
                let n = w.replica_tiles.len() as u64;
                for &q in &readers {
                    let tile = w.replica_tiles[(q % n) as usize].0;
                    if !tiles.contains(&tile) {
                        tiles.push(tile);
                    }
                }
                self.scratch = readers;
            }
            _ => tiles.push(self.home_of_output(consumer, 0)),
        }
        tiles
    }

    /// Pushes every consumer pixel whose inputs have all arrived.
    fn release(&mut self, image: usize, consumer: usize) {
        let total = self.pixels[consumer];
        let mut q = self.released[image][consumer];
        while q < total {
            let mut ready = 0u64;
            let mut ok = true;
            for &e in &self.in_edges[consumer] {
                let edge = &self.edges[e];
                let needed = edge.need.prefix(q, self.pixels[edge.producer]);
                if self.prefix[image][e] < needed {
                    ok = false;
                    break;
                }
                ready = ready.max(self.arrived[image][e][needed as usize - 1]);
            }
            if !ok {
                break;
            }
            self.heap.push(Reverse((ready, image as u32, consumer, q)));
            q += 1;
        }
        self.released[image][consumer] = q;
    }
}

fn window(
    producer: rramsim_graph::Shape,
    consumer: rramsim_graph::Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
) -> Need {
    Need::Window {
        height: producer.height as u64,
        width: producer.width as u64,
        out_width: consumer.width as u64,
        stride: [stride[0] as u64, stride[1] as u64],
        reach: [(dilation[0] * (kernel[0] - 1)) as u64, (dilation[1] * (kernel[1] - 1)) as u64],
        pad: [pad[0] as u64, pad[1] as u64],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_serves_free_cycles_in_arrival_order() {
        let mut t = Timeline::default();
        // Busy [10, 20).
        assert_eq!(t.reserve(0, 10, 10), 20);
        // A request arriving at 9 for one cycle fits before: done at 10, not 11.
        assert_eq!(t.reserve(0, 9, 1), 10);
        // Arriving at 9 for two cycles: cycle 9 is taken now, so 8 is free…
        assert_eq!(t.reserve(0, 8, 1), 9);
        // …and a request at 5 for 4 cycles takes 5..8 and ends at 8, not earlier.
        assert_eq!(t.reserve(0, 5, 3), 8);
        // Busy is now [5, 20): a 2-cycle request at 5 waits for 20.
        assert_eq!(t.reserve(0, 5, 2), 22);
        // Gaps are filled cycle by cycle: [30, 31) busy, 3 cycles from 29 take 29, 31, 32.
        assert_eq!(t.reserve(0, 30, 1), 31);
        assert_eq!(t.reserve(0, 29, 3), 33);
        // A split reservation reports its first cycle: [40, 41) busy, 2 cycles from 39 take 39 and 41.
        assert_eq!(t.reserve(0, 40, 1), 41);
        assert_eq!(t.reserve_span(0, 39, 2), (39, 42));
        // Intervals that ended before `now` are forgotten.
        assert_eq!(t.reserve(100, 100, 1), 101);
        assert_eq!(t.busy.len(), 1);
    }

    #[test]
    fn window_needs_the_last_pixel_of_the_receptive_field() {
        // 3x3 conv, stride 1, padding 1 on an 8x8 input.
        let need = Need::Window { height: 8, width: 8, out_width: 8, stride: [1, 1], reach: [2, 2], pad: [1, 1] };
        // Output (0, 0) reads rows 0..=1, cols 0..=1: the prefix up to (1, 1).
        assert_eq!(need.prefix(0, 64), 10);
        // Output (7, 7) reads up to (7, 7) (clamped): all 64.
        assert_eq!(need.prefix(63, 64), 64);
        let mut readers = Vec::new();
        need.readers(9, 64, &mut readers);
        // Input (1, 1) is read by outputs (0..=2, 0..=2).
        assert_eq!(readers, vec![0, 1, 2, 8, 9, 10, 16, 17, 18]);
        Need::Same.readers(5, 64, &mut readers);
        assert_eq!(readers, vec![5]);
    }
}
