//! An [`AnnIndex`] over the `hnsw_rs` crate (feature `hnsw`).
//!
//! `hnsw_rs` 0.3 has a few sharp edges that this adapter keeps away from
//! callers:
//!
//! * `Hnsw::new` prints a message and calls `std::process::exit(1)` when
//!   `max_nb_connection > 256`, and its insertion code reads the value back as
//!   a `u8`, so 256 silently becomes 0. [`HnswParams::validate`] refuses
//!   anything outside `2..=255` before `hnsw_rs` is called.
//! * Its search asserts that distances are non-negative and compares them with
//!   `partial_cmp`, so a negative or NaN distance panics. Its `DistDot`
//!   asserts `⟨q, x⟩ ≤ 1`, which rounding can break even for unit vectors. The
//!   adapter therefore uses its own distance: `max(0, 1 − ⟨q̂, x̂⟩)` over
//!   vectors it L2-normalises itself for [`Metric::Cosine`], `‖q − x‖²` for
//!   [`Metric::SquaredEuclidean`], NaN mapped to `+∞`. Inner-product search
//!   has no non-negative distance and is refused.
//! * Distances come back as `f32`; they are converted to the index's element
//!   type, so with `f64` embeddings the reported distances carry `f32`
//!   rounding.
//!
//! Serial construction is deterministic: `hnsw_rs` draws node levels from an
//! internal generator with a fixed seed. Parallel construction
//! ([`HnswParams::parallel_build`]) is faster but its graph depends on thread
//! timing.

use core::fmt;
use core::hash::Hash;
use std::collections::HashMap;

use hnsw_rs::prelude::{Distance, Hnsw};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::{check_catalogue, check_query, finite_norms, normalise, AnnIndex, Metric, Neighbour};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Build and search parameters of a [`HnswIndex`].
///
/// The defaults reach recall@10 = 0.992 against [`ExactIndex`](super::ExactIndex)
/// on a seeded clustered catalogue of 100 000 × 64 items (100 topics), at about
/// 4× the queries per second of exact search one query at a time; `ef_search`
/// 32 gives 0.971 at 5×. Measured by
/// `cargo run --release --features hnsw --example retrieval` (figures in the
/// example's documentation). Raise `ef_search` for recall, lower it for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HnswParams {
    /// `M`: links kept per node and layer (twice as many on the bottom
    /// layer). Must be in `2..=255`. Default 32.
    pub max_connections: usize,
    /// Candidate list size while inserting. Must be ≥ 1; any larger value is
    /// accepted, and the build uses `min(ef_construction, n)` for `n` items
    /// (a longer list than the index cannot help). Default 100.
    pub ef_construction: usize,
    /// Candidate list size while searching. Must be ≥ 1; any larger value is
    /// accepted, and a search for `k` uses `min(max(ef_search, k), n)`, with
    /// `k` itself clamped to `n`. Default 48.
    pub ef_search: usize,
    /// Insert in parallel through rayon (inside `hnsw_rs`). Faster on several
    /// cores, but the graph then depends on thread timing. Default `false`.
    pub parallel_build: bool,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 32,
            ef_construction: 100,
            ef_search: 48,
            parallel_build: false,
        }
    }
}

/// Upper bound on the layers of the graph (`hnsw_rs`'s own maximum).
const MAX_LAYERS: usize = 16;

