//! The cycle-level engine: a discrete-event simulation of a mapped network.
//!
//! Work items are output pixels (one per layer, image and output position),
//! processed in order of the time their inputs are ready. Every stage is a
//! resource with its own busy-until time: per replica the stage pipeline of
//! `rramsim-hw` (DAC bank, crossbar array, sample-and-hold, ADC bank,
//! shift-and-add; advanced once per input step by `StageCycles::advance`, the
//! recurrence whose closed form `check` and the mapper use); per tile the
//! buffer's read and write ports, the tile adder and the ALU; the NoC links (XY
//! routing on a mesh, or one bus) and each chip's off-chip link. A consumer
//! pixel becomes ready when every producer pixel up to the last one of its
//! receptive field (in raster order) has reached its tiles: a replica that
//! spans several tiles gets each producer pixel once per tile (a multicast of
//! the channels each tile reads), forms its windows in each tile, and reduces
//! its partial sums in each tile's adder and then in a tree across its tiles.
//! The run ends when the last output of the last image is written.
//!
//! Modules: `plan` is what is fixed before the first cycle (per-layer work,
//! edges), `state` what changes (busy times, readiness, the heap), `stats`
//! what is reported, `events` what a sink sees. The event loop borrows the
//! plan while it mutates the state and allocates nothing per item.
//!
//! The engine counts actions; energy is computed from them with the energy table
//! by [`SimResult::energy`], never inside the timing code. It knows nothing
//! about files or the CLI, and is deterministic: one thread, a total order on
//! events.

use std::cmp::Reverse;

use rramsim_core::Cycle;
use rramsim_graph::Network;
use rramsim_hw::{Action, ArchParams, Stage};
use rramsim_map::Mapping;

mod events;
mod plan;
mod state;
mod stats;

pub use events::{Event, EventKind, EventSink, Level, NoEvents, PORTS, Unit};
pub use stats::{Bound, BufferDeadlock, BufferSlot, BufferUse, LayerResult, Resource, SimResult};

use plan::{Plan, UNBOUNDED, Work};
use state::{ITEM, NOT_YET, Pending, State, WRITE};
use stats::Stats;

/// Simulation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimOptions {
    /// Inputs processed back to back.
    pub batch: u32,
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
    let plan = Plan::new(net, arch, mapping, options.batch.max(1));
    let mut sim =
        Sim { state: State::new(&plan, arch, sink), stats: Stats::new(plan.work.len(), plan.batch), plan: &plan };
    sim.run();
    let busiest = sim.state.res.busiest();
    layer_busy(&plan, &sim.state.res, &mut sim.stats.layers);
    let mut result = sim.stats.finish(mapping.tiles_used, plan.uses_digital(), &plan, &sim.state.ready);
    result.busiest = Resource::ALL.iter().map(|&r| (r, busiest[r as usize])).collect();
    result
}

/// Fills every layer's `busy`: per kind of resource, the most cycles one
/// instance spent on the layer's work.
fn layer_busy<S: EventSink>(plan: &Plan, res: &state::Resources<'_, '_, S>, layers: &mut [LayerResult]) {
    let mut see = |r: Resource, t: &state::Timeline| {
        for &(l, cycles) in &t.by_layer {
            let b = &mut layers[l as usize].busy[r as usize];
            *b = (*b).max(cycles);
        }
    };
    for tile in &res.tiles {
        see(Resource::Buffer, &tile.buffer_read);
        see(Resource::Buffer, &tile.buffer_write);
        see(Resource::Alu, &tile.adder);
        see(Resource::Alu, &tile.alu);
    }
    for l in &res.links {
        see(Resource::Noc, l);
    }
    for o in &res.offchip {
        see(Resource::Offchip, o);
    }
    see(Resource::Digital, &res.digital);
    for (l, w) in plan.work.iter().enumerate() {
        if let Work::Crossbar(w) = w {
            for r in &w.replicas {
                let s = &res.stage_busy[r.group];
                let b = &mut layers[l].busy;
                let crossbar = s[Stage::Dac as usize].max(s[Stage::Read as usize]);
                let adc = s[Stage::SampleHold as usize].max(s[Stage::Adc as usize]).max(s[Stage::ShiftAdd as usize]);
                b[Resource::Crossbar as usize] = b[Resource::Crossbar as usize].max(crossbar);
                b[Resource::Adc as usize] = b[Resource::Adc as usize].max(adc);
            }
        }
    }
}

