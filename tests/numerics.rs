//! Numerical guarantees at extreme magnitudes and offsets (issue 12, sections
//! 1 and 2): every reported Ward height is accurate to the element type's
//! precision relative to the height itself, or a typed error says that the
//! true height is not representable. References are a naive Ward in `f64`
//! on rows centred exactly (or closed forms).

use ndarray::{array, Array1, Array2};
use pinnersage::ward::{linkage_condensed, Strategy, Ward};
use pinnersage::Error;

fn paths() -> [Ward; 2] {
    [
        Ward::new().strategy(Strategy::Matrix),
        Ward::new().strategy(Strategy::Lean),
    ]
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }
}

/// Naive Ward heights in f64 of the rows (converted exactly), centred on the
/// first row (exact for rows within a factor 2 of it).
fn reference(x: &Array2<f64>, w: Option<&Array1<f64>>) -> Vec<f64> {
    let first = x.row(0).to_owned();
    let centred = x - &first;
    naive(&centred, w)
}

/// Naive O(m³·d) Ward in f64 from centroids, with the weight factor formed
/// without overflow or underflow (`2·lo·(hi/(lo + hi))`).
fn naive(x: &Array2<f64>, weights: Option<&Array1<f64>>) -> Vec<f64> {
    let m = x.nrows();
    let mut c: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut w: Vec<f64> = weights.map_or(vec![1.0; m], |w| w.to_vec());
    let mut alive = vec![true; m];
    let mut heights = Vec::new();
    for _ in 1..m {
        let mut best = (f64::INFINITY, 0, 0);
        for i in (0..m).filter(|&i| alive[i]) {
            for j in (i + 1..m).filter(|&j| alive[j]) {
                let sq: f64 = c[i].iter().zip(&c[j]).map(|(a, b)| (a - b) * (a - b)).sum();
                let (lo, hi) = (w[i].min(w[j]), w[i].max(w[j]));
                let cost = sq * (2.0 * lo * (hi / (lo + hi)));
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
    heights.sort_by(|a, b| a.partial_cmp(b).unwrap());
    heights
}

/// Tie-free test values in about [-1, 1].
fn wiggle(i: usize, j: usize) -> f64 {
    ((i as f64 + 1.0) * 1.618_033_988_7 + (j as f64 + 1.0) * 2.414_213_562).sin()
}

fn check_f64(x: Array2<f64>, w: Option<Array1<f64>>, tol: f64) {
    let want = reference(&x, w.as_ref());
    for ward in paths() {
        let tree = match &w {
            Some(w) => ward.linkage_weighted(x.view(), w.view()),
            None => ward.linkage(x.view()),
        }
        .unwrap();
        for (got, want) in tree.distances().iter().zip(&want) {
            assert!(
                rel(*got, *want) <= tol,
                "{:?}: {got:e} vs {want:e}",
                ward.configured_strategy()
            );
        }
    }
}

fn check_f32(x: Array2<f32>, w: Option<Array1<f32>>, tol: f64) {
    let x64 = x.mapv(f64::from);
    let w64 = w.as_ref().map(|w| w.mapv(f64::from));
    let want = reference(&x64, w64.as_ref());
    for ward in paths() {
        let tree = match &w {
            Some(w) => ward.linkage_weighted(x.view(), w.view()),
            None => ward.linkage(x.view()),
        }
        .unwrap();
        for (got, want) in tree.distances().iter().zip(&want) {
            assert!(
                rel(f64::from(*got), *want) <= tol,
                "{:?}: {got:e} vs {want:e}",
                ward.configured_strategy()
            );
        }
    }
}

// ---- section 1: precision near zero -------------------------------------

#[test]
fn lean_path_keeps_the_digits_of_a_cluster_at_an_offset() {
    // was 8.33334655e-18 on the lean path (exact 8.33332287e-18)
    let x = array![[50.0_f64], [50.000000001], [50.000000003]];
    check_f64(x.clone(), None, 1e-12);
    let lean = Ward::new()
        .strategy(Strategy::Lean)
        .linkage(x.view())
        .unwrap();
    let (a, b, c) = (x[[0, 0]], x[[1, 0]], x[[2, 0]]);
    let (d1, d2) = (b - a, c - a); // exact (Sterbenz)
    let second = 4.0 / 3.0 * (d2 - d1 / 2.0) * (d2 - d1 / 2.0);
    assert!(rel(lean.distances()[1], second) < 1e-12);
}

#[test]
fn f32_clusters_at_offsets_up_to_1e6() {
    for offset in [1000.0_f32, 1e6] {
        let step = offset * 1e-6;
        let x = Array2::from_shape_fn((12, 2), |(i, j)| offset + step * wiggle(i, j) as f32);
        check_f32(x, None, 1e-4);
    }
}

#[test]
fn f64_clusters_at_offsets_up_to_1e6() {
    for offset in [1.0_f64, 1e3, 1e6] {
        let step = offset * 1e-12;
        let x = Array2::from_shape_fn((12, 3), |(i, j)| offset + step * wiggle(i, j));
        check_f64(x, None, 1e-9);
    }
}

#[test]
fn tiny_f32_rows_keep_their_heights_or_report_underflow() {
    // squared distances 1e-48: below f32's normal range, so no f32 height can
    // carry them (was: every height 0, Ok)
    let x = array![[0.0_f32], [1e-24], [5e-24]];
    for ward in paths() {
        assert_eq!(
            ward.linkage(x.view()),
            Err(Error::HeightUnderflow { merge: 0 })
        );
    }
    // two f32 points 1e-21 apart (lost 2.6e-4 relative), and tiny
    // differences next to a large value: refused alike
    for x in [
        array![[0.0_f32], [1e-21]],
        array![[1.0_f32], [1e-20], [2e-20]],
    ] {
        for ward in paths() {
            assert!(matches!(
                ward.linkage(x.view()),
                Err(Error::HeightUnderflow { merge: 0 })
            ));
        }
    }
    // heights around 1e-36 are normal f32 numbers: accurate
    check_f32(array![[1e-18_f32], [2e-18], [4.5e-18], [9e-18]], None, 1e-5);
    // and f64 keeps them all
    check_f64(array![[0.0_f64], [1e-24], [5e-24]], None, 1e-12);
    check_f64(array![[0.0_f64], [1e-150], [3e-150], [7e-150]], None, 1e-12);
}

#[test]
fn magnitudes_from_1e_30_to_1e30_in_f32_and_1e_150_to_1e150_in_f64() {
    for e in [-30, -15, -5, 0, 5, 15] {
        let s = 10f32.powi(e);
        let x = Array2::from_shape_fn((8, 2), |(i, j)| s * wiggle(i, j) as f32);
        // heights ~s²: normal f32 for s ≥ 1e-18, ~1e-60 below (refused)
        match Ward::new().linkage(x.view()) {
            Ok(_) => check_f32(x, None, 1e-5),
            Err(Error::HeightUnderflow { .. }) => assert!(e < -18),
            Err(other) => panic!("{other:?}"),
        }
    }
    for e in [-150, -100, -30, 0, 30, 100, 150] {
        let s = 10f64.powi(e);
        let x = Array2::from_shape_fn((8, 2), |(i, j)| s * wiggle(i, j));
        check_f64(x, None, 1e-9);
    }
}

// ---- section 2: overflow -------------------------------------------------

#[test]
fn large_weights_do_not_overflow_the_weighted_distance() {
    // f32 weights [1e37, 1] on [[0],[8.44]]: was inf (true ≈ 142.4)
    let x = array![[0.0_f32], [8.44]];
    let w = array![1e37_f32, 1.0];
    for ward in paths() {
        let h = ward
            .linkage_weighted(x.view(), w.view())
            .unwrap()
            .distances()[0];
        let want = 2.0 * 1e37 / (1e37 + 1.0) * f64::from(8.44_f32).powi(2);
        assert!(rel(f64::from(h), want) < 1e-6, "{h}");
    }
    // f64 weights [1e144, 1e163] on [[6.3],[0]]: was inf (true ≈ 7.9e145)
    let x = array![[6.3_f64], [0.0]];
    let w = array![1e144_f64, 1e163];
    for ward in paths() {
        let h = ward
            .linkage_weighted(x.view(), w.view())
            .unwrap()
            .distances()[0];
        let want = 2.0 * 1e144 * (1e163 / (1e163 + 1e144)) * 6.3 * 6.3;
        assert!(rel(h, want) < 1e-12, "{h:e}");
    }
}

#[test]
fn large_weights_on_large_rows_give_the_true_heights() {
    // was [1e20, 1e20] on the matrix path and [1e20, inf] on the lean path
    let x = array![[0.0_f32], [1e10], [2e10]];
    let w = array![1.0_f32, 1.0, 1e19];
    check_f32(x, Some(w), 1e-5);
}

#[test]
fn weighted_heights_match_the_f64_reference_across_weight_ranges() {
    let x = array![
        [0.0_f64, 1.0],
        [3.0, -2.0],
        [0.5, 7.0],
        [-4.0, 2.0],
        [9.0, 9.0]
    ];
    for w in [
        array![1e-300, 1.0, 2.0, 3.0, 1e-200],
        array![1e150, 1e140, 1.0, 5.0, 1e100],
        array![1e300, 1e300, 1e300, 1e300, 1e300],
    ] {
        check_f64(x.clone(), Some(w), 1e-12);
    }
}

/// `f32` weights spread over 24 orders of magnitude on both sides of 1:
/// scaled so that the largest came to 1, the products of the smallest fell
/// below the normal range and the matrix path's heights were up to 57% off
/// (issue found by a breaker helper, 2026-12); centred on 1, both paths keep
/// `f32` precision.
#[test]
fn f32_weights_spread_on_both_sides_of_one_keep_their_heights() {
    let (m, d) = (200, 8);
    let x = Array2::from_shape_fn((m, d), |(i, j)| wiggle(i, j) as f32);
    let w = Array1::from_shape_fn(m, |i| 10f32.powf(12.0 * wiggle(i, 17) as f32));
    check_f32(x, Some(w), 1e-4);
}

/// Weights 480 orders of magnitude apart (a fuzz input): the matrix path's
/// Lance–Williams bound for a retired slot became `∞ − ∞`, clamped to 0, and
/// the slot merged a second time (an invalid tree). Every node must be used
/// exactly once, heights finite and sorted, on both paths.
#[test]
fn weights_480_orders_apart_give_a_valid_tree() {
    let x = Array2::from_shape_vec(
        (21, 1),
        vec![
            -1.0,
            1000.000052,
            1000.000145,
            1000.000114,
            1000.000003,
            -37.0,
            1000.000181,
            -950.1249624792468,
            93.0,
            -76.0,
            106.0,
            2.5568767474144564e-208,
            6.955964108816047e-287,
            1000.000108,
            -6.520108978142171e-78,
            1000.000019,
            -4.0,
            91.0,
            110.0,
            1000.000158,
            -128.0,
        ],
    )
    .unwrap();
    let w = Array1::from(vec![
        8.812500000000005e234,
        1000.000079,
        1.5874999999999993e-245,
        1.125e-10,
        4.837341546782085e117,
        1000.000073,
        1.3375000000000001e45,
        1.2499999999999994e-178,
        3.7454387995628696e230,
        13.0,
        1000.000084,
        1000.000093,
        1.25e16,
        1.5095957319675473e106,
        1000.000209,
        1000.000002,
        1000.000127,
        38.0,
        3.4375e34,
        1.5312500000000004e143,
        1000.000016,
    ]);
    for ward in paths() {
        let tree = ward.linkage_weighted(x.view(), w.view()).unwrap();
        let mut used = [false; 2 * 21 - 1];
        for (t, merge) in tree.merges().iter().enumerate() {
            for node in [merge.a, merge.b] {
                assert!(
                    node < 21 + t && !used[node],
                    "{:?}: {merge:?}",
                    ward.configured_strategy()
                );
                used[node] = true;
            }
        }
        let d = tree.distances();
        assert!(d.iter().all(|h: &f64| h.is_finite()) && d.windows(2).all(|p| p[0] <= p[1]));
    }
}

#[test]
fn condensed_heights_near_the_largest_f32() {
    // was [1e38, inf]
    let tree = linkage_condensed(array![1e38_f32, 1e38, 1e38].view()).unwrap();
    assert_eq!(tree.distances()[0], 1e38);
    assert!(rel(f64::from(tree.distances()[1]), 1e38) < 1e-6);
    // and tiny dissimilarities keep their digits
    let tree = linkage_condensed(array![1e-40_f64, 9e-40, 4e-40].view()).unwrap();
    assert_eq!(tree.distances()[0], 1e-40);
    assert!(rel(tree.distances()[1], 25e-40 / 3.0) < 1e-14);
}

#[test]
fn heights_beyond_the_type_are_a_typed_error() {
    // f32 rows at 1e30 (heights ~1e60), f64 rows at 1e160: were inf in an Ok
    let x = array![[0.0_f32], [1e30], [3e30]];
    for ward in paths() {
        assert!(matches!(
            ward.linkage(x.view()),
            Err(Error::HeightOverflow { .. })
        ));
    }
    let x = array![[0.0_f64], [1e160], [3e160]];
    for ward in paths() {
        assert!(matches!(
            ward.linkage(x.view()),
            Err(Error::HeightOverflow { .. })
        ));
    }
    // just below: finite and right
    check_f64(array![[-4e153_f64], [0.0], [8e153]], None, 1e-12);
    let big = linkage_condensed(array![f32::MAX, f32::MAX, 1.0].view());
    assert!(matches!(big, Err(Error::HeightOverflow { .. })) || big.is_ok());
}

// ---- exact and HNSW indexes ------------------------------------------------

mod indexes {
    use ndarray::{array, Array2};
    use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
    use pinnersage::Error;

    fn ids_and_distances<F: Copy>(
        hits: &[pinnersage::ann::Neighbour<usize, F>],
    ) -> Vec<(usize, F)> {
        hits.iter().map(|h| (h.id, h.distance)).collect()
    }

    #[test]
    fn squared_euclidean_near_duplicates_at_an_offset_f32() {
        // was ids [0, 1] at distances [0, 0]
        let items = array![[1000.0_f32], [1000.01]];
        let q = array![1000.006_f32];
        let index = ExactIndex::with_row_ids(items.clone(), Metric::SquaredEuclidean).unwrap();
        let hits = index.search(q.view(), 2).unwrap();
        let got = ids_and_distances(&hits);
        assert_eq!((got[0].0, got[1].0), (1, 0));
        let exact = |x: f32| (f64::from(q[0]) - f64::from(x)).powi(2);
        for (id, d) in got {
            let want = exact(items[[id, 0]]);
            assert!((f64::from(d) - want).abs() <= 1e-5 * want, "{d} vs {want}");
        }
        let batch = index
            .search_batch(q.view().insert_axis(ndarray::Axis(0)), 2)
            .unwrap();
        assert_eq!(batch[0], hits);
    }

    #[test]
    fn squared_euclidean_near_duplicates_at_an_offset_f64() {
        let items = array![[1e8_f64], [1e8 + 3e-4], [1e8 + 5e-4]];
        let q = array![1e8 + 2e-4];
        let index = ExactIndex::with_row_ids(items.clone(), Metric::SquaredEuclidean).unwrap();
        let hits = index.search(q.view(), 3).unwrap();
        let ids: Vec<usize> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, vec![1, 0, 2]);
        for h in &hits {
            let diff = q[0] - items[[h.id, 0]]; // exact (Sterbenz)
            assert!((h.distance - diff * diff).abs() <= 1e-15 * diff * diff);
        }
        // identical vectors: exactly 0
        let self_hit = index.search(items.row(2), 1).unwrap();
        assert_eq!((self_hit[0].id, self_hit[0].distance), (2, 0.0));
    }

    #[test]
    fn search_and_search_batch_agree_on_every_metric() {
        let items = Array2::from_shape_fn((200, 8), |(i, j)| {
            (1000.0 + ((i * 31 + j * 17) % 23) as f32 * 1e-3) * if j % 2 == 0 { 1.0 } else { -1.0 }
        });
        let queries = items.slice(ndarray::s![..20, ..]).to_owned();
        for metric in [
            Metric::SquaredEuclidean,
            Metric::Cosine,
            Metric::InnerProduct,
        ] {
            let index = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let batch = index.search_batch(queries.view(), 7).unwrap();
            for (q, b) in queries.rows().into_iter().zip(&batch) {
                assert_eq!(&index.search(q, 7).unwrap(), b, "{metric:?}");
            }
        }
    }

    #[test]
    fn an_exact_copy_of_the_query_ranks_first_by_cosine() {
        // a vector 3e-4 rad away used to rank ahead of the query's own copy
        let q = array![0.6_f32, 0.8, 1e-3];
        let (c, s) = (3e-4_f32.cos(), 3e-4_f32.sin());
        let near = array![[0.6 * c - 0.8 * s, 0.6 * s + 0.8 * c, 1e-3]];
        for copies in 1..4 {
            let mut items = Array2::zeros((copies + 1, 3));
            for r in 0..copies {
                items.row_mut(r).assign(&near.row(0));
            }
            items.row_mut(copies).assign(&q);
            let index = ExactIndex::with_row_ids(items, Metric::Cosine).unwrap();
            let hits = index.search(q.view(), copies + 1).unwrap();
            assert_eq!((hits[0].id, hits[0].distance), (copies, 0.0));
            let batch = index.search_batch(q.view().insert_axis(ndarray::Axis(0)), copies + 1);
            assert_eq!(batch.unwrap()[0], hits);
        }
    }

    #[test]
    fn values_whose_distances_overflow_are_refused() {
        // were ±inf distances in an Ok
        let limit = (f64::from(f32::MAX) / 4.0).sqrt();
        for metric in [Metric::SquaredEuclidean, Metric::InnerProduct] {
            assert_eq!(
                ExactIndex::with_row_ids(array![[1.0_f32], [1e30], [-1e30]], metric).err(),
                Some(Error::ItemMagnitude { row: 1, limit })
            );
            assert!(matches!(
                ExactIndex::with_row_ids(array![[3e38_f32], [1.0]], metric),
                Err(Error::ItemMagnitude { row: 0, .. })
            ));
        }
        let index = ExactIndex::with_row_ids(array![[3e38_f32], [1.0]], Metric::Cosine).unwrap();
        let hits = index.search(array![3e38_f32].view(), 2).unwrap();
        assert!(hits.iter().all(|h| h.distance.is_finite()));
    }

    #[cfg(feature = "hnsw")]
    #[test]
    fn hnsw_refuses_values_beyond_f32_distances_and_reports_exact_ones() {
        use pinnersage::ann::{HnswIndex, HnswParams};
        let params = HnswParams::builder().build().unwrap();
        // f64 items 1e20 apart: squared distances beyond f32 (wrong neighbours)
        let far = array![[0.0_f64], [1e20], [2e20]];
        assert!(matches!(
            HnswIndex::with_row_ids(far, Metric::SquaredEuclidean, params),
            Err(Error::ItemMagnitude { row: 1, .. })
        ));
        let items = array![[1e8_f64], [1e8 + 3e-4], [1e8 + 5e-4]];
        let index =
            HnswIndex::with_row_ids(items.clone(), Metric::SquaredEuclidean, params).unwrap();
        let hits = index.search(items.row(1), 3).unwrap();
        assert_eq!((hits[0].id, hits[0].distance), (1, 0.0));
        assert_eq!(
            index.search(array![1e30_f64].view(), 1).err(),
            Some(Error::QueryMagnitude {
                limit: (f64::from(f32::MAX) / 4.0).sqrt()
            })
        );
        let cos = HnswIndex::with_row_ids(
            array![[0.6_f32, 0.8], [0.6001, 0.8]],
            Metric::Cosine,
            params,
        )
        .unwrap();
        let hits = cos.search(array![0.6_f32, 0.8].view(), 2).unwrap();
        assert_eq!((hits[0].id, hits[0].distance), (0, 0.0));
    }
}
