//! No panic and no non-finite number in an `Ok`, at every public entry point,
//! for arbitrary inputs with adversarial magnitudes, layouts and serde
//! payloads: each call ends in a typed `Err` or in a value that respects its
//! invariants (heights finite, ≥ 0 and sorted; labels in range; the medoid a
//! row; distances and scores finite; no excluded or duplicate
//! recommendation; importances finite and ≥ 0).
//!
//! A few cases per property in the default run (CI); the `#[ignore]`d
//! `heavy_*` variants run many more: `cargo test --release --test no_panic --
//! --ignored`.

use std::collections::HashSet;

use ndarray::{Array1, Array2, ShapeBuilder};
use pinnersage::ann::{AnnIndex, ExactIndex, Metric, Neighbour};
use pinnersage::importance::{importance, Decay};
use pinnersage::medoid::medoid;
use pinnersage::retrieval::{blend, Blend, Candidates};
use pinnersage::ward::{linkage_condensed, Dendrogram, Strategy as Path, Ward};
use pinnersage::{Action, DecayRate, InMemoryEmbeddings, PinnerSage, TimestampUnit};
use proptest::prelude::*;

/// Values from every magnitude class: zeros, subnormals, tiny, ordinary,
/// huge, near the type's largest, at offsets, and non-finite ones.
fn hostile_f64() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        3 => -10.0..10.0f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::from_bits(1)),
        1 => Just(f64::MIN_POSITIVE),
        1 => (-1.0..1.0f64).prop_map(|v| v * 1e-160),
        1 => (-1.0..1.0f64).prop_map(|v| v * 1e-30),
        1 => (-1.0..1.0f64).prop_map(|v| v * 1e30),
        1 => (-1.0..1.0f64).prop_map(|v| v * 1e155),
        1 => (-1.0..1.0f64).prop_map(|v| v * 1e300),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => (0.0..1e-3f64).prop_map(|v| 1e6 + v),
        1 => (0.0..1e-9f64).prop_map(|v| 50.0 + v),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ]
}

fn hostile_f32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        3 => -10.0..10.0f32,
        1 => Just(0.0),
        1 => Just(f32::from_bits(1)),
        1 => Just(f32::MIN_POSITIVE),
        1 => (-1.0..1.0f32).prop_map(|v| v * 1e-30),
        1 => (-1.0..1.0f32).prop_map(|v| v * 1e-20),
        1 => (-1.0..1.0f32).prop_map(|v| v * 1e18),
        1 => (-1.0..1.0f32).prop_map(|v| v * 1e30),
        1 => Just(f32::MAX),
        1 => Just(-f32::MAX),
        1 => (0.0..1e-2f32).prop_map(|v| 1000.0 + v),
        1 => Just(f32::NAN),
    ]
}

/// A matrix of hostile values in either memory order.
fn matrix<T: Clone + std::fmt::Debug + 'static>(
    value: impl Strategy<Value = T> + Clone + 'static,
    max_rows: usize,
    max_cols: usize,
) -> impl Strategy<Value = Array2<T>> {
    (0..=max_rows, 0..=max_cols, any::<bool>()).prop_flat_map(move |(m, d, fortran)| {
        proptest::collection::vec(value.clone(), m * d)
            .prop_map(move |v| Array2::from_shape_vec((m, d).set_f(fortran), v).expect("shape"))
    })
}

fn hostile_weight_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.5..4.0f64,
        1 => Just(1e-300),
        1 => Just(1e300),
        1 => Just(f64::MAX),
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => (1.0..2.0f64).prop_map(|v| v * 1e150),
    ]
}

fn check_tree<F: pinnersage::Scalar>(tree: &Dendrogram<F>, m: usize) -> Result<(), TestCaseError> {
    let d = tree.distances();
    prop_assert_eq!(d.len(), m.saturating_sub(1));
    prop_assert!(
        d.iter().all(|h| h.is_finite() && *h >= F::zero()),
        "{:?}",
        d
    );
    prop_assert!(d.windows(2).all(|w| w[0] <= w[1]), "{:?}", d);
    for k in [1, 2, m] {
        if k <= m && k > 0 {
            let labels = tree
                .cut_k(k)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(labels.len(), m);
            prop_assert!(labels.iter().all(|&l| l < k));
        }
    }
    Ok(())
}

fn ward_f64(x: &Array2<f64>, w: Option<&Array1<f64>>) -> Result<(), TestCaseError> {
    for strategy in [Path::Auto, Path::Matrix, Path::Lean] {
        let ward = Ward::new().strategy(strategy);
        let got = match w {
            Some(w) => ward.linkage_weighted(x.view(), w.view()),
            None => ward.linkage(x.view()),
        };
        if let Ok(tree) = got {
            check_tree(&tree, x.nrows())?;
        }
        if let Ok(i) = medoid(x.view(), w.map(|w| w.view())) {
            prop_assert!(i < x.nrows());
        }
    }
    Ok(())
}

