//! Brute-force nearest-neighbour search: exact, and the reference for recall.

use core::hash::{BuildHasher, Hash};
use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::topk::TopK;
use super::{
    check_batch, check_item_magnitudes, check_query, check_query_magnitude, direct_distance,
    finite_norms, magnitude_limit, normalise, AnnIndex, Metric, Neighbour, Neighbours,
};
use crate::embedding::{catalogue_from_pairs, copy_row, sorted_pairs, EmbeddingSource, RowMap};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::InMemoryEmbeddings;

/// Upper bound on the number of query × item scores held at once by
/// [`ExactIndex::search_batch`] (4 Mi elements: 16 MiB in `f32`).
const BATCH_SCORES: usize = 1 << 22;

/// Exact nearest-neighbour search by a full scan of an `n × d` matrix.
///
/// Row `r` of the matrix is the item `ids[r]`. One query costs one
/// matrix–vector product (`n·d` multiply-adds) plus an `O(n log k)` selection;
/// [`search_batch`](AnnIndex::search_batch) multiplies blocks of queries by the
/// transposed item matrix with ndarray's GEMM kernel, which is several times
/// faster per query than one product per query.
///
/// # Accuracy
/// The inner products (one matrix–vector product, or GEMM for a batch) only
/// **select candidates**: each row's distance estimated from them carries a
/// bound on its rounding error, and every row that could be among the `k`
/// nearest within that bound gets its distance summed directly. Reported
/// distances are those direct sums:
///
/// * squared Euclidean: `Σ (q_i − x_i)²`, accurate to a few `ε` (the element
///   type's machine epsilon) relative to the distance itself, whatever the
///   offset of the data, and exactly 0 for an identical vector;
/// * cosine: `‖q̂ − x̂‖²/2` (which equals `1 − cos`) over vectors scaled to
///   unit length by the same routine, so an exact copy of the query is at
///   distance exactly 0 and ranks first; in `[0, 2]`; a zero vector on
///   either side is at distance 1;
/// * inner product: `−Σ q_i·x_i`.
///
/// [`search`](AnnIndex::search), [`search_batch`](AnnIndex::search_batch)
/// and [`search_filtered`](AnnIndex::search_filtered) return the same
/// neighbours at the same distances. For the squared-Euclidean and
/// inner-product metrics, items and queries must lie within
/// `√(F::MAX / (4·d))` in magnitude (so that no distance overflows:
/// [`Error::ItemMagnitude`](crate::Error::ItemMagnitude),
/// [`Error::QueryMagnitude`](crate::Error::QueryMagnitude)); no distance is
/// ever infinite or NaN.
///
/// Ties are broken by the smaller row.
///
/// # Catalogue
/// Constructors take the same arguments as
/// [`InMemoryEmbeddings`]'s plus the metric:
/// [`new(ids, matrix, metric)`](Self::new),
/// [`with_row_ids(matrix, metric)`](Self::with_row_ids),
/// [`from_pairs(pairs, metric)`](Self::from_pairs),
/// [`from_map(map, metric)`](Self::from_map), and
/// [`from_embeddings(source, metric)`](Self::from_embeddings) (no copy).
/// The index is also an [`EmbeddingSource`] (lookup by id, rows as given):
/// a profile can read its items' embeddings from the index that serves its
/// recommendations, without a second copy of the catalogue.
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
///
/// let x = array![[0.0_f64, 0.0], [1.0, 0.0], [3.0, 0.0]];
/// let index = ExactIndex::with_row_ids(x, Metric::SquaredEuclidean)?;
/// let hits = index.search(array![1.2, 0.0].view(), 2)?;
/// assert_eq!((hits[0].id, hits[1].id), (1, 0));
/// assert!((hits[0].distance - 0.04).abs() < 1e-12);
/// // exclude already-seen items during the scan
/// let hits = index.search_filtered(array![1.2, 0.0].view(), 1, &|id| *id == 1)?;
/// assert_eq!(hits[0].id, 0);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactIndex<I, F> {
    items: Array2<F>,
    ids: Vec<I>,
    rows: RowMap<I>,
    metric: Metric,
    /// Cosine: `‖x‖` (computed with scaling, finite); squared Euclidean:
    /// `‖x‖²`; inner product: `‖x‖`.
    norms: Array1<F>,
    /// The magnitude limit of items and queries ([`magnitude_limit`]).
    limit: Option<f64>,
}

