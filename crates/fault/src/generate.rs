//! Fault-map generation. Every crossbar's map is a function of (seed, tile, PE,
//! crossbar) alone: its generator is a `Pcg64Mcg` seeded by mixing those four
//! numbers, so maps are identical in any generation order and on any number of
//! threads.

use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use crate::error::FaultError;
use crate::map::{CrossbarId, FaultMap, Geometry, Origin};

/// Spatial distribution of faults within a crossbar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Each cell independently faulty with probability `rate`.
    Uniform,
    /// 3×3 blocks of faulty cells (clipped at the edges) around centres drawn
    /// independently with probability `rate / 9`; a block shares one fault type.
    /// A cell away from the edges is faulty with probability `1 − (1 − rate/9)^9`,
    /// slightly below `rate` (blocks overlap); edges lower it a little more.
    Clustered,
    /// Whole rows fail, each with probability `rate`, all cells one type.
    Rows,
    /// Whole columns fail, each with probability `rate`, all cells one type.
    Cols,
}

impl Distribution {
    pub fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::Clustered => "clustered",
            Self::Rows => "rows",
            Self::Cols => "cols",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "uniform" => Self::Uniform,
            "clustered" => Self::Clustered,
            "rows" => Self::Rows,
            "cols" => Self::Cols,
            _ => return None,
        })
    }
}

/// Generator parameters, recorded in the map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenParams {
    /// Expected fraction of faulty cells.
    pub rate: f64,
    /// Fraction of faults that are SA1 (the rest are SA0).
    pub sa1_fraction: f64,
    pub distribution: Distribution,
    pub seed: u64,
}

impl GenParams {
    /// Checks the probabilities.
    pub fn validate(&self) -> Result<(), FaultError> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(FaultError::Rate(self.rate));
        }
        if !(0.0..=1.0).contains(&self.sa1_fraction) {
            return Err(FaultError::Sa1Fraction(self.sa1_fraction));
        }
        Ok(())
    }
}

pub use rramsim_core::splitmix;

/// The generator of one crossbar, derived from (seed, tile, PE, crossbar) alone.
pub fn crossbar_rng(seed: u64, id: CrossbarId) -> Pcg64Mcg {
    let a = splitmix(seed ^ splitmix(u64::from(id.tile)));
    let b = splitmix(a ^ splitmix(u64::from(id.pe) << 32 | u64::from(id.crossbar)));
    let c = splitmix(b ^ 0x5EED_F00D);
    Pcg64Mcg::new(u128::from(b) << 64 | u128::from(c))
}

/// A uniform double in [0, 1) from 53 random bits.
fn unit(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Cells skipped before the next success of a Bernoulli(p) sequence.
fn geometric_gap(rng: &mut Pcg64Mcg, ln_q: f64) -> u64 {
    // 1 − U is in (0, 1], so ln is finite.
    let u = 1.0 - unit(rng);
    (u.ln() / ln_q).floor() as u64
}

/// Calls `f` for each of `n` slots that succeeds in i.i.d. Bernoulli(`p`) trials,
/// skipping the failures with geometric gaps (cost proportional to successes).
fn bernoulli_positions(rng: &mut Pcg64Mcg, p: f64, n: u64, mut f: impl FnMut(&mut Pcg64Mcg, u64)) {
    if p <= 0.0 {
        return;
    }
    if p >= 1.0 {
        for i in 0..n {
            f(rng, i);
        }
        return;
    }
    let ln_q = (1.0 - p).ln();
    let mut pos = geometric_gap(rng, ln_q);
    while pos < n {
        f(rng, pos);
        pos += 1 + geometric_gap(rng, ln_q);
    }
}

/// The sorted fault list (cell, is_sa1) of one crossbar.
pub fn crossbar_faults(geometry: &Geometry, params: &GenParams, id: CrossbarId) -> Vec<(u32, bool)> {
    let mut rng = crossbar_rng(params.seed, id);
    let (rows, cols) = (geometry.rows as u64, geometry.cols as u64);
    let cells = rows * cols;
    let f = params.sa1_fraction;
    let mut out = Vec::new();
    match params.distribution {
        Distribution::Uniform => {
            bernoulli_positions(&mut rng, params.rate, cells, |rng, cell| out.push((cell as u32, unit(rng) < f)));
        }
        Distribution::Rows => {
            bernoulli_positions(&mut rng, params.rate, rows, |rng, r| {
                let sa1 = unit(rng) < f;
                out.extend((0..cols).map(|c| ((r * cols + c) as u32, sa1)));
            });
        }
        Distribution::Cols => {
            let mut failed: Vec<(u64, bool)> = Vec::new();
            bernoulli_positions(&mut rng, params.rate, cols, |rng, c| failed.push((c, unit(rng) < f)));
            for r in 0..rows {
                out.extend(failed.iter().map(|&(c, sa1)| ((r * cols + c) as u32, sa1)));
            }
        }
        Distribution::Clustered => {
            let mut centres: Vec<(u64, bool)> = Vec::new();
            bernoulli_positions(&mut rng, params.rate / 9.0, cells, |rng, cell| centres.push((cell, unit(rng) < f)));
            // Later blocks overwrite earlier ones where they overlap.
            let mut state: std::collections::BTreeMap<u32, bool> = std::collections::BTreeMap::new();
            for (cell, sa1) in centres {
                let (r, c) = ((cell / cols) as i64, (cell % cols) as i64);
                for dr in -1..=1 {
                    for dc in -1..=1 {
                        let (rr, cc) = (r + dr, c + dc);
                        if rr >= 0 && cc >= 0 && (rr as u64) < rows && (cc as u64) < cols {
                            state.insert((rr as u64 * cols + cc as u64) as u32, sa1);
                        }
                    }
                }
            }
            out.extend(state);
        }
    }
    out
}

/// Generates maps for every crossbar of the first `chips` chips, in parallel.
pub fn generate(geometry: Geometry, chips: u32, params: GenParams) -> Result<FaultMap, FaultError> {
    params.validate()?;
    if chips == 0 || chips > geometry.chips {
        return Err(FaultError::Chips { chips, node_chips: geometry.chips });
    }
    geometry.check_size(chips).map_err(FaultError::Size)?;
    let count = geometry.crossbars_per_chip() * chips as usize;
    let lists: Vec<Vec<(u32, bool)>> =
        (0..count).into_par_iter().map(|i| crossbar_faults(&geometry, &params, geometry.id(i))).collect();
    Ok(FaultMap::from_lists(geometry, Origin::Generated(params), &lists))
}