fn ward_f32(x: &Array2<f32>) -> Result<(), TestCaseError> {
    for strategy in [Path::Matrix, Path::Lean] {
        if let Ok(tree) = Ward::new().strategy(strategy).linkage(x.view()) {
            check_tree(&tree, x.nrows())?;
        }
    }
    if let Ok(i) = medoid(x.view(), None) {
        prop_assert!(i < x.nrows());
    }
    Ok(())
}

fn condensed(v: &[f64]) -> Result<(), TestCaseError> {
    if let Ok(tree) = linkage_condensed(Array1::from(v.to_vec()).view()) {
        let d = tree.distances();
        prop_assert!(d.iter().all(|h| h.is_finite() && *h >= 0.0), "{:?}", d);
    }
    Ok(())
}

fn index_f32(items: &Array2<f32>, queries: &Array2<f32>, k: usize) -> Result<(), TestCaseError> {
    for metric in [
        Metric::SquaredEuclidean,
        Metric::Cosine,
        Metric::InnerProduct,
    ] {
        let Ok(index) = ExactIndex::with_row_ids(items.clone(), metric) else {
            continue;
        };
        if let Ok(batch) = index.search_batch(queries.view(), k) {
            for (q, b) in queries.rows().into_iter().zip(&batch) {
                prop_assert!(b
                    .iter()
                    .all(|h| h.distance.is_finite() && h.id < items.nrows()));
                let single = index
                    .search(q, k)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&single, b);
                // an exact copy of an item ranks at distance 0 for the
                // metrics with a zero self-distance
                // (a zero vector has no direction: its cosine distance is 1)
                let zero = q.iter().all(|v| *v == 0.0);
                if metric != Metric::InnerProduct && k > 0 && !(zero && metric == Metric::Cosine) {
                    if let Some(r) = items.rows().into_iter().position(|x| x == q) {
                        prop_assert_eq!(single[0].distance, 0.0, "{:?} row {}", metric, r);
                    }
                }
            }
        }
    }
    Ok(())
}

fn blending(distances: &[f32], importances: &[f64], n: usize) -> Result<(), TestCaseError> {
    let lists: Vec<Vec<Neighbour<u32, f32>>> = importances
        .iter()
        .enumerate()
        .map(|(j, _)| {
            distances
                .iter()
                .enumerate()
                .map(|(i, &d)| Neighbour {
                    id: ((i * 7 + j * 3) % 11) as u32,
                    distance: d,
                })
                .collect()
        })
        .collect();
    let medoids: Vec<u32> = (0..importances.len() as u32).collect();
    let candidates: Vec<Candidates<'_, u32, f32>> = lists
        .iter()
        .zip(importances)
        .enumerate()
        .map(|(j, (l, &importance))| Candidates {
            cluster: j,
            medoid: &medoids[j],
            importance,
            neighbours: l,
        })
        .collect();
    let exclude: HashSet<u32> = [2, 5].into();
    for method in [Blend::RoundRobin, Blend::Proportional] {
        for metric in [
            Metric::Cosine,
            Metric::InnerProduct,
            Metric::SquaredEuclidean,
        ] {
            if let Ok(recs) = blend(&candidates, method, metric, n, &exclude) {
                prop_assert!(recs.len() <= n);
                let mut seen = HashSet::new();
                for r in &recs {
                    prop_assert!(r.score.is_finite());
                    prop_assert!(!exclude.contains(&r.item));
                    prop_assert!(seen.insert(r.item));
                }
            }
        }
    }
    Ok(())
}

fn decay(timestamps: &[i64], now: i64, lambda: f64, imp: f64) -> Result<(), TestCaseError> {
    let Ok(rate) = DecayRate::per_day(lambda) else {
        return Ok(());
    };
    for unit in [TimestampUnit::Seconds, TimestampUnit::Nanoseconds] {
        let d = Decay::new(rate, unit);
        if let Ok(i) = importance(timestamps.iter().copied(), now, d) {
            prop_assert!(i.is_finite() && i >= 0.0);
        }
        for &t in timestamps {
            if let Ok(w) = d.weight_at(t, now) {
                prop_assert!((0.0..=1.0).contains(&w));
            }
            if let Ok(r) = d.roll_forward(imp, t, now) {
                prop_assert!(r.is_finite() && r >= 0.0);
            }
        }
    }
    Ok(())
}