impl<F: Scalar> ExactIndex<usize, F> {
    /// An index whose item ids are the row numbers `0..n`.
    ///
    /// # Errors
    /// As [`ExactIndex::new`].
    ///
    /// # Complexity
    /// O(n·d).
    pub fn with_row_ids(matrix: Array2<F>, metric: Metric) -> Result<Self> {
        let ids = (0..matrix.nrows()).collect();
        ExactIndex::new(ids, matrix, metric)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> ExactIndex<I, F> {
    /// An index over `matrix` (one row per item, any memory order) with row
    /// `r` named `ids[r]`.
    ///
    /// # Errors
    /// In this order: [`Error::EmptyInput`](crate::Error::EmptyInput)
    /// without rows, then the rules of
    /// [`InMemoryEmbeddings::new`](crate::InMemoryEmbeddings::new)
    /// ([`LengthMismatch`](crate::Error::LengthMismatch),
    /// [`ZeroDimension`](crate::Error::ZeroDimension),
    /// [`NonFiniteValue`](crate::Error::NonFiniteValue),
    /// [`DuplicateId`](crate::Error::DuplicateId)), and for
    /// [`Metric::Cosine`] [`Error::NormOverflow`](crate::Error::NormOverflow)
    /// for a row whose Euclidean norm exceeds the element type's range; for
    /// the other metrics [`Error::ItemMagnitude`](crate::Error::ItemMagnitude)
    /// for a value beyond `√(F::MAX / (4·d))`.
    ///
    /// # Complexity
    /// O(n·d) time; O(n) extra space for the id map and norms.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
    ///
    /// let index = ExactIndex::new(vec!["a", "b"], array![[1.0_f32, 0.0], [0.0, 1.0]], Metric::Cosine)?;
    /// assert_eq!(index.search(array![0.1, 1.0].view(), 1)?[0].id, "b");
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn new(ids: Vec<I>, matrix: Array2<F>, metric: Metric) -> Result<Self> {
        if matrix.nrows() == 0 {
            return Err(crate::Error::EmptyInput);
        }
        Self::from_embeddings(InMemoryEmbeddings::new(ids, matrix)?, metric)
    }

    /// An index over `(id, vector)` pairs, row `r` the `r`-th pair.
    ///
    /// # Errors
    /// [`Error::EmptyInput`](crate::Error::EmptyInput) for no pairs,
    /// [`Error::VectorLength`](crate::Error::VectorLength) for a vector of
    /// another length than the first; then as [`new`](Self::new).
    ///
    /// # Complexity
    /// O(n·d).
    pub fn from_pairs<V, It>(pairs: It, metric: Metric) -> Result<Self>
    where
        V: AsRef<[F]>,
        It: IntoIterator<Item = (I, V)>,
    {
        let (ids, matrix) = catalogue_from_pairs(pairs)?;
        Self::new(ids, matrix, metric)
    }

    /// An index over a map of id → vector, rows in ascending id order.
    ///
    /// # Errors
    /// As [`from_pairs`](Self::from_pairs).
    ///
    /// # Complexity
    /// O(n·log n + n·d).
    pub fn from_map<V, S>(map: HashMap<I, V, S>, metric: Metric) -> Result<Self>
    where
        I: Ord,
        V: AsRef<[F]>,
        S: BuildHasher,
    {
        Self::from_pairs(sorted_pairs(map), metric)
    }

    /// An index over an already validated catalogue, taking its matrix and
    /// ids without copying them.
    ///
    /// # Errors
    /// [`Error::EmptyInput`](crate::Error::EmptyInput) for an empty
    /// catalogue; for [`Metric::Cosine`],
    /// [`Error::NormOverflow`](crate::Error::NormOverflow); otherwise
    /// [`Error::ItemMagnitude`](crate::Error::ItemMagnitude).
    ///
    /// # Complexity
    /// O(n·d).
    pub fn from_embeddings(source: InMemoryEmbeddings<I, F>, metric: Metric) -> Result<Self> {
        if source.is_empty() {
            return Err(crate::Error::EmptyInput);
        }
        let (ids, rows, items) = source.into_parts();
        let limit = magnitude_limit::<F>(metric, items.ncols());
        check_item_magnitudes(items.view(), limit)?;
        let norms = match metric {
            Metric::InnerProduct => items.map_axis(Axis(1), super::l2_norm),
            Metric::Cosine => Array1::from(finite_norms(items.view())?),
            Metric::SquaredEuclidean => items.map_axis(Axis(1), |r| r.dot(&r)),
        };
        Ok(ExactIndex {
            items,
            ids,
            rows,
            metric,
            norms,
            limit,
        })
    }

    /// Embedding dimension (the same as [`AnnIndex::dim`] and
    /// [`EmbeddingSource::dim`]; inherent so that calls are unambiguous when
    /// both traits are in scope).
    pub fn dim(&self) -> usize {
        self.items.ncols()
    }

    /// Number of indexed items (as [`AnnIndex::len`]).
    pub fn len(&self) -> usize {
        self.items.nrows()
    }

    /// `true` if the index holds no item; never, as construction refuses an
    /// empty matrix (as [`AnnIndex::is_empty`]).
    pub fn is_empty(&self) -> bool {
        self.items.nrows() == 0
    }

    /// The item matrix, one row per item.
    pub fn items(&self) -> ArrayView2<'_, F> {
        self.items.view()
    }

    /// Item ids in row order.
    pub fn ids(&self) -> &[I] {
        &self.ids
    }

    /// The embedding of item `id`, borrowed (no copy), if indexed.
    ///
    /// # Complexity
    /// O(1) expected.
    pub fn embedding(&self, id: &I) -> Option<ArrayView1<'_, F>> {
        self.rows.get(id).map(|&r| self.items.row(r))
    }