/// Bytes the state of a simulation of `batch` inputs allocates up front: the
/// per-image readiness tables (one arrival time per producer pixel of every
/// edge, prefix and release counters) and the busy times of every crossbar
/// group, tile, link and chip of the node. For callers that check a memory
/// budget before [`simulate`]; computed without allocating the state. Not
/// counted: the heap and the results waiting for room, which grow with the
/// items in flight (at most one waiting result per output register).
pub fn state_bytes(net: &Network, arch: &ArchParams, mapping: &Mapping, batch: u32) -> u128 {
    use std::mem::size_of;
    let plan = Plan::new(net, arch, mapping, 1);
    let word = size_of::<u64>() as u128;
    let arrivals: u128 = plan.edges.iter().map(|e| u128::from(plan.pixels[e.producer])).sum();
    let per_image = (arrivals + (plan.edges.len() + plan.work.len() + 1) as u128) * word;
    let timeline = size_of::<state::Timeline>() as u128;
    let node = plan.groups as u128 * size_of::<rramsim_hw::StageBusy>() as u128
        + plan.tiles as u128 * size_of::<state::TileState>() as u128
        + (plan.links + plan.chips) as u128 * timeline;
    u128::from(batch.max(1)) * per_image + node
}

/// A run: the fixed plan, the state it mutates and the statistics it keeps.
struct Sim<'p, 'a, 's, S: EventSink> {
    plan: &'p Plan,
    state: State<'a, 's, S>,
    stats: Stats,
}

