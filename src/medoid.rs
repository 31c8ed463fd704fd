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
    // on values scaled by an exact power of two instead
    let max = candidates
        .iter()
        .flat_map(|(_, x)| x.iter().map(|v| v.to_f64_lossless().abs()))
        .chain(centroid.iter().map(|v| v.abs()))
        .fold(0.0_f64, f64::max);
    let shift =
        if max > 0.0 && max.is_finite() && !(2f64.powi(-400)..=2f64.powi(400)).contains(&max) {
            -(max.log2().floor() as i32)
        } else {
            0
        };
    let scaled_centroid: Vec<f64> = centroid.iter().map(|&c| times_pow2(c, shift)).collect();
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
}

/// The weighted centroid `Σ w·x / Σ w` of points added one by one, summed in
/// `f64` in the order added (the one place the crate computes it).
///
/// Where a product `w·x` or the sum overflows `f64` (values near `f64::MAX`,
/// or large weights on large values), a running weighted mean kept alongside
/// (`μ ← μ·(1 − r) + x·r`, `r = w / W`, a convex combination that cannot
/// overflow) is returned instead.
#[derive(Debug, Clone)]
pub(crate) struct WeightedCentroid {
    sum: Vec<f64>,
    mean: Vec<f64>,
    total: f64,
}

impl WeightedCentroid {
    /// An empty sum in dimension `d`.
    pub fn new(d: usize) -> Self {
        WeightedCentroid {
            sum: vec![0.0; d],
            mean: vec![0.0; d],
            total: 0.0,
        }
    }

    /// Adds point `x` (of length `d`) with weight `w`.
    pub fn add<'a, T: Scalar>(&mut self, w: f64, x: impl IntoIterator<Item = &'a T>) {
        self.total += w;
        let r = if self.total > 0.0 {
            w / self.total
        } else {
            0.0
        };
        for ((a, m), v) in self.sum.iter_mut().zip(self.mean.iter_mut()).zip(x) {
            let v = v.to_f64_lossless();
            *a += w * v;
            *m = *m * (1.0 - r) + v * r;
        }
    }

    /// The centroid (zeros if the total weight is 0) and the total weight.
    pub fn finish(mut self) -> (Vec<f64>, f64) {
        if self.total > 0.0 {
            if self.sum.iter().all(|a| a.is_finite()) {
                let total = self.total;
                self.sum.iter_mut().for_each(|a| *a /= total);
            } else {
                return (self.mean, self.total);
            }
        }
        (self.sum, self.total)
    }
}

/// `‖a·2^shift − b‖²` in `f64` (the medoid score, `b` already scaled; Ward's
/// `F`-typed kernel is `linalg::squared_distance`).
fn squared_distance<F: Scalar>(a: ArrayView1<'_, F>, b: &[f64], shift: i32) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let t = times_pow2(x.to_f64_lossless(), shift) - y;
            t * t
        })
        .sum()
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
