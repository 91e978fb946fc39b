//! Mapping of a network onto the crossbars, PEs, tiles and chips of an
//! architecture.
//!
//! Each conv/linear layer becomes an im2col weight matrix per channel group:
//! `K = C_in/groups · kh · kw` rows by `N = C_out/groups` weights. A weight of `w`
//! bits occupies `ceil(w/c)` cells of `c` bits (twice that with differential
//! encoding). Matrices larger than a crossbar split into row tiles (partial sums
//! added by the tile adder) and column tiles (separate outputs); small grouped
//! matrices (depthwise convs) are packed block-diagonally, several groups per
//! crossbar. A layer's crossbars form one *replica*; layers may be replicated to
//! balance the inter-layer pipeline (see [`Replication`]) within a
//! [`ReplicationBudget`]. Replicas take whole crossbars when every crossbar has
//! its own ADCs and input-register slot (see [`crossbar_granular`]), whole PEs
//! otherwise. Placement (see [`map_network`]) is in topological order and
//! chip-aware: a replica never straddles a tile or chip boundary it need not
//! straddle, and a layer whose replicas fit in one chip is not split across
//! chips. Layers without weights get their first producer's home tile here; the
//! engine spreads their work over the tiles of all the producer's replicas.
//!
//! ```
//! use rramsim_graph::{fold_batchnorm, zoo};
//! use rramsim_hw::load_arch_toml;
//! use rramsim_map::{MappingOptions, Replication, map_network};
//!
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml")).unwrap();
//! let (arch, _) = load_arch_toml("isaac.toml", &text).unwrap();
//! let net = fold_batchnorm(&zoo("resnet20").unwrap()).unwrap();
//! let mapping = map_network(&net, &arch, &MappingOptions::rram(Replication::None)).unwrap();
//! // One copy of ResNet-20 at 16 bits: 166 crossbars of 128x128.
//! assert_eq!(mapping.crossbars_used, 166);
//! ```
//!
//! This crate knows nothing about files or timing.

use std::collections::BinaryHeap;

use rramsim_core::{Cycle, Nanoseconds};
use rramsim_graph::{LayerId, Network, Op};
use rramsim_hw::{ArchParams, Gemm, stage_cycles, systolic_cycles};

/// How layers are replicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// One replica per layer.
    None,
    /// ISAAC-style balancing: repeatedly give one more replica to the layer whose
    /// per-image time (`ceil(pixels / replicas) · steps · interval`) is largest
    /// (the lower layer index on ties), while the replicas fit in the chip budget
    /// (the chips one copy of the network needs unless [`ReplicationBudget::chips`]
    /// gives more);
    /// stops when the slowest layer cannot be shortened (one replica per pixel,
    /// or [`ReplicationBudget::max_replicas`]).
    Balanced,
}

/// The resources replication may use: an architect trades chips for throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicationBudget {
    /// Most replicas of any one layer (`None`: one per output pixel at most).
    pub max_replicas: Option<u32>,
    /// Chips the mapping may use (`None`: the chips one unreplicated copy needs,
    /// so replication fills them but adds no chip: replicas on more chips add
    /// leaking tiles and off-chip traffic for little throughput, e.g. ResNet-50
    /// on ISAAC filling 8 chips costs 5× the energy per image for +10 % images/s).
    /// The unreplicated network must fit in them.
    pub chips: Option<u32>,
}

impl ReplicationBudget {
    /// The budget as reports spell it, e.g. `chips=2,max_replicas=8` or `none`.
    pub fn name(&self) -> String {
        let parts: Vec<String> = [("chips", self.chips), ("max_replicas", self.max_replicas)]
            .into_iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", v?)))
            .collect();
        if parts.is_empty() { "none".into() } else { parts.join(",") }
    }
}

impl Replication {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Balanced => "balanced",
        }
    }
}

/// Which layers run on the fault-free digital unit instead of crossbars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offload {
    /// Every conv/linear layer on crossbars.
    AllRram,
    /// Every 1x1 convolution (shortcut projections, pointwise convs) on the
    /// digital unit.
    Pointwise,
    /// Every conv/linear layer on the digital unit (a baseline).
    AllDigital,
    /// The named layers on the digital unit.
    Layers(Vec<String>),
}

