//! The RRAM device model of functional inference: each weight cell's analog
//! conductance and the bit-exact periphery that reads it.
//!
//! Conductances are in *level units*: level `l` of a `c`-bit cell programs
//! `g = g_min + l·Δ`, `Δ = (g_max − g_min)/L`, `L = 2^c − 1`, `g_min = 1/r_off`,
//! `g_max = 1/r_on`, i.e. `G = l + o` with `o = L/(r_off/r_on − 1)` (0 without an
//! on/off ratio). Per cell, when the weights are programmed:
//!
//! - programming variation: `G ← G·(1 + σ_l·N(0,1))` (σ per stored level; stuck
//!   cells are not programmed), clipped at 0;
//! - drift: `G ← G·(max(t, t0)/t0)^−ν` (aihwkit's `max(t, t0)`);
//! - IR drop, first order as DNN+NeuroSim V1.3 (`Array.cpp`, `totalWireResistance
//!   = (col + 1)·wireResistanceRow + (rows − row)·wireResistanceCol` in series with
//!   the cell): `g ← 1/(1/g + R_w·((c + 1) + (rows − r)))` for the cell at row `r`,
//!   column `c` (drivers at column 0, ADCs below the last row).
//!
//! Reading ([`analog_gemm`]): the layer input is quantized to `a`-bit signed
//! integers; the positive and negative parts are fed in `ceil((a−1)/d)` DAC steps
//! of `d` bits. Per step, weight column and group of `rows_per_read` rows, the
//! analog column sum `S = Σ x_i·G_i` (plus read noise `N(0, σ_r²·Σ x_i²·G_i²)`, the
//! sum of independent per-cell noise, drawn per read) is converted by the ADC:
//! `S` clipped to `[0, 2^adc − 1]` (the off-state current takes ADC range, as
//! in an unreferenced sense amplifier), less the nominal off-state current
//! `o·Σx`, rounded in steps of one level × one input unit: the ADC's levels are
//! referenced to `o·Σx` (a reference column of off-state cells driven by the
//! same inputs). Rounding `S` itself and subtracting `o·Σx` afterwards (before
//! the fix of issue 15's exact mode) left an error fixed by `Σx` (up to ½ level
//! per read, one sign on every column and step of a pixel) that shift-and-add
//! multiplied by `Σ_j 2^(c·j)·Σ_t 2^(d·t)` into a bias as large as the signal
//! (resnet-mini on neurosim-8b: 16 % instead of 90 % with a 12-bit ADC).
//! ISAAC's flipped columns (stored `L − l` where the column's levels exceed
//! half its maximum) are read as `L·Σx − Q(S')`. Shift-and-add combines columns (`±2^(c·slice)`) and
//! steps (`±2^(d·step)`); offset encodings then subtract `2^(b−1)·Σx`.

use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rramsim_fault::{CrossbarId, STUCK_CELL, WeightCodec, crossbar_rng, splitmix, weight_cell};
use rramsim_hw::{ArchParams, SignedEncoding};
use rramsim_map::{CrossbarLayout, ReplicaPlacement};

use crate::gemm::{Strides, sgemm};
use crate::model::round;

/// How the device model is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceOptions {
    /// Seconds since programming (drift).
    pub time_s: f64,
    /// Seeds programming variation (per crossbar) and read noise.
    pub seed: u64,
    /// Bit-exact periphery (per DAC step, column and row group through the
    /// ADC); `false`: the fast approximation — the analog conductances folded
    /// into one weight per weight, the ADC applied to each row group's folded
    /// sum, read noise drawn once per output ([`Analog::make_fast`]).
    pub exact: bool,
}

/// Salt separating device randomness from fault-map generation.
const SALT: u64 = 0xDE71_CE5E_ED00_0001;

/// A standard normal from two uniforms (Box–Muller).
pub(crate) fn gauss(rng: &mut Pcg64Mcg) -> f64 {
    let u1 = 1.0 - (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    let u2 = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Where a GEMM block's read noise comes from: draws are keyed per
/// (seed, layer, group, replica, image) — one generator per image, not per
/// batch — so an image's noise does not depend on which other images share
/// its GEMM (the batching or the thread count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoiseKey {
    /// The layer, group and replica (mixed with the layer's seed).
    pub key: u64,
    /// The block's first image within the evaluated set.
    pub first_image: u64,
    /// Columns per image in the block (an image's columns are contiguous).
    pub per_image: usize,
}

impl NoiseKey {
    /// The read-noise generator of block image `img` of layer `a`.
    fn rng(&self, a: &Analog, img: usize) -> Pcg64Mcg {
        let image = self.first_image.wrapping_add(img as u64);
        let hi = splitmix(a.seed ^ splitmix(self.key ^ splitmix(image)));
        let lo = splitmix(hi ^ image.rotate_left(32));
        Pcg64Mcg::new(u128::from(hi) << 64 | u128::from(lo | 1))
    }

    /// Block images of `n` columns, each as its range of columns.
    fn images(&self, n: usize) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
        let per = self.per_image.max(1);
        (0..n.div_ceil(per)).map(move |img| (img, img * per..((img + 1) * per).min(n)))
    }
}

/// Grows `v` to at least `len` elements (never shrinks, never refills what
/// is there) and returns its first `len`: scratch buffers overwritten before
/// they are read, whose sizes alternate between layers.
fn room(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// One replica's analog cells.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalogReplica {
    /// Per weight column `j`: conductances in level units, `[out][in/groups·kh·kw]`.
    pub g: Vec<Vec<f32>>,
    /// Their squares (read noise), empty without read noise.
    pub g2: Vec<Vec<f32>>,
    /// The same conductances transposed for the per-pixel kernel: `[k][out][j]`
    /// (a row's cells of every output and weight column side by side); empty
    /// with read noise (which reads through `g`).
    pub gt: Vec<f32>,
    /// Flipped (ISAAC) per `[j][out][row group]`.
    pub flip: Vec<bool>,
    /// `flip` as `[row group][out][j]` for the per-pixel kernel.
    pub flip_t: Vec<bool>,
}

/// A crossbar layer read bit-exactly through DACs and ADCs.
#[derive(Debug, Clone, PartialEq)]
pub struct Analog {
    pub replicas: Vec<AnalogReplica>,
    /// Shift-and-add weight of each weight column: `±2^(c·slice)`.
    pub col_weight: Vec<f32>,
    /// Row groups read together (`[lo, hi)` over a group's rows).
    pub chunks: Vec<(usize, usize)>,
    /// The off-state offset `o` in level units.
    pub offset: f32,
    /// `2^(b−1)` for offset encodings, 0 for differential.
    pub digital_offset: f32,
    pub levels: f32,
    pub adc_max: f32,
    pub dac_bits: u32,
    pub steps: u32,
    pub read_sigma: f32,
    pub seed: u64,
    /// The weight quantization scale.
    pub scale: f32,
    /// Every conductance an integer level, no read noise and no column sum
    /// beyond the ADC's range: the periphery is exact and the folded integer
    /// weights give the same numbers.
    pub lossless: bool,
    /// The fast mode's folded periphery ([`Analog::make_fast`]); `None`: bit-exact.
    pub fast: Option<Box<FastPeriphery>>,
}