fn profile(
    rows: &Array2<f32>,
    actions: &[(u32, i64)],
    now: i64,
    k: Option<usize>,
) -> Result<(), TestCaseError> {
    let n = rows.nrows();
    let Ok(source) = InMemoryEmbeddings::new((0..n as u32).collect(), rows.clone()) else {
        return Ok(());
    };
    let actions: Vec<Action<u32>> = actions.iter().map(|&(i, t)| Action::new(i, t)).collect();
    let mut builder = PinnerSage::builder().window(None);
    if let Some(k) = k {
        builder = builder.target_clusters(k);
    }
    let Ok(config) = builder.build() else {
        return Ok(());
    };
    if let Ok(p) = config.profile(&actions, &source, now) {
        if let Some(t) = p.threshold() {
            prop_assert!(t.is_finite() && t >= 0.0, "threshold {}", t);
        }
        for c in p.clusters() {
            prop_assert!(c.importance().is_finite() && c.importance() >= 0.0);
            prop_assert!((*c.medoid() as usize) < n);
        }
    }
    Ok(())
}

/// Arbitrary JSON shaped like a dendrogram (and random bytes): loading gives
/// `Err` or a dendrogram that cuts without panicking.
#[cfg(feature = "serde")]
fn dendrogram_json(m: usize, merges: &[(usize, usize, f64, usize)]) -> Result<(), TestCaseError> {
    let json = serde_json::json!({
        "observations": m,
        "merges": merges.iter().map(|&(a, b, d, s)| serde_json::json!({
            "a": a, "b": b, "distance": d, "size": s
        })).collect::<Vec<_>>(),
    });
    if let Ok(tree) = serde_json::from_value::<Dendrogram<f64>>(json) {
        check_tree(&tree, m)?;
        let _ = tree.cut(1.0);
        let _ = tree.to_scipy();
    }
    Ok(())
}

fn small_usize() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..6, 1 => Just(usize::MAX), 1 => Just(usize::MAX / 2)]
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -1000i64..1000, 1 => Just(i64::MIN), 1 => Just(i64::MAX), 1 => any::<i64>()]
}

macro_rules! suite {
    ($cases:expr, $($ignore:meta)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: $cases, ..ProptestConfig::default() })]

            $(#[$ignore])?
            #[test]
            fn ward_and_medoid_f64(x in matrix(hostile_f64(), 7, 3),
                                   w in proptest::collection::vec(hostile_weight_f64(), 0..8)) {
                ward_f64(&x, None)?;
                let w = Array1::from(w);
                ward_f64(&x, Some(&w))?;
            }

            $(#[$ignore])?
            #[test]
            fn ward_and_medoid_f32(x in matrix(hostile_f32(), 7, 3)) {
                ward_f32(&x)?;
            }

            $(#[$ignore])?
            #[test]
            fn condensed_entry(v in proptest::collection::vec(hostile_f64(), 0..11)) {
                condensed(&v)?;
            }

            $(#[$ignore])?
            #[test]
            fn exact_index(items in matrix(hostile_f32(), 6, 3),
                           q in proptest::collection::vec(hostile_f32(), 0..7),
                           k in small_usize()) {
                let d = items.ncols();
                let rows = if d == 0 { 0 } else { q.len() / d };
                let mut queries = Array2::from_shape_vec((rows, d), q[..rows * d].to_vec()).unwrap();
                // and the items themselves as queries
                if items.nrows() > 0 && d > 0 {
                    queries = ndarray::concatenate(ndarray::Axis(0), &[queries.view(), items.view()]).unwrap();
                }
                index_f32(&items, &queries, k)?;
            }

            $(#[$ignore])?
            #[test]
            fn blend_entry(d in proptest::collection::vec(hostile_f32(), 0..6),
                           imp in proptest::collection::vec(hostile_weight_f64(), 0..4),
                           n in small_usize()) {
                blending(&d, &imp, n)?;
            }

            $(#[$ignore])?
            #[test]
            fn decay_entry(ts in proptest::collection::vec(timestamp(), 0..5), now in timestamp(),
                           lambda in hostile_weight_f64(), imp in hostile_weight_f64()) {
                decay(&ts, now, lambda, imp)?;
            }

            $(#[$ignore])?
            #[test]
            fn profile_entry(x in matrix(hostile_f32(), 6, 2),
                             actions in proptest::collection::vec((0u32..8, timestamp()), 0..8),
                             now in timestamp(), k in proptest::option::of(0usize..4)) {
                profile(&x, &actions, now, k)?;
            }

            $(#[$ignore])?
            #[cfg(feature = "serde")]
            #[test]
            fn dendrogram_payloads(m in small_usize(),
                                   merges in proptest::collection::vec(
                                       (0usize..8, 0usize..8, hostile_f64(), 0usize..8), 0..6)) {
                dendrogram_json(m, &merges)?;
            }
        }
    };
}

mod quick {
    use super::*;
    suite!(if cfg!(debug_assertions) { 24 } else { 128 },);
}

mod heavy {
    use super::*;
    suite!(4000, ignore = "heavy: run with --release -- --ignored");
}
