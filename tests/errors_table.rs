//! One test per row of `docs/errors.md` (the table of invalid inputs),
//! named after the row id.

use std::collections::HashSet;

use ndarray::{array, Array2};
use pinnersage::ann::{AnnIndex, ExactIndex, Metric, Neighbour};
use pinnersage::importance::{importance, Decay};
use pinnersage::medoid::medoid;
use pinnersage::retrieval::{blend, Blend, Candidates};
use pinnersage::ward::{
    condensed_index, linkage, linkage_condensed, linkage_weighted, Strategy, Ward,
};
use pinnersage::{
    Action, DecayRate, Error, InMemoryEmbeddings, PinnerSage, TimeUnit, TimestampUnit, UnknownItems,
};

fn all_paths() -> [Ward; 3] {
    [
        Ward::new(),
        Ward::new().strategy(Strategy::Matrix),
        Ward::new().strategy(Strategy::Lean),
    ]
}

#[test]
fn e01_no_rows() {
    let x = Array2::<f64>::zeros((0, 2));
    for w in all_paths() {
        assert_eq!(w.linkage(x.view()), Err(Error::EmptyInput));
    }
    assert_eq!(medoid(x.view(), None), Err(Error::EmptyInput));
}

#[test]
fn e02_no_columns() {
    let x = Array2::<f32>::zeros((3, 0));
    assert_eq!(linkage(x.view()), Err(Error::ZeroDimension { rows: 3 }));
    assert_eq!(
        medoid(x.view(), None),
        Err(Error::ZeroDimension { rows: 3 })
    );
}

#[test]
fn e03_non_finite_values() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let x = array![[0.0, 1.0], [bad, 0.0]];
        let e = Error::NonFiniteValue { row: 1, column: 0 };
        assert_eq!(linkage(x.view()).err(), Some(e.clone()));
        assert_eq!(medoid(x.view(), None).err(), Some(e));
    }
}

#[test]
fn e04_subnormal_values() {
    let tiny = f32::from_bits(1);
    let x = array![[0.0_f32], [tiny], [3.0 * tiny]];
    for w in all_paths() {
        assert!(matches!(
            w.linkage(x.view()),
            Err(Error::HeightUnderflow { merge: 0 })
        ));
    }
    // in f64 the same values are fine
    let x64 = x.mapv(f64::from);
    assert!(linkage(x64.view()).is_ok());
}

#[test]
fn e05_heights_beyond_the_type() {
    let x = array![[0.0_f32, 0.0], [1e30, 0.0], [0.0, 3e30]];
    for w in all_paths() {
        assert!(matches!(
            w.linkage(x.view()),
            Err(Error::HeightOverflow { .. })
        ));
    }
    let x = array![[0.0_f64], [1e160], [-1e160]];
    assert!(matches!(
        linkage(x.view()),
        Err(Error::HeightOverflow { .. })
    ));
}

#[test]
fn e06_weight_count() {
    let x = array![[0.0], [1.0]];
    let w = array![1.0];
    assert!(matches!(
        linkage_weighted(x.view(), w.view()),
        Err(Error::WeightLengthMismatch { .. })
    ));
    assert!(matches!(
        medoid(x.view(), Some(w.view())),
        Err(Error::WeightLengthMismatch { .. })
    ));
}

#[test]
fn e07_bad_weights() {
    let x = array![[0.0], [1.0]];
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let w = array![1.0, bad];
        assert!(matches!(
            linkage_weighted(x.view(), w.view()),
            Err(Error::InvalidWeight { row: 1, .. })
        ));
        assert!(matches!(
            medoid(x.view(), Some(w.view())),
            Err(Error::InvalidWeight { row: 1, .. })
        ));
    }
}

#[test]
fn e08_weight_sum_overflow() {
    let x = array![[0.0_f32], [1.0]];
    let w = array![f32::MAX, f32::MAX];
    assert_eq!(
        linkage_weighted(x.view(), w.view()),
        Err(Error::WeightSumOverflow)
    );
}

#[test]
fn e09_huge_weights_are_fine() {
    let x = array![[0.0_f32], [8.44], [20.0]];
    let w = array![1e37_f32, 1.0, 1.0];
    for ward in all_paths() {
        let t = ward.linkage_weighted(x.view(), w.view()).unwrap();
        assert!(t.distances().iter().all(|h| h.is_finite() && *h > 0.0));
    }
}

#[test]
fn e10_memory_budget() {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f64);
    assert!(matches!(
        Ward::new()
            .strategy(Strategy::Matrix)
            .memory_budget(10)
            .linkage(x.view()),
        Err(Error::MemoryBudgetExceeded { .. })
    ));
}

