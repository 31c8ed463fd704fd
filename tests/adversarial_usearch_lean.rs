//! Hostile inputs for `UsearchIndex` (feature `usearch`) and the memory-lean
//! Ward path: typed errors, exact counts, sorted results that agree with
//! `ExactIndex`; lean heights equal to the matrix path's.

mod common;

use ndarray::{Array1, Array2};
use pinnersage::ward::{Dendrogram, Strategy, Ward};
use pinnersage::Scalar;

/// A small deterministic generator (xorshift64*), uniform in [0, 1).
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `m × d` values in `[-1, 1)`, each mapped by `f`.
fn data(m: usize, d: usize, seed: u64, f: impl Fn(f64) -> f64) -> Array2<f64> {
    let mut g = Gen(seed | 1);
    Array2::from_shape_fn((m, d), |_| f(g.next() * 2.0 - 1.0))
}

#[cfg(feature = "usearch")]
mod usearch {
    use super::*;
    use pinnersage::ann::{AnnIndex, ExactIndex, HnswParams, Metric, UsearchIndex};
    use pinnersage::Error;

    const METRICS: [Metric; 3] = [
        Metric::Cosine,
        Metric::SquaredEuclidean,
        Metric::InnerProduct,
    ];

    fn high_ef() -> HnswParams {
        HnswParams::builder()
            .ef_construction(400)
            .ef_search(400)
            .build()
            .unwrap()
    }

