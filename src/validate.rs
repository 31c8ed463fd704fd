//! Input checks shared by the crate: shapes, finiteness and weights of the
//! matrices every algorithm takes. Each rule returns its own
//! [`Error`] variant, naming the offending row and column.

#![warn(clippy::arithmetic_side_effects)]

use ndarray::{ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// The position of the first NaN or infinite value of `values`, if any.
#[inline]
pub(crate) fn first_non_finite<'a, F: Scalar>(
    values: impl IntoIterator<Item = &'a F>,
) -> Option<usize> {
    values.into_iter().position(|v| !v.is_finite())
}

/// Checks the shape and finiteness of an embedding matrix: at least one row
/// ([`Error::EmptyInput`]), at least one column ([`Error::ZeroDimension`]),
/// every value finite ([`Error::NonFiniteValue`], naming the first offending
/// row and column in row-major order).
///
/// # Complexity
/// O(m·d) time, O(1) space.
pub(crate) fn matrix<F: Scalar>(x: ArrayView2<'_, F>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::EmptyInput);
    }
    if x.ncols() == 0 {
        return Err(Error::ZeroDimension { rows: x.nrows() });
    }
    finite(x)
}

/// Checks that every value of `x` is finite ([`Error::NonFiniteValue`],
/// naming the first offending row and column in row-major order); any shape,
/// including no rows.
///
/// # Complexity
/// O(m·d) time, O(1) space.
pub(crate) fn finite<F: Scalar>(x: ArrayView2<'_, F>) -> Result<()> {
    let first_bad = match x.as_slice() {
        // contiguous row-major: one flat scan (much faster than row iterators)
        Some(flat) => first_non_finite(flat)
            .and_then(|k| k.checked_div(x.ncols()).zip(k.checked_rem(x.ncols()))),
        None => x
            .rows()
            .into_iter()
            .enumerate()
            .find_map(|(row, r)| first_non_finite(r).map(|column| (row, column))),
    };
    match first_bad {
        Some((row, column)) => Err(Error::NonFiniteValue { row, column }),
        None => Ok(()),
    }
}

/// Checks a weight vector against `m` rows and returns it as an owned `Vec`:
/// one weight per row ([`Error::WeightLengthMismatch`]), each finite and
/// positive ([`Error::InvalidWeight`]), a finite total
/// ([`Error::WeightSumOverflow`]).
///
/// # Complexity
/// O(m) time and space.
pub(crate) fn weights<F: Scalar>(m: usize, weights: ArrayView1<'_, F>) -> Result<Vec<F>> {
    if weights.len() != m {
        return Err(Error::WeightLengthMismatch {
            rows: m,
            weights: weights.len(),
        });
    }
    for (row, &w) in weights.iter().enumerate() {
        if !w.is_finite() || w <= F::zero() {
            return Err(Error::InvalidWeight {
                row,
                value: w.to_f64_lossless(),
            });
        }
    }
    // every cluster's weight is at most the total: a finite total keeps them
    // all finite (and lets repeated rows always be collapsed)
    #[allow(clippy::arithmetic_side_effects)] // floats: overflow is checked below
    let total = weights.iter().fold(F::zero(), |s, &w| s + w);
    if !total.is_finite() {
        return Err(Error::WeightSumOverflow);
    }
    Ok(weights.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn matrix_rules_each_have_their_error() {
        assert_eq!(
            matrix(Array2::<f64>::zeros((0, 3)).view()),
            Err(Error::EmptyInput)
        );
        assert_eq!(
            matrix(Array2::<f32>::zeros((2, 0)).view()),
            Err(Error::ZeroDimension { rows: 2 })
        );
        let x = array![[1.0, 2.0], [3.0, f64::NAN]];
        assert_eq!(
            matrix(x.view()),
            Err(Error::NonFiniteValue { row: 1, column: 1 })
        );
        // a column-major view reports the same position
        assert_eq!(
            matrix(x.t().to_owned().t()),
            Err(Error::NonFiniteValue { row: 1, column: 1 })
        );
        assert_eq!(matrix(array![[1.0_f32]].view()), Ok(()));
        // finiteness alone accepts any shape
        assert_eq!(finite(Array2::<f64>::zeros((0, 3)).view()), Ok(()));
        assert_eq!(
            finite(array![[f32::INFINITY]].view()),
            Err(Error::NonFiniteValue { row: 0, column: 0 })
        );
    }

    #[test]
    fn weight_rules_each_have_their_error() {
        assert_eq!(
            weights(3, array![1.0_f64, 2.0].view()),
            Err(Error::WeightLengthMismatch {
                rows: 3,
                weights: 2
            })
        );
        assert_eq!(
            weights(2, array![1.0_f64, 0.0].view()),
            Err(Error::InvalidWeight { row: 1, value: 0.0 })
        );
        assert_eq!(
            weights(2, array![f32::MAX, f32::MAX].view()),
            Err(Error::WeightSumOverflow)
        );
        assert_eq!(weights(2, array![0.5_f64, 2.0].view()), Ok(vec![0.5, 2.0]));
        assert_eq!(first_non_finite(&[1.0_f64, f64::INFINITY]), Some(1));
    }
}
