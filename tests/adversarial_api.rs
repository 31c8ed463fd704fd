//! Hostile inputs through the public API: extreme timestamps and units,
//! malformed stored profiles and configurations, embedding sources that lie,
//! index files that were tampered with, retrieval and evaluation parameters at
//! their limits. Every probe must end in a typed error or a valid value: no
//! panic, no abort, no huge allocation, no NaN or ∞ inside an `Ok`.
//!
//! Tests marked `#[ignore = "finding: …"]` record a problem outside the files
//! this suite's fixes could touch; they fail (or abort) when run.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ndarray::{array, Array2};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use pinnersage::ann::{AnnIndex, ExactIndex, MedoidCache, Metric};
use pinnersage::importance::{importance, Decay};
use pinnersage::retrieval::{Blend, Recommender, Selection};
use pinnersage::{
    Action, DecayRate, EmbeddingBatch, EmbeddingSource, Error, InMemoryEmbeddings, PinnerSage,
    TimeUnit, TimestampUnit, UnknownItems, UserProfile,
};

const ALL_UNITS: [TimestampUnit; 8] = [
    TimestampUnit::Seconds,
    TimestampUnit::Milliseconds,
    TimestampUnit::Microseconds,
    TimestampUnit::Nanoseconds,
    TimestampUnit::SecondsPerUnit(1),
    TimestampUnit::SecondsPerUnit(u64::MAX),
    TimestampUnit::UnitsPerSecond(1),
    TimestampUnit::UnitsPerSecond(u64::MAX),
];

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Two far-apart pairs of items on the unit circle.
fn four_items() -> InMemoryEmbeddings<u32, f64> {
    InMemoryEmbeddings::new(
        vec![0, 1, 2, 3],
        array![[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.14, 0.99]],
    )
    .unwrap()
}

fn assert_valid_profile<I, F>(p: &UserProfile<I, F>) {
    for c in p.clusters() {
        assert!(
            c.importance().is_finite() && c.importance() >= 0.0,
            "importance {}",
            c.importance()
        );
    }
    if let Some(t) = p.threshold() {
        assert!(t.is_finite() && t >= 0.0);
    }
}

// ---------------------------------------------------------------------------
// TimestampUnit, windows, extreme timestamps
// ---------------------------------------------------------------------------

#[test]
fn every_unit_converts_extreme_durations_without_panicking() {
    for unit in ALL_UNITS {
        assert_eq!(unit.validate(), Ok(unit));
        let s = unit.seconds_per_tick();
        assert!(s.is_finite() && s > 0.0, "{unit}: {s}");
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_secs(u64::from(u32::MAX) * 86_400),
            Duration::MAX,
        ] {
            let ticks = unit.ticks_in(d).unwrap();
            if d == Duration::ZERO {
                assert_eq!(ticks, 0);
            }
        }
        assert!(!unit.to_string().is_empty());
    }
    for unit in [
        TimestampUnit::SecondsPerUnit(0),
        TimestampUnit::UnitsPerSecond(0),
    ] {
        assert_eq!(unit.validate(), Err(Error::InvalidTimestampUnit { unit }));
        assert_eq!(
            unit.ticks_in(Duration::MAX),
            Err(Error::InvalidTimestampUnit { unit })
        );
        for window in [None, Some(Duration::MAX)] {
            assert_eq!(
                PinnerSage::builder()
                    .timestamps(unit)
                    .window(window)
                    .build(),
                Err(Error::InvalidTimestampUnit { unit })
            );
        }
    }
}

#[test]
fn extreme_windows_build_for_every_unit() {
    for unit in ALL_UNITS {
        for builder in [
            PinnerSage::builder().window(Some(Duration::MAX)),
            PinnerSage::builder().window_days(u32::MAX),
            PinnerSage::builder().window(None),
        ] {
            match builder.timestamps(unit).build() {
                Ok(c) => assert!(c.window_ticks().is_none_or(|t| t >= 1)),
                // a window shorter than one tick of a very long unit
                Err(Error::InvalidWindow { unit: u, .. }) => {
                    assert_eq!(u, unit);
                    assert_eq!(unit, TimestampUnit::SecondsPerUnit(u64::MAX));
                }
                Err(e) => panic!("{unit}: {e}"),
            }
        }
    }
    // the message of a refused window names the unit
    let e = PinnerSage::builder()
        .timestamps(TimestampUnit::SecondsPerUnit(u64::MAX))
        .window_days(u32::MAX)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("units of"), "{e}");
}

#[test]
fn profiles_at_the_ends_of_i64_for_every_unit() {
    let source = four_items();
    for unit in ALL_UNITS {
        for window in [None, Some(Duration::MAX)] {
            let Ok(config) = PinnerSage::builder()
                .timestamps(unit)
                .window(window)
                .alpha(1.0)
                .build()
            else {
                continue;
            };
            let actions = [
                Action::new(0, i64::MIN),
                Action::new(1, i64::MIN),
                Action::new(2, i64::MAX),
                Action::new(3, 0),
            ];
            let p = config.profile(&actions, &source, i64::MAX).unwrap();
            assert_valid_profile(&p);
            // Duration::MAX is one tick of u64::MAX seconds: only the action
            // at now is inside that window
            let all_inside = config.window_ticks().is_none_or(|w| w == u64::MAX);
            let used = if all_inside { 4 } else { 1 };
            assert_eq!(p.history().used_actions, used, "{unit}");
            // now = i64::MIN: everything later is in the future
            assert_eq!(
                config.profile(&actions, &source, i64::MIN).unwrap_err(),
                Error::ActionInFuture {
                    index: 2,
                    timestamp: i64::MAX,
                    now: i64::MIN
                }
            );
            // only actions at i64::MIN seen from i64::MIN: age 0, weight 1
            let p = config.profile(&actions[..2], &source, i64::MIN).unwrap();
            assert_eq!(p.clusters()[0].importance(), 2.0);
        }
    }
}

#[test]
fn no_actions_in_window_at_the_ends_of_i64() {
    let source = four_items();
    for unit in ALL_UNITS {
        let Ok(config) = PinnerSage::builder()
            .timestamps(unit)
            .window_days(1)
            .build()
        else {
            continue;
        };
        if config.window_ticks() == Some(u64::MAX) {
            // a day of ticks of 1/u64::MAX s saturates: everything is inside
            continue;
        }
        let e = config
            .profile(&[Action::new(0, i64::MIN)], &source, i64::MAX)
            .unwrap_err();
        match &e {
            Error::NoActionsInWindow {
                actions: 1,
                newest: i64::MIN,
                now: i64::MAX,
                unit: u,
                ..
            } => assert_eq!(*u, unit),
            other => panic!("{unit}: {other:?}"),
        }
        // the age in the message is the exact i128 difference, not a wrapped one
        assert!(e.to_string().contains(&u64::MAX.to_string()), "{e}");
    }
}

#[test]
fn cluster_and_history_caps_at_usize_max() {
    let source = four_items();
    let actions = [
        Action::new(0, 3),
        Action::new(1, 2),
        Action::new(2, 1),
        Action::new(3, 0),
    ];
    for builder in [
        PinnerSage::builder().target_clusters(usize::MAX),
        PinnerSage::builder().max_clusters(Some(usize::MAX)),
        PinnerSage::builder().max_history(Some(usize::MAX)),
        PinnerSage::builder().alpha(f64::MAX),
        PinnerSage::builder().alpha(0.0),
    ] {
        let p = builder
            .build()
            .unwrap()
            .profile(&actions, &source, 3)
            .unwrap();
        assert_valid_profile(&p);
        assert!((1..=4).contains(&p.len()));
        assert_eq!(p.history().used_actions, 4);
    }
    let p = PinnerSage::builder()
        .target_clusters(usize::MAX)
        .build()
        .unwrap()
        .profile(&actions, &source, 3)
        .unwrap();
    assert_eq!(p.len(), 4);
}

/// λ = 0 with a unit whose tick is infinitely short (`UnitsPerSecond(0)`,
/// which `build` refuses but `Decay::new` is public): 0·∞ must not become a
/// NaN weight inside an `Ok`.
#[test]
fn decay_of_an_invalid_unit_gives_no_nan() {
    for unit in [
        TimestampUnit::UnitsPerSecond(0),
        TimestampUnit::SecondsPerUnit(0),
    ] {
        for rate in [DecayRate::NONE, DecayRate::PAPER] {
            let decay = Decay::new(rate, unit);
            assert!(!decay.per_tick().is_nan(), "{unit} {rate:?}");
            let w = importance([0, -5, i64::MIN], 10, decay).unwrap();
            assert!(w.is_finite() && w >= 0.0, "{unit} {rate:?}: {w}");
            let r = decay.roll_forward(3.0, 0, 7).unwrap();
            assert!(r.is_finite() && r >= 0.0, "{unit} {rate:?}: {r}");
        }
    }
    // λ = 0 means "no decay" whatever the unit
    let none = Decay::new(DecayRate::NONE, TimestampUnit::UnitsPerSecond(0));
    assert_eq!(importance([0, 1, 2], 10, none), Ok(3.0));
}

