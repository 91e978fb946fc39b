//! The mutable state of a simulation: every resource's busy time (the stage
//! pipeline of each replica, the tile units, NoC and off-chip links, the
//! digital unit), the readiness of consumer pixels (delivered prefixes per edge
//! and image), the event heap and scratch buffers reused by every item, so the
//! event loop allocates nothing per item once the state has grown.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rramsim_hw::{Action, ActionCounts, ArchParams, NocTopology, Stage, StageBusy};

use crate::events::{Emitter, EventKind, EventSink, Unit};
use crate::plan::{Plan, UNBOUNDED};
use crate::stats::Resource;

/// Not arrived yet (an arrival time).
pub(crate) const NOT_YET: u64 = u64::MAX;

/// Heap entry kinds: an item whose inputs are ready, and the write of a
/// computed result (after the items of the same cycle, so that frees they
/// make are seen).
pub(crate) const ITEM: u8 = 0;
pub(crate) const WRITE: u8 = 1;

/// A heap entry: (time, kind, image, layer, pixel of an item or index of a
/// pending write).
pub(crate) type Entry = (u64, u8, u32, usize, u64);

/// A result computed and waiting to be written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub image: u32,
    pub layer: usize,
    pub pixel: u64,
    /// When the item's inputs were ready.
    pub ready: u64,
    /// When its result is in its output register (the write may start) and
    /// when the write ends if it starts then.
    pub pre: u64,
    pub done: u64,
    /// The unit its item event is reported on (none for views and the input).
    pub unit: Option<Unit>,
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
///
/// The intervals are kept sorted by start in a ring buffer, never touching
/// (touching intervals are merged): few are live at a time, so binary search
/// and shifting beat a tree, and the buffer only grows (no allocation per
/// reservation once it has reached its high-water mark).
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline {
    busy: VecDeque<(u64, u64)>,
    /// Cycles reserved over the whole run.
    pub total: u64,
    /// Cycles reserved per layer (few layers use one resource; the last one
    /// charged is looked up first).
    pub by_layer: Vec<(u32, u64)>,
}

impl Timeline {
    /// Reserves `n` free cycles at or after `t`; returns the cycle after the last.
    #[cfg(test)]
    fn reserve(&mut self, now: u64, t: u64, n: u64) -> u64 {
        self.reserve_span(now, 0, t, n).1
    }

