//! The training GEMM of row-major matrices, `C (+)= A · B`, without packing.
//!
//! The convolutions' products have few rows (16–64 output channels) and many
//! columns (16 images × their pixels): a packing GEMM copies all of `B` (the
//! im2col matrix) to reuse it across only a handful of rows, which costs as
//! much as the multiply. This one streams `B` in its own layout: a
//! [`MR`] × [`NR`] tile of `C` stays in registers while the loop runs down the
//! `k` rows of a [`NR`]-wide column panel of `B` (small enough to stay in L1
//! across all row blocks of `A`).
//!
//! Every entry of `C` is one sum over `p = 0..k` in order (a fused multiply-add
//! where the CPU has one), whatever the tile it falls in: results do not
//! depend on the matrix sizes around an entry, nor on threads.

/// Rows of `C` per register tile.
const MR: usize = 4;
/// Columns of `C` per register tile (two AVX vectors).
const NR: usize = 16;

/// `c = a · b` (`accumulate`: `c += a · b`) with `a` `m × k`, `b` `k × n` and
/// `c` `m × n`, all row-major and contiguous.
pub(crate) fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "GEMM operands too short");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: `gemm_fma` only needs the CPU to support AVX2 and FMA, which
        // was just checked; it is otherwise safe code.
        #[allow(unsafe_code)]
        unsafe {
            gemm_fma(m, k, n, a, b, c, accumulate);
        }
        return;
    }
    gemm_with::<false>(m, k, n, a, b, c, accumulate);
}

/// [`gemm_with`] compiled for AVX2 with fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(unsafe_code)]
unsafe fn gemm_fma(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    gemm_with::<true>(m, k, n, a, b, c, accumulate);
}

/// `acc + x · y`, fused (one rounding) when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(x: f32, y: f32, acc: f32) -> f32 {
    if FMA { x.mul_add(y, acc) } else { x * y + acc }
}

#[inline(always)]
fn gemm_with<const FMA: bool>(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let (a, b, c) = (&a[..m * k], &b[..k * n], &mut c[..m * n]);
    let full_cols = n - n % NR;
    let full_rows = m - m % MR;
    for j in (0..full_cols).step_by(NR) {
        for i in (0..full_rows).step_by(MR) {
            let mut acc = [[0.0f32; NR]; MR];
            if accumulate {
                for (r, row) in acc.iter_mut().enumerate() {
                    row.copy_from_slice(&c[(i + r) * n + j..][..NR]);
                }
            }
            let rows: [&[f32]; MR] = std::array::from_fn(|r| &a[(i + r) * k..][..k]);
            for p in 0..k {
                let bp: &[f32; NR] = b[p * n + j..][..NR].try_into().expect("NR values");
                for (row, ar) in acc.iter_mut().zip(&rows) {
                    let av = ar[p];
                    for (o, bv) in row.iter_mut().zip(bp) {
                        *o = madd::<FMA>(av, *bv, *o);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                c[(i + r) * n + j..][..NR].copy_from_slice(row);
            }
        }
        // Leftover rows, one at a time.
        for i in full_rows..m {
            let mut acc = [0.0f32; NR];
            if accumulate {
                acc.copy_from_slice(&c[i * n + j..][..NR]);
            }
            let ar = &a[i * k..][..k];
            for (p, av) in ar.iter().enumerate() {
                let bp: &[f32; NR] = b[p * n + j..][..NR].try_into().expect("NR values");
                for (o, bv) in acc.iter_mut().zip(bp) {
                    *o = madd::<FMA>(*av, *bv, *o);
                }
            }
            c[i * n + j..][..NR].copy_from_slice(&acc);
        }
    }
    // Leftover columns, one entry at a time (the same sum in the same order).
    for i in 0..m {
        let ar = &a[i * k..][..k];
        for j in full_cols..n {
            let mut acc = if accumulate { c[i * n + j] } else { 0.0 };
            for (p, av) in ar.iter().enumerate() {
                acc = madd::<FMA>(*av, b[p * n + j], acc);
            }
            c[i * n + j] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tile shape (full, leftover rows, leftover columns), overwriting
    /// and accumulating, against a plain triple loop in f64.
    #[test]
    fn products_match_loops() {
        for (m, k, n) in [(8, 5, 32), (10, 7, 37), (3, 1, 5), (4, 16, 16), (1, 3, 17)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 13) as f32 - 6.0) / 8.0).collect();
            for accumulate in [false, true] {
                let start: Vec<f32> = (0..m * n).map(|i| (i % 3) as f32).collect();
                let mut c = start.clone();
                gemm(m, k, n, &a, &b, &mut c, accumulate);
                for i in 0..m {
                    for j in 0..n {
                        let base = if accumulate { f64::from(start[i * n + j]) } else { 0.0 };
                        let want =
                            base + (0..k).map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j])).sum::<f64>();
                        let got = f64::from(c[i * n + j]);
                        assert!((got - want).abs() < 1e-4, "{m}×{k}×{n} ({i}, {j}): {got} vs {want}");
                    }
                }
            }
        }
    }

    /// An entry is the same sum wherever it falls: the full-tile, leftover-row
    /// and leftover-column paths agree bit for bit.
    #[test]
    fn entries_do_not_depend_on_the_tiling() {
        let (m, k, n) = (5, 9, 19);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![0.0; m * n];
        gemm(m, k, n, &a, &b, &mut c, false);
        for i in 0..m {
            for j in 0..n {
                // Row i alone, column j alone: a 1 × 1 product, the leftover path.
                let col: Vec<f32> = (0..k).map(|p| b[p * n + j]).collect();
                let mut one = [0.0];
                gemm(1, k, 1, &a[i * k..][..k], &col, &mut one, false);
                assert_eq!(one[0].to_bits(), c[i * n + j].to_bits(), "({i}, {j})");
            }
        }
    }
}