#[test]
fn huge_decay_rates_with_long_ticks_give_no_nan() {
    let source = four_items();
    let rate = DecayRate::new(f64::MAX, TimeUnit::Second).unwrap();
    for unit in ALL_UNITS {
        let config = PinnerSage::builder()
            .decay(rate)
            .timestamps(unit)
            .window(None)
            .build()
            .unwrap();
        let actions = [
            Action::new(0, 5),
            Action::new(2, 4),
            Action::new(2, i64::MIN),
        ];
        let p = config.profile(&actions, &source, 5).unwrap();
        assert_valid_profile(&p);
    }
}

/// Fully decayed interests (importance 0 everywhere) still get
/// recommendations, whatever the selection.
#[test]
fn fully_decayed_profile_still_recommends() {
    let source = four_items();
    let config = PinnerSage::builder()
        .window(None)
        .alpha(1.0)
        .build()
        .unwrap();
    let actions = [Action::new(0, i64::MIN), Action::new(2, i64::MIN)];
    let p = config.profile(&actions, &source, i64::MAX).unwrap();
    assert!(p.clusters().iter().all(|c| c.importance() == 0.0));
    let index = ExactIndex::new(
        source.ids().to_vec(),
        source.matrix().to_owned(),
        Metric::Cosine,
    )
    .unwrap();
    for selection in [
        Selection::Sample { n: 3 },
        Selection::TopK { n: 1 },
        Selection::All,
    ] {
        for blend in [Blend::RoundRobin, Blend::Proportional] {
            let rec = Recommender::builder()
                .selection(selection)
                .blend(blend)
                .n(10)
                .per_medoid(1)
                .build()
                .unwrap();
            let recs = rec
                .recommend(&p, &index, &HashSet::new(), &mut rng(1))
                .unwrap();
            assert!(!recs.is_empty(), "{selection:?} {blend:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// serde: configurations and stored profiles from plain serde_json
// ---------------------------------------------------------------------------

#[cfg(feature = "serde")]
mod serde_probes {
    use super::*;
    use serde_json::{json, Value};

    fn config_json() -> Value {
        serde_json::to_value(PinnerSage::default()).unwrap()
    }

    fn load_config(v: Value) -> Result<PinnerSage, String> {
        serde_json::from_value::<PinnerSage>(v).map_err(|e| e.to_string())
    }

    #[test]
    fn malformed_floats_in_a_configuration_are_errors() {
        let good = load_config(config_json()).unwrap();
        assert_eq!(good, PinnerSage::default());
        for bad in [
            json!("NaN"),
            json!("nan"),
            json!("inf"),
            json!("-inf"),
            json!("infinity"),
            json!("1e999"),
            json!("-1"),
            json!("abc"),
            json!(""),
            json!(" 1"),
            json!("0x10"),
            json!(true),
            json!([]),
            json!({}),
            json!(null),
            json!(-1.5),
        ] {
            let mut v = config_json();
            v["cut"] = json!({ "Threshold": bad.clone() });
            let e = load_config(v).expect_err(&format!("alpha {bad} accepted"));
            assert!(!e.is_empty());
            let mut v = config_json();
            v["lambda"] = bad.clone();
            load_config(v).expect_err(&format!("lambda {bad} accepted"));
        }
        // a number too large for f64: serde_json refuses it itself
        let text = config_json()
            .to_string()
            .replace("\"lambda\":\"0.01\"", "\"lambda\":1e999");
        assert!(text.contains("1e999"));
        assert!(serde_json::from_str::<PinnerSage>(&text).is_err());
    }

    #[test]
    fn malformed_units_windows_and_caps_in_a_configuration_are_errors() {
        let cases = [
            ("timestamps", json!({ "SecondsPerUnit": 0 })),
            ("timestamps", json!({ "UnitsPerSecond": 0 })),
            ("timestamps", json!({ "UnitsPerSecond": -1 })),
            ("timestamps", json!({ "Fortnights": 1 })),
            ("timestamps", json!("Minutes")),
            ("window", json!({ "secs": 0, "nanos": 0 })),
            (
                "window",
                json!({ "secs": u64::MAX, "nanos": 1_999_999_999u32 }),
            ),
            ("window", json!({ "secs": -1, "nanos": 0 })),
            ("window", json!("90 days")),
            ("max_history", json!(0)),
            ("max_clusters", json!(0)),
            ("cut", json!({ "Clusters": 0 })),
            ("cut", json!({ "Clusters": -3 })),
            ("unit", json!("Fortnight")),
        ];
        for (field, value) in cases {
            let mut v = config_json();
            v[field] = value.clone();
            load_config(v).expect_err(&format!("{field} = {value} accepted"));
        }
        // extreme but valid
        for (field, value) in [
            ("timestamps", json!({ "UnitsPerSecond": u64::MAX })),
            (
                "window",
                json!({ "secs": u64::MAX, "nanos": 999_999_999u32 }),
            ),
            ("window", json!(null)),
            ("max_history", json!(u64::MAX)),
        ] {
            let mut v = config_json();
            v[field] = value.clone();
            let c = load_config(v).unwrap_or_else(|e| panic!("{field} = {value}: {e}"));
            let back: PinnerSage =
                serde_json::from_value(serde_json::to_value(c).unwrap()).unwrap();
            assert_eq!(back, c);
        }
    }

    /// `ward::Dendrogram` derives `Deserialize` without validation: merges
    /// naming nodes that do not exist, sizes that do not add up, NaN
    /// distances or an absurd number of observations load, and cutting them
    /// panics (index out of bounds) or allocates by the stored count.
    #[test]
    fn a_malformed_stored_dendrogram_is_an_error() {
        use pinnersage::ward::Dendrogram;
        let cases = [
            json!({ "observations": 2, "merges": [{ "a": 5, "b": 9, "distance": 0.5, "size": 2 }] }),
            json!({ "observations": 3, "merges": [{ "a": 0, "b": 1, "distance": 0.5, "size": 2 }] }),
            json!({ "observations": 2, "merges": [{ "a": 0, "b": 1, "distance": -1.0, "size": 7 }] }),
            json!({ "observations": u64::MAX, "merges": [] }),
        ];
        for case in cases {
            if let Ok(tree) = serde_json::from_value::<Dendrogram<f64>>(case.clone()) {
                let cut =
                    std::panic::catch_unwind(|| (tree.cut(1.0).is_ok(), tree.cut_k(1).is_ok()));
                assert!(cut.is_ok(), "{case}: loaded, and cutting it panicked");
                panic!("{case}: loaded without validation");
            }
        }
    }

    #[test]
    fn malformed_recommender_configurations_are_errors() {
        let good = serde_json::to_value(Recommender::default()).unwrap();
        for (field, value) in [
            ("n", json!(0)),
            ("n", json!(-1)),
            ("per_medoid", json!(0)),
            ("per_medoid", json!("30")),
            ("selection", json!({ "Sample": { "n": 0 } })),
            ("selection", json!({ "TopK": { "n": 0 } })),
            ("selection", json!({ "Sample": { "n": -2 } })),
            ("selection", json!("Everything")),
            ("blend", json!("Bogus")),
        ] {
            let mut v = good.clone();
            v[field] = value.clone();
            assert!(
                serde_json::from_value::<Recommender>(v).is_err(),
                "{field} = {value} accepted"
            );
        }
        let mut v = good;
        v["n"] = json!(u64::MAX);
        v["selection"] = json!({ "Sample": { "n": u64::MAX } });
        let r: Recommender = serde_json::from_value(v).unwrap();
        assert_eq!(r.n(), usize::MAX);
    }

    /// A small valid profile as JSON: clusters {0, 1} and {2}.
    fn profile_json() -> Value {
        let source = InMemoryEmbeddings::new(
            vec![0u32, 1, 2],
            array![[0.0_f64, 1.0], [0.1, 1.0], [10.0, 0.0]],
        )
        .unwrap();
        let config = PinnerSage::builder().alpha(1.0).build().unwrap();
        let actions = [Action::new(0, 100), Action::new(1, 90), Action::new(2, 100)];
        let p: UserProfile<u32, f64> = config.profile(&actions, &source, 100).unwrap();
        assert_eq!(p.len(), 2);
        serde_json::to_value(&p).unwrap()
    }

    fn load_profile<F>(v: Value) -> Result<UserProfile<u32, F>, String>
    where
        F: pinnersage::Scalar + serde::de::DeserializeOwned,
    {
        let p = serde_json::from_value::<UserProfile<u32, F>>(v).map_err(|e| e.to_string())?;
        assert_valid_profile(&p);
        for c in p.clusters() {
            assert!(c.centroid().iter().all(|x| x.is_finite()));
            assert!(c.medoid_embedding().iter().all(|x| x.is_finite()));
        }
        Ok(p)
    }

    #[test]
    fn malformed_floats_in_a_profile_are_errors() {
        load_profile::<f64>(profile_json()).unwrap();
        load_profile::<f32>(profile_json()).unwrap();
        let bad_floats = [
            json!("NaN"),
            json!("inf"),
            json!("-inf"),
            json!("1e999"),
            json!("-1e999"),
            json!("x"),
            json!(""),
            json!(true),
            json!({}),
            json!([1.0]),
        ];
        for bad in &bad_floats {
            for path in [
                &["clusters", "0", "importance"][..],
                &["clusters", "1", "centroid", "0"],
                &["clusters", "1", "medoid_embedding", "1"],
                &["threshold"],
                &["config", "lambda"],
            ] {
                let mut v = profile_json();
                let mut slot = &mut v;
                for key in path {
                    slot = match key.parse::<usize>() {
                        Ok(i) => &mut slot[i],
                        Err(_) => &mut slot[*key],
                    };
                }
                *slot = bad.clone();
                load_profile::<f64>(v.clone())
                    .expect_err(&format!("f64: {path:?} = {bad} accepted"));
                load_profile::<f32>(v).expect_err(&format!("f32: {path:?} = {bad} accepted"));
            }
        }
        // finite in f64, infinite in f32: an f32 profile must refuse it
        for big in [json!("1e39"), json!(1e39), json!("3.5e38")] {
            let mut v = profile_json();
            v["clusters"][1]["centroid"][0] = big.clone();
            assert!(load_profile::<f64>(v.clone()).is_ok());
            load_profile::<f32>(v).expect_err(&format!("f32 centroid {big} accepted"));
        }
        // negative importances, as a string and as a number
        for neg in [json!("-0.5"), json!(-0.5), json!("-1e-300")] {
            let mut v = profile_json();
            v["clusters"][0]["importance"] = neg.clone();
            load_profile::<f64>(v).expect_err(&format!("importance {neg} accepted"));
        }
    }

    #[test]
    fn malformed_structure_in_a_profile_is_an_error() {
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("dim 0", Box::new(|v| v["dim"] = json!(0))),
            ("dim -1", Box::new(|v| v["dim"] = json!(-1))),
            ("dim huge", Box::new(|v| v["dim"] = json!(u64::MAX))),
            ("as_of string", Box::new(|v| v["as_of"] = json!("100"))),
            (
                "as_of before last action",
                Box::new(|v| v["as_of"] = json!(i64::MIN)),
            ),
            (
                "clusters not array",
                Box::new(|v| v["clusters"] = json!({})),
            ),
            (
                "no config",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("config");
                }),
            ),
            (
                "huge centroid",
                Box::new(|v| {
                    v["clusters"][0]["centroid"] = json!(vec!["1.0"; 100_000]);
                }),
            ),
            (
                "empty members",
                Box::new(|v| v["clusters"][0]["members"] = json!([])),
            ),
            (
                "zero actions",
                Box::new(|v| {
                    v["clusters"][1]["members"][0]["actions"] = json!(0);
                    v["clusters"][1]["action_count"] = json!(0);
                }),
            ),
            (
                "negative actions",
                Box::new(|v| v["clusters"][1]["members"][0]["actions"] = json!(-1)),
            ),
            (
                "member string id",
                Box::new(|v| v["clusters"][1]["members"][0]["item"] = json!("2")),
            ),
        ];
        for (what, edit) in edits {
            let mut v = profile_json();
            edit(&mut v);
            load_profile::<f64>(v).expect_err(&format!("{what} accepted"));
        }
        // a typed error, with a message
        let mut v = profile_json();
        v["clusters"][0]["importance"] = json!("-2");
        let e = load_profile::<f64>(v).unwrap_err();
        assert!(e.contains("importance"), "{e}");
    }

    /// Thousands of empty clusters or a million-element hint must not
    /// allocate by the hint, and must be refused quickly.
    #[test]
    fn huge_arrays_in_a_profile_are_refused_cheaply() {
        let mut v = profile_json();
        let c = v["clusters"][0].clone();
        v["clusters"] = json!(vec![c; 20_000]);
        load_profile::<f64>(v).expect_err("repeated clusters accepted");
    }

    /// Importances near `f64::MAX` are finite, but no computation gives more
    /// than one per action: an update merging two such clusters summed them
    /// to ∞ inside an `Ok`. They are refused on load.
    #[test]
    fn stored_importances_above_the_action_count_are_refused() {
        let source = four_items();
        let config = PinnerSage::builder()
            .alpha(1.0)
            .window(None)
            .build()
            .unwrap();
        let p = config
            .profile(&[Action::new(0, 10), Action::new(2, 10)], &source, 10)
            .unwrap();
        assert_eq!(p.len(), 2);
        let mut v = serde_json::to_value(&p).unwrap();
        // an update merges everything at this α
        v["config"]["cut"] = json!({ "Threshold": "1e300" });
        for imp in [json!("1.7976931348623157e308"), json!("1.5"), json!(2)] {
            let mut w = v.clone();
            w["clusters"][0]["importance"] = imp.clone();
            w["clusters"][1]["importance"] = imp.clone();
            let e = load_profile::<f64>(w).expect_err(&format!("importance {imp} accepted"));
            assert!(e.contains("action count"), "{e}");
        }
        // at the bound (one action, importance 1) it loads, and merging stays finite
        let mut q = load_profile::<f64>(v).unwrap();
        q.update(&[Action::new(1, 10), Action::new(3, 10)], &source, 10)
            .unwrap();
        assert_eq!(q.len(), 1);
        assert_valid_profile(&q);
        assert_eq!(q.clusters()[0].importance(), 4.0);
    }

    #[test]
    fn a_stored_profile_with_a_huge_dimension_does_not_update() {
        // an empty profile with an absurd dimension is valid as stored ...
        let mut v = profile_json();
        v["clusters"] = json!([]);
        v["dim"] = json!(u64::MAX);
        let mut p = load_profile::<f64>(v).unwrap();
        // ... but an update against a real source must not allocate by it
        let source = four_items();
        match p.update(&[Action::new(0, 200)], &source, 200) {
            Err(Error::DimensionMismatch { .. }) | Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
        assert_valid_profile(&p);
    }
}

// ---------------------------------------------------------------------------
// Embedding sources that lie
// ---------------------------------------------------------------------------

/// A source whose every answer can be made wrong.
struct Liar {
    dim: usize,
    /// `fill` says "found" without writing anything.
    silent: bool,
    /// Value written by `fill`.
    value: f64,
    /// Rows added to (or removed from) the batch.
    extra_rows: isize,
    /// Flags added to (or removed from) the batch's mask.
    extra_flags: isize,
    /// Columns added to the batch.
    extra_cols: usize,
    /// Use the trait's default `embeddings`.
    default_batch: bool,
}

impl Liar {
    fn honest(dim: usize) -> Self {
        Liar {
            dim,
            silent: false,
            value: 0.5,
            extra_rows: 0,
            extra_flags: 0,
            extra_cols: 0,
            default_batch: true,
        }
    }
}

impl EmbeddingSource for Liar {
    type Id = u32;
    type Elem = f64;
    fn dim(&self) -> usize {
        self.dim
    }
    fn fill(&self, id: &u32, out: &mut [f64]) -> pinnersage::Result<bool> {
        if !self.silent {
            for (j, o) in out.iter_mut().enumerate() {
                *o = self.value * f64::from(*id + 1) * if j % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        Ok(true)
    }
    fn embeddings(&self, ids: &[u32]) -> pinnersage::Result<EmbeddingBatch<f64>> {
        if self.default_batch {
            // the trait's default implementation
            struct Plain<'a>(&'a Liar);
            impl EmbeddingSource for Plain<'_> {
                type Id = u32;
                type Elem = f64;
                fn dim(&self) -> usize {
                    self.0.dim
                }
                fn fill(&self, id: &u32, out: &mut [f64]) -> pinnersage::Result<bool> {
                    self.0.fill(id, out)
                }
            }
            return Plain(self).embeddings(ids);
        }
        let rows = (ids.len() as isize + self.extra_rows).max(0) as usize;
        let flags = (ids.len() as isize + self.extra_flags).max(0) as usize;
        let mut matrix = Array2::zeros((rows, self.dim + self.extra_cols));
        for (k, id) in ids.iter().enumerate().take(rows) {
            let mut row = vec![0.0; self.dim + self.extra_cols];
            self.fill(id, &mut row)?;
            matrix
                .row_mut(k)
                .assign(&ndarray::ArrayView1::from(&row[..]));
        }
        Ok(EmbeddingBatch {
            matrix,
            found: vec![true; flags],
        })
    }
}

fn liar_profile(source: &Liar) -> pinnersage::Result<UserProfile<u32, f64>> {
    let actions = [Action::new(0, 10), Action::new(1, 10), Action::new(2, 9)];
    PinnerSage::builder()
        .unknown_items(UnknownItems::Error)
        .build()?
        .profile(&actions, source, 10)
}

#[test]
fn lying_sources_give_typed_errors() {
    // honest
    let p = liar_profile(&Liar::honest(3)).unwrap();
    assert_valid_profile(&p);
    // found without writing: zeros, still a valid profile
    let p = liar_profile(&Liar {
        silent: true,
        ..Liar::honest(3)
    })
    .unwrap();
    assert_valid_profile(&p);
    // NaN and ∞ values
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for default_batch in [true, false] {
            let e = liar_profile(&Liar {
                value,
                default_batch,
                ..Liar::honest(3)
            })
            .unwrap_err();
            assert!(
                matches!(e, Error::InvalidEmbedding { index: 0, .. }),
                "{e:?}"
            );
        }
    }
    // wrong batch shapes
    for (rows, flags) in [(-1, 0), (1, 0), (0, -1), (0, 1), (-3, -3), (5, 5)] {
        let e = liar_profile(&Liar {
            extra_rows: rows,
            extra_flags: flags,
            default_batch: false,
            ..Liar::honest(3)
        })
        .unwrap_err();
        assert!(
            matches!(e, Error::LengthMismatch { .. }),
            "{rows} {flags}: {e:?}"
        );
    }
    let e = liar_profile(&Liar {
        extra_cols: 2,
        default_batch: false,
        ..Liar::honest(3)
    })
    .unwrap_err();
    assert_eq!(
        e,
        Error::DimensionMismatch {
            expected: 3,
            got: 5
        }
    );
    // dimension 0
    let e = liar_profile(&Liar::honest(0)).unwrap_err();
    assert!(matches!(e, Error::ZeroDimension { .. }), "{e:?}");
}

/// A source claiming a dimension whose batch cannot exist: the default
/// `embeddings` must refuse it with an error, not overflow a shape (panic).
#[test]
fn a_source_with_an_absurd_dimension_is_an_error() {
    for dim in [usize::MAX, usize::MAX / 2, 1 << 62] {
        let e = liar_profile(&Liar::honest(dim)).unwrap_err();
        assert!(
            matches!(e, Error::EmbeddingBatchTooLarge { .. }),
            "{dim}: {e:?}"
        );
        assert!(e.to_string().contains(&dim.to_string()), "{e}");
    }
}

// ---------------------------------------------------------------------------
// Catalogue constructors
// ---------------------------------------------------------------------------

#[test]
fn catalogue_constructors_refuse_bad_input() {
    let none: Vec<(u32, Vec<f32>)> = Vec::new();
    assert_eq!(
        InMemoryEmbeddings::from_pairs(none.clone()).unwrap_err(),
        Error::EmptyInput
    );
    assert_eq!(
        ExactIndex::from_pairs(none, Metric::Cosine).unwrap_err(),
        Error::EmptyInput
    );
    let empty: HashMap<u32, Vec<f32>> = HashMap::new();
    assert_eq!(
        InMemoryEmbeddings::from_map(empty.clone()).unwrap_err(),
        Error::EmptyInput
    );
    assert_eq!(
        ExactIndex::from_map(empty, Metric::Cosine).unwrap_err(),
        Error::EmptyInput
    );
    // lengths
    let pairs = vec![(1u32, vec![1.0_f32]), (2, vec![1.0, 2.0])];
    assert!(matches!(
        InMemoryEmbeddings::from_pairs(pairs.clone()),
        Err(Error::VectorLength {
            row: 1,
            expected: 1,
            got: 2
        })
    ));
    assert!(matches!(
        ExactIndex::from_pairs(pairs, Metric::SquaredEuclidean),
        Err(Error::VectorLength { row: 1, .. })
    ));
    let zero = vec![(1u32, Vec::<f64>::new()), (2, Vec::new())];
    assert_eq!(
        InMemoryEmbeddings::from_pairs(zero.clone()).unwrap_err(),
        Error::ZeroDimension { rows: 2 }
    );
    assert_eq!(
        ExactIndex::from_pairs(zero, Metric::Cosine).unwrap_err(),
        Error::ZeroDimension { rows: 2 }
    );
    // NaN / ∞
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let map = HashMap::from([(9u32, vec![1.0_f32, 2.0]), (3, vec![0.0, bad])]);
        // id order: id 3 is row 0
        assert_eq!(
            InMemoryEmbeddings::from_map(map.clone()).unwrap_err(),
            Error::NonFiniteValue { row: 0, column: 1 }
        );
        for metric in [
            Metric::Cosine,
            Metric::InnerProduct,
            Metric::SquaredEuclidean,
        ] {
            assert_eq!(
                ExactIndex::from_map(map.clone(), metric).unwrap_err(),
                Error::NonFiniteValue { row: 0, column: 1 }
            );
        }
    }
    // mismatched ids / rows
    assert!(matches!(
        ExactIndex::new(vec![1u8], array![[1.0_f32], [2.0]], Metric::Cosine),
        Err(Error::LengthMismatch { .. })
    ));
    assert_eq!(
        ExactIndex::<u8, f32>::new(vec![], Array2::zeros((0, 3)), Metric::Cosine).unwrap_err(),
        Error::EmptyInput
    );
}

