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

    /// With stride 1 and output rows as wide as input rows, the output pixels
    /// of a kernel offset inside the input (rows `y0..y1`, columns `x0..x1`)
    /// read one contiguous span of the input plane when the columns outside
    /// `x0..x1` in between (read across a row's end) are ignored: the span's
    /// output range `start..end` and its first input pixel. `None` otherwise.
    #[inline(always)]
    fn span(&self, y0: usize, y1: usize, x0: usize, x1: usize, dy: isize, dx: isize) -> Option<(usize, usize, usize)> {
        if self.stride != 1 || self.ow != self.w || y0 >= y1 || x0 >= x1 {
            return None;
        }
        let (start, end) = (y0 * self.ow + x0, (y1 - 1) * self.ow + x1);
        let from = (y0 as isize + dy) * self.w as isize + x0 as isize + dx;
        Some((start, end, from as usize))
    }

    /// Zeroes the columns outside `x0..x1` of output rows `y0..y1` of `plane`:
    /// a strided store per column (at most `pad` of them on each side), not a
    /// (call to) fill per row.
    #[inline(always)]
    fn clear_wrapped(&self, plane: &mut [f32], y0: usize, y1: usize, x0: usize, x1: usize) {
        let rows = &mut plane[y0 * self.ow..y1 * self.ow];
        for col in (0..x0).chain(x1..self.ow) {
            rows[col..].iter_mut().step_by(self.ow).for_each(|v| *v = 0.0);
        }
    }
}

