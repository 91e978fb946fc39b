//! Compute cycles of the fault-free digital unit, a systolic array, following
//! SCALE-Sim's analytical model (Samajdar et al., ISPASS 2020): a layer is a GEMM
//! of `K = C_in/groups · kh · kw` (the filter size), `M` filters and `P` output
//! pixels; the dataflow decides which two dimensions are spread over the array's
//! rows and columns (`S_R`, `S_C`) and which one streams in time (`T`):
//!
//! | dataflow | S_R | S_C | T |
//! |---|---|---|---|
//! | weight-stationary | K | M | P |
//! | output-stationary | P | M | K |
//! | input-stationary | K | P | M |
//!
//! There are `ceil(S_R / R) · ceil(S_C / C)` folds. A weight- or input-stationary
//! fold takes `2R + C + T − 2` cycles (load the stationary operand down the `R`
//! rows, stream `T`, drain through rows and columns); an output-stationary fold
//! `R + C + T − 2` (operands stream in from both edges, no preload). SCALE-Sim
//! 3.0.0 reports one cycle less per layer than folds × fold cycles, which this
//! model reproduces. `tests/fixtures/scalesim/reference.csv` holds SCALE-Sim's own
//! numbers; the test suite checks the model against them.

use crate::params::{Dataflow, DigitalParams};

/// A layer as a GEMM for the digital unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gemm {
    /// Filter size: rows of the im2col matrix of one group.
    pub k: u64,
    /// Filters (output channels) of one group.
    pub m: u64,
    /// Output pixels.
    pub p: u64,
    /// Independent groups (a depthwise conv is `C` GEMMs of one filter each).
    pub groups: u64,
}

/// Compute cycles (in the digital unit's clock) of `gemm` on `params`' array.
pub fn systolic_cycles(params: &DigitalParams, gemm: Gemm) -> u64 {
    let (r, c) = (u64::from(params.rows), u64::from(params.cols));
    let (sr, sc, t) = match params.dataflow {
        Dataflow::WeightStationary => (gemm.k, gemm.m, gemm.p),
        Dataflow::OutputStationary => (gemm.p, gemm.m, gemm.k),
        Dataflow::InputStationary => (gemm.k, gemm.p, gemm.m),
    };
    if sr == 0 || sc == 0 || t == 0 {
        return 0;
    }
    let folds = sr.div_ceil(r) * sc.div_ceil(c);
    let per_fold = match params.dataflow {
        Dataflow::WeightStationary | Dataflow::InputStationary => 2 * r + c + t - 2,
        Dataflow::OutputStationary => r + c + t - 2,
    };
    gemm.groups * (per_fold * folds - 1)
}
