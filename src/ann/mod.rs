//! Nearest-neighbour search over an item catalogue.
//!
//! PinnerSage queries an index once per sampled medoid. This module defines the
//! backend-neutral [`AnnIndex`] trait and its implementations:
//!
//! * [`ExactIndex`]: brute force over an ndarray matrix, batched through a GEMM
//!   kernel. Exact; the reference every recall figure is measured against.
//! * `HnswIndex` (feature `hnsw`): an adapter over the `hnsw_rs` crate's
//!   hierarchical navigable small-world graph (pure Rust).
//! * `UsearchIndex` (feature `usearch`): the same kind of graph through the
//!   `usearch` crate (USearch's C++ core); several times faster to build and
//!   to query than `HnswIndex` at the same recall.
//! * [`MedoidCache`]: a bounded, thread-safe LRU cache in front of any index,
//!   keyed by medoid id. Medoids are real items, so a popular medoid's
//!   neighbour list is computed once and shared by every user whose profile
//!   contains it.
//!
//! ## Distances
//!
//! Every backend reports a **distance, smaller is nearer**, for its
//! [`Metric`]:
//!
//! | metric                         | distance                         | score ([`Metric::score`]) |
//! |--------------------------------|----------------------------------|---------------------------|
//! | [`Metric::Cosine`]             | `1 − cos(q, x)`                  | `cos(q, x)`               |
//! | [`Metric::InnerProduct`]       | `−⟨q, x⟩`                        | `⟨q, x⟩`                  |
//! | [`Metric::SquaredEuclidean`]   | `‖q − x‖²`                       | `−‖q − x‖²`               |
//!
//! Cosine distances are clamped to `[0, 2]` (rounding can otherwise put an
//! item a hair below 0 from itself), and every backend computes norms by
//! scaling first, so vectors of any finite magnitude (`1e20` or `1e-25` in
//! `f32`) keep their cosine. A zero vector, as item or query, is not an
//! error: its cosine with anything is taken as 0 (distance 1), so it ranks
//! after every item with a positive cosine and before every item with a
//! negative one. A cosine index refuses an item whose Euclidean norm exceeds
//! the element type's range ([`Error::NormOverflow`]); queries are scaled
//! before their norm is taken, so no finite query is refused for its size.
//!
//! ## Example
//!
//! ```
//! use pinnersage::ndarray::array;
//! use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
//!
//! let items = array![[1.0_f32, 0.0], [0.0, 1.0], [0.7, 0.7]];
//! let index = ExactIndex::new(vec!["a", "b", "c"], items, Metric::Cosine)?;
//! let hits = index.search(array![1.0, 0.1].view(), 2)?;
//! assert_eq!(hits[0].id, "a");
//! assert_eq!(hits[1].id, "c");
//! # Ok::<(), pinnersage::Error>(())
//! ```

mod cache;
mod exact;
#[cfg(any(feature = "hnsw", feature = "usearch"))]
mod graph;
#[cfg(feature = "hnsw")]
mod hnsw;
mod topk;
#[cfg(feature = "usearch")]
mod usearch;

use core::hash::Hash;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

#[cfg(feature = "usearch")]
#[cfg_attr(docsrs, doc(cfg(feature = "usearch")))]
pub use self::usearch::UsearchIndex;
pub use cache::{CacheStats, MedoidCache, MedoidCacheBuilder, MedoidNeighbours, SharedNeighbours};
pub use exact::ExactIndex;
#[cfg(any(feature = "hnsw", feature = "usearch"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "hnsw", feature = "usearch"))))]
pub use graph::{HnswParams, HnswParamsBuilder};
#[cfg(feature = "hnsw")]
#[cfg_attr(docsrs, doc(cfg(feature = "hnsw")))]
pub use hnsw::HnswIndex;

/// How an index compares a query with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Metric {
    /// Cosine similarity; distance `1 − cos(q, x)`, clamped to `[0, 2]`
    /// (1 when either vector is zero). The natural choice for L2-normalised
    /// embeddings such as PinSage's.
    Cosine,
    /// Inner product (maximum inner-product search); distance `−⟨q, x⟩`.
    InnerProduct,
    /// Squared Euclidean distance `‖q − x‖²`.
    SquaredEuclidean,
}

