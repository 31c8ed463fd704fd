//! Profiles and configurations survive a serde round trip (what a key-value
//! store does between the daily batch and online updates).
#![cfg(feature = "serde")]

mod profile_support;

use pinnersage::synthetic::UserConfig;
use pinnersage::{Action, DecayRate, InMemoryEmbeddings, PinnerSage, TimeUnit, UserProfile};
use profile_support::*;

#[test]
fn profile_round_trips_through_json() {
    let (_, source, user) = synthetic(21, 0.5, &UserConfig::default());
    let config = PinnerSage::builder()
        .max_history(Some(150))
        .build()
        .unwrap();
    let profile = config.profile(&user.actions, &source, NOW).unwrap();
    assert!(profile.len() > 1);
    let json = serde_json::to_string(&profile).unwrap();
    let back: UserProfile<usize, f64> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, profile);
    // and an update of the restored profile equals an update of the original
    let new = [Action::new(user.actions[0].item, NOW + DAY)];
    let (mut a, mut b) = (profile, back);
    a.update(&new, &source, NOW + DAY).unwrap();
    b.update(&new, &source, NOW + DAY).unwrap();
    assert_eq!(a, b);
}

#[test]
fn f32_profile_with_string_ids_round_trips() {
    let ids: Vec<String> = (0..4).map(|i| format!("pin:{i}")).collect();
    let source = InMemoryEmbeddings::new(
        ids.clone(),
        ndarray::array![[1.0_f32, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]],
    )
    .unwrap();
    let actions: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| Action::new(id.clone(), NOW - k as i64 * DAY))
        .collect();
    let config = PinnerSage::builder().alpha(0.5).build().unwrap();
    let profile = config.profile(&actions, &source, NOW).unwrap();
    assert_eq!(profile.len(), 2);
    let json = serde_json::to_string(&profile).unwrap();
    let back: UserProfile<String, f32> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, profile);
}

#[test]
fn config_round_trips_and_is_validated_on_load() {
    let config = PinnerSage::builder()
        .target_clusters(7)
        .lambda(0.5, TimeUnit::Week)
        .window(None)
        .max_clusters(Some(5))
        .build()
        .unwrap();
    let json = serde_json::to_string(&config).unwrap();
    let back: PinnerSage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);

    let bad = serde_json::to_string(&PinnerSage::builder().alpha(-1.0)).unwrap();
    assert!(serde_json::from_str::<PinnerSage>(&bad).is_err());
    let bad = serde_json::to_string(&PinnerSage::builder().max_history(Some(0))).unwrap();
    assert!(serde_json::from_str::<PinnerSage>(&bad).is_err());
}

#[test]
fn decay_rate_is_validated_on_load() {
    let ok = serde_json::to_string(&DecayRate::PAPER).unwrap();
    assert_eq!(
        serde_json::from_str::<DecayRate>(&ok).unwrap(),
        DecayRate::PAPER
    );
    let bad = ok.replace("0.01", "-0.01");
    assert_ne!(bad, ok);
    assert!(serde_json::from_str::<DecayRate>(&bad).is_err());
}

#[test]
fn corrupt_profiles_are_rejected_on_load() {
    let source = source_from(vec![0.0, 0.1, 10.0], 1);
    let config = PinnerSage::builder().alpha(1.0).build().unwrap();
    let actions = [
        Action::new(0, NOW),
        Action::new(1, NOW),
        Action::new(2, NOW),
    ];
    let profile = config.profile(&actions, &source, NOW).unwrap();
    let json = serde_json::to_value(&profile).unwrap();
    assert!(serde_json::from_value::<UserProfile<u32, f64>>(json.clone()).is_ok());
    // an empty centroid
    let mut bad = json.clone();
    bad["clusters"][0]["centroid"] = serde_json::json!([]);
    assert!(serde_json::from_value::<UserProfile<u32, f64>>(bad).is_err());
    // a member with u64::MAX actions
    let mut bad = json.clone();
    bad["clusters"][0]["members"][0]["actions"] = serde_json::json!(u64::MAX);
    assert!(serde_json::from_value::<UserProfile<u32, f64>>(bad).is_err());
}

