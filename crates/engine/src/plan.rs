//! The immutable plan of a simulation, built once from the network, the
//! architecture and the mapping: what one item of each layer does ([`Work`]),
//! the producer → consumer [`Edge`]s with the pixels each consumer pixel
//! [`Need`]s, and the sizes of the mutable state. Nothing here changes while
//! the simulation runs, so the event loop borrows the plan while it mutates the
//! state.

use rramsim_core::Cycle;
use rramsim_graph::{Axis, LayerId, Network, Op, Shape};
use rramsim_hw::{Action, ActionCounts, ArchParams, NocTopology, SignedEncoding, Stage, StageCycles, stage_cycles};
use rramsim_map::{Mapping, Placement};

/// Which producer pixels a consumer pixel needs (as a raster-order prefix).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Element-wise: the same pixel.
    Same,
    /// Every producer pixel.
    All,
    /// A sliding window over a `width`-wide producer.
    Window { height: u64, width: u64, out_width: u64, stride: [u64; 2], reach: [u64; 2], pad: [u64; 2] },
}

impl Need {
    /// Number of leading producer pixels consumer pixel `q` needs.
    pub(crate) fn prefix(&self, q: u64, producer_pixels: u64) -> u64 {
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

    /// Leading producer pixels whose last reader is at or before consumer pixel
    /// `q`: what `q` frees when it has read its inputs. Conservative (a prefix:
    /// a pixel is freed only when every pixel before it is), so a ring buffer
    /// of producer pixels is enough to hold an edge.
    pub(crate) fn freed(&self, q: u64, producer_pixels: u64, consumer_pixels: u64) -> u64 {
        match *self {
            Need::Same => (q + 1).min(producer_pixels),
            Need::All => {
                if q + 1 >= consumer_pixels {
                    producer_pixels
                } else {
                    0
                }
            }
            Need::Window { height, width, out_width, stride, pad, .. } => {
                let out_height = consumer_pixels / out_width;
                let (oy, ox) = (q / out_width, q % out_width);
                if oy + 1 >= out_height && ox + 1 == out_width {
                    return producer_pixels;
                }
                // Producer row y is last read by consumer row min((y + pad) / stride, out_height - 1).
                if ox + 1 == out_width {
                    return ((oy + 1) * stride[0]).saturating_sub(pad[0]).min(height) * width;
                }
                let y0 = (oy * stride[0]).saturating_sub(pad[0]).min(height);
                let mut freed = y0 * width;
                if y0 < height && ((y0 + pad[0]) / stride[0]).min(out_height - 1) == oy {
                    freed += ((ox + 1) * stride[1]).saturating_sub(pad[1]).min(width);
                }
                freed
            }
        }
    }

    /// Consumer pixels that read producer pixel `p` (a superset is fine: it only
    /// decides where the pixel is sent).
    pub(crate) fn readers(&self, p: u64, consumer_pixels: u64, out: &mut Vec<u64>) {
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
pub(crate) struct Edge {
    pub producer: usize,
    pub consumer: usize,
    pub need: Need,
    /// Bytes of one producer pixel.
    pub bytes: u64,
    /// Where the pixels are held on chip until their last reader has read
    /// them: tile buffers (by tile index) or the digital unit's SRAM (index
    /// `tiles`), and the bytes of one producer pixel held there (a crossbar
    /// part holds the channels it reads).
    pub slots: Vec<(u32, u64)>,
    /// The slots whose share of the edge is held off-chip instead (its minimum
    /// did not fit there), sorted by slot: pixels for them go out over the
    /// off-chip link and back.
    pub spilled_slots: Vec<(u32, u64)>,
    /// Producer pixels the edge's ring buffer holds ([`UNBOUNDED`] for the
    /// network input, streamed from the host, and for edges spilled in every slot).
    pub ring: u64,
    /// Fewest pixels the ring can hold without a deadlock.
    pub min_ring: u64,
}

impl Edge {
    /// Whether a pixel for destination tile `d` goes through the off-chip
    /// link: `d`'s share is spilled, or the edge is spilled everywhere (an edge
    /// held in one slot for several destination tiles, like an ALU layer's
    /// input, spills for all of them).
    pub(crate) fn spills_to(&self, d: u32) -> bool {
        !self.spilled_slots.is_empty()
            && (self.slots.is_empty() || self.spilled_slots.binary_search_by_key(&d, |s| s.0).is_ok())
    }
}

/// A ring without a limit.
pub(crate) const UNBOUNDED: u64 = u64::MAX;

/// What one item of a layer does, precomputed.
#[derive(Debug, Clone)]
pub(crate) enum Work {
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
    /// A layer without weights on tile ALUs. Output pixel `p` runs on
    /// `tiles[p % tiles.len()]`: the mapping's `Placement::Alu::spread`, the
    /// home tiles of its producer's replicas, one per replica in replica order,
    /// so the work is spread with the pixels the replicas produce (issue 14
    /// item 4); one tile when the producer is not on crossbars (the network
    /// input, the digital unit).
    Alu {
        tiles: Box<[u32]>,
        in_bytes: u64,
        ops: u64,
        out_bytes: u64,
        actions: ActionCounts,
    },
}

/// One replica of a crossbar layer.
#[derive(Debug, Clone)]
pub(crate) struct Replica {
    /// Index of its stage pipeline in the state's groups.
    pub group: usize,
    /// Its home tile (outputs written; `parts[0]`).
    pub home: u32,
    /// The tiles it spans, home first, in tile order: each receives the input
    /// pixels its crossbars read once, holds them in its buffer and forms its
    /// windows locally.
    pub parts: Vec<Part>,
    /// The reduction of the parts' partial sums into the home tile: a binary
    /// tree, level by level (part `from` sends to part `to`, which adds).
    pub tree: Vec<Reduce>,
    /// Buffer bytes its parts read per item (Σ of the parts' windows).
    pub read_bytes: u64,
    /// Its first PE's index within the home tile, and its PE count.
    pub pe: u32,
    pub pes: u32,
    /// Its first crossbar's index within the home tile.
    pub xbar: u32,
}

/// The share of a replica on one tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub tile: u32,
    /// Which input channels it reads: an index into [`XbarWork::shares`]
    /// (parts with the same channels receive one multicast).
    pub share: u32,
    /// Window bytes its crossbars read per item (the im2col rows they drive).
    pub read_bytes: u64,
    /// Tile-adder additions of its own row tiles' partial sums per item.
    pub local_adds: u64,
}

/// One step of a partial-sum reduction tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reduce {
    pub from: u32,
    pub to: u32,
    /// 32-bit partial sums of every output `from` holds (its own and those it
    /// has received).
    pub bytes: u64,
    /// Additions at `to`: outputs both hold (the last step into the home tile
    /// also subtracts the offset-digital correction).
    pub adds: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct XbarWork {
    pub replicas: Vec<Replica>,
    pub crossbars: u32,
    pub steps: u32,
    /// The stage pipeline of the replica's fullest crossbar.
    pub stages: StageCycles,
    /// Its slowest stage (the first of equals).
    pub bottleneck: Stage,
    /// `stages_per_layer` initiation intervals: the least time from an item's
    /// first step in the bottleneck stage to its result (stage slots).
    pub min_span: u64,
    pub out_bytes: u64,
    /// Per distinct input share of the parts: bytes of one producer pixel's
    /// channels that share reads.
    pub shares: Vec<u64>,
    pub fused_ops: u64,
    pub macs: u64,
    pub actions: ActionCounts,
}

/// Everything about a run that is fixed before the first cycle.
#[derive(Debug)]
pub(crate) struct Plan {
    pub work: Vec<Work>,
    /// Per layer: its home tile.
    pub home: Vec<u32>,
    /// Per layer: output pixels per image.
    pub pixels: Vec<u64>,
    pub edges: Vec<Edge>,
    pub out_edges: Vec<Vec<usize>>,
    pub in_edges: Vec<Vec<usize>>,
    pub input: usize,
    pub batch: usize,
    /// Stage pipelines (one per crossbar-layer replica).
    pub groups: usize,
    pub tiles: usize,
    pub links: usize,
    pub chips: usize,
    /// Capacity of each buffer slot: the tiles' buffers, then the digital SRAM.
    pub slot_capacity: Vec<u64>,
    /// Per layer: the edges with a ring that must have room before one of its
    /// pixels can start (its own out-edges, and those of the element-wise
    /// views it feeds, which hold its pixels in place).
    pub gates: Vec<Vec<usize>>,
    /// Per edge: the layers it gates (woken when its consumer frees room).
    pub waiters: Vec<Vec<usize>>,
    /// Per layer: results it can hold computed but not yet written, one per
    /// output register (one per crossbar replica, one per ALU tile, one for
    /// the digital unit): the items it may run ahead of its rings' room.
    pub registers: Vec<u64>,
}

pub(crate) fn bytes_of(values: u64, bits: u32) -> u64 {
    (values * u64::from(bits)).div_ceil(8)
}

impl Plan {
    pub(crate) fn new(net: &Network, arch: &ArchParams, mapping: &Mapping, batch: u32) -> Self {
        let n = net.len();
        let pixels: Vec<u64> = net.ids().map(|id| mapping.layer(id).pixels).collect();
        let home: Vec<u32> = net.ids().map(|id| mapping.home_tile(arch, id)).collect();
        let mut groups = 0usize;
        let work: Vec<Work> = net.ids().map(|id| work_of(net, arch, mapping, id, pixels[id.0], &mut groups)).collect();
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
                    // Whole-tensor operations: every output value may read any input pixel.
                    Op::MatMul { .. }
                    | Op::GlobalMaxPool
                    | Op::Transpose { .. }
                    | Op::Resize { .. }
                    | Op::Pad { .. } => Need::All,
                    // A per-channel gate (one pixel) is read by every output pixel.
                    Op::Mul if ps.height * ps.width == 1 => Need::All,
                    Op::Softmax { axis, .. } | Op::LayerNorm { axis, .. } if *axis != Axis::Channels => Need::All,
                    _ => Need::Same,
                };
                let e = edges.len();
                edges.push(Edge {
                    producer: p.0,
                    consumer: id.0,
                    need,
                    bytes: bytes_of(ps.channels as u64, arch.activation_bits),
                    slots: Vec::new(),
                    spilled_slots: Vec::new(),
                    ring: UNBOUNDED,
                    min_ring: 0,
                });
                out_edges[p.0].push(e);
                in_edges[id.0].push(e);
            }
        }
        let links = match arch.noc.topology {
            NocTopology::Mesh { width, height, .. } => width as usize * height as usize * 5,
            NocTopology::Bus => 1,
        } * arch.node.chips as usize;
        let tiles = arch.tiles_per_chip as usize * arch.node.chips as usize;
        let mut slot_capacity = vec![arch.tile.buffer.capacity.0; tiles];
        slot_capacity.push(arch.digital.sram.0);
        let mut plan = Plan {
            work,
            home,
            pixels,
            edges,
            out_edges,
            in_edges,
            input: net.input().0,
            batch: batch as usize,
            groups,
            tiles,
            links,
            chips: arch.node.chips as usize,
            slot_capacity,
            gates: Vec::new(),
            waiters: Vec::new(),
            registers: Vec::new(),
        };
        plan.size_buffers(arch);
        plan.gate();
        plan
    }

    /// Whether edge `e` feeds an element-wise view (a fused activation, an
    /// identity): the view passes its producer's pixels on in place, so the
    /// edge holds nothing of its own.
    fn feeds_view(&self, e: usize) -> bool {
        let edge = &self.edges[e];
        matches!(self.work[edge.consumer], Work::View)
            && self.in_edges[edge.consumer].len() == 1
            && matches!(edge.need, Need::Same)
    }

    /// Fills `gates`, `waiters` and `registers` from the sized rings.
    fn gate(&mut self) {
        let n = self.work.len();
        let mut gates: Vec<Vec<usize>> = vec![Vec::new(); n];
        for l in (0..n).rev() {
            let mut g = Vec::new();
            for &e in &self.out_edges[l] {
                if self.feeds_view(e) {
                    g.extend_from_slice(&gates[self.edges[e].consumer]);
                } else if self.edges[e].ring != UNBOUNDED {
                    g.push(e);
                }
            }
            g.sort_unstable();
            g.dedup();
            gates[l] = g;
        }
        let mut waiters = vec![Vec::new(); self.edges.len()];
        for (l, g) in gates.iter().enumerate() {
            for &e in g {
                waiters[e].push(l);
            }
        }
        self.gates = gates;
        self.waiters = waiters;
        self.registers = self
            .work
            .iter()
            .map(|w| match w {
                Work::Crossbar(w) => w.replicas.len() as u64,
                Work::Alu { tiles, .. } => tiles.len() as u64,
                _ => 1,
            })
            .collect();
    }

    /// The buffer slots that hold the pixels of edge `e` and the bytes of a
    /// pixel each holds: every tile of the consumer's replicas (each receives
    /// the channels it reads, the most of any part on it), the tile a view or
    /// ALU layer runs on, or the digital SRAM.
    fn slots_of(&self, e: usize) -> Vec<(u32, u64)> {
        let (consumer, bytes) = (self.edges[e].consumer, self.edges[e].bytes);
        let mut slots: Vec<(u32, u64)> = match &self.work[consumer] {
            Work::Crossbar(w) => w
                .replicas
                .iter()
                .flat_map(|r| r.parts.iter().map(|p| (p.tile, w.shares[p.share as usize].min(bytes))))
                .collect(),
            Work::Digital { .. } => vec![(self.tiles as u32, bytes)],
            // Known approximation: ALU work runs on every producer-replica tile
            // (`reader_parts`), but its input is booked on the first one only.
            // Booking the whole ring on each tile (tried) over-counts: each tile
            // holds only its pixels' windows, and full rings on every tile made
            // ResNet-50 on ISAAC stall 3.3x longer; per-tile shares are to do.
            _ => vec![(self.home_of_output(consumer, 0), bytes)],
        };
        // Per tile the largest share (sorted by tile, then bytes descending).
        slots.sort_unstable_by_key(|&(t, b)| (t, std::cmp::Reverse(b)));
        slots.dedup_by_key(|s| s.0);
        slots
    }

    /// Producer pixels edge `e` must hold so that its own consumer can always
    /// make progress: for each consumer pixel `q`, the producer pixels `q`
    /// needs minus those freed by the consumer pixels before `q`.
    fn local_ring(&self, e: usize) -> u64 {
        let edge = &self.edges[e];
        let (px, pd) = (self.pixels[edge.producer], self.pixels[edge.consumer]);
        let mut worst = 1;
        for q in 0..pd {
            let freed = if q == 0 { 0 } else { edge.need.freed(q - 1, px, pd) };
            worst = worst.max(edge.need.prefix(q, px).saturating_sub(freed));
        }
        worst
    }

    /// Raises the rings of the edges between a join `d` (a layer with several
    /// inputs) and its immediate dominator `dom` so that the branches can
    /// reconverge: for each pixel `q` of `d`, `required[l][q]` is the pixels of
    /// layer `l` that must have been written before `q` can run (through every
    /// path into `d`); an edge `a → b` must then hold `required[a][q]` minus what
    /// `b`'s pixels before `required[b][q - 1]` freed. A shortcut's edge so holds
    /// the pixels the longer branch needs first.
    fn raise_for_join(&self, d: usize, dom: usize, rings: &mut [u64]) {
        let pd = self.pixels[d] as usize;
        let mut required: Vec<Option<Vec<u64>>> = vec![None; d - dom + 1];
        required[d - dom] = Some((1..=pd as u64).collect());
        for l in (dom..d).rev() {
            let mut here: Option<Vec<u64>> = None;
            for &oe in &self.out_edges[l] {
                let edge = &self.edges[oe];
                let Some(Some(dst)) = edge.consumer.checked_sub(dom).and_then(|i| required.get(i)) else {
                    continue;
                };
                let v = here.get_or_insert_with(|| vec![0; pd]);
                for (slot, &n) in v.iter_mut().zip(dst) {
                    *slot = (*slot).max(edge.need.prefix(n - 1, self.pixels[l]));
                }
            }
            required[l - dom] = here;
        }
        for l in dom..d {
            let Some(ra) = &required[l - dom] else { continue };
            for &oe in &self.out_edges[l] {
                let edge = &self.edges[oe];
                let Some(Some(rb)) = edge.consumer.checked_sub(dom).and_then(|i| required.get(i)) else {
                    continue;
                };
                let (pa, pb) = (self.pixels[l], self.pixels[edge.consumer]);
                for q in 0..pd {
                    let freed = if q == 0 { 0 } else { edge.need.freed(rb[q - 1] - 1, pa, pb) };
                    rings[oe] = rings[oe].max(ra[q].saturating_sub(freed));
                }
            }
        }
    }

    /// Immediate dominators of the layers (Cooper, Harvey and Kennedy's
    /// intersection over the topological order): every path from the input
    /// to a layer passes through its dominator.
    fn dominators(&self) -> Vec<usize> {
        let mut idom: Vec<usize> = (0..self.work.len()).collect();
        for l in 0..self.work.len() {
            let mut preds = self.in_edges[l].iter().map(|&e| self.edges[e].producer);
            let Some(mut a) = preds.next() else { continue };
            for mut b in preds {
                while a != b {
                    if a > b {
                        a = idom[a];
                    } else {
                        b = idom[b];
                    }
                }
            }
            idom[l] = a;
        }
        idom
    }

    /// The timing of an item of every layer from the plan's own cost model
    /// (idle units, no queueing; the reduction tree's NoC transfers not
    /// counted): see [`Pace`].
    /// Layers come in topological order, so a view takes its producer's rate.
    fn paces(&self, arch: &ArchParams) -> Vec<Pace> {
        let tile = &arch.tile;
        let (rb, wb) =
            (u64::from(tile.buffer.read_bytes_per_cycle).max(1), u64::from(tile.buffer.write_bytes_per_cycle).max(1));
        let bl = tile.buffer.latency.get();
        let adder = |adds: u64| {
            if adds > 0 { adds.div_ceil(u64::from(tile.adder.lanes).max(1)) + tile.adder.latency.get() } else { 0 }
        };
        let alu = |ops: u64| {
            if ops > 0 { ops.div_ceil(u64::from(tile.alu.lanes).max(1)) + tile.alu.latency.get() } else { 0 }
        };
        let mut paces: Vec<Pace> = Vec::with_capacity(self.work.len());
        for (l, work) in self.work.iter().enumerate() {
            let pixels = self.pixels[l];
            let pace = match work {
                Work::Input => Pace { latency: 0, hold: 0, per_image: 0, write: 0 },
                Work::View => match self.in_edges[l].as_slice() {
                    [e] => Pace { latency: 0, hold: 0, ..paces[self.edges[*e].producer] },
                    _ => Pace { latency: 0, hold: 0, per_image: 0, write: 0 },
                },
                &Work::Digital { cycles, pixels, .. } => {
                    let item = cycles.div_ceil(pixels.max(1));
                    // It reads its inputs when it starts computing.
                    Pace { latency: item, hold: 0, per_image: cycles, write: 0 }
                }
                Work::Alu { tiles, in_bytes, ops, out_bytes, .. } => {
                    let (read, run, write) =
                        (in_bytes.div_ceil(rb), ops.div_ceil(u64::from(tile.alu.lanes).max(1)), out_bytes.div_ceil(wb));
                    let hold = read + bl;
                    let n = tiles.len().max(1) as u64;
                    Pace {
                        latency: hold + alu(*ops) + write + bl,
                        hold,
                        per_image: pixels.div_ceil(n).saturating_mul(read.max(run).max(write)),
                        write: write + bl,
                    }
                }
                Work::Crossbar(w) => {
                    // The first replica stands for all (they differ only in how their
                    // crossbars fall on tiles).
                    let (parts, tree) = w.replicas.first().map_or((&[][..], &[][..]), |r| (&r.parts[..], &r.tree[..]));
                    let read = parts.iter().map(|p| p.read_bytes.div_ceil(rb) + bl).max().unwrap_or(0);
                    let steps = u64::from(w.steps);
                    let interval = w.stages.interval().get();
                    let (hold, last) = if steps > 0 {
                        // The bottleneck stage starts the last step (and the
                        // item stops reading its input) after the stages before it
                        // and `steps - 1` intervals; the result leaves the
                        // pipeline after all stages, and no earlier than `min_span`
                        // after the bottleneck's first step.
                        let before: u64 = w.stages.by_stage()[..w.bottleneck as usize].iter().map(|c| c.get()).sum();
                        let last = w.stages.finish(Cycle(read), steps).get().max(read + before + w.min_span);
                        (read + before + (steps - 1).saturating_mul(interval), last)
                    } else {
                        (read, read)
                    };
                    let local = parts.iter().map(|p| adder(p.local_adds)).max().unwrap_or(0);
                    // The reduction into the home tile: the steps into part 0, level by level.
                    let tree: u64 = tree.iter().filter(|s| s.to == 0).map(|s| adder(s.adds)).sum();
                    let n = w.replicas.len().max(1) as u64;
                    Pace {
                        latency: last + local + tree + alu(w.fused_ops) + w.out_bytes.div_ceil(wb) + bl,
                        hold,
                        per_image: pixels.div_ceil(n).saturating_mul(steps).saturating_mul(interval),
                        write: w.out_bytes.div_ceil(wb) + bl,
                    }
                }
            };
            paces.push(pace);
        }
        paces
    }

    /// Per edge: the extra pixels (beyond its minimum) its ring needs to pass
    /// the network's rate, from the plan's cost model ([`Plan::paces`]; the
    /// simulation is not run, nothing is fitted). A producer pixel holds its
    /// room from the producer's write until its consumer has read it, `T`
    /// cycles: the producer's buffer write, an uncontended NoC transfer to the
    /// edge's first tile, the consumer item's `hold` (start to inputs read)
    /// and, into a join `d` (immediate dominator `dom`), the wait for the
    /// longer branch, `L(d) − L(a)`, with `L(x)` the longest sum of item
    /// latencies on a path `dom → … → x` (0 at `dom`), so a shortcut waits for
    /// the whole branch. Meanwhile the producer `a` writes a pixel every
    /// `max(B, own(a)) / pixels(a)` cycles, `B` being the network's pace (the
    /// largest [`Pace::per_image`], the slowest layer's busiest unit) and
    /// `own(a)` its own: the bandwidth-delay product `⌈T · pixels(a) / max(B,
    /// own(a))⌉`. When that loop passes a pixel or more (`T` at least the
    /// interval), pixels written together ([`Plan::row_bursts`]: a row, at
    /// most one per output register) must also fit beside those in flight, so
    /// the need adds `rows(a)`; a slower edge has each pixel's room back
    /// before the next is written. (Window look-ahead, in pixels, is in the
    /// minimum already.)
    fn needs(&self, arch: &ArchParams) -> Vec<u64> {
        let paces = self.paces(arch);
        let pace = paces.iter().map(|p| p.per_image).max().unwrap_or(0).max(1);
        let idom = self.dominators();
        // Per join: the longest latency from its dominator to each of its producers.
        let mut wait = vec![0u64; self.edges.len()];
        for (d, &dom) in idom.iter().enumerate() {
            if self.in_edges[d].len() < 2 {
                continue;
            }
            let mut dist: Vec<Option<u128>> = vec![None; d - dom];
            dist[0] = Some(0);
            for l in dom + 1..d {
                dist[l - dom] = self.in_edges[l]
                    .iter()
                    .filter_map(|&e| {
                        self.edges[e].producer.checked_sub(dom).and_then(|i| dist.get(i).copied().flatten())
                    })
                    .max()
                    .map(|v| v + u128::from(paces[l].latency));
            }
            let at = |e: usize| {
                self.edges[e].producer.checked_sub(dom).and_then(|i| dist.get(i).copied().flatten()).unwrap_or(0)
            };
            let longest = self.in_edges[d].iter().map(|&e| at(e)).max().unwrap_or(0);
            for &e in &self.in_edges[d] {
                wait[e] = u64::try_from(longest - at(e)).unwrap_or(u64::MAX);
            }
        }
        let rows = self.row_bursts();
        self.edges
            .iter()
            .enumerate()
            .map(|(e, edge)| {
                let a = &paces[edge.producer];
                let t = u128::from(a.write)
                    + u128::from(self.transfer_cycles(arch, e))
                    + u128::from(paces[edge.consumer].hold)
                    + u128::from(wait[e]);
                let per_image = u128::from(pace.max(a.per_image));
                let in_flight = t * u128::from(self.pixels[edge.producer]);
                // A group of pixels written at once must fit beside those in
                // flight when the loop passes a pixel or more (T ≥ interval);
                // a slower edge has each pixel's room back before the next.
                let burst = if in_flight >= per_image { u128::from(rows[edge.producer]) } else { 0 };
                let need = burst + in_flight.div_ceil(per_image);
                u64::try_from(need).unwrap_or(u64::MAX)
            })
            .collect()
    }

    /// Per layer: the pixels it may write at once. A window consumer frees
    /// its producer's pixels a row at a time ([`Need::freed`]), so the rings
    /// that gate a producer open a row at a time and its pixels come in rows:
    /// a layer that reads a window writes up to a row of its output at once
    /// (its width), an element-wise layer passes its producer's bursts on, and
    /// a layer that reads every producer pixel (or the streamed network input,
    /// all there at the start) may write all its pixels at once.
    fn row_bursts(&self) -> Vec<u64> {
        let mut rows: Vec<u64> = Vec::with_capacity(self.work.len());
        for l in 0..self.work.len() {
            let burst = self.in_edges[l]
                .iter()
                .map(|&e| match self.edges[e].need {
                    Need::Window { out_width, .. } => out_width,
                    Need::Same => rows[self.edges[e].producer],
                    Need::All => self.pixels[l],
                })
                .max()
                .unwrap_or(self.pixels[l]);
            // At most one result per output register at once (a view holds none).
            let registers = match &self.work[l] {
                Work::Crossbar(w) => w.replicas.len() as u64,
                Work::Alu { tiles, .. } => tiles.len() as u64,
                Work::View => u64::MAX,
                _ => 1,
            };
            rows.push(burst.min(registers).min(self.pixels[l]).max(1));
        }
        rows
    }

    /// Cycles an uncontended NoC transfer of a pixel of edge `e` takes from
    /// its producer's first output tile to the first tile holding the edge:
    /// the XY hops and the ejection port at the hop latency, plus one cycle
    /// per flit; 0 within a tile, to or from the digital unit, and across
    /// chips (not estimated).
    fn transfer_cycles(&self, arch: &ArchParams, e: usize) -> u64 {
        let edge = &self.edges[e];
        let (Some(&(dst, _)), src) = (edge.slots.first(), self.home_of_output(edge.producer, 0)) else { return 0 };
        let per_chip = arch.tiles_per_chip.max(1);
        if src == dst || dst as usize >= self.tiles || src as usize >= self.tiles || src / per_chip != dst / per_chip {
            return 0;
        }
        let router = |t: u32| match arch.noc.topology {
            NocTopology::Mesh { concentration, .. } => (t % per_chip) / concentration.max(1),
            NocTopology::Bus => 0,
        };
        let links = u64::from(arch.noc.topology.hops(router(src), router(dst))) + 1;
        links * arch.noc.hop_latency.get() + edge.bytes.div_ceil(u64::from(arch.noc.flit_bytes).max(1))
    }

    /// Sizes every edge's ring: each slot first gives its edges their minimum;
    /// a slot whose edges' minima do not fit holds some of them off-chip
    /// instead, in that slot only (the edge's other slots keep their share on
    /// chip), until the rest fit: cheapest first by off-chip bytes per byte
    /// freed (a spilled share sends each of the producer's pixels out and back,
    /// and frees the minimum ring: producer pixels / minimum ring), then the
    /// largest, then the lowest edge index. What is left of the slot is split
    /// by need ([`split_spare`] over [`Plan::needs`]) among the edges still
    /// held there. An edge held in several slots (every tile of its consumer's
    /// replicas, each holding the channels it reads) takes the smallest ring;
    /// an edge spilled in every slot has none. Edges from the network input
    /// (streamed from the host) and into element-wise views hold nothing.
    fn size_buffers(&mut self, arch: &ArchParams) {
        let slots = self.slot_capacity.len();
        // Per slot: its edges, the bytes of a pixel of each held there, and
        // whether that share is spilled.
        let mut by_slot: Vec<Vec<(usize, u64, bool)>> = vec![Vec::new(); slots];
        for e in 0..self.edges.len() {
            if self.edges[e].producer == self.input || self.feeds_view(e) {
                continue;
            }
            let edge_slots = self.slots_of(e);
            for &(s, bytes) in &edge_slots {
                by_slot[s as usize].push((e, bytes, false));
            }
            self.edges[e].slots = edge_slots;
        }
        let mut min_rings: Vec<u64> = (0..self.edges.len()).map(|e| self.local_ring(e)).collect();
        let idom = self.dominators();
        for (d, &dom) in idom.iter().enumerate() {
            if self.in_edges[d].len() > 1 {
                self.raise_for_join(d, dom, &mut min_rings);
            }
        }
        for (edge, ring) in self.edges.iter_mut().zip(min_rings) {
            edge.min_ring = ring;
        }
        let needs = self.needs(arch);
        let min_bytes = |edge: &Edge, bytes: u64| u128::from(edge.min_ring) * u128::from(bytes);
        for (s, list) in by_slot.iter_mut().enumerate() {
            let capacity = u128::from(self.slot_capacity[s]);
            let mut need: u128 = list.iter().map(|&(e, b, _)| min_bytes(&self.edges[e], b)).sum();
            if need <= capacity {
                continue;
            }
            let cost = |e: usize| (u128::from(self.pixels[self.edges[e].producer]), u128::from(self.edges[e].min_ring));
            let mut order: Vec<usize> = (0..list.len()).collect();
            order.sort_by(|&i, &j| {
                let ((ei, bi, _), (ej, bj, _)) = (list[i], list[j]);
                let ((pi, ri), (pj, rj)) = (cost(ei), cost(ej));
                (pi * rj)
                    .cmp(&(pj * ri))
                    .then(min_bytes(&self.edges[ej], bj).cmp(&min_bytes(&self.edges[ei], bi)))
                    .then(ei.cmp(&ej))
            });
            for i in order {
                if need <= capacity {
                    break;
                }
                let (e, b, _) = list[i];
                need -= min_bytes(&self.edges[e], b);
                list[i].2 = true;
                let edge = &mut self.edges[e];
                edge.slots.retain(|&(t, _)| t as usize != s);
                edge.spilled_slots.push((s as u32, b));
            }
        }
        let mut rings = vec![UNBOUNDED; self.edges.len()];
        let mut live = Vec::new();
        for (s, list) in by_slot.iter().enumerate() {
            live.clear();
            live.extend(list.iter().filter(|&&(_, _, spilled)| !spilled).map(|&(e, b, _)| (e, b)));
            let min: u128 = live.iter().map(|&(e, b)| min_bytes(&self.edges[e], b)).sum();
            let spare = u128::from(self.slot_capacity[s]).saturating_sub(min);
            let wants: Vec<(u64, u64)> = live.iter().map(|&(e, b)| (b, needs[e])).collect();
            for (&(e, _), extra) in live.iter().zip(split_spare(spare, &wants)) {
                let ring = u128::from(self.edges[e].min_ring) + extra;
                rings[e] = rings[e].min(u64::try_from(ring).unwrap_or(UNBOUNDED));
            }
        }
        // (Slots were visited in order, so every `spilled_slots` is sorted.)
        for (edge, ring) in self.edges.iter_mut().zip(rings) {
            edge.ring = ring;
        }
    }

    /// The tile where producer pixel `p` of `layer` was written.
    pub(crate) fn home_of_output(&self, layer: usize, p: u64) -> u32 {
        match &self.work[layer] {
            Work::Crossbar(w) => w.replicas[(p % w.replicas.len() as u64) as usize].home,
            Work::Alu { tiles, .. } => tiles[(p % tiles.len() as u64) as usize],
            // An element-wise view (a fused activation, identity) holds its
            // producer's pixel wherever the producer wrote it.
            Work::View => match self.in_edges[layer].as_slice() {
                [e] if matches!(self.edges[*e].need, Need::Same) => self.home_of_output(self.edges[*e].producer, p),
                _ => self.home[layer],
            },
            _ => self.home[layer],
        }
    }

    /// Fills `dests` with the distinct (share, tile) pairs that need producer
    /// pixel `p` for `consumer`, sorted: every part of the consumer's replicas
    /// that read it (a crossbar layer: the part's input share), or the one
    /// tile of another layer (share 0). `readers` is scratch space.
    pub(crate) fn reader_parts(
        &self,
        consumer: usize,
        need: Need,
        p: u64,
        readers: &mut Vec<u64>,
        dests: &mut Vec<(u32, u32)>,
    ) {
        dests.clear();
        match &self.work[consumer] {
            Work::Crossbar(w) => {
                let n = w.replicas.len() as u64;
                if n > 1 {
                    need.readers(p, self.pixels[consumer], readers);
                } else {
                    readers.clear();
                    readers.push(0);
                }
                for &q in readers.iter() {
                    for part in &w.replicas[(q % n) as usize].parts {
                        dests.push((part.share, part.tile));
                    }
                }
                dests.sort_unstable();
                dests.dedup();
            }
            Work::Alu { tiles: alu, .. } if alu.len() > 1 => {
                need.readers(p, self.pixels[consumer], readers);
                let n = alu.len() as u64;
                for &q in readers.iter() {
                    dests.push((0, alu[(q % n) as usize]));
                }
                dests.sort_unstable();
                dests.dedup();
            }
            _ => dests.push((0, self.home_of_output(consumer, 0))),
        }
    }

    /// Whether any layer runs on the digital unit.
    pub(crate) fn uses_digital(&self) -> bool {
        self.work.iter().any(|w| matches!(w, Work::Digital { .. }))
    }
}

