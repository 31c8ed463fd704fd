//! Medoids: the member of a cluster that represents it.
//!
//! The medoid of a cluster `C` with weights `w` (action counts) is
//!
//! ```text
//! medoid(C) = argmin_{m ∈ C} Σ_{j ∈ C} w_j·‖x_m − x_j‖²
//! ```
//!
//! a real item, unlike the centroid. Because
//! `Σ_j w_j‖x_m − x_j‖² = W·‖x_m − μ‖² + Σ_j w_j‖x_j − μ‖²` with `W = Σ_j w_j` and
//! `μ` the weighted centroid, and the second term does not depend on `m`, the
//! medoid is exactly the member nearest the weighted centroid. That costs
//! O(|C|·d) instead of the O(|C|²·d) of the definition.
//!
//! **The tie rule.** Candidates at exactly the same computed distance from the
//! centroid (duplicated embeddings, symmetric configurations) go to the
//! **smallest key**: the smallest item id in a profile, the lowest row index
//! in [`medoid`]. It is one rule for every caller — a batch profile, an online
//! update re-clustering its touched clusters over every member, and this
//! function —
//! and it needs nothing but the ids, so it does not depend on input order or
//! on what a stored profile keeps.

use ndarray::{ArrayView1, ArrayView2};

use crate::error::Result;
use crate::scalar::simd::vectorised;
use crate::scalar::Scalar;
use crate::ward::times_pow2;

/// The index of the (weighted) medoid of the rows of `x`.
///
/// Minimises `Σ_j w_j·‖x_m − x_j‖²` over the rows `m` (all weights 1 when
/// `weights` is `None`) through the centroid identity in the
/// [module docs](self). Arithmetic is in `f64` whatever `F` is.
///
/// **Ties** (rows at exactly the same computed distance from the centroid, for
/// instance duplicated rows) go to the lowest row index: the crate's one tie
/// rule (see the [module docs](self)), which profiles apply with item ids as
/// keys.
///
/// # Arguments
/// * `x` — an `n × d` matrix, `n ≥ 1`, `d ≥ 1`, finite values;
/// * `weights` — optional, `n` finite positive weights.
///
/// # Errors
/// [`Error::EmptyInput`](crate::Error::EmptyInput),
/// [`Error::ZeroDimension`](crate::Error::ZeroDimension),
/// [`Error::NonFiniteValue`](crate::Error::NonFiniteValue),
/// [`Error::WeightLengthMismatch`](crate::Error::WeightLengthMismatch),
/// [`Error::InvalidWeight`](crate::Error::InvalidWeight),
/// [`Error::WeightSumOverflow`](crate::Error::WeightSumOverflow) (the rules of
/// [`ward::linkage_weighted`](crate::ward::linkage_weighted)).
///
/// # Complexity
/// O(n·d) time, O(d) extra space.
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::medoid::medoid;
///
/// let x = array![[0.0_f64, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]];
/// assert_eq!(medoid(x.view(), None)?, 2); // centroid 3.25: row 2 is nearest
/// // a heavy weight on row 0 pulls the medoid there
/// assert_eq!(medoid(x.view(), Some(array![30.0, 1.0, 1.0, 1.0].view()))?, 0);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn medoid<F: Scalar>(
    x: ArrayView2<'_, F>,
    weights: Option<ArrayView1<'_, F>>,
) -> Result<usize> {
    crate::validate::matrix(x)?;
    let n = x.nrows();
    let w: Vec<f64> = match weights {
        None => vec![1.0; n],
        Some(w) => crate::validate::weights(n, w)?
            .into_iter()
            .map(Scalar::to_f64_lossless)
            .collect(),
    };
    let mut acc = WeightedCentroid::new(x.ncols());
    for (r, &wr) in w.iter().enumerate() {
        acc.add(wr, x.row(r));
    }
    let (centroid, _) = acc.finish();
    // rows are their own keys: ties go to the lowest index
    Ok(nearest_to(&centroid, x.rows().into_iter().enumerate()).unwrap_or(0))
}