    /// Like `reserve`, for `layer`: returns the first cycle reserved and the
    /// cycle after the last.
    pub(crate) fn reserve_span(&mut self, now: u64, layer: u32, t: u64, n: u64) -> (u64, u64) {
        if n == 0 {
            return (t, t);
        }
        self.total += n;
        match self.by_layer.last_mut() {
            Some((l, c)) if *l == layer => *c += n,
            _ => match self.by_layer.iter().position(|&(l, _)| l == layer) {
                Some(i) => {
                    // Keep the latest layer last: runs of one layer's items are cheap.
                    let (l, c) = self.by_layer.remove(i);
                    self.by_layer.push((l, c + n));
                }
                None => self.by_layer.push((layer, n)),
            },
        }
        while self.busy.front().is_some_and(|&(_, e)| e <= now) {
            self.busy.pop_front();
        }
        let mut cursor = t;
        // The last interval starting at or before the arrival may cover it.
        let i = self.busy.partition_point(|&(s, _)| s <= cursor);
        if i > 0 {
            cursor = cursor.max(self.busy[i - 1].1);
        }
        let mut remaining = n;
        let mut first = None;
        loop {
            let i = self.busy.partition_point(|&(s, _)| s < cursor);
            match self.busy.get(i).copied() {
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

    /// Marks the free cycles `[a, b)` busy, merging with intervals that touch them.
    fn insert(&mut self, a: u64, b: u64) {
        let i = self.busy.partition_point(|&(s, _)| s < a);
        let left = i > 0 && self.busy[i - 1].1 == a;
        let right = self.busy.get(i).is_some_and(|&(s, _)| s == b);
        match (left, right) {
            (true, true) => {
                self.busy[i - 1].1 = self.busy[i].1;
                self.busy.remove(i);
            }
            (true, false) => self.busy[i - 1].1 = b,
            (false, true) => self.busy[i].0 = a,
            (false, false) => self.busy.insert(i, (a, b)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TileState {
    pub buffer_read: Timeline,
    pub buffer_write: Timeline,
    pub adder: Timeline,
    pub alu: Timeline,
}

/// The busy times of every hardware resource, and the sink their uses are
/// reported to.
pub(crate) struct Resources<'a, 's, S: EventSink> {
    arch: &'a ArchParams,
    pub out: Emitter<'s, S>,
    /// The time of the event being processed: reservations that ended before it
    /// are forgotten.
    pub now: u64,
    /// Per crossbar-layer replica: its stage pipeline.
    pub groups: Vec<StageBusy>,
    pub tiles: Vec<TileState>,
    pub digital: Timeline,
    /// Mesh links: per chip, per router, 4 directions + the ejection port; bus: one per chip.
    pub links: Vec<Timeline>,
    pub offchip: Vec<Timeline>,
    /// Per replica and stage: cycles busy over the run.
    pub stage_busy: Vec<[u64; 5]>,
    /// The links (and off-chip crossings, keyed past the links) the current
    /// multicast has crossed: (key, head at the next router, tail off the link).
    tree: Vec<(usize, u64, u64)>,
}

/// Which consumer pixels can start: per image and edge, the producer pixels
/// delivered so far.
#[derive(Debug)]
pub(crate) struct Readiness {
    /// Per image, per edge: arrival time of each producer pixel, overwritten with
    /// the running maximum once the prefix passes it.
    pub arrived: Vec<Vec<Vec<u64>>>,
    /// Per image, per edge: producer pixels delivered as a contiguous prefix.
    pub prefix: Vec<Vec<u64>>,
    /// Per image, per layer: consumer pixels released so far.
    pub released: Vec<Vec<u64>>,
    /// Released items by (ready time, `ITEM`, image, layer, pixel) and writes
    /// by (time the result is computed, `WRITE`, image, layer, index into
    /// `pending`): a total order.
    pub heap: BinaryHeap<Reverse<Entry>>,
    /// Results computed and waiting to be written, and the free entries.
    pub pending: Vec<Pending>,
    pub vacant: Vec<u32>,
    /// Per edge with a ring: the results that wait for room in it, by the
    /// pixel (over the images in order) that must be freed first.
    pub parked: Vec<BinaryHeap<Reverse<(u64, u32)>>>,
    /// Buffer occupancy (liveness): per image and edge, producer pixels written
    /// and freed (a prefix: those whose last reader has been issued).
    pub written: Vec<Vec<u64>>,
    pub freed: Vec<Vec<u64>>,
    /// Per image and edge with a ring: when each freed producer pixel's last
    /// reader had read it (a running maximum).
    pub free_at: Vec<Vec<Vec<u64>>>,
    /// Per edge: the first image whose pixels are not all freed (the ring is
    /// shared by the images in order).
    pub freed_image: Vec<usize>,
    /// Per buffer slot: bytes held now and at most.
    pub held: Vec<u64>,
    pub peak: Vec<u64>,
    /// Per layer: cycles its items waited for buffer space: results waiting
    /// to be written, and items held back while their output registers were
    /// full.
    pub stall: Vec<u64>,
}

impl Readiness {
    /// Pixels of edge `e` freed, counted over the images in order.
    pub(crate) fn freed_seq(&self, e: usize, producer_pixels: u64) -> u64 {
        let i = self.freed_image[e];
        let head = if i < self.freed.len() { self.freed[i][e] } else { 0 };
        i as u64 * producer_pixels + head
    }

    /// Room for pixel `pixel` of `layer` in the ring of each edge it gates,
    /// `ahead` pixels beyond it (its output registers; 0 for a write): the
    /// pixel `ring + ahead` places earlier (over the images in order) must
    /// have been freed. `Ok` with the time the last of them was freed, or
    /// `Err` with an edge where it is not yet and the position of the pixel
    /// to wait for.
    pub(crate) fn room(
        &self,
        plan: &Plan,
        image: usize,
        layer: usize,
        pixel: u64,
        ahead: u64,
    ) -> Result<u64, (usize, u64)> {
        let total = plan.pixels[layer];
        let seq = image as u64 * total + pixel;
        let mut at = 0;
        for &e in &plan.gates[layer] {
            let lag = plan.edges[e].ring.saturating_add(ahead);
            if seq < lag {
                continue;
            }
            let k = seq - lag;
            if k >= self.freed_seq(e, total) {
                return Err((e, k));
            }
            at = at.max(self.free_at[(k / total) as usize][e][(k % total) as usize]);
        }
        Ok(at)
    }

    /// Producer pixel of `e` written: it takes its place in the edge's slots.
    pub(crate) fn hold(&mut self, plan: &Plan, image: usize, e: usize) {
        let edge = &plan.edges[e];
        self.written[image][e] += 1;
        if self.written[image][e] > self.freed[image][e] {
            for &(s, bytes) in &edge.slots {
                let s = s as usize;
                self.held[s] += bytes;
                self.peak[s] = self.peak[s].max(self.held[s]);
            }
        }
    }

    /// The consumer of `e` has issued a pixel whose reads, ending at `read`,
    /// free the first `freed` producer pixels.
    pub(crate) fn free(&mut self, plan: &Plan, image: usize, e: usize, freed: u64, read: u64) {
        let edge = &plan.edges[e];
        let old = self.freed[image][e];
        if freed <= old {
            return;
        }
        self.freed[image][e] = freed;
        let at = &mut self.free_at[image][e];
        let mut running = if old > 0 { at[old as usize - 1] } else { 0 };
        for slot in &mut at[old as usize..freed as usize] {
            running = running.max(read);
            *slot = running;
        }
        let written = self.written[image][e];
        let released = freed.min(written).saturating_sub(old.min(written));
        for &(s, bytes) in &edge.slots {
            self.held[s as usize] -= released * bytes;
        }
        let producer_pixels = plan.pixels[edge.producer];
        while self.freed_image[e] < self.freed.len() && self.freed[self.freed_image[e]][e] >= producer_pixels {
            self.freed_image[e] += 1;
        }
    }
}

/// Buffers reused by every item.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Consumer pixels reading a producer pixel.
    pub readers: Vec<u64>,
    /// (share, tile) pairs a producer pixel is sent to.
    pub dests: Vec<(u32, u32)>,
    /// Those of one share that hold it on chip (the rest are spilled).
    pub on_chip: Vec<(u32, u32)>,
    /// Per part of the replica being processed: when its partial sums are ready.
    pub parts: Vec<u64>,
    /// Results whose awaited pixel has just been freed (indices into `pending`).
    pub woken: Vec<u32>,
}

/// All mutable state, in parts that can be borrowed apart.
pub(crate) struct State<'a, 's, S: EventSink> {
    pub res: Resources<'a, 's, S>,
    pub ready: Readiness,
    pub scratch: Scratch,
}

impl<'a, 's, S: EventSink> State<'a, 's, S> {
    pub(crate) fn new(plan: &Plan, arch: &'a ArchParams, sink: &'s mut S) -> Self {
        let batch = plan.batch;
        let arrived = (0..batch)
            .map(|_| plan.edges.iter().map(|e| vec![NOT_YET; plan.pixels[e.producer] as usize]).collect())
            .collect();
        State {
            res: Resources {
                arch,
                out: Emitter::new(sink),
                now: 0,
                groups: vec![StageBusy::default(); plan.groups],
                tiles: vec![TileState::default(); plan.tiles],
                digital: Timeline::default(),
                links: vec![Timeline::default(); plan.links],
                offchip: vec![Timeline::default(); plan.chips],
                stage_busy: vec![[0; 5]; plan.groups],
                tree: Vec::new(),
            },
            ready: Readiness {
                arrived,
                prefix: vec![vec![0; plan.edges.len()]; batch],
                released: vec![vec![0; plan.work.len()]; batch],
                heap: BinaryHeap::new(),
                pending: Vec::new(),
                vacant: Vec::new(),
                parked: vec![BinaryHeap::new(); plan.edges.len()],
                written: vec![vec![0; plan.edges.len()]; batch],
                freed: vec![vec![0; plan.edges.len()]; batch],
                free_at: (0..batch)
                    .map(|_| {
                        plan.edges
                            .iter()
                            .map(|e| {
                                if e.ring == UNBOUNDED { Vec::new() } else { vec![0; plan.pixels[e.producer] as usize] }
                            })
                            .collect()
                    })
                    .collect(),
                freed_image: vec![0; plan.edges.len()],
                held: vec![0; plan.slot_capacity.len()],
                peak: vec![0; plan.slot_capacity.len()],
                stall: vec![0; plan.work.len()],
            },
            scratch: Scratch::default(),
        }
    }
}

impl<S: EventSink> Resources<'_, '_, S> {
    /// The busiest instance of each kind of resource: cycles it was busy over
    /// the run, by [`Resource`].
    pub(crate) fn busiest(&self) -> [u64; Resource::ALL.len()] {
        let mut max = [0u64; Resource::ALL.len()];
        let mut see = |r: Resource, cycles: u64| max[r as usize] = max[r as usize].max(cycles);
        for s in &self.stage_busy {
            see(Resource::Crossbar, s[Stage::Dac as usize].max(s[Stage::Read as usize]));
            see(
                Resource::Adc,
                s[Stage::SampleHold as usize].max(s[Stage::Adc as usize]).max(s[Stage::ShiftAdd as usize]),
            );
        }
        for t in &self.tiles {
            see(Resource::Buffer, t.buffer_read.total.max(t.buffer_write.total));
            see(Resource::Alu, t.adder.total.max(t.alu.total));
        }
        for l in &self.links {
            see(Resource::Noc, l.total);
        }
        for o in &self.offchip {
            see(Resource::Offchip, o.total);
        }
        see(Resource::Digital, self.digital.total);
        max
    }

    /// Reserves tile `tile`'s buffer read or write port, adder or ALU (`kind`)
    /// for `amount` bytes or operations from `t`; returns when the result is
    /// ready, after the unit's latency.
    pub(crate) fn tile_unit(&mut self, tile: usize, kind: EventKind, amount: u64, t: u64) -> u64 {
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
        let (first, end) = timeline.reserve_span(self.now, self.out.cur.0, t, occupancy);
        if occupancy > 0 {
            self.out.emit(kind, Unit::Tile { tile: tile as u32 }, first, end, amount);
        }
        end + latency.get()
    }

    /// Moves `bytes` from tile `src` to tile `dst` starting at `t`; returns the
    /// arrival of the last flit and counts flit-hops and off-chip bytes.
    pub(crate) fn transfer(&mut self, src: u32, dst: u32, bytes: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        self.tree.clear();
        self.send(src, dst, bytes, t, counts)
    }

    /// Multicasts `bytes` from tile `src` to the tiles `dsts[..].1` starting at
    /// `t`: one packet along the union of their XY routes (a link the routes
    /// share carries it once; a chip's off-chip link carries it once per
    /// destination chip); returns the last arrival. With one destination this
    /// is [`Resources::transfer`].
    pub(crate) fn multicast(
        &mut self,
        src: u32,
        dsts: &[(u32, u32)],
        bytes: u64,
        t: u64,
        counts: &mut ActionCounts,
    ) -> u64 {
        self.tree.clear();
        let mut arrival = t;
        for &(_, dst) in dsts {
            arrival = arrival.max(self.send(src, dst, bytes, t, counts));
        }
        arrival
    }

    /// One destination of the current transfer or multicast (`tree`).
    fn send(&mut self, src: u32, dst: u32, bytes: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        if src == dst || bytes == 0 {
            return t;
        }
        let arch = self.arch;
        let per_chip = arch.tiles_per_chip;
        let (src_chip, dst_chip) = (src / per_chip, dst / per_chip);
        let flits = bytes.div_ceil(u64::from(arch.noc.flit_bytes));
        if src_chip == dst_chip {
            return self.route(src_chip, self.router(src), self.router(dst), flits, t, counts);
        }
        // Through the chip's I/O router (router 0) and the off-chip links.
        let t = self.route(src_chip, self.router(src), 0, flits, t, counts);
        let key = self.links.len() + dst_chip as usize;
        let t = match self.tree.iter().find(|e| e.0 == key) {
            Some(&(_, head, _)) => head,
            None => {
                let occupancy = (bytes as f64 / arch.node.offchip_bytes_per_cycle).ceil() as u64;
                let (first, end) = self.offchip[src_chip as usize].reserve_span(self.now, self.out.cur.0, t, occupancy);
                self.out.emit(EventKind::Offchip, Unit::Offchip { chip: src_chip }, first, end, bytes);
                counts[Action::OffchipByte] += bytes;
                let head = end + arch.node.offchip_latency.get();
                self.tree.push((key, head, end));
                head
            }
        };
        self.route(dst_chip, 0, self.router(dst), flits, t, counts)
    }

    /// Holds `bytes` of a spilled activation off-chip: from tile `src` out over
    /// its chip's off-chip link and back in to tile `dst` (the link carries the
    /// bytes twice, and its latency is paid twice); returns the arrival.
    pub(crate) fn spill(&mut self, src: u32, dst: u32, bytes: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        let arch = self.arch;
        let per_chip = arch.tiles_per_chip;
        let (chip, dst_chip) = (src / per_chip, dst / per_chip);
        let flits = bytes.div_ceil(u64::from(arch.noc.flit_bytes));
        self.tree.clear();
        let t = self.route(chip, self.router(src), 0, flits, t, counts);
        self.tree.clear();
        let occupancy = (2.0 * bytes as f64 / arch.node.offchip_bytes_per_cycle).ceil() as u64;
        let (first, end) = self.offchip[chip as usize].reserve_span(self.now, self.out.cur.0, t, occupancy);
        self.out.emit(EventKind::Offchip, Unit::Offchip { chip }, first, end, 2 * bytes);
        counts[Action::OffchipByte] += 2 * bytes;
        let t = end + 2 * arch.node.offchip_latency.get();
        self.route(dst_chip, 0, self.router(dst), flits, t, counts)
    }

    /// The router of `tile` within its chip.
    fn router(&self, tile: u32) -> u32 {
        match self.arch.noc.topology {
            NocTopology::Mesh { concentration, .. } => (tile % self.arch.tiles_per_chip) / concentration,
            NocTopology::Bus => 0,
        }
    }

    /// XY routing from router `a` to router `b` of `chip`, ending in `b`'s
    /// ejection port. Each link carries the `flits` one per free cycle; the head
    /// reaches the next router one hop latency after it enters a link, so an
    /// uncontended transfer over `k` links (ejection included) arrives
    /// `k · hop_latency + flits` cycles after it starts. Links the current
    /// multicast has crossed already are not crossed again.
    fn route(&mut self, chip: u32, a: u32, b: u32, flits: u64, t: u64, counts: &mut ActionCounts) -> u64 {
        let end = match self.arch.noc.topology {
            NocTopology::Bus => self.cross(chip as usize, Unit::Link { chip, router: 0, port: 0 }, flits, t, counts).1,
            NocTopology::Mesh { width, height, .. } => {
                let base = (chip * width * height * 5) as usize;
                let mut link = |res: &mut Self, router: u32, port: u8, t: u64| {
                    let l = base + (router * 5 + u32::from(port)) as usize;
                    res.cross(l, Unit::Link { chip, router, port }, flits, t, counts)
                };
                let mut t = t;
                // Routers sit along a serpentine curve (`NocTopology::router_xy`).
                let at = |x: u32, y: u32| NocTopology::router_at(width, x, y);
                let (mut x, mut y) = NocTopology::router_xy(width, a);
                let (bx, by) = NocTopology::router_xy(width, b);
                while x != bx {
                    t = link(self, at(x, y), if bx > x { 0 } else { 1 }, t).0;
                    x = if bx > x { x + 1 } else { x - 1 };
                }
                while y != by {
                    t = link(self, at(x, y), if by > y { 2 } else { 3 }, t).0;
                    y = if by > y { y + 1 } else { y - 1 };
                }
                link(self, b, 4, t).1
            }
        };
        end + self.arch.noc.hop_latency.get()
    }

    /// Sends `flits` over link `l` from `t` (once per multicast): returns when
    /// the head reaches the next router, and when the tail left the link.
    fn cross(&mut self, l: usize, unit: Unit, flits: u64, t: u64, counts: &mut ActionCounts) -> (u64, u64) {
        if let Some(&(_, head, end)) = self.tree.iter().find(|e| e.0 == l) {
            return (head, end);
        }
        let (first, end) = self.links[l].reserve_span(self.now, self.out.cur.0, t, flits);
        self.out.emit(EventKind::Link, unit, first, end, flits);
        counts[Action::NocFlitHop] += flits;
        let head = end - flits + self.arch.noc.hop_latency.get();
        self.tree.push((l, head, end));
        (head, end)
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
        assert_eq!(t.reserve_span(0, 0, 39, 2), (39, 42));
        // Intervals that ended before `now` are forgotten.
        assert_eq!(t.reserve(100, 100, 1), 101);
        assert_eq!(t.busy.len(), 1);
    }
}