    /// Same ids (ties aside) and distances as the exact index, sorted, all
    /// finite, exactly `min(k, n)` of them.
    fn agrees_with_exact<F: Scalar>(items: &Array2<F>, queries: &Array2<F>, k: usize, what: &str) {
        let n = items.nrows();
        for metric in METRICS {
            let exact = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let index = UsearchIndex::with_row_ids(items.clone(), metric, high_ef()).unwrap();
            for (qi, q) in queries.rows().into_iter().enumerate() {
                let e = exact.search(q, k).unwrap();
                let h = index.search(q, k).unwrap();
                assert_eq!(h.len(), k.min(n), "{what} {metric:?} q{qi}");
                assert!(
                    h.iter().all(|x| x.distance.is_finite()),
                    "{what} {metric:?} q{qi}"
                );
                assert!(
                    h.windows(2).all(|w| w[0].distance <= w[1].distance),
                    "{what} {metric:?} q{qi}: unsorted"
                );
                // the k-th distances agree: the same set up to ties
                for (a, b) in h.iter().zip(&e) {
                    let (a, b) = (a.distance.to_f64_lossless(), b.distance.to_f64_lossless());
                    let scale = e
                        .iter()
                        .fold(0.0f64, |s, x| s.max(x.distance.to_f64_lossless().abs()));
                    assert!(
                        (a - b).abs() <= 1e-4 * scale.max(f64::MIN_POSITIVE),
                        "{what} {metric:?} q{qi}: usearch {a:e} vs exact {b:e}\n{h:?}\n{e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn agrees_with_exact_at_ordinary_scale() {
        let x = data(60, 8, 1, |v| v);
        let q = data(5, 8, 2, |v| v);
        agrees_with_exact(&x, &q, 10, "f64");
        agrees_with_exact(&x.mapv(|v| v as f32), &q.mapv(|v| v as f32), 10, "f32");
    }

    /// Small vectors: USearch ranks `1 − ⟨q, x⟩` and `‖q − x‖²` in `f32`,
    /// where `1 − 1e-12` is 1 and `1e-50` is 0.
    #[test]
    fn agrees_with_exact_for_tiny_vectors() {
        for s in [1e-3, 1e-8, 1e-30, 1e-150] {
            let x = data(60, 8, 3, |v| v * s);
            let q = data(4, 8, 4, |v| v * s);
            agrees_with_exact(&x, &q, 10, &format!("f64 × {s:e}"));
        }
        for s in [1e-3_f64, 1e-8, 1e-18] {
            let x = data(60, 8, 3, |v| v * s).mapv(|v| v as f32);
            let q = data(4, 8, 4, |v| v * s).mapv(|v| v as f32);
            agrees_with_exact(&x, &q, 10, &format!("f32 × {s:e}"));
        }
    }

    /// Rows at 1e-30 (stored scaled up by a power of two): a query far larger
    /// than them still ranks exactly, and the rows come back exactly.
    #[test]
    fn tiny_rows_large_queries_and_exact_embeddings() {
        use pinnersage::EmbeddingSource;
        let x = data(60, 8, 13, |v| v * 1e-30);
        let mut q = data(3, 8, 14, |v| v * 1e-30);
        q.row_mut(1).fill(1e-10);
        q.row_mut(2).fill(-1e15);
        agrees_with_exact(&x, &q, 10, "tiny rows, large queries");
        for metric in [Metric::SquaredEuclidean, Metric::InnerProduct] {
            let index = UsearchIndex::with_row_ids(x.clone(), metric, high_ef()).unwrap();
            let ids: Vec<usize> = (0..60).collect();
            assert_eq!(index.embeddings(&ids).unwrap().matrix, x, "{metric:?}");
        }
        let xf = data(20, 3, 15, |v| v * 1e-40).mapv(|v| v as f32);
        assert!(xf.iter().any(|v| v.is_subnormal()));
        for metric in METRICS {
            let index = UsearchIndex::with_row_ids(xf.clone(), metric, high_ef()).unwrap();
            let ids: Vec<usize> = (0..20).collect();
            let back = index.embeddings(&ids).unwrap().matrix;
            if metric != Metric::Cosine {
                assert_eq!(back, xf, "{metric:?}");
            }
            let h = index.search(xf.row(4), 3).unwrap();
            assert!(h.iter().all(|n| n.distance.is_finite()));
            if metric == Metric::SquaredEuclidean {
                assert_eq!((h[0].id, h[0].distance), (4, 0.0));
            }
        }
    }

    /// Data far from the origin, differences in the last digits of `f64`
    /// but well within `f32`'s exponent range.
    #[test]
    fn agrees_with_exact_at_an_offset() {
        for off in [1e4, 1e8, 1e12] {
            let x = data(60, 8, 5, |v| off + v * 1e-3);
            let q = data(4, 8, 6, |v| off + v * 1e-3);
            // squared Euclidean only: cosine and inner product are dominated by
            // the offset
            let exact = ExactIndex::with_row_ids(x.clone(), Metric::SquaredEuclidean).unwrap();
            let index =
                UsearchIndex::with_row_ids(x.clone(), Metric::SquaredEuclidean, high_ef()).unwrap();
            for q in q.rows() {
                let e: Vec<usize> = exact.search(q, 5).unwrap().iter().map(|h| h.id).collect();
                let h: Vec<usize> = index.search(q, 5).unwrap().iter().map(|h| h.id).collect();
                assert_eq!(h, e, "offset {off:e}");
            }
        }
    }

    #[test]
    fn zero_and_subnormal_vectors() {
        // cosine of a zero vector: distance 1, never NaN
        let x = ndarray::array![[0.0_f32, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        for metric in METRICS {
            let index = UsearchIndex::with_row_ids(x.clone(), metric, high_ef()).unwrap();
            let exact = ExactIndex::with_row_ids(x.clone(), metric).unwrap();
            for q in [
                ndarray::array![0.0_f32, 0.0, 0.0],
                ndarray::array![1.0, 0.5, 0.0],
                ndarray::array![1e-45, 0.0, 0.0],
            ] {
                let h = index.search(q.view(), 3).unwrap();
                let e = exact.search(q.view(), 3).unwrap();
                assert_eq!(h.len(), 3);
                let hd: Vec<f32> = h.iter().map(|n| n.distance).collect();
                let ed: Vec<f32> = e.iter().map(|n| n.distance).collect();
                assert!(hd.iter().all(|d| d.is_finite()), "{metric:?} {q}: {hd:?}");
                assert_eq!(hd, ed, "{metric:?} {q}");
            }
        }
        // an all-zero catalogue under cosine
        let zeros = Array2::<f64>::zeros((5, 4));
        let index = UsearchIndex::with_row_ids(zeros, Metric::Cosine, high_ef()).unwrap();
        let h = index
            .search(ndarray::array![1.0, 2.0, 3.0, 4.0].view(), 10)
            .unwrap();
        assert_eq!(h.len(), 5);
        assert!(h.iter().all(|n| n.distance == 1.0));
        assert_eq!(
            h.iter().map(|n| n.id).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn values_at_the_overflow_edge() {
        let p = HnswParams::default();
        // cosine: near f32::MAX is fine as long as the norm is finite
        let x = ndarray::array![[3e38_f32, 0.0], [0.0, 3e38], [1.0, 1.0]];
        let index = UsearchIndex::with_row_ids(x, Metric::Cosine, p).unwrap();
        let h = index
            .search(ndarray::array![3e38_f32, 1.0].view(), 3)
            .unwrap();
        assert_eq!(h.iter().map(|n| n.id).collect::<Vec<_>>(), vec![0, 2, 1]);
        assert!(h.iter().all(|n| n.distance.is_finite()));
        // cosine query with an overflowing norm: still a direction
        let q = ndarray::array![3e38_f32, 3e38];
        let h = index.search(q.view(), 3).unwrap();
        assert_eq!(h[0].id, 2);
        assert!(h.iter().all(|n| n.distance.is_finite()));
        // f64 1e300 under every metric
        let big = ndarray::array![[1e300_f64, 0.0], [0.0, 1.0]];
        assert!(matches!(
            UsearchIndex::with_row_ids(big.clone(), Metric::Cosine, p),
            Ok(_) | Err(Error::NormOverflow { .. })
        ));
        for metric in [Metric::SquaredEuclidean, Metric::InnerProduct] {
            assert!(matches!(
                UsearchIndex::with_row_ids(big.clone(), metric, p).err(),
                Some(Error::ItemMagnitude { row: 0, .. })
            ));
        }
        // non-finite items of every kind
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x = data(4, 3, 7, |v| v);
            x[[3, 1]] = v;
            for metric in METRICS {
                assert_eq!(
                    UsearchIndex::with_row_ids(x.clone(), metric, p).err(),
                    Some(Error::NonFiniteValue { row: 3, column: 1 })
                );
            }
        }
    }

    #[test]
    fn shapes_counts_and_filters() {
        let p = HnswParams::builder().ef_search(1).build().unwrap();
        // one item; k = 0 and usize::MAX; ef_search < k
        let one = UsearchIndex::with_row_ids(
            ndarray::array![[1.0_f32, 2.0]],
            Metric::SquaredEuclidean,
            p,
        )
        .unwrap();
        assert_eq!(
            one.search(ndarray::array![0.0, 0.0].view(), 0)
                .unwrap()
                .len(),
            0
        );
        let h = one
            .search(ndarray::array![0.0, 0.0].view(), usize::MAX)
            .unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].distance, 5.0);
        // a filter that rejects everything
        let x = data(100, 4, 8, |v| v);
        for metric in METRICS {
            let index = UsearchIndex::with_row_ids(x.clone(), metric, p).unwrap();
            let h = index.search_filtered(x.row(0), 5, &|_| true).unwrap();
            assert!(h.is_empty());
            // reject all but the farthest-ranked few: exactly those come back
            let h = index
                .search_filtered(x.row(0), usize::MAX, &|id: &usize| *id % 10 != 3)
                .unwrap();
            let mut ids: Vec<usize> = h.iter().map(|n| n.id).collect();
            ids.sort_unstable();
            assert_eq!(
                ids,
                (0..10).map(|i| 10 * i + 3).collect::<Vec<_>>(),
                "{metric:?}"
            );
            // ef_search 1 < k: still k results
            for k in [2, 37, 99, 100, 101] {
                assert_eq!(index.search(x.row(7), k).unwrap().len(), k.min(100));
            }
        }
        // dimension 0, mismatched queries, batch of the wrong width
        assert_eq!(
            UsearchIndex::with_row_ids(Array2::<f64>::zeros((3, 0)), Metric::Cosine, p).err(),
            Some(Error::ZeroDimension { rows: 3 })
        );
        let index = UsearchIndex::with_row_ids(x.clone(), Metric::Cosine, p).unwrap();
        assert_eq!(
            index.search(Array1::<f64>::zeros(0).view(), 1),
            Err(Error::DimensionMismatch {
                expected: 4,
                got: 0
            })
        );
        assert_eq!(
            index.search(Array1::<f64>::zeros(5).view(), 0),
            Err(Error::DimensionMismatch {
                expected: 4,
                got: 5
            })
        );
        assert_eq!(
            index.search_batch(Array2::<f64>::zeros((2, 3)).view(), 1),
            Err(Error::DimensionMismatch {
                expected: 4,
                got: 3
            })
        );
        assert_eq!(
            index.search(ndarray::array![0.0, f64::INFINITY, 0.0, 0.0].view(), 0),
            Err(Error::NonFiniteQuery { position: 1 })
        );
        assert_eq!(
            index.search_filtered(ndarray::array![0.0, 0.0, f64::NAN, 0.0].view(), 3, &|_| {
                false
            }),
            Err(Error::NonFiniteQuery { position: 2 })
        );
    }

    #[test]
    fn ids_duplicates_and_strings() {
        let p = HnswParams::default();
        let x = data(4, 3, 9, |v| v);
        let ids = vec!["a".to_string(), "b".into(), "a".into(), "c".into()];
        assert_eq!(
            UsearchIndex::new(ids, x.clone(), Metric::Cosine, p).err(),
            Some(Error::DuplicateId { row: 2 })
        );
        let ids = vec![String::new(), "é".into(), "\0".into(), "a b".into()];
        let index = UsearchIndex::new(ids.clone(), x.clone(), Metric::SquaredEuclidean, p).unwrap();
        for (r, id) in ids.iter().enumerate() {
            let h = index.search(x.row(r), 1).unwrap();
            assert_eq!(&h[0].id, id);
            assert_eq!(h[0].distance, 0.0);
        }
        // duplicated vectors under distinct ids: ties by row
        let dup = ndarray::array![[1.0_f32, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]];
        for metric in METRICS {
            let index = UsearchIndex::with_row_ids(dup.clone(), metric, p).unwrap();
            let h = index
                .search(ndarray::array![1.0_f32, 1.0].view(), 3)
                .unwrap();
            assert_eq!(
                h.iter().map(|n| n.id).collect::<Vec<_>>(),
                vec![0, 1, 2],
                "{metric:?}"
            );
        }
    }

    #[test]
    fn many_threads_agree_with_one() {
        let x = data(300, 8, 10, |v| v);
        let index = UsearchIndex::with_row_ids(x.clone(), Metric::InnerProduct, high_ef()).unwrap();
        let want: Vec<_> = (0..300)
            .map(|r| index.search(x.row(r), 7).unwrap())
            .collect();
        std::thread::scope(|s| {
            for t in 0..16 {
                let (index, x, want) = (&index, &x, &want);
                s.spawn(move || {
                    for r in (t..300).step_by(16) {
                        assert_eq!(index.search(x.row(r), 7).unwrap(), want[r]);
                    }
                });
            }
        });
    }

    /// Inner product over rows of very unequal norms: the largest ⟨q, x⟩
    /// first, `distance = −⟨q, x⟩`.
    #[test]
    fn inner_product_unnormalised() {
        let mut x = data(80, 6, 11, |v| v);
        for (r, mut row) in x.rows_mut().into_iter().enumerate() {
            row *= 10f64.powi((r % 7) as i32 - 3);
        }
        let q = data(5, 6, 12, |v| v * 100.0);
        agrees_with_exact(&x, &q, 8, "unnormalised");
    }
}

// ---------------------------------------------------------------------------
// The memory-lean Ward path against the matrix path.

fn both<F: Scalar>(x: &Array2<F>, w: Option<&Array1<F>>) -> (Dendrogram<F>, Dendrogram<F>) {
    let run = |s: Strategy| {
        let ward = Ward::new().strategy(s);
        match w {
            Some(w) => ward.linkage_weighted(x.view(), w.view()),
            None => ward.linkage(x.view()),
        }
        .unwrap()
    };
    (run(Strategy::Matrix), run(Strategy::Lean))
}

/// Heights equal to `tol` relative (to the largest height, floor) and the
/// same partitions at every k.
fn same_tree<F: Scalar>(x: &Array2<F>, w: Option<&Array1<F>>, tol: f64, what: &str) {
    let (a, b) = both(x, w);
    let (da, db) = (a.distances(), b.distances());
    assert_eq!(da.len(), db.len(), "{what}");
    let scale = da.iter().fold(0.0f64, |s, v| s.max(v.to_f64_lossless()));
    for (i, (p, q)) in da.iter().zip(&db).enumerate() {
        let (p, q) = (p.to_f64_lossless(), q.to_f64_lossless());
        assert!(p.is_finite() && q.is_finite(), "{what} merge {i}: {p} {q}");
        let e = common::rel_err(p, q, scale * 1e-12);
        assert!(e <= tol, "{what} merge {i}: matrix {p:e} vs lean {q:e}");
    }
    let m = a.observations();
    for k in 1..=m.min(12) {
        assert_eq!(a.cut_k(k).unwrap(), b.cut_k(k).unwrap(), "{what} k={k}");
    }
}

#[test]
fn lean_equals_matrix_at_many_scales() {
    for s in [1e-150, 1e-30, 1e-3, 1.0, 1e3, 1e30, 1e150] {
        let x = data(60, 7, 21, |v| v * s);
        same_tree(&x, None, 1e-12, &format!("× {s:e}"));
    }
    for s in [1e-18_f64, 1e-3, 1.0, 1e15] {
        let x = data(60, 7, 22, |v| v * s).mapv(|v| v as f32);
        same_tree(&x, None, 1e-5, &format!("f32 × {s:e}"));
    }
}

#[test]
fn lean_equals_matrix_far_from_the_origin() {
    let x = data(50, 5, 23, |v| 1e8 + v * 1e-4);
    // the matrix path's Gram-free distances and the lean offsets both keep
    // the digits of the differences
    same_tree(&x, None, 1e-9, "1e8 + noise");
    let x = data(50, 5, 24, |v| -3e12 + (v * 8.0).round());
    same_tree(&x, None, 1e-12, "-3e12 + integers");
}

/// Exact ties: the two paths may break them in different orders (the
/// documented "up to the order of tied merges"), so each tree must be a valid
/// sequence of global minima with the same multiset of the first heights.
fn tied_but_valid(x: &Array2<f64>, what: &str) {
    let (a, b) = both(x, None);
    common::replay_check(x.view(), None, &a, 1e-12).unwrap();
    common::replay_check(x.view(), None, &b, 1e-12).unwrap();
    // both lean runs are deterministic
    let (_, b2) = both(x, None);
    assert_eq!(format!("{b:?}"), format!("{b2:?}"), "{what}");
}

#[test]
fn lean_equals_matrix_on_ties_and_duplicates() {
    // integers: many exact ties
    let x = data(80, 2, 25, |v| (v * 3.0).round());
    tied_but_valid(&x, "integers");
    // every row duplicated
    let half = data(30, 4, 26, |v| v);
    let x = ndarray::concatenate![ndarray::Axis(0), half, half];
    same_tree(&x, None, 1e-12, "duplicated rows");
    // all rows equal
    let x = Array2::from_elem((20, 3), 0.25_f64);
    let (a, b) = both(&x, None);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(b.distances().iter().all(|&d| d == 0.0));
    // constant columns
    let mut x = data(40, 6, 27, |v| v);
    x.column_mut(1).fill(7.0);
    x.column_mut(4).fill(-1e10);
    same_tree(&x, None, 1e-9, "constant columns");
    // a lattice: ties at several scales
    let x = Array2::from_shape_fn((64, 2), |(i, k)| {
        let (a, b) = (i % 8, i / 8);
        let v = if k == 0 { a } else { b } as f64;
        v * if v < 4.0 { 1.0 } else { 2.0 }
    });
    tied_but_valid(&x, "lattice");
}

#[test]
fn lean_equals_matrix_small_m_and_extreme_d() {
    for m in [2usize, 3] {
        for d in [1usize, 1000] {
            let x = data(m, d, 28 + m as u64, |v| v);
            same_tree(&x, None, 1e-12, &format!("m={m} d={d}"));
        }
    }
    same_tree(&data(200, 1, 30, |v| v), None, 1e-12, "d=1");
    same_tree(&data(40, 1000, 31, |v| v), None, 1e-12, "d=1000");
}

/// Heights of `tree` (sorted) against the naive oracle, relative `1e-9`.
fn check_naive(x: &Array2<f64>, w: &Array1<f64>, tree: &Dendrogram<f64>, what: &str) {
    let want = naive_heights(x, w);
    let mut got = tree.distances();
    got.sort_by(f64::total_cmp);
    assert_eq!(got.len(), want.len());
    for (i, (g, n)) in got.iter().zip(&want).enumerate() {
        let e = common::rel_err(*g, *n, 0.0);
        assert!(e <= 1e-9, "{what} sorted height {i}: {g:e} vs naive {n:e}");
    }
}

#[test]
fn lean_equals_matrix_with_extreme_weights() {
    let x = data(50, 4, 32, |v| v);
    for (lo, hi) in [(1e-300, 1.0), (1.0, 1e300), (1e-150, 1e150), (1e-8, 1e8)] {
        let w = Array1::from_shape_fn(50, |i| if i % 3 == 0 { lo } else { hi });
        let (a, b) = both(&x, Some(&w));
        check_naive(&x, &w, &b, &format!("lean w {lo:e}/{hi:e}"));
        if hi / lo < 1e20 {
            // see `matrix_path_with_weights_near_underflow`
            check_naive(&x, &w, &a, &format!("matrix w {lo:e}/{hi:e}"));
        }
    }
}

/// Known defect of the matrix path (not the lean one): with weight ratios
/// of 1e300 (whatever the scale: 1e-300/1, 1/1e300, 1e-150/1e150) its
/// Lance–Williams updates lose the light clusters' contribution and the
/// heights drift 12 % from the naive oracle's (the lean path, on centroids,
/// matches it to 1e-9). Ratios of 1e16 are fine.
#[test]
#[ignore = "matrix-path defect outside src/ward/nn_chain.rs: reported"]
fn matrix_path_with_weights_near_underflow() {
    let x = data(50, 4, 32, |v| v);
    for (lo, hi) in [(1e-300, 1.0), (1.0, 1e300), (1e-150, 1e150)] {
        let w = Array1::from_shape_fn(50, |i| if i % 3 == 0 { lo } else { hi });
        let (a, _) = both(&x, Some(&w));
        check_naive(&x, &w, &a, &format!("matrix w {lo:e}/{hi:e}"));
    }
}

#[test]
fn lean_equals_matrix_f32_rounding_edge() {
    // rows differing by one or two ulps of 1.0 in f32
    let ulp = f32::EPSILON;
    let x = data(60, 3, 33, |v| v).mapv(|v| 1.0_f32 + ((v * 3.0).round() as f32) * ulp);
    let (a, b) = both(&x, None);
    let (da, db) = (a.distances(), b.distances());
    for (p, q) in da.iter().zip(&db) {
        assert!(
            (p - q).abs() <= 1e-5 * p.abs().max(ulp * ulp),
            "{p:e} vs {q:e}"
        );
    }
    for k in 1..=8 {
        assert_eq!(a.cut_k(k).unwrap(), b.cut_k(k).unwrap(), "k={k}");
    }
}

/// Naive Ward on centroids with the factor in an underflow-safe form
/// `2·w_small·(w_large/(w_small + w_large))`; sorted heights.
fn naive_heights(x: &Array2<f64>, w: &Array1<f64>) -> Vec<f64> {
    let m = x.nrows();
    let mut c: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut w = w.to_vec();
    let mut alive = vec![true; m];
    let mut heights = Vec::new();
    for _ in 1..m {
        let mut best = (f64::INFINITY, 0, 0);
        for i in 0..m {
            for j in i + 1..m {
                if !(alive[i] && alive[j]) {
                    continue;
                }
                let sq: f64 = c[i].iter().zip(&c[j]).map(|(a, b)| (a - b) * (a - b)).sum();
                let (s, l) = if w[i] < w[j] {
                    (w[i], w[j])
                } else {
                    (w[j], w[i])
                };
                let cost = 2.0 * s * (l / (s + l)) * sq;
                if cost < best.0 {
                    best = (cost, i, j);
                }
            }
        }
        let (cost, i, j) = best;
        let share = w[j] / (w[i] + w[j]);
        let merged: Vec<f64> = c[i]
            .iter()
            .zip(&c[j])
            .map(|(a, b)| a + (b - a) * share)
            .collect();
        c[i] = merged;
        w[i] += w[j];
        alive[j] = false;
        heights.push(cost);
    }
    heights.sort_by(f64::total_cmp);
    heights
}
