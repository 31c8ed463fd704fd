//! The configuration of a Ward linkage: which path computes it, how much
//! memory the matrix path may take, and whether its distance pass runs in
//! parallel. Configuration only: the driver is in [`linkage`](mod@super::linkage).

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// How [`Ward`] computes a linkage. Both paths give the same dendrogram (up to
/// rounding, and up to the order of exactly tied merges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Strategy {
    /// [`Matrix`](Strategy::Matrix) when its condensed matrix fits the memory
    /// budget, [`Lean`](Strategy::Lean) otherwise. The default.
    #[default]
    Auto,
    /// The matrix path: all `m(m−1)/2` squared distances at once through the
    /// Gram matrix (AVX-512 register tiles where the CPU has them, ndarray's
    /// GEMM elsewhere), then Ward with cached nearest neighbours over
    /// the condensed matrix. The fastest; O(m²) memory (one condensed matrix of
    /// the element type). Refused with [`Error::MemoryBudgetExceeded`] when the
    /// matrix does not fit the budget.
    Matrix,
    /// The memory-lean path: the nearest-neighbour chain on cluster centroids
    /// and weights, recomputing dissimilarities as it goes. O(m·d) memory,
    /// O(m²·d) time.
    Lean,
}

/// Ward clustering with a choice of [`Strategy`] and a memory budget.
///
/// The free functions [`linkage`](fn@super::linkage) and
/// [`linkage_weighted`](super::linkage_weighted) are `Ward::new()` with the
/// defaults: [`Strategy::Auto`] and a budget of
/// [`Ward::DEFAULT_MEMORY_BUDGET`] bytes (256 MiB: the matrix path up to 8 192
/// rows in `f64`, 11 585 in `f32`).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ward::{Strategy, Ward};
///
/// let x = array![[0.0_f64, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 2.0]];
/// let fast = Ward::new().linkage(x.view())?;
/// let lean = Ward::new().strategy(Strategy::Lean).linkage(x.view())?;
/// // equal here; in general the two paths agree up to rounding, so compare
/// // heights with a relative tolerance rather than with `==`
/// assert_eq!(fast.distances(), lean.distances());
///
/// // a budget too small for the matrix: Auto falls back to the lean path ...
/// let tiny = Ward::new().memory_budget(16);
/// assert_eq!(tiny.resolve::<f64>(4)?, Strategy::Lean);
/// assert_eq!(tiny.linkage(x.view())?.distances(), lean.distances());
/// // ... and a forced matrix path is refused
/// assert!(tiny.strategy(Strategy::Matrix).linkage(x.view()).is_err());
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ward {
    strategy: Strategy,
    memory_budget: usize,
    #[cfg_attr(feature = "serde", serde(default))]
    parallel: bool,
}

impl Default for Ward {
    fn default() -> Self {
        Ward::new()
    }
}

impl Ward {
    /// The default memory budget of the matrix path: 256 MiB.
    pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

    /// [`Strategy::Auto`] with [`DEFAULT_MEMORY_BUDGET`](Self::DEFAULT_MEMORY_BUDGET).
    pub const fn new() -> Self {
        Ward {
            strategy: Strategy::Auto,
            memory_budget: Self::DEFAULT_MEMORY_BUDGET,
            parallel: false,
        }
    }

    /// Sets the strategy.
    pub const fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the memory budget in bytes for the condensed matrix of the matrix
    /// path (see [`matrix_bytes`](Self::matrix_bytes)).
    pub const fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Spreads the matrix path's distance pass over rayon's threads, on every
    /// CPU: its blocks of rows (each the product of a row panel with the rows
    /// after it, by the AVX-512 tiles or ndarray's GEMM) are independent and
    /// each is computed exactly as the serial pass computes it, so the result
    /// is the same bit for bit. The clustering itself stays sequential, and
    /// the lean path ignores the option. Off by default: when many linkages
    /// already run in parallel (one per user, as in
    /// [`PinnerSage::profiles`](crate::PinnerSage::profiles)), threads inside
    /// each only add overhead. Memory: with the GEMM, one scratch block (at
    /// most 16 MiB) per worker instead of one in all.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::Array2;
    /// use pinnersage::ward::Ward;
    ///
    /// let x = Array2::from_shape_fn((300, 8), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + 0.01 * i as f64);
    /// let serial = Ward::new().linkage(x.view())?;
    /// let parallel = Ward::new().parallel(true).linkage(x.view())?;
    /// assert_eq!(serial, parallel);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    #[cfg(feature = "parallel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
    pub const fn parallel(mut self, on: bool) -> Self {
        self.parallel = on;
        self
    }

