//! Forward and backward kernels of the trainable layers on channel-major
//! tensors: a tensor of `n` images with `C` channels of `P` pixels is `C` rows
//! of `n · P` values (`[C][n][H][W]`), so a convolution is one GEMM of the
//! weights `[out][in · kh · kw]` with the im2col matrix `[in · kh · kw][n · P']`
//! (`rramsim_func::sgemm`, the GEMM of functional inference), and BatchNorm
//! reduces contiguous rows.
//!
//! Every kernel writes or accumulates into caller-owned buffers: nothing here
//! allocates.

use rramsim_func::{Strides, sgemm};

/// A convolution's geometry (square kernel, stride and padding, checked by the
/// caller). A linear layer is a 1x1 convolution of a `1 × 1` image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Geometry {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub oh: usize,
    pub ow: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    /// Depthwise (`groups == cin == cout`) rather than dense (`groups == 1`).
    pub depthwise: bool,
}

impl Geometry {
    /// A 1x1, stride-1, unpadded convolution: the input is its own im2col matrix.
    pub fn pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.pad == 0
    }

    /// Rows of the im2col matrix (`in · kh · kw`), the weights per output channel.
    pub fn rows(&self) -> usize {
        self.cin * self.k * self.k
    }

    /// The range of output coordinates `o` (of `out_len`) whose input coordinate
    /// `o · stride + offset` falls inside `0..in_len`.
    fn valid(&self, out_len: usize, in_len: usize, offset: isize) -> (usize, usize) {
        let s = self.stride as isize;
        let lo = if offset >= 0 { 0 } else { offset.unsigned_abs().div_ceil(self.stride) };
        let hi = if in_len as isize > offset { ((in_len as isize - 1 - offset) / s + 1) as usize } else { 0 };
        (lo.min(out_len), hi.min(out_len))
    }

    /// Calls `f(dst_offset, src_offset, len)` for every row of output pixels of
    /// kernel offset (`ky`, `kx`) that reads inside the input plane: output
    /// pixels `dst_offset..dst_offset + len` read input pixels `src_offset`,
    /// `src_offset + stride`, … (consecutive with stride 1).
    fn runs(&self, ky: usize, kx: usize, mut f: impl FnMut(usize, usize, usize)) {
        let dy = ky as isize - self.pad as isize;
        let dx = kx as isize - self.pad as isize;
        let (y0, y1) = self.valid(self.oh, self.h, dy);
        let (x0, x1) = self.valid(self.ow, self.w, dx);
        if x0 >= x1 {
            return;
        }
        for oy in y0..y1 {
            let iy = (oy * self.stride) as isize + dy;
            f(oy * self.ow + x0, iy as usize * self.w + ((x0 * self.stride) as isize + dx) as usize, x1 - x0);
        }
    }
}

/// `src[s]`, `src[s + stride]`, … (`len` values).
#[inline(always)]
fn strided(src: &[f32], s: usize, stride: usize, len: usize) -> impl Iterator<Item = &f32> {
    src[s..=s + (len - 1) * stride].iter().step_by(stride)
}

/// The mutable counterpart of [`strided`].
#[inline(always)]
fn strided_mut(dst: &mut [f32], s: usize, stride: usize, len: usize) -> impl Iterator<Item = &mut f32> {
    dst[s..=s + (len - 1) * stride].iter_mut().step_by(stride)
}