impl Offload {
    /// The policy's name as the CLI spells it.
    pub fn name(&self) -> String {
        match self {
            Offload::AllRram => "all-rram".into(),
            Offload::Pointwise => "pointwise".into(),
            Offload::AllDigital => "all-digital".into(),
            Offload::Layers(l) => format!("layers=[{}]", l.join(",")),
        }
    }

    /// Whether weighted layer `id` goes to the digital unit.
    pub fn offloads(&self, net: &Network, id: LayerId) -> bool {
        let layer = net.layer(id);
        match self {
            Offload::AllRram => false,
            Offload::AllDigital => layer.op.has_weights(),
            Offload::Pointwise => matches!(&layer.op, Op::Conv2d(c) if c.is_pointwise() && c.groups == 1),
            Offload::Layers(names) => names.contains(&layer.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingOptions {
    pub replication: Replication,
    pub offload: Offload,
    pub budget: ReplicationBudget,
}

impl MappingOptions {
    /// Everything on crossbars, with the given replication and no budget but the node.
    pub fn rram(replication: Replication) -> Self {
        Self { replication, offload: Offload::AllRram, budget: ReplicationBudget::default() }
    }
}

/// The digital unit sits beside tile 0 and shares its router.
pub const DIGITAL_UNIT_TILE: u32 = 0;

/// The crossbar footprint of one conv/linear layer.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossbarLayout {
    pub groups: u32,
    /// Rows of one group's im2col matrix (`C_in/groups · kh · kw`).
    pub rows_per_group: u32,
    /// Weights (output channels) of one group.
    pub outputs_per_group: u32,
    /// Groups packed block-diagonally into one crossbar (1 unless packing applies).
    pub groups_per_crossbar: u32,
    /// Crossbars one group (or pack of groups) spans vertically / horizontally.
    pub row_tiles: u32,
    pub col_tiles: u32,
    /// Crossbars of one replica: `ceil(groups / groups_per_crossbar) · row_tiles · col_tiles`.
    pub crossbars: u32,
    /// Σ over the replica's crossbars of the rows they drive (DACs per step).
    pub rows_driven: u64,
    /// Σ over the replica's crossbars of the columns they convert (ADC conversions per step).
    pub cols_converted: u64,
    /// Rows and columns of the fullest crossbar (its stage times bound the replica's).
    pub max_rows: u32,
    pub max_cols: u32,
    /// Weight cells used / cells of the replica's crossbars.
    pub utilization: f64,
}

/// Where a replica's crossbars are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaPlacement {
    /// Global index of the replica's first crossbar (crossbars numbered PE-major,
    /// PEs tile-major, tiles chip-major); its crossbars follow it in order.
    pub first_crossbar: u64,
    /// Global index of the PE that holds its first crossbar.
    pub first_pe: u32,
    /// PEs the replica touches (it may share the first and last with other replicas).
    pub pes: u32,
}

impl ReplicaPlacement {
    /// The first and last tile the replica touches.
    pub fn tiles(&self, arch: &ArchParams) -> (u32, u32) {
        (self.first_pe / arch.tile.pes, (self.first_pe + self.pes - 1) / arch.tile.pes)
    }
}

/// What a layer is mapped to.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// The network input, stored in the buffer of `tile`.
    Input { tile: u32 },
    /// Weights on crossbars.
    Crossbars { layout: CrossbarLayout, replicas: Vec<ReplicaPlacement> },
    /// On the fault-free digital unit: its GEMM and compute cycles per image, in
    /// chip clock cycles (converted once from the unit's own clock).
    Digital { gemm: Gemm, cycles: u64 },
    /// Pooling, residual add, unfused activation or BatchNorm on tile ALUs.
    /// `tile` is its home tile; output pixel `p` runs on `spread[p % spread.len()]`:
    /// the home tiles of its producer's replicas (looking through views and
    /// fused activations; an ALU producer's own `spread`), one per replica in
    /// replica order, repeats kept, so the work sits where its input is
    /// written; `[tile]` when the producer is not on crossbars.
    Alu { tile: u32, spread: Vec<u32> },
    /// An activation folded into its producer's output path.
    Fused { into: LayerId },
    /// A view of its input (flatten, reshape, identity, dropout): no work.
    View { tile: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerMapping {
    pub placement: Placement,
    /// Output positions (H·W) of the layer: the items the engine schedules.
    pub pixels: u64,
}

impl LayerMapping {
    pub fn crossbars(&self) -> u64 {
        match &self.placement {
            Placement::Crossbars { layout, replicas } => u64::from(layout.crossbars) * replicas.len() as u64,
            _ => 0,
        }
    }

    pub fn replicas(&self) -> u32 {
        match &self.placement {
            Placement::Crossbars { replicas, .. } => replicas.len() as u32,
            _ => 0,
        }
    }
}

/// A network mapped onto an architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Indexed by `LayerId`.
    pub layers: Vec<LayerMapping>,
    pub pes_used: u32,
    pub tiles_used: u32,
    pub chips_used: u32,
    pub crossbars_used: u64,
    pub replication: Replication,
    pub budget: ReplicationBudget,
    /// Whether replicas were placed at crossbar granularity (else whole PEs).
    pub crossbar_granular: bool,
}

impl Mapping {
    /// The chips a layer's work sits on, ascending: its replicas' chips, the
    /// chips of the tiles an ALU layer's work is spread over, or the chip of
    /// the tile it runs on (the digital unit is beside chip 0).
    pub fn layer_chips(&self, arch: &ArchParams, id: LayerId) -> Vec<u32> {
        // Tiles are ascending, so their chips are too.
        let mut chips: Vec<u32> = self.layer_tiles(arch, id).iter().map(|t| t / arch.tiles_per_chip).collect();
        chips.dedup();
        chips
    }

    /// The tiles a layer's work sits on, ascending: every tile its replicas
    /// touch, the tiles an ALU layer's work is spread over, or the tile it runs
    /// on (a layer on the digital unit reports [`DIGITAL_UNIT_TILE`], which it sits beside).
    pub fn layer_tiles(&self, arch: &ArchParams, id: LayerId) -> Vec<u32> {
        let mut tiles: Vec<u32> = match &self.layers[id.0].placement {
            Placement::Crossbars { replicas, .. } => replicas
                .iter()
                .flat_map(|r| {
                    let (a, b) = r.tiles(arch);
                    a..=b
                })
                .collect(),
            Placement::Alu { spread, .. } => spread.clone(),
            _ => vec![self.home_tile(arch, id)],
        };
        tiles.sort_unstable();
        tiles.dedup();
        tiles
    }

    pub fn layer(&self, id: LayerId) -> &LayerMapping {
        &self.layers[id.0]
    }

    /// The tile that holds a PE.
    pub fn tile_of_pe(arch: &ArchParams, pe: u32) -> u32 {
        pe / arch.tile.pes
    }

    /// The tile where a layer's results are produced (its first replica's).
    pub fn home_tile(&self, arch: &ArchParams, id: LayerId) -> u32 {
        home_tile_of(&self.layers, arch, id)
    }
}

/// Mapping failures; all are bad input (the network, architecture or offload
/// list the caller gave).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The network needs more crossbars than the node has.
    #[error(
        "the network does not fit: it needs {needed_crossbars} crossbars ({needed_pes} PEs, {needed_tiles} tiles, \
         {needed_chips} chips) but the chip budget allows {available_crossbars} crossbars in {available_chips} chips \
         (the node's `node.chips`, `--chip-budget`, or the chips a fault map covers)"
    )]
    DoesNotFit {
        needed_crossbars: u64,
        needed_pes: u64,
        needed_tiles: u64,
        needed_chips: u64,
        available_chips: u32,
        available_crossbars: u64,
    },
    /// An offload list naming a layer that does not exist.
    #[error("offload: no layer named `{0}`")]
    NoSuchLayer(String),
    /// An offload list naming a layer without weights.
    #[error("offload: layer `{0}` has no weights to offload")]
    NoWeights(String),
    /// A replication budget of zero, or more chips than the node has.
    #[error("{0}")]
    BadBudget(String),
}