/// The timing of one item of a layer, from the plan's cost model: what ring
/// sizing needs to know of it ([`Plan::needs`]).
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// Cycles from an item's start to its result in its tile's buffer.
    latency: u64,
    /// Cycles from an item's start until it has read its inputs (and frees
    /// the producer pixels nothing later reads).
    hold: u64,
    /// Cycles per image of its busiest own unit: a replica's bottleneck stage
    /// over its items, an ALU tile's busiest unit, the digital unit; a view's
    /// producer's.
    per_image: u64,
    /// Cycles its write into its tile's buffer takes (a view's producer's).
    write: u64,
}

/// Splits `spare` bytes of a slot among its edges, given per edge the bytes
/// of a pixel held there and the extra pixels it needs ([`Plan::needs`]);
/// returns the extra pixels of each. If every need fits, each edge gets its
/// need and the rest is shared as the same number of extra pixels per edge
/// (the slack that lets a producer run ahead). If not, each edge first gets a
/// floor, the lesser of its need and half the equal share (`spare` over the
/// bytes of a pixel of every edge), and what is left is split in proportion
/// to the needs beyond the floors (rounded down), so every edge reaches the
/// same fraction of its need: a ring of `R` pixels held `T` cycles passes
/// `R / T` pixels per cycle, so the pipeline, paced by its slowest ring, runs
/// fastest when no ring lags. The floor keeps a misjudged small need from
/// starving its edge (a proportional share rounds down to 0 for a need of a
/// few pixels, and an element-wise edge left at its one-pixel minimum
/// serialises its producer and consumer).
pub(crate) fn split_spare(spare: u128, edges: &[(u64, u64)]) -> Vec<u128> {
    let pixel_bytes: u128 = edges.iter().map(|&(b, _)| u128::from(b)).sum();
    if pixel_bytes == 0 {
        return vec![0; edges.len()];
    }
    let wanted: u128 = edges.iter().map(|&(b, n)| u128::from(b) * u128::from(n)).sum();
    if wanted <= spare {
        let share = (spare - wanted) / pixel_bytes;
        return edges.iter().map(|&(_, n)| u128::from(n) + share).collect();
    }
    let half_share = spare / pixel_bytes / 2;
    let floors: Vec<u128> = edges.iter().map(|&(_, n)| u128::from(n).min(half_share)).collect();
    let floor_bytes: u128 = edges.iter().zip(&floors).map(|(&(b, _), &f)| u128::from(b) * f).sum();
    let left = spare - floor_bytes;
    // Σ b·(n − f) > left here: the needs did not fit.
    let rest: u128 = edges.iter().zip(&floors).map(|(&(b, n), &f)| u128::from(b) * (u128::from(n) - f)).sum();
    edges.iter().zip(&floors).map(|(&(_, n), &f)| f + (u128::from(n) - f) * left / rest.max(1)).collect()
}

