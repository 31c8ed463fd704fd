//! Brute-force nearest-neighbour search: exact, and the reference for recall.

use core::hash::{BuildHasher, Hash};
use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::topk::TopK;
use super::{
    check_batch, check_query, finite_norms, normalise, AnnIndex, Metric, Neighbour, Neighbours,
};
use crate::embedding::{catalogue_from_pairs, copy_row, sorted_pairs, EmbeddingSource};
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
/// Distances follow [`Metric`] and are computed from inner products (the
/// "Gram form"), which is what makes the GEMM batch possible, and which
/// rounds differently from a direct sum:
///
/// * squared Euclidean: `‖q‖² + ‖x‖² − 2⟨q, x⟩`, clamped at 0. Its absolute
///   error is about `(d + 2)·ε·(‖q‖² + ‖x‖²)` (`ε` the element type's machine
///   epsilon), i.e. it scales with the **norms**, not with the distance: a
///   distance much smaller than `‖q‖² + ‖x‖²` (near-duplicates of long
///   vectors) has few or no correct digits, and such neighbours may be
///   ordered differently from a direct `Σ (q_i − x_i)²`. Distances of the
///   order of the norms are accurate to a few `ε` relative. Where the
///   shortcut overflows, the direct sum is computed instead.
/// * cosine: `1 − ⟨q̂, x⟩/‖x‖` with the query scaled to unit length and `‖x‖`
///   computed by scaling (so vectors far from 1 in magnitude, such as `1e20`
///   or `1e-25` in `f32`, keep their cosine), clamped to `[0, 2]`; absolute
///   error about `d·ε`, so cosine distances below that are not resolved. A
///   zero vector on either side is at distance 1.
/// * inner product: `−⟨q, x⟩`, absolute error about `d·ε·‖q‖·‖x‖`. Where
///   a product of two values overflows, the inner product is recomputed
///   with both vectors scaled by their largest value, so the distance is
///   infinite only if `⟨q, x⟩` itself exceeds the element type's range.
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
    rows: HashMap<I, usize>,
    metric: Metric,
    /// Cosine: `‖x‖` (computed with scaling, finite); squared Euclidean:
    /// `‖x‖²`; inner product: unused zeros.
    norms: Array1<F>,
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
    /// for a row whose Euclidean norm exceeds the element type's range.
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
    /// [`Error::NormOverflow`](crate::Error::NormOverflow).
    ///
    /// # Complexity
    /// O(n·d).
    pub fn from_embeddings(source: InMemoryEmbeddings<I, F>, metric: Metric) -> Result<Self> {
        if source.is_empty() {
            return Err(crate::Error::EmptyInput);
        }
        let (ids, rows, items) = source.into_parts();
        let norms = match metric {
            Metric::InnerProduct => Array1::zeros(items.nrows()),
            Metric::Cosine => Array1::from(finite_norms(items.view())?),
            Metric::SquaredEuclidean => items.map_axis(Axis(1), |r| r.dot(&r)),
        };
        Ok(ExactIndex {
            items,
            ids,
            rows,
            metric,
            norms,
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
        let q = self.prepare(query);
        let dots = self.items.dot(&q);
        Ok(self.select(dots.view(), q.view(), k, exclude))
    }

    /// Turns one prepared query's inner products with every row into
    /// distances and selects the nearest `k` not excluded.
    fn select(
        &self,
        dots: ArrayView1<'_, F>,
        query: ArrayView1<'_, F>,
        k: usize,
        exclude: Option<&dyn Fn(&I) -> bool>,
    ) -> Vec<Neighbour<I, F>> {
        let mut top = TopK::new(k.min(self.items.nrows()));
        let two = F::one() + F::one();
        let q_norm2 = match self.metric {
            Metric::SquaredEuclidean => query.dot(&query),
            _ => F::zero(),
        };
        // a prepared cosine query is a unit vector or the zero vector
        let q_nonzero = query.iter().any(|v| *v != F::zero());
        for (row, (&dot, &norm)) in dots.iter().zip(self.norms.iter()).enumerate() {
            if let Some(ex) = exclude {
                if ex(&self.ids[row]) {
                    continue;
                }
            }
            let distance = match self.metric {
                Metric::InnerProduct if dot.is_finite() => -dot,
                // a product overflowed (∞ − ∞ can even come back as ±∞ from
                // the GEMM): the dot of the rows scaled by their largest
                // values, infinite only if the inner product itself is
                Metric::InnerProduct => -scaled_dot(query, self.items.row(row)),
                // ⟨q̂, x⟩/‖x‖ with a unit q̂: no product of two norms to
                // overflow; rounding can leave [−1, 1] slightly, hence the clamp
                Metric::Cosine => {
                    if q_nonzero && norm > F::zero() {
                        (F::one() - dot / norm).max(F::zero()).min(two)
                    } else {
                        F::one()
                    }
                }
                Metric::SquaredEuclidean => {
                    let d = q_norm2 + norm - two * dot;
                    if d.is_finite() {
                        d.max(F::zero())
                    } else {
                        // a norm or the dot overflowed (∞ − ∞ would be NaN):
                        // the direct sum, infinite only if the distance is
                        query
                            .iter()
                            .zip(self.items.row(row))
                            .fold(F::zero(), |acc, (&a, &b)| acc + (a - b) * (a - b))
                    }
                }
            };
            top.push(distance, row);
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

/// `⟨q, x⟩` for finite vectors whose products may overflow: `s_q·s_x·⟨q/s_q,
/// x/s_x⟩` with `s = max|v_i|`, so the only overflow left is that of the
/// inner product itself.
fn scaled_dot<F: Scalar>(q: ArrayView1<'_, F>, x: ArrayView1<'_, F>) -> F {
    let max_abs = |v: ArrayView1<'_, F>| v.iter().fold(F::zero(), |m, a| m.max(a.abs()));
    let (sq, sx) = (max_abs(q), max_abs(x));
    if sq == F::zero() || sx == F::zero() {
        return F::zero();
    }
    let t = q
        .iter()
        .zip(x.iter())
        .fold(F::zero(), |acc, (&a, &b)| acc + (a / sq) * (b / sx));
    let scale = sq * sx;
    if scale.is_finite() {
        t * scale
    } else {
        t * sq * sx
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

    /// Squared Euclidean distances whose shortcut `‖q‖² + ‖x‖² − 2⟨q, x⟩`
    /// overflows are computed directly: a far item no longer ties with the
    /// identical one at 0.
    #[test]
    fn squared_euclidean_of_very_large_vectors() {
        let x = array![[1e20_f32, 0.0], [1e20, 1e19], [0.0, 1e20], [1.0, 0.0]];
        let index = ExactIndex::with_row_ids(x, Metric::SquaredEuclidean).unwrap();
        let hits = index.search(array![1e20_f32, 0.0].view(), 4).unwrap();
        let got: Vec<(usize, f32)> = hits.iter().map(|h| (h.id, h.distance)).collect();
        assert_eq!(got[0], (0, 0.0), "{got:?}");
        assert_eq!(got[1].0, 1, "{got:?}");
        assert!((got[1].1 / 1e38 - 1.0).abs() < 1e-6, "{got:?}");
        assert_eq!((got[2].1, got[3].1), (f32::INFINITY, f32::INFINITY));
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
        // the other metrics do not need the norm to be finite
        assert!(ExactIndex::with_row_ids(x.clone(), Metric::InnerProduct).is_ok());
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
