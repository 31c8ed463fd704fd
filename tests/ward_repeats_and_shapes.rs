//! Repeated rows (collapsed into weighted rows), shapes around the tile
//! kernel's panel widths and blocks, layouts and extreme weights.

mod common;

use common::{all_linkages, naive_ward_heights_if_unique, replay_check};
use ndarray::{Array1, Array2};
use pinnersage::ward::{self, Strategy as Path, Ward};
use proptest::prelude::*;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Seeded uniform values in [−0.5, 0.5).
fn pseudo_random(m: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((m, d), |_| rng.random_range(-0.5..0.5))
}

/// Heights within `tol` of the oracle's, where the oracle's are unique
/// (`None`: a near-tie made several merge sequences valid; the replay check
/// that every test here runs first is then the test).
fn assert_close(a: &[f64], b: &Option<Vec<f64>>, tol: f64) -> Result<(), TestCaseError> {
    let Some(b) = b else { return Ok(()) };
    prop_assert_eq!(a.len(), b.len());
    // the data are O(1): the oracle's centroids round at that scale
    let scale = b.iter().fold(1.0f64, |s, &v| s.max(v.abs()));
    for (k, (&p, &q)) in a.iter().zip(b).enumerate() {
        prop_assert!((p - q).abs() <= tol * scale, "height {}: {} vs {}", k, p, q);
    }
    Ok(())
}