/// The work of one item of layer `id`; crossbar layers take the next
/// `replicas` stage pipelines from `groups`.
fn work_of(net: &Network, arch: &ArchParams, mapping: &Mapping, id: LayerId, pixels: u64, groups: &mut usize) -> Work {
    let a_bits = arch.activation_bits;
    match &mapping.layer(id).placement {
        Placement::Input { .. } => Work::Input,
        Placement::View { .. } | Placement::Fused { .. } => Work::View,
        Placement::Crossbars { layout, replicas } => {
            let base = *groups;
            *groups += replicas.len();
            let stages = stage_cycles(arch, layout.max_rows, layout.max_cols, layout.crossbars);
            let steps = arch.input_steps();
            let k_total = u64::from(layout.groups) * u64::from(layout.rows_per_group);
            let n_total = u64::from(layout.groups) * u64::from(layout.outputs_per_group);
            let out_bytes = bytes_of(n_total, a_bits);
            // Σx once per pixel, and one subtraction of offset·Σx per output.
            let offset_adds = if arch.encoding == SignedEncoding::OffsetDigital { k_total + n_total } else { 0 };
            let adds = u64::from(layout.row_tiles - 1) * n_total + offset_adds;
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
            // Buffer reads are per replica (`Replica::read_bytes`): its parts read their windows.
            act[Action::BufferWriteByte] = out_bytes;
            act[Action::TileAdd] = adds;
            act[Action::AluOp] = fused_ops;
            let cin = net.input_shapes(id).first().map_or(0, |s| s.channels as u64);
            let mut shares = Vec::new();
            let replicas = replicas
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (parts, tree) = replica_parts(arch, layout, cin, r, offset_adds, &mut shares);
                    Replica {
                        group: base + i,
                        home: parts[0].tile,
                        read_bytes: parts.iter().map(|p| p.read_bytes).sum(),
                        parts,
                        tree,
                        pe: r.first_pe % arch.tile.pes,
                        pes: r.pes,
                        xbar: (r.first_crossbar % (u64::from(arch.tile.pes) * u64::from(arch.pe.crossbars))) as u32,
                    }
                })
                .collect();
            let shares = shares
                .iter()
                .map(|ranges: &Vec<(u64, u64)>| bytes_of(ranges.iter().map(|(a, b)| b - a).sum(), a_bits))
                .collect();
            Work::Crossbar(Box::new(XbarWork {
                replicas,
                crossbars: layout.crossbars,
                steps,
                min_span: u64::from(arch.stages_per_layer) * stages.interval().get(),
                stages,
                bottleneck: {
                    let by_stage = stages.by_stage();
                    let slowest = by_stage.iter().copied().max().unwrap_or_default();
                    Stage::ALL[by_stage.iter().position(|&c| c == slowest).unwrap_or(0)]
                },
                out_bytes,
                shares,
                fused_ops,
                macs: net.stats(id).macs / pixels.max(1),
                actions: act,
            }))
        }
        Placement::Digital { gemm, cycles } if matches!(net.layer(id).op, Op::MatMul { .. }) => {
            // A product of two activations: a pixel is one (row, column) of every
            // channel's product (K MACs each); the right operand is written to the
            // unit's SRAM once, like a weight, and one row of the left one is read per pixel.
            let mut act = ActionCounts::default();
            act[Action::DigitalMac] = gemm.k * gemm.groups;
            act[Action::DigitalSramByte] = bytes_of(gemm.k * gemm.groups, a_bits) + bytes_of(gemm.groups, a_bits);
            Work::Digital {
                cycles: *cycles,
                pixels,
                actions: act,
                weight_bytes: bytes_of(gemm.k * gemm.m * gemm.groups, a_bits),
            }
        }
        Placement::Digital { gemm, cycles } => {
            let mut act = ActionCounts::default();
            act[Action::DigitalMac] = gemm.k * gemm.m * gemm.groups;
            // One input vector read and one output vector written per pixel.
            act[Action::DigitalSramByte] =
                bytes_of(gemm.k * gemm.groups, a_bits) + bytes_of(gemm.m * gemm.groups, a_bits);
            Work::Digital {
                cycles: *cycles,
                pixels,
                actions: act,
                weight_bytes: bytes_of(gemm.k * gemm.m * gemm.groups, arch.weight_bits),
            }
        }
        Placement::Alu { spread, .. } => {
            let layer = net.layer(id);
            let ins = net.input_shapes(id);
            let c = net.output_shape(id).channels as u64;
            let (in_values, ops) = match &layer.op {
                Op::Pool(p) => {
                    let k = (p.kernel[0] * p.kernel[1]) as u64;
                    (c * k, c * k)
                }
                Op::GlobalAvgPool | Op::GlobalMaxPool => {
                    let e = ins[0].elements() as u64;
                    (e, e)
                }
                // ALU operations per value (a transcendental is one lookup, like an activation):
                // softmax = max, subtract and exp, sum, divide; layernorm = mean, subtract
                // and square-accumulate, subtract and scale, gamma and beta.
                Op::Softmax { .. } => (c, 4 * c),
                Op::LayerNorm { .. } => (c, 7 * c),
                Op::Scale => (c, 2 * c),
                Op::Mul => (2 * c, c),
                // Square, window sum (one add per value with a running sum), power, divide.
                Op::Lrn { .. } => (c, 4 * c),
                // Nearest: one copy per value; bilinear: four reads and three lerps
                // (a multiply-add pair each).
                Op::Resize { linear: false, .. } => (c, c),
                Op::Resize { linear: true, .. } => (4 * c, 6 * c),
                // A copy (or the fill value) per output value.
                Op::Pad { .. } => (c, c),
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
            Work::Alu { tiles: spread.clone().into_boxed_slice(), in_bytes, ops, out_bytes, actions: act }
        }
    }
}

