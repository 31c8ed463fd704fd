//! Exact power-of-two rescaling at the linkage entry points.
//!
//! Ward's heights are homogeneous: scaling every row by `s` scales every
//! height by `s²`, scaling every weight by `t` scales every height by `t`, and
//! scaling precomputed dissimilarities by `s` scales the heights by `s`.
//! Multiplying by a power of two is exact in binary floating point (unless the
//! result leaves the normal range), so the entry points bring data of extreme
//! magnitude to about 1 first, cluster there (where no intermediate of the
//! distance pass, the Lance–Williams recurrence or the centroid updates can
//! overflow or underflow), and scale the heights back by the inverse power.
//! The merge order is that of the rescaled data; the heights are the
//! rescaled heights times an exact power of two, or a typed error when the
//! true height is not a normal number of the element type
//! ([`Error::HeightOverflow`], [`Error::HeightUnderflow`]).
//!
//! Data whose largest magnitude lies in `[2^-16, 2^16]` (and weights in
//! `[2^-30, 2^30]`) is left as it is: no copy on the common path.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

use super::dendrogram::Dendrogram;

/// Largest magnitude left unscaled, as a binary exponent, for rows and
/// condensed dissimilarities.
const ROW_RANGE: i32 = 16;
/// The same for weights.
const WEIGHT_RANGE: i32 = 30;

/// `v · 2^k`, exact unless the result is subnormal or overflows (applied in
/// steps of at most `2^60`, which every element type represents).
pub(crate) fn times_pow2<F: Scalar>(v: F, k: i32) -> F {
    let mut v = v;
    let mut k = k;
    while k != 0 {
        let step = k.clamp(-60, 60);
        v = v * F::from_f64_rounded((2.0_f64).powi(step));
        k -= step;
    }
    v
}

/// The binary exponent `e` with `2^(e−1) ≤ v < 2^e` for a finite `v > 0`
/// (within one: only the order of magnitude matters).
fn exponent_of<F: Scalar>(v: F) -> i32 {
    let v = v.to_f64_lossless();
    if v > 0.0 && v.is_finite() {
        // log2 of a positive finite f64 is within [-1075, 1024]
        v.log2().floor() as i32 + 1
    } else {
        0
    }
}

/// The exponent `k` that brings `max` (the largest magnitude, `≥ 0`) into
/// `[½, 1)` (about), or 0 when it already lies within `2^±range` or is 0.
fn shift_for<F: Scalar>(max: F, range: i32) -> i32 {
    if max == F::zero() {
        return 0;
    }
    let e = exponent_of(max);
    if (-range..=range).contains(&e) {
        0
    } else {
        -e
    }
}

/// How heights computed on rescaled data map back: multiply by `2^back`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rescale {
    back: i32,
}

impl Rescale {
    /// Rescales rows (when their largest magnitude is extreme) and weights
    /// (when some weight lies outside `2^±30`, see `scale_weights`). Returns the
    /// scaled copy of the rows (`None`: use the rows as given), and the
    /// mapping of the heights back.
    pub(crate) fn rows_and_weights<F: Scalar>(
        x: ArrayView2<'_, F>,
        weights: &mut [F],
    ) -> (Option<Array2<F>>, Self) {
        // a contiguous finite matrix (the usual case) in one vectorised pass
        let max = x
            .as_slice()
            .and_then(crate::linalg::finite_max_abs)
            .unwrap_or_else(|| x.iter().fold(F::zero(), |m, &v| m.max(v.abs())));
        let k = shift_for(max, ROW_RANGE);
        let rows = (k != 0).then(|| x.mapv(|v| times_pow2(v, k)));
        let j = Self::scale_weights(weights);
        // heights scale by 2^(2k + j); k, j are within ±1100
        (rows, Rescale { back: -(2 * k + j) })
    }

    /// Rescales precomputed dissimilarities (when their largest value is
    /// extreme); heights scale linearly with them. Returns the scaled copy
    /// (`None`: no scaling needed, unless the view is not contiguous, in
    /// which case a plain copy) and the mapping back.
    pub(crate) fn dissimilarities<F: Scalar>(d: ArrayView1<'_, F>) -> (Option<Vec<F>>, Self) {
        let max = d.iter().fold(F::zero(), |m, &v| m.max(v.abs()));
        let k = shift_for(max, ROW_RANGE);
        let copy = if k != 0 {
            Some(d.iter().map(|&v| times_pow2(v, k)).collect())
        } else if d.as_slice().is_none() {
            Some(d.to_vec())
        } else {
            None
        };
        (copy, Rescale { back: -k })
    }

