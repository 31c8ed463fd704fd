//! Per-user diagnostics computed from the history alone (before the
//! evaluation day), to tell in advance whether several embeddings are likely
//! to beat one: a production system can use them to pick the representation
//! per user.

use ndarray::{Array1, ArrayView2};

use super::error::EvalResult;
use crate::ward::linkage_weighted;

/// Spread of a history's embeddings: `1 − ‖Σ_i w_i x_i / Σ_i w_i‖` for unit
/// rows `x_i` with action weights `w_i` (one minus the mean resultant
/// length). 0 when every action is on the same direction, close to 1 when
/// the embeddings point every which way. Returns 0 for no rows or zero total
/// weight.
///
/// # Complexity
/// O(m·d).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::eval::diagnostic::spread;
/// let same = array![[1.0, 0.0], [1.0, 0.0]];
/// assert_eq!(spread(same.view(), &[1.0, 3.0]), 0.0);
/// let opposite = array![[1.0, 0.0], [-1.0, 0.0]];
/// assert_eq!(spread(opposite.view(), &[1.0, 1.0]), 1.0);
/// ```
pub fn spread(x: ArrayView2<'_, f64>, weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    if x.nrows() == 0 || total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let mut mean = Array1::<f64>::zeros(x.ncols());
    for (row, &w) in x.outer_iter().zip(weights) {
        mean.scaled_add(w / total, &row);
    }
    (1.0 - mean.dot(&mean).sqrt()).clamp(0.0, 1.0)
}

/// Number of interests PinnerSage finds in a history: the Ward clusters of
/// the distinct items' embeddings `x` (weights = action counts) cut at
/// threshold `alpha` (the paper's squared convention).
///
/// # Errors
/// The errors of [`linkage_weighted`] and
/// [`Dendrogram::cut`](crate::ward::Dendrogram::cut).
///
/// # Complexity
/// That of Ward's linkage: O(m²·d).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::eval::diagnostic::interest_count;
/// let x = array![[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]];
/// assert_eq!(interest_count(x.view(), &[1.0, 1.0, 1.0], 0.5)?, 2);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn interest_count(x: ArrayView2<'_, f64>, weights: &[f64], alpha: f64) -> EvalResult<usize> {
    let labels = ward_labels(x, weights, alpha)?;
    Ok(labels.iter().max().map_or(0, |m| m + 1))
}

/// Ward labels at `alpha` (a single row gets label 0).
pub(crate) fn ward_labels(
    x: ArrayView2<'_, f64>,
    weights: &[f64],
    alpha: f64,
) -> EvalResult<Vec<usize>> {
    // one row is still validated (its values, weight and α), as two would be
    if x.nrows() == 0 {
        return Ok(Vec::new());
    }
    let tree = linkage_weighted(x, ndarray::ArrayView1::from(weights))?;
    Ok(tree.cut(alpha)?)
}

/// The bucket of a number of clusters used to split results: `"1"`, `"2-3"`,
/// `"4-7"` or `"8+"`.
pub fn cluster_bucket(clusters: usize) -> &'static str {
    match clusters {
        0 | 1 => "1",
        2..=3 => "2-3",
        4..=7 => "4-7",
        _ => "8+",
    }
}