// ---------------------------------------------------------------------------
// Retrieval at its limits
// ---------------------------------------------------------------------------

#[test]
fn recommender_extremes_finish_and_stay_in_bounds() {
    let source = four_items();
    let config = PinnerSage::builder().alpha(1.0).build().unwrap();
    let actions = [Action::new(0, 10), Action::new(2, 5), Action::new(3, 1)];
    let profile = config.profile(&actions, &source, 10).unwrap();
    let index = ExactIndex::new(
        source.ids().to_vec(),
        source.matrix().to_owned(),
        Metric::SquaredEuclidean,
    )
    .unwrap();
    let cache = MedoidCache::builder(index.clone())
        .capacity(usize::MAX)
        .build()
        .unwrap();
    let exclude: HashSet<u32> = [0].into();
    for selection in [
        Selection::Sample { n: usize::MAX },
        Selection::TopK { n: usize::MAX },
        Selection::All,
    ] {
        for blend in [Blend::RoundRobin, Blend::Proportional] {
            for (n, per_medoid) in [(usize::MAX, usize::MAX), (usize::MAX, 1), (1, usize::MAX)] {
                let rec = Recommender::builder()
                    .selection(selection)
                    .blend(blend)
                    .n(n)
                    .per_medoid(per_medoid)
                    .build()
                    .unwrap();
                let a = rec
                    .recommend(&profile, &index, &exclude, &mut rng(3))
                    .unwrap();
                let b = rec
                    .recommend(&profile, &cache, &exclude, &mut rng(3))
                    .unwrap();
                assert_eq!(a, b);
                assert!(a.len() <= 3 && a.len() <= n);
                assert!(a.iter().all(|r| r.item != 0 && r.score.is_finite()));
                let distinct: HashSet<u32> = a.iter().map(|r| r.item).collect();
                assert_eq!(distinct.len(), a.len());
            }
        }
    }
    assert!(cache.stats().entries <= 2);
    // a profile whose embeddings do not match the index
    let wide = ExactIndex::new(
        vec![0u32, 1, 2],
        Array2::<f64>::ones((3, 5)),
        Metric::Cosine,
    )
    .unwrap();
    assert_eq!(
        Recommender::default().recommend(&profile, &wide, &exclude, &mut rng(1)),
        Err(Error::DimensionMismatch {
            expected: 5,
            got: 2
        })
    );
    assert_eq!(
        Recommender::builder()
            .selection(Selection::Sample { n: 0 })
            .build(),
        Err(Error::ZeroSelection)
    );
    assert_eq!(
        Recommender::builder().n(0).build(),
        Err(Error::ZeroRecommendations)
    );
    assert_eq!(
        MedoidCache::builder(index.clone())
            .capacity(0)
            .build()
            .err(),
        Some(Error::ZeroCacheCapacity)
    );
    // searches with k = usize::MAX and an empty query
    assert_eq!(
        index
            .search(array![1.0, 0.0].view(), usize::MAX)
            .unwrap()
            .len(),
        4
    );
    assert!(matches!(
        index.search(ndarray::Array1::<f64>::zeros(0).view(), 1),
        Err(Error::DimensionMismatch { .. })
    ));
    assert_eq!(
        index.search(array![f64::NAN, 0.0].view(), 1),
        Err(Error::NonFiniteQuery { position: 0 })
    );
}