    /// Whether the distance computation runs on rayon's threads (see
    /// `parallel`, with the `parallel` feature).
    pub const fn configured_parallel(&self) -> bool {
        self.parallel
    }

    /// The configured strategy.
    pub const fn configured_strategy(&self) -> Strategy {
        self.strategy
    }

    /// The configured memory budget in bytes.
    pub const fn configured_memory_budget(&self) -> usize {
        self.memory_budget
    }

    /// Bytes of the condensed matrix of `m` observations in `F`:
    /// `m(m−1)/2 · size_of::<F>()`, or `None` if that overflows `usize`.
    ///
    /// The matrix path needs this plus O(m·d) (the rows, centred and packed
    /// for the product kernel), and without the AVX-512 kernel a GEMM scratch
    /// buffer of at most 16 MiB (one per worker with `parallel`).
    /// `m` counts distinct rows: repeated rows are
    /// collapsed into weighted ones first (see [`linkage`](fn@super::linkage)).
    pub fn matrix_bytes<F: Scalar>(m: usize) -> Option<usize> {
        let pairs = if m.is_multiple_of(2) {
            (m / 2).checked_mul(m.saturating_sub(1))
        } else {
            m.checked_mul((m.saturating_sub(1)) / 2)
        }?;
        pairs.checked_mul(core::mem::size_of::<F>())
    }

    /// The path that a linkage of `m` rows of `F` takes: [`Strategy::Matrix`] or
    /// [`Strategy::Lean`] (never `Auto`).
    ///
    /// # Errors
    /// [`Error::MemoryBudgetExceeded`] if the strategy is
    /// [`Strategy::Matrix`] and the matrix does not fit the budget.
    pub fn resolve<F: Scalar>(&self, m: usize) -> Result<Strategy> {
        let needed = Self::matrix_bytes::<F>(m);
        let fits = needed.is_some_and(|b| b <= self.memory_budget);
        match self.strategy {
            Strategy::Lean => Ok(Strategy::Lean),
            Strategy::Auto if fits => Ok(Strategy::Matrix),
            Strategy::Auto => Ok(Strategy::Lean),
            Strategy::Matrix if fits => Ok(Strategy::Matrix),
            Strategy::Matrix => Err(Error::MemoryBudgetExceeded {
                observations: m,
                needed: needed.unwrap_or(usize::MAX),
                budget: self.memory_budget,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_switches_at_the_budget() {
        let bytes = Ward::matrix_bytes::<f64>(100).unwrap();
        assert_eq!(bytes, 4950 * 8);
        assert_eq!(Ward::matrix_bytes::<f32>(101), Some(5050 * 4));
        let at = Ward::new().memory_budget(bytes);
        assert_eq!(at.resolve::<f64>(100), Ok(Strategy::Matrix));
        assert_eq!(at.resolve::<f64>(101), Ok(Strategy::Lean));
        assert_eq!(at.resolve::<f32>(101), Ok(Strategy::Matrix));
        assert_eq!(Ward::new().resolve::<f64>(8192), Ok(Strategy::Matrix));
        assert_eq!(Ward::new().resolve::<f64>(8193), Ok(Strategy::Lean));
        assert_eq!(Ward::new().resolve::<f32>(11_585), Ok(Strategy::Matrix));
        assert_eq!(Ward::new().resolve::<f32>(11_586), Ok(Strategy::Lean));
        assert_eq!(
            Ward::new().strategy(Strategy::Lean).resolve::<f64>(2),
            Ok(Strategy::Lean)
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip_and_older_records_without_parallel() {
        let ward = Ward::new().strategy(Strategy::Lean).memory_budget(1234);
        let json = serde_json::to_string(&ward).unwrap();
        assert_eq!(serde_json::from_str::<Ward>(&json).unwrap(), ward);
        // records written before the `parallel` option still load
        let old = r#"{"strategy":"Matrix","memory_budget":99}"#;
        let loaded: Ward = serde_json::from_str(old).unwrap();
        assert_eq!(loaded.configured_strategy(), Strategy::Matrix);
        assert_eq!(loaded.configured_memory_budget(), 99);
        assert!(!loaded.configured_parallel());
    }

    #[cfg(feature = "parallel")]
    #[test]
    fn parallel_option_is_recorded() {
        assert!(Ward::new().parallel(true).configured_parallel());
        assert!(!Ward::new().configured_parallel());
    }

    #[test]
    fn overflowing_sizes_never_choose_the_matrix() {
        assert_eq!(Ward::matrix_bytes::<f64>(usize::MAX), None);
        let all = Ward::new().memory_budget(usize::MAX);
        assert_eq!(all.resolve::<f64>(usize::MAX), Ok(Strategy::Lean));
    }
}