impl Metric {
    /// Converts a distance of this metric into a score where **larger is
    /// better**: the cosine for [`Metric::Cosine`], the inner product for
    /// [`Metric::InnerProduct`] and `−‖q − x‖²` for
    /// [`Metric::SquaredEuclidean`].
    ///
    /// ```
    /// use pinnersage::ann::Metric;
    /// assert_eq!(Metric::Cosine.score(0.25_f64), 0.75);
    /// assert_eq!(Metric::InnerProduct.score(-3.0_f64), 3.0);
    /// ```
    pub fn score<F: Scalar>(self, distance: F) -> F {
        match self {
            Metric::Cosine => F::one() - distance,
            Metric::InnerProduct | Metric::SquaredEuclidean => -distance,
        }
    }
}

/// One search result: an item and its distance to the query (smaller is
/// nearer; see [`Metric`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Neighbour<I, F> {
    /// The item's id.
    pub id: I,
    /// Distance to the query under the index's [`Metric`].
    pub distance: F,
}

/// A list of search results, nearest first.
pub type Neighbours<I, F> = Vec<Neighbour<I, F>>;

/// A nearest-neighbour index over item embeddings.
///
/// Results are sorted nearest first; at most `k` are returned (fewer when the
/// index holds fewer items). Backends agree on the distance convention of
/// [`Metric`], so results of different backends can be compared directly.
///
/// The element type and the id type are associated types (an index stores one
/// of each). The trait is **object-safe**: no method is generic, so
/// `&dyn AnnIndex<Elem = f32, Id = u64>` works, and the exclusion filter of
/// [`search_filtered`](AnnIndex::search_filtered) is a `&dyn Fn`.
///
/// # Errors
/// Every search returns [`Error::DimensionMismatch`] when the query length
/// differs from [`dim`](AnnIndex::dim), and [`Error::NonFiniteQuery`]
/// ([`Error::NonFiniteBatchQuery`] for batches) when it holds NaN or infinity.
pub trait AnnIndex {
    /// The item id type.
    type Id: Clone + Eq + Hash;
    /// The embedding element type (`f32` or `f64`).
    type Elem: Scalar;

    /// Embedding dimension every query must have.
    fn dim(&self) -> usize;

    /// Number of indexed items.
    fn len(&self) -> usize;

    /// `true` if the index holds no item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metric distances are reported in.
    fn metric(&self) -> Metric;

    /// The `k` items nearest `query`, nearest first.
    ///
    /// # Errors
    /// See the [trait documentation](AnnIndex#errors).
    fn search(
        &self,
        query: ArrayView1<'_, Self::Elem>,
        k: usize,
    ) -> Result<Vec<Neighbour<Self::Id, Self::Elem>>>;

    /// The `k` nearest items for which `exclude` returns `false`.
    ///
    /// The default implementation over-fetches: it asks [`search`](AnnIndex::search)
    /// for `k + 16` results, doubling until `k` survive the filter or the whole
    /// index was requested. Backends that can filter during the scan (such as
    /// [`ExactIndex`]) override it.
    ///
    /// # Errors
    /// See the [trait documentation](AnnIndex#errors).
    fn search_filtered(
        &self,
        query: ArrayView1<'_, Self::Elem>,
        k: usize,
        exclude: &dyn Fn(&Self::Id) -> bool,
    ) -> Result<Vec<Neighbour<Self::Id, Self::Elem>>> {
        check_query(query, self.dim())?;
        let mut fetch = k.saturating_add(16).min(self.len());
        loop {
            let mut hits = self.search(query, fetch)?;
            let asked_everything = fetch >= self.len();
            hits.retain(|h| !exclude(&h.id));
            if hits.len() >= k || asked_everything {
                hits.truncate(k);
                return Ok(hits);
            }
            fetch = fetch.saturating_mul(2).min(self.len());
        }
    }

    /// [`search`](AnnIndex::search) for every row of `queries`.
    ///
    /// The default implementation validates the whole batch first, then
    /// searches row by row; [`ExactIndex`] overrides it with a GEMM kernel.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `queries.ncols() != dim()`;
    /// [`Error::NonFiniteBatchQuery`] naming the first non-finite value.
    fn search_batch(
        &self,
        queries: ArrayView2<'_, Self::Elem>,
        k: usize,
    ) -> Result<Vec<Neighbours<Self::Id, Self::Elem>>> {
        check_batch(queries, self.dim())?;
        queries
            .rows()
            .into_iter()
            .map(|q| self.search(q, k))
            .collect()
    }
}

