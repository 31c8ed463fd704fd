//! Condensed (upper-triangle, row-major) dissimilarity matrices, as scipy stores them.

use crate::error::{Error, Result};

/// Position of the pair `(i, j)`, `i < j < m`, in a condensed matrix of `m`
/// observations: `m·i − i·(i+1)/2 + j − i − 1` (scipy's order).
#[inline(always)]
pub fn condensed_index(m: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < m);
    m * i - i * (i + 1) / 2 + j - i - 1
}

/// The number of observations `m` whose condensed matrix has `len` entries
/// (`len = m(m−1)/2`). An empty vector stands for a single observation.
///
/// # Errors
/// [`Error::CondensedLength`] if no `m` fits.
pub fn observations_for_len(len: usize) -> Result<usize> {
    // m = (1 + sqrt(1 + 8 len)) / 2, checked exactly in integers.
    let approx = ((1.0 + (1.0 + 8.0 * len as f64).sqrt()) / 2.0).round() as usize;
    for m in approx.saturating_sub(1)..=approx + 1 {
        if m >= 1 && m.checked_mul(m - 1).map(|p| p / 2) == Some(len) {
            return Ok(m);
        }
    }
    Err(Error::CondensedLength { len })
}