/// im2col of images `j0..j0 + nb` of the `n` in `x`: `col[(c·k + ky)·k + kx][j · P' + p]`
/// is the input value under kernel offset (`ky`, `kx`) of output pixel `p` of
/// image `j0 + j` (0 in the padding). Every entry is written once.
pub(crate) fn im2col(g: &Geometry, (n, j0, nb): (usize, usize, usize), x: &[f32], col: &mut [f32]) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    for c in 0..g.cin {
        for ky in 0..g.k {
            let dy = ky as isize - g.pad as isize;
            let (y0, y1) = g.valid(g.oh, g.h, dy);
            for kx in 0..g.k {
                let dx = kx as isize - g.pad as isize;
                let (x0, x1) = g.valid(g.ow, g.w, dx);
                let x1 = x1.max(x0);
                let row = &mut col[((c * g.k + ky) * g.k + kx) * nb * oplane..][..nb * oplane];
                let images = &x[(c * n + j0) * plane..][..nb * plane];
                for (src, dst) in images.chunks_exact(plane).zip(row.chunks_exact_mut(oplane)) {
                    // The rows outside `y0..y1` (and all rows when no column is inside) are zero.
                    if x0 >= x1 || y0 >= y1 {
                        dst.fill(0.0);
                        continue;
                    }
                    dst[..y0 * g.ow].fill(0.0);
                    dst[y1 * g.ow..].fill(0.0);
                    if let Some((start, end, from)) = g.span(y0, y1, x0, x1, dy, dx) {
                        // One copy of the whole span (the wrapped columns zeroed below).
                        dst[start..end].copy_from_slice(&src[from..from + (end - start)]);
                    } else {
                        for oy in y0..y1 {
                            let iy = ((oy * g.stride) as isize + dy) as usize;
                            let first = ((x0 * g.stride) as isize + dx) as usize;
                            let line = &src[iy * g.w..][..g.w];
                            let out = &mut dst[oy * g.ow + x0..oy * g.ow + x1];
                            if g.stride == 1 {
                                out.copy_from_slice(&line[first..first + (x1 - x0)]);
                            } else {
                                out.iter_mut().zip(line[first..].iter().step_by(g.stride)).for_each(|(o, v)| *o = *v);
                            }
                        }
                    }
                    g.clear_wrapped(dst, y0, y1, x0, x1);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each im2col entry's gradient to the input
/// value it was read from (images `j0..j0 + nb` of the `n` in `dx`). Clobbers
/// `dcol` (zeroes entries it does not add).
pub(crate) fn col2im_add(g: &Geometry, (n, j0, nb): (usize, usize, usize), dcol: &mut [f32], dx: &mut [f32]) {
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
                let row = &mut dcol[((c * g.k + ky) * g.k + kx) * nb * oplane..][..nb * oplane];
                let dst = &mut dx[(c * n + j0) * plane..][..nb * plane];
                for (dst, src) in dst.chunks_exact_mut(plane).zip(row.chunks_exact_mut(oplane)) {
                    if let Some((start, end, to)) = g.span(y0, y1, x0, x1, dy, dxo) {
                        // The wrapped columns zeroed, then one add of the whole span.
                        g.clear_wrapped(src, y0, y1, x0, x1);
                        let span = dst[to..to + (end - start)].iter_mut().zip(&src[start..end]);
                        span.for_each(|(o, v)| *o += v);
                        continue;
                    }
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

/// Values of an im2col block: the convolutions run over the images of a chunk
/// in blocks whose im2col matrix (at most this many values, or one image)
/// stays in L2 between being written and being multiplied.
const COL_BLOCK: usize = 64 * 1024;

/// The image blocks of a non-pointwise convolution: (first image, images).
fn blocks(g: &Geometry, n: usize) -> impl Iterator<Item = (usize, usize)> {
    let step = (COL_BLOCK / (g.rows() * g.oh * g.ow).max(1)).clamp(1, n.max(1));
    (0..n).step_by(step).map(move |j0| (j0, step.min(n - j0)))
}

/// Dense convolution forward: `y = W · col` (+ bias). `col` is the input itself
/// for a pointwise convolution, else filled by [`im2col`] block by block
/// (`col` is scratch).
pub(crate) fn conv_forward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    col: &mut Vec<f32>,
    y: &mut [f32],
) {
    let oplane = g.oh * g.ow;
    let cols = n * oplane;
    let k = g.rows();
    if g.pointwise() {
        sgemm(g.cout, k, cols, w, Strides::rows(0, k), x, Strides::rows(0, cols), 0.0, y, Strides::rows(0, cols));
    } else {
        for (j0, nb) in blocks(g, n) {
            let bcols = nb * oplane;
            col.resize(col.len().max(k * bcols), 0.0);
            let col = &mut col[..k * bcols];
            im2col(g, (n, j0, nb), x, col);
            let out = Strides { offset: j0 * oplane, rs: cols, cs: 1 };
            sgemm(g.cout, k, bcols, w, Strides::rows(0, k), col, Strides::rows(0, bcols), 0.0, y, out);
        }
    }
    if let Some(bias) = bias {
        for (row, b) in y.chunks_mut(cols).zip(bias) {
            row.iter_mut().for_each(|v| *v += b);
        }
    }
}

/// Dense convolution backward: the weight (and bias) gradients of this chunk of
/// images into `dw` (`db`), overwritten; when `dx` is given, the input gradient
/// is added to it (`dx_fresh`: `dx` holds nothing yet and is overwritten).
/// `col` and `dcol` are scratch: the im2col blocks are computed again.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_backward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    mut dx: Option<(&mut [f32], bool)>,
    col: &mut Vec<f32>,
    dcol: &mut Vec<f32>,
) {
    let oplane = g.oh * g.ow;
    let cols = n * oplane;
    let k = g.rows();
    if let Some(db) = db {
        for (d, row) in db.iter_mut().zip(dy.chunks(cols)) {
            *d = row.iter().sum();
        }
    }
    let wt = Strides { offset: 0, rs: 1, cs: k };
    if g.pointwise() {
        // dW = dY · xᵀ; dx (+)= Wᵀ · dY.
        let xt = Strides { offset: 0, rs: 1, cs: cols };
        sgemm(g.cout, cols, k, dy, Strides::rows(0, cols), x, xt, 0.0, dw, Strides::rows(0, k));
        if let Some((dx, fresh)) = dx {
            let beta = if fresh { 0.0 } else { 1.0 };
            sgemm(k, g.cout, cols, w, wt, dy, Strides::rows(0, cols), beta, dx, Strides::rows(0, cols));
        }
        return;
    }
    if let Some((dx, true)) = &mut dx {
        dx.fill(0.0);
    }
    for (i, (j0, nb)) in blocks(g, n).enumerate() {
        let bcols = nb * oplane;
        col.resize(col.len().max(k * bcols), 0.0);
        let col = &mut col[..k * bcols];
        im2col(g, (n, j0, nb), x, col);
        // dW (+)= dY_block · col_blockᵀ, the blocks in order.
        let dyb = Strides { offset: j0 * oplane, rs: cols, cs: 1 };
        let beta = if i == 0 { 0.0 } else { 1.0 };
        let colt = Strides { offset: 0, rs: 1, cs: bcols };
        sgemm(g.cout, bcols, k, dy, dyb, col, colt, beta, dw, Strides::rows(0, k));
        let Some((dx, _)) = &mut dx else { continue };
        // dcol = Wᵀ · dY_block, added into dx by col2im.
        dcol.resize(dcol.len().max(k * bcols), 0.0);
        let dcol = &mut dcol[..k * bcols];
        sgemm(k, g.cout, bcols, w, wt, dy, dyb, 0.0, dcol, Strides::rows(0, bcols));
        col2im_add(g, (n, j0, nb), dcol, dx);
    }
}

/// The layout of a depthwise convolution's input plane split into `stride²`
/// phase planes (the zero-padded plane's pixels whose row and column have the
/// same remainder modulo the stride): kernel tap (`ky`, `kx`) of output pixel
/// (`oy`, `ox`) is pixel `(oy + ky / s) · wq + ox + kx / s` of phase
/// (`ky % s`, `kx % s`). Outputs are computed `wq` wide (the columns past `ow`
/// are scratch), so every tap is one contiguous multiply-add over the plane.
#[derive(Clone, Copy)]
struct Phases {
    s: usize,
    wq: usize,
    /// Values per phase plane (one spare row: the scratch columns of the last
    /// output row read past the last row).
    len: usize,
    /// Values of a `wq`-wide output plane.
    wide: usize,
}

impl Phases {
    fn new(g: &Geometry) -> Self {
        let s = g.stride;
        let (hq, wq) = ((g.h + 2 * g.pad).div_ceil(s), (g.w + 2 * g.pad).div_ceil(s));
        Phases { s, wq, len: (hq + 1) * wq, wide: g.oh * wq }
    }

    /// The offset of tap (`ky`, `kx`) in the phase buffer.
    #[inline(always)]
    fn tap(&self, ky: usize, kx: usize) -> usize {
        ((ky % self.s) * self.s + kx % self.s) * self.len + (ky / self.s) * self.wq + kx / self.s
    }

    /// Calls `f(phase_offset, src_offset, len)` for every run of input pixels
    /// that lands consecutively in one phase row: input pixels `src_offset`,
    /// `src_offset + stride`, … (`len` of them) are phase pixels
    /// `phase_offset`, `phase_offset + 1`, ….
    #[inline(always)]
    fn runs(&self, g: &Geometry, mut f: impl FnMut(usize, usize, usize)) {
        let s = self.s;
        for iy in 0..g.h {
            let py = iy + g.pad;
            let row = ((py % s) * s) * self.len + (py / s) * self.wq;
            for b in 0..s {
                // The first column `ix` with `(ix + pad) % s == b`.
                let first = (b + s - g.pad % s) % s;
                if first >= g.w {
                    continue;
                }
                let len = (g.w - first).div_ceil(s);
                f(row + b * self.len + (first + g.pad) / s, iy * g.w + first, len);
            }
        }
    }

    /// Writes `src` (one input plane) into `ph` (zero in the padding).
    fn split(&self, g: &Geometry, src: &[f32], ph: &mut [f32]) {
        ph.fill(0.0);
        let s = self.s;
        self.runs(g, |d, o, len| {
            let dst = &mut ph[d..d + len];
            if s == 1 {
                dst.copy_from_slice(&src[o..o + len]);
            } else {
                dst.iter_mut().zip(src[o..].iter().step_by(s)).for_each(|(d, v)| *d = *v);
            }
        });
    }

    /// Adds the pixels of `ph` back into the plane `dst` (the adjoint of [`Phases::split`]).
    fn merge_add(&self, g: &Geometry, ph: &[f32], dst: &mut [f32]) {
        let s = self.s;
        self.runs(g, |d, o, len| {
            let src = &ph[d..d + len];
            if s == 1 {
                dst[o..o + len].iter_mut().zip(src).for_each(|(o, v)| *o += v);
            } else {
                dst[o..].iter_mut().step_by(s).zip(src).for_each(|(o, v)| *o += v);
            }
        });
    }
}

/// `Σ a_i · b_i` in [`LANES`] f32 partial sums, added up in a fixed order.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += xa[l] * xb[l];
        }
    }
    for (l, (xa, xb)) in ra.iter().zip(rb).enumerate() {
        acc[l] += xa * xb;
    }
    acc.iter().sum()
}

/// Depthwise convolution forward (one `k × k` filter per channel). `phases`
/// receives the input's phase planes (image by image within each channel),
/// which [`depthwise_backward`] reads again, and scratch space after them.
pub(crate) fn depthwise_forward(
    g: &Geometry,
    n: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    phases: &mut Vec<f32>,
    y: &mut [f32],
) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    let p = Phases::new(g);
    let per = p.s * p.s * p.len;
    phases.resize(g.cin * n * per + p.wide, 0.0);
    let (all, wide) = phases.split_at_mut(g.cin * n * per);
    for c in 0..g.cin {
        let b = bias.map_or(0.0, |b| b[c]);
        for j in 0..n {
            let ph = &mut all[(c * n + j) * per..][..per];
            p.split(g, &x[(c * n + j) * plane..][..plane], ph);
            wide.fill(b);
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let wv = w[(c * g.k + ky) * g.k + kx];
                    let src = &ph[p.tap(ky, kx)..][..p.wide];
                    wide.iter_mut().zip(src).for_each(|(o, v)| *o += wv * v);
                }
            }
            let dst = &mut y[(c * n + j) * oplane..][..oplane];
            for (d, s) in dst.chunks_exact_mut(g.ow).zip(wide.chunks_exact(p.wq)) {
                d.copy_from_slice(&s[..g.ow]);
            }
        }
    }
}

