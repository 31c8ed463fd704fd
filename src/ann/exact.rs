//! Brute-force nearest-neighbour search: exact, and the reference for recall.

use core::hash::Hash;
use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::topk::TopK;
use super::{
    check_batch, check_items, check_query, index_ids, AnnIndex, Metric, Neighbour, Neighbours,
};
use crate::error::Result;
use crate::scalar::Scalar;

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
/// Distances follow [`Metric`]; squared Euclidean distances are computed as
/// `‖q‖² + ‖x‖² − 2⟨q, x⟩` (clamped at 0), so they agree with a direct
/// `Σ (q_i − x_i)²` up to rounding. Ties are broken by the smaller row.
///
/// ```
/// use ndarray::array;
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
    /// Cosine: `‖x‖`; squared Euclidean: `‖x‖²`; inner product: unused zeros.
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
    pub fn with_row_ids(items: Array2<F>, metric: Metric) -> Result<Self> {
        let ids = (0..items.nrows()).collect();
        ExactIndex::new(items, ids, metric)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> ExactIndex<I, F> {
    /// An index over `items` (one row per item) with row `r` named `ids[r]`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`](crate::Error::EmptyInput) without rows,
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) without columns,
    /// [`Error::NonFiniteValue`](crate::Error::NonFiniteValue) for NaN or
    /// infinity, [`Error::LengthMismatch`](crate::Error::LengthMismatch) if
    /// `ids.len()` is not the number of rows, and
    /// [`Error::DuplicateId`](crate::Error::DuplicateId) for a repeated id.
    ///
    /// # Complexity
    /// O(n·d) time; O(n) extra space for the id map and norms.
    pub fn new(items: Array2<F>, ids: Vec<I>, metric: Metric) -> Result<Self> {
        check_items(items.view())?;
        let rows = index_ids(&ids, items.nrows())?;
        let norms = match metric {
            Metric::InnerProduct => Array1::zeros(items.nrows()),
            Metric::Cosine => items.map_axis(Axis(1), |r| r.dot(&r).sqrt()),
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

    /// The item matrix, one row per item.
    pub fn items(&self) -> ArrayView2<'_, F> {
        self.items.view()
    }

    /// Item ids in row order.
    pub fn ids(&self) -> &[I] {
        &self.ids
    }

    /// The embedding of item `id`, if indexed.
    ///
    /// # Complexity
    /// O(1) expected.
    pub fn embedding(&self, id: &I) -> Option<ArrayView1<'_, F>> {
        self.rows.get(id).map(|&r| self.items.row(r))
    }

    /// Turns one query's inner products with every row into distances and
    /// selects the nearest `k` not excluded.
    fn select(
        &self,
        dots: ArrayView1<'_, F>,
        query: ArrayView1<'_, F>,
        k: usize,
        exclude: Option<&dyn Fn(&I) -> bool>,
    ) -> Vec<Neighbour<I, F>> {
        let mut top = TopK::new(k.min(self.items.nrows()));
        let q_norm = match self.metric {
            Metric::InnerProduct => F::zero(),
            Metric::Cosine => query.dot(&query).sqrt(),
            Metric::SquaredEuclidean => query.dot(&query),
        };
        let two = F::one() + F::one();
        for (row, (&dot, &norm)) in dots.iter().zip(self.norms.iter()).enumerate() {
            if let Some(ex) = exclude {
                if ex(&self.ids[row]) {
                    continue;
                }
            }
            let distance = match self.metric {
                Metric::InnerProduct => -dot,
                Metric::Cosine => {
                    let denom = q_norm * norm;
                    if denom > F::zero() {
                        F::one() - dot / denom
                    } else {
                        F::one()
                    }
                }
                Metric::SquaredEuclidean => (q_norm + norm - two * dot).max(F::zero()),
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
        check_query(query, self.dim())?;
        let dots = self.items.dot(&query);
        Ok(self.select(dots.view(), query, k, None))
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
        check_query(query, self.dim())?;
        let dots = self.items.dot(&query);
        Ok(self.select(dots.view(), query, k, Some(exclude)))
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
    use crate::error::Error;
    use crate::synthetic::{Catalog, CatalogConfig};
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
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let config = CatalogConfig {
            items: 600,
            dim: 16,
            topics: 8,
            spread: 0.6,
        };
        let items = Catalog::<f64>::generate(&config, &mut rng)
            .unwrap()
            .into_embeddings();
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

    #[test]
    fn ids_and_embedding_lookup() {
        let index = ExactIndex::new(
            array![[1.0_f32, 0.0], [0.0, 1.0]],
            vec!["x", "y"],
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
    fn construction_errors() {
        assert_eq!(
            ExactIndex::with_row_ids(Array2::<f32>::zeros((0, 2)), Metric::Cosine).err(),
            Some(Error::EmptyInput)
        );
        assert_eq!(
            ExactIndex::new(array![[1.0_f32], [2.0]], vec![5, 5], Metric::Cosine).err(),
            Some(Error::DuplicateId { row: 1 })
        );
        assert_eq!(
            ExactIndex::new(array![[1.0_f32], [2.0]], vec![5], Metric::Cosine).err(),
            Some(Error::LengthMismatch {
                what: "ids per embedding row",
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
        // the default filtered search, reached through the trait object's vtable
        // for ExactIndex is the override; both agree with the unfiltered search
        let hits = dynamic
            .search_filtered(array![1.0].view(), 1, &|id| *id == 1)
            .unwrap();
        assert_eq!(hits[0].id, 0);
    }
}
