//! Property tests of the Ward engine against the replay checker and a naive oracle.

mod common;

use common::{all_linkages, naive_ward_heights, rel_err, replay_check};
use ndarray::{Array1, Array2};
use pinnersage::ward::{self, condensed_index};
use proptest::prelude::*;

/// Real-valued data: ties have probability zero.
fn real_matrix(max_m: usize, max_d: usize) -> impl Strategy<Value = Array2<f64>> {
    (1..=max_m, 1..=max_d).prop_flat_map(|(m, d)| {
        proptest::collection::vec(-100.0f64..100.0, m * d)
            .prop_map(move |v| Array2::from_shape_vec((m, d), v).unwrap())
    })
}

/// Small integer grids: full of exact ties and duplicate rows.
fn tied_matrix(max_m: usize, max_d: usize) -> impl Strategy<Value = Array2<f64>> {
    (1..=max_m, 1..=max_d).prop_flat_map(|(m, d)| {
        proptest::collection::vec(0i32..4, m * d).prop_map(move |v| {
            Array2::from_shape_vec((m, d), v.into_iter().map(f64::from).collect()).unwrap()
        })
    })
}

fn max_of(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |a, &b| a.max(b))
}

fn assert_heights_close(a: &[f64], b: &[f64], tol: f64) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    let floor = max_of(a).max(max_of(b)).max(f64::MIN_POSITIVE) * 1e-12;
    for (i, (&p, &q)) in a.iter().zip(b).enumerate() {
        prop_assert!(rel_err(p, q, floor) <= tol, "merge {}: {} vs {}", i, p, q);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_merge_is_a_global_minimum(x in real_matrix(40, 6)) {
        for (path, tree) in all_linkages(x.view(), None) {
            prop_assert!(replay_check(x.view(), None, &tree, 1e-10).is_ok(), "{}: {:?}", path,
                replay_check(x.view(), None, &tree, 1e-10));
        }
    }

    #[test]
    fn every_merge_is_a_global_minimum_with_ties(x in tied_matrix(40, 3)) {
        for (path, tree) in all_linkages(x.view(), None) {
            let check = replay_check(x.view(), None, &tree, 1e-12);
            prop_assert!(check.is_ok(), "{}: {:?}", path, check);
        }
    }

    #[test]
    fn weighted_merges_are_global_minima(
        x in tied_matrix(25, 3),
        seed in proptest::collection::vec(1u8..5, 25),
    ) {
        let w: Array1<f64> = seed[..x.nrows()].iter().map(|&v| f64::from(v) * 0.75).collect();
        let tree = ward::linkage_weighted(x.view(), w.view()).unwrap();
        let check = replay_check(x.view(), Some(w.view()), &tree, 1e-12);
        prop_assert!(check.is_ok(), "{:?}", check);
    }

    #[test]
    fn matches_naive_centroid_oracle(x in real_matrix(30, 5)) {
        let oracle = naive_ward_heights(x.view(), None);
        for (_, tree) in all_linkages(x.view(), None) {
            assert_heights_close(&tree.distances(), &oracle, 1e-9)?;
        }
    }

    #[test]
    fn weighted_rows_equal_duplicated_rows(
        x in real_matrix(20, 4),
        seed in proptest::collection::vec(1usize..4, 20),
    ) {
        let m = x.nrows();
        let counts = &seed[..m];
        let w: Array1<f64> = counts.iter().map(|&c| c as f64).collect();
        let expanded_rows: Vec<f64> = (0..m)
            .flat_map(|i| std::iter::repeat_n(x.row(i).to_vec(), counts[i]).flatten())
            .collect();
        let n: usize = counts.iter().sum();
        let expanded = Array2::from_shape_vec((n, x.ncols()), expanded_rows).unwrap();
        let weighted = ward::linkage_weighted(x.view(), w.view()).unwrap().distances();
        let plain = ward::linkage(expanded.view()).unwrap().distances();
        // the expanded tree first merges the copies, at distance exactly 0
        let zeros = n - m;
        prop_assert!(plain[..zeros].iter().all(|&h| h == 0.0));
        assert_heights_close(&weighted, &plain[zeros..], 1e-9)?;
        // and the weighted oracle agrees too
        assert_heights_close(&weighted, &naive_ward_heights(x.view(), Some(w.view())), 1e-9)?;
    }

    #[test]
    fn permuting_rows_keeps_heights(x in real_matrix(30, 4), key in any::<u64>()) {
        let m = x.nrows();
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by_key(|&i| (i as u64).wrapping_mul(key | 1).rotate_left(17) ^ key);
        let permuted = x.select(ndarray::Axis(0), &order);
        let a = ward::linkage(x.view()).unwrap().distances();
        let b = ward::linkage(permuted.view()).unwrap().distances();
        assert_heights_close(&a, &b, 1e-9)?;
    }

    #[test]
    fn f32_agrees_with_f64(x in real_matrix(30, 4)) {
        let a = ward::linkage(x.view()).unwrap().distances();
        let b: Vec<f64> = ward::linkage(x.mapv(|v| v as f32).view())
            .unwrap()
            .distances()
            .into_iter()
            .map(f64::from)
            .collect();
        // random reals are well separated; f32 keeps ~7 digits
        let floor = max_of(&a) * 1e-5;
        for (i, (&p, &q)) in a.iter().zip(&b).enumerate() {
            prop_assert!(rel_err(p, q, floor) <= 1e-4, "merge {}: {} vs {}", i, p, q);
        }
    }

    /// Tied data with repeated rows: both entry points collapse the repeats
    /// the same way and give the same dendrogram, bit for bit.
    #[test]
    fn condensed_entry_point_equals_matrix_entry_point(x in tied_matrix(25, 3)) {
        let m = x.nrows();
        let mut condensed = vec![0.0; m * (m - 1) / 2];
        for i in 0..m {
            for j in i + 1..m {
                let d = &x.row(i) - &x.row(j);
                condensed[condensed_index(m, i, j).unwrap()] = d.dot(&d);
            }
        }
        let a = ward::linkage(x.view()).unwrap();
        let b = ward::linkage_condensed(Array1::from(condensed).view()).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn cuts_are_consistent(x in tied_matrix(30, 3), alpha in 0.0f64..20.0, k_seed in any::<usize>()) {
        let m = x.nrows();
        let tree = ward::linkage(x.view()).unwrap();
        // cut(alpha): exactly the merges <= alpha are applied
        let labels = tree.cut(alpha).unwrap();
        let applied = tree.iter().filter(|s| s.distance <= alpha).count();
        let k = labels.iter().max().map_or(0, |&l| l + 1);
        prop_assert_eq!(k, m - applied);
        // labels are dense, numbered by first appearance
        let mut next = 0;
        for &l in &labels {
            prop_assert!(l <= next);
            if l == next { next += 1; }
        }
        // cut_k gives exactly k clusters, nested as k shrinks
        let k = 1 + k_seed % m;
        let fine = tree.cut_k(k).unwrap();
        prop_assert_eq!(fine.iter().max().copied(), Some(k - 1));
        if k > 1 {
            let coarse = tree.cut_k(k - 1).unwrap();
            for i in 0..m {
                for j in 0..m {
                    if fine[i] == fine[j] {
                        prop_assert_eq!(coarse[i], coarse[j]);
                    }
                }
            }
        }
        // merges are sorted and sizes add up to m at the root
        prop_assert!(tree.merges().windows(2).all(|w| w[0].distance <= w[1].distance));
        if m > 1 {
            prop_assert_eq!(tree.merges()[m - 2].size, m);
        }
    }

    #[test]
    fn same_input_same_output(x in tied_matrix(30, 3)) {
        prop_assert_eq!(ward::linkage(x.view()).unwrap(), ward::linkage(x.view()).unwrap());
    }
}