/// The fast mode of a crossbar layer: the conductances folded into one weight
/// per weight, read one row group at a time (see `fast_gemm`).
#[derive(Debug, Clone, PartialEq)]
pub struct FastPeriphery {
    /// Per replica `[k][out]` (transposed: the GEMM packs a block of outputs
    /// per row, contiguous this way): `Σ_j col_weight_j · (read value of column
    /// j − offset)` (flips undone), in level × input units.
    pub weights: Vec<Vec<f32>>,
    /// Per replica `[k][out]` (transposed as `weights`): `Σ_j col_weight_j² ·
    /// G_j²` (read noise); empty without read noise.
    pub noise: Vec<Vec<f32>>,
    /// `e(m) = Σ_t 4^(d·t) · p_t(m)²` for input magnitudes `m` (`p_t` the DAC
    /// steps of `m`).
    pub energy: Vec<f32>,
    /// One-bit DACs over at most 15 input bits: `e(m)` is `m`'s bits spread
    /// to the even positions (`Σ_t 4^t·b_t`), computed rather than looked up
    /// (the same values: integers below 2^31, rounded to f32 alike).
    pub spread: bool,
    /// Per replica and row group: the largest magnitude the group's folded sum
    /// may take — what its reads can represent, and with `adc_clip` the
    /// first-order saturation bound `fraction · rows · max|w| · max|x|`
    /// ([`crate::adc_clip_fraction`]).
    pub range: Vec<Vec<f32>>,
}

/// The per-pixel kernel's layouts of a replica's conductances (`[k][out][j]`)
/// and flips (`[row group][out][j]`).
fn transposed(g: &[Vec<f32>], flip: &[bool], cout: usize, k: usize, nchunks: usize) -> (Vec<f32>, Vec<bool>) {
    let cpw = g.len();
    let mut gt = vec![0.0f32; cout * k * cpw];
    for (j, gj) in g.iter().enumerate() {
        for (index, v) in gj.iter().enumerate() {
            let (co, kk) = (index / k, index % k);
            gt[(kk * cout + co) * cpw + j] = *v;
        }
    }
    let mut flip_t = vec![false; flip.len()];
    for j in 0..cpw {
        for co in 0..cout {
            for ci in 0..nchunks {
                flip_t[(ci * cout + co) * cpw + j] = flip[(j * cout + co) * nchunks + ci];
            }
        }
    }
    (gt, flip_t)
}

/// Row groups of one layer group of `k` rows: crossbar row tiles of `rows`,
/// each read `rows_per_read` rows at a time.
pub fn row_chunks(k: usize, rows: usize, rows_per_read: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for tile in (0..k).step_by(rows.max(1)) {
        let end = (tile + rows).min(k);
        for lo in (tile..end).step_by(rows_per_read.max(1)) {
            out.push((lo, (lo + rows_per_read).min(end)));
        }
    }
    out
}

/// Builds a layer's analog cells from its quantized weights: `levels[r]` is
/// replica `r`'s [`rramsim_fault::cell_levels`], `q` the quantized weights.
#[allow(clippy::too_many_arguments)]
pub fn build_analog(
    arch: &ArchParams,
    layout: &CrossbarLayout,
    replicas: &[ReplicaPlacement],
    levels: &[Vec<u16>],
    scale: f32,
    cout: usize,
    layer_seed: u64,
    options: &DeviceOptions,
) -> Analog {
    let codec = WeightCodec::new(arch);
    let dev = &arch.device;
    let cpw = codec.columns_per_weight as usize;
    let l_max = ((1u32 << codec.cell_bits) - 1) as f32;
    let offset = match (arch.crossbar.r_on_ohm, arch.crossbar.r_off_ohm) {
        (Some(on), Some(off)) => (f64::from(l_max) / (off / on - 1.0)) as f32,
        _ => 0.0,
    };
    // Δ in siemens per level (IR drop needs absolute conductances).
    let delta = arch
        .crossbar
        .r_on_ohm
        .map(|on| (1.0 / on - arch.crossbar.r_off_ohm.map_or(0.0, |off| 1.0 / off)) / f64::from(l_max));
    let k = layout.rows_per_group as usize;
    let chunks = row_chunks(k, codec.rows as usize, arch.crossbar.rows_per_read as usize);
    let chunk_of: Vec<usize> = {
        let mut v = vec![0; k];
        for (ci, &(lo, hi)) in chunks.iter().enumerate() {
            v[lo..hi].fill(ci);
        }
        v
    };
    let drift = dev.drift_factor(options.time_s) as f32;
    let rows = codec.rows;
    let cpp = arch.pe.crossbars;
    let out: Vec<AnalogReplica> = replicas
        .iter()
        .zip(levels)
        .map(|(rep, lv)| {
            let n = lv.len() / cpw;
            // ISAAC's flip: a column group's levels above half its maximum.
            let mut flip = vec![false; cpw * cout * chunks.len()];
            if arch.adc_flip_encoding {
                let mut sums = vec![0u64; flip.len()];
                for index in 0..n {
                    let (co, kk) = (index / k, index % k);
                    for j in 0..cpw {
                        sums[(j * cout + co) * chunks.len() + chunk_of[kk]] +=
                            u64::from(lv[index * cpw + j] & !STUCK_CELL);
                    }
                }
                for (f, (i, s)) in flip.iter_mut().zip(sums.iter().enumerate()) {
                    let (lo, hi) = chunks[i % chunks.len()];
                    *f = 2 * *s > (hi - lo) as u64 * u64::from(l_max as u32);
                }
            }
            let mut rngs: Vec<Pcg64Mcg> = (0..layout.crossbars)
                .map(|x| {
                    // Crossbar-granular replicas may start mid-PE: the physical crossbar.
                    let global = u32::try_from(rep.first_crossbar + u64::from(x)).unwrap_or(u32::MAX);
                    let pe = global / cpp;
                    let id = CrossbarId { tile: pe / arch.tile.pes, pe: pe % arch.tile.pes, crossbar: global % cpp };
                    crossbar_rng(options.seed ^ SALT, id)
                })
                .collect();
            let mut g = vec![vec![0.0f32; n]; cpw];
            for index in 0..n {
                let (co, kk) = (index / k, index % k);
                for (j, gj) in g.iter_mut().enumerate() {
                    let raw = lv[index * cpw + j];
                    let stuck = raw & STUCK_CELL != 0;
                    let ideal = raw & !STUCK_CELL;
                    let flipped = flip[(j * cout + co) * chunks.len() + chunk_of[kk]];
                    // A stuck cell reads its stuck level whatever was meant to be stored.
                    let stored = if flipped && !stuck { l_max - f32::from(ideal) } else { f32::from(ideal) };
                    let (x, r, c) = weight_cell(&codec, layout, index, j as u32);
                    let mut v = f64::from(stored + offset);
                    let sigma = dev.program_sigma_at(stored as usize);
                    if sigma > 0.0 && !stuck {
                        v *= 1.0 + sigma * gauss(&mut rngs[x as usize]);
                    }
                    v = v.max(0.0) * f64::from(drift);
                    if let (Some(d), true) = (delta, dev.wire_ohm > 0.0) {
                        let segments = f64::from(c + 1) + f64::from(rows - r);
                        v /= 1.0 + v * d * dev.wire_ohm * segments;
                    }
                    gj[index] = v as f32;
                }
            }
            let g2 = if dev.read_sigma > 0.0 {
                g.iter().map(|m| m.iter().map(|v| v * v).collect()).collect()
            } else {
                Vec::new()
            };
            let (gt, flip_t) = if dev.read_sigma > 0.0 {
                (Vec::new(), Vec::new())
            } else {
                transposed(&g, &flip, cout, k, chunks.len())
            };
            AnalogReplica { g, g2, gt, flip, flip_t }
        })
        .collect();
    let adc_max = ((1u64 << arch.pe.adc.bits.min(40)) - 1) as f32;
    let dac_max = ((1u32 << arch.pe.dac_bits) - 1) as f32;
    let lossless = dev.read_sigma == 0.0
        && out.iter().all(|rep: &AnalogReplica| {
            rep.g.iter().all(|gj| {
                gj.iter().all(|v| v.fract() == 0.0)
                    && gj
                        .chunks(k)
                        .all(|row| chunks.iter().all(|&(lo, hi)| row[lo..hi].iter().sum::<f32>() * dac_max <= adc_max))
            })
        });
    let col_weight = (0..cpw as u32)
        .map(|j| {
            let (_, slice, sign) = codec.cell(0, j);
            sign as f32 * (1u64 << (codec.cell_bits * slice)) as f32
        })
        .collect();
    Analog {
        replicas: out,
        col_weight,
        chunks,
        offset,
        digital_offset: match arch.encoding {
            SignedEncoding::Differential => 0.0,
            _ => (1u64 << (arch.weight_bits - 1)) as f32,
        },
        levels: l_max,
        adc_max,
        dac_bits: arch.pe.dac_bits,
        steps: (arch.activation_bits.max(2) - 1).div_ceil(arch.pe.dac_bits),
        read_sigma: dev.read_sigma as f32,
        seed: splitmix(options.seed ^ layer_seed ^ SALT),
        scale,
        lossless,
        fast: None,
    }
}