/// Checks a query's length and finiteness.
pub(crate) fn check_query<F: Scalar>(query: ArrayView1<'_, F>, dim: usize) -> Result<()> {
    if query.len() != dim {
        return Err(Error::DimensionMismatch {
            expected: dim,
            got: query.len(),
        });
    }
    match query.iter().position(|v| !v.is_finite()) {
        Some(position) => Err(Error::NonFiniteQuery { position }),
        None => Ok(()),
    }
}

/// Checks a batch of queries' width and finiteness.
pub(crate) fn check_batch<F: Scalar>(queries: ArrayView2<'_, F>, dim: usize) -> Result<()> {
    if queries.ncols() != dim {
        return Err(Error::DimensionMismatch {
            expected: dim,
            got: queries.ncols(),
        });
    }
    for (query, row) in queries.rows().into_iter().enumerate() {
        if let Some(position) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteBatchQuery { query, position });
        }
    }
    Ok(())
}

/// The largest magnitude accepted in the items and queries of an index whose
/// distances are computed (or returned) in the type `G`, for the
/// squared-Euclidean and inner-product metrics at dimension `dim`:
/// `√(G::MAX / (4·dim))`. Below it `‖q − x‖² ≤ dim·(2·max)²` and
/// `|⟨q, x⟩| ≤ dim·max²` are finite, so no distance overflows. Cosine has no
/// limit (distances in `[0, 2]`); `None` stands for no limit.
pub(crate) fn magnitude_limit<G: Scalar>(metric: Metric, dim: usize) -> Option<f64> {
    match metric {
        Metric::Cosine => None,
        Metric::SquaredEuclidean | Metric::InnerProduct => {
            Some((G::max_value().to_f64_lossless() / (4.0 * dim.max(1) as f64)).sqrt())
        }
    }
}

/// Checks every item against [`magnitude_limit`]
/// ([`Error::ItemMagnitude`] naming the first row beyond it).
pub(crate) fn check_item_magnitudes<F: Scalar>(
    items: ArrayView2<'_, F>,
    limit: Option<f64>,
) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    for (row, x) in items.rows().into_iter().enumerate() {
        if max_abs(x).to_f64_lossless() > limit {
            return Err(Error::ItemMagnitude { row, limit });
        }
    }
    Ok(())
}

/// Checks a query against [`magnitude_limit`] ([`Error::QueryMagnitude`]).
pub(crate) fn check_query_magnitude<F: Scalar>(
    query: ArrayView1<'_, F>,
    limit: Option<f64>,
) -> Result<()> {
    match limit {
        Some(limit) if max_abs(query).to_f64_lossless() > limit => {
            Err(Error::QueryMagnitude { limit })
        }
        _ => Ok(()),
    }
}

/// The distance of a prepared query `q` to a row `x`, summed directly in
/// `F` (no Gram form), so that it is accurate relative to the distance
/// itself and exactly 0 for identical vectors:
///
/// * squared Euclidean: `Σ (q_i − x_i)²`;
/// * inner product: `−Σ q_i·x_i`;
/// * cosine: `‖q̂ − x̂‖²/2` (`= 1 − cos`), with `q` already unit (or zero)
///   and `x̂` normalised by [`normalise`] here (bit-identical to the query's
///   normalisation for an identical vector); a zero vector on either side is
///   at distance 1. Clamped to `[0, 2]`.
pub(crate) fn direct_distance<F: Scalar>(
    metric: Metric,
    q: ArrayView1<'_, F>,
    x: ArrayView1<'_, F>,
    x_is_unit: bool,
) -> F {
    match metric {
        Metric::SquaredEuclidean => q.iter().zip(x.iter()).fold(F::zero(), |s, (&a, &b)| {
            let t = a - b;
            s + t * t
        }),
        Metric::InnerProduct => -q
            .iter()
            .zip(x.iter())
            .fold(F::zero(), |s, (&a, &b)| s + a * b),
        Metric::Cosine => {
            let q_zero = q.iter().all(|v| *v == F::zero());
            let x_zero = x.iter().all(|v| *v == F::zero());
            if q_zero || x_zero {
                return F::one();
            }
            let sq_to = |x: ArrayView1<'_, F>| {
                q.iter().zip(x.iter()).fold(F::zero(), |s, (&a, &b)| {
                    let t = a - b;
                    s + t * t
                })
            };
            let sq = if x_is_unit {
                sq_to(x)
            } else {
                let mut unit = x.to_owned();
                normalise(unit.view_mut());
                sq_to(unit.view())
            };
            let two = F::one() + F::one();
            (sq / two).min(two)
        }
    }
}