impl MapError {
    /// Always true: every mapping failure is the caller's input.
    pub fn is_input(&self) -> bool {
        true
    }
}

/// The crossbar layout of a conv/linear layer, or `None` for other layers.
pub fn crossbar_layout(net: &Network, arch: &ArchParams, id: LayerId) -> Option<CrossbarLayout> {
    let layer = net.layer(id);
    let cin = net.input_shapes(id).first()?.channels as u64;
    let (groups, k, n) = match &layer.op {
        Op::Conv2d(c) => {
            let g = c.groups as u64;
            (g, cin / g * (c.kernel[0] * c.kernel[1]) as u64, (c.out_channels as u64) / g)
        }
        Op::Linear(l) => (1, cin, l.out_features as u64),
        _ => return None,
    };
    let rows = u64::from(arch.crossbar.rows);
    let wpr = u64::from(arch.weights_per_crossbar_row());
    let cpw = u64::from(arch.columns_per_weight());
    let offset_cols = u64::from(arch.crossbar.cols - arch.usable_columns());
    // Block-diagonal packing of small groups (depthwise convs).
    let gpc = if groups > 1 && k <= rows && n <= wpr { (rows / k).min(wpr / n).min(groups) } else { 1 };
    let (row_tiles, col_tiles) = if gpc > 1 { (1, 1) } else { (k.div_ceil(rows), n.div_ceil(wpr)) };
    let packs = groups.div_ceil(gpc);
    let crossbars = packs * row_tiles * col_tiles;
    // Σ rows driven and Σ columns converted over all crossbars.
    let (rows_driven, cols_converted) = if gpc > 1 {
        let mut rows_sum = 0;
        let mut cols_sum = 0;
        for p in 0..packs {
            let in_pack = gpc.min(groups - p * gpc);
            rows_sum += in_pack * k;
            cols_sum += in_pack * n * cpw + offset_cols;
        }
        (rows_sum, cols_sum)
    } else {
        // Every column tile sees all K rows; every row tile converts all N·cpw columns.
        (groups * k * col_tiles, groups * row_tiles * (n * cpw + col_tiles * offset_cols))
    };
    let max_rows = if gpc > 1 { gpc * k } else { k.min(rows) };
    let max_cols = if gpc > 1 { gpc * n * cpw + offset_cols } else { n.min(wpr) * cpw + offset_cols };
    let cells_used = groups * k * n * cpw;
    let cells = crossbars * rows * u64::from(arch.crossbar.cols);
    Some(CrossbarLayout {
        groups: groups as u32,
        rows_per_group: k as u32,
        outputs_per_group: n as u32,
        groups_per_crossbar: gpc as u32,
        row_tiles: row_tiles as u32,
        col_tiles: col_tiles as u32,
        crossbars: crossbars as u32,
        rows_driven,
        cols_converted,
        max_rows: max_rows as u32,
        max_cols: max_cols as u32,
        utilization: cells_used as f64 / cells as f64,
    })
}

