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
//! assignment (shortest augmenting paths, `O(n² m)`); with columns, rows and
//! columns alternate (rows, columns, rows), each step exact given the other, so
//! the objective never rises above the identity's.

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

/// Reusable buffers of [`remap_replica`].
#[derive(Debug, Default)]
pub struct RemapScratch {
    cost: Vec<i64>,
    faults: Vec<(u32, u32, CellState)>,
    hungarian: Hungarian,
}

/// Computes the placement of each crossbar of one replica. `buf` must come from
/// `map` ([`FaultMap::buffer`]); its dimensions are the physical crossbar's.
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
    let mut stats = RemapStats::default();
    let mut out = ReplicaRemap { xbars: Vec::with_capacity(layout.crossbars as usize) };
    let first = replica.first_crossbar as usize;
    for x in 0..layout.crossbars {
        map.crossbar_into(first + x as usize, buf)?;
        scratch.faults.clear();
        let cols = buf.cols;
        buf.for_each_fault(|cell, state| scratch.faults.push((cell as u32 / cols, cell as u32 % cols, state)));
        let (pr, pc) = (buf.rows, buf.cols);
        let mut perm = XbarPerm::default();
        let identity = objective(codec, layout, model, q, x, &perm, &scratch.faults);
        stats.identity_cost += identity as u64;
        if mode == RemapMode::None || identity == 0 {
            stats.remapped_cost += identity as u64;
            out.xbars.push(perm);
            continue;
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
        } else {
            stats.crossbars_permuted += 1;
        }
        stats.remapped_cost += cost as u64;
        out.xbars.push(perm);
    }
    Ok((out, stats))
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
        for l in 0..n {
            s.cost[l * m + r as usize] += cell_cost(codec, layout, model, q, x, l as u32, lc, st);
        }
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

/// Min-cost assignment of `n` workers to `m ≥ n` jobs (shortest augmenting
/// paths with potentials, `O(n² m)`); deterministic: ties go to the lowest index.
#[derive(Debug, Default)]
struct Hungarian {
    u: Vec<i64>,
    v: Vec<i64>,
    p: Vec<usize>,
    way: Vec<usize>,
    minv: Vec<i64>,
    used: Vec<bool>,
    /// Job of each worker.
    assignment: Vec<usize>,
}

impl Hungarian {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn mode_names_round_trip() {
        for m in [RemapMode::None, RemapMode::Rows, RemapMode::RowsCols] {
            assert_eq!(RemapMode::parse(m.name()), Some(m));
        }
        assert_eq!(RemapMode::parse("cols"), None);
    }
}