impl<S: EventSink> Sim<'_, '_, '_, S> {
    fn run(&mut self) {
        let input = self.plan.input;
        for image in 0..self.plan.batch {
            for p in 0..self.plan.pixels[input] {
                self.complete(image, input, p, 0);
            }
        }
        while let Some(Reverse((t, kind, image, layer, x))) = self.state.ready.heap.pop() {
            self.state.res.now = t;
            self.state.res.out.cur = (layer as u32, image);
            if kind == WRITE {
                // A computed result whose room was not known when it was
                // processed: every free at or before `t` has been made since.
                self.try_write(x as u32);
                continue;
            }
            let (read, pre, done, unit) = self.process(layer, x, t);
            self.issue(image as usize, layer, x, read);
            let p = Pending { image, layer, pixel: x, ready: t, pre, done, unit };
            let ready = &mut self.state.ready;
            match ready.room(self.plan, image as usize, layer, x, 0) {
                Ok(free) => self.write(p, free),
                Err(_) => {
                    let i = match ready.vacant.pop() {
                        Some(i) => {
                            ready.pending[i as usize] = p;
                            i
                        }
                        None => {
                            ready.pending.push(p);
                            (ready.pending.len() - 1) as u32
                        }
                    };
                    ready.heap.push(Reverse((pre, WRITE, image, layer, u64::from(i))));
                }
            }
        }
    }

    /// Writes pending result `i` if it has room in its rings by now, or parks
    /// it on the first edge where it has not.
    fn try_write(&mut self, i: u32) {
        let ready = &mut self.state.ready;
        let p = ready.pending[i as usize];
        match ready.room(self.plan, p.image as usize, p.layer, p.pixel, 0) {
            Ok(free) => {
                ready.vacant.push(i);
                self.write(p, free);
            }
            Err((e, k)) => ready.parked[e].push(Reverse((k, i))),
        }
    }

    /// Writes the result `p` whose room in its rings was freed at `free`: the
    /// write starts when both the result and the room are there, and it takes
    /// the cycles it would have taken at `p.pre`. The result then takes its
    /// place in its readers' buffers and is sent to them.
    fn write(&mut self, p: Pending, free: u64) {
        let (image, layer) = (p.image as usize, p.layer);
        let written = p.done + free.max(p.pre) - p.pre;
        let ready = &mut self.state.ready;
        ready.stall[layer] += written - p.done;
        for &e in &self.plan.out_edges[layer] {
            if self.plan.edges[e].ring != UNBOUNDED {
                ready.hold(self.plan, image, e);
            }
        }
        let out = &mut self.state.res.out;
        out.cur = (layer as u32, p.image);
        if let Some(unit) = p.unit {
            out.emit(EventKind::Item, unit, p.ready, written, 1);
        }
        self.stats.item(layer, p.ready, written);
        self.complete(image, layer, p.pixel, written);
    }

    /// Buffer liveness when an item is issued: once its reads end (at `read`)
    /// they free the producer pixels nothing later reads, writing results
    /// that waited for the room and waking items held back by their full
    /// output registers.
    fn issue(&mut self, image: usize, layer: usize, pixel: u64, read: u64) {
        let plan = self.plan;
        for &e in &plan.in_edges[layer] {
            let edge = &plan.edges[e];
            if edge.ring == UNBOUNDED {
                continue;
            }
            let ready = &mut self.state.ready;
            let freed = edge.need.freed(pixel, plan.pixels[edge.producer], plan.pixels[layer]);
            ready.free(plan, image, e, freed, read);
            let head = ready.freed_seq(e, plan.pixels[edge.producer]);
            let mut woken = std::mem::take(&mut self.state.scratch.woken);
            while let Some(&Reverse((k, i))) = ready.parked[e].peek() {
                if k >= head {
                    break;
                }
                ready.parked[e].pop();
                woken.push(i);
            }
            // In order of the pixels they waited for (ties: their index in
            // `pending`); a result may still wait for room in another ring.
            for &i in &woken {
                self.try_write(i);
            }
            woken.clear();
            self.state.scratch.woken = woken;
            for &waiter in &plan.waiters[e] {
                for i in 0..plan.batch {
                    release(plan, &mut self.state.ready, i, waiter, self.state.res.now);
                }
            }
        }
    }

    /// Runs one item from `ready`; returns when it has read its inputs, when
    /// its result is ready to be written, when it is in its tile's buffer if
    /// written then, and the unit its item event is reported on.
    fn process(&mut self, layer: usize, pixel: u64, ready: u64) -> (u64, u64, u64, Option<Unit>) {
        let res = &mut self.state.res;
        let result = &mut self.stats.layers[layer];
        match &self.plan.work[layer] {
            Work::Input | Work::View => (ready, ready, ready, None),
            &Work::Digital { cycles, pixels, actions, weight_bytes } => {
                // Pixel q's share of the layer's cycles; the shares add up exactly.
                let cost = (pixel + 1) * cycles / pixels - pixel * cycles / pixels;
                let (first, done) = res.digital.reserve_span(res.now, layer as u32, ready, cost);
                self.stats.digital_busy += cost;
                if S::ENABLED && cost > 0 {
                    res.out.emit(EventKind::Digital, Unit::Digital, first, done, actions[Action::DigitalMac]);
                }
                result.actions += actions;
                result.macs += actions[Action::DigitalMac];
                if pixel == 0 {
                    result.actions[Action::DigitalSramByte] += weight_bytes;
                }
                (first, done, done, (cost > 0).then_some(Unit::Digital))
            }
            Work::Alu { tiles, in_bytes, ops, out_bytes, actions } => {
                let (in_bytes, ops, out_bytes, actions) = (*in_bytes, *ops, *out_bytes, *actions);
                let tile = tiles[(pixel % tiles.len() as u64) as usize] as usize;
                let read = res.tile_unit(tile, EventKind::BufferRead, in_bytes, ready);
                let t = res.tile_unit(tile, EventKind::Alu, ops, read);
                let done = res.tile_unit(tile, EventKind::BufferWrite, out_bytes, t);
                result.actions += actions;
                (read, t, done, Some(Unit::Tile { tile: tile as u32 }))
            }
            Work::Crossbar(w) => {
                let replica = &w.replicas[(pixel % w.replicas.len() as u64) as usize];
                let home = replica.home as usize;
                // Each part forms its window from the pixels in its own buffer.
                let mut t = ready;
                for part in &replica.parts {
                    t = t.max(res.tile_unit(part.tile as usize, EventKind::BufferRead, part.read_bytes, ready));
                }
                let read = t;
                let mut counts = w.actions;
                counts[Action::BufferReadByte] = replica.read_bytes;
                // Every input step enters the replica's stage pipeline at `t`.
                let mut busy = res.groups[replica.group];
                let before = busy;
                let mut first = [Cycle::ZERO; 5];
                for step in 0..w.steps {
                    let starts = w.stages.advance(&mut busy, Cycle(t));
                    if step == 0 {
                        first = starts;
                    }
                }
                res.groups[replica.group] = busy;
                let by_stage = w.stages.by_stage();
                for (total, cycles) in res.stage_busy[replica.group].iter_mut().zip(by_stage) {
                    *total += u64::from(w.steps) * cycles.get();
                }
                // The input vector stays in the buffer until the replica's
                // slowest stage has taken its last step (the stages before it
                // cannot run further ahead in a pipeline without queues).
                let read = if w.steps > 0 {
                    busy.until(w.bottleneck).get() - w.stages.by_stage()[w.bottleneck as usize].get()
                } else {
                    read
                };
                let last = if w.steps > 0 { busy.until(Stage::ShiftAdd).get() } else { t };
                // Stage slots: the result is due `min_span` after the item's first
                // step took its slot in the bottleneck stage (ISAAC's fixed-depth
                // pipeline); it holds no unit longer.
                let last = if w.steps > 0 { last.max(first[w.bottleneck as usize].get() + w.min_span) } else { last };
                if S::ENABLED && w.steps > 0 {
                    emit_stages(&mut res.out, w, replica, &first, &before, &busy, last);
                }
                // Partial sums: each part adds its own row tiles', then the
                // tree brings them to the home tile, adding at every step.
                let parts = &mut self.state.scratch.parts;
                parts.clear();
                for part in &replica.parts {
                    parts.push(if part.local_adds > 0 {
                        res.tile_unit(part.tile as usize, EventKind::Adder, part.local_adds, last)
                    } else {
                        last
                    });
                }
                for step in &replica.tree {
                    let (from, to) = (step.from as usize, step.to as usize);
                    let (src, dst) = (replica.parts[from].tile, replica.parts[to].tile);
                    let arrival = res.transfer(src, dst, step.bytes, parts[from], &mut counts).max(parts[to]);
                    parts[to] = if step.adds > 0 {
                        res.tile_unit(dst as usize, EventKind::Adder, step.adds, arrival)
                    } else {
                        arrival
                    };
                }
                let mut t = parts[0];
                if w.fused_ops > 0 {
                    t = res.tile_unit(home, EventKind::Alu, w.fused_ops, t);
                }
                let done = res.tile_unit(home, EventKind::BufferWrite, w.out_bytes, t);
                result.actions += counts;
                result.macs += w.macs;
                (read, t, done, Some(Unit::Tile { tile: replica.home }))
            }
        }
    }

    /// Producer pixel `p` of `layer` is in its tile's buffer at `t`: send it to its
    /// readers, advance their inputs, and release the consumer pixels now ready.
    fn complete(&mut self, image: usize, layer: usize, p: u64, t: u64) {
        let plan = self.plan;
        let State { res, ready, scratch } = &mut self.state;
        res.out.cur = (layer as u32, image as u32);
        let layer_pixels = plan.pixels[layer];
        // An image is done when its last output layer's pixels are all written.
        if plan.out_edges[layer].is_empty() {
            self.stats.image_done[image] = self.stats.image_done[image].max(t);
        }
        for &e in &plan.out_edges[layer] {
            let edge = &plan.edges[e];
            // Where the pixel goes: the tiles of the consumer replicas that read
            // it, each once; the tiles that read the same channels share one multicast.
            let mut arrival = t;
            let src = plan.home_of_output(layer, p);
            plan.reader_parts(edge.consumer, edge.need, p, &mut scratch.readers, &mut scratch.dests);
            let result = &mut self.stats.layers[layer];
            for dsts in scratch.dests.chunk_by(|a, b| a.0 == b.0) {
                let bytes = match &plan.work[edge.consumer] {
                    Work::Crossbar(w) => w.shares[dsts[0].0 as usize].min(edge.bytes),
                    _ => edge.bytes,
                };
                if edge.spilled_slots.is_empty() {
                    arrival = arrival.max(res.multicast(src, dsts, bytes, t, &mut result.actions));
                } else {
                    // Tiles whose share is spilled get it over the off-chip link, one
                    // by one; the others share one multicast.
                    scratch.on_chip.clear();
                    for &(share, d) in dsts {
                        if edge.spills_to(d) {
                            result.spilled_bytes += bytes;
                            let at = res.spill(src, d, bytes, t, &mut result.actions);
                            arrival = arrival.max(at);
                        } else {
                            scratch.on_chip.push((share, d));
                        }
                    }
                    if !scratch.on_chip.is_empty() {
                        arrival = arrival.max(res.multicast(src, &scratch.on_chip, bytes, t, &mut result.actions));
                    }
                }
            }
            // Record and advance the delivered prefix.
            let arr = &mut ready.arrived[image][e];
            arr[p as usize] = arrival;
            let mut k = ready.prefix[image][e];
            let mut running = if k > 0 { arr[k as usize - 1] } else { 0 };
            while k < layer_pixels && arr[k as usize] != NOT_YET {
                running = running.max(arr[k as usize]);
                arr[k as usize] = running;
                k += 1;
            }
            ready.prefix[image][e] = k;
            release(plan, ready, image, edge.consumer, res.now);
        }
    }
}