#[test]
fn e12_condensed_length() {
    assert_eq!(
        linkage_condensed(array![1.0_f64, 2.0].view()),
        Err(Error::CondensedLength { len: 2 })
    );
}

#[test]
fn e13_bad_dissimilarities() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            linkage_condensed(array![1.0, bad, 2.0].view()),
            Err(Error::InvalidDissimilarity { index: 1, .. })
        ));
    }
}

#[test]
fn e14_dissimilarities_near_the_largest_f32() {
    let t = linkage_condensed(array![1e38_f32, 1e38, 1e38].view()).unwrap();
    let d = t.distances();
    assert_eq!(d[0], 1e38);
    assert!((d[1] / 1e38 - 1.0).abs() < 1e-6, "{d:?}");
}

#[test]
fn e15_condensed_index() {
    assert_eq!(
        condensed_index(3, 0, 0),
        Err(Error::InvalidPair { m: 3, i: 0, j: 0 })
    );
    assert!(condensed_index(usize::MAX, usize::MAX - 2, usize::MAX - 1).is_err());
}

#[test]
fn e16_bad_threshold() {
    let t = linkage(array![[0.0_f64], [1.0], [5.0]].view()).unwrap();
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(t.cut(bad), Err(Error::InvalidThreshold { .. })));
    }
}

#[test]
fn e17_bad_cluster_counts() {
    let t = linkage(array![[0.0_f64], [1.0], [5.0]].view()).unwrap();
    for k in [0, 4, usize::MAX] {
        assert!(matches!(t.cut_k(k), Err(Error::InvalidClusterCount { .. })));
        assert!(matches!(
            t.threshold_for_k(k),
            Err(Error::InvalidClusterCount { .. })
        ));
    }
}

#[cfg(feature = "serde")]
#[test]
fn e18_malformed_dendrograms() {
    use pinnersage::ward::{Dendrogram, DendrogramFault};
    let load = |s: &str| match serde_json::from_str::<Dendrogram<f64>>(s) {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let m = |a: usize, b: usize, d: &str, s: usize| {
        format!(r#"{{"a":{a},"b":{b},"distance":{d},"size":{s}}}"#)
    };
    let cases = [
        (
            r#"{"observations":0,"merges":[]}"#.to_string(),
            "zero observations",
        ),
        (
            r#"{"observations":2,"merges":[]}"#.to_string(),
            "merges for",
        ),
        (
            format!(r#"{{"observations":2,"merges":[{}]}}"#, m(0, 5, "1.0", 2)),
            "not two existing",
        ),
        (
            format!(
                r#"{{"observations":3,"merges":[{},{}]}}"#,
                m(0, 1, "1.0", 2),
                m(1, 3, "2.0", 3)
            ),
            "already merged",
        ),
        (
            format!(
                r#"{{"observations":3,"merges":[{},{}]}}"#,
                m(0, 1, "2.0", 2),
                m(2, 3, "1.0", 3)
            ),
            "distance",
        ),
        (
            format!(r#"{{"observations":2,"merges":[{}]}}"#, m(0, 1, "-1.0", 2)),
            "distance",
        ),
        (
            format!(r#"{{"observations":2,"merges":[{}]}}"#, m(0, 1, "1.0", 7)),
            "size",
        ),
    ];
    for (json, what) in cases {
        let e = load(&json).unwrap_or_else(|| panic!("accepted {json}"));
        assert!(e.contains(what), "{json}: {e}");
    }
    let _ = DendrogramFault::NoObservations;
    assert!(load(r#"{"observations":1,"merges":[]}"#).is_none());
}

#[test]
fn e19_future_actions() {
    let d = Decay::new(DecayRate::PAPER, TimestampUnit::Seconds);
    assert!(matches!(
        d.weight_at(i64::MAX, i64::MIN),
        Err(Error::ActionInFuture { .. })
    ));
    assert!(matches!(
        importance([0, 11], 10, d),
        Err(Error::ActionInFuture { index: 1, .. })
    ));
}

#[test]
fn e20_the_longest_ages() {
    let d = Decay::new(DecayRate::PAPER, TimestampUnit::Nanoseconds);
    let w = d.weight_at(i64::MIN, i64::MAX).unwrap();
    assert!((0.0..=1.0).contains(&w));
    let r = d.roll_forward(f64::MAX, i64::MIN, i64::MAX).unwrap();
    assert!(r.is_finite());
}

#[test]
fn e21_rolling_backwards() {
    let d = Decay::from(DecayRate::PAPER);
    assert!(matches!(
        d.roll_forward(1.0, 10, 9),
        Err(Error::NowBeforeProfile { .. })
    ));
}

#[test]
fn e22_bad_importance_to_roll() {
    let d = Decay::from(DecayRate::PAPER);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            d.roll_forward(bad, 0, 1),
            Err(Error::InvalidImportance { .. })
        ));
    }
}

#[test]
fn e23_bad_decay_rate() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            DecayRate::new(bad, TimeUnit::Day),
            Err(Error::InvalidDecayRate { .. })
        ));
    }
}

