//! The entry points and the driver: Ward linkage of an embedding matrix or of
//! precomputed dissimilarities. The driver validates, collapses repeated rows
//! ([`duplicates`](super::duplicates)), resolves the path from the
//! [`Ward`] configuration, orders the rows ([`ordering`](super::ordering)) and
//! runs the distance pass ([`distances`](super::distances)) and Müllner's
//! generic algorithm ([`generic`](super::generic)), or the nearest-neighbour
//! chain ([`nn_chain`](super::nn_chain)).

use ndarray::{ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::linalg::squared_distance;
use crate::scalar::simd::vectorised;
use crate::scalar::Scalar;
use crate::validate;

use super::condensed::{condensed_index_unchecked as condensed_index, observations_for_len};
use super::dendrogram::Dendrogram;
use super::distances::{fill_condensed, RowMinima};
use super::duplicates::Duplicates;
use super::generic::generic_linkage;
use super::method::weighted_dissimilarity;
use super::nn_chain::nn_chain_linkage;
use super::options::{Strategy, Ward};
use super::ordering::{keeps_row_order, permuted_condensed, seriation_order};
use super::rescale::Rescale;
use super::storage::CondensedStorage;

/// Ward agglomerative clustering of the rows of `x` (one observation per row).
///
/// Merge distances are in the paper's convention: two single rows merge at
/// `‖x_i − x_j‖²`, clusters at `2·|A||B|/(|A|+|B|)·‖μ_A − μ_B‖²`. scipy's
/// `linkage(x, 'ward')` reports the square root of the same numbers (see
/// [`Dendrogram::to_scipy`]).
///
/// # Arguments
/// * `x` — an `m × d` matrix, `m ≥ 1`, `d ≥ 1`, all values finite.
///
/// # Returns
/// A [`Dendrogram`] with `m − 1` merges sorted by distance.
///
/// # Errors
/// [`Error::EmptyInput`], [`Error::ZeroDimension`], [`Error::NonFiniteValue`]
/// (naming the first offending row and column).
///
/// Uses [`Ward::new()`](Ward::new): the matrix path while its condensed matrix
/// fits [`Ward::DEFAULT_MEMORY_BUDGET`], the memory-lean path above it.
///
/// Repeated rows (equal in every coordinate) are collapsed first into one
/// weighted row each, as [`linkage_weighted`] would take them: the copies
/// merge first, at distance 0, then the distinct rows cluster with their
/// multiplicities as weights. The dendrogram is the same, and time and memory
/// follow the number of distinct rows.
///
/// # Complexity
/// With `u ≤ m` distinct rows: O(m·d + m log m) to find them, then on the
/// matrix path O(u²·d) time for the distances (GEMM-bound) plus O(u²) in
/// practice for the clustering, O(u²) space (one condensed matrix of `F`) plus
/// O(m·d); on the lean path O(u²·d) time, O(m·d) space.
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ward::linkage;
///
/// let x = array![[0.0_f64, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 2.0]];
/// let tree = linkage(x.view())?;
/// let d = tree.distances();
/// assert_eq!(d[0], 1.0); // rows 0 and 1: ‖x0 − x1‖² = 1
/// assert_eq!(d[1], 4.0); // rows 2 and 3: ‖x2 − x3‖² = 4
/// assert_eq!(tree.cut_k(2)?, vec![0, 0, 1, 1]);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn linkage<F: Scalar>(x: ArrayView2<'_, F>) -> Result<Dendrogram<F>> {
    Ward::new().linkage(x)
}

