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

use ndarray::{ArrayView1, ArrayView2};

use crate::error::Result;
use crate::scalar::Scalar;

/// The index of the (weighted) medoid of the rows of `x`.
///
/// Minimises `Σ_j w_j·‖x_m − x_j‖²` over the rows `m` (all weights 1 when
/// `weights` is `None`) through the centroid identity in the
/// [module docs](self). Arithmetic is in `f64` whatever `F` is.
///
/// **Ties** (rows at exactly the same computed distance from the centroid, for
/// instance duplicated rows) go to the lowest row index. The profile
/// ([`PinnerSage::profile`](crate::PinnerSage::profile)) breaks ties its own
/// documented way.
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
/// use ndarray::array;
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
    crate::ward::validate_matrix(x)?;
    let n = x.nrows();
    let w: Vec<f64> = match weights {
        None => vec![1.0; n],
        Some(w) => crate::ward::validate_weights(n, w)?
            .into_iter()
            .map(Scalar::to_f64_lossless)
            .collect(),
    };
    let rows: Vec<usize> = (0..n).collect();
    let scores = centroid_scores(x, &w, &rows).scores;
    Ok(argmin_first(&scores))
}

/// The weighted centroid of some rows and each row's squared distance to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CentroidScores {
    /// `μ = Σ w_j x_j / Σ w_j`, in `f64`.
    pub centroid: Vec<f64>,
    /// `‖x_m − μ‖²` for each listed row, in the order of `rows`.
    pub scores: Vec<f64>,
}

/// Centroid of `x[rows]` with weights `weights[rows]`, and the squared distance
/// of each of those rows to it. `rows` must be non-empty, weights positive.
///
/// O(|rows|·d) time.
pub(crate) fn centroid_scores<F: Scalar>(
    x: ArrayView2<'_, F>,
    weights: &[f64],
    rows: &[usize],
) -> CentroidScores {
    let mut acc = WeightedCentroid::new(x.ncols());
    for &r in rows {
        acc.add(weights[r], x.row(r));
    }
    let (centroid, _) = acc.finish();
    let scores = rows
        .iter()
        .map(|&r| squared_distance(x.row(r), &centroid))
        .collect();
    CentroidScores { centroid, scores }
}

/// The weighted centroid `Σ w·x / Σ w` of points added one by one, summed in
/// `f64` in the order added (the one place the crate computes it).
#[derive(Debug, Clone)]
pub(crate) struct WeightedCentroid {
    sum: Vec<f64>,
    total: f64,
}

impl WeightedCentroid {
    /// An empty sum in dimension `d`.
    pub fn new(d: usize) -> Self {
        WeightedCentroid {
            sum: vec![0.0; d],
            total: 0.0,
        }
    }

    /// Adds point `x` (of length `d`) with weight `w`.
    pub fn add<'a, T: Scalar>(&mut self, w: f64, x: impl IntoIterator<Item = &'a T>) {
        self.total += w;
        for (a, v) in self.sum.iter_mut().zip(x) {
            *a += w * v.to_f64_lossless();
        }
    }

    /// The centroid (zeros if the total weight is 0) and the total weight.
    pub fn finish(mut self) -> (Vec<f64>, f64) {
        if self.total > 0.0 {
            let total = self.total;
            self.sum.iter_mut().for_each(|a| *a /= total);
        }
        (self.sum, self.total)
    }
}

/// `‖a − b‖²` in `f64`.
pub(crate) fn squared_distance<F: Scalar>(a: ArrayView1<'_, F>, b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let t = x.to_f64_lossless() - y;
            t * t
        })
        .sum()
}

/// Index of the first minimum (scores are finite).
fn argmin_first(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate().skip(1) {
        if s < scores[best] {
            best = i;
        }
    }
    best
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