/// Depthwise convolution backward, with [`conv_backward`]'s conventions, from
/// the input's phase planes of [`depthwise_forward`]; `scratch` is resized as
/// needed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise_backward(
    g: &Geometry,
    n: usize,
    phases: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    mut db: Option<&mut [f32]>,
    mut dx: Option<(&mut [f32], bool)>,
    scratch: &mut Vec<f32>,
) {
    let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
    let p = Phases::new(g);
    let per = p.s * p.s * p.len;
    scratch.resize(per + p.wide, 0.0);
    let (dph, wide) = scratch.split_at_mut(per);
    if let Some((dx, true)) = &mut dx {
        dx.fill(0.0);
    }
    let taps = g.k * g.k;
    for c in 0..g.cin {
        if let Some(db) = &mut db {
            db[c] = dy[c * n * oplane..][..n * oplane].iter().sum();
        }
        let dwc = &mut dw[c * taps..][..taps];
        dwc.fill(0.0);
        for j in 0..n {
            let ph = &phases[(c * n + j) * per..][..per];
            // dy, `wq` wide with zeros in the scratch columns.
            wide.fill(0.0);
            for (d, s) in wide.chunks_exact_mut(p.wq).zip(dy[(c * n + j) * oplane..][..oplane].chunks_exact(g.ow)) {
                d[..g.ow].copy_from_slice(s);
            }
            for ky in 0..g.k {
                for kx in 0..g.k {
                    dwc[ky * g.k + kx] += dot(wide, &ph[p.tap(ky, kx)..][..p.wide]);
                }
            }
            let Some((dx, _)) = &mut dx else { continue };
            dph.fill(0.0);
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let wv = w[(c * g.k + ky) * g.k + kx];
                    let dst = &mut dph[p.tap(ky, kx)..][..p.wide];
                    dst.iter_mut().zip(&*wide).for_each(|(o, v)| *o += wv * v);
                }
            }
            p.merge_add(g, dph, &mut dx[(c * n + j) * plane..][..plane]);
        }
    }
}