/// Ward clustering of weighted rows: a row of weight `w` behaves exactly as `w`
/// coincident observations (weights need not be integers).
///
/// This lets a history with repeated items collapse into one row per distinct
/// item: the dendrogram equals the one of the expanded matrix with the
/// zero-distance merges of the copies removed. Two rows start at
/// `2·w_i·w_j/(w_i+w_j)·‖x_i − x_j‖²`. [`Merge::size`](super::Merge::size)
/// counts rows, not weight.
///
/// Repeated rows are collapsed as in [`linkage`], their weights summed
/// (they cannot overflow: the weights' total is checked to be finite).
///
/// # Errors
/// As [`linkage`], plus [`Error::WeightLengthMismatch`] and
/// [`Error::InvalidWeight`] (zero, negative or non-finite) and
/// [`Error::WeightSumOverflow`] (the weights sum past the largest finite `F`).
///
/// # Complexity
/// As [`linkage`].
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ward::{linkage, linkage_weighted};
///
/// let distinct = array![[0.0_f64, 0.0], [3.0, 0.0], [3.0, 4.0]];
/// let expanded = array![[0.0_f64, 0.0], [0.0, 0.0], [3.0, 0.0], [3.0, 4.0]];
/// let weighted = linkage_weighted(distinct.view(), array![2.0, 1.0, 1.0].view())?;
/// let plain = linkage(expanded.view())?;
/// // the expanded tree has one extra merge at distance 0 (the two copies)
/// assert_eq!(plain.distances()[1..], weighted.distances()[..]);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn linkage_weighted<F: Scalar>(
    x: ArrayView2<'_, F>,
    weights: ArrayView1<'_, F>,
) -> Result<Dendrogram<F>> {
    Ward::new().linkage_weighted(x, weights)
}

/// Ward clustering from precomputed dissimilarities, for callers with their own
/// distances.
///
/// `condensed` holds `d(i, j)` for every pair `i < j` in scipy's condensed
/// order (row-major upper triangle, as `scipy.spatial.distance.pdist` returns),
/// **in the paper's convention**: for the result to be Ward's method these are
/// squared Euclidean distances. Pass `pdist(X)**2` where you would pass
/// `pdist(X)` to scipy. Other dissimilarities run the same Lance–Williams
/// recurrence (no geometric meaning is then promised).
///
/// An empty vector stands for a single observation and gives an empty dendrogram.
///
/// Interchangeable observations (`d(i, j) = 0` and `d(i, k) = d(j, k)` for
/// every other `k`: for squared distances, identical rows) are collapsed as
/// [`linkage`](fn@linkage) collapses repeated rows, so both entry points give the
/// same dendrogram for the same data.
///
/// # Errors
/// [`Error::CondensedLength`] if the length is not `m(m−1)/2` for any `m`;
/// [`Error::InvalidDissimilarity`] for a negative or non-finite entry;
/// [`Error::AllocationFailed`] if the reordered copy cannot be allocated.
///
/// # Complexity
/// O(m²) time in practice (see [`Strategy::Matrix`]);
/// the input is copied once, reordered (O(m²) space; on Linux a copy of
/// 32 MiB or more lives on huge pages, as the matrix path's does).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// // three points on a line at 0, 1 and 3: squared distances 1, 9, 4
/// let tree = pinnersage::ward::linkage_condensed(array![1.0_f64, 9.0, 4.0].view())?;
/// assert_eq!(tree.distances(), vec![1.0, 25.0 / 3.0]);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn linkage_condensed<F: Scalar>(condensed: ArrayView1<'_, F>) -> Result<Dendrogram<F>> {
    let m = observations_for_len(condensed.len())?;
    for (index, &value) in condensed.iter().enumerate() {
        if !value.is_finite() || value < F::zero() {
            return Err(Error::InvalidDissimilarity {
                index,
                value: value.to_f64_lossless(),
            });
        }
    }
    // extreme magnitudes are brought to about 1 by an exact power of two
    // (a copy only then, or for a non-contiguous view)
    let (owned, scale) = Rescale::dissimilarities(condensed);
    let given: &[F] = match (&owned, condensed.as_slice()) {
        (Some(v), _) => v,
        (None, Some(s)) => s,
        (None, None) => &[],
    };
    let ones = vec![F::one(); m];
    if let Some(dup) = Duplicates::find_in_condensed(m, given) {
        if let Some(weights) = dup.group_weights(&ones) {
            let reps = dup.representatives();
            let u = reps.len();
            let mut distinct = Vec::with_capacity(u * (u - 1) / 2);
            for (a, &ra) in reps.iter().enumerate() {
                for &rb in &reps[a + 1..] {
                    distinct.push(given[condensed_index(m, ra, rb)]);
                }
            }
            let groups = ward_on_condensed(u, &distinct, weights)?;
            return scale.restore(dup.expand(&groups));
        }
    }
    scale.restore(ward_on_condensed(m, given, ones)?)
}