impl Analog {
    /// Replica `r`'s conductances folded into one value per weight in level ×
    /// input units: `Σ_j col_weight_j · e_j`, `e_j` column `j`'s read value less
    /// the offset, flips undone (no scale, no digital offset).
    fn folded_levels(&self, r: usize, k: usize) -> Vec<f32> {
        let rep = &self.replicas[r];
        let n = rep.g[0].len();
        let cout = n / k.max(1);
        let chunk_of: Vec<usize> =
            (0..k).map(|kk| self.chunks.iter().position(|&(lo, hi)| kk >= lo && kk < hi).unwrap_or(0)).collect();
        (0..n)
            .map(|index| {
                let (co, kk) = (index / k, index % k);
                let ci = chunk_of[kk];
                let mut w = 0.0;
                for (j, gj) in rep.g.iter().enumerate() {
                    let e = if rep.flip[(j * cout + co) * self.chunks.len() + ci] {
                        self.levels - gj[index] + self.offset
                    } else {
                        gj[index] - self.offset
                    };
                    w += self.col_weight[j] * e;
                }
                w
            })
            .collect()
    }

    /// The float weights of replica `r` with the conductances folded in (what
    /// the periphery would compute without ADC quantization or read noise).
    pub fn folded_weights(&self, r: usize, k: usize) -> Vec<f32> {
        self.folded_levels(r, k).into_iter().map(|w| (w - self.digital_offset) * self.scale).collect()
    }

    /// Switches to the fast mode (`fast_gemm`): folds every replica's
    /// conductances once (programming variation, drift, IR drop and the
    /// on/off offset are constants of a device sample).
    /// `clip`: the ADC clip fraction and the largest input magnitude.
    pub fn make_fast(&mut self, k: usize, clip: Option<(f32, f32)>) {
        let weights: Vec<Vec<f32>> = (0..self.replicas.len()).map(|r| self.folded_levels(r, k)).collect();
        let noise = if self.read_sigma > 0.0 {
            self.replicas
                .iter()
                .map(|rep| {
                    let n = rep.g[0].len();
                    (0..n)
                        .map(|i| rep.g.iter().zip(&self.col_weight).map(|(g, cw)| (cw * g[i]).powi(2)).sum())
                        .collect::<Vec<f32>>()
                })
                .map(|v| transpose(&v, k))
                .collect()
        } else {
            Vec::new()
        };
        let bits = (self.dac_bits * self.steps).min(20);
        let dmask = (1u32 << self.dac_bits) - 1;
        let energy = (0..1u32 << bits)
            .map(|m| {
                (0..self.steps)
                    .map(|t| {
                        let p = f64::from((m >> (self.dac_bits * t)) & dmask);
                        4f64.powi((self.dac_bits * t) as i32) * p * p
                    })
                    .sum::<f64>() as f32
            })
            .collect();
        let steps: f64 = (0..self.steps).map(|t| 2f64.powi((self.dac_bits * t) as i32)).sum();
        let cols: f64 = self.col_weight.iter().map(|c| f64::from(c.abs())).sum();
        let reads = (f64::from(self.adc_max) * cols * steps) as f32;
        let range: Vec<Vec<f32>> = weights
            .iter()
            .map(|w| {
                let w_max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                self.chunks
                    .iter()
                    .map(|&(lo, hi)| match clip {
                        Some((fraction, x_max)) => reads.min(fraction * (hi - lo) as f32 * w_max * x_max),
                        None => reads,
                    })
                    .collect()
            })
            .collect();
        let weights = weights.iter().map(|w| transpose(w, k)).collect();
        let spread = self.dac_bits == 1 && bits <= 15;
        self.fast = Some(Box::new(FastPeriphery { weights, noise, energy, spread, range }));
    }
}

/// A row-major `[rows][k]` matrix as `[k][rows]`.
fn transpose(w: &[f32], k: usize) -> Vec<f32> {
    let rows = w.len() / k.max(1);
    let mut t = vec![0.0; w.len()];
    for (i, row) in w.chunks_exact(k.max(1)).enumerate() {
        for (kk, v) in row.iter().enumerate() {
            t[kk * rows + i] = *v;
        }
    }
    t
}