/// Format 3 stores one timestamp per action, so a stored action count near
/// `u64::MAX` (which an update could overflow) is refused on load.
#[test]
fn a_huge_action_count_is_refused_on_load() {
    let source = source_from(vec![0.0], 1);
    let profile = PinnerSage::default()
        .profile(&[Action::new(0, NOW)], &source, NOW)
        .unwrap();
    let mut json = serde_json::to_value(&profile).unwrap();
    json["clusters"][0]["members"][0]["actions"] = serde_json::json!(u64::MAX);
    json["clusters"][0]["action_count"] = serde_json::json!(u64::MAX);
    let e = serde_json::from_value::<UserProfile<u32, f64>>(json).unwrap_err();
    assert!(
        e.to_string()
            .contains("1 timestamps for 18446744073709551615 actions"),
        "{e}"
    );
}

/// Random profiles (f64 and f32 embeddings, messy importances) survive a round
/// trip through plain `serde_json` (no `float_roundtrip` feature) bit for bit,
/// and update identically afterwards.
mod plain_json_round_trip {
    use super::*;
    use proptest::prelude::*;

    /// `n` items of dimension `d` with full-mantissa values, actions with
    /// second-resolution timestamps over 80 days, a λ and an α.
    #[allow(clippy::type_complexity)]
    fn case() -> impl Strategy<Value = (usize, Vec<f64>, Vec<(u32, i64)>, Vec<(u32, i64)>, f64, f64)>
    {
        (2usize..24, 1usize..6).prop_flat_map(|(n, d)| {
            (
                Just(d),
                proptest::collection::vec(-1.0f64..1.0, n * d),
                proptest::collection::vec((0..n as u32, 0i64..80 * DAY), 1..40),
                proptest::collection::vec((0..n as u32, 0i64..DAY), 0..8),
                0.0f64..0.2,
                0.01f64..4.0,
            )
        })
    }