/// im2col of `n` images: `col[(c·k + ky)·k + kx][j · P' + p]` is the input value
/// under kernel offset (`ky`, `kx`) of output pixel `p` of image `j` (0 in the padding).
/// Every entry is written once.
pub(crate) fn im2col(g: &Geometry, n: usize, x: &[f32], col: &mut [f32]) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    for c in 0..g.cin {
        for ky in 0..g.k {
            let dy = ky as isize - g.pad as isize;
            let (y0, y1) = g.valid(g.oh, g.h, dy);
            for kx in 0..g.k {
                let dx = kx as isize - g.pad as isize;
                let (x0, x1) = g.valid(g.ow, g.w, dx);
                let x1 = x1.max(x0);
                let row = &mut col[((c * g.k + ky) * g.k + kx) * n * oplane..][..n * oplane];
                for (src, dst) in x[c * n * plane..][..n * plane].chunks_exact(plane).zip(row.chunks_exact_mut(oplane))
                {
                    for (oy, out) in dst.chunks_exact_mut(g.ow).enumerate() {
                        if !(y0..y1).contains(&oy) || x0 == x1 {
                            out.fill(0.0);
                            continue;
                        }
                        let iy = ((oy * g.stride) as isize + dy) as usize;
                        let first = ((x0 * g.stride) as isize + dx) as usize;
                        let line = &src[iy * g.w..][..g.w];
                        out[..x0].fill(0.0);
                        out[x1..].fill(0.0);
                        if g.stride == 1 {
                            out[x0..x1].copy_from_slice(&line[first..first + (x1 - x0)]);
                        } else {
                            out[x0..x1]
                                .iter_mut()
                                .zip(line[first..].iter().step_by(g.stride))
                                .for_each(|(o, v)| *o = *v);
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each im2col entry's gradient to the input
/// value it was read from.
pub(crate) fn col2im_add(g: &Geometry, n: usize, dcol: &[f32], dx: &mut [f32]) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    for c in 0..g.cin {
        for ky in 0..g.k {
            let dy = ky as isize - g.pad as isize;
            let (y0, y1) = g.valid(g.oh, g.h, dy);
            for kx in 0..g.k {
                let dxo = kx as isize - g.pad as isize;
                let (x0, x1) = g.valid(g.ow, g.w, dxo);
                if x0 >= x1 {
                    continue;
                }
                let row = &dcol[((c * g.k + ky) * g.k + kx) * n * oplane..][..n * oplane];
                let dst = &mut dx[c * n * plane..][..n * plane];
                for (dst, src) in dst.chunks_exact_mut(plane).zip(row.chunks_exact(oplane)) {
                    for oy in y0..y1 {
                        let iy = ((oy * g.stride) as isize + dy) as usize;
                        let first = ((x0 * g.stride) as isize + dxo) as usize;
                        let grad = &src[oy * g.ow + x0..][..x1 - x0];
                        let line = &mut dst[iy * g.w..][..g.w];
                        if g.stride == 1 {
                            line[first..first + (x1 - x0)].iter_mut().zip(grad).for_each(|(o, v)| *o += v);
                        } else {
                            line[first..].iter_mut().step_by(g.stride).zip(grad).for_each(|(o, v)| *o += v);
                        }
                    }
                }
            }
        }
    }
}

/// Dense convolution forward: `y = W · col` (+ bias). `col` is the input itself
/// for a pointwise convolution, else filled by [`im2col`].
pub(crate) fn conv_forward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    col: &mut Vec<f32>,
    y: &mut [f32],
) {
    let cols = n * g.oh * g.ow;
    let k = g.rows();
    let b: &[f32] = if g.pointwise() {
        x
    } else {
        col.resize(k * cols, 0.0);
        im2col(g, n, x, col);
        col
    };
    sgemm(g.cout, k, cols, w, Strides::rows(0, k), b, Strides::rows(0, cols), 0.0, y, Strides::rows(0, cols));
    if let Some(bias) = bias {
        for (row, b) in y.chunks_mut(cols).zip(bias) {
            row.iter_mut().for_each(|v| *v += b);
        }
    }
}

/// Dense convolution backward: the weight (and bias) gradients of this chunk of
/// images into `dw` (`db`), overwritten; when `dx` is given, the input gradient
/// is added to it (`dx_fresh`: `dx` holds nothing yet and is overwritten).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_backward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    col: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<(&mut [f32], bool)>,
    dcol: &mut Vec<f32>,
) {
    let cols = n * g.oh * g.ow;
    let k = g.rows();
    let b: &[f32] = if g.pointwise() { x } else { col };
    // dW = dY · colᵀ.
    sgemm(
        g.cout,
        cols,
        k,
        dy,
        Strides::rows(0, cols),
        b,
        Strides { offset: 0, rs: 1, cs: cols },
        0.0,
        dw,
        Strides::rows(0, k),
    );
    if let Some(db) = db {
        for (d, row) in db.iter_mut().zip(dy.chunks(cols)) {
            *d = row.iter().sum();
        }
    }
    let Some((dx, fresh)) = dx else { return };
    // dcol = Wᵀ · dY, straight into dx for a pointwise convolution.
    let wt = Strides { offset: 0, rs: 1, cs: k };
    if g.pointwise() {
        let beta = if fresh { 0.0 } else { 1.0 };
        sgemm(k, g.cout, cols, w, wt, dy, Strides::rows(0, cols), beta, dx, Strides::rows(0, cols));
    } else {
        dcol.resize(k * cols, 0.0);
        sgemm(k, g.cout, cols, w, wt, dy, Strides::rows(0, cols), 0.0, dcol, Strides::rows(0, cols));
        if fresh {
            dx.fill(0.0);
        }
        col2im_add(g, n, dcol, dx);
    }
}

/// Depthwise convolution forward (one `k × k` filter per channel).
pub(crate) fn depthwise_forward(g: &Geometry, n: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    for c in 0..g.cin {
        let b = bias.map_or(0.0, |b| b[c]);
        for j in 0..n {
            let src = &x[(c * n + j) * plane..][..plane];
            let dst = &mut y[(c * n + j) * oplane..][..oplane];
            dst.fill(b);
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let wv = w[(c * g.k + ky) * g.k + kx];
                    g.runs(ky, kx, |d, s, len| {
                        let out = dst[d..d + len].iter_mut();
                        if g.stride == 1 {
                            out.zip(&src[s..s + len]).for_each(|(o, v)| *o += wv * v);
                        } else {
                            out.zip(strided(src, s, g.stride, len)).for_each(|(o, v)| *o += wv * v);
                        }
                    });
                }
            }
        }
    }
}

/// Depthwise convolution backward, with [`conv_backward`]'s conventions.
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise_backward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    mut db: Option<&mut [f32]>,
    mut dx: Option<(&mut [f32], bool)>,
) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    if let Some((dx, true)) = &mut dx {
        dx.fill(0.0);
    }
    for c in 0..g.cin {
        if let Some(db) = &mut db {
            db[c] = dy[c * n * oplane..][..n * oplane].iter().sum();
        }
        for ky in 0..g.k {
            for kx in 0..g.k {
                let wi = (c * g.k + ky) * g.k + kx;
                let mut acc = 0.0f32;
                for j in 0..n {
                    let src = &x[(c * n + j) * plane..][..plane];
                    let grad = &dy[(c * n + j) * oplane..][..oplane];
                    g.runs(ky, kx, |d, s, len| {
                        let gr = grad[d..d + len].iter();
                        acc += if g.stride == 1 {
                            gr.zip(&src[s..s + len]).map(|(a, b)| a * b).sum::<f32>()
                        } else {
                            gr.zip(strided(src, s, g.stride, len)).map(|(a, b)| a * b).sum::<f32>()
                        };
                    });
                    if let Some((dx, _)) = &mut dx {
                        let dst = &mut dx[(c * n + j) * plane..][..plane];
                        let wv = w[wi];
                        g.runs(ky, kx, |d, s, len| {
                            let gr = &grad[d..d + len];
                            if g.stride == 1 {
                                dst[s..s + len].iter_mut().zip(gr).for_each(|(o, v)| *o += wv * v);
                            } else {
                                strided_mut(dst, s, g.stride, len).zip(gr).for_each(|(o, v)| *o += wv * v);
                            }
                        });
                    }
                }
                dw[wi] = acc;
            }
        }
    }
}