/// Inner products whose terms overflow: `1e60 − 1e60` in `f32` came back as
/// +∞ from `search` (ranked last) and −∞ from `search_batch` (ranked first).
/// Values whose products can overflow are now refused when the index is built
/// (issue 12: no ∞ in an `Ok`); within the limit, an orthogonal item is at 0
/// and every scan agrees.
#[test]
fn inner_product_with_overflowing_terms() {
    let items = array![[1e30_f32, 1e30], [1.0, 0.0], [3e38, 0.0]];
    assert!(matches!(
        ExactIndex::with_row_ids(items, Metric::InnerProduct),
        Err(Error::ItemMagnitude { row: 0, .. })
    ));
    let items = array![[1e18_f32, 1e18], [1.0, 0.0], [5e18, 0.0]];
    let index = ExactIndex::with_row_ids(items, Metric::InnerProduct).unwrap();
    let q = array![1e18_f32, -1e18];
    let one = index.search(q.view(), 3).unwrap();
    let batch = index
        .search_batch(q.clone().insert_axis(ndarray::Axis(0)).view(), 3)
        .unwrap();
    assert_eq!(one, batch[0]);
    let got: Vec<(usize, f32)> = one.iter().map(|h| (h.id, h.distance)).collect();
    assert_eq!(got[0].0, 2);
    assert!((got[0].1 / -5e36 - 1.0).abs() < 1e-6, "{got:?}");
    assert_eq!(got[1], (1, -1e18));
    assert_eq!(got[2].0, 0);
    assert_eq!(got[2].1, 0.0);
    assert!(got.iter().all(|h| h.1.is_finite()));
    // filtered and unfiltered scans agree too
    let filtered = index.search_filtered(q.view(), 3, &|id| *id == 1).unwrap();
    assert_eq!(
        filtered.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![2, 0]
    );
}