/// Buffers of [`analog_gemm`].
#[derive(Debug, Default)]
pub(crate) struct AnalogScratch {
    plane: Vec<f32>,
    plane2: Vec<f32>,
    sums: Vec<f32>,
    total: Vec<f32>,
    tile: Vec<f32>,
    tile2: Vec<f32>,
    acc: Vec<f64>,
    /// Rows with a nonzero input of one pixel: (row, row group, magnitude).
    nonzero: Vec<(u32, u32, u32)>,
    /// Digital values of one pixel's column sums, `[row group][out][j]`.
    dq: Vec<f32>,
    /// Per column of the block: the digital offset `2^(b−1)·Σx` and the input scale.
    xs: Vec<(f64, f64)>,
    /// The fast mode's normal deviates of one image.
    normals: Vec<f32>,
    /// The bit-exact read noise's generators, one per image of the block.
    rngs: Vec<Pcg64Mcg>,
}

/// One GEMM block read through the periphery: `C[i][j] = scale_w · x_scale(j) ·
/// Σ_k W[i][k]·X[k][j]` for output rows `grp·cout_g ..` of replica `rep`, with
/// `X` the integer-valued `k × n` block of `col` at `col_off` (row stride
/// `n_total`) and `C` written at `c_off` of `acc` (row stride `n_total`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn analog_gemm(
    a: &Analog,
    rep: usize,
    grp: usize,
    cout_g: usize,
    cout: usize,
    k: usize,
    n: usize,
    col: &[f32],
    col_off: usize,
    n_total: usize,
    x_scale: &dyn Fn(usize) -> f32,
    acc: &mut [f32],
    c_off: usize,
    noise: NoiseKey,
    s: &mut AnalogScratch,
) {
    if a.fast.is_some() {
        fast_gemm(a, rep, grp, cout_g, cout, k, n, col, col_off, n_total, x_scale, acc, c_off, noise, s);
    } else if a.read_sigma > 0.0 {
        noisy_gemm(a, rep, grp, cout_g, cout, k, n, col, col_off, n_total, x_scale, acc, c_off, noise, s);
    } else {
        pixel_gemm(a, rep, grp, cout_g, cout, k, n, col, col_off, n_total, x_scale, acc, c_off, s);
    }
}

/// [`analog_gemm`] without read noise, one output pixel at a time: per DAC
/// step, each row whose input step is nonzero adds its cells (every output
/// and weight column of the group, contiguous in `gt`) to its row group's
/// column sums, so the work follows the input's nonzero bits rather than
/// `k × steps`; then every column sum goes through the ADC in the order of
/// [`noisy_gemm`] (polarity, step, weight column, row group), so the two give
/// the same numbers up to the float summation order within a column sum.
#[allow(clippy::too_many_arguments)]
fn pixel_gemm(
    a: &Analog,
    rep: usize,
    grp: usize,
    cout_g: usize,
    cout: usize,
    k: usize,
    n: usize,
    col: &[f32],
    col_off: usize,
    n_total: usize,
    x_scale: &dyn Fn(usize) -> f32,
    acc: &mut [f32],
    c_off: usize,
    s: &mut AnalogScratch,
) {
    let rep = &a.replicas[rep];
    let cpw = rep.g.len();
    let width = cout_g * cpw;
    let nchunks = a.chunks.len();
    let dmask = (1u32 << a.dac_bits) - 1;
    let gt = &rep.gt[grp * width..];
    let row_stride = cout * cpw;
    s.tile.clear();
    s.tile.resize(nchunks * width, 0.0);
    s.dq.clear();
    s.dq.resize(nchunks * width, 0.0);
    s.sums.clear();
    s.sums.resize(nchunks, 0.0);
    s.acc.clear();
    s.acc.resize(cout_g, 0.0);
    for jj in 0..n {
        let mut total = 0.0f32;
        s.acc.fill(0.0);
        for pol in [1.0f32, -1.0] {
            // The rows this polarity drives, with their chunk and magnitude.
            s.nonzero.clear();
            let mut ci = 0;
            let mut top = 0u32;
            for kk in 0..k {
                let v = col[col_off + kk * n_total + jj];
                if pol > 0.0 {
                    total += v;
                }
                let m = (v * pol).max(0.0) as u32;
                if m != 0 {
                    while kk >= a.chunks[ci].1 {
                        ci += 1;
                    }
                    s.nonzero.push((kk as u32, ci as u32, m));
                    top |= m;
                }
            }
            for t in 0..a.steps {
                let shift_bits = a.dac_bits * t;
                if top >> shift_bits == 0 {
                    break;
                }
                s.tile.fill(0.0);
                s.sums.fill(0.0);
                for &(kk, ci, m) in &s.nonzero {
                    let p = (m >> shift_bits) & dmask;
                    if p == 0 {
                        continue;
                    }
                    let ci = ci as usize;
                    s.sums[ci] += p as f32;
                    let row = &gt[kk as usize * row_stride..][..width];
                    let dst = &mut s.tile[ci * width..(ci + 1) * width];
                    if p == 1 {
                        for (d, g) in dst.iter_mut().zip(row) {
                            *d += g;
                        }
                    } else {
                        let p = p as f32;
                        for (d, g) in dst.iter_mut().zip(row) {
                            *d += g * p;
                        }
                    }
                }
                // The ADC: clip the column current to its range, round on the
                // grid referenced to the off-state current, unflip.
                for ci in 0..nchunks {
                    let sums = s.sums[ci];
                    let (base, top) = (a.offset * sums, a.levels * sums);
                    let tile = &s.tile[ci * width..(ci + 1) * width];
                    let flip = &rep.flip_t[(ci * cout + grp * cout_g) * cpw..][..width];
                    let dq = &mut s.dq[ci * width..(ci + 1) * width];
                    for ((d, &v), &f) in dq.iter_mut().zip(tile).zip(flip) {
                        let q = round(v.clamp(0.0, a.adc_max) - base);
                        *d = if f { top - q } else { q };
                    }
                }
                let shift = 2f64.powi(shift_bits as i32) * f64::from(pol);
                for j in 0..cpw {
                    let cw = f64::from(a.col_weight[j]) * shift;
                    for ci in 0..nchunks {
                        let dq = &s.dq[ci * width..(ci + 1) * width];
                        for (i, out) in s.acc.iter_mut().enumerate() {
                            *out += cw * f64::from(dq[i * cpw + j]);
                        }
                    }
                }
            }
        }
        for (i, v) in s.acc.iter().enumerate() {
            let v = v - f64::from(a.digital_offset) * f64::from(total);
            acc[c_off + i * n_total + jj] = (v * f64::from(a.scale) * f64::from(x_scale(jj))) as f32;
        }
    }
}

