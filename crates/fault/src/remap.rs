//! Fault-aware remapping: per crossbar, a permutation of rows (and optionally
//! columns) that puts stuck cells under the weight slices they hurt least, using
//! the crossbar's spare rows and columns when the architecture has them.
//!
//! A crossbar has `rows + spare_rows` physical rows and `cols + spare_cols`
//! physical columns (the fault map's geometry); the mapping fills `rows × cols`
//! *logical* cells. A remap assigns every logical row a distinct physical row
//! (the input vector is routed through the same permutation by index logic at
//! the input register) and, with [`RemapMode::RowsCols`], every logical column a
//! distinct physical column (the shift-and-add reads each converted column
//! through an index table). Physical rows and columns no logical one is
//! assigned to receive no input / are not read, so their faults change nothing.
//!
//! Objective (separable, so each step is an assignment problem): the sum over
//! stuck cells holding content of the weight change they cause, in quantized
//! units: `|cell_delta|` (the slice's significance times the level error) in
//! the cell model, `|q|` in the weight-zero model, `|offset_delta| · weights per
//! row` for an offset-column cell. Rows are solved exactly by a min-cost
//! assignment (Jonker–Volgenant: column reduction, then shortest augmenting
//! paths, worst case `O(m³)`, far less on these matrices); with columns, rows and
//! columns alternate (rows, columns, rows), each step exact given the other, so
//! the objective never rises above the identity's.

use rayon::prelude::*;
use rramsim_hw::SignedEncoding;
use rramsim_map::{CrossbarLayout, ReplicaPlacement};

use crate::effective::{FaultModel, Slot, WeightCodec, slot};
use crate::error::FaultError;
use crate::map::{CellState, FaultMap, XbarFaults};

/// Marks a physical row or column no logical one is assigned to.
pub const UNASSIGNED: u32 = u32::MAX;

/// Which permutations a remap may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RemapMode {
    /// Identity placement (spare rows and columns stay unused).
    #[default]
    None,
    /// Permute rows.
    Rows,
    /// Permute rows and columns.
    RowsCols,
}

impl RemapMode {
    pub fn name(self) -> &'static str {
        match self {
            RemapMode::None => "none",
            RemapMode::Rows => "rows",
            RemapMode::RowsCols => "rows+cols",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(RemapMode::None),
            "rows" => Some(RemapMode::Rows),
            "rows+cols" => Some(RemapMode::RowsCols),
            _ => None,
        }
    }

    pub fn permutes_cols(self) -> bool {
        self == RemapMode::RowsCols
    }
}

/// One crossbar's placement: the logical row / column each physical one holds
/// ([`UNASSIGNED`] for none). Empty vectors mean the identity placement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XbarPerm {
    pub row_of_phys: Vec<u32>,
    pub col_of_phys: Vec<u32>,
}

/// The placement of every crossbar of one layer replica.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaRemap {
    pub xbars: Vec<XbarPerm>,
}

/// The objective of one replica before and after remapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemapStats {
    /// Σ weight change (quantized units) of the identity placement.
    pub identity_cost: u64,
    pub remapped_cost: u64,
    /// Crossbars whose placement differs from the identity.
    pub crossbars_permuted: u64,
}

impl RemapStats {
    pub fn add(&mut self, o: &RemapStats) {
        self.identity_cost += o.identity_cost;
        self.remapped_cost += o.remapped_cost;
        self.crossbars_permuted += o.crossbars_permuted;
    }
}

/// The logical cell a physical cell holds, under `perm` (identity when empty),
/// or `None` for a spare or unassigned row or column.
#[inline]
pub(crate) fn logical(codec: &WeightCodec, perm: Option<&XbarPerm>, r: u32, c: u32) -> Option<(u32, u32)> {
    let lr = match perm {
        Some(p) if !p.row_of_phys.is_empty() => p.row_of_phys[r as usize],
        _ => r,
    };
    let lc = match perm {
        Some(p) if !p.col_of_phys.is_empty() => p.col_of_phys[c as usize],
        _ => c,
    };
    (lr < codec.rows && lc < codec.cols).then_some((lr, lc))
}