/// The largest absolute value of `x` (0 for an empty or zero vector).
fn max_abs<F: Scalar>(x: ArrayView1<'_, F>) -> F {
    x.iter().fold(F::zero(), |m, v| m.max(v.abs()))
}

/// Euclidean norm of a finite vector ([`crate::linalg::l2_norm`]: `s·‖x/s‖`
/// with `s = max|x_i|`) for a view of any layout.
pub(crate) fn l2_norm<F: Scalar>(x: ArrayView1<'_, F>) -> F {
    match x.as_slice() {
        Some(values) => crate::linalg::l2_norm(values),
        None => crate::linalg::l2_norm(&x.to_vec()),
    }
}

/// Scales a finite vector to unit length in place, dividing by `max|x_i|`
/// before taking the norm (which is then in `[1, √d]`), so that neither very
/// large nor very small vectors lose their direction. A zero vector stays zero.
pub(crate) fn normalise<F: Scalar>(mut x: ArrayViewMut1<'_, F>) {
    let s = max_abs(x.view());
    if s == F::zero() {
        return;
    }
    x.mapv_inplace(|v| v / s);
    let norm = x.dot(&x).sqrt();
    x.mapv_inplace(|v| v / norm);
}

/// Checks that every row's norm is finite ([`Error::NormOverflow`] otherwise)
/// and returns the norms: a cosine index needs them.
pub(crate) fn finite_norms<F: Scalar>(items: ArrayView2<'_, F>) -> Result<Vec<F>> {
    items
        .rows()
        .into_iter()
        .enumerate()
        .map(|(row, x)| {
            let norm = l2_norm(x);
            if norm.is_finite() {
                Ok(norm)
            } else {
                Err(Error::NormOverflow { row })
            }
        })
        .collect()
}