/// Ward on a condensed matrix of `m` observations of weights `w`: `given`
/// holds the plain dissimilarities; in the seriation order, the entry of two
/// slots of weights `w_i`, `w_j` is scaled by `2·w_i·w_j/(w_i + w_j)`
/// exactly as the embedding-matrix path scales its distances, so both entry
/// points compute the same dendrogram from the same numbers.
///
/// # Errors
/// [`Error::AllocationFailed`] if the reordered copy cannot be allocated.
fn ward_on_condensed<F: Scalar>(m: usize, given: &[F], w: Vec<F>) -> Result<Dendrogram<F>> {
    let order = if keeps_row_order::<F>(m) {
        (0..m).collect()
    } else {
        seriation_order(m, |i, j| {
            let (lo, hi) = if i < j { (i, j) } else { (j, i) };
            given[condensed_index(m, lo, hi)]
        })
    };
    let mut d = CondensedStorage::collect(given.len(), permuted_condensed(m, given, &order))?;
    let w: Vec<F> = order.iter().map(|&i| w[i]).collect();
    if w.iter().any(|&v| v != F::one()) {
        // the slice once: each deref of the storage matches its variant
        let dm: &mut [F] = &mut d;
        let mut k = 0;
        for i in 0..m {
            for j in i + 1..m {
                dm[k] = weighted_dissimilarity(dm[k], w[i], w[j]);
                k += 1;
            }
        }
    }
    let minima = RowMinima::of_condensed(m, &d);
    Ok(generic_linkage(m, d, w, order, minima))
}

impl Ward {
    /// Ward clustering of the rows of `x`; see [`linkage`](fn@linkage) for
    /// the conventions.
    ///
    /// # Errors
    /// As [`linkage`](fn@linkage), plus [`Error::MemoryBudgetExceeded`]
    /// (see [`resolve`](Self::resolve)).
    ///
    /// # Complexity
    /// Matrix path: O(m²·d) time for the distances (GEMM-bound) plus O(m²) in
    /// practice for the clustering; O(m²) space (one condensed matrix of `F`)
    /// plus O(m·d). Lean path: O(m²·d) time, O(m·d) space.
    pub fn linkage<F: Scalar>(&self, x: ArrayView2<'_, F>) -> Result<Dendrogram<F>> {
        validate::matrix(x)?;
        self.run_rescaled(x, vec![F::one(); x.nrows()], false)
    }