    /// The query as the scan multiplies it: for [`Metric::Cosine`] scaled to
    /// unit length (by `max|q_i|` first, so no square overflows or
    /// underflows); otherwise as given.
    fn prepare(&self, query: ArrayView1<'_, F>) -> Array1<F> {
        let mut q = query.to_owned();
        if self.metric == Metric::Cosine {
            normalise(q.view_mut());
        }
        q
    }

    /// One validated query: inner products with every row, then selection.
    fn scan(
        &self,
        query: ArrayView1<'_, F>,
        k: usize,
        exclude: Option<&dyn Fn(&I) -> bool>,
    ) -> Result<Vec<Neighbour<I, F>>> {
        check_query(query, self.dim())?;
        check_query_magnitude(query, self.limit)?;
        let q = self.prepare(query);
        let dots = self.items.dot(&q);
        Ok(self.select(dots.view(), q.view(), k, exclude))
    }

    /// Turns one prepared query's inner products with every row into
    /// distances and selects the nearest `k` not excluded, exactly:
    ///
    /// 1. each row's distance is estimated from the inner product (the Gram
    ///    form, as cheap as the product) with a bound on its rounding error,
    ///    `γ·(‖q‖² + ‖x‖²)` (squared Euclidean), `γ·‖q‖·‖x‖` (inner
    ///    product) or `γ` (cosine), `γ = 4·(d + 4)·ε`;
    /// 2. every row whose lower bound is within the `k`-th smallest upper
    ///    bound is a candidate, and only candidates get their distance
    ///    summed directly ([`direct_distance`]); the `k` smallest direct
    ///    distances (ties: the smaller row) are the answer.
    ///
    /// So the reported distances are the direct sums (accurate relative to
    /// the distance, exactly 0 for an identical vector), and
    /// [`search`](AnnIndex::search) and
    /// [`search_batch`](AnnIndex::search_batch) (whose products round
    /// differently) return the same neighbours at the same distances.
    fn select(
        &self,
        dots: ArrayView1<'_, F>,
        query: ArrayView1<'_, F>,
        k: usize,
        exclude: Option<&dyn Fn(&I) -> bool>,
    ) -> Vec<Neighbour<I, F>> {
        let n = self.items.nrows();
        let k = k.min(n);
        if k == 0 {
            return Vec::new();
        }
        let two = F::one() + F::one();
        let dim = F::from_f64_rounded(self.items.ncols() as f64 + 4.0);
        let gamma = (two + two) * dim * F::epsilon();
        let q_norm2 = match self.metric {
            Metric::SquaredEuclidean => query.dot(&query),
            _ => F::zero(),
        };
        let q_norm = match self.metric {
            Metric::InnerProduct => super::l2_norm(query),
            _ => F::zero(),
        };
        // a prepared cosine query is a unit vector or the zero vector
        let q_nonzero = query.iter().any(|v| *v != F::zero());
        // (lower, upper) bounds per row; excluded rows are None
        let mut bounds: Vec<Option<(F, F)>> = Vec::with_capacity(n);
        for (row, (&dot, &norm)) in dots.iter().zip(self.norms.iter()).enumerate() {
            if exclude.is_some_and(|ex| ex(&self.ids[row])) {
                bounds.push(None);
                continue;
            }
            let (estimate, err) = match self.metric {
                Metric::InnerProduct => (-dot, gamma * q_norm * norm),
                Metric::Cosine => {
                    if q_nonzero && norm > F::zero() {
                        (F::one() - dot / norm, gamma)
                    } else {
                        (F::one(), F::zero())
                    }
                }
                Metric::SquaredEuclidean => (q_norm2 + norm - two * dot, gamma * (q_norm2 + norm)),
            };
            let b = if estimate.is_finite() && err.is_finite() {
                (estimate - err, estimate + err)
            } else {
                (F::neg_infinity(), F::infinity())
            };
            bounds.push(Some(b));
        }
        let mut uppers: Vec<F> = bounds.iter().flatten().map(|b| b.1).collect();
        if uppers.is_empty() {
            return Vec::new();
        }
        let cutoff = if uppers.len() > k {
            let (_, kth, _) = uppers.select_nth_unstable_by(k - 1, |a, b| {
                a.partial_cmp(b).unwrap_or(core::cmp::Ordering::Equal)
            });
            *kth
        } else {
            F::infinity()
        };
        let mut top = TopK::new(k);
        for (row, b) in bounds.iter().enumerate() {
            if let Some((lower, _)) = b {
                if *lower <= cutoff {
                    let x = self.items.row(row);
                    top.push(direct_distance(self.metric, query, x, false), row);
                }
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|(distance, row)| Neighbour {
                id: self.ids[row].clone(),
                distance,
            })
            .collect()
    }
}

/// An exact index is also the catalogue's embedding source: profiles can look
/// their items up in the index that serves their recommendations, so one
/// matrix serves both (the rows as given, not normalised).
impl<I: Clone + Eq + Hash, F: Scalar> EmbeddingSource for ExactIndex<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.items.ncols()
    }

    /// # Complexity
    /// One hash lookup and a copy of `d` values.
    fn fill(&self, id: &I, out: &mut [F]) -> Result<bool> {
        Ok(copy_row(ExactIndex::embedding(self, id), out))
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> AnnIndex for ExactIndex<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.items.ncols()
    }

    fn len(&self) -> usize {
        self.items.nrows()
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    /// # Complexity
    /// O(n·d + n·log k) time, O(n + k) space.
    fn search(&self, query: ArrayView1<'_, F>, k: usize) -> Result<Vec<Neighbour<I, F>>> {
        self.scan(query, k, None)
    }

    /// Filters during the scan: excluded rows never enter the selection.
    ///
    /// # Complexity
    /// O(n·d + n·log k) time plus `n` calls of `exclude`.
    fn search_filtered(
        &self,
        query: ArrayView1<'_, F>,
        k: usize,
        exclude: &dyn Fn(&I) -> bool,
    ) -> Result<Vec<Neighbour<I, F>>> {
        self.scan(query, k, Some(exclude))
    }

    /// Multiplies blocks of queries by the transposed item matrix (GEMM), at
    /// most 4 Mi scores at a time, then selects per query.
    ///
    /// # Complexity
    /// O(b·n·d + b·n·log k) time, O(min(b·n, 4 Mi) + b·k) space for `b` queries.
    fn search_batch(&self, queries: ArrayView2<'_, F>, k: usize) -> Result<Vec<Neighbours<I, F>>> {
        check_batch(queries, self.dim())?;
        for q in queries.rows() {
            check_query_magnitude(q, self.limit)?;
        }
        let block = (BATCH_SCORES / self.items.nrows()).max(1);
        let mut out = Vec::with_capacity(queries.nrows());
        for chunk in queries.axis_chunks_iter(Axis(0), block) {
            let mut chunk = chunk.to_owned();
            if self.metric == Metric::Cosine {
                for q in chunk.rows_mut() {
                    normalise(q);
                }
            }
            let dots = chunk.dot(&self.items.t());
            for (q, d) in chunk.rows().into_iter().zip(dots.rows()) {
                out.push(self.select(d, q, k, None));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::test_support::catalogue;
    use crate::error::Error;
    use ndarray::array;
    use proptest::prelude::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    /// Distance by its definition, computed in f64 without any shortcut.
    fn naive_distance(metric: Metric, q: &[f64], x: &[f64]) -> f64 {
        let dot: f64 = q.iter().zip(x).map(|(a, b)| a * b).sum();
        match metric {
            Metric::InnerProduct => -dot,
            Metric::SquaredEuclidean => q.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum(),
            Metric::Cosine => {
                let nq = q.iter().map(|a| a * a).sum::<f64>().sqrt();
                let nx = x.iter().map(|a| a * a).sum::<f64>().sqrt();
                if nq * nx > 0.0 {
                    1.0 - dot / (nq * nx)
                } else {
                    1.0
                }
            }
        }
    }

    /// Checks `hits` against a naive scan: the i-th distance equals the i-th
    /// smallest naive distance, and each id's reported distance is its naive
    /// distance. Robust to ties, which may legitimately be ordered differently.
    fn assert_matches_naive(
        metric: Metric,
        items: &Array2<f64>,
        q: &[f64],
        k: usize,
        hits: &[Neighbour<usize, f64>],
        excluded: &dyn Fn(&usize) -> bool,
    ) {
        let mut naive: Vec<(f64, usize)> = items
            .rows()
            .into_iter()
            .enumerate()
            .filter(|(r, _)| !excluded(r))
            .map(|(r, x)| (naive_distance(metric, q, x.as_slice().unwrap()), r))
            .collect();
        naive.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(hits.len(), k.min(naive.len()));
        let mut seen = std::collections::HashSet::new();
        for (h, (d, _)) in hits.iter().zip(&naive) {
            let tol = 1e-9 * (1.0 + d.abs());
            assert!((h.distance - d).abs() <= tol, "{} vs {}", h.distance, d);
            let own = naive_distance(metric, q, items.row(h.id).as_slice().unwrap());
            assert!((h.distance - own).abs() <= tol);
            assert!(!excluded(&h.id));
            assert!(seen.insert(h.id), "duplicate id");
        }
    }

    const METRICS: [Metric; 3] = [
        Metric::Cosine,
        Metric::InnerProduct,
        Metric::SquaredEuclidean,
    ];

    #[test]
    fn equals_naive_scan_on_clustered_data() {
        let items = catalogue::<f64>(600, 16, 8, 0.6, 11);
        // scale rows differently so the metrics disagree
        let items = &items * &Array1::linspace(0.5, 2.0, 600).insert_axis(Axis(1));
        for metric in METRICS {
            let index = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let queries = items.slice(ndarray::s![..40;3, ..]).to_owned() * 0.9;
            let batch = index.search_batch(queries.view(), 10).unwrap();
            for (q, hits_b) in queries.rows().into_iter().zip(&batch) {
                let hits = index.search(q, 10).unwrap();
                // GEMM and GEMV round differently: both must match the naive scan
                assert_matches_naive(metric, &items, q.as_slice().unwrap(), 10, &hits, &|_| false);
                assert_matches_naive(metric, &items, q.as_slice().unwrap(), 10, hits_b, &|_| {
                    false
                });
                let ex = |id: &usize| id.is_multiple_of(3);
                let filtered = index.search_filtered(q, 10, &ex).unwrap();
                assert_matches_naive(metric, &items, q.as_slice().unwrap(), 10, &filtered, &ex);
            }
        }
    }

    proptest! {
        #[test]
        fn equals_naive_scan(
            rows in 1usize..30,
            dim in 1usize..6,
            seed in any::<u64>(),
            k in 0usize..35,
            m in 0usize..3,
        ) {
            use rand::RngExt;
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            // small integers: plenty of exact ties
            let items = Array2::from_shape_fn((rows, dim), |_| f64::from(rng.random_range(-3i32..=3)));
            let q: Vec<f64> = (0..dim).map(|_| f64::from(rng.random_range(-3i32..=3))).collect();
            let metric = METRICS[m];
            let index = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let hits = index.search(ArrayView1::from(&q), k).unwrap();
            assert_matches_naive(metric, &items, &q, k, &hits, &|_| false);
        }
    }

    #[test]
    fn zero_vectors_have_cosine_distance_one() {
        let index =
            ExactIndex::with_row_ids(array![[0.0_f32, 0.0], [1.0, 0.0]], Metric::Cosine).unwrap();
        let hits = index.search(array![0.0, 0.0].view(), 2).unwrap();
        assert!(hits.iter().all(|h| h.distance == 1.0));
        let hits = index.search(array![-1.0, 0.0].view(), 2).unwrap();
        assert_eq!(hits[0].id, 0);
        assert_eq!(hits[1].distance, 2.0);
    }

    /// Cosine distances of vectors whose squared norm overflows or underflows
    /// the element type: the identical item is still at distance 0.
    #[test]
    fn cosine_of_very_large_and_very_small_vectors() {
        for scale in [1e20_f32, 1e-25, 1e-30, 1e36] {
            let x = array![[scale, 0.0], [0.0, scale], [scale, scale]];
            let index = ExactIndex::with_row_ids(x.clone(), Metric::Cosine).unwrap();
            let hits = index.search(array![scale, 0.0].view(), 3).unwrap();
            let got: Vec<(usize, f32)> = hits.iter().map(|h| (h.id, h.distance)).collect();
            assert_eq!(got[0], (0, 0.0), "scale {scale}: {got:?}");
            assert_eq!(got[1].0, 2, "scale {scale}: {got:?}");
            assert!((got[1].1 - (1.0 - 0.5f32.sqrt())).abs() < 1e-6);
            assert_eq!(got[2], (1, 1.0), "scale {scale}: {got:?}");
            let batch = index.search_batch(x.view(), 1).unwrap();
            for (r, b) in batch.iter().enumerate() {
                assert_eq!(b[0].id, r, "scale {scale}");
                assert!(b[0].distance < 1e-6, "scale {scale}: {}", b[0].distance);
            }
        }
    }

    /// Squared Euclidean and inner-product indexes refuse values whose
    /// distances could overflow (they were infinite in an `Ok`); just below
    /// the limit every distance is finite and a far item no longer ties with
    /// the identical one at 0.
    #[test]
    fn squared_euclidean_of_very_large_vectors() {
        let x = array![[1e20_f32, 0.0], [1e20, 1e19], [0.0, 1e20], [1.0, 0.0]];
        for metric in [Metric::SquaredEuclidean, Metric::InnerProduct] {
            assert!(matches!(
                ExactIndex::with_row_ids(x.clone(), metric),
                Err(Error::ItemMagnitude { row: 0, .. })
            ));
        }
        let x = array![[5e18_f32, 0.0], [5e18, 1e18], [0.0, 5e18], [1.0, 0.0]];
        let index = ExactIndex::with_row_ids(x, Metric::SquaredEuclidean).unwrap();
        let hits = index.search(array![5e18_f32, 0.0].view(), 4).unwrap();
        let got: Vec<(usize, f32)> = hits.iter().map(|h| (h.id, h.distance)).collect();
        assert_eq!(got[0], (0, 0.0), "{got:?}");
        assert_eq!(got[1].0, 1, "{got:?}");
        assert!((got[1].1 / 1e36 - 1.0).abs() < 1e-6, "{got:?}");
        assert!(got.iter().all(|h| h.1.is_finite()), "{got:?}");
        assert_eq!(
            index.search(array![1e19_f32, 0.0].view(), 1).err(),
            Some(Error::QueryMagnitude {
                limit: (f64::from(f32::MAX) / 8.0).sqrt()
            })
        );
    }

    /// A row whose Euclidean norm exceeds the element type's range has no
    /// cosine; it is refused rather than silently ranked last.
    #[test]
    fn cosine_refuses_a_row_whose_norm_overflows() {
        let x = array![[1.0_f32, 0.0], [3e38, 3e38]];
        assert_eq!(
            ExactIndex::with_row_ids(x.clone(), Metric::Cosine).err(),
            Some(Error::NormOverflow { row: 1 })
        );
        // the other metrics refuse it by their magnitude limit
        assert!(matches!(
            ExactIndex::with_row_ids(x.clone(), Metric::InnerProduct),
            Err(Error::ItemMagnitude { row: 1, .. })
        ));
        // a query never overflows: it is scaled before its norm is taken
        let ok = ExactIndex::with_row_ids(array![[1.0_f32, 1.0]], Metric::Cosine).unwrap();
        let hits = ok.search(array![3e38_f32, 3e38].view(), 1).unwrap();
        assert!(hits[0].distance.abs() < 1e-6);
    }

    /// The documented range `[0, 2]` holds despite rounding (the reviewer saw
    /// self-distances down to −1.19e-7 in f32).
    #[test]
    fn cosine_distance_stays_in_zero_two() {
        use rand::RngExt;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let x = Array2::from_shape_fn((2000, 7), |_| rng.random_range(-1.0f32..1.0));
        let index = ExactIndex::with_row_ids(x.clone(), Metric::Cosine).unwrap();
        let opposite = x.mapv(|v| -v);
        let batch = index.search_batch(x.view(), 1).unwrap();
        for (r, h) in batch.iter().enumerate() {
            assert!(h[0].distance >= 0.0, "row {r}: {}", h[0].distance);
            let one = index.search(x.row(r), 1).unwrap();
            assert!(one[0].distance >= 0.0, "row {r}: {}", one[0].distance);
        }
        for r in 0..2000 {
            let far = index
                .search_filtered(opposite.row(r), 1, &|id| *id != r)
                .unwrap();
            assert!(far[0].distance <= 2.0, "row {r}: {}", far[0].distance);
        }
    }

    #[test]
    fn ids_and_embedding_lookup() {
        let index = ExactIndex::new(
            vec!["x", "y"],
            array![[1.0_f32, 0.0], [0.0, 1.0]],
            Metric::Cosine,
        )
        .unwrap();
        assert_eq!(index.embedding(&"y").unwrap().to_vec(), vec![0.0, 1.0]);
        assert!(index.embedding(&"z").is_none());
        assert_eq!(index.ids(), &["x", "y"]);
        assert_eq!((index.len(), index.dim(), index.is_empty()), (2, 2, false));
    }

    #[test]
    fn k_beyond_len_returns_everything() {
        let index =
            ExactIndex::with_row_ids(array![[1.0_f32], [2.0]], Metric::InnerProduct).unwrap();
        let hits = index.search(array![1.0].view(), 10).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 0]);
        assert!(index.search(array![1.0].view(), 0).unwrap().is_empty());
    }

    #[test]
    fn search_errors() {
        let index = ExactIndex::with_row_ids(array![[1.0_f32, 0.0]], Metric::Cosine).unwrap();
        assert_eq!(
            index.search(array![1.0].view(), 1),
            Err(Error::DimensionMismatch {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            index.search_filtered(array![f32::NAN, 1.0].view(), 1, &|_| false),
            Err(Error::NonFiniteQuery { position: 0 })
        );
        assert_eq!(
            index.search_batch(array![[1.0, f32::INFINITY]].view(), 1),
            Err(Error::NonFiniteBatchQuery {
                query: 0,
                position: 1
            })
        );
    }

    #[test]
    fn batch_errors_and_empty_batch() {
        let index = ExactIndex::with_row_ids(array![[1.0_f32, 0.0]], Metric::Cosine).unwrap();
        assert_eq!(
            index.search_batch(array![[1.0_f32, 0.0, 0.0]].view(), 1),
            Err(Error::DimensionMismatch {
                expected: 2,
                got: 3
            })
        );
        let empty = Array2::<f32>::zeros((0, 2));
        assert_eq!(index.search_batch(empty.view(), 3), Ok(Vec::new()));
    }

    #[test]
    fn construction_errors() {
        assert_eq!(
            ExactIndex::with_row_ids(Array2::<f32>::zeros((0, 2)), Metric::Cosine).err(),
            Some(Error::EmptyInput)
        );
        assert_eq!(
            ExactIndex::with_row_ids(Array2::<f32>::zeros((3, 0)), Metric::Cosine).err(),
            Some(Error::ZeroDimension { rows: 3 })
        );
        assert_eq!(
            ExactIndex::with_row_ids(array![[1.0_f64, 2.0], [3.0, f64::NAN]], Metric::Cosine).err(),
            Some(Error::NonFiniteValue { row: 1, column: 1 })
        );
        assert_eq!(
            ExactIndex::new(vec![5, 5], array![[1.0_f32], [2.0]], Metric::Cosine).err(),
            Some(Error::DuplicateId { row: 1 })
        );
        assert_eq!(
            ExactIndex::new(vec![5], array![[1.0_f32], [2.0]], Metric::Cosine).err(),
            Some(Error::LengthMismatch {
                what: "item ids vs embedding rows",
                expected: 2,
                got: 1
            })
        );
    }

    #[test]
    fn is_object_safe_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ExactIndex<String, f32>>();
        let index =
            ExactIndex::with_row_ids(array![[1.0_f32], [2.0]], Metric::InnerProduct).unwrap();
        let dynamic: &dyn AnnIndex<Id = usize, Elem = f32> = &index;
        assert_eq!(dynamic.search(array![1.0].view(), 1).unwrap()[0].id, 1);
        // through the trait object, `search_filtered` dispatches to ExactIndex's
        // own filtering override: item 1 is excluded during the scan
        let hits = dynamic
            .search_filtered(array![1.0].view(), 1, &|id| *id == 1)
            .unwrap();
        assert_eq!(hits[0].id, 0);
    }
}