/// The position (in iteration order) of the candidate nearest `centroid`,
/// `None` if there is none: **the crate's one medoid rule**. Each candidate is
/// a key and an embedding; ties in `‖x − μ‖²` (computed in `f64`) go to the
/// smallest key. Profiles pass item ids as keys, [`medoid`] row indices.
///
/// O(candidates·d) time.
pub(crate) fn nearest_to<'a, K: Ord, F: Scalar>(
    centroid: &[f64],
    candidates: impl IntoIterator<Item = (K, ArrayView1<'a, F>)>,
) -> Option<usize> {
    let candidates: Vec<(K, ArrayView1<'a, F>)> = candidates.into_iter().collect();
    // squared distances of values beyond about 2^±500 overflow or underflow
    // f64 (every score ∞ or 0: the first or smallest key won): compare them
    // on values scaled by an exact power of two instead. Where `F`'s own
    // range lies within 2^±400 (`f32`: nonzero magnitudes in [2^-149, 2^128];
    // the centroid, a convex combination, is no larger) the scaling is never
    // needed and the pass over the values is skipped.
    let shift = if range_needs_no_scaling::<F>() {
        0
    } else {
        let max = candidates
            .iter()
            .map(|(_, x)| max_abs(*x))
            .chain(centroid.iter().map(|v| v.abs()))
            .fold(0.0_f64, f64::max);
        if max > 0.0 && max.is_finite() && !(2f64.powi(-400)..=2f64.powi(400)).contains(&max) {
            -(max.log2().floor() as i32)
        } else {
            0
        }
    };
    let scaled_centroid: Vec<f64> = centroid.iter().map(|&c| times_pow2(c, shift)).collect();
    vectorised(
        #[inline(always)]
        || {
            let mut best: Option<(usize, f64, &K)> = None;
            for (pos, (key, x)) in candidates.iter().enumerate() {
                let s = squared_distance(*x, &scaled_centroid, shift);
                let better = match &best {
                    None => true,
                    Some((_, bs, bk)) => s < *bs || (s == *bs && key < *bk),
                };
                if better {
                    best = Some((pos, s, key));
                }
            }
            best.map(|(pos, _, _)| pos)
        },
    )
}

/// The weighted centroid `Σ w·x / Σ w` of points added one by one, summed in
/// `f64` in the order added (the one place the crate computes it).
///
/// Where a product `w·x` or the sum overflows `f64` (values near `f64::MAX`,
/// or large weights on large values), a running weighted mean kept alongside
/// (`μ ← μ·(1 − r) + x·r`, `r = w / W`, a convex combination that cannot
/// overflow) is returned instead. The running mean is only kept once the sum
/// could overflow: while `W·max|F| < f64::MAX/4` every `|Σ w·x|` stays below
/// that (for `f32` rows, until the total weight reaches about 1e269, i.e.
/// always in practice; for `f64` rows from the first point on), and the
/// running mean starts from the exact-sum centroid `Σ w·x / W` at that point.
#[derive(Debug, Clone)]
pub(crate) struct WeightedCentroid {
    sum: Vec<f64>,
    mean: Vec<f64>,
    total: f64,
    /// Whether `mean` is kept (the sum could overflow from here on).
    tracking: bool,
}

impl WeightedCentroid {
    /// An empty sum in dimension `d`.
    pub fn new(d: usize) -> Self {
        WeightedCentroid {
            sum: vec![0.0; d],
            mean: vec![0.0; d],
            total: 0.0,
            tracking: false,
        }
    }

    /// Adds point `x` (of length `d`) with weight `w`.
    pub fn add<'a, T: Scalar>(&mut self, w: f64, x: impl Into<ArrayView1<'a, T>>) {
        let x: ArrayView1<'a, T> = x.into();
        let before = self.total;
        self.total += w;
        if !self.tracking {
            // NaN or ∞ totals compare false: tracked too
            let safe = self.total * T::max_value().to_f64_lossless() < f64::MAX / 4.0;
            if !safe {
                self.tracking = true;
                if before > 0.0 {
                    // the sum is finite here (the bound held so far)
                    for (m, a) in self.mean.iter_mut().zip(&self.sum) {
                        *m = a / before;
                    }
                }
            }
        }
        if self.tracking {
            let r = if self.total > 0.0 {
                w / self.total
            } else {
                0.0
            };
            for ((a, m), v) in self.sum.iter_mut().zip(self.mean.iter_mut()).zip(x.iter()) {
                let v = v.to_f64_lossless();
                *a += w * v;
                *m = *m * (1.0 - r) + v * r;
            }
        } else if let Some(x) = x.as_slice() {
            // contiguous rows (every caller's): a loop the compiler vectorises
            let sum = &mut self.sum;
            vectorised(
                #[inline(always)]
                || {
                    for (a, v) in sum.iter_mut().zip(x) {
                        *a += w * v.to_f64_lossless();
                    }
                },
            );
        } else {
            for (a, v) in self.sum.iter_mut().zip(x.iter()) {
                *a += w * v.to_f64_lossless();
            }
        }
    }

    /// The centroid (zeros if the total weight is 0) and the total weight.
    pub fn finish(mut self) -> (Vec<f64>, f64) {
        if self.total > 0.0 {
            if self.tracking && !self.sum.iter().all(|a| a.is_finite()) {
                return (self.mean, self.total);
            }
            let total = self.total;
            self.sum.iter_mut().for_each(|a| *a /= total);
        }
        (self.sum, self.total)
    }
}