/// The weight change (quantized units) a stuck cell causes at logical cell (`r`, `c`).
#[allow(clippy::too_many_arguments)]
fn cell_cost(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    q: &[i32],
    x: u32,
    r: u32,
    c: u32,
    state: CellState,
) -> i64 {
    match slot(codec, layout, x, r, c) {
        Slot::Weight { index, s } => match model {
            FaultModel::Cell => codec.cell_delta(q[index], s, state).abs(),
            FaultModel::WeightZero => i64::from(q[index]).abs(),
        },
        Slot::Offset { j, .. } if model == FaultModel::Cell && codec.encoding == SignedEncoding::OffsetColumn => {
            codec.offset_delta(j, state).abs() * i64::from(codec.weights_per_row)
        }
        _ => 0,
    }
}

/// Reusable buffers of [`remap_replica`] (one per worker thread).
#[derive(Debug, Default)]
pub struct RemapScratch {
    cost: Vec<i64>,
    faults: Vec<(u32, u32, CellState)>,
    hungarian: Hungarian,
}

/// Computes the placement of each crossbar of one replica. `buf` must come from
/// `map` ([`FaultMap::buffer`]); its dimensions are the physical crossbar's.
/// Crossbars are placed in parallel (each is independent; the result is the same
/// on any thread count); `buf` and `scratch` serve the first worker.
#[allow(clippy::too_many_arguments)]
pub fn remap_replica(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    replica: &ReplicaPlacement,
    map: &FaultMap,
    model: FaultModel,
    mode: RemapMode,
    q: &[i32],
    buf: &mut XbarFaults,
    scratch: &mut RemapScratch,
) -> Result<(ReplicaRemap, RemapStats), FaultError> {
    let first = replica.first_crossbar as usize;
    let one = |x: u32, buf: &mut XbarFaults, scratch: &mut RemapScratch| {
        map.crossbar_into(first + x as usize, buf)?;
        Ok(remap_crossbar(codec, layout, model, mode, q, x, buf, scratch))
    };
    let placed: Vec<Result<(XbarPerm, i64, i64), FaultError>> = if layout.crossbars <= 1 {
        (0..layout.crossbars).map(|x| one(x, buf, scratch)).collect()
    } else {
        (0..layout.crossbars)
            .into_par_iter()
            .map_init(|| (map.buffer(), RemapScratch::default()), |(b, s), x| one(x, b, s))
            .collect()
    };
    let mut stats = RemapStats::default();
    let mut out = ReplicaRemap { xbars: Vec::with_capacity(placed.len()) };
    for p in placed {
        let (perm, identity, cost) = p?;
        stats.identity_cost += identity as u64;
        stats.remapped_cost += cost as u64;
        stats.crossbars_permuted += u64::from(cost != identity);
        out.xbars.push(perm);
    }
    Ok((out, stats))
}

/// One crossbar's placement (faults decoded into `buf`), its identity
/// objective and its objective.
#[allow(clippy::too_many_arguments)]
fn remap_crossbar(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    mode: RemapMode,
    q: &[i32],
    x: u32,
    buf: &XbarFaults,
    scratch: &mut RemapScratch,
) -> (XbarPerm, i64, i64) {
    scratch.faults.clear();
    let cols = buf.cols;
    buf.for_each_fault(|cell, state| scratch.faults.push((cell as u32 / cols, cell as u32 % cols, state)));
    let (pr, pc) = (buf.rows, buf.cols);
    let mut perm = XbarPerm::default();
    let identity = objective(codec, layout, model, q, x, &perm, &scratch.faults);
    if mode == RemapMode::None || identity == 0 {
        return (perm, identity, identity);
    }
    let mut cost = identity;
    let rounds = if mode.permutes_cols() { 2 } else { 1 };
    for round in 0..rounds {
        cost = assign_rows(codec, layout, model, q, x, pr, &mut perm, scratch);
        if round + 1 == rounds || cost == 0 {
            break;
        }
        let before = cost;
        cost = assign_cols(codec, layout, model, q, x, pc, &mut perm, scratch);
        if cost == 0 || cost == before {
            break;
        }
    }
    debug_assert!(cost <= identity);
    debug_assert_eq!(cost, objective(codec, layout, model, q, x, &perm, &scratch.faults));
    if cost == identity {
        perm = XbarPerm::default();
    }
    (perm, identity, cost)
}

fn objective(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    q: &[i32],
    x: u32,
    perm: &XbarPerm,
    faults: &[(u32, u32, CellState)],
) -> i64 {
    faults
        .iter()
        .filter_map(|&(r, c, st)| {
            logical(codec, Some(perm), r, c).map(|(lr, lc)| cell_cost(codec, layout, model, q, x, lr, lc, st))
        })
        .sum()
}