impl HnswParams {
    /// Checks every parameter, so that `hnsw_rs` is never handed a value it
    /// would abort the process on.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        if !(2..=255).contains(&self.max_connections) {
            return Err(Error::InvalidParameter {
                name: "max_connections",
                reason: format!("{} is not in 2..=255", self.max_connections),
            });
        }
        if self.ef_construction == 0 {
            return Err(Error::InvalidParameter {
                name: "ef_construction",
                reason: "must be at least 1".into(),
            });
        }
        if self.ef_search == 0 {
            return Err(Error::InvalidParameter {
                name: "ef_search",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// The distance handed to `hnsw_rs`: non-negative, never NaN.
#[derive(Debug, Clone, Copy)]
struct HnswDistance {
    metric: Metric,
}

impl<F: Scalar> Distance<F> for HnswDistance {
    fn eval(&self, a: &[F], b: &[F]) -> f32 {
        let d = match self.metric {
            // vectors are unit (or zero) on both sides: cosine = dot
            Metric::Cosine => {
                let dot = a.iter().zip(b).fold(F::zero(), |s, (&x, &y)| s + x * y);
                (F::one() - dot).max(F::zero())
            }
            _ => a.iter().zip(b).fold(F::zero(), |s, (&x, &y)| {
                let t = x - y;
                s + t * t
            }),
        };
        let d = d.to_f64_lossless() as f32;
        if d.is_nan() {
            f32::INFINITY
        } else {
            d
        }
    }
}

/// Approximate nearest-neighbour search with a hierarchical navigable
/// small-world graph (Malkov & Yashunin), through the `hnsw_rs` crate.
///
/// Supports [`Metric::Cosine`] and [`Metric::SquaredEuclidean`]. The graph
/// holds its own copy of the embeddings (normalised for cosine, by the same
/// overflow-safe scaling as [`ExactIndex`](super::ExactIndex), whose errors,
/// including [`Error::NormOverflow`], it shares).
///
/// The index is `Send + Sync` but not
/// [`RefUnwindSafe`](std::panic::RefUnwindSafe): `hnsw_rs` keeps its graph
/// behind `parking_lot` locks. To use `&HnswIndex` inside
/// [`catch_unwind`](std::panic::catch_unwind), wrap the closure in
/// [`AssertUnwindSafe`](std::panic::AssertUnwindSafe).
///
/// ```
/// use ndarray::array;
/// use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams, Metric};
///
/// let x = array![[1.0_f32, 0.0], [0.0, 1.0], [0.7, 0.7]];
/// let index = HnswIndex::new(x.view(), vec![10_u64, 11, 12], Metric::Cosine, HnswParams::default())?;
/// assert_eq!(index.search(array![0.1, 1.0].view(), 1)?[0].id, 11);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub struct HnswIndex<I, F: Scalar> {
    graph: Hnsw<'static, F, HnswDistance>,
    ids: Vec<I>,
    rows: HashMap<I, usize>,
    dim: usize,
    metric: Metric,
    params: HnswParams,
}

impl<I: fmt::Debug, F: Scalar> fmt::Debug for HnswIndex<I, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HnswIndex")
            .field("len", &self.ids.len())
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<F: Scalar> HnswIndex<usize, F> {
    /// An index whose item ids are the row numbers `0..n`.
    ///
    /// # Errors
    /// As [`HnswIndex::new`].
    pub fn with_row_ids(
        items: ArrayView2<'_, F>,
        metric: Metric,
        params: HnswParams,
    ) -> Result<Self> {
        HnswIndex::new(items, (0..items.nrows()).collect(), metric, params)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> HnswIndex<I, F> {
    /// Builds the graph over `items` (one row per item), row `r` named `ids[r]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for invalid `params` (see
    /// [`HnswParams::validate`]), for [`Metric::InnerProduct`], or for more
    /// than `i32::MAX` items; otherwise the errors of
    /// [`ExactIndex::new`](super::ExactIndex::new).
    ///
    /// # Complexity
    /// About O(n·log n·ef_construction·d) time, O(n·(d + M)) space.
    pub fn new(
        items: ArrayView2<'_, F>,
        ids: Vec<I>,
        metric: Metric,
        params: HnswParams,
    ) -> Result<Self> {
        params.validate()?;
        if metric == Metric::InnerProduct {
            return Err(Error::InvalidParameter {
                name: "metric",
                reason: "hnsw_rs needs a non-negative distance; inner-product search is not \
                         supported (L2-normalise the embeddings and use Metric::Cosine)"
                    .into(),
            });
        }
        let rows = check_catalogue(&ids, items)?;
        if items.nrows() > i32::MAX as usize {
            return Err(Error::InvalidParameter {
                name: "items",
                reason: format!("{} items exceed hnsw_rs's limit of i32::MAX", items.nrows()),
            });
        }
        let mut data: Array2<F> = items.to_owned();
        if metric == Metric::Cosine {
            finite_norms(items)?;
            for row in data.axis_iter_mut(Axis(0)) {
                normalise(row);
            }
        }
        // hnsw_rs sizes buffers by ef: more candidates than items is pointless
        // and `usize::MAX` would overflow an allocation
        let graph = Hnsw::new(
            params.max_connections,
            items.nrows(),
            MAX_LAYERS,
            params.ef_construction.min(items.nrows()),
            HnswDistance { metric },
        );
        let slices: Vec<(&[F], usize)> = data
            .rows()
            .into_iter()
            .enumerate()
            .filter_map(|(r, row)| row.to_slice().map(|s| (s, r)))
            .collect();
        // `data` is a fresh standard-layout array, so every row is contiguous
        debug_assert_eq!(slices.len(), data.nrows());
        if params.parallel_build {
            graph.parallel_insert_slice(&slices);
        } else {
            for &item in &slices {
                graph.insert_slice(item);
            }
        }
        let mut graph = graph;
        graph.set_searching_mode(true);
        Ok(HnswIndex {
            graph,
            ids,
            rows,
            dim: items.ncols(),
            metric,
            params,
        })
    }

    /// The parameters the index was built with.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Changes the search-time candidate list size (used as
    /// `min(max(ef_search, k), len)`, see [`HnswParams::ef_search`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `ef_search` is 0.
    pub fn set_ef_search(&mut self, ef_search: usize) -> Result<()> {
        HnswParams {
            ef_search,
            ..self.params
        }
        .validate()?;
        self.params.ef_search = ef_search;
        Ok(())
    }

    /// Item ids in row order.
    pub fn ids(&self) -> &[I] {
        &self.ids
    }

    /// `true` if `id` is indexed.
    pub fn contains(&self, id: &I) -> bool {
        self.rows.contains_key(id)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> AnnIndex for HnswIndex<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    /// `k` is clamped to [`len`](AnnIndex::len) and the candidate list to
    /// `min(max(ef_search, k), len)`.
    ///
    /// # Complexity
    /// About O(log n·min(max(ef_search, k), n)·d) per query.
    fn search(&self, query: ArrayView1<'_, F>, k: usize) -> Result<Vec<Neighbour<I, F>>> {
        check_query(query, self.dim)?;
        // never ask hnsw_rs for more than the index holds: it allocates by k
        // and ef, and `usize::MAX` would overflow
        let k = k.min(self.ids.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut q = query.to_owned();
        if self.metric == Metric::Cosine {
            normalise(q.view_mut());
        }
        let q = q.to_vec();
        let ef = self.params.ef_search.max(k).min(self.ids.len());
        let mut hits: Vec<Neighbour<I, F>> = self
            .graph
            .search(&q, k, ef)
            .into_iter()
            .filter_map(|n| {
                self.ids.get(n.d_id).map(|id| Neighbour {
                    id: id.clone(),
                    distance: F::from_f64_rounded(f64::from(n.distance)),
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            a.distance
                .partial_cmp(&b.distance)
                .unwrap_or(core::cmp::Ordering::Equal)
        });
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::ExactIndex;
    use std::collections::HashSet;

    fn catalogue(items: usize, seed: u64) -> Array2<f32> {
        crate::ann::test_support::catalogue(items, 32, 20, 0.5, seed)
    }

    fn recall_at_10(metric: Metric) -> f64 {
        // 2000 indexed items and 100 held-out queries from the same topics
        let all = catalogue(2100, 5);
        let items = all.slice(ndarray::s![..2000, ..]).to_owned();
        let queries = all.slice(ndarray::s![2000.., ..]);
        let exact = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
        let hnsw = HnswIndex::with_row_ids(items.view(), metric, HnswParams::default()).unwrap();
        let truth = exact.search_batch(queries, 10).unwrap();
        let mut found = 0;
        for (q, t) in queries.rows().into_iter().zip(&truth) {
            let got: HashSet<usize> = hnsw.search(q, 10).unwrap().iter().map(|n| n.id).collect();
            found += t.iter().filter(|n| got.contains(&n.id)).count();
        }
        found as f64 / (10 * truth.len()) as f64
    }

    #[test]
    fn recall_at_10_against_exact_cosine() {
        let r = recall_at_10(Metric::Cosine);
        assert!(r >= 0.95, "recall@10 = {r}");
    }

    #[test]
    fn recall_at_10_against_exact_squared_euclidean() {
        let r = recall_at_10(Metric::SquaredEuclidean);
        assert!(r >= 0.95, "recall@10 = {r}");
    }

    #[test]
    fn distances_follow_the_metric_convention() {
        let items = catalogue(500, 9);
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let exact = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let hnsw =
                HnswIndex::with_row_ids(items.view(), metric, HnswParams::default()).unwrap();
            let q = items.row(17);
            let e = exact.search(q, 5).unwrap();
            let h = hnsw.search(q, 5).unwrap();
            assert_eq!(h.len(), 5);
            assert_eq!(h[0].id, 17);
            let mut matched = 0;
            for n in &h {
                if let Some(m) = e.iter().find(|m| m.id == n.id) {
                    matched += 1;
                    assert!((n.distance - m.distance).abs() < 1e-4, "{metric:?}");
                }
            }
            assert!(matched >= 4, "{metric:?}: {matched} of 5 ids are exact");
            assert!(h.windows(2).all(|w| w[0].distance <= w[1].distance));
        }
    }

    #[test]
    fn serial_build_is_deterministic() {
        let items = catalogue(400, 2);
        let a =
            HnswIndex::with_row_ids(items.view(), Metric::Cosine, HnswParams::default()).unwrap();
        let b =
            HnswIndex::with_row_ids(items.view(), Metric::Cosine, HnswParams::default()).unwrap();
        for r in (0..400).step_by(37) {
            assert_eq!(
                a.search(items.row(r), 10).unwrap(),
                b.search(items.row(r), 10).unwrap()
            );
        }
    }

    #[test]
    fn ids_filtering_and_small_k() {
        let items = catalogue(300, 4);
        let ids: Vec<String> = (0..300).map(|i| format!("pin:{i}")).collect();
        let index =
            HnswIndex::new(items.view(), ids, Metric::Cosine, HnswParams::default()).unwrap();
        assert!(index.contains(&"pin:3".to_string()));
        assert_eq!(index.ids().len(), 300);
        let q = items.row(3);
        assert!(index.search(q, 0).unwrap().is_empty());
        // the default over-fetching filtered search
        let hits = index
            .search_filtered(q, 5, &|id: &String| id == "pin:3")
            .unwrap();
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|h| h.id != "pin:3"));
    }

    #[test]
    fn parameter_rules() {
        let bad = |p: HnswParams| p.validate().err();
        let d = HnswParams::default();
        assert!(matches!(
            bad(HnswParams {
                max_connections: 256,
                ..d
            }),
            Some(Error::InvalidParameter {
                name: "max_connections",
                ..
            })
        ));
        assert!(matches!(
            bad(HnswParams {
                max_connections: 1,
                ..d
            }),
            Some(Error::InvalidParameter {
                name: "max_connections",
                ..
            })
        ));
        assert!(matches!(
            bad(HnswParams {
                ef_construction: 0,
                ..d
            }),
            Some(Error::InvalidParameter {
                name: "ef_construction",
                ..
            })
        ));
        assert!(matches!(
            bad(HnswParams { ef_search: 0, ..d }),
            Some(Error::InvalidParameter {
                name: "ef_search",
                ..
            })
        ));
        assert_eq!(d.validate(), Ok(()));
        let items = catalogue(50, 1);
        // the process is not aborted: the parameter is refused first
        assert!(matches!(
            HnswIndex::with_row_ids(
                items.view(),
                Metric::Cosine,
                HnswParams {
                    max_connections: 300,
                    ..d
                }
            ),
            Err(Error::InvalidParameter {
                name: "max_connections",
                ..
            })
        ));
        assert!(matches!(
            HnswIndex::with_row_ids(items.view(), Metric::InnerProduct, d),
            Err(Error::InvalidParameter { name: "metric", .. })
        ));
        let mut index = HnswIndex::with_row_ids(items.view(), Metric::Cosine, d).unwrap();
        assert!(index.set_ef_search(0).is_err());
        index.set_ef_search(10).unwrap();
        assert_eq!(index.params().ef_search, 10);
    }

    #[test]
    fn input_errors() {
        let d = HnswParams::default();
        assert_eq!(
            HnswIndex::with_row_ids(Array2::<f32>::zeros((0, 3)).view(), Metric::Cosine, d).err(),
            Some(Error::EmptyInput)
        );
        let items = catalogue(20, 1);
        assert_eq!(
            HnswIndex::new(items.view(), vec![1; 20], Metric::Cosine, d).err(),
            Some(Error::DuplicateId { row: 1 })
        );
        let index = HnswIndex::with_row_ids(items.view(), Metric::Cosine, d).unwrap();
        assert_eq!(
            index.search(ndarray::array![1.0_f32].view(), 1),
            Err(Error::DimensionMismatch {
                expected: 32,
                got: 1
            })
        );
        let mut q = items.row(0).to_owned();
        q[4] = f32::NAN;
        assert_eq!(
            index.search(q.view(), 1),
            Err(Error::NonFiniteQuery { position: 4 })
        );
    }

    /// `k`, `ef_search` and `ef_construction` far beyond the index size are
    /// clamped instead of overflowing an allocation inside `hnsw_rs`.
    #[test]
    fn huge_k_and_ef_are_clamped() {
        let items = catalogue(50, 1);
        let d = HnswParams::default();
        let index = HnswIndex::with_row_ids(items.view(), Metric::Cosine, d).unwrap();
        let all = index.search(items.row(0), usize::MAX).unwrap();
        assert_eq!(all.len(), 50);
        assert_eq!(all[0].id, 0);
        let mut wide = HnswIndex::with_row_ids(items.view(), Metric::Cosine, d).unwrap();
        wide.set_ef_search(usize::MAX).unwrap();
        assert_eq!(wide.search(items.row(3), 2).unwrap()[0].id, 3);
        let built = HnswIndex::with_row_ids(
            items.view(),
            Metric::SquaredEuclidean,
            HnswParams {
                ef_construction: usize::MAX,
                ..d
            },
        )
        .unwrap();
        assert_eq!(built.params().ef_construction, usize::MAX);
        assert_eq!(built.search(items.row(7), 1).unwrap()[0].id, 7);
    }

    /// Cosine over vectors whose squared norm overflows or underflows `f32`:
    /// the adapter's own normalisation scales first.
    #[test]
    fn cosine_of_very_large_and_very_small_vectors() {
        for scale in [1e20_f32, 1e-25] {
            let x = ndarray::array![[scale, 0.0], [0.0, scale], [scale, scale]];
            let index =
                HnswIndex::with_row_ids(x.view(), Metric::Cosine, HnswParams::default()).unwrap();
            let hits = index.search(ndarray::array![scale, 0.0].view(), 3).unwrap();
            let ids: Vec<usize> = hits.iter().map(|h| h.id).collect();
            assert_eq!(ids, vec![0, 2, 1], "scale {scale}");
            assert!(hits[0].distance < 1e-6);
        }
        assert_eq!(
            HnswIndex::with_row_ids(
                ndarray::array![[1.0_f32, 0.0], [3e38, 3e38]].view(),
                Metric::Cosine,
                HnswParams::default()
            )
            .err(),
            Some(Error::NormOverflow { row: 1 })
        );
    }

    #[test]
    fn construction_input_rules() {
        let d = HnswParams::default();
        assert_eq!(
            HnswIndex::with_row_ids(Array2::<f32>::zeros((4, 0)).view(), Metric::Cosine, d).err(),
            Some(Error::ZeroDimension { rows: 4 })
        );
        let mut items = catalogue(20, 1);
        assert_eq!(
            HnswIndex::new(items.view(), vec![1_u32, 2, 3], Metric::Cosine, d).err(),
            Some(Error::LengthMismatch {
                what: "item ids vs embedding rows",
                expected: 20,
                got: 3
            })
        );
        items[[6, 2]] = f32::INFINITY;
        assert_eq!(
            HnswIndex::with_row_ids(items.view(), Metric::SquaredEuclidean, d).err(),
            Some(Error::NonFiniteValue { row: 6, column: 2 })
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<HnswIndex<u64, f32>>();
        assert_send_sync::<HnswIndex<String, f64>>();
    }
}