#[test]
fn e24_empty_index() {
    assert!(matches!(
        ExactIndex::<usize, f32>::with_row_ids(Array2::zeros((0, 2)), Metric::Cosine),
        Err(Error::EmptyInput)
    ));
}

#[test]
fn e25_ids_and_rows() {
    assert!(matches!(
        ExactIndex::new(vec![1, 2, 3], array![[0.0_f32], [1.0]], Metric::Cosine),
        Err(Error::LengthMismatch { .. })
    ));
}

#[test]
fn e26_duplicate_ids() {
    assert!(matches!(
        ExactIndex::new(vec![7, 7], array![[0.0_f32], [1.0]], Metric::Cosine),
        Err(Error::DuplicateId { .. })
    ));
}

#[test]
fn e27_non_finite_items() {
    assert!(matches!(
        ExactIndex::with_row_ids(array![[0.0_f32], [f32::NAN]], Metric::SquaredEuclidean),
        Err(Error::NonFiniteValue { row: 1, .. })
    ));
}

#[test]
fn e28_norm_overflow() {
    assert_eq!(
        ExactIndex::with_row_ids(array![[1.0_f32, 0.0], [3e38, 3e38]], Metric::Cosine).err(),
        Some(Error::NormOverflow { row: 1 })
    );
}

#[test]
fn e29_item_magnitude() {
    for metric in [Metric::SquaredEuclidean, Metric::InnerProduct] {
        assert!(matches!(
            ExactIndex::with_row_ids(array![[0.0_f32], [1e30]], metric),
            Err(Error::ItemMagnitude { row: 1, .. })
        ));
    }
}

fn small_index() -> ExactIndex<usize, f64> {
    ExactIndex::with_row_ids(
        array![[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]],
        Metric::SquaredEuclidean,
    )
    .unwrap()
}

#[test]
fn e30_query_length() {
    assert!(matches!(
        small_index().search(array![1.0].view(), 1),
        Err(Error::DimensionMismatch { .. })
    ));
}

#[test]
fn e31_non_finite_queries() {
    let index = small_index();
    assert!(matches!(
        index.search(array![f64::NAN, 0.0].view(), 1),
        Err(Error::NonFiniteQuery { position: 0 })
    ));
    assert!(matches!(
        index.search_batch(array![[0.0, 0.0], [0.0, f64::INFINITY]].view(), 1),
        Err(Error::NonFiniteBatchQuery {
            query: 1,
            position: 1
        })
    ));
}

#[test]
fn e32_query_magnitude() {
    assert!(matches!(
        small_index().search(array![1e160, 0.0].view(), 1),
        Err(Error::QueryMagnitude { .. })
    ));
}

#[test]
fn e33_k_extremes() {
    let index = small_index();
    assert!(index.search(array![1.0, 0.0].view(), 0).unwrap().is_empty());
    assert_eq!(
        index
            .search(array![1.0, 0.0].view(), usize::MAX)
            .unwrap()
            .len(),
        3
    );
}

#[cfg(feature = "hnsw")]
#[test]
fn e34_e35_e36_hnsw() {
    use pinnersage::ann::{HnswIndex, HnswParams};
    let x = array![[0.0_f32, 1.0], [1.0, 0.0]];
    assert!(matches!(
        HnswIndex::with_row_ids(x.clone(), Metric::InnerProduct, HnswParams::default()),
        Err(Error::UnsupportedMetric { .. })
    ));
    for m in [0, 1, 256, usize::MAX] {
        assert!(matches!(
            HnswParams::builder().max_connections(m).build(),
            Err(Error::HnswMaxConnections { .. })
        ));
    }
    assert_eq!(
        HnswParams::builder().ef_construction(0).build().err(),
        Some(Error::ZeroEfConstruction)
    );
    assert_eq!(
        HnswParams::builder().ef_search(0).build().err(),
        Some(Error::ZeroEfSearch)
    );
    let col = Array2::from_shape_fn((2, 30), |(j, i)| (i * 3 + j) as f32)
        .t()
        .to_owned();
    let index =
        HnswIndex::with_row_ids(col.clone(), Metric::SquaredEuclidean, HnswParams::default())
            .unwrap();
    assert_eq!(index.search(col.row(7), 1).unwrap()[0].id, 7);
}