/// Adds, for every logical row `l`, the cost of a stuck cell in logical column
/// `lc` of row `l` to `out[l · stride]`: [`cell_cost`] for each `l`, with the
/// column's slot worked out once where the layout is not packed.
#[allow(clippy::too_many_arguments)]
fn add_column_costs(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    q: &[i32],
    x: u32,
    lc: u32,
    state: CellState,
    out: &mut [i64],
    stride: usize,
) {
    let rows = codec.rows as usize;
    if layout.groups_per_crossbar > 1 || lc >= codec.usable_columns {
        // Packed blocks, or an offset column (the same cost on every row).
        for l in 0..rows {
            out[l * stride] += cell_cost(codec, layout, model, q, x, l as u32, lc, state);
        }
        return;
    }
    let (k_rows, n_out) = (layout.rows_per_group, layout.outputs_per_group);
    let (wcol, s) = (lc / codec.columns_per_weight, lc % codec.columns_per_weight);
    let per_group = layout.row_tiles * layout.col_tiles;
    let (g, rem) = (x / per_group, x % per_group);
    let (rt, ct) = (rem / layout.col_tiles, rem % layout.col_tiles);
    let n = ct * codec.weights_per_row + wcol;
    if wcol >= codec.weights_per_row || n >= n_out {
        return;
    }
    // Rows k = rt · rows + l below k_rows hold weights; the rest are unused.
    let first_k = u64::from(rt) * u64::from(codec.rows);
    let used = (u64::from(k_rows).saturating_sub(first_k)).min(rows as u64) as usize;
    let base = ((u64::from(g) * u64::from(n_out) + u64::from(n)) * u64::from(k_rows) + first_k) as usize;
    for (l, &w) in q[base..base + used].iter().enumerate() {
        out[l * stride] += match model {
            FaultModel::Cell => codec.cell_delta(w, s, state).abs(),
            FaultModel::WeightZero => i64::from(w).abs(),
        };
    }
}

/// Assigns logical rows to physical rows given the column placement; returns the cost.
#[allow(clippy::too_many_arguments)]
fn assign_rows(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    q: &[i32],
    x: u32,
    phys_rows: u32,
    perm: &mut XbarPerm,
    s: &mut RemapScratch,
) -> i64 {
    let (n, m) = (codec.rows as usize, phys_rows as usize);
    s.cost.clear();
    s.cost.resize(n * m, 0);
    for &(r, c, st) in &s.faults {
        let lc = if perm.col_of_phys.is_empty() { c } else { perm.col_of_phys[c as usize] };
        if lc >= codec.cols {
            continue;
        }
        add_column_costs(codec, layout, model, q, x, lc, st, &mut s.cost[r as usize..], m);
    }
    let total = s.hungarian.solve(n, m, &s.cost);
    perm.row_of_phys.clear();
    perm.row_of_phys.resize(m, UNASSIGNED);
    for (l, &p) in s.hungarian.assignment.iter().enumerate() {
        perm.row_of_phys[p] = l as u32;
    }
    total
}

/// Assigns logical columns to physical columns given the row placement; returns the cost.
#[allow(clippy::too_many_arguments)]
fn assign_cols(
    codec: &WeightCodec,
    layout: &CrossbarLayout,
    model: FaultModel,
    q: &[i32],
    x: u32,
    phys_cols: u32,
    perm: &mut XbarPerm,
    s: &mut RemapScratch,
) -> i64 {
    let (n, m) = (codec.cols as usize, phys_cols as usize);
    s.cost.clear();
    s.cost.resize(n * m, 0);
    for &(r, c, st) in &s.faults {
        let lr = if perm.row_of_phys.is_empty() { r } else { perm.row_of_phys[r as usize] };
        if lr >= codec.rows {
            continue;
        }
        for l in 0..n {
            s.cost[l * m + c as usize] += cell_cost(codec, layout, model, q, x, lr, l as u32, st);
        }
    }
    let total = s.hungarian.solve(n, m, &s.cost);
    perm.col_of_phys.clear();
    perm.col_of_phys.resize(m, UNASSIGNED);
    for (l, &p) in s.hungarian.assignment.iter().enumerate() {
        perm.col_of_phys[p] = l as u32;
    }
    total
}