/// Rows drawn from a small pool (so they repeat), with `-0.0` and `0.0` both
/// in the pool.
fn repeated_rows(max_m: usize, d: usize, max_pool: usize) -> impl Strategy<Value = Array2<f64>> {
    (1usize..=max_m, 1usize..=max_pool).prop_flat_map(move |(m, pool)| {
        let values = prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec![0.0, -0.0, 1.0, -2.5, 3.25, 0.1]),
                -3.0f64..3.0,
            ],
            pool * d,
        );
        (values, prop::collection::vec(0..pool, m)).prop_map(move |(v, pick)| {
            Array2::from_shape_fn((pick.len(), d), |(i, j)| v[pick[i] * d + j])
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Repeated rows on every path, weighted or not: m − 1 valid merges
    /// (replayed as Ward), the naive oracle's heights.
    #[test]
    fn many_repeats_across_panel_widths(x in repeated_rows(130, 2, 90)) {
        // up to 130 rows of up to 90 distinct values (past the panels of 24
        // and 48 rows): the matrix path and the lean path agree with the
        // naive oracle
        let oracle = naive_ward_heights_if_unique(x.view(), None);
        let tree = ward::linkage(x.view()).unwrap();
        replay_check(x.view(), None, &tree, 1e-9).map_err(TestCaseError::fail)?;
        assert_close(&tree.distances(), &oracle, 1e-9)?;
        let lean = Ward::new().strategy(Path::Lean).linkage(x.view()).unwrap();
        assert_close(&lean.distances(), &oracle, 1e-9)?;
    }

    #[test]
    fn repeated_rows_give_valid_ward_dendrograms(
        x in repeated_rows(40, 3, 4),
        wseed in 0u64..100,
        weighted in any::<bool>(),
    ) {
        let m = x.nrows();
        let w = Array1::from_shape_fn(m, |i| 1.0 + ((i as u64 * 13 + wseed) % 5) as f64 * 0.5);
        let weights = weighted.then(|| w.view());
        let oracle = naive_ward_heights_if_unique(x.view(), weights);
        for (name, tree) in all_linkages(x.view(), weights) {
            prop_assert_eq!(tree.len(), m - 1, "{}", name);
            prop_assert_eq!(tree.observations(), m);
            if let Err(e) = replay_check(x.view(), weights, &tree, 1e-9) {
                return Err(TestCaseError::fail(format!("{name}: {e}")));
            }
            assert_close(&tree.distances(), &oracle, 1e-9)?;
            // a computed dendrogram passes the validation a stored one gets
            #[cfg(feature = "serde")]
            {
                let json = serde_json::to_string(&tree).unwrap();
                let loaded = serde_json::from_str::<ward::Dendrogram<f64>>(&json);
                prop_assert!(loaded.is_ok(), "{}: {:?}", name, loaded.err());
            }
            if let Some(last) = tree.merges().last() {
                prop_assert_eq!(last.size, m);
            }
        }
        // the same rows through a column-major view
        let xt = x.t().to_owned();
        let tree = ward::linkage(xt.t()).unwrap();
        if let Err(e) = replay_check(x.view(), None, &tree, 1e-9) {
            return Err(TestCaseError::fail(format!("column-major: {e}")));
        }
        let x32 = x.mapv(|v| v as f32);
        let tree32 = ward::linkage(x32.view()).unwrap();
        prop_assert_eq!(tree32.len(), m - 1);
        if !weighted {
            let d32: Vec<f64> = tree32.distances().iter().map(|&v| f64::from(v)).collect();
            assert_close(&d32, &oracle, 1e-5)?;
        }
    }
}

/// Shapes around the panel widths (24 rows for f64, 48 for f32), the tile
/// blocks (at d = 3000 a block is one panel), d = 1, and a column-major
/// view: every path replays as Ward and matches the naive oracle.
#[test]
fn shapes_around_panel_widths_and_blocks() {
    for (m, d) in [
        (1, 1),
        (2, 1),
        (3, 1),
        (7, 2),
        (23, 1),
        (24, 1),
        (25, 1),
        (47, 5),
        (48, 5),
        (49, 5),
        (50, 8),
        (73, 3),
        (97, 9),
        (2, 3000),
        (25, 3000),
        (49, 3000),
        (50, 3000),
    ] {
        let x = pseudo_random(m, d, (m * 31 + d) as u64);
        let oracle = naive_ward_heights_if_unique(x.view(), None)
            .unwrap_or_else(|| panic!("m={m} d={d}: uniform random rows have no near-ties"));
        let xt = x.t().to_owned();
        let column_major = xt.t();
        for view in [x.view(), column_major] {
            for (name, tree) in all_linkages(view, None) {
                replay_check(x.view(), None, &tree, 1e-9)
                    .unwrap_or_else(|e| panic!("m={m} d={d} {name}: {e}"));
                let got = tree.distances();
                assert_eq!(got.len(), oracle.len(), "m={m} d={d} {name}");
                for (a, b) in got.iter().zip(&oracle) {
                    assert!(
                        (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
                        "m={m} d={d} {name}"
                    );
                }
            }
            let x32 = view.mapv(|v| v as f32);
            let tree32 = ward::linkage(x32.view()).unwrap();
            assert_eq!(tree32.len(), m - 1, "f32 m={m} d={d}");
            let par = Ward::new().strategy(Path::Matrix);
            #[cfg(feature = "parallel")]
            let par = par.parallel(true);
            assert_eq!(par.linkage(x32.view()).unwrap(), tree32, "f32 m={m} d={d}");
        }
    }
}

/// All rows identical, m = 1 and 2, and rows that differ only in the sign
/// of zero.
#[test]
fn identical_rows_edge_cases() {
    for m in [1usize, 2, 3, 24, 25, 49] {
        let x = Array2::from_elem((m, 4), 0.75);
        for (name, tree) in all_linkages(x.view(), None) {
            assert_eq!(tree.len(), m - 1, "{name}");
            assert!(tree.distances().iter().all(|&h| h == 0.0), "{name}");
            replay_check(x.view(), None, &tree, 1e-12).unwrap();
            assert_eq!(tree.cut_k(1).unwrap(), vec![0; m]);
        }
    }
    let x = ndarray::array![[0.0, -0.0], [-0.0, 0.0], [0.0, 0.0], [1.0, 0.0]];
    for (name, tree) in all_linkages(x.view(), None) {
        replay_check(x.view(), None, &tree, 1e-12).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tree.distances()[..2], [0.0, 0.0], "{name}");
    }
}

/// Distinct rows whose squared distance underflows to 0 beside true
/// repeats: still m − 1 merges in a valid order.
#[test]
fn underflowing_distances_beside_repeats() {
    let x = ndarray::array![[1e-200], [2e-200], [1e-200], [5.0], [2e-200], [3e-200]];
    for (name, tree) in all_linkages(x.view(), None) {
        assert_eq!(tree.len(), 5, "{name}");
        replay_check(x.view(), None, &tree, 1e-12).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Weights whose sum overflows f64 (so the repeats cannot be collapsed and
/// cluster weights overflow): refused, on every path, rather than NaN or
/// zero heights for rows that differ.
#[test]
fn weights_whose_sums_overflow() {
    let x = ndarray::array![[0.0], [0.0], [1.0], [3.0]];
    let w = ndarray::array![f64::MAX, f64::MAX, 1.0, 2.0];
    let paths = [
        Ward::new(),
        Ward::new().strategy(Path::Matrix),
        Ward::new().strategy(Path::Lean),
    ];
    for ward in paths {
        match ward.linkage_weighted(x.view(), w.view()) {
            Err(pinnersage::Error::WeightSumOverflow) => {}
            other => panic!("{ward:?}: {other:?}"),
        }
    }
}