    /// Ward clustering of weighted rows; see
    /// [`linkage_weighted`] for the conventions.
    ///
    /// # Errors
    /// As [`linkage_weighted`], plus
    /// [`Error::MemoryBudgetExceeded`] (see [`resolve`](Self::resolve)).
    ///
    /// # Complexity
    /// As [`linkage`](Self::linkage).
    pub fn linkage_weighted<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: ArrayView1<'_, F>,
    ) -> Result<Dendrogram<F>> {
        validate::matrix(x)?;
        let weights = validate::weights(x.nrows(), weights)?;
        self.run_rescaled(x, weights, true)
    }

    /// [`run`](Self::run) on rows (and weights) brought to a magnitude of
    /// about 1 by an exact power of two when theirs is extreme, with the
    /// heights scaled back ([`Rescale`]).
    fn run_rescaled<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        mut weights: Vec<F>,
        weighted: bool,
    ) -> Result<Dendrogram<F>> {
        let (rows, scale) = Rescale::rows_and_weights(x, &mut weights);
        let tree = match &rows {
            Some(scaled) => self.run(scaled.view(), weights, weighted)?,
            None => self.run(x, weights, weighted)?,
        };
        scale.restore(tree)
    }

    /// [`linkage_weighted`](Self::linkage_weighted) of rows the caller has
    /// already checked: every value finite and every weight finite and
    /// positive with a finite total (a profile's prepared rows and action
    /// counts). Only the shape is checked here ([`Error::EmptyInput`],
    /// [`Error::ZeroDimension`]); the result is the same as
    /// `linkage_weighted`'s.
    ///
    /// # Complexity
    /// As [`linkage_weighted`](Self::linkage_weighted), without its O(m·d)
    /// validation pass.
    pub(crate) fn linkage_weighted_checked<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: Vec<F>,
    ) -> Result<Dendrogram<F>> {
        if x.nrows() == 0 {
            return Err(Error::EmptyInput);
        }
        if x.ncols() == 0 {
            return Err(Error::ZeroDimension { rows: x.nrows() });
        }
        debug_assert!(validate::finite(x).is_ok());
        debug_assert_eq!(weights.len(), x.nrows());
        debug_assert!(weights.iter().all(|w| w.is_finite() && *w > F::zero()));
        self.run_rescaled(x, weights, true)
    }

    fn run<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: Vec<F>,
        weighted: bool,
    ) -> Result<Dendrogram<F>> {
        // On the matrix path the distance pass gives identical rows (and only
        // them, short of underflow) an exact zero: look for repeated rows
        // only when a zero shows up. Without one, this is exactly
        // `run_distinct` (no repeats found); with one, the pass is dropped
        // and the repeats are collapsed first, as below.
        if let Ok(Strategy::Matrix) = self.resolve::<F>(x.nrows()) {
            if let Some(tree) = self.matrix_path(x, &weights, weighted, true)? {
                return Ok(tree);
            }
        }
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
            Strategy::Lean => Ok(nn_chain_linkage(x, weights)),
            _ => Ok(self
                .matrix_path(x, &weights, weighted, false)?
                .unwrap_or_else(|| Dendrogram::from_unsorted(m, &[]))),
        }
    }

    /// The matrix path: orders the rows, fills the condensed matrix and runs
    /// the generic algorithm. With `zero_check`, returns `Ok(None)` (nothing
    /// done) if some dissimilarity is exactly zero (repeated rows, which the
    /// caller collapses first); without, always `Some`.
    fn matrix_path<F: Scalar>(
        &self,
        x: ArrayView2<'_, F>,
        weights: &[F],
        weighted: bool,
        zero_check: bool,
    ) -> Result<Option<Dendrogram<F>>> {
        let m = x.nrows();
        let order = order_rows(x);
        let weights: Vec<F> = order.iter().map(|&i| weights[i]).collect();
        let mut d = zeroed_condensed::<F>(m)?;
        let minima = fill_condensed(
            x,
            &order,
            weighted.then_some(weights.as_slice()),
            &mut d,
            self.configured_parallel(),
        );
        if zero_check && minima.dist.contains(&F::zero()) {
            return Ok(None);
        }
        Ok(Some(generic_linkage(m, d, weights, order, minima)))
    }
}

/// A zeroed condensed matrix of `m` observations, allocated fallibly: a
/// size the budget allows but the system refuses is
/// [`Error::AllocationFailed`], not an abort ([`CondensedStorage::zeroed`];
/// on Linux a large one is mapped with huge pages).
fn zeroed_condensed<F: Scalar>(m: usize) -> Result<CondensedStorage<F>> {
    let len = m.checked_mul(m.saturating_sub(1)).map(|p| p / 2);
    let Some(len) = len else {
        return Err(Error::AllocationFailed { bytes: usize::MAX });
    };
    CondensedStorage::zeroed(len)
}