/// Lanes of the f64 sums below: independent partial sums (added up in a fixed
/// order at the end), so the loop is not one long chain of dependent adds.
const LANES: usize = 8;

/// `Σ f(a_i, b_i)` pairs of sums over two equally long rows, in [`LANES`]
/// partial sums.
#[inline(always)]
fn lane_sums(a: &[f32], b: &[f32], f: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut s, mut q) = ([0.0f64; LANES], [0.0f64; LANES]);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for l in 0..LANES {
            let (u, v) = f(f64::from(xa[l]), f64::from(xb[l]));
            s[l] += u;
            q[l] += v;
        }
    }
    for (l, (xa, xb)) in ra.iter().zip(rb).enumerate() {
        let (u, v) = f(f64::from(*xa), f64::from(*xb));
        s[l] += u;
        q[l] += v;
    }
    (s.iter().sum(), q.iter().sum())
}

/// Per-channel sums of `x` and of `x²` (rows of `len` values), in f64.
pub(crate) fn row_moments(x: &[f32], len: usize, sum: &mut [f64], sq: &mut [f64]) {
    for ((row, s), q) in x.chunks(len).zip(sum.iter_mut()).zip(sq.iter_mut()) {
        (*s, *q) = lane_sums(row, row, |v, _| (v, v * v));
    }
}

/// Per-channel sums of `dy` and of `dy · xhat`, in f64.
pub(crate) fn row_dot(dy: &[f32], xhat: &[f32], len: usize, sum: &mut [f64], dot: &mut [f64]) {
    for (c, (s, d)) in sum.iter_mut().zip(dot.iter_mut()).enumerate() {
        (*s, *d) = lane_sums(&dy[c * len..][..len], &xhat[c * len..][..len], |a, b| (a, a * b));
    }
}

/// Softmax cross-entropy of `n` images' logits (`[classes][n]`): returns the
/// summed loss and the number of correct argmaxes, and writes the gradient of
/// `loss_sum / batch` into `dlogits`.
pub(crate) fn softmax_cross_entropy(logits: &[f32], labels: &[u8], batch: usize, dlogits: &mut [f32]) -> (f64, usize) {
    let n = labels.len();
    let classes = logits.len() / n.max(1);
    let (mut loss, mut correct) = (0.0, 0);
    for (j, &label) in labels.iter().enumerate() {
        let at = |k: usize| logits[k * n + j];
        let mut best = 0;
        for k in 1..classes {
            if at(k) > at(best) {
                best = k;
            }
        }
        correct += usize::from(best == usize::from(label));
        let max = at(best);
        let total: f64 = (0..classes).map(|k| f64::from(at(k) - max).exp()).sum();
        loss += total.ln() - f64::from(at(usize::from(label)) - max);
        for k in 0..classes {
            let p = f64::from(at(k) - max).exp() / total;
            let target = if k == usize::from(label) { 1.0 } else { 0.0 };
            dlogits[k * n + j] = ((p - target) / batch as f64) as f32;
        }
    }
    (loss, correct)
}