    fn check<F>(
        source: &InMemoryEmbeddings<u32, F>,
        old: &[(u32, i64)],
        new: &[(u32, i64)],
        lambda: f64,
        alpha: f64,
    ) -> Result<(), TestCaseError>
    where
        F: pinnersage::Scalar + serde::Serialize + serde::de::DeserializeOwned,
    {
        let config = PinnerSage::builder()
            .alpha(alpha)
            .lambda(lambda / 3.0, TimeUnit::Day)
            .build()
            .unwrap();
        let actions: Vec<Action<u32>> = old
            .iter()
            .map(|&(i, age)| Action::new(i, NOW - age))
            .collect();
        let profile = config.profile(&actions, source, NOW).unwrap();
        let json = serde_json::to_string(&profile).unwrap();
        let back: UserProfile<u32, F> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &profile);
        let later = NOW + DAY + 7;
        let new: Vec<Action<u32>> = new
            .iter()
            .map(|&(i, age)| Action::new(i, later - age))
            .collect();
        #[cfg(feature = "store")]
        let profile_before = profile.clone();
        let (mut a, mut b) = (profile, back);
        let sa = a.update(&new, source, later).unwrap();
        let sb = b.update(&new, source, later).unwrap();
        prop_assert_eq!(sa, sb);
        prop_assert_eq!(&a, &b);
        // the updated profile (timestamps merged) round trips in JSON and,
        // delta-encoded, in postcard
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(
            &serde_json::from_str::<UserProfile<u32, F>>(&json).unwrap(),
            &a
        );
        #[cfg(feature = "store")]
        for p in [&profile_before, &a] {
            let bytes = postcard::to_stdvec(p).unwrap();
            prop_assert_eq!(
                &postcard::from_bytes::<UserProfile<u32, F>>(&bytes).unwrap(),
                p
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn f64_profiles(case in case()) {
            let (d, values, old, new, lambda, alpha) = case;
            let source = source_from(values, d);
            check(&source, &old, &new, lambda, alpha)?;
        }

        #[test]
        fn f32_profiles(case in case()) {
            let (d, values, old, new, lambda, alpha) = case;
            let source = source_from_f32(values, d);
            check(&source, &old, &new, lambda, alpha)?;
        }
    }
}

#[test]
fn json_floats_are_exact_decimal_strings_and_numbers_are_accepted() {
    let source = source_from(vec![0.1, 0.7, 10.0 / 3.0], 1);
    let config = PinnerSage::builder()
        .alpha(0.5)
        .lambda(0.1 / 3.0, TimeUnit::Day)
        .build()
        .unwrap();
    let actions = [Action::new(0, NOW - 7), Action::new(1, NOW - DAY)];
    let profile = config.profile(&actions, &source, NOW).unwrap();
    let json = serde_json::to_value(&profile).unwrap();
    let c = &json["clusters"][0];
    assert_eq!(
        c["importance"],
        format!("{:?}", profile.clusters()[0].importance())
    );
    assert!(c["centroid"][0].is_string() && c["medoid_embedding"][0].is_string());
    assert_eq!(json["config"]["lambda"], format!("{:?}", 0.1 / 3.0));
    // a hand-written configuration with plain numbers loads
    let mut hand = serde_json::to_value(config).unwrap();
    hand["lambda"] = serde_json::json!(0.5);
    hand["cut"] = serde_json::json!({"Threshold": 2});
    let back: PinnerSage = serde_json::from_value(hand).unwrap();
    assert_eq!(back.cut(), pinnersage::CutRule::Threshold(2.0));
    assert_eq!(back.decay().lambda(), 0.5);
}

/// Format 3: the version is written, members carry their last action,
/// decayed weight (an exact decimal string in JSON) and action timestamps
/// (plain integers in JSON, gaps in postcard), postcard round trips, and a
/// profile in the first or second layout is refused with a message saying to
/// recompute it.
#[test]
fn format_3_is_written_and_formats_1_and_2_are_refused() {
    let source = source_from(vec![0.0, 0.1, 5.0], 1);
    let actions = [
        Action::new(0u32, NOW - DAY),
        Action::new(1, NOW),
        Action::new(1, NOW - 3 * DAY),
        Action::new(2, NOW),
    ];
    let profile = PinnerSage::builder()
        .alpha(1.0)
        .build()
        .unwrap()
        .profile(&actions, &source, NOW)
        .unwrap();
    let json = serde_json::to_value(&profile).unwrap();
    assert_eq!(
        json["format"],
        serde_json::json!(UserProfile::<u32, f64>::FORMAT)
    );
    assert_eq!(UserProfile::<u32, f64>::FORMAT, 3);
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "as_of",
            "clusters",
            "config",
            "dim",
            "format",
            "history",
            "threshold"
        ]
    );
    let member = &json["clusters"][0]["members"][1];
    assert_eq!(member["item"], serde_json::json!(1));
    assert_eq!(member["actions"], serde_json::json!(2));
    assert_eq!(member["last_action"], serde_json::json!(NOW));
    assert_eq!(
        member["timestamps"],
        serde_json::json!([NOW - 3 * DAY, NOW])
    );
    let w = 1.0 + (-0.03_f64).exp();
    let stored: f64 = member["weight"].as_str().unwrap().parse().unwrap();
    assert!((stored - w).abs() < 1e-15, "{stored} vs {w}");
    assert_eq!(
        serde_json::from_value::<UserProfile<u32, f64>>(json.clone()).unwrap(),
        profile
    );

    // postcard (binary, feature `store`): raw floats, same profile back
    #[cfg(feature = "store")]
    {
        let bytes = postcard::to_stdvec(&profile).unwrap();
        assert_eq!(
            postcard::from_bytes::<UserProfile<u32, f64>>(&bytes).unwrap(),
            profile
        );
        // member 1's timestamps: a length, NOW − 3 days (zigzag varint) and
        // the gap 3 days = 259200 (unsigned varint: 3 bytes)
        let mut times = postcard::to_stdvec(&2u64).unwrap();
        times.extend(postcard::to_stdvec(&(NOW - 3 * DAY)).unwrap());
        times.extend(postcard::to_stdvec(&(3 * DAY as u64)).unwrap());
        assert_eq!(times.len(), 1 + 5 + 3);
        assert!(bytes.windows(times.len()).any(|w| w == times));
    }

    // the second layout: members without timestamps
    let mut two = json.clone();
    two["format"] = serde_json::json!(2);
    for c in two["clusters"].as_array_mut().unwrap() {
        for m in c["members"].as_array_mut().unwrap() {
            m.as_object_mut().unwrap().remove("timestamps");
        }
    }
    let e = serde_json::from_value::<UserProfile<u32, f64>>(two).unwrap_err();
    assert!(
        e.to_string()
            .contains("stored profile format 2, this version reads 3: recompute"),
        "{e}"
    );

    // the first layout: no `format`, members without times and weights
    let mut old = json;
    old.as_object_mut().unwrap().remove("format");
    for c in old["clusters"].as_array_mut().unwrap() {
        for m in c["members"].as_array_mut().unwrap() {
            let m = m.as_object_mut().unwrap();
            m.remove("last_action");
            m.remove("weight");
            m.remove("timestamps");
        }
    }
    let e = serde_json::from_value::<UserProfile<u32, f64>>(old).unwrap_err();
    assert!(
        e.to_string()
            .contains("stored profile format 0, this version reads 3: recompute"),
        "{e}"
    );
}