/// Min-cost assignment of `n` workers to `m ≥ n` jobs: Jonker–Volgenant (column
/// reduction, reduction transfer, then shortest augmenting paths by Dijkstra
/// with deferred potential updates), on the problem padded to `m × m` with
/// zero-cost dummy workers (who take the jobs no worker gets). Exact;
/// deterministic (ties go to the lowest index in scan order).
#[derive(Debug, Default)]
struct Hungarian {
    /// Padded square cost, `m × m`.
    c: Vec<i64>,
    v: Vec<i64>,
    /// Column of each row, row of each column (`NONE` for none).
    x: Vec<usize>,
    y: Vec<usize>,
    d: Vec<i64>,
    pred: Vec<usize>,
    collist: Vec<usize>,
    free: Vec<usize>,
    matches: Vec<u32>,
    /// Job of each worker.
    assignment: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl Hungarian {
    /// `cost[i · m + j]`: worker `i` on job `j`. Returns the optimal total.
    fn solve(&mut self, n: usize, m: usize, cost: &[i64]) -> i64 {
        debug_assert!(n <= m && cost.len() == n * m);
        let c = &mut self.c;
        c.clear();
        c.extend_from_slice(cost);
        c.resize(m * m, 0);
        let c = &self.c[..];
        let (v, x, y) = (&mut self.v, &mut self.x, &mut self.y);
        v.clear();
        v.resize(m, 0);
        x.clear();
        x.resize(m, NONE);
        y.clear();
        y.resize(m, NONE);
        self.matches.clear();
        self.matches.resize(m, 0);
        // Column reduction: each column's minimum row takes it if still free.
        for j in (0..m).rev() {
            let mut imin = 0;
            let mut min = c[j];
            for i in 1..m {
                if c[i * m + j] < min {
                    min = c[i * m + j];
                    imin = i;
                }
            }
            v[j] = min;
            self.matches[imin] += 1;
            if self.matches[imin] == 1 {
                x[imin] = j;
                y[j] = imin;
            }
        }
        // Reduction transfer: a row assigned once gives its slack to its column.
        self.free.clear();
        for i in 0..m {
            match self.matches[i] {
                0 => self.free.push(i),
                1 => {
                    let j1 = x[i];
                    let row = &c[i * m..(i + 1) * m];
                    let min = (0..m).filter(|&j| j != j1).map(|j| row[j] - v[j]).min();
                    if let Some(min) = min {
                        v[j1] -= min;
                    }
                }
                _ => {}
            }
        }
        // Augmentation: a shortest path from each free row to a free column.
        let (d, pred, collist) = (&mut self.d, &mut self.pred, &mut self.collist);
        d.clear();
        d.resize(m, 0);
        pred.clear();
        pred.resize(m, 0);
        for &freerow in &self.free {
            collist.clear();
            collist.extend(0..m);
            let row = &c[freerow * m..(freerow + 1) * m];
            for j in 0..m {
                d[j] = row[j] - v[j];
                pred[j] = freerow;
            }
            // collist[..low]: scanned; [low, up): at the current minimum; [up..]: the rest.
            let (mut low, mut up) = (0usize, 0usize);
            let mut min = 0i64;
            let mut last = 0usize;
            let endofpath = 'search: loop {
                if up == low {
                    last = low;
                    min = d[collist[up]];
                    up += 1;
                    // The scan covers the columns past the first; `up` moves within it.
                    let scan = up;
                    for k in scan..m {
                        let j = collist[k];
                        let h = d[j];
                        if h <= min {
                            if h < min {
                                up = low;
                                min = h;
                            }
                            collist[k] = collist[up];
                            collist[up] = j;
                            up += 1;
                        }
                    }
                    for &j in &collist[low..up] {
                        if y[j] == NONE {
                            break 'search j;
                        }
                    }
                }
                let j1 = collist[low];
                low += 1;
                let i = y[j1];
                let ri = &c[i * m..(i + 1) * m];
                let u1 = ri[j1] - v[j1] - min;
                let mut k = up;
                while k < m {
                    let j = collist[k];
                    let h = ri[j] - v[j] - u1;
                    if h < d[j] {
                        d[j] = h;
                        pred[j] = i;
                        if h == min {
                            if y[j] == NONE {
                                break 'search j;
                            }
                            collist[k] = collist[up];
                            collist[up] = j;
                            up += 1;
                        }
                    }
                    k += 1;
                }
            };
            // Columns scanned before the last minimum move their potentials.
            for &j0 in &collist[..last] {
                v[j0] += d[j0] - min;
            }
            let mut j = endofpath;
            loop {
                let i = pred[j];
                y[j] = i;
                let next = x[i];
                x[i] = j;
                if i == freerow {
                    break;
                }
                j = next;
            }
        }
        self.assignment.clear();
        self.assignment.extend_from_slice(&x[..n]);
        (0..n).map(|i| cost[i * m + x[i]]).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The former solver (e-maxx shortest augmenting paths, `O(n² m)`): an oracle
    /// for instances too large for brute force.
    // Min-cost assignment of `n` workers to `m ≥ n` jobs (shortest augmenting
    /// paths with potentials, `O(n² m)`); deterministic: ties go to the lowest index.
    #[derive(Debug, Default)]
    struct ReferenceHungarian {
        u: Vec<i64>,
        v: Vec<i64>,
        p: Vec<usize>,
        way: Vec<usize>,
        minv: Vec<i64>,
        used: Vec<bool>,
        /// Job of each worker.
        assignment: Vec<usize>,
    }

    impl ReferenceHungarian {
        /// `cost[i · m + j]`: worker `i` on job `j`. Returns the optimal total.
        fn solve(&mut self, n: usize, m: usize, cost: &[i64]) -> i64 {
            debug_assert!(n <= m && cost.len() == n * m);
            const INF: i64 = i64::MAX / 4;
            let reset = |v: &mut Vec<i64>, len: usize| {
                v.clear();
                v.resize(len, 0);
            };
            reset(&mut self.u, n + 1);
            reset(&mut self.v, m + 1);
            self.p.clear();
            self.p.resize(m + 1, 0);
            self.way.clear();
            self.way.resize(m + 1, 0);
            for i in 1..=n {
                self.p[0] = i;
                let mut j0 = 0usize;
                self.minv.clear();
                self.minv.resize(m + 1, INF);
                self.used.clear();
                self.used.resize(m + 1, false);
                loop {
                    self.used[j0] = true;
                    let i0 = self.p[j0];
                    let mut delta = INF;
                    let mut j1 = 0usize;
                    let row = &cost[(i0 - 1) * m..i0 * m];
                    let ui0 = self.u[i0];
                    for j in 1..=m {
                        if !self.used[j] {
                            let cur = row[j - 1] - ui0 - self.v[j];
                            if cur < self.minv[j] {
                                self.minv[j] = cur;
                                self.way[j] = j0;
                            }
                            if self.minv[j] < delta {
                                delta = self.minv[j];
                                j1 = j;
                            }
                        }
                    }
                    for j in 0..=m {
                        if self.used[j] {
                            self.u[self.p[j]] += delta;
                            self.v[j] -= delta;
                        } else {
                            self.minv[j] -= delta;
                        }
                    }
                    j0 = j1;
                    if self.p[j0] == 0 {
                        break;
                    }
                }
                loop {
                    let j1 = self.way[j0];
                    self.p[j0] = self.p[j1];
                    j0 = j1;
                    if j0 == 0 {
                        break;
                    }
                }
            }
            self.assignment.clear();
            self.assignment.resize(n, 0);
            let mut total = 0;
            for j in 1..=m {
                if self.p[j] != 0 {
                    self.assignment[self.p[j] - 1] = j - 1;
                    total += cost[(self.p[j] - 1) * m + j - 1];
                }
            }
            total
        }
    }

    fn brute(n: usize, m: usize, cost: &[i64]) -> i64 {
        fn go(i: usize, n: usize, m: usize, cost: &[i64], used: &mut Vec<bool>) -> i64 {
            if i == n {
                return 0;
            }
            let mut best = i64::MAX;
            for j in 0..m {
                if !used[j] {
                    used[j] = true;
                    best = best.min(cost[i * m + j] + go(i + 1, n, m, cost, used));
                    used[j] = false;
                }
            }
            best
        }
        go(0, n, m, cost, &mut vec![false; m])
    }

    #[test]
    fn hungarian_matches_brute_force() {
        let mut state = 12345u64;
        let mut h = Hungarian::default();
        for trial in 0..200 {
            let n = 1 + trial % 5;
            let m = n + trial % 3;
            let cost: Vec<i64> = (0..n * m)
                .map(|_| {
                    state = crate::splitmix(state);
                    (state % 50) as i64
                })
                .collect();
            let got = h.solve(n, m, &cost);
            assert_eq!(got, brute(n, m, &cost), "trial {trial}");
            let mut seen = vec![false; m];
            let sum: i64 = h.assignment.iter().enumerate().map(|(i, &j)| cost[i * m + j]).sum();
            for &j in &h.assignment {
                assert!(!seen[j]);
                seen[j] = true;
            }
            assert_eq!(sum, got);
        }
    }

    /// Large instances against the former solver: random, tie-heavy (few
    /// distinct values), with all-zero columns (fault-free physical rows) and
    /// rectangular (spare rows).
    #[test]
    fn solver_matches_reference_on_crossbar_sized_instances() {
        let mut state = 777u64;
        let (mut h, mut r) = (Hungarian::default(), ReferenceHungarian::default());
        for trial in 0..40u64 {
            let n = [1, 7, 64, 128][trial as usize % 4];
            let m = n + [0, 1, 8, 16][(trial / 4) as usize % 4];
            let values = [3u64, 50, 1 << 20][(trial % 3) as usize];
            let cost: Vec<i64> = (0..n * m)
                .map(|k| {
                    state = crate::splitmix(state);
                    if (k % m) % 5 == 0 && trial % 2 == 0 { 0 } else { (state % values) as i64 }
                })
                .collect();
            let got = h.solve(n, m, &cost);
            assert_eq!(got, r.solve(n, m, &cost), "trial {trial} ({n}x{m})");
            let mut seen = vec![false; m];
            for &j in &h.assignment {
                assert!(!seen[j], "trial {trial}: job {j} twice");
                seen[j] = true;
            }
            let sum: i64 = h.assignment.iter().enumerate().map(|(i, &j)| cost[i * m + j]).sum();
            assert_eq!(sum, got);
        }
    }

    /// The column fast path equals `cell_cost` row by row, on plain and packed
    /// layouts, every column (weights, offsets, unused) and both models.
    #[test]
    fn column_costs_equal_cell_costs() {
        use rramsim_graph::{Conv2d, Layer, NetworkBuilder, Op, Shape};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../arch-configs/isaac.toml");
        let mut arch = rramsim_hw::load_arch_toml(path, &std::fs::read_to_string(path).unwrap()).unwrap().0;
        arch.crossbar.rows = 16;
        arch.crossbar.cols = 16;
        arch.weight_bits = 8;
        let mut checked = 0;
        let mut packed = false;
        for encoding in [SignedEncoding::OffsetColumn, SignedEncoding::Differential, SignedEncoding::OffsetDigital] {
            arch.encoding = encoding;
            let codec = WeightCodec::new(&arch);
            for (cin, cout, groups) in [(40usize, 5usize, 1usize), (12, 12, 6), (9, 1, 1)] {
                let mut b = NetworkBuilder::new("t");
                b.push(Layer::new("input", Op::Input { shape: Shape::new(cin, 1, 1) }, &[]));
                let conv = Conv2d { groups, ..Conv2d::pointwise(cout, false) };
                b.push(Layer::new("c", Op::Conv2d(conv), &["input"]));
                let net = b.build().unwrap();
                let layout = rramsim_map::crossbar_layout(&net, &arch, net.find("c").unwrap()).unwrap();
                packed |= layout.groups_per_crossbar > 1;
                let (k, n_out, groups) = (cin / groups, cout / groups, groups);
                let len = k * n_out * groups;
                let q: Vec<i32> = (0..len).map(|i| (i as i32 * 37 % 255) - 127).collect();
                for x in 0..layout.crossbars {
                    for lc in 0..codec.cols {
                        for state in [CellState::Sa0, CellState::Sa1] {
                            for model in [FaultModel::Cell, FaultModel::WeightZero] {
                                let mut fast = vec![0i64; codec.rows as usize * 3];
                                add_column_costs(&codec, &layout, model, &q, x, lc, state, &mut fast[1..], 3);
                                for l in 0..codec.rows {
                                    let want = cell_cost(&codec, &layout, model, &q, x, l, lc, state);
                                    assert_eq!(fast[1 + 3 * l as usize], want, "{encoding:?} x{x} l{l} c{lc}");
                                    checked += u64::from(want != 0);
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "only {checked} non-zero costs compared");
        assert!(packed, "no packed layout exercised");
    }

    #[test]
    fn mode_names_round_trip() {
        for m in [RemapMode::None, RemapMode::Rows, RemapMode::RowsCols] {
            assert_eq!(RemapMode::parse(m.name()), Some(m));
        }
        assert_eq!(RemapMode::parse("cols"), None);
    }
}
