//! Kernels of the layers without weights that real-world exports add around CNNs
//! and in transformers: the smooth activations, affine `scale` layers,
//! element-wise products, softmax and layer normalization along an axis, the
//! batched product of two activations, and global max pooling. Each works on
//! `b` images of `C × H × W` values back to back.

use rramsim_graph::{Activation, Axis, PadMode, Padding, Params, ResizeCoord, Shape};

/// `f(x)` of an activation.
#[allow(clippy::manual_clamp, reason = "max/min map NaN to the lower bound, as the clip layers always have")]
pub(crate) fn activate(a: Activation, x: f32) -> f32 {
    match a {
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.max(0.0).min(6.0),
        Activation::Clip { min, max } => x.max(min).min(max),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        Activation::Tanh => x.tanh(),
        Activation::Erf => erf(f64::from(x)) as f32,
        Activation::Gelu => {
            let x = f64::from(x);
            (0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))) as f32
        }
    }
}

/// [`activate`] over `x`, appended to `out` (ReLU, the common case, as one
/// loop the compiler vectorizes).
pub(crate) fn activate_all(a: Activation, x: &[f32], out: &mut Vec<f32>) {
    match a {
        Activation::Relu => out.extend(x.iter().map(|v| v.max(0.0))),
        _ => out.extend(x.iter().map(|&v| activate(a, v))),
    }
}

