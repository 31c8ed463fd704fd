//! The configurable Ward entry point: which path computes the linkage, and how
//! much memory the matrix path may take.

use ndarray::{ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

use super::dendrogram::Dendrogram;
use super::duplicates::Duplicates;
use super::gram::fill_condensed;
use super::kernels::squared_distance;
use super::lean::ward_lean;
use super::linkage::{validate_matrix, validate_weights};
use super::matrix::ward_on_matrix;
use super::ordering::fastmap_order;

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
/// use ndarray::array;
/// use pinnersage::ward::{Strategy, Ward};
///
/// let x = array![[0.0_f64, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 2.0]];
/// let fast = Ward::new().linkage(x.view())?;
/// let lean = Ward::new().strategy(Strategy::Lean).linkage(x.view())?;
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

    /// Spreads the matrix path's distance computation (with the AVX-512
    /// product kernel) over rayon's threads. The result is the same bit for
    /// bit; the clustering itself stays sequential. Off by default: when many
    /// linkages already run in parallel (one per user, as in
    /// [`PinnerSage::profiles`](crate::PinnerSage::profiles)), threads inside
    /// each only add overhead.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
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
    /// buffer of at most 16 MiB. `m` counts distinct rows: repeated rows are
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

    /// Ward clustering of the rows of `x`; see [`linkage`](fn@super::linkage) for
    /// the conventions.
    ///
    /// # Errors
    /// As [`linkage`](fn@super::linkage), plus [`Error::MemoryBudgetExceeded`]
    /// (see [`resolve`](Self::resolve)).
    ///
    /// # Complexity
    /// Matrix path: O(m²·d) time for the distances (GEMM-bound) plus O(m²) in
    /// practice for the clustering; O(m²) space (one condensed matrix of `F`)
    /// plus O(m·d). Lean path: O(m²·d) time, O(m·d) space.
    pub fn linkage<F: Scalar>(&self, x: ArrayView2<'_, F>) -> Result<Dendrogram<F>> {
        validate_matrix(x)?;
        self.run(x, vec![F::one(); x.nrows()], false)
    }

    /// Ward clustering of weighted rows; see
    /// [`linkage_weighted`](super::linkage_weighted) for the conventions.
    ///
    /// # Errors
    /// As [`linkage_weighted`](super::linkage_weighted), plus
    /// [`Error::MemoryBudgetExceeded`] (see [`resolve`](Self::resolve)).
    ///
    /// # Complexity
    /// As [`linkage`](Self::linkage).
    pub fn linkage_weighted<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: ArrayView1<'_, F>,
    ) -> Result<Dendrogram<F>> {
        validate_matrix(x)?;
        let weights = validate_weights(x.nrows(), weights)?;
        self.run(x, weights, true)
    }

    fn run<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: Vec<F>,
        weighted: bool,
    ) -> Result<Dendrogram<F>> {
        if let Some(dup) = Duplicates::find(x) {
            if let Some(group_weights) = dup.group_weights(&weights) {
                let distinct = x.select(Axis(0), &dup.representatives());
                let groups = self.run_distinct(distinct.view(), group_weights, true)?;
                return Ok(dup.expand(&groups));
            }
        }
        self.run_distinct(x, weights, weighted)
    }

    /// [`run`](Self::run) on rows that are all distinct (or whose repeats
    /// could not be collapsed).
    fn run_distinct<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: Vec<F>,
        weighted: bool,
    ) -> Result<Dendrogram<F>> {
        let m = x.nrows();
        match self.resolve::<F>(m)? {
            Strategy::Lean => Ok(ward_lean(x, weights)),
            _ => {
                let order = order_rows(x);
                let weights: Vec<F> = order.iter().map(|&i| weights[i]).collect();
                let mut d = vec![F::zero(); m * m.saturating_sub(1) / 2];
                let minima = fill_condensed(
                    x,
                    &order,
                    weighted.then_some(weights.as_slice()),
                    &mut d,
                    self.parallel,
                );
                Ok(ward_on_matrix(m, d, weights, order, minima))
            }
        }
    }
}

/// The FastMap order of the rows of `x` by squared Euclidean distance (the
/// same order [`linkage_condensed`](super::linkage_condensed) derives from
/// the corresponding condensed matrix).
fn order_rows<F: Scalar>(x: ArrayView2<'_, F>) -> Vec<usize> {
    let standard = x.as_standard_layout();
    let flat: &[F] = standard.as_slice().unwrap_or(&[]);
    let d = x.ncols();
    fastmap_order(x.nrows(), |i, j| {
        squared_distance(&flat[i * d..(i + 1) * d], &flat[j * d..(j + 1) * d])
    })
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

    #[test]
    fn repeated_rows_are_collapsed_before_the_budget_applies() {
        // 3000 rows, 2 distinct: the forced matrix path needs one distance
        let x =
            ndarray::Array2::<f64>::from_shape_fn((3000, 2), |(i, j)| ((i % 2) * (j + 1)) as f64);
        let ward = Ward::new().strategy(Strategy::Matrix).memory_budget(8);
        let tree = ward.linkage(x.view()).unwrap();
        assert_eq!(tree.len(), 2999);
        let d = tree.distances();
        assert!(d[..2998].iter().all(|&h| h == 0.0));
        // the two groups of 1500 at squared distance 5: 2·1500·1500/3000·5
        assert_eq!(d[2998], 7500.0);
        assert_eq!(
            tree.cut_k(2).unwrap(),
            (0..3000).map(|i| i % 2).collect::<Vec<_>>()
        );
        let lean = Ward::new()
            .strategy(Strategy::Lean)
            .linkage(x.view())
            .unwrap();
        assert_eq!(lean.distances(), d);
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

    #[test]
    fn forced_matrix_over_budget_is_refused() {
        let x = ndarray::Array2::<f64>::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f64);
        let ward = Ward::new().strategy(Strategy::Matrix).memory_budget(359);
        assert_eq!(
            ward.linkage(x.view()),
            Err(Error::MemoryBudgetExceeded {
                observations: 10,
                needed: 360,
                budget: 359
            })
        );
        assert!(ward.memory_budget(360).linkage(x.view()).is_ok());
    }
}