/// Lanes of the sums below: independent partial sums (added up in a fixed
/// order at the end), so the loop is not one long chain of dependent adds.
const LANES: usize = 8;

/// Values summed in f32 lanes before the lanes are added to f64 ones: f32
/// arithmetic vectorizes twice as wide, f64 keeps long rows exact enough.
const BLOCK: usize = 32 * LANES;

/// `Σ f(a_i, b_i)` pairs of sums over two equally long rows, in [`LANES`]
/// partial sums (f32 within blocks of [`BLOCK`] values, f64 across them).
#[inline(always)]
fn lane_sums(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f64, f64) {
    let (mut s, mut q) = ([0.0f64; LANES], [0.0f64; LANES]);
    for (ba, bb) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let (mut s32, mut q32) = ([0.0f32; LANES], [0.0f32; LANES]);
        let (ca, cb) = (ba.chunks_exact(LANES), bb.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (xa, xb) in ca.zip(cb) {
            for l in 0..LANES {
                let (u, v) = f(xa[l], xb[l]);
                s32[l] += u;
                q32[l] += v;
            }
        }
        for (l, (xa, xb)) in ra.iter().zip(rb).enumerate() {
            let (u, v) = f(*xa, *xb);
            s32[l] += u;
            q32[l] += v;
        }
        for l in 0..LANES {
            s[l] += f64::from(s32[l]);
            q[l] += f64::from(q32[l]);
        }
    }
    (s.iter().sum(), q.iter().sum())
}