/// The parts of replica `r` of a layer laid out as `layout` (its crossbars
/// fill its PEs in order, crossbar `x` being group `x / (RT·CT)`, row tile
/// `x / CT mod RT` and column tile `x mod CT`, or pack `x` of block-diagonal
/// groups), and the tree that reduces their partial sums into the home tile.
/// `cin` is the producer's channel count; `offset_adds` the offset-digital
/// correction's additions, made at the home tile once every partial sum is
/// in. The input channels each part reads are interned in `shares` (sorted,
/// disjoint half-open ranges).
fn replica_parts(
    arch: &ArchParams,
    layout: &rramsim_map::CrossbarLayout,
    cin: u64,
    r: &rramsim_map::ReplicaPlacement,
    offset_adds: u64,
    shares: &mut Vec<Vec<(u64, u64)>>,
) -> (Vec<Part>, Vec<Reduce>) {
    let (groups, k, n) =
        (u64::from(layout.groups), u64::from(layout.rows_per_group), u64::from(layout.outputs_per_group));
    let (rt_n, ct_n, gpc) =
        (u64::from(layout.row_tiles), u64::from(layout.col_tiles), u64::from(layout.groups_per_crossbar));
    let rows = u64::from(arch.crossbar.rows);
    let wpr = u64::from(arch.weights_per_crossbar_row()).max(1);
    // Input channels per group, and im2col rows per channel (kh·kw; 1 for a linear layer).
    let cg = (cin / groups.max(1)).max(1);
    let area = (k / cg).max(1);
    // Per crossbar: its tile, its row key (whose input rows it drives), the
    // rows and channels of that key, and its column key (whose outputs it sums).
    struct Xbar {
        tile: u32,
        row_key: u64,
        rows: u64,
        channels: (u64, u64),
        col_key: u64,
    }
    let xpp = u64::from(arch.pe.crossbars.max(1));
    let xbars: Vec<Xbar> = (0..u64::from(layout.crossbars))
        .map(|x| {
            // Crossbar-granular replicas may start mid-PE: count from the first crossbar.
            let tile = ((r.first_crossbar + x) / (xpp * u64::from(arch.tile.pes.max(1)))) as u32;
            if gpc > 1 {
                let g0 = x * gpc;
                let in_pack = gpc.min(groups.saturating_sub(g0));
                Xbar { tile, row_key: x, rows: in_pack * k, channels: (g0 * cg, (g0 + in_pack) * cg), col_key: x }
            } else {
                let (g, rem) = (x / (rt_n * ct_n), x % (rt_n * ct_n));
                let (rt, ct) = (rem / ct_n, rem % ct_n);
                let k0 = rt * rows;
                let rows_here = rows.min(k.saturating_sub(k0)).max(1);
                Xbar {
                    tile,
                    row_key: g * rt_n + rt,
                    rows: rows_here,
                    channels: (g * cg + k0 / area, g * cg + (k0 + rows_here - 1) / area + 1),
                    col_key: g * ct_n + ct,
                }
            }
        })
        .collect();
    let outputs_of = |key: u64| {
        if gpc > 1 {
            gpc.min(groups.saturating_sub(key * gpc)) * n
        } else {
            wpr.min(n.saturating_sub(key % ct_n * wpr))
        }
    };
    let mut parts = Vec::new();
    // Per part: the column keys it holds partial sums of.
    let mut held: Vec<Vec<u64>> = Vec::new();
    // Crossbars fill PEs in order, so each tile's crossbars are contiguous.
    for mine in xbars.chunk_by(|a, b| a.tile == b.tile) {
        let mut row_keys: Vec<(u64, u64, (u64, u64))> = mine.iter().map(|x| (x.row_key, x.rows, x.channels)).collect();
        row_keys.sort_unstable();
        row_keys.dedup();
        let read_rows: u64 = row_keys.iter().map(|&(_, rows, _)| rows).sum();
        // The channels it reads, merged into disjoint ranges.
        let mut ranges: Vec<(u64, u64)> = row_keys.iter().map(|&(_, _, c)| c).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let share = match shares.iter().position(|s| *s == merged) {
            Some(i) => i,
            None => {
                shares.push(merged);
                shares.len() - 1
            }
        };
        // Per column key: the partial sums of its row tiles here add up in this tile's adder.
        let mut cols: Vec<(u64, u64)> = mine.iter().map(|x| (x.col_key, x.row_key)).collect();
        cols.sort_unstable();
        cols.dedup();
        let mut keys = Vec::new();
        let mut local_adds = 0;
        for run in cols.chunk_by(|a, b| a.0 == b.0) {
            keys.push(run[0].0);
            local_adds += (run.len() as u64 - 1) * outputs_of(run[0].0);
        }
        parts.push(Part {
            tile: mine[0].tile,
            share: share as u32,
            read_bytes: bytes_of(read_rows, arch.activation_bits),
            local_adds,
        });
        held.push(keys);
    }
    // A binary tree over the parts in order: at level `stride`, part `i + stride`
    // sends everything it holds to part `i` (i a multiple of 2·stride).
    let mut tree = Vec::new();
    let mut stride = 1;
    while stride < parts.len() {
        for i in (0..parts.len()).step_by(2 * stride) {
            let j = i + stride;
            if j >= parts.len() {
                continue;
            }
            let from = std::mem::take(&mut held[j]);
            let bytes = 4 * from.iter().map(|&c| outputs_of(c)).sum::<u64>();
            let adds = from.iter().filter(|c| held[i].binary_search(c).is_ok()).map(|&c| outputs_of(c)).sum();
            let mut union = std::mem::take(&mut held[i]);
            union.extend(from);
            union.sort_unstable();
            union.dedup();
            held[i] = union;
            tree.push(Reduce { from: j as u32, to: i as u32, bytes, adds });
        }
        stride *= 2;
    }
    match tree.last_mut() {
        Some(last) => last.adds += offset_adds,
        None => parts[0].local_adds += offset_adds,
    }
    (parts, tree)
}