/// [`analog_gemm`] with read noise: every column sum of every pixel through
/// one GEMM per polarity, step, weight column and row group (read noise needs
/// each cell's squared conductance as well). Each image draws from its own
/// generator ([`NoiseKey`]) in this order, one draw per read with a nonzero
/// variance (a read of no driven row, or of cells at zero conductance, has
/// none), so its noise does not depend on the other images of the block.
#[allow(clippy::too_many_arguments)]
fn noisy_gemm(
    a: &Analog,
    rep: usize,
    grp: usize,
    cout_g: usize,
    cout: usize,
    k: usize,
    n: usize,
    col: &[f32],
    col_off: usize,
    n_total: usize,
    x_scale: &dyn Fn(usize) -> f32,
    acc: &mut [f32],
    c_off: usize,
    noise: NoiseKey,
    s: &mut AnalogScratch,
) {
    let rep = &a.replicas[rep];
    let nchunks = a.chunks.len();
    let dmask = (1u32 << a.dac_bits) - 1;
    let read = a.read_sigma > 0.0;
    let per = noise.per_image.max(1);
    s.rngs.clear();
    s.rngs.extend(noise.images(n).map(|(img, _)| noise.rng(a, img)));
    s.acc.clear();
    s.acc.resize(cout_g * n, 0.0);
    s.total.clear();
    s.total.resize(n, 0.0);
    let mut negative = false;
    for kk in 0..k {
        let row = &col[col_off + kk * n_total..][..n];
        for (t, v) in s.total.iter_mut().zip(row) {
            *t += v;
            negative |= *v < 0.0;
        }
    }
    s.plane.resize(k * n, 0.0);
    s.sums.resize(nchunks * n, 0.0);
    s.tile.resize(cout_g * n, 0.0);
    if read {
        s.tile2.resize(cout_g * n, 0.0);
        if a.dac_bits > 1 {
            s.plane2.resize(k * n, 0.0);
        }
    }
    for pol in [1.0f32, -1.0] {
        if pol < 0.0 && !negative {
            continue;
        }
        for t in 0..a.steps {
            let shift = 2f64.powi((a.dac_bits * t) as i32) * f64::from(pol);
            let mut any = false;
            for kk in 0..k {
                let row = &col[col_off + kk * n_total..][..n];
                let dst = &mut s.plane[kk * n..(kk + 1) * n];
                for (d, v) in dst.iter_mut().zip(row) {
                    let m = (v * pol).max(0.0) as u32;
                    let p = (m >> (a.dac_bits * t)) & dmask;
                    any |= p != 0;
                    *d = p as f32;
                }
            }
            if !any {
                continue;
            }
            for (ci, &(lo, hi)) in a.chunks.iter().enumerate() {
                let sums = &mut s.sums[ci * n..(ci + 1) * n];
                sums.fill(0.0);
                for kk in lo..hi {
                    for (sm, p) in sums.iter_mut().zip(&s.plane[kk * n..(kk + 1) * n]) {
                        *sm += p;
                    }
                }
            }
            if read && a.dac_bits > 1 {
                for (d, p) in s.plane2.iter_mut().zip(&s.plane) {
                    *d = p * p;
                }
            }
            for (j, gj) in rep.g.iter().enumerate() {
                let cw = f64::from(a.col_weight[j]) * shift;
                for (ci, &(lo, hi)) in a.chunks.iter().enumerate() {
                    let wa = Strides { offset: grp * cout_g * k + lo, rs: k, cs: 1 };
                    let xb = Strides { offset: lo * n, rs: n, cs: 1 };
                    sgemm(cout_g, hi - lo, n, gj, wa, &s.plane, xb, 0.0, &mut s.tile, Strides::rows(0, n));
                    if read {
                        let p2 = if a.dac_bits > 1 { &s.plane2 } else { &s.plane };
                        sgemm(cout_g, hi - lo, n, &rep.g2[j], wa, p2, xb, 0.0, &mut s.tile2, Strides::rows(0, n));
                    }
                    let sums = &s.sums[ci * n..(ci + 1) * n];
                    for i in 0..cout_g {
                        let flipped = rep.flip[(j * cout + grp * cout_g + i) * nchunks + ci];
                        let tile = &s.tile[i * n..(i + 1) * n];
                        let out = &mut s.acc[i * n..(i + 1) * n];
                        for jj in 0..n {
                            let mut v = tile[jj];
                            if read {
                                let t2 = s.tile2[i * n + jj];
                                if t2 > 0.0 {
                                    v += a.read_sigma * t2.sqrt() * gauss(&mut s.rngs[jj / per]) as f32;
                                }
                            }
                            let q = round(v.clamp(0.0, a.adc_max) - a.offset * sums[jj]);
                            let d = if flipped { a.levels * sums[jj] - q } else { q };
                            out[jj] += cw * f64::from(d);
                        }
                    }
                }
            }
        }
    }
    for i in 0..cout_g {
        for jj in 0..n {
            let v = s.acc[i * n + jj] - f64::from(a.digital_offset) * f64::from(s.total[jj]);
            acc[c_off + i * n_total + jj] = (v * f64::from(a.scale) * f64::from(x_scale(jj))) as f32;
        }
    }
}

/// A normal deviate for the fast mode's read noise from 32 random bits: the
/// sum of their four bytes (Irwin–Hall, n = 4, on a grid of 1/148 σ),
/// centred and scaled to unit variance — the variance and symmetry of
/// N(0, 1) with tails cut at ±3.45 σ, at a fraction of Box–Muller's cost.
#[inline]
fn byte_normal(r: u32) -> f32 {
    let pairs = (r & 0x00FF_00FF) + ((r >> 8) & 0x00FF_00FF);
    let sum = (pairs & 0xFFFF) + (pairs >> 16);
    // Each byte is uniform on {0, …, 255}: mean 127.5, variance (256² − 1)/12;
    // the sum's variance 4·(256² − 1)/12 = 21,845.
    const SCALE: f32 = 1.0 / 147.800_54;
    (sum as i32 - 510) as f32 * SCALE
}

/// One [`byte_normal`] deviate (the low half of a draw).
#[cfg(test)]
fn fast_normal(rng: &mut Pcg64Mcg) -> f32 {
    byte_normal(rng.next_u64() as u32)
}

/// Fills `dst` with the fast mode's energies `e(|x|)` of the integer inputs `row`.
fn energy_row(fast: &FastPeriphery, row: &[f32], dst: &mut [f32]) {
    let mask = fast.energy.len() - 1;
    if fast.spread {
        // A branch-free loop the compiler vectorizes. The inputs are integers
        // of at most `bits` ≤ 15 bits, so `|x| + 2^23` holds `|x|` in its
        // mantissa's low bits (a float-to-int conversion without the
        // saturating cast, which does not vectorize).
        // Up to 8 bits (neurosim-8b's 7) need no spreading by 8.
        let mask = mask as u32;
        let wide = mask > 0xFF;
        for (d, x) in dst.iter_mut().zip(row) {
            let mut m = (x.abs() + 8_388_608.0).to_bits() & mask;
            if wide {
                m = (m | (m << 8)) & 0x00FF_00FF;
            }
            m = (m | (m << 4)) & 0x0F0F_0F0F;
            m = (m | (m << 2)) & 0x3333_3333;
            m = (m | (m << 1)) & 0x5555_5555;
            *d = m as i32 as f32;
        }
    } else {
        for (d, x) in dst.iter_mut().zip(row) {
            *d = fast.energy[(x.abs() as u32 as usize) & mask];
        }
    }
}