/// Reports the stage events of one crossbar item (all its input steps): each
/// stage from its first step's start to its last step's end. The ADC event
/// includes the sample-and-hold (there is no event kind of its own, so traces
/// keep their format): it starts when the first step's read has finished and
/// the ADC bank has finished the previous item, and the shift-and-add event
/// when that step has been held and converted; with an idle replica these are
/// the S&H's and the shift-and-add's starts.
fn emit_stages<S: EventSink>(
    out: &mut events::Emitter<'_, S>,
    w: &plan::XbarWork,
    replica: &plan::Replica,
    first: &[Cycle; 5],
    before: &rramsim_hw::StageBusy,
    busy: &rramsim_hw::StageBusy,
    last: u64,
) {
    let a = w.actions;
    let (tile, pe) = (replica.home, replica.pe);
    let xbars = Unit::Xbars { tile, xbar: replica.xbar, crossbars: w.crossbars };
    out.emit(EventKind::Mvm, Unit::Pe { tile, pe, pes: replica.pes }, first[0].get(), last, u64::from(w.steps));
    let adc_start = (first[Stage::Read as usize] + w.stages.read).max(before.until(Stage::Adc));
    let sa_start = (adc_start + w.stages.sample_hold + w.stages.adc).max(before.until(Stage::ShiftAdd));
    let spans = [
        (EventKind::Dac, first[Stage::Dac as usize], Stage::Dac, a[Action::DacConversion]),
        (EventKind::Array, first[Stage::Read as usize], Stage::Read, a[Action::CrossbarRead]),
        (EventKind::Adc, adc_start, Stage::Adc, a[Action::AdcConversion]),
        (EventKind::ShiftAdd, sa_start, Stage::ShiftAdd, a[Action::ShiftAdd]),
    ];
    for (kind, start, stage, amount) in spans {
        out.emit(kind, xbars, start.get(), busy.until(stage).get(), amount);
    }
}