#[test]
fn selection_with_hostile_importances() {
    let mut r = rng(5);
    for bad in [f64::NAN, f64::INFINITY, -1.0, -0.0 - f64::MIN_POSITIVE] {
        for s in [
            Selection::Sample { n: 2 },
            Selection::TopK { n: 2 },
            Selection::All,
        ] {
            assert!(matches!(
                s.select(&[1.0, bad], &mut r),
                Err(Error::InvalidImportance { index: 1, .. })
            ));
        }
    }
    // f64::MAX weights: ln(u)/w stays finite or 0, every index still drawn once
    let w = [f64::MAX, f64::MAX, f64::MIN_POSITIVE, 5e-324];
    let got = Selection::Sample { n: usize::MAX }
        .select(&w, &mut r)
        .unwrap();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2, 3]);
    assert_eq!(
        Selection::TopK { n: usize::MAX }
            .select::<f64, _>(&[], &mut r)
            .unwrap(),
        Vec::<usize>::new()
    );
}

// ---------------------------------------------------------------------------
// HNSW files
// ---------------------------------------------------------------------------

#[cfg(feature = "hnsw")]
mod hnsw_probes {
    use super::*;
    use pinnersage::ann::{HnswIndex, HnswParams};
    use std::path::PathBuf;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "pinnersage-adversarial-{tag}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn small_index() -> HnswIndex<usize, f32> {
        let x = Array2::from_shape_fn((40, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 + 0.5);
        HnswIndex::with_row_ids(x, Metric::Cosine, HnswParams::default()).unwrap()
    }

    fn meta_path(dir: &TempDir, name: &str) -> PathBuf {
        dir.0.join(format!("{name}.hnsw.meta"))
    }

    fn is_file_error(e: &Error) -> bool {
        matches!(
            e,
            Error::IndexFileMismatch { .. } | Error::Backend(_) | Error::LengthMismatch { .. }
        )
    }

    #[test]
    fn hnsw_catalogue_constructors_refuse_bad_input() {
        let params = HnswParams::default();
        let none: Vec<(u32, Vec<f32>)> = Vec::new();
        assert_eq!(
            HnswIndex::from_pairs(none, Metric::Cosine, params).err(),
            Some(Error::EmptyInput)
        );
        let empty: HashMap<u32, Vec<f32>> = HashMap::new();
        assert_eq!(
            HnswIndex::from_map(empty, Metric::Cosine, params).err(),
            Some(Error::EmptyInput)
        );
        let map = HashMap::from([(1u32, vec![1.0_f32, f32::NAN]), (2, vec![1.0, 2.0])]);
        assert_eq!(
            HnswIndex::from_map(map, Metric::SquaredEuclidean, params).err(),
            Some(Error::NonFiniteValue { row: 0, column: 1 })
        );
        let pairs = vec![(1u32, vec![1.0_f32, 0.0]), (2, vec![1.0])];
        assert!(matches!(
            HnswIndex::from_pairs(pairs, Metric::Cosine, params),
            Err(Error::VectorLength { row: 1, .. })
        ));
        assert!(matches!(
            HnswIndex::with_row_ids(array![[1.0_f32]], Metric::InnerProduct, params),
            Err(Error::UnsupportedMetric { .. })
        ));
        // values whose distances overflow f32: refused (they were ∞ in an Ok)
        let big = array![[3e38_f32, -3e38], [-3e38, 3e38], [1.0, 1.0]];
        assert!(matches!(
            HnswIndex::with_row_ids(big, Metric::SquaredEuclidean, params),
            Err(Error::ItemMagnitude { row: 0, .. })
        ));
        let big = array![[6e18_f32, -6e18], [-6e18, 6e18], [1.0, 1.0]];
        let index = HnswIndex::with_row_ids(big, Metric::SquaredEuclidean, params).unwrap();
        let hits = index
            .search(array![6e18_f32, 6e18].view(), usize::MAX)
            .unwrap();
        assert_eq!(hits.len(), 3);
        assert!(hits.iter().all(|h| h.distance.is_finite()));
        assert!(matches!(
            HnswParams::builder().max_connections(usize::MAX).build(),
            Err(Error::HnswMaxConnections { .. })
        ));
        let p = HnswParams::builder()
            .ef_construction(usize::MAX)
            .ef_search(usize::MAX)
            .build()
            .unwrap();
        let index =
            HnswIndex::with_row_ids(array![[1.0_f32, 0.0], [0.0, 1.0]], Metric::Cosine, p).unwrap();
        assert_eq!(
            index.search(array![1.0_f32, 0.1].view(), 1).unwrap()[0].id,
            0
        );
    }

    /// 64-bit FNV-1a, the checksum the metadata stores (a hostile writer can
    /// recompute it as easily).
    fn fnv(bytes: &[u8]) -> (u64, u64) {
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (bytes.len() as u64, h)
    }

    /// Replaces `{name}.hnsw.{ext}` by `bytes` and rewrites the metadata's
    /// checksum to match: only the layout checks stand between the file and
    /// `hnsw_rs`.
    fn rewrite_consistently(dir: &TempDir, name: &str, ext: &str, bytes: &[u8]) {
        let path = dir.0.join(format!("{name}.hnsw.{ext}"));
        let old = fnv(&std::fs::read(&path).unwrap());
        std::fs::write(&path, bytes).unwrap();
        let new = fnv(bytes);
        let meta = std::fs::read_to_string(meta_path(dir, name)).unwrap();
        let line = |(len, hash): (u64, u64)| format!("{ext} {len} {hash:016x}");
        assert!(meta.contains(&line(old)));
        std::fs::write(meta_path(dir, name), meta.replace(&line(old), &line(new))).unwrap();
    }

