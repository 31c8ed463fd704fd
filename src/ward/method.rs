//! Ward's method as formulas: the initial dissimilarity of two weighted rows,
//! the Lance–Williams update of a merge, and the merged centroid. Every path
//! (the generic algorithm on the condensed matrix, the condensed entry point,
//! the distance pass and the nearest-neighbour chain on centroids) computes
//! them with these expressions, so that they round alike.
//!
//! With `w` the cluster weights (sizes, for unit rows):
//!
//! ```text
//! d(i, j)      = 2·w_i·w_j/(w_i + w_j)·‖x_i − x_j‖²                  (two rows)
//! d(A∪B, K)    = ((w_A+w_K)·d(A,K) + (w_B+w_K)·d(B,K) − w_K·d(A,B))
//!                / (w_A+w_B+w_K)                                  (Lance–Williams)
//!              = 2·w_{A∪B}·w_K/(w_{A∪B}+w_K)·‖μ_{A∪B} − μ_K‖²
//! μ_{A∪B}      = μ_B + (μ_A − μ_B)·w_A/(w_A + w_B)
//! ```
//!
//! (Lance and Williams 1967; Müllner 2011, *Modern hierarchical,
//! agglomerative clustering algorithms*, arXiv:1109.2378, Table 1.)

use crate::scalar::Scalar;

/// Ward's dissimilarity of two rows of weights `wi` and `wj` at squared
/// distance `d`: `2·wi·wj/(wi + wj)·d`, and exactly `d` for two unit weights.
///
/// Computed as `d·(2·lo)·(hi/(lo + hi))` with `lo ≤ hi` the two weights: the
/// factor `hi/(lo + hi)` lies in `[½, 1]` and `2·lo` is at most twice the
/// smaller weight, so no intermediate exceeds the result by more than a
/// factor 2 (the product `d·2·wi·wj` overflowed for weights near
/// `√F::MAX` although the result was finite).
#[inline(always)]
pub(crate) fn weighted_dissimilarity<F: Scalar>(d: F, wi: F, wj: F) -> F {
    if wi == F::one() && wj == F::one() {
        d
    } else {
        let (lo, hi) = if wi <= wj { (wi, wj) } else { (wj, wi) };
        d * ((lo + lo) * (hi / (lo + hi)))
    }
}

/// The Lance–Williams Ward update `d(A∪B, K)` from `d(A, K)`, `d(B, K)`,
/// `d(A, B)` and the weights, clamped at zero (rounding can push a tiny
/// result below it).
///
/// Where the products `(w_A + w_K)·d(A, K)`, … overflow although the result
/// is finite (large weights), the weights are divided by their total first
/// (coefficients in `[0, 1]`, so no term exceeds the dissimilarities
/// themselves); the direct form is kept otherwise, as it rounds less. An
/// infinite `d(A, K)` or `d(B, K)` (a retired slot, or a dissimilarity that
/// overflowed) gives `+∞`, as the formula does with positive weights; the
/// divided form would give `0·∞` where a weight ratio underflows to 0
/// (weights some 300 orders of magnitude apart in `f64`), and a retired slot
/// would come back as a cluster at distance 0.
#[inline(always)]
pub(crate) fn lance_williams<F: Scalar>(d_ak: F, d_bk: F, d_ab: F, wa: F, wb: F, wk: F) -> F {
    let total = wa + wb + wk;
    let mut v = ((wa + wk) * d_ak + (wb + wk) * d_bk - wk * d_ab) / total;
    if !v.is_finite() {
        if d_ak == F::infinity() || d_bk == F::infinity() {
            return F::infinity();
        }
        v = ((wa + wk) / total) * d_ak + ((wb + wk) / total) * d_bk - (wk / total) * d_ab;
    }
    if v > F::zero() {
        v
    } else {
        F::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_dissimilarity_is_wards_factor() {
        assert_eq!(weighted_dissimilarity(3.0_f64, 1.0, 1.0), 3.0);
        // 2·2·3/(2+3) = 2.4
        assert!((weighted_dissimilarity(1.0_f64, 2.0, 3.0) - 2.4).abs() < 1e-15);
        assert_eq!(weighted_dissimilarity(5.0_f32, 1.0, 1.0), 5.0);
        assert_eq!(weighted_dissimilarity(0.0_f64, 7.0, 0.5), 0.0);
    }

    #[test]
    fn lance_williams_equals_the_centroid_form() {
        // A = {0}, B = {2}, K = {5} on a line, unit rows: the merged cluster
        // {0, 2} has centroid 1, so d = 2·2·1/3·(5 − 1)² = 64/3
        let d = lance_williams(25.0_f64, 9.0, 4.0, 1.0, 1.0, 1.0);
        assert!((d - 64.0 / 3.0).abs() < 1e-13);
        assert!((weighted_dissimilarity(16.0, 2.0, 1.0) - d).abs() < 1e-13);
        // rounding below zero is clamped
        assert_eq!(lance_williams(0.0_f64, 0.0, 1.0, 1.0, 1.0, 1.0), 0.0);
    }

    /// Products of large weights and dissimilarities overflowed although
    /// the result was finite (issue 12); checked against f64 references.
    #[test]
    fn no_intermediate_overflows() {
        // f32 weights [1e37, 1] at squared distance 71.2336: ≈ 142.47 (was ∞)
        let d = weighted_dissimilarity(71.2336_f32, 1e37, 1.0);
        let want = 2.0 * 1e37 / (1e37 + 1.0) * f64::from(71.2336_f32);
        assert!((f64::from(d) - want).abs() < 1e-6 * want, "{d}");
        // f64 weights [1e144, 1e163]: ≈ 7.9e145 (was ∞)
        let d = weighted_dissimilarity(39.69_f64, 1e144, 1e163);
        assert!((d / (2e144 * 39.69) - 1.0).abs() < 1e-15, "{d:e}");
        // tiny weights no longer underflow to 0
        let d = weighted_dissimilarity(1.0_f64, 1e-300, 1e-200);
        assert!((d / 2e-300 - 1.0).abs() < 1e-15, "{d:e}");
        // Lance–Williams with weights near f32::MAX / 4
        let w = 8e37_f32;
        let v = lance_williams(2.0_f32, 2.0, 1.0, w, w, w);
        // ((2w)·2 + (2w)·2 − w·1)/(3w) = 7/3
        assert!((v - 7.0 / 3.0).abs() < 1e-6, "{v}");
    }
}