/// The GEMM a conv/linear layer is for the digital unit.
pub fn digital_gemm(net: &Network, id: LayerId) -> Gemm {
    let cin = net.input_shapes(id)[0].channels as u64;
    let out = net.output_shape(id);
    let pixels = (out.height * out.width) as u64;
    match &net.layer(id).op {
        Op::Conv2d(c) => {
            let g = c.groups as u64;
            Gemm { k: cin / g * (c.kernel[0] * c.kernel[1]) as u64, m: c.out_channels as u64 / g, p: pixels, groups: g }
        }
        Op::Linear(l) => Gemm { k: cin, m: l.out_features as u64, p: 1, groups: 1 },
        // One (rows × K)·(K × cols) product per channel.
        Op::MatMul { transpose_a, .. } => {
            let a = net.input_shapes(id)[0];
            let k = if *transpose_a { a.height } else { a.width } as u64;
            Gemm { k, m: out.width as u64, p: out.height as u64, groups: out.channels as u64 }
        }
        _ => Gemm { k: 0, m: 0, p: 0, groups: 0 },
    }
}

/// Greedy fault-aware offload (the `auto` policy): candidates are
/// `(layer, score, digital cycles)`; the highest scores go to the digital unit
/// while their cycles fit in `budget_cycles`. Ties keep network order.
pub fn auto_offload(candidates: &[(LayerId, f64, u64)], budget_cycles: u64) -> Vec<LayerId> {
    let mut order: Vec<&(LayerId, f64, u64)> = candidates.iter().filter(|c| c.1 > 0.0).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut used = 0u64;
    let mut chosen = Vec::new();
    for &(id, _, cycles) in order {
        if used + cycles <= budget_cycles {
            used += cycles;
            chosen.push(id);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// Cycles one replica spends per output pixel at its initiation interval.
pub fn cycles_per_pixel(arch: &ArchParams, layout: &CrossbarLayout) -> u64 {
    let stages = stage_cycles(arch, layout.max_rows, layout.max_cols, layout.crossbars);
    u64::from(arch.input_steps()) * stages.interval().get().max(1)
}

/// Maps `net` onto `arch`.
pub fn map_network(net: &Network, arch: &ArchParams, options: &MappingOptions) -> Result<Mapping, MapError> {
    let xbars_per_pe = arch.pe.crossbars;
    if let Offload::Layers(names) = &options.offload {
        for n in names {
            match net.find(n) {
                Some(id) if net.layer(id).op.has_weights() => {}
                Some(_) => return Err(MapError::NoWeights(n.clone())),
                None => return Err(MapError::NoSuchLayer(n.clone())),
            }
        }
    }
    // A product of two activations has no weights to store: it always runs on the digital unit.
    let digital: Vec<bool> = net
        .ids()
        .map(|id| options.offload.offloads(net, id) || matches!(net.layer(id).op, Op::MatMul { .. }))
        .collect();
    let layouts: Vec<Option<CrossbarLayout>> =
        net.ids().map(|id| if digital[id.0] { None } else { crossbar_layout(net, arch, id) }).collect();
    let geo = Geometry::of(arch);
    let granular = crossbar_granular(arch);
    // Crossbars one replica of a layer takes.
    let size_of = |l: &CrossbarLayout| {
        if granular { u64::from(l.crossbars) } else { u64::from(l.crossbars.div_ceil(xbars_per_pe)) * geo.per_pe }
    };
    let budget = &options.budget;
    if budget.max_replicas == Some(0) {
        return Err(MapError::BadBudget("replication budget: max_replicas must be at least 1".into()));
    }
    let sizes: Vec<u64> = layouts.iter().map(|l| l.as_ref().map_or(0, size_of)).collect();
    let base: u64 = sizes.iter().sum();
    let chips = match budget.chips {
        Some(0) => return Err(MapError::BadBudget("replication budget: chips must be at least 1".into())),
        Some(c) if c > arch.node.chips => {
            return Err(MapError::BadBudget(format!(
                "replication budget: {c} chips, but the node has {} (node.chips)",
                arch.node.chips
            )));
        }
        Some(c) => c,
        // The chips one copy needs placed without avoidable chip straddling (at
        // least one; packed when no chip count of the node allows that; a copy
        // larger than the node is refused just below with the chips it needs).
        None => {
            let packed = u32::try_from(base.div_ceil(geo.per_chip).max(1)).unwrap_or(u32::MAX).min(arch.node.chips);
            let one: Vec<u32> = layouts.iter().map(|l| u32::from(l.is_some())).collect();
            let strict = Align { tiles: false, chips: true };
            (packed..=arch.node.chips)
                .find(|&c| place(&geo, &sizes, &one, geo.per_chip * u64::from(c), strict).is_some())
                .unwrap_or(packed)
        }
    };
    let limit = geo.per_chip * u64::from(chips);
    if base > limit {
        let needed_crossbars: u64 = layouts.iter().flatten().map(|l| u64::from(l.crossbars)).sum();
        let needed_pes = base.div_ceil(geo.per_pe);
        return Err(MapError::DoesNotFit {
            needed_crossbars,
            needed_pes,
            needed_tiles: base.div_ceil(geo.per_tile),
            needed_chips: base.div_ceil(geo.per_chip),
            available_chips: chips,
            available_crossbars: limit,
        });
    }
    let pixels: Vec<u64> = net
        .ids()
        .map(|id| {
            let s = net.output_shape(id);
            (s.height * s.width) as u64
        })
        .collect();

    // Replica counts: every step of `steps` raises one layer's count.
    let mut replicas: Vec<u32> = layouts.iter().map(|l| u32::from(l.is_some())).collect();
    let mut steps: Vec<(usize, u32, u32)> = Vec::new();
    if options.replication == Replication::Balanced {
        let max_replicas = u64::from(budget.max_replicas.unwrap_or(u32::MAX));
        let mut used = base;
        // Max-heap of (per-image time, layer index); ties break on the lower index.
        let time = |i: usize, r: u32| {
            let l = layouts[i].as_ref().expect("only crossbar layers are queued");
            pixels[i].div_ceil(u64::from(r)) * cycles_per_pixel(arch, l)
        };
        let mut heap: BinaryHeap<(u64, std::cmp::Reverse<usize>)> = layouts
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_some())
            .map(|(i, _)| (time(i, 1), std::cmp::Reverse(i)))
            .collect();
        while let Some((t, std::cmp::Reverse(i))) = heap.pop() {
            let l = layouts[i].as_ref().expect("queued layers have layouts");
            let r = replicas[i];
            let cap = pixels[i].min(max_replicas);
            // The bottleneck cannot improve: stop (other layers are faster already).
            if u64::from(r) >= cap {
                break;
            }
            // Skip replicas that do not shorten the layer (ceil plateaus).
            let mut next = r + 1;
            while time(i, next) == t && u64::from(next) < cap {
                next += 1;
            }
            let cost = size_of(l) * u64::from(next - r);
            if used + cost > limit || time(i, next) == t {
                break;
            }
            used += cost;
            steps.push((i, r, next));
            replicas[i] = next;
            heap.push((time(i, next), std::cmp::Reverse(i)));
        }
    }

    // Placement: with every replica, strictly (no avoidable tile or chip
    // straddling), else without tile alignment (its waste can cost a quarter
    // of a tile); else the longest prefix of the replication steps that places
    // without avoidable chip straddling (placement only grows with more
    // replicas, so a binary search finds it); else packed.
    let with_steps = |k: usize| {
        let mut r = replicas.clone();
        for &(i, from, _) in steps[k..].iter().rev() {
            r[i] = from;
        }
        r
    };
    let (full, chips_only) = (Align { tiles: true, chips: true }, Align { tiles: false, chips: true });
    let starts = match place(&geo, &sizes, &replicas, limit, full)
        .or_else(|| place(&geo, &sizes, &replicas, limit, chips_only))
    {
        Some(s) => s,
        None => {
            let (mut lo, mut hi) = (0usize, steps.len());
            // Invariant: prefix `hi` fails; find the largest prefix that places.
            while lo + 1 < hi {
                let mid = lo + (hi - lo) / 2;
                if place(&geo, &sizes, &with_steps(mid), limit, chips_only).is_some() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            replicas = with_steps(lo);
            match place(&geo, &sizes, &replicas, limit, chips_only) {
                Some(s) => s,
                // Even one copy cannot avoid straddling: pack it.
                None => place(&geo, &sizes, &replicas, limit, Align { tiles: false, chips: false })
                    .expect("the packed network fits the budget"),
            }
        }
    };

    let mut layers: Vec<LayerMapping> = Vec::with_capacity(net.len());
    for id in net.ids() {
        let layer = net.layer(id);
        let placement = match (&layer.op, layouts[id.0].clone()) {
            _ if digital[id.0] => {
                let gemm = digital_gemm(net, id);
                let unit = &arch.digital;
                let t = unit.clock.to_ns(Cycle(systolic_cycles(unit, gemm)));
                Placement::Digital { gemm, cycles: arch.clock.cycles_ceil(Nanoseconds(t.0)).get() }
            }
            (_, Some(layout)) => {
                let size = sizes[id.0];
                let reps = starts[id.0]
                    .iter()
                    .map(|&first| {
                        let first_pe = first / geo.per_pe;
                        let last_pe = (first + size - 1) / geo.per_pe;
                        ReplicaPlacement {
                            first_crossbar: first,
                            first_pe: first_pe as u32,
                            pes: (last_pe - first_pe + 1) as u32,
                        }
                    })
                    .collect();
                Placement::Crossbars { layout, replicas: reps }
            }
            (Op::Input { .. }, None) => Placement::Input { tile: 0 },
            (Op::Activation(_), None) if fusable(net, id) && !digital[net.inputs(id)[0].0] => {
                Placement::Fused { into: net.inputs(id)[0] }
            }
            (op, None) => {
                let producer = net.inputs(id)[0];
                let tile = home_tile_of(&layers, arch, producer);
                if matches!(
                    op,
                    Op::Flatten | Op::Reshape { .. } | Op::Identity | Op::Dropout { .. } | Op::ChannelSlice { .. }
                ) {
                    Placement::View { tile }
                } else {
                    let spread = spread_of(net, &layers, arch, producer);
                    Placement::Alu { tile, spread: if spread.is_empty() { vec![tile] } else { spread } }
                }
            }
        };
        layers.push(LayerMapping { placement, pixels: pixels[id.0] });
    }
    // The input lives where its first consumer computes.
    let input = net.input();
    if let Some(&first) = net.consumers(input).first() {
        let tile = home_tile_of(&layers, arch, first);
        layers[input.0].placement = Placement::Input { tile };
    }
    let crossbars_used = layers.iter().map(LayerMapping::crossbars).sum();
    // Distinct PEs, tiles and chips touched (replicas are placed in ascending order).
    let (mut pes_used, mut tiles_used, mut chips_used) = (0u32, 0u32, 0u32);
    let (mut last_pe, mut last_tile, mut last_chip) = (None, None, None);
    let count = |last: &mut Option<u64>, n: &mut u32, a: u64, b: u64| {
        let from = match *last {
            Some(l) if l >= a => l + 1,
            _ => a,
        };
        if b >= from {
            *n += (b - from + 1) as u32;
            *last = Some(b);
        }
    };
    for (id, starts) in starts.iter().enumerate() {
        for &first in starts {
            let last = first + sizes[id] - 1;
            count(&mut last_pe, &mut pes_used, first / geo.per_pe, last / geo.per_pe);
            count(&mut last_tile, &mut tiles_used, first / geo.per_tile, last / geo.per_tile);
            count(&mut last_chip, &mut chips_used, first / geo.per_chip, last / geo.per_chip);
        }
    }
    Ok(Mapping {
        layers,
        pes_used,
        tiles_used: tiles_used.max(1),
        chips_used: chips_used.max(1),
        crossbars_used,
        replication: options.replication,
        budget: options.budget,
        crossbar_granular: granular,
    })
}

/// Whether replicas may take single crossbars rather than whole PEs: when every
/// crossbar has ADCs of its own (`pe.adc.per_crossbar ≥ 1`, as in ISAAC's 8 ADCs
/// per IMA of 8 arrays) its conversions do not wait for its PE neighbours, and
/// the PE's input register holds one input vector per crossbar (ISAAC: 8 × 128
/// inputs), so neighbouring crossbars can serve different replicas or layers.
/// An ADC shared by several crossbars (`pe.adc.shared_by > 1`, as in `puma`)
/// serialises their conversions, so replicas there take whole PEs.
pub fn crossbar_granular(arch: &ArchParams) -> bool {
    arch.pe.adc.per_crossbar >= 1 && arch.pe.adc.shared_by <= 1
}

/// Crossbars per PE, tile and chip.
struct Geometry {
    per_pe: u64,
    per_tile: u64,
    per_chip: u64,
}

impl Geometry {
    fn of(arch: &ArchParams) -> Self {
        let per_pe = u64::from(arch.pe.crossbars);
        let per_tile = per_pe * u64::from(arch.tile.pes);
        Self { per_pe, per_tile, per_chip: per_tile * u64::from(arch.tiles_per_chip) }
    }
}

/// Which boundaries placement avoids straddling.
#[derive(Clone, Copy)]
struct Align {
    tiles: bool,
    chips: bool,
}

/// Where a replica of `size` crossbars starts if the cursor is at `at`: moved to
/// the next chip (and, with `tiles`, tile) boundary when that makes it span fewer
/// chips (tiles), i.e. when it would otherwise straddle a boundary it fits within.
fn align_replica(geo: &Geometry, at: u64, size: u64, tiles: bool) -> u64 {
    let spans = |at: u64, unit: u64| (at + size - 1) / unit - at / unit + 1;
    let mut at = at;
    for unit in [geo.per_chip, geo.per_tile].into_iter().take(if tiles { 2 } else { 1 }) {
        let next = at.div_ceil(unit) * unit;
        if spans(next, unit) < spans(at, unit) {
            at = next;
        }
    }
    at
}

/// Places the replicas of every crossbar layer in layer order from crossbar 0.
/// With `align.chips`, each replica is aligned (see [`align_replica`]) and a
/// layer whose replicas fit in one chip starts on a fresh chip when they would
/// straddle two; `None` if the result passes `limit` crossbars. Without: every
/// replica right after the previous one (fits whenever the sizes add up to
/// `limit`). Returns each layer's replica start crossbars.
fn place(geo: &Geometry, sizes: &[u64], replicas: &[u32], limit: u64, align: Align) -> Option<Vec<Vec<u64>>> {
    let strict = align.chips;
    let mut at = 0u64;
    let mut starts = Vec::with_capacity(sizes.len());
    let run = |mut at: u64, size: u64, n: u32, out: &mut Vec<u64>| {
        out.clear();
        for _ in 0..n {
            if strict {
                at = align_replica(geo, at, size, align.tiles);
            }
            out.push(at);
            at += size;
        }
        at
    };
    let mut here = Vec::new();
    for (&size, &n) in sizes.iter().zip(replicas) {
        if size == 0 || n == 0 {
            starts.push(Vec::new());
            continue;
        }
        let mut end = run(at, size, n, &mut here);
        if strict && size * u64::from(n) <= geo.per_chip && (end - 1) / geo.per_chip != here[0] / geo.per_chip {
            // The layer fits in a chip: start it on the next one.
            end = run(at.div_ceil(geo.per_chip) * geo.per_chip, size, n, &mut here);
        }
        if end > limit {
            return None;
        }
        starts.push(here.clone());
        at = end;
    }
    Some(starts)
}

fn home_tile_of(layers: &[LayerMapping], arch: &ArchParams, id: LayerId) -> u32 {
    match &layers[id.0].placement {
        Placement::Input { tile } | Placement::Alu { tile, .. } | Placement::View { tile } => *tile,
        Placement::Crossbars { replicas, .. } => Mapping::tile_of_pe(arch, replicas[0].first_pe),
        Placement::Digital { .. } => DIGITAL_UNIT_TILE,
        Placement::Fused { into } => home_tile_of(layers, arch, *into),
    }
}

/// The tiles an ALU layer reading `id` spreads its pixels over (see
/// [`Placement::Alu`]), looking through views and fused activations; empty
/// when `id` is not computed on crossbars or ALUs.
fn spread_of(net: &Network, layers: &[LayerMapping], arch: &ArchParams, id: LayerId) -> Vec<u32> {
    match &layers[id.0].placement {
        Placement::Crossbars { replicas, .. } => {
            replicas.iter().map(|r| Mapping::tile_of_pe(arch, r.first_pe)).collect()
        }
        Placement::Alu { spread, .. } => spread.clone(),
        Placement::Fused { .. } | Placement::View { .. } => match net.inputs(id).first() {
            Some(&p) => spread_of(net, layers, arch, p),
            None => Vec::new(),
        },
        Placement::Input { .. } | Placement::Digital { .. } => Vec::new(),
    }
}

/// An activation directly after a conv/linear layer that nothing else reads runs
/// in that layer's output path (ISAAC's sigmoid units sit there).
fn fusable(net: &Network, id: LayerId) -> bool {
    let [producer] = net.inputs(id) else { return false };
    net.layer(*producer).op.has_weights() && net.consumers(*producer).len() == 1
}