fn window(
    producer: Shape,
    consumer: Shape,
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
    fn spare_room_goes_by_need() {
        // (bytes of a pixel, extra pixels needed) per edge.
        let edges = [(32, 500), (32, 1100), (32, 2), (64, 0)];
        // Every need fits (500 + 1100 + 2 pixels of 32 B = 51,264 B): each gets
        // its need, and the 1,000 B left are shared as 6 more pixels each
        // (1,000 / 160 B per pixel of every edge).
        assert_eq!(split_spare(52_264, &edges), vec![506, 1106, 8, 6]);
        // Needs that do not fit (25,600 B for 51,264): the equal share is
        // 25,600 / 160 = 160 pixels, so every edge first gets the lesser of its
        // need and 80 (5,184 B); the 20,416 B left go in proportion to the
        // needs beyond that (420 and 1,020 pixels of 32 B), rounded down.
        let split = split_spare(25_600, &edges);
        assert_eq!(split, vec![80 + 420 * 20_416 / 46_080, 80 + 1020 * 20_416 / 46_080, 2, 0]);
        assert_eq!(split, vec![266, 531, 2, 0]);
        let bytes: u128 = split.iter().zip(&edges).map(|(x, &(b, _))| x * u128::from(b)).sum();
        assert!(bytes <= 25_600);
        // (The old equal split gave every edge 160 pixels: 160 to an edge that
        // needs 2, and a seventh of its need to the one needing 1,100.)
        // Element-wise edges are not starved: a small need is met in full even
        // when the needs do not fit (the proportional share of 2 pixels
        // would round down to 0).
        assert_eq!(split_spare(100 * 32, &[(32, 1), (32, 10_000)]), vec![1, 99]);
        // Nothing to split, or no bytes per pixel: nothing given.
        assert_eq!(split_spare(0, &edges), vec![0, 0, 0, 0]);
        assert_eq!(split_spare(100, &[]), Vec::<u128>::new());
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