/// Fills `out` with [`byte_normal`] deviates, two per draw (its low half
/// first), in order.
fn fast_normals(rng: &mut Pcg64Mcg, out: &mut [f32]) {
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let r = rng.next_u64();
        pair[0] = byte_normal(r as u32);
        pair[1] = byte_normal((r >> 32) as u32);
    }
    if let [z] = pairs.into_remainder() {
        *z = byte_normal(rng.next_u64() as u32);
    }
}

/// [`analog_gemm`] in the fast mode: per row group one GEMM of the folded
/// integer weights (`Σ_j col_weight_j · (G_j − offset)`, unflipped) with the
/// integer input, the ADC approximated on the row group's folded sum (rounded
/// to one level × one input unit, clipped to what the group's reads can
/// represent, `±adc_max · Σ_j |col_weight_j| · Σ_t 2^(d·t)`, or the `--adc-clip`
/// bound); then read noise, one draw per output with the variance the per-read
/// model implies over all row groups (`σ_r² Σ_i e(x_i) Σ_j col_weight_j² G_ij²`,
/// `e(x) = Σ_t 4^(d·t) p_t(x)²` over the input's DAC steps — a second GEMM).
/// Per-read rounding and saturation (an ADC narrower than a column's sum) are
/// not modelled.
#[allow(clippy::too_many_arguments)]
fn fast_gemm(
    a: &Analog,
    rep: usize,
    grp: usize,
    cout_g: usize,
    cout: usize,
    k: usize,
    n: usize,
    col: &[f32],
    col_off: usize,
    n_total: usize,
    x_scale: &dyn Fn(usize) -> f32,
    acc: &mut [f32],
    c_off: usize,
    noise: NoiseKey,
    s: &mut AnalogScratch,
) {
    let fast = a.fast.as_ref().expect("fast mode");
    let w = &fast.weights[rep];
    let v = fast.noise.get(rep).filter(|_| a.read_sigma > 0.0);
    s.total.clear();
    s.total.resize(n, 0.0);
    let mut plane = if v.is_some() { Some(room(&mut s.plane2, k * n)) } else { None };
    for kk in 0..k {
        let row = &col[col_off + kk * n_total..][..n];
        for (t, x) in s.total.iter_mut().zip(row) {
            *t += x;
        }
        if let Some(plane) = plane.as_deref_mut() {
            energy_row(fast, row, &mut plane[kk * n..(kk + 1) * n]);
        }
    }
    // Sums of rounded row groups: integers, exact in f32 below 2^24 (the
    // first group's written as `0 + x`, the sum starting from zero).
    let sums = room(&mut s.sums, cout_g * n);
    if a.chunks.is_empty() {
        sums.fill(0.0);
    }
    let tile = room(&mut s.tile, cout_g * n);
    for (ci, (&(lo, hi), &range)) in a.chunks.iter().zip(&fast.range[rep]).enumerate() {
        let wa = Strides { offset: lo * cout + grp * cout_g, rs: 1, cs: cout };
        let xb = Strides { offset: col_off + lo * n_total, rs: n_total, cs: 1 };
        sgemm(cout_g, hi - lo, n, w, wa, col, xb, 0.0, tile, Strides::rows(0, n));
        if ci == 0 {
            for (o, &t) in sums.iter_mut().zip(tile.iter()) {
                *o = 0.0 + round(t).clamp(-range, range);
            }
        } else {
            for (o, &t) in sums.iter_mut().zip(tile.iter()) {
                *o += round(t).clamp(-range, range);
            }
        }
    }
    // Read noise: the row groups' independent draws summed into one per output
    // (their variances add), drawn after the ADC's rounding of each group's
    // sum rather than before it (the same distribution up to that rounding).
    // Each image draws its outputs' deviates (output-major, then its columns)
    // from its own generator.
    if let Some(v) = v {
        let tile2 = room(&mut s.tile2, cout_g * n);
        let wa = Strides { offset: grp * cout_g, rs: 1, cs: cout };
        sgemm(cout_g, k, n, v, wa, &s.plane2[..k * n], Strides::rows(0, n), 0.0, tile2, Strides::rows(0, n));
        for (img, cols) in noise.images(n) {
            let len = cols.len();
            let normals = room(&mut s.normals, cout_g * len);
            let mut rng = noise.rng(a, img);
            fast_normals(&mut rng, normals);
            for (i, z) in normals.chunks_exact(len).enumerate() {
                let at = i * n + cols.start;
                let (out, var) = (&mut sums[at..at + len], &tile2[at..at + len]);
                for ((o, &t2), &z) in out.iter_mut().zip(var).zip(z) {
                    *o += a.read_sigma * t2.max(0.0).sqrt() * z;
                }
            }
        }
    }
    // Per column: the digital offset's share and the input scale.
    s.xs.clear();
    s.xs.extend((0..n).map(|jj| (f64::from(a.digital_offset) * f64::from(s.total[jj]), f64::from(x_scale(jj)))));
    let scale = f64::from(a.scale);
    for (i, sums) in sums.chunks_exact(n).enumerate() {
        let out = &mut acc[c_off + i * n_total..][..n];
        for ((o, &v), &(offset, xs)) in out.iter_mut().zip(sums).zip(&s.xs) {
            *o = ((f64::from(v) - offset) * scale * xs) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block of one image of `n` columns, keyed `key`.
    fn test_key(key: u64, n: usize) -> NoiseKey {
        NoiseKey { key, first_image: 0, per_image: n }
    }

    #[test]
    fn row_chunks_follow_crossbar_tiles() {
        assert_eq!(row_chunks(300, 128, 128), vec![(0, 128), (128, 256), (256, 300)]);
        assert_eq!(row_chunks(200, 128, 100), vec![(0, 100), (100, 128), (128, 200)]);
    }

    /// The per-pixel kernel against the per-plane GEMMs (the read-noise
    /// kernel with σ = 0): conductances and offset on a 1/64 grid make every
    /// column sum exact in any order, so the two must agree bit for bit —
    /// ADC rounding (ties included), clipping, flips, both polarities, DACs of
    /// one and two bits, groups and row groups across crossbar tiles.
    #[test]
    fn pixel_kernel_matches_plane_gemms() {
        let mut rng = Pcg64Mcg::new(11);
        let mut uniform = |n: u64| (rng.next_u64() % n) as i64;
        let (cpw, cout, groups, k, n) = (4, 6, 2, 40, 9);
        let cout_g = cout / groups;
        for dac_bits in [1, 2] {
            let chunks = row_chunks(k, 16, 8);
            let g: Vec<Vec<f32>> =
                (0..cpw).map(|_| (0..cout * k).map(|_| uniform(4 * 64 + 40) as f32 / 64.0).collect()).collect();
            let flip: Vec<bool> = (0..cpw * cout * chunks.len()).map(|_| uniform(3) == 0).collect();
            let a = offset_layer(g, flip, cout, k, &chunks, 4095.0, 0.5);
            // Integer inputs in [-127, 127], a third of them zero.
            let col: Vec<f32> =
                (0..k * n).map(|_| if uniform(3) == 0 { 0.0 } else { (uniform(255) - 127) as f32 }).collect();
            let scale = |j: usize| 1.0 + j as f32 / 8.0;
            for grp in 0..groups {
                let (mut want, mut got) = (vec![0.0; cout_g * n], vec![0.0; cout_g * n]);
                let mut s = AnalogScratch::default();
                noisy_gemm(&a, 0, grp, cout_g, cout, k, n, &col, 0, n, &scale, &mut want, 0, test_key(3, n), &mut s);
                pixel_gemm(&a, 0, grp, cout_g, cout, k, n, &col, 0, n, &scale, &mut got, 0, &mut s);
                assert_eq!(got, want, "dac {dac_bits} group {grp}");
                assert!(want.iter().any(|v| *v != 0.0));
            }
        }
    }

    /// neurosim-8b's layout for the offset tests: 8 one-bit columns of weights
    /// stored offset by 128 (`g` with the off-state offset `o = 1/16` included),
    /// 1-bit DAC over 7 input steps, no variation or read noise.
    fn offset_layer(
        g: Vec<Vec<f32>>,
        flip: Vec<bool>,
        cout: usize,
        k: usize,
        chunks: &[(usize, usize)],
        adc_max: f32,
        scale: f32,
    ) -> Analog {
        let (gt, flip_t) = transposed(&g, &flip, cout, k, chunks.len());
        Analog {
            replicas: vec![AnalogReplica { g, g2: Vec::new(), gt, flip, flip_t }],
            col_weight: (0..8).map(|j| (1u32 << j) as f32).collect(),
            chunks: chunks.to_vec(),
            offset: 1.0 / 16.0,
            digital_offset: 128.0,
            levels: 1.0,
            adc_max,
            dac_bits: 1,
            steps: 7,
            read_sigma: 0.0,
            seed: 5,
            scale,
            lossless: false,
            fast: None,
        }
    }

    /// The ADC's levels are referenced to the off-state current: with integer levels
    /// (no variation) and an ADC wide enough never to saturate, the bit-exact
    /// periphery must give the integer product exactly — neurosim-8b's layout
    /// (8 one-bit columns, offset encoding, on/off ratio 17: `o = 1/16`,
    /// bit-serial inputs), small weights (most of an 8-bit range unused, as in a
    /// layer with a few large weights) and non-negative inputs. Subtracting
    /// `o·Σx` after the ADC's rounding instead biased every read by up to ½
    /// level with the same sign: off by more than the outputs themselves.
    #[test]
    fn offset_is_cancelled_before_the_adc() {
        let mut rng = Pcg64Mcg::new(31);
        let mut uniform = |n: u64| (rng.next_u64() % n) as i64;
        let (cpw, cout, k, n) = (8usize, 4usize, 144usize, 6usize);
        let chunks = row_chunks(k, 128, 128);
        let q: Vec<i64> = (0..cout * k).map(|_| uniform(41) - 20).collect();
        for flipped in [false, true] {
            let flip: Vec<bool> = (0..cpw * cout * chunks.len()).map(|_| flipped && uniform(2) == 0).collect();
            let offset = 1.0f32 / 16.0;
            let g: Vec<Vec<f32>> = (0..cpw)
                .map(|j| {
                    (0..cout * k)
                        .map(|index| {
                            let (co, kk) = (index / k, index % k);
                            let ci = usize::from(kk >= 128);
                            let bit = (((q[index] + 128) >> j) & 1) as f32;
                            let f = flip[(j * cout + co) * chunks.len() + ci];
                            if f { 1.0 - bit + offset } else { bit + offset }
                        })
                        .collect()
                })
                .collect();
            let a = offset_layer(g, flip, cout, k, &chunks, 4095.0, 0.5);
            let col: Vec<f32> = (0..k * n).map(|_| if uniform(3) == 0 { 0.0 } else { uniform(128) as f32 }).collect();
            let one = |_: usize| 1.0;
            let want: Vec<f32> = (0..cout * n)
                .map(|i| {
                    let (co, jj) = (i / n, i % n);
                    let dot: i64 = (0..k).map(|kk| q[co * k + kk] * col[kk * n + jj] as i64).sum();
                    dot as f32 * 0.5
                })
                .collect();
            let mut s = AnalogScratch::default();
            let (mut pixel, mut plane) = (vec![0.0; cout * n], vec![0.0; cout * n]);
            pixel_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut pixel, 0, &mut s);
            noisy_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut plane, 0, test_key(1, n), &mut s);
            assert_eq!(pixel, want, "flips {flipped}");
            assert_eq!(plane, want, "flips {flipped}");
            assert!(want.iter().all(|v| *v != 0.0));
        }
    }

    /// The ADC's width enters the bit-exact periphery only through its clamp
    /// (issue 15: the 5-bit exact/fast gap is saturation): neurosim-8b's layout
    /// (8 one-bit columns, offset encoding, `o = 1/16`, bit-serial inputs, 128
    /// rows per read) with a 5-bit and a 12-bit ADC gives identical outputs
    /// while no column sum exceeds 31 levels; with more active rows the 5-bit
    /// outputs are lowered, never raised (every column weight is positive and
    /// the clamp only removes current).
    #[test]
    fn adc_width_acts_only_through_saturation() {
        let mut rng = Pcg64Mcg::new(37);
        let mut uniform = |n: u64| (rng.next_u64() % n) as i64;
        let (cpw, cout, k, n) = (8usize, 4usize, 128usize, 6usize);
        let chunks = row_chunks(k, 128, 128);
        // Output 0's weights all −1 (stored 127: columns 0–6 set), so its
        // column sums reach the ADC's top with every input bit set.
        let q: Vec<i64> = (0..cout * k).map(|i| if i < k { -1 } else { uniform(41) - 20 }).collect();
        let offset = 1.0f32 / 16.0;
        let g: Vec<Vec<f32>> = (0..cpw)
            .map(|j| (0..cout * k).map(|index| (((q[index] + 128) >> j) & 1) as f32 + offset).collect())
            .collect();
        let flip = vec![false; cpw * cout * chunks.len()];
        let layer = |adc_max: f32| offset_layer(g.clone(), flip.clone(), cout, k, &chunks, adc_max, 1.0);
        let (narrow, wide) = (layer(31.0), layer(4095.0));
        let one = |_: usize| 1.0;
        let mut s = AnalogScratch::default();
        for active in [29usize, 128] {
            // `active` rows driven (pixel 0 all 127, the others in [1, 127]),
            // the rest zero: at most 29 · (1 + 1/16) = 30.8 levels per column
            // sum (reached by output 0 at pixel 0), or up to 136.
            let col: Vec<f32> = (0..k * n)
                .map(|i| match (i / n < active, i % n) {
                    (false, _) => 0.0,
                    (true, 0) => 127.0,
                    (true, _) => (uniform(127) + 1) as f32,
                })
                .collect();
            let (mut a5, mut a12) = (vec![0.0; cout * n], vec![0.0; cout * n]);
            pixel_gemm(&narrow, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut a5, 0, &mut s);
            pixel_gemm(&wide, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut a12, 0, &mut s);
            if active == 29 {
                assert_eq!(a5, a12);
            } else {
                assert!(a5.iter().zip(&a12).all(|(x, y)| x <= y), "{a5:?} {a12:?}");
                assert!(a5.iter().zip(&a12).any(|(x, y)| x < y));
            }
        }
    }

    /// A small layer for the fast-mode tests: conductances from a seeded
    /// generator (not on a grid: programming variation), two weight columns,
    /// two row groups, an ADC wide enough never to saturate.
    fn small_layer(read_sigma: f32) -> (Analog, Vec<f32>, usize, usize, usize) {
        let mut rng = Pcg64Mcg::new(23);
        let (cpw, cout, k, n) = (2, 3, 20, 4);
        let chunks = row_chunks(k, 16, 16);
        let g: Vec<Vec<f32>> =
            (0..cpw).map(|_| (0..cout * k).map(|_| (rng.next_u64() % 4000) as f32 / 1000.0 + 0.1).collect()).collect();
        let g2 = g.iter().map(|m| m.iter().map(|v| v * v).collect()).collect();
        let flip = vec![false; cpw * cout * chunks.len()];
        let (gt, flip_t) = transposed(&g, &flip, cout, k, chunks.len());
        let a = Analog {
            replicas: vec![AnalogReplica { g, g2, gt, flip, flip_t }],
            col_weight: vec![1.0, 4.0],
            chunks,
            offset: 0.1,
            digital_offset: 0.0,
            levels: 3.0,
            adc_max: (1u32 << 20) as f32,
            dac_bits: 1,
            steps: 7,
            read_sigma,
            seed: 9,
            scale: 0.25,
            lossless: false,
            fast: None,
        };
        let col: Vec<f32> = (0..k * n).map(|_| (rng.next_u64() % 128) as f32).collect();
        (a, col, cout, k, n)
    }

    /// Without read noise the fast mode differs from the bit-exact periphery
    /// only by ADC rounding: each read rounds to one level × input unit,
    /// weighted `col_weight · 2^t`, and the fast mode rounds each row group's
    /// folded sum once: |fast − exact| ≤ ½ · (Σ_j |cw_j| · Σ_t 2^t + 1) · row
    /// groups · scale · x_scale. The conductances are not on a grid, so the
    /// rounding is real (the outputs must differ somewhere).
    #[test]
    fn fast_mode_is_within_the_adc_rounding_bound_of_exact() {
        let (mut a, col, cout, k, n) = small_layer(0.0);
        let mut s = AnalogScratch::default();
        let one = |_: usize| 1.0;
        let mut exact = vec![0.0; cout * n];
        pixel_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut exact, 0, &mut s);
        a.make_fast(k, None);
        let mut fast = vec![0.0; cout * n];
        analog_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut fast, 0, test_key(1, n), &mut s);
        let bound = 0.5 * ((1.0 + 4.0) * 127.0 + 1.0) * a.chunks.len() as f32 * a.scale;
        let mut differ = false;
        for (f, e) in fast.iter().zip(&exact) {
            assert!((f - e).abs() <= bound, "{f} {e} {bound}");
            // Well below the outputs themselves.
            assert!(e.abs() > 10.0 * bound, "{e}");
            differ |= f != e;
        }
        assert!(differ);
    }

    /// The fast mode's read noise has the variance of the per-read model:
    /// `σ_r² · Σ_i e(x_i) · Σ_j cw_j² G_ij²` (times scale²), and so has the
    /// bit-exact periphery's (which adds ¼₂-level rounding per read, below
    /// 1 % here); both checked over 3,000 noise draws (standard error of a
    /// variance √(2/3000) = 2.6 %: tolerance 10 %). σ_r = 0.5: at σ_r = 1 the
    /// bit-exact ADC's clamp of the noisy column current at zero acts on the
    /// smaller column sums and lowered that mode's variances by 5 % on
    /// average (one of the twelve by 10 % under a reseeding of the noise).
    #[test]
    fn fast_read_noise_matches_the_per_read_variance() {
        let (mut a, col, cout, k, n) = small_layer(0.5);
        let one = |_: usize| 1.0;
        let mut s = AnalogScratch::default();
        let draws = 3000;
        let mut exact = vec![Vec::new(); cout * n];
        let mut out = vec![0.0; cout * n];
        for key in 0..draws {
            noisy_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut out, 0, test_key(key, n), &mut s);
            for (e, v) in exact.iter_mut().zip(&out) {
                e.push(f64::from(*v));
            }
        }
        a.make_fast(k, None);
        let mut fast = vec![Vec::new(); cout * n];
        for key in 0..draws {
            analog_gemm(&a, 0, 0, cout, cout, k, n, &col, 0, n, &one, &mut out, 0, test_key(key, n), &mut s);
            for (e, v) in fast.iter_mut().zip(&out) {
                e.push(f64::from(*v));
            }
        }
        let var = |xs: &[f64]| {
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
        };
        let rep = &a.replicas[0];
        let energy = |m: u32| (0..7).map(|t| 4f64.powi(t) * f64::from((m >> t) & 1)).sum::<f64>();
        for co in 0..cout {
            for jj in 0..n {
                let mut want = 0.0;
                for kk in 0..k {
                    let x = col[kk * n + jj] as u32;
                    let v: f64 =
                        rep.g.iter().zip(&a.col_weight).map(|(g, cw)| f64::from(cw * g[co * k + kk]).powi(2)).sum();
                    want += energy(x) * v;
                }
                want *= f64::from(a.read_sigma * a.scale).powi(2);
                let (f, e) = (var(&fast[co * n + jj]), var(&exact[co * n + jj]));
                assert!((f / want - 1.0).abs() < 0.1, "fast {f} vs {want}");
                assert!((e / want - 1.0).abs() < 0.1, "exact {e} vs {want}");
            }
        }
    }

    #[test]
    fn fast_normals_have_unit_variance() {
        let mut rng = Pcg64Mcg::new(8);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| f64::from(fast_normal(&mut rng))).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.015, "{mean} {var}");
        assert!(xs.iter().all(|x| x.abs() <= 3.0f64.sqrt() * 2.0 + 1e-6));
    }

    #[test]
    fn gaussians_have_unit_variance() {
        let mut rng = Pcg64Mcg::new(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| gauss(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: 1/√n = 0.0022 for the mean, √(2/n) = 0.0032 for the variance.
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.015, "{mean} {var}");
    }
}