    /// A data file whose checksum matches but whose layout lies: `hnsw_rs`
    /// allocated by the stored value length and then read `dim` values from
    /// that buffer whatever its length (a zero length: an out-of-bounds read,
    /// which debug builds abort on and release builds do not notice).
    #[test]
    fn a_consistent_but_malformed_data_file_is_refused() {
        let dir = TempDir::new("data-layout");
        small_index().save(&dir.0, "a").unwrap();
        let data = std::fs::read(dir.0.join("a.hnsw.data")).unwrap();
        // header: magic u32 + dim usize; first point at 12: magic u32, row u64, length u64
        let header = 4 + std::mem::size_of::<usize>();
        let point = 4 + 8 + 8 + 4 * 4;
        assert_eq!(data.len(), header + 40 * point);
        let edits: Vec<(&str, Vec<u8>)> = vec![
            ("value length 0", {
                let mut b = data.clone();
                b[header + 12..header + 20].copy_from_slice(&0u64.to_ne_bytes());
                b
            }),
            ("value length huge", {
                let mut b = data.clone();
                b[header + 12..header + 20].copy_from_slice(&(u64::MAX / 2).to_ne_bytes());
                b
            }),
            ("dimension", {
                let mut b = data.clone();
                b[4..header].copy_from_slice(&5usize.to_ne_bytes());
                b
            }),
            ("row out of range", {
                let mut b = data.clone();
                b[header + 4..header + 12].copy_from_slice(&40u64.to_ne_bytes());
                b
            }),
            ("row twice", {
                let mut b = data.clone();
                let second = b[header + point + 4..header + point + 12].to_vec();
                b[header + 4..header + 12].copy_from_slice(&second);
                b
            }),
            ("point magic", {
                let mut b = data.clone();
                b[header] ^= 0xff;
                b
            }),
            ("truncated", data[..data.len() - 3].to_vec()),
            ("one point short", data[..data.len() - point].to_vec()),
            ("trailing bytes", [data.clone(), vec![0; 7]].concat()),
        ];
        for (what, bytes) in edits {
            rewrite_consistently(&dir, "a", "data", &bytes);
            let e = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a")
                .err()
                .unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(
                matches!(e, Error::IndexFileMismatch { .. }),
                "{what}: {e:?}"
            );
            rewrite_consistently(&dir, "a", "data", &data);
        }
        assert_eq!(
            HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a")
                .unwrap()
                .len(),
            40
        );
    }

    /// The graph file has the same weakness: `hnsw_rs` allocates by counts
    /// and lengths stored in it (and calls `process::exit` on an unknown
    /// format version). With a rewritten checksum, a changed length field
    /// aborts the process (`memory allocation of … bytes failed`). Validating
    /// it means parsing `hnsw_rs`'s graph format in the adapter. **Running
    /// this test aborts the test binary.**
    #[test]
    #[ignore = "finding: a graph file with a consistent checksum but a hostile length aborts the process inside hnsw_rs (allocation failure); only the data file's layout is checked"]
    fn a_consistent_but_malformed_graph_file_is_refused() {
        let dir = TempDir::new("graph-layout");
        small_index().save(&dir.0, "a").unwrap();
        let mut graph = std::fs::read(dir.0.join("a.hnsw.graph")).unwrap();
        graph[14] = 0xff;
        rewrite_consistently(&dir, "a", "graph", &graph);
        assert!(HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a").is_err());
    }

    #[test]
    fn empty_or_missing_directories_are_errors() {
        let dir = TempDir::new("empty");
        let e = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "nothing").unwrap_err();
        assert!(matches!(e, Error::Backend(_)), "{e:?}");
        assert!(e.to_string().contains("nothing.hnsw.meta"), "{e}");
        let missing = dir.0.join("does-not-exist");
        let e = small_index().save(&missing, "x").unwrap_err();
        assert!(matches!(e, Error::Backend(_)), "{e:?}");
    }

    #[test]
    fn tampered_files_are_refused() {
        let dir = TempDir::new("tamper");
        let index = small_index();
        index.save(&dir.0, "a").unwrap();
        let ok = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a").unwrap();
        assert_eq!(ok.len(), 40);
        // the wrong element type
        assert!(matches!(
            HnswIndex::<usize, f64>::load_with_row_ids(&dir.0, "a"),
            Err(Error::IndexFileMismatch { .. })
        ));
        // the wrong number of ids, duplicate ids
        assert!(matches!(
            HnswIndex::<usize, f32>::load(&dir.0, "a", (0..39).collect()),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            HnswIndex::<usize, f32>::load(&dir.0, "a", vec![0; 40]),
            Err(Error::DuplicateId { row: 1 })
        ));
        let meta = std::fs::read_to_string(meta_path(&dir, "a")).unwrap();
        let edits: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("garbage", "\u{0}\u{1}garbage\n".repeat(10)),
            ("truncated", meta[..meta.len() / 2].to_string()),
            ("dim", meta.replace("\ndim 4\n", "\ndim 5\n")),
            (
                "dim huge",
                meta.replace("\ndim 4\n", &format!("\ndim {}\n", usize::MAX)),
            ),
            ("len", meta.replace("\nlen 40\n", "\nlen 41\n")),
            (
                "metric",
                meta.replace("metric cosine", "metric inner_product"),
            ),
            ("norm NaN", {
                let nan = format!("{:016x}", f64::NAN.to_bits());
                let mut lines: Vec<String> = meta.lines().map(String::from).collect();
                let last = lines.len() - 1;
                lines[last] = nan;
                lines.join("\n")
            }),
            (
                "norms huge",
                meta.replace("\nnorms 40\n", &format!("\nnorms {}\n", usize::MAX)),
            ),
            (
                "m 0",
                meta.replace("max_connections 32", "max_connections 0"),
            ),
            (
                "m 999",
                meta.replace("max_connections 32", "max_connections 999"),
            ),
        ];
        for (what, text) in edits {
            if text == meta {
                panic!("edit {what} changed nothing");
            }
            std::fs::write(meta_path(&dir, "a"), &text).unwrap();
            let e = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a")
                .err()
                .unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(is_file_error(&e), "{what}: {e:?}");
            // with explicit ids of the edited length too
            let n = if what == "len" { 41 } else { 40 };
            let e = HnswIndex::<usize, f32>::load(&dir.0, "a", (0..n).collect())
                .err()
                .unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(is_file_error(&e), "{what}: {e:?}");
        }
        std::fs::write(meta_path(&dir, "a"), &meta).unwrap();
        // truncated and corrupted data and graph files
        for file in ["a.hnsw.data", "a.hnsw.graph"] {
            let path = dir.0.join(file);
            let bytes = std::fs::read(&path).unwrap();
            for variant in 0..3 {
                let mut b = bytes.clone();
                match variant {
                    0 => b.truncate(b.len() / 2),
                    1 => {
                        let mid = b.len() / 2;
                        b[mid] ^= 0xff;
                    }
                    _ => b.clear(),
                }
                std::fs::write(&path, &b).unwrap();
                let e = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a").unwrap_err();
                assert!(
                    matches!(e, Error::IndexFileMismatch { .. }),
                    "{file} {variant}: {e:?}"
                );
            }
            std::fs::write(&path, &bytes).unwrap();
        }
        // files of another save under this name (consistent checksums, other shape)
        let other = HnswIndex::with_row_ids(
            Array2::from_shape_fn((7, 3), |(i, j)| (i + j) as f32 + 1.0),
            Metric::Cosine,
            HnswParams::default(),
        )
        .unwrap();
        other.save(&dir.0, "b").unwrap();
        for ext in ["graph", "data"] {
            std::fs::copy(
                dir.0.join(format!("b.hnsw.{ext}")),
                dir.0.join(format!("a.hnsw.{ext}")),
            )
            .unwrap();
        }
        assert!(matches!(
            HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a"),
            Err(Error::IndexFileMismatch { .. })
        ));
        // b's meta with a's data: consistent with a's files? No: refused
        std::fs::copy(meta_path(&dir, "b"), meta_path(&dir, "a")).unwrap();
        let loaded = HnswIndex::<usize, f32>::load_with_row_ids(&dir.0, "a").unwrap();
        assert_eq!((loaded.len(), loaded.dim()), (7, 3));
    }
}

// ---------------------------------------------------------------------------
// Offline evaluation
// ---------------------------------------------------------------------------

mod eval_probes {
    use super::*;
    use pinnersage::eval::metrics::{
        per_embedding_budget, ranking, recall, relevance, relevance_from_best, Scored,
    };
    use pinnersage::eval::{
        evaluate, markdown, sample_by_weight, summarise, user_days, ward_interests, EvalError,
        ItemSpace, Log, Protocol,
    };