    /// Centres the weights' binary exponents on `2^0` unless every weight
    /// already lies within `2^±30`, so that the Lance–Williams products
    /// (`w·d`, from about `w_min²·d` up to `w_max²·d`) have the most room on
    /// both sides of the normal range. Bringing the largest weight to 1
    /// instead pushed the products of the smallest weights below it, where
    /// `f32` loses digits: weights spread over `1e-12..1e12` gave `f32`
    /// heights up to 57% off at m = 300. Within the centring, the largest
    /// weight stays at most `2^(max_exp − 40)` (so that sums of weights stay
    /// finite), and no weight is scaled down out of the normal range (that
    /// wins where the two conflict, as before: the weights are then left as
    /// they are). Returns the exponent applied.
    fn scale_weights<F: Scalar>(weights: &mut [F]) -> i32 {
        let max = weights.iter().fold(F::zero(), |m, &v| m.max(v));
        let min = weights.iter().fold(F::infinity(), |m, &v| m.min(v));
        if !(min > F::zero() && max.is_finite()) {
            return 0;
        }
        let (hi, lo) = (exponent_of(max), exponent_of(min));
        let inside = |e: i32| (-WEIGHT_RANGE..=WEIGHT_RANGE).contains(&e);
        if inside(hi) && inside(lo) {
            return 0;
        }
        // the largest at most 2^(max_exp − 40), so that sums of up to 2^40
        // weights stay finite (max·2^j < 2^(hi + j)); then never down so far
        // that the smallest leaves the normal range (nor down at all when it
        // is subnormal already): that wins where the two conflict
        let room = exponent_of(F::max_value()) - 40 - hi;
        let floor = exponent_of(F::min_positive_value()) + 1 - lo;
        let j = (-(hi + lo).div_euclid(2)).min(room).max(floor.min(0));
        if j != 0 {
            for w in weights.iter_mut() {
                *w = times_pow2(*w, j);
            }
        }
        j
    }

    /// The dendrogram computed on rescaled data, with its heights scaled
    /// back.
    ///
    /// # Errors
    /// [`Error::HeightOverflow`] if a height is not finite (computed or scaled
    /// back: the true height exceeds the largest finite `F`);
    /// [`Error::HeightUnderflow`] if a positive height scales back below the
    /// smallest normal `F` (it cannot be represented to the element type's
    /// precision).
    pub(crate) fn restore<F: Scalar>(self, tree: Dendrogram<F>) -> Result<Dendrogram<F>> {
        for (merge, h) in tree.distances().into_iter().enumerate() {
            if !h.is_finite() {
                return Err(Error::HeightOverflow { merge });
            }
            if self.back == 0 && h > F::zero() && h < F::min_positive_value() {
                return Err(Error::HeightUnderflow { merge });
            }
        }
        if self.back == 0 {
            return Ok(tree);
        }
        let back = self.back;
        let mut failure = None;
        let tree = tree.map_distances(|merge, h| {
            let v = times_pow2(h, back);
            if failure.is_none() {
                if !v.is_finite() {
                    failure = Some(Error::HeightOverflow { merge });
                } else if h > F::zero() && v < F::min_positive_value() {
                    failure = Some(Error::HeightUnderflow { merge });
                }
            }
            v
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(tree),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_are_exact_across_the_range() {
        assert_eq!(times_pow2(3.0_f32, 100), 3.0 * 2f32.powi(100));
        assert_eq!(times_pow2(times_pow2(1.5_f32, -140), 140), 1.5);
        assert_eq!(times_pow2(1.0_f64, -1074), f64::from_bits(1));
        assert_eq!(times_pow2(1.0_f64, 1024), f64::INFINITY);
        assert_eq!(exponent_of(1.0_f64), 1);
        assert_eq!(exponent_of(0.75_f64), 0);
        assert_eq!(shift_for(1e20_f64, 16), -67);
        assert_eq!(shift_for(1000.0_f64, 16), 0);
    }

    /// Weights spread far on both sides of 1 keep their centre; one-sided
    /// extremes come to about 1; the smallest stays normal and the largest
    /// leaves room for sums.
    #[test]
    fn weights_are_centred_on_one() {
        let mut spread = [1e-12_f32, 3.0, 1e12];
        assert_eq!(Rescale::scale_weights(&mut spread), 0);
        assert_eq!(spread, [1e-12, 3.0, 1e12]);
        let mut high = [1e20_f64, 1e22];
        let j = Rescale::scale_weights(&mut high);
        assert!(
            (0.1..10.0).contains(&(high[0] * high[1]).sqrt()),
            "{j} {high:?}"
        );
        let mut low = [1e-20_f32, 1e-18];
        Rescale::scale_weights(&mut low);
        assert!((0.1..10.0).contains(&(low[0] * low[1]).sqrt()), "{low:?}");
        // wider than the room allows: never scaled down out of the normal
        // range, never up into sums that overflow
        let mut wide = [1e-40_f32, 1e30];
        assert_eq!(Rescale::scale_weights(&mut wide), 0);
        let mut wider = [5e-324_f64, 1e300];
        assert_eq!(Rescale::scale_weights(&mut wider), 0);
        let mut up = [1e-300_f64, 1e-10];
        Rescale::scale_weights(&mut up);
        assert!(
            up[1] <= 2f64.powi(984) && up[0] >= f64::MIN_POSITIVE,
            "{up:?}"
        );
        let mut big = [3e38_f32, 1e38];
        Rescale::scale_weights(&mut big);
        assert!(big[0] <= 2f32.powi(88), "{big:?}");
    }

    #[test]
    fn weights_are_scaled_without_leaving_the_normal_range() {
        let mut w = [1e38_f32, 1e-30];
        let j = Rescale::scale_weights(&mut w);
        assert!(j < 0);
        assert!(w[1] >= f32::MIN_POSITIVE);
        assert!(w[0] < 1e38);
        let mut unit = [1.0_f64, 3.0];
        assert_eq!(Rescale::scale_weights(&mut unit), 0);
        assert_eq!(unit, [1.0, 3.0]);
    }
}