/// Per-channel sums of `x` and of `x²` (rows of `len` values).
pub(crate) fn row_moments(x: &[f32], len: usize, sum: &mut [f64], sq: &mut [f64]) {
    for ((row, s), q) in x.chunks(len).zip(sum.iter_mut()).zip(sq.iter_mut()) {
        (*s, *q) = lane_sums(row, row, |v, _| (v, v * v));
    }
}

/// Per-channel sums of `dy` and of `dy · xhat`.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded LCG of values in [-0.5, 0.5) for the kernel tests.
    fn values(mut seed: u32) -> impl FnMut() -> f32 {
        move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        }
    }

    /// `a` within `tol` of the reference `b` plus `plus` (what the output held before).
    fn assert_close(a: &[f32], b: &[f64], plus: f64, tol: f64, what: &str, case: &str) {
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            assert!((f64::from(*a) - b - plus).abs() < tol, "{what}[{i}] {a} vs {} ({case})", b + plus);
        }
    }

    /// The bias gradient: each channel's `per` output gradients summed.
    fn bias_grad(dy: &[f32], channels: usize, per: usize) -> Vec<f64> {
        (0..channels).map(|c| dy[c * per..][..per].iter().map(|v| f64::from(*v)).sum()).collect()
    }

    /// The depthwise kernels against the textbook loops, on strides 1 to 3,
    /// paddings 0 to 2 and odd and even planes.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn depthwise_matches_direct_loops() {
        let mut next = values(1);
        for (h, w, k, stride, pad) in
            [(7, 7, 3, 1, 1), (8, 6, 3, 2, 1), (5, 9, 3, 3, 2), (6, 6, 1, 2, 0), (4, 5, 3, 1, 0)]
        {
            let (c, n) = (3, 2);
            let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
            let g = Geometry { cin: c, h, w, cout: c, oh, ow, k, stride, pad, depthwise: true };
            let x: Vec<f32> = (0..c * n * h * w).map(|_| next()).collect();
            let wt: Vec<f32> = (0..c * k * k).map(|_| next()).collect();
            let bias: Vec<f32> = (0..c).map(|_| next()).collect();
            let dy: Vec<f32> = (0..c * n * oh * ow).map(|_| next()).collect();
            // The textbook loops: (channel, image, output pixel, tap).
            let (mut y_ref, mut dw_ref, mut dx_ref) =
                (vec![0.0f64; dy.len()], vec![0.0f64; wt.len()], vec![0.0f64; x.len()]);
            for ch in 0..c {
                for j in 0..n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let o = ((ch * n + j) * oh + oy) * ow + ox;
                            y_ref[o] = f64::from(bias[ch]);
                            for ky in 0..k {
                                for kx in 0..k {
                                    let (iy, ix) = (
                                        (oy * stride + ky) as isize - pad as isize,
                                        (ox * stride + kx) as isize - pad as isize,
                                    );
                                    if !(0..h as isize).contains(&iy) || !(0..w as isize).contains(&ix) {
                                        continue;
                                    }
                                    let i = ((ch * n + j) * h + iy as usize) * w + ix as usize;
                                    let t = (ch * k + ky) * k + kx;
                                    y_ref[o] += f64::from(wt[t]) * f64::from(x[i]);
                                    dw_ref[t] += f64::from(dy[o]) * f64::from(x[i]);
                                    dx_ref[i] += f64::from(dy[o]) * f64::from(wt[t]);
                                }
                            }
                        }
                    }
                }
            }
            let mut phases = Vec::new();
            let mut y = vec![f32::NAN; dy.len()];
            depthwise_forward(&g, n, &x, &wt, Some(&bias), &mut phases, &mut y);
            let (mut dw, mut db) = (vec![f32::NAN; wt.len()], vec![f32::NAN; c]);
            // Not fresh: the input gradient is added to what dx holds.
            let mut dx = vec![1.0f32; x.len()];
            let mut scratch = Vec::new();
            depthwise_backward(&g, n, &phases, &wt, &dy, &mut dw, Some(&mut db), Some((&mut dx, false)), &mut scratch);
            let case = format!("{h}x{w} k{k} s{stride} p{pad}");
            let close = |a: &[f32], b: &[f64], plus: f64, what: &str| assert_close(a, b, plus, 1e-5, what, &case);
            close(&y, &y_ref, 0.0, "y");
            close(&dw, &dw_ref, 0.0, "dw");
            close(&dx, &dx_ref, 1.0, "dx");
            close(&db, &bias_grad(&dy, c, n * oh * ow), 0.0, "db");
        }
    }

    /// Dense convolutions (run in several im2col blocks here) against the
    /// textbook loops: output, weight, bias and input gradients.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn dense_conv_matches_direct_loops() {
        let mut next = values(5);
        // (cin, h, w, cout, k, stride, pad): same-width stride 1, strided, 1x1 strided.
        for (cin, h, w, cout, k, stride, pad) in
            [(16, 16, 16, 3, 3, 1, 1), (40, 31, 29, 4, 3, 2, 1), (5, 9, 9, 3, 1, 2, 0)]
        {
            let n = 5;
            let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
            let g = Geometry { cin, h, w, cout, oh, ow, k, stride, pad, depthwise: false };
            let x: Vec<f32> = (0..cin * n * h * w).map(|_| next()).collect();
            let wt: Vec<f32> = (0..cout * cin * k * k).map(|_| next()).collect();
            let bias: Vec<f32> = (0..cout).map(|_| next()).collect();
            let dy: Vec<f32> = (0..cout * n * oh * ow).map(|_| next()).collect();
            let (mut y_ref, mut dw_ref, mut dx_ref) =
                (vec![0.0f64; dy.len()], vec![0.0f64; wt.len()], vec![0.0f64; x.len()]);
            for co in 0..cout {
                for j in 0..n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let o = ((co * n + j) * oh + oy) * ow + ox;
                            y_ref[o] = f64::from(bias[co]);
                            for ci in 0..cin {
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let iy = (oy * stride + ky) as isize - pad as isize;
                                        let ix = (ox * stride + kx) as isize - pad as isize;
                                        if !(0..h as isize).contains(&iy) || !(0..w as isize).contains(&ix) {
                                            continue;
                                        }
                                        let i = ((ci * n + j) * h + iy as usize) * w + ix as usize;
                                        let t = ((co * cin + ci) * k + ky) * k + kx;
                                        y_ref[o] += f64::from(wt[t]) * f64::from(x[i]);
                                        dw_ref[t] += f64::from(dy[o]) * f64::from(x[i]);
                                        dx_ref[i] += f64::from(dy[o]) * f64::from(wt[t]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assert!(k == 1 || blocks(&g, n).count() > 1, "several im2col blocks");
            let (mut col, mut dcol) = (Vec::new(), Vec::new());
            let mut y = vec![f32::NAN; dy.len()];
            conv_forward(&g, n, &x, &wt, Some(&bias), &mut col, &mut y);
            let (mut dw, mut db) = (vec![f32::NAN; wt.len()], vec![f32::NAN; cout]);
            let mut dx = vec![1.0f32; x.len()];
            conv_backward(&g, n, &x, &wt, &dy, &mut dw, Some(&mut db), Some((&mut dx, false)), &mut col, &mut dcol);
            let case = format!("k{k} s{stride}");
            let close = |a: &[f32], b: &[f64], plus: f64, what: &str| assert_close(a, b, plus, 1e-4, what, &case);
            close(&y, &y_ref, 0.0, "y");
            close(&dw, &dw_ref, 0.0, "dw");
            close(&dx, &dx_ref, 1.0, "dx");
            close(&db, &bias_grad(&dy, cout, n * oh * ow), 0.0, "db");
            // A fresh input gradient overwrites what dx held.
            let mut fresh = vec![f32::NAN; x.len()];
            conv_backward(&g, n, &x, &wt, &dy, &mut dw, None, Some((&mut fresh, true)), &mut col, &mut dcol);
            close(&fresh, &dx_ref, 0.0, "fresh dx");
        }
    }
}