/// The error function: its Maclaurin series below 3 (f64 keeps it accurate to
/// about 1e-13 there), Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7,
/// Handbook of Mathematical Functions, 1964) above, where erf is within 2.2e-5 of ±1.
pub(crate) fn erf(x: f64) -> f64 {
    let a = x.abs();
    let v = if a < 3.0 {
        // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, x2) = (a, a, a * a);
        for n in 1..80 {
            term *= -x2 / f64::from(n);
            let t = term / f64::from(2 * n + 1);
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let t = 1.0 / (1.0 + 0.327_591_1 * a);
        let poly =
            t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        1.0 - poly * (-a * a).exp()
    };
    v.copysign(x)
}

/// `x · scale + shift` with each vector per tensor, per channel or per element.
pub(crate) fn scale(params: Option<&Params>, shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let Some(Params::Affine { scale, shift }) = params else {
        // A structure-only workload: the identity.
        out.extend_from_slice(x);
        return;
    };
    let per = shape.elements();
    let plane = (shape.height * shape.width).max(1);
    let at = |v: &[f32], i: usize| match v.len() {
        1 => v[0],
        n if n == per => v[i],
        _ => v[i / plane],
    };
    for img in x.chunks(per) {
        out.extend(img.iter().enumerate().map(|(i, &v)| v * at(scale, i) + at(shift, i)));
    }
}

/// `a · b` element-wise, `b` the same shape or one value per channel.
pub(crate) fn mul(shape: Shape, b_shape: Shape, a: &[f32], b: &[f32], out: &mut Vec<f32>) {
    if b_shape == shape {
        out.extend(a.iter().zip(b).map(|(x, y)| x * y));
        return;
    }
    let plane = (shape.height * shape.width).max(1);
    for (img, gate) in a.chunks(shape.elements()).zip(b.chunks(b_shape.elements())) {
        out.extend(img.iter().enumerate().map(|(i, x)| x * gate[i / plane]));
    }
}

/// The lines of `shape` along `axis`: `(lines, length, stride)` and the offset of line `l`.
fn lines(shape: Shape, axis: Axis) -> (usize, usize, usize, impl Fn(usize) -> usize) {
    let (c, h, w) = (shape.channels, shape.height, shape.width);
    let (n, len, stride) = match axis {
        Axis::Channels => (h * w, c, h * w),
        Axis::Height => (c * w, h, w),
        Axis::Width => (c * h, w, 1),
    };
    let base = move |l: usize| match axis {
        Axis::Channels => l,
        Axis::Height => (l / w) * h * w + l % w,
        Axis::Width => l * w,
    };
    (n, len, stride, base)
}

/// Softmax (or log-softmax) along `axis`, with the maximum subtracted first.
pub(crate) fn softmax(axis: Axis, log: bool, shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let start = out.len();
    out.extend_from_slice(x);
    let (n, len, stride, base) = lines(shape, axis);
    for img in out[start..].chunks_mut(shape.elements()) {
        for l in 0..n {
            let b = base(l);
            let max = (0..len).map(|i| img[b + i * stride]).fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = (0..len).map(|i| (img[b + i * stride] - max).exp()).sum();
            for i in 0..len {
                let v = &mut img[b + i * stride];
                *v = if log { *v - max - sum.ln() } else { (*v - max).exp() / sum };
            }
        }
    }
}

/// Layer normalization along `axis`: `(x - mean) / sqrt(var + eps) · gamma + beta`
/// with the population variance (ONNX LayerNormalization); without parameters,
/// `gamma = 1`, `beta = 0`.
pub(crate) fn layer_norm(axis: Axis, eps: f32, params: Option<&Params>, shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let start = out.len();
    out.extend_from_slice(x);
    let (n, len, stride, base) = lines(shape, axis);
    let affine = match params {
        Some(Params::Affine { scale, shift }) => Some((scale, shift)),
        _ => None,
    };
    for img in out[start..].chunks_mut(shape.elements()) {
        for l in 0..n {
            let b = base(l);
            let mean = (0..len).map(|i| img[b + i * stride]).sum::<f32>() / len as f32;
            let var = (0..len).map(|i| (img[b + i * stride] - mean).powi(2)).sum::<f32>() / len as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for i in 0..len {
                let v = &mut img[b + i * stride];
                let y = (*v - mean) * inv;
                *v = match affine {
                    Some((g, s)) => y * g[i] + s[i],
                    None => y,
                };
            }
        }
    }
}

/// `out[c] = op(a[c]) · op(b[c])` per image, each channel an `H × W` matrix.
pub(crate) fn matmul(
    [ta, tb]: [bool; 2],
    [sa, sb]: [Shape; 2],
    out_shape: Shape,
    a: &[f32],
    b: &[f32],
    out: &mut Vec<f32>,
) {
    let (m, n) = (out_shape.height, out_shape.width);
    let k = if ta { sa.height } else { sa.width };
    let at = |t: bool, s: Shape, r: usize, c: usize| if t { c * s.width + r } else { r * s.width + c };
    for (ia, ib) in a.chunks(sa.elements()).zip(b.chunks(sb.elements())) {
        for c in 0..out_shape.channels {
            let (pa, pb) = (&ia[c * sa.height * sa.width..], &ib[c * sb.height * sb.width..]);
            for r in 0..m {
                for j in 0..n {
                    let acc: f32 = (0..k).map(|i| pa[at(ta, sa, r, i)] * pb[at(tb, sb, i, j)]).sum();
                    out.push(acc);
                }
            }
        }
    }
}

/// The maximum of each channel's plane.
pub(crate) fn global_max(shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let plane = (shape.height * shape.width).max(1);
    out.extend(x.chunks(plane).map(|p| p.iter().copied().fold(f32::NEG_INFINITY, f32::max)));
}

/// Output axis `i` is input axis `perm[i]`.
pub(crate) fn transpose(perm: [usize; 3], shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let d = [shape.channels, shape.height, shape.width];
    let strides = [shape.height * shape.width, shape.width, 1];
    let o = [d[perm[0]], d[perm[1]], d[perm[2]]];
    let s = [strides[perm[0]], strides[perm[1]], strides[perm[2]]];
    for img in x.chunks(shape.elements()) {
        for i in 0..o[0] {
            for j in 0..o[1] {
                out.extend((0..o[2]).map(|k| img[i * s[0] + j * s[1] + k * s[2]]));
            }
        }
    }
}

/// ONNX LRN: `x / (bias + alpha/size · Σ x²)^beta`, the sum over channels
/// `c - ⌊(size-1)/2⌋ ..= c + ⌈(size-1)/2⌉` at the same pixel.
pub(crate) fn lrn([alpha, beta, bias]: [f32; 3], size: usize, shape: Shape, x: &[f32], out: &mut Vec<f32>) {
    let (c, plane) = (shape.channels, shape.height * shape.width);
    let (below, above) = ((size - 1) / 2, size / 2);
    for img in x.chunks(shape.elements()) {
        for ch in 0..c {
            let window = ch.saturating_sub(below)..(ch + above + 1).min(c);
            for p in 0..plane {
                let sq: f32 = window.clone().map(|k| img[k * plane + p].powi(2)).sum();
                out.push(img[ch * plane + p] / (bias + alpha / size as f32 * sq).powf(beta));
            }
        }
    }
}

/// Input coordinate of output position `o` on an axis resized from `n` to `m`.
fn resize_source(coord: ResizeCoord, o: usize, n: usize, m: usize) -> f32 {
    let scale = m as f32 / n as f32;
    match coord {
        ResizeCoord::Asymmetric => o as f32 / scale,
        ResizeCoord::HalfPixel => (o as f32 + 0.5) / scale - 0.5,
        ResizeCoord::AlignCorners if m == 1 => 0.0,
        ResizeCoord::AlignCorners => o as f32 * (n - 1) as f32 / (m - 1) as f32,
    }
}

/// Per output position of one axis: the two input positions it reads and the
/// weight of the second (ONNX Resize; nearest reads one position twice).
fn resize_taps([linear, round]: [bool; 2], coord: ResizeCoord, n: usize, m: usize) -> Vec<(usize, usize, f32)> {
    let last = n - 1;
    (0..m)
        .map(|o| {
            let x = resize_source(coord, o, n, m);
            if linear {
                let x = x.clamp(0.0, last as f32);
                let i0 = (x.floor() as usize).min(last);
                (i0, (i0 + 1).min(last), x - i0 as f32)
            } else {
                // round_prefer_floor: a tie goes down.
                let r = if round { (x - 0.5).ceil() } else { x.floor() };
                let i = (r.max(0.0) as usize).min(last);
                (i, i, 0.0)
            }
        })
        .collect()
}

/// Resamples each channel's plane from `shape`'s height and width to `out_shape`'s:
/// nearest neighbour, or bilinear when `linear`.
pub(crate) fn resize(
    flags: [bool; 2],
    coord: ResizeCoord,
    [shape, out_shape]: [Shape; 2],
    x: &[f32],
    out: &mut Vec<f32>,
) {
    let rows = resize_taps(flags, coord, shape.height, out_shape.height);
    let cols = resize_taps(flags, coord, shape.width, out_shape.width);
    let (w, plane) = (shape.width, shape.height * shape.width);
    for img in x.chunks(shape.elements()) {
        for p in img.chunks(plane.max(1)) {
            for &(y0, y1, fy) in &rows {
                for &(x0, x1, fx) in &cols {
                    let top = p[y0 * w + x0] + (p[y0 * w + x1] - p[y0 * w + x0]) * fx;
                    let bottom = p[y1 * w + x0] + (p[y1 * w + x1] - p[y1 * w + x0]) * fx;
                    out.push(top + (bottom - top) * fy);
                }
            }
        }
    }
}

/// Input position of padded position `i` (`before` added in front of `n`), or
/// `None` for the constant fill.
fn pad_source(mode: PadMode, i: usize, before: usize, n: usize) -> Option<usize> {
    let last = n as isize - 1;
    let j = i as isize - before as isize;
    if (0..=last).contains(&j) {
        return Some(j as usize);
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Edge => Some(j.clamp(0, last) as usize),
        // Reflection about the border (its size was checked to be below n).
        PadMode::Reflect if j < 0 => Some((-j) as usize),
        PadMode::Reflect => Some((2 * last - j) as usize),
    }
}

/// ONNX Pad of the height and width: constant `value`, reflect or edge.
pub(crate) fn pad(
    p: Padding,
    mode: PadMode,
    value: f32,
    [shape, out_shape]: [Shape; 2],
    x: &[f32],
    out: &mut Vec<f32>,
) {
    let rows: Vec<_> = (0..out_shape.height).map(|i| pad_source(mode, i, p.top, shape.height)).collect();
    let cols: Vec<_> = (0..out_shape.width).map(|i| pad_source(mode, i, p.left, shape.width)).collect();
    let (w, plane) = (shape.width, shape.height * shape.width);
    for img in x.chunks(shape.elements()) {
        for ch in 0..shape.channels {
            let pl = &img[ch * plane..(ch + 1) * plane];
            for r in &rows {
                out.extend(cols.iter().map(|c| match (r, c) {
                    (Some(r), Some(c)) => pl[r * w + c],
                    _ => value,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_modes_of_a_row() {
        // 1 × 1 × 3 row [1, 2, 3] padded by 2 on the left and 1 on the right.
        let (s, o) = (Shape::new(1, 1, 3), Shape::new(1, 1, 6));
        let p = Padding { top: 0, left: 2, bottom: 0, right: 1 };
        let run = |mode| {
            let mut out = Vec::new();
            pad(p, mode, 9.0, [s, o], &[1.0, 2.0, 3.0], &mut out);
            out
        };
        assert_eq!(run(PadMode::Constant), [9.0, 9.0, 1.0, 2.0, 3.0, 9.0]);
        assert_eq!(run(PadMode::Reflect), [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
        assert_eq!(run(PadMode::Edge), [1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
    }

    #[test]
    fn nearest_doubles_a_two_by_two_plane() {
        let (s, o) = (Shape::new(1, 2, 2), Shape::new(1, 4, 4));
        let mut out = Vec::new();
        resize([false, false], ResizeCoord::Asymmetric, [s, o], &[1.0, 2.0, 3.0, 4.0], &mut out);
        let expect = [1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.];
        assert_eq!(out, expect);
        // Half-pixel centres rounded with ties down pick the same pixels at ×2.
        out.clear();
        resize([false, true], ResizeCoord::HalfPixel, [s, o], &[1.0, 2.0, 3.0, 4.0], &mut out);
        assert_eq!(out, expect);
    }

    #[test]
    fn bilinear_matches_the_closed_form_of_a_linear_ramp() {
        // v(y, x) = 10y + x is reproduced exactly inside the clamped border.
        let (s, o) = (Shape::new(1, 3, 4), Shape::new(1, 6, 8));
        let x: Vec<f32> = (0..3).flat_map(|y| (0..4).map(move |x| (10 * y + x) as f32)).collect();
        let mut out = Vec::new();
        resize([true, false], ResizeCoord::AlignCorners, [s, o], &x, &mut out);
        for oy in 0..6 {
            for ox in 0..8 {
                let (sy, sx) = (oy as f32 * 2.0 / 5.0, ox as f32 * 3.0 / 7.0);
                assert!((out[oy * 8 + ox] - (10.0 * sy + sx)).abs() < 1e-5);
            }
        }
        out.clear();
        resize([true, false], ResizeCoord::HalfPixel, [s, o], &x, &mut out);
        for oy in 0..6 {
            for ox in 0..8 {
                let sy = ((oy as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, 2.0);
                let sx = ((ox as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, 3.0);
                assert!((out[oy * 8 + ox] - (10.0 * sy + sx)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn erf_matches_tabulated_values() {
        // Abramowitz & Stegun Table 7.1.
        for (x, e) in
            [(0.0, 0.0), (0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (2.0, 0.995_322_265_0), (3.5, 0.999_999_256_9)]
        {
            assert!((erf(x) - e).abs() < 2e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + e).abs() < 2e-7);
        }
    }

    #[test]
    fn softmax_and_layer_norm_work_along_each_axis() {
        let shape = Shape::new(2, 1, 3);
        let x = [1.0, 2.0, 3.0, 1.0, 1.0, 1.0];
        let mut out = Vec::new();
        softmax(Axis::Width, false, shape, &x, &mut out);
        assert!((out[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((out[3] - 1.0 / 3.0).abs() < 1e-6);
        out.clear();
        softmax(Axis::Channels, false, shape, &x, &mut out);
        // Column 0 holds 1 and 1; column 2 holds 3 and 1.
        assert!((out[0] - 0.5).abs() < 1e-6 && (out[2] + out[5] - 1.0).abs() < 1e-6 && out[2] > out[5]);
        out.clear();
        layer_norm(Axis::Channels, 0.0, None, shape, &x, &mut out);
        assert_eq!(out[1], 1.0);
        assert_eq!(out[4], -1.0);
    }

    #[test]
    fn matmul_transposes_either_operand() {
        // a = [[1, 2], [3, 4]], b = [[5, 6], [7, 8]]
        let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
        let s = Shape::new(1, 2, 2);
        let mut out = Vec::new();
        matmul([false, false], [s, s], s, &a, &b, &mut out);
        assert_eq!(out, [19.0, 22.0, 43.0, 50.0]);
        out.clear();
        matmul([true, true], [s, s], s, &a, &b, &mut out);
        // aᵀ·bᵀ = (b·a)ᵀ = [[23, 31], [34, 46]]
        assert_eq!(out, [23.0, 31.0, 34.0, 46.0]);
    }
}