    #[test]
    fn metrics_on_empty_and_hostile_inputs() {
        let cos = |a: usize, b: usize| if a == b { 1.0 } else { 0.0 };
        assert_eq!(relevance(&[], &[1], cos, 0.5), Err(EvalError::NoTargets));
        assert_eq!(relevance(&[1], &[], cos, 0.5), Ok(0.0));
        for tau in [f64::NAN, f64::INFINITY, -1.5, 1.0 + 1e-12] {
            assert!(matches!(
                relevance(&[1], &[1], cos, tau),
                Err(EvalError::InvalidThreshold { .. })
            ));
            assert!(matches!(
                relevance_from_best(&[0.5], &[0.5, tau]),
                Err(EvalError::InvalidThreshold { .. })
            ));
        }
        assert_eq!(relevance_from_best(&[], &[0.5]), Err(EvalError::NoTargets));
        // a cosine that returns NaN counts as "not relevant", never NaN
        let r = relevance(&[1, 2], &[3], |_, _| f64::NAN, 0.0).unwrap();
        assert_eq!(r, 0.0);
        let r = relevance_from_best(&[f64::NAN, 1.0], &[-1.0, 1.0]).unwrap();
        assert!(r.iter().all(|v| v.is_finite()));
        assert_eq!(recall(&[], &[1]), Err(EvalError::NoTargets));
        assert_eq!(recall(&[1, 1], &[]), Ok(0.0));
        let s = |item, score, positive| Scored {
            item,
            score,
            positive,
        };
        assert_eq!(ranking(&[]), Err(EvalError::NoTargets));
        assert_eq!(ranking(&[s(1, 0.5, false)]), Err(EvalError::NoTargets));
        for bad in [f64::NAN, f64::INFINITY] {
            assert_eq!(
                ranking(&[s(1, 0.5, true), s(2, bad, false)]),
                Err(EvalError::NonFiniteScore { item: 2 })
            );
        }
        assert_eq!(per_embedding_budget(usize::MAX, 0), usize::MAX);
        assert_eq!(per_embedding_budget(0, usize::MAX), 0);
    }

    /// Finite rows whose squared norm overflows or underflows `f64` still
    /// have a direction: the space must normalise them, not call them zero
    /// or non-finite.
    #[test]
    fn item_space_normalises_very_large_and_very_small_rows() {
        let x = array![
            [1e200_f64, 0.0],
            [0.0, 1e-200],
            [3e-320, 4e-320],
            [1.0, 1.0]
        ];
        let mut s = ItemSpace::new(x.view(), 4).unwrap();
        let e = s.embeddings().to_owned();
        for row in e.rows() {
            let n: f64 = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((n - 1.0).abs() < 1e-12, "{row}");
        }
        assert!((s.cosine(0, 3).unwrap() - 0.5_f64.sqrt()).abs() < 1e-12);
        // f32 at the top of its range
        let x = array![[f32::MAX, f32::MAX], [1.0, 0.0]];
        assert!(ItemSpace::new(x.view(), 1).is_ok());
        // still refused: zero, NaN, ∞, empty
        for bad in [
            array![[0.0, 0.0]],
            array![[f64::NAN, 1.0]],
            array![[f64::INFINITY, 1.0]],
        ] {
            assert_eq!(
                ItemSpace::new(bad.view(), 1).unwrap_err(),
                EvalError::BadEmbedding { row: 0 }
            );
        }
        assert!(matches!(
            ItemSpace::new(Array2::<f64>::zeros((0, 2)).view(), 1),
            Err(EvalError::EmptyEmbeddings { .. })
        ));
    }

    /// `sample_by_weight` with weights whose sum overflows: still
    /// proportional (here 50/50), not always the first index.
    #[test]
    fn sample_by_weight_with_overflowing_weights() {
        let mut r = rng(9);
        let mut first = 0;
        for _ in 0..200 {
            let s = sample_by_weight(&[f64::MAX, f64::MAX, 0.0], 1, &mut r);
            assert_eq!(s.len(), 1);
            first += usize::from(s[0] == 0);
        }
        assert!(
            (60..=140).contains(&first),
            "index 0 drawn {first} times of 200"
        );
        assert_eq!(
            sample_by_weight(&[], usize::MAX, &mut r),
            Vec::<usize>::new()
        );
    }

    fn tiny_log() -> (Log, ItemSpace) {
        let x = array![
            [1.0, 0.0],
            [0.9, 0.1],
            [0.0, 1.0],
            [0.1, 0.9],
            [0.7, 0.7],
            [-1.0, 0.2]
        ];
        let space = ItemSpace::new(x.view(), 4).unwrap();
        let d = 86_400;
        let mut t: Vec<(u64, usize, i64)> = (0..8).map(|k| (1, k % 4, k as i64 * 60)).collect();
        t.push((1, 1, d + 5));
        t.push((1, 4, d + 6));
        t.extend((0..6).map(|k| (2, (k + 2) % 6, k as i64 * 30)));
        t.push((2, 5, 3 * d));
        (Log::from_triples(t, 6).unwrap(), space)
    }

    #[test]
    fn protocol_builder_refuses_bad_parameters() {
        let bad = [
            Protocol::builder().taus([f64::NAN, 0.5, 0.6]),
            Protocol::builder().taus([0.5, 1.5, 0.6]),
            Protocol::builder().taus([0.5, 0.5, f64::NEG_INFINITY]),
            Protocol::builder().alpha(f64::NAN),
            Protocol::builder().alpha(-1.0),
            Protocol::builder().alphas(vec![1.0, f64::INFINITY]),
            Protocol::builder().alpha_per_action(vec![-0.1]),
            Protocol::builder().decay_lambdas(vec![f64::NAN]),
            Protocol::builder().k_cuts(vec![3, 0]),
            Protocol::builder().lift_tau(3),
            Protocol::builder().lift_tau(usize::MAX),
            Protocol::builder().budget(0),
            Protocol::builder().seeds(0),
            Protocol::builder().eval_days(0),
            Protocol::builder().kmeans_k(0),
            Protocol::builder().top(0),
            // a day without history: every method would fail on it (k-means
            // used to report "invalid protocol parameter `kmeans`")
            Protocol::builder().min_history(0),
        ];
        for b in bad {
            let e = b.clone().build().expect_err(&format!("{b:?}"));
            assert!(matches!(e, EvalError::InvalidParameter { .. }), "{e:?}");
            assert!(!e.to_string().is_empty());
        }
    }

    /// Extreme but valid protocols run to the end on a tiny log.
    #[test]
    fn evaluate_with_extreme_protocols() {
        let (log, mut space) = tiny_log();
        let protocols = [
            Protocol::builder()
                .budget(usize::MAX)
                .negatives(usize::MAX)
                .eval_days(usize::MAX)
                .min_history(1)
                .window_days(u32::MAX)
                .kmeans_k(usize::MAX)
                .top(usize::MAX)
                .seeds(1),
            Protocol::builder().window_days(0).seeds(1).seed(u64::MAX),
            Protocol::builder().k_cuts(vec![1, usize::MAX]).seeds(1),
            Protocol::builder()
                .k_cuts(vec![usize::MAX - 2, usize::MAX - 1])
                .alphas(vec![0.0])
                .seeds(1),
            Protocol::builder()
                .alpha_per_action(vec![0.0, 1e300])
                .seeds(1),
            // c · actions overflows to ∞: cut as at f64::MAX (was InvalidThreshold ∞)
            Protocol::builder()
                .alpha_per_action(vec![f64::MAX])
                .seeds(1),
            Protocol::builder().alpha(f64::MAX).seeds(1),
            Protocol::builder().decay_lambdas(vec![f64::MAX]).seeds(1),
        ];
        for b in protocols {
            let p = b.clone().build().unwrap();
            let ev =
                evaluate(&log, &mut space, &p, |_, _| {}).unwrap_or_else(|e| panic!("{b:?}: {e}"));
            assert!(ev.user_days >= 1, "{b:?}");
        }
    }