/// `true` if every nonzero finite `F` lies within `[2^-400, 2^400]` in
/// magnitude (then [`nearest_to`] never rescales).
fn range_needs_no_scaling<F: Scalar>() -> bool {
    let largest = F::max_value().to_f64_lossless();
    let smallest_subnormal =
        F::min_positive_value().to_f64_lossless() * F::epsilon().to_f64_lossless();
    largest <= 2f64.powi(400) && smallest_subnormal >= 2f64.powi(-400)
}

/// `max |x_k|` in `f64` (0 for an empty row).
fn max_abs<F: Scalar>(x: ArrayView1<'_, F>) -> f64 {
    x.iter()
        .map(|v| v.to_f64_lossless().abs())
        .fold(0.0_f64, f64::max)
}

/// `‖a·2^shift − b‖²` in `f64` (the medoid score, `b` already scaled; Ward's
/// `F`-typed kernel is `linalg::squared_distance`), summed in four
/// interleaved partial sums (element `k` into sum `k mod 4`, then
/// `(s0 + s1) + (s2 + s3)`): one summation order for every caller, four
/// times shorter a dependency chain than a single running sum.
#[inline(always)]
fn squared_distance<F: Scalar>(a: ArrayView1<'_, F>, b: &[f64], shift: i32) -> f64 {
    let mut acc = [0.0_f64; 4];
    match a.as_slice() {
        Some(a) if shift == 0 => {
            let (ha, ta) = a.split_at(a.len() - a.len() % 4);
            for (x, y) in ha.chunks_exact(4).zip(b.chunks_exact(4)) {
                for k in 0..4 {
                    let t = x[k].to_f64_lossless() - y[k];
                    acc[k] += t * t;
                }
            }
            for (k, (x, y)) in ta.iter().zip(&b[ha.len()..]).enumerate() {
                let t = x.to_f64_lossless() - y;
                acc[k] += t * t;
            }
        }
        _ => {
            for (k, (x, y)) in a.iter().zip(b).enumerate() {
                let t = times_pow2(x.to_f64_lossless(), shift) - y;
                acc[k % 4] += t * t;
            }
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use ndarray::{array, Array1, Array2};
    use proptest::prelude::*;

    /// The definition: Σ_j w_j ‖x_m − x_j‖², by brute force.
    fn objective(x: &Array2<f64>, w: &[f64], m: usize) -> f64 {
        (0..x.nrows())
            .map(|j| {
                let d: f64 = x
                    .row(m)
                    .iter()
                    .zip(x.row(j))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                w[j] * d
            })
            .sum()
    }

    #[test]
    fn single_row_is_its_own_medoid() {
        assert_eq!(medoid(array![[3.0_f32, 4.0]].view(), None).unwrap(), 0);
    }

    #[test]
    fn ties_go_to_the_lowest_index() {
        // symmetric: rows 0 and 1 are equally far from the centroid
        let x = array![[-1.0_f64], [1.0]];
        assert_eq!(medoid(x.view(), None).unwrap(), 0);
        let x = array![[5.0_f64, 1.0], [0.0, 0.0], [0.0, 0.0], [-5.0, -1.0]];
        assert_eq!(medoid(x.view(), None).unwrap(), 1);
    }

    #[test]
    fn ties_go_to_the_smallest_key_whatever_the_order() {
        let x = array![[-1.0_f64], [1.0], [3.0]];
        let centroid = [0.0];
        let rows = || x.rows().into_iter();
        // keys in reverse: the tie between rows 0 and 1 goes to the smaller key
        let keys = ["c", "b", "a"];
        assert_eq!(nearest_to(&centroid, keys.iter().zip(rows())), Some(1));
        let keys = ["a", "b", "c"];
        assert_eq!(nearest_to(&centroid, keys.iter().zip(rows())), Some(0));
        // a strictly nearer candidate wins whatever its key
        assert_eq!(nearest_to(&[2.9], keys.iter().zip(rows())), Some(2));
        let none = std::iter::empty::<(u8, ArrayView1<'_, f64>)>();
        assert_eq!(nearest_to(&centroid, none), None);
    }

    /// `f32` rows keep no running mean until the sum could overflow; from
    /// the switch on the running mean starts at the exact-sum centroid.
    #[test]
    fn the_running_mean_starts_where_the_sum_could_overflow() {
        let big = [3e38_f32];
        // safe weights: the plain sum, exactly (1·3e38 + 1·1)/2 in f64
        let mut acc = WeightedCentroid::new(1);
        acc.add(1.0, &[1.0_f32][..]);
        acc.add(1.0, &big[..]);
        assert!(!acc.tracking);
        let (c, _) = acc.finish();
        assert_eq!(c, vec![(3e38_f32 as f64 + 1.0) / 2.0]);
        // weights whose sum overflows f64: the running mean takes over
        let mut acc = WeightedCentroid::new(1);
        acc.add(1.0, &big[..]);
        acc.add(1e300, &big[..]);
        acc.add(1e300, &[-3e38_f32][..]);
        assert!(acc.tracking);
        let (c, total) = acc.finish();
        let want = 3e38_f32 as f64 / (2e300 + 1.0);
        assert!(total.is_finite() && c[0].is_finite(), "{c:?}");
        assert!((c[0] - want).abs() <= 1e-6 * 3e38, "{} vs {want}", c[0]);
        // f64 rows track from the first point on
        let mut acc = WeightedCentroid::new(1);
        acc.add(1.0, &[1.0_f64][..]);
        assert!(acc.tracking);
    }

    /// The four-way partial sums of the score equal a plain sum on exactly
    /// representable values, contiguous or not, and shifted or not.
    #[test]
    fn medoid_scores_sum_in_one_order() {
        let x = array![[1.0_f64, 2.0, 3.0, 4.0, 5.0], [0.5, 0.5, 0.5, 0.5, 0.5]];
        let b = [0.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(
            squared_distance(x.row(0), &b, 0),
            1.0 + 4.0 + 9.0 + 16.0 + 16.0
        );
        let t = x.t().as_standard_layout().into_owned();
        let col = t.column(0);
        assert!(col.as_slice().is_none());
        assert_eq!(squared_distance(col, &b, 0), 46.0);
        assert_eq!(squared_distance(x.row(1), &[0.0; 5], 1), 5.0);
    }

    #[test]
    fn error_empty() {
        let x = Array2::<f64>::zeros((0, 2));
        assert_eq!(medoid(x.view(), None), Err(Error::EmptyInput));
    }

    #[test]
    fn error_zero_dimension() {
        let x = Array2::<f64>::zeros((3, 0));
        assert_eq!(
            medoid(x.view(), None),
            Err(Error::ZeroDimension { rows: 3 })
        );
    }

    #[test]
    fn error_non_finite() {
        let x = array![[0.0_f64, 1.0], [f64::NEG_INFINITY, 0.0]];
        assert_eq!(
            medoid(x.view(), None),
            Err(Error::NonFiniteValue { row: 1, column: 0 })
        );
    }

    #[test]
    fn error_weight_length() {
        let x = array![[0.0_f64], [1.0]];
        let w = array![1.0];
        assert_eq!(
            medoid(x.view(), Some(w.view())),
            Err(Error::WeightLengthMismatch {
                rows: 2,
                weights: 1
            })
        );
    }

    #[test]
    fn error_invalid_weight() {
        let x = array![[0.0_f64], [1.0], [2.0]];
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let w = array![1.0, 1.0, bad];
            match medoid(x.view(), Some(w.view())) {
                Err(Error::InvalidWeight { row: 2, .. }) => {}
                other => panic!("weight {bad}: {other:?}"),
            }
        }
    }

    proptest! {
        /// The centroid shortcut finds a minimiser of the weighted definition
        /// (within rounding: the chosen objective is within 1e-9 relative of
        /// the brute-force minimum).
        #[test]
        fn medoid_minimises_weighted_sum_of_squares(
            (n, d, values, weights) in (1usize..25, 1usize..6).prop_flat_map(|(n, d)| (
                Just(n),
                Just(d),
                proptest::collection::vec(-10.0f64..10.0, n * d),
                proptest::collection::vec(1u32..6, n),
            ))
        ) {
            let x = Array2::from_shape_vec((n, d), values).unwrap();
            let w: Vec<f64> = weights.iter().map(|&v| f64::from(v)).collect();
            let m = medoid(x.view(), Some(Array1::from(w.clone()).view())).unwrap();
            let best = (0..n).map(|j| objective(&x, &w, j)).fold(f64::INFINITY, f64::min);
            let got = objective(&x, &w, m);
            prop_assert!(got <= best + 1e-9 * best.abs().max(1.0), "got {got}, best {best}");
        }

        /// Integer weights behave as repeated rows.
        #[test]
        fn weights_equal_repetition(
            (n, values, weights) in (1usize..12).prop_flat_map(|n| (
                Just(n),
                proptest::collection::vec(-100i32..100, n * 2),
                proptest::collection::vec(1usize..4, n),
            ))
        ) {
            let x = Array2::from_shape_vec((n, 2), values.iter().map(|&v| f64::from(v)).collect()).unwrap();
            let w: Vec<f64> = weights.iter().map(|&v| v as f64).collect();
            let weighted = medoid(x.view(), Some(Array1::from(w.clone()).view())).unwrap();
            let mut expanded = Vec::new();
            let mut origin = Vec::new();
            for (r, &k) in weights.iter().enumerate() {
                for _ in 0..k {
                    expanded.extend(x.row(r).iter().copied());
                    origin.push(r);
                }
            }
            let xe = Array2::from_shape_vec((origin.len(), 2), expanded).unwrap();
            let e = medoid(xe.view(), None).unwrap();
            // same objective value (the medoid row may differ only among exact ties)
            let ones = vec![1.0; origin.len()];
            let a = objective(&x, &w, weighted);
            let b = objective(&xe, &ones, e);
            prop_assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0));
        }
    }
}