/// Pushes every consumer pixel of `consumer` whose inputs have all arrived,
/// as long as it runs at most `registers` items ahead of the room in the ring
/// of each of its out-edges: a result that finds no room waits in its output
/// register, and a replica whose register is full starts nothing new
/// (back-pressure). Called at `now`: a pixel held back gets going now, and one
/// released when its last input arrives is ready at that arrival, never
/// earlier than `now`.
fn release(plan: &Plan, ready: &mut state::Readiness, image: usize, consumer: usize, now: u64) {
    let total = plan.pixels[consumer];
    let ahead = plan.registers[consumer];
    let mut q = ready.released[image][consumer];
    while q < total {
        let mut at = 0u64;
        let mut ok = true;
        for &e in &plan.in_edges[consumer] {
            let edge = &plan.edges[e];
            let needed = edge.need.prefix(q, plan.pixels[edge.producer]);
            if ready.prefix[image][e] < needed {
                ok = false;
                break;
            }
            at = at.max(ready.arrived[image][e][needed as usize - 1]);
        }
        if !ok {
            break;
        }
        // Its output register: the result `ahead` places earlier (the same
        // replica's previous one) must have got room, i.e. the pixel `ring +
        // ahead` places earlier (over the images in order) must have been
        // freed, when its last reader had read it.
        let Ok(room) = ready.room(plan, image, consumer, q, ahead) else {
            break;
        };
        let issue = at.max(room).max(now);
        ready.stall[consumer] += issue - at;
        ready.heap.push(Reverse((issue, ITEM, image as u32, consumer, q)));
        q += 1;
    }
    ready.released[image][consumer] = q;
}