    /// k-means returned `Ok` (with NaN centres) for a NaN row; the Ward
    /// diagnostics validated nothing for a single row (weights of the wrong
    /// length, α = NaN were accepted) but everything for two.
    #[test]
    fn baselines_and_diagnostics_validate_like_the_core() {
        use pinnersage::eval::baselines::{complete_linkage, kmeans};
        use pinnersage::eval::diagnostic::interest_count;
        for x in [
            array![[f64::NAN, 0.0], [1.0, 0.0], [0.0, 1.0]],
            array![[1.0, 0.0], [f64::INFINITY, 0.0], [0.0, 1.0]],
        ] {
            let row = usize::from(x[[0, 0]].is_finite());
            assert_eq!(
                kmeans(x.view(), &[1.0; 3], 2, 10, &mut rng(1)).err(),
                Some(EvalError::BadEmbedding { row })
            );
            assert_eq!(
                complete_linkage(x.view(), 2).err(),
                Some(EvalError::BadEmbedding { row })
            );
        }
        let (c, labels) = kmeans(
            array![[1e200, 0.0], [-1e200, 0.0]].view(),
            &[1.0, 1.0],
            2,
            10,
            &mut rng(2),
        )
        .unwrap();
        assert!(c.iter().all(|v| v.is_finite()));
        assert_eq!(labels.len(), 2);
        let one = array![[1.0, 0.0]];
        assert_eq!(interest_count(one.view(), &[1.0], 1.0), Ok(1));
        assert_eq!(
            interest_count(Array2::<f64>::zeros((0, 2)).view(), &[], 1.0),
            Ok(0)
        );
        for (w, alpha) in [
            (&[1.0, 2.0][..], 1.0),
            (&[1.0][..], f64::NAN),
            (&[0.0][..], 1.0),
        ] {
            assert!(
                matches!(
                    interest_count(one.view(), w, alpha),
                    Err(EvalError::Core(_))
                ),
                "{w:?} {alpha}"
            );
        }
        assert!(interest_count(array![[f64::NAN, 0.0]].view(), &[1.0], 1.0).is_err());
    }

    /// `markdown` is public and takes the lift index as a plain `usize`:
    /// an index past the three τ indexed out of bounds (panic).
    #[test]
    fn markdown_with_a_lift_index_out_of_range() {
        let (log, mut space) = tiny_log();
        let p = Protocol::builder().seeds(1).build().unwrap();
        let ev = evaluate(&log, &mut space, &p, |_, _| {}).unwrap();
        let rows = summarise(&ev, false, |_| true);
        assert!(!rows.is_empty());
        let taus = p.taus();
        let good = markdown(&rows, taus, 2);
        assert!(good.contains("lift rel@0.8"), "{good}");
        for bad in [3, usize::MAX] {
            let md = markdown(&rows, taus, bad);
            assert!(md.contains("lift rel@–"), "{md}");
            assert_eq!(md.lines().count(), good.lines().count());
        }
        // no rows at all, and no "last item" row
        assert_eq!(markdown(&[], taus, 0).lines().count(), 2);
        let others: Vec<_> = rows
            .into_iter()
            .filter(|r| r.method != "last item")
            .collect();
        assert!(!markdown(&others, taus, 1).contains("NaN"));
    }

    #[test]
    fn logs_and_days_at_the_ends_of_i64() {
        assert!(matches!(
            Log::from_triples([(1, 0, i64::MIN)], 1),
            Err(EvalError::TimestampOverflow { .. })
        ));
        assert!(matches!(
            Log::from_triples([(1, 3, 0)], 3),
            Err(EvalError::ItemOutOfRange { item: 3, items: 3 })
        ));
        let log = Log::from_triples(
            [
                (1, 0, i64::MAX),
                (1, 1, i64::MAX - 1),
                (1, 0, i64::MIN + 86_400),
            ],
            2,
        );
        let log = match log {
            Ok(l) => l,
            Err(EvalError::TimestampOverflow { .. }) => return,
            Err(e) => panic!("{e}"),
        };
        for window in [0, 1, 90, u32::MAX] {
            match user_days(&log, window, usize::MAX, 0) {
                Ok(days) => assert!(!days.is_empty()),
                Err(EvalError::TimestampOverflow { .. }) => {}
                Err(e) => panic!("{window}: {e}"),
            }
        }
    }

    /// `ward_interests` must not report ∞ or NaN importances.
    #[test]
    fn ward_interests_importances_are_finite() {
        let x = array![[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]];
        let space = ItemSpace::new(x.view(), 3).unwrap();
        let history = [Action::new(0, 0), Action::new(2, 100)];
        for lambda in [f64::NAN, f64::INFINITY, -1.0, f64::MAX] {
            match ward_interests(&space, &history, 200, 1.0, lambda) {
                Ok(v) => assert!(
                    v.iter()
                        .all(|i| i.importance.is_finite() && i.importance >= 0.0),
                    "{lambda}: {v:?}"
                ),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        // actions later than now
        match ward_interests(&space, &[Action::new(0, i64::MAX)], i64::MIN, 1.0, 0.01) {
            Ok(v) => assert!(
                v.iter()
                    .all(|i| i.importance.is_finite() && i.importance >= 0.0),
                "{v:?}"
            ),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        for alpha in [f64::NAN, -1.0, f64::INFINITY] {
            assert!(ward_interests(&space, &history, 200, alpha, 0.01).is_err());
        }
    }
}

// ---------------------------------------------------------------------------
// synthetic builders
// ---------------------------------------------------------------------------

mod synthetic_probes {
    use super::*;
    use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};

    #[test]
    fn catalog_config_extremes_are_errors() {
        for (items, dim) in [
            (usize::MAX, usize::MAX),
            (usize::MAX, 2),
            (2, usize::MAX),
            (1 << 32, 1 << 32),
            (usize::MAX / 8 + 1, 1),
        ] {
            let e = CatalogConfig::builder()
                .items(items)
                .dim(dim)
                .topics(1)
                .build()
                .unwrap_err();
            assert!(
                matches!(e, Error::InvalidSyntheticConfig(_)),
                "{items} x {dim}: {e:?}"
            );
        }
        for spread in [f64::NAN, f64::INFINITY, -1.0] {
            assert!(CatalogConfig::builder().spread(spread).build().is_err());
        }
        assert!(CatalogConfig::builder().topics(usize::MAX).build().is_err());
    }

    /// A huge (finite) spread: squares of the noisy rows overflowed, the
    /// norm was ∞ and every row came out as the zero vector.
    #[test]
    fn huge_spread_keeps_unit_rows() {
        for spread in [1e160, 1e200, 1e300, f64::MAX / 8.0] {
            let config = CatalogConfig::builder()
                .items(12)
                .dim(3)
                .topics(3)
                .spread(spread)
                .build()
                .unwrap();
            let catalog = Catalog::<f32>::generate(&config, &mut rng(1));
            for row in catalog.embeddings().rows() {
                let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                assert!((n - 1.0).abs() < 1e-5, "{spread}: {row}");
            }
        }
    }

    #[test]
    fn user_config_extremes_are_errors_not_panics() {
        let config = CatalogConfig::builder()
            .items(20)
            .dim(2)
            .topics(4)
            .build()
            .unwrap();
        let catalog = Catalog::<f32>::generate(&config, &mut rng(1));
        for p in [f64::NAN, -0.1, 1.1, f64::INFINITY] {
            assert!(UserConfig::builder().repeat_probability(p).build().is_err());
        }
        assert!(UserConfig::builder().window(-1).build().is_err());
        assert!(UserConfig::builder().window(i64::MIN).build().is_err());
        // a window reaching below i64::MIN
        let u = UserConfig::builder().window(i64::MAX).build().unwrap();
        assert!(catalog.user(&u, -2, &mut rng(2)).is_err());
        let u = catalog.user(&u, i64::MAX, &mut rng(2)).unwrap();
        assert!(u.actions.iter().all(|a| a.timestamp >= 0));
        // more interests than topics
        let u = UserConfig::builder().interests(usize::MAX).build().unwrap();
        assert!(catalog.user(&u, 0, &mut rng(3)).is_err());
        // a history no memory can hold: an error, not a capacity-overflow panic
        for actions in [usize::MAX, usize::MAX / 2, 1 << 60] {
            let r = UserConfig::builder().actions(actions).build();
            match r {
                Err(Error::InvalidSyntheticConfig(_)) => {}
                Ok(u) => match catalog.user(&u, 0, &mut rng(4)) {
                    Err(Error::InvalidSyntheticConfig(_)) => {}
                    other => panic!("{actions}: {:?}", other.map(|u| u.actions.len())),
                },
                Err(e) => panic!("{actions}: {e:?}"),
            }
        }
        // zero actions is a valid (empty) user
        let u = UserConfig::builder().actions(0).build().unwrap();
        assert!(catalog.user(&u, 0, &mut rng(5)).unwrap().actions.is_empty());
    }
}