#[test]
fn e37_e38_blend() {
    let nb = |id: u32, distance: f32| Neighbour { id, distance };
    let ok = [nb(1, 0.1)];
    let nan = [nb(2, f32::NAN)];
    let list = |importance: f64, neighbours: &'static [Neighbour<u32, f32>]| Candidates {
        cluster: 0,
        medoid: &0,
        importance,
        neighbours,
    };
    let ok: &'static [Neighbour<u32, f32>] = Box::leak(Box::new(ok));
    let nan: &'static [Neighbour<u32, f32>] = Box::leak(Box::new(nan));
    let none = HashSet::new();
    assert!(matches!(
        blend(
            &[list(f64::NAN, ok)],
            Blend::RoundRobin,
            Metric::Cosine,
            3,
            &none
        ),
        Err(Error::InvalidImportance { index: 0, .. })
    ));
    assert!(matches!(
        blend(
            &[list(1.0, ok), list(1.0, nan)],
            Blend::RoundRobin,
            Metric::Cosine,
            3,
            &none
        ),
        Err(Error::NonFiniteDistance {
            list: 1,
            position: 0,
            ..
        })
    ));
}

#[test]
fn e39_configuration() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            PinnerSage::builder().alpha(bad).build(),
            Err(Error::InvalidThreshold { .. })
        ));
    }
    assert_eq!(
        PinnerSage::builder().target_clusters(0).build().err(),
        Some(Error::ZeroClusterTarget)
    );
    assert_eq!(
        PinnerSage::builder().max_history(Some(0)).build().err(),
        Some(Error::ZeroHistoryCap)
    );
    assert_eq!(
        PinnerSage::builder().max_clusters(Some(0)).build().err(),
        Some(Error::ZeroMaxClusters)
    );
}

fn source() -> InMemoryEmbeddings<u32, f64> {
    InMemoryEmbeddings::new(vec![0, 1, 2], array![[0.0, 1.0], [1.0, 0.0], [0.7, 0.7]]).unwrap()
}

#[test]
fn e40_future_action_in_a_profile() {
    let actions = [Action::new(0, 5), Action::new(1, 11)];
    assert!(matches!(
        PinnerSage::default().profile(&actions, &source(), 10),
        Err(Error::ActionInFuture { .. })
    ));
}

#[test]
fn e41_unknown_item() {
    let actions = [Action::new(0, 5), Action::new(9, 6)];
    let config = PinnerSage::builder()
        .unknown_items(UnknownItems::Error)
        .build()
        .unwrap();
    assert!(matches!(
        config.profile(&actions, &source(), 10),
        Err(Error::UnknownItem { .. })
    ));
}

#[test]
fn e42_no_action_in_the_window() {
    let actions = [Action::new(0, 0)];
    let now = 1000 * 86_400;
    assert!(matches!(
        PinnerSage::default().profile(&actions, &source(), now),
        Err(Error::NoActionsInWindow { .. })
    ));
}

#[test]
fn e43_profile_heights_overflow() {
    // was a profile with threshold = ∞ (JSON wrote it as null)
    let src = InMemoryEmbeddings::new(vec![0_u32, 1], array![[1e30_f32], [-1e30]]).unwrap();
    let actions = [Action::new(0, 5), Action::new(1, 6)];
    let config = PinnerSage::builder().target_clusters(1).build().unwrap();
    assert!(matches!(
        config.profile(&actions, &src, 10),
        Err(Error::HeightOverflow { .. })
    ));
}

#[test]
fn e44_synthetic_window_below_i64() {
    use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
    use rand::SeedableRng;
    let config = CatalogConfig::builder()
        .items(8)
        .dim(2)
        .topics(2)
        .build()
        .unwrap();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
    let catalog = Catalog::<f64>::generate(&config, &mut rng);
    let user = UserConfig::builder().build().unwrap();
    assert!(matches!(
        catalog.user(&user, i64::MIN + 5, &mut rng),
        Err(Error::InvalidSyntheticConfig(_))
    ));
}

#[test]
fn e45_synthetic_sizes() {
    use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
    use rand::SeedableRng;
    assert!(matches!(
        CatalogConfig::builder()
            .items(usize::MAX)
            .dim(usize::MAX)
            .build(),
        Err(Error::InvalidSyntheticConfig(_))
    ));
    let config = CatalogConfig::builder()
        .items(8)
        .dim(2)
        .topics(2)
        .build()
        .unwrap();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
    let catalog = Catalog::<f64>::generate(&config, &mut rng);
    // refused by the builder or by `user`, never a capacity panic
    let refused = match UserConfig::builder().actions(usize::MAX).build() {
        Err(e) => e,
        Ok(user) => catalog.user(&user, 0, &mut rng).unwrap_err(),
    };
    assert!(matches!(refused, Error::InvalidSyntheticConfig(_)));
}