/// Test fixtures shared by the `ann` and `retrieval` unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use ndarray::Array2;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    use crate::scalar::Scalar;
    use crate::synthetic::{Catalog, CatalogConfig};

    /// A seeded synthetic catalogue of `items × dim` L2-normalised rows in
    /// `topics` topics (item `i` is in topic `i % topics`).
    pub(crate) fn catalogue<F: Scalar>(
        items: usize,
        dim: usize,
        topics: usize,
        spread: f64,
        seed: u64,
    ) -> Array2<F> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let config = CatalogConfig::builder()
            .items(items)
            .dim(dim)
            .topics(topics)
            .spread(spread)
            .build()
            .expect("valid synthetic configuration");
        Catalog::<F>::generate(&config, &mut rng).into_embeddings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Cosine of a row already made unit by [`normalise`] (`x_is_unit`) is
    /// bit-identical to the path that normalises the row itself, and a zero
    /// row is at distance 1 on both paths.
    #[test]
    fn direct_cosine_of_a_unit_row_equals_the_normalising_path() {
        let mut q = array![0.3_f64, -1.7, 2.5, 1e-3];
        normalise(q.view_mut());
        for x in [
            array![4.0, 1.0, -3.0, 0.5],
            array![1e-30, 3e-30, 0.0, -2e-30],
        ] {
            let mut unit = x.clone();
            normalise(unit.view_mut());
            let direct = direct_distance(Metric::Cosine, q.view(), unit.view(), true);
            let normalising = direct_distance(Metric::Cosine, q.view(), x.view(), false);
            assert_eq!(direct.to_bits(), normalising.to_bits());
            assert!(direct > 0.0 && direct < 2.0);
        }
        let zero = ndarray::Array1::<f64>::zeros(4);
        for unit in [true, false] {
            assert_eq!(
                direct_distance(Metric::Cosine, q.view(), zero.view(), unit),
                1.0
            );
        }
    }

    /// An index implementing only the required methods, to exercise the
    /// trait's default `search_filtered` and `search_batch`.
    struct OnlySearch(ExactIndex<usize, f64>);

    impl AnnIndex for OnlySearch {
        type Id = usize;
        type Elem = f64;
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn metric(&self) -> Metric {
            self.0.metric()
        }
        fn search(
            &self,
            query: ArrayView1<'_, f64>,
            k: usize,
        ) -> Result<Vec<Neighbour<usize, f64>>> {
            self.0.search(query, k)
        }
    }

    #[test]
    fn default_methods_agree_with_the_exact_overrides() {
        // 60 points on a line: the default filter must over-fetch past 16 + k
        let x = ndarray::Array2::from_shape_fn((60, 1), |(i, _)| i as f64);
        let exact = ExactIndex::with_row_ids(x.clone(), Metric::SquaredEuclidean).unwrap();
        let plain = OnlySearch(exact.clone());
        let q = array![0.0];
        let exclude = |id: &usize| *id < 40;
        let want = exact.search_filtered(q.view(), 5, &exclude).unwrap();
        let got = plain.search_filtered(q.view(), 5, &exclude).unwrap();
        assert_eq!(got, want);
        assert_eq!(got[0].id, 40);
        // asking for more than survive returns every survivor
        assert_eq!(
            plain.search_filtered(q.view(), 50, &exclude).unwrap().len(),
            20
        );
        let batch = array![[3.0], [57.5]];
        assert_eq!(
            plain.search_batch(batch.view(), 2).unwrap(),
            exact.search_batch(batch.view(), 2).unwrap()
        );
        assert_eq!(
            plain.search_batch(array![[f64::NAN]].view(), 2),
            Err(Error::NonFiniteBatchQuery {
                query: 0,
                position: 0
            })
        );
        assert_eq!(
            plain.search_filtered(array![1.0, 2.0].view(), 2, &exclude),
            Err(Error::DimensionMismatch {
                expected: 1,
                got: 2
            })
        );
        assert!(!plain.is_empty());
    }

    #[test]
    fn score_is_monotone_decreasing_in_distance() {
        for m in [
            Metric::Cosine,
            Metric::InnerProduct,
            Metric::SquaredEuclidean,
        ] {
            assert!(m.score(0.1_f64) > m.score(0.2_f64), "{m:?}");
        }
        assert_eq!(Metric::SquaredEuclidean.score(2.0_f32), -2.0);
    }

    #[test]
    fn check_query_rules() {
        assert_eq!(
            check_query(array![1.0_f32, 2.0].view(), 3),
            Err(Error::DimensionMismatch {
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            check_query(array![1.0_f32, f32::NAN].view(), 2),
            Err(Error::NonFiniteQuery { position: 1 })
        );
        assert_eq!(check_query(array![1.0_f32, 2.0].view(), 2), Ok(()));
    }

    #[test]
    fn check_batch_rules() {
        let q = array![[1.0_f64, 2.0], [3.0, f64::INFINITY]];
        assert_eq!(
            check_batch(q.view(), 2),
            Err(Error::NonFiniteBatchQuery {
                query: 1,
                position: 1
            })
        );
        assert_eq!(
            check_batch(q.view(), 3),
            Err(Error::DimensionMismatch {
                expected: 3,
                got: 2
            })
        );
    }

    #[test]
    fn norms_and_normalisation_neither_overflow_nor_underflow() {
        for scale in [1e30_f32, 1.0, 1e-30] {
            let x = array![3.0 * scale, 4.0 * scale];
            let n = l2_norm(x.view());
            assert!((n / (5.0 * scale) - 1.0).abs() < 1e-6, "{scale}: {n}");
            let mut u = x.clone();
            normalise(u.view_mut());
            assert!((u[0] - 0.6).abs() < 1e-6 && (u[1] - 0.8).abs() < 1e-6);
        }
        let mut zero = array![0.0_f64, 0.0];
        normalise(zero.view_mut());
        assert_eq!(zero, array![0.0, 0.0]);
        assert_eq!(l2_norm(zero.view()), 0.0);
        assert_eq!(
            finite_norms(array![[1.0_f32, 0.0], [3e38, 3e38]].view()),
            Err(Error::NormOverflow { row: 1 })
        );
    }
}
