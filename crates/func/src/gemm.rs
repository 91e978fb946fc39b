//! A safe wrapper of `matrixmultiply::sgemm`: the only unsafe code of
//! rramsim-func (the other audited unsafe module is `rramsim::io::signals`).
//! Every access the call can make is bounds-checked before it is made.

/// A strided view: element `(i, j)` is at `offset + i·rs + j·cs`.
#[derive(Debug, Clone, Copy)]
pub struct Strides {
    pub offset: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Strides {
    pub const fn rows(offset: usize, cols: usize) -> Self {
        Strides { offset, rs: cols, cs: 1 }
    }

    /// The largest index an `r × c` view touches (`None` for an empty view),
    /// saturating at `usize::MAX` (so an overflowing view fails every bound).
    fn last(&self, r: usize, c: usize) -> Option<usize> {
        if r == 0 || c == 0 {
            return None;
        }
        Some(
            self.offset.saturating_add((r - 1).saturating_mul(self.rs)).saturating_add((c - 1).saturating_mul(self.cs)),
        )
    }

    /// Whether the strides fit the `isize` the kernel takes.
    fn fits_isize(&self) -> bool {
        isize::try_from(self.rs).is_ok() && isize::try_from(self.cs).is_ok()
    }
}

/// `C ← A·B + beta·C` with `A` `m × k`, `B` `k × n`, `C` `m × n`; with
/// `beta = 0` C's old values are not read (it need not be initialized).
///
/// Panics if a view reaches outside its slice, or if `C`'s view could alias
/// itself (two `(i, j)` at one index), which would make the result undefined.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    sa: Strides,
    b: &[f32],
    sb: Strides,
    beta: f32,
    c: &mut [f32],
    sc: Strides,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(sa.last(m, k).is_none_or(|l| l < a.len()), "A view out of bounds");
    assert!(sb.last(k, n).is_none_or(|l| l < b.len()), "B view out of bounds");
    assert!(sc.last(m, n).is_some_and(|l| l < c.len()), "C view out of bounds");
    // Distinct (i, j) map to distinct indices when one stride exceeds the span of the other.
    assert!(sa.fits_isize() && sb.fits_isize() && sc.fits_isize(), "a stride exceeds isize::MAX");
    assert!((m == 1 || sc.rs != 0) && (n == 1 || sc.cs != 0), "C view aliases itself");
    assert!(
        m == 1 || n == 1 || sc.rs > (n - 1).saturating_mul(sc.cs) || sc.cs > (m - 1).saturating_mul(sc.rs),
        "C view aliases itself"
    );
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                // As the kernel: beta = 0 overwrites (C need not be initialized).
                let v = &mut c[sc.offset + i * sc.rs + j * sc.cs];
                *v = if beta == 0.0 { 0.0 } else { *v * beta };
            }
        }
        return;
    }
    // SAFETY: the asserts above keep every element the kernel reads in `a` and
    // `b` and every element it writes in `c` within bounds; `c` is borrowed
    // mutably and does not alias `a` or `b`, nor itself.
    #[allow(unsafe_code)]
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr().add(sa.offset),
            sa.rs as isize,
            sa.cs as isize,
            b.as_ptr().add(sb.offset),
            sb.rs as isize,
            sb.cs as isize,
            beta,
            c.as_mut_ptr().add(sc.offset),
            sc.rs as isize,
            sc.cs as isize,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_products_match_loops() {
        // A 2×3, B 3×4 stored transposed with an offset, C written every other column.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut b = vec![0.0; 1 + 12];
        for (i, v) in b.iter_mut().enumerate().skip(1) {
            *v = i as f32;
        }
        let sb = Strides { offset: 1, rs: 1, cs: 3 };
        let mut c = vec![7.0; 2 * 8];
        let sc = Strides { offset: 0, rs: 8, cs: 2 };
        sgemm(2, 3, 4, &a, Strides::rows(0, 3), &b, sb, 0.0, &mut c, sc);
        for i in 0..2 {
            for j in 0..4 {
                let want: f32 = (0..3).map(|k| a[i * 3 + k] * b[1 + k + 3 * j]).sum();
                assert_eq!(c[i * 8 + 2 * j], want);
                assert_eq!(c[i * 8 + 2 * j + 1], 7.0, "untouched");
            }
        }
    }

    #[test]
    fn beta_zero_ignores_stale_values() {
        for k in [0, 2] {
            let mut c = [f32::NAN; 4];
            sgemm(
                2,
                k,
                2,
                &[1.0; 4],
                Strides::rows(0, k),
                &[1.0; 4],
                Strides::rows(0, 2),
                0.0,
                &mut c,
                Strides::rows(0, 2),
            );
            assert_eq!(c, [k as f32; 4]);
        }
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn views_are_checked() {
        let mut c = [0.0; 3];
        sgemm(
            2,
            1,
            2,
            &[1.0, 2.0],
            Strides::rows(0, 1),
            &[1.0, 2.0],
            Strides::rows(0, 2),
            0.0,
            &mut c,
            Strides::rows(0, 2),
        );
    }
}
