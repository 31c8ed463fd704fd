//! Condensed (upper-triangle, row-major) dissimilarity matrices, as scipy stores them.

#![warn(clippy::arithmetic_side_effects)]

use crate::error::{Error, Result};

/// Position of the pair `(i, j)`, `i < j < m`, in a condensed matrix of `m`
/// observations: `m·i − i·(i+1)/2 + j − i − 1` (scipy's order).
///
/// # Errors
/// [`Error::InvalidPair`] unless `i < j < m` (checked in every build: the
/// formula wraps for other arguments), or if the position exceeds `usize`.
///
/// # Example
/// ```
/// use pinnersage::ward::condensed_index;
/// // the pairs of 4 observations: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
/// assert_eq!(condensed_index(4, 1, 3)?, 4);
/// assert!(condensed_index(3, 0, 0).is_err());
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn condensed_index(m: usize, i: usize, j: usize) -> Result<usize> {
    let invalid = Error::InvalidPair { m, i, j };
    if !(i < j && j < m) {
        return Err(invalid);
    }
    // i < j < m, so i + 1 ≤ m, i·(i+1)/2 ≤ m·i and j − i − 1 ≥ 0: only the
    // products can overflow, and they are checked
    let pairs_before = i
        .checked_mul(i.saturating_add(1))
        .map(|p| p / 2)
        .and_then(|t| m.checked_mul(i).and_then(|mi| mi.checked_sub(t)));
    pairs_before
        .and_then(|p| p.checked_add(j.saturating_sub(i).saturating_sub(1)))
        .ok_or(invalid)
}

/// [`condensed_index`] for indices the crate's own loops guarantee
/// (`i < j < m` with `m(m−1)/2` entries in memory, so nothing overflows).
#[inline(always)]
#[allow(clippy::arithmetic_side_effects)] // indices from the crate's own loops
pub(crate) fn condensed_index_unchecked(m: usize, i: usize, j: usize) -> usize {
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
    for m in approx.saturating_sub(1)..=approx.saturating_add(1) {
        if m >= 1 && m.checked_mul(m.saturating_sub(1)).map(|p| p / 2) == Some(len) {
            return Ok(m);
        }
    }
    Err(Error::CondensedLength { len })
}