/// The seriation order ([`seriation_order`]) of the rows of `x` by squared
/// Euclidean distance (the
/// same order [`linkage_condensed`] derives from
/// the corresponding condensed matrix), or the given order for a small
/// matrix ([`keeps_row_order`]).
fn order_rows<F: Scalar>(x: ArrayView2<'_, F>) -> Vec<usize> {
    let m = x.nrows();
    if keeps_row_order::<F>(m) {
        return (0..m).collect();
    }
    let standard = x.as_standard_layout();
    let flat: &[F] = standard.as_slice().unwrap_or(&[]);
    let d = x.ncols();
    vectorised(
        #[inline(always)]
        || {
            seriation_order(
                x.nrows(),
                #[inline(always)]
                |i, j| squared_distance(&flat[i * d..(i + 1) * d], &flat[j * d..(j + 1) * d]),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The checked entry (the profile's) gives `linkage_weighted`'s result,
    /// with and without repeated rows (which the matrix path detects by an
    /// exact zero), and with distinct rows whose distance underflows to zero
    /// (a zero that is no repeat); it still refuses the shapes it must.
    #[test]
    fn checked_entry_matches_the_validated_one() {
        let ward = Ward::new();
        let base = ndarray::Array2::<f64>::from_shape_fn((40, 5), |(i, j)| {
            ((i * 7 + j * 3) % 11) as f64 * 0.37 + (i as f64).sin()
        });
        let mut repeated = base.clone();
        for i in [5, 17, 33] {
            let r = repeated.row(i - 1).to_owned();
            repeated.row_mut(i).assign(&r);
        }
        let tiny = ndarray::array![[0.0_f64, 1.0], [1e-200, 1.0], [3.0, 4.0], [1.0, -2.0]];
        for x in [base, repeated, tiny] {
            let w: Vec<f64> = (0..x.nrows()).map(|i| 1.0 + (i % 3) as f64).collect();
            let expected = ward
                .linkage_weighted(x.view(), ndarray::ArrayView1::from(&w))
                .unwrap();
            let got = ward.linkage_weighted_checked(x.view(), w).unwrap();
            assert_eq!(got, expected);
        }
        let x32 = ndarray::Array2::<f32>::zeros((3, 0));
        assert_eq!(
            ward.linkage_weighted_checked(x32.view(), vec![1.0; 3]),
            Err(Error::ZeroDimension { rows: 3 })
        );
        let empty = ndarray::Array2::<f32>::zeros((0, 2));
        assert_eq!(
            ward.linkage_weighted_checked(empty.view(), Vec::new()),
            Err(Error::EmptyInput)
        );
    }

    #[test]
    fn a_condensed_matrix_beyond_the_address_space_is_an_error() {
        // usize::MAX budget, 2^33 observations: 2^65 bytes (was an abort)
        let m = 1usize << 33;
        assert!(matches!(
            zeroed_condensed::<f64>(m),
            Err(Error::AllocationFailed { .. })
        ));
        assert!(matches!(
            zeroed_condensed::<f32>(usize::MAX),
            Err(Error::AllocationFailed { .. })
        ));
        assert_eq!(&*zeroed_condensed::<f32>(3).unwrap(), &[0.0_f32; 3][..]);
    }

    /// The whole matrix path (order, distance pass, generic algorithm) of
    /// one input through a `Vec` and through the huge-page mapping: the same
    /// dendrogram bit for bit, at sizes on both sides of the mapping's
    /// threshold (the storage `zeroed_condensed` picks is the mapping from
    /// f64 m = 2 897, f32 m = 4 097).
    #[test]
    #[ignore = "linkages of ~3 000-4 100 rows (~1 s each in release, far more in debug)"]
    fn heap_and_mapped_storage_give_the_same_matrix_path() {
        /// `None` where no mapping is made (other systems).
        fn run<F: Scalar>(m: usize, d: usize, mapped: bool) -> Option<Vec<super::super::Merge<F>>> {
            let mut s = 0x9e37_79b9_7f4a_7c15_u64 ^ m as u64;
            let x = ndarray::Array2::<F>::from_shape_fn((m, d), |_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                F::from_f64_rounded((s >> 11) as f64 / (1u64 << 53) as f64)
            });
            let order = order_rows(x.view());
            let len = m * (m - 1) / 2;
            let mut storage = match mapped {
                true => CondensedStorage::<F>::zeroed_mapped(len)?,
                false => CondensedStorage::from(vec![F::zero(); len]),
            };
            assert_eq!(storage.is_mapped(), mapped);
            assert_eq!(
                zeroed_condensed::<F>(m).unwrap().is_mapped(),
                cfg!(target_os = "linux")
                    && len * core::mem::size_of::<F>() >= super::super::storage::HUGE_PAGES_FROM
            );
            let minima = fill_condensed(x.view(), &order, None, &mut storage, false);
            let tree = generic_linkage(m, storage, vec![F::one(); m], order, minima);
            Some(tree.merges().to_vec())
        }
        for m in [2896, 2897, 2950] {
            let heap = run::<f64>(m, 6, false);
            let Some(mapped) = run::<f64>(m, 6, true) else {
                #[cfg(target_os = "linux")]
                panic!("no huge-page mapping granted on Linux");
                #[cfg(not(target_os = "linux"))]
                return;
            };
            assert_eq!(heap, Some(mapped), "f64 m={m}");
        }
        for m in [4096, 4097, 4150] {
            let heap = run::<f32>(m, 5, false);
            assert_eq!(heap, run::<f32>(m, 5, true), "f32 m={m}");
        }
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
