//! Batch profiles: invariants (proptest) and one test per error rule.

mod profile_support;

use std::collections::BTreeMap;
use std::time::Duration;

use ndarray::ArrayView1;
use pinnersage::synthetic::UserConfig;
use pinnersage::{
    Action, CutRule, DecayRate, EmbeddingBatch, EmbeddingSource, Error, InMemoryEmbeddings,
    PinnerSage, TimeUnit, TimestampUnit, UnknownItems, UserProfile,
};
use profile_support::*;
use proptest::prelude::*;

/// Items: `n` points around three far-apart centres in 3-d, plus ids `n..n+3`
/// that the source does not know.
fn catalogue() -> impl Strategy<Value = (usize, Vec<f64>)> {
    (1usize..25).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec((0usize..3, -0.3f64..0.3, -0.3f64..0.3, -0.3f64..0.3), n)
                .prop_map(|rows| {
                    rows.into_iter()
                        .flat_map(|(c, a, b, d)| {
                            let centre = [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 1.0]][c];
                            [centre[0] + a, centre[1] + b, centre[2] + d]
                        })
                        .collect()
                }),
        )
    })
}

fn actions(n: usize) -> impl Strategy<Value = Vec<Action<u32>>> {
    proptest::collection::vec(
        (0u32..(n as u32 + 3), 0i64..120 * DAY).prop_map(|(i, age)| Action::new(i, NOW - age)),
        0..60,
    )
}

fn config() -> impl Strategy<Value = PinnerSage> {
    (
        0.0f64..6.0,
        0.0f64..0.1,
        proptest::option::of(1u64..120 * DAY as u64),
        proptest::option::of(1usize..50),
        proptest::option::of(1usize..6),
        any::<bool>(),
    )
        .prop_map(|(alpha, lambda, window, cap, max_clusters, use_k)| {
            let b = PinnerSage::builder()
                .alpha(alpha)
                .lambda(lambda, TimeUnit::Day)
                .window(window.map(Duration::from_secs))
                .max_history(cap)
                .max_clusters(max_clusters);
            let b = if use_k {
                b.target_clusters(1 + (alpha as usize))
            } else {
                b
            };
            b.build().unwrap()
        })
}

/// The actions the configuration should select, computed directly: those in
/// the window, those of them on known items (ids `< n`), and the known ones
/// the cap keeps.
fn expected_selection(
    config: &PinnerSage,
    actions: &[Action<u32>],
    n: usize,
) -> (usize, usize, Vec<Action<u32>>) {
    let in_window: Vec<Action<u32>> = actions
        .iter()
        .copied()
        .filter(|a| {
            config
                .window_ticks()
                .is_none_or(|w| (NOW - a.timestamp) as u64 <= w)
        })
        .collect();
    let mut kept: Vec<Action<u32>> = in_window
        .iter()
        .copied()
        .filter(|a| (a.item as usize) < n)
        .collect();
    let known = kept.len();
    kept.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.item.cmp(&b.item)));
    if let Some(cap) = config.max_history() {
        kept.truncate(cap);
    }
    (in_window.len(), known, kept)
}

/// Clusters partition the known items among the kept actions, with the right
/// action counts; the window, unknown items and cap select exactly the right
/// actions (a non-empty history with nothing in the window is an error);
/// importance is the direct sum; medoids minimise the weighted sum of squared
/// distances; clusters are sorted by importance; `max_clusters` drops the
/// least important clusters and counts them.
fn check_invariants<S>(
    config: &PinnerSage,
    actions: &[Action<u32>],
    source: &S,
    n: usize,
) -> Result<(), TestCaseError>
where
    S: EmbeddingSource<Id = u32>,
{
    let (in_window, known_count, known) = expected_selection(config, actions, n);
    if in_window == 0 && !actions.is_empty() {
        let result = config.profile(actions, source, NOW);
        prop_assert!(
            matches!(result, Err(Error::NoActionsInWindow { actions: a, .. }) if a == actions.len()),
            "{:?}",
            result
        );
        return Ok(());
    }
    let profile = config.profile(actions, source, NOW).unwrap();
    let skipped = profile.history();
    prop_assert_eq!(skipped.actions, actions.len());
    prop_assert_eq!(skipped.outside_window, actions.len() - in_window);
    prop_assert_eq!(skipped.unknown_actions, in_window - known_count);
    prop_assert_eq!(skipped.over_cap, known_count - known.len());
    prop_assert_eq!(skipped.used_actions, known.len());

    // max_clusters keeps a prefix of the uncapped profile and counts the rest
    let uncapped = config
        .to_builder()
        .max_clusters(None)
        .build()
        .unwrap()
        .profile(actions, source, NOW)
        .unwrap();
    prop_assert_eq!(profile.clusters(), &uncapped.clusters()[..profile.len()]);
    let dropped = &uncapped.clusters()[profile.len()..];
    prop_assert_eq!(skipped.dropped_clusters, dropped.len());
    prop_assert_eq!(
        skipped.dropped_actions,
        dropped.iter().map(|c| c.action_count()).sum::<u64>()
    );
    prop_assert!(config.max_clusters().is_some() || dropped.is_empty());

    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    known
        .iter()
        .for_each(|a| *counts.entry(a.item).or_default() += 1);
    let mut seen: BTreeMap<u32, u64> = BTreeMap::new();
    for c in uncapped.clusters() {
        prop_assert!(c.size() >= 1);
        prop_assert_eq!(
            c.action_count(),
            c.members().iter().map(|m| m.actions).sum::<u64>()
        );
        for m in c.members() {
            prop_assert!(
                seen.insert(m.item, m.actions).is_none(),
                "item {} twice",
                m.item
            );
        }
    }
    prop_assert_eq!(&seen, &counts);
    if let CutRule::Clusters(k) = config.cut() {
        prop_assert_eq!(uncapped.len(), k.min(counts.len()));
    }

    let per_second = config.decay().per_second();
    for (rank, c) in profile.clusters().iter().enumerate() {
        // importance: the direct sum over every kept action of the cluster
        let direct = direct_importance(c, &known, per_second, NOW);
        let x = per_second * 120.0 * DAY as f64;
        let tol = (c.action_count() as f64 + 2.0) * (1.0 + x) * f64::EPSILON * direct;
        prop_assert!((c.importance() - direct).abs() <= tol);
        if rank > 0 {
            prop_assert!(profile.clusters()[rank - 1].importance() >= c.importance());
        }
        // the medoid is a member and minimises the weighted objective
        prop_assert!(c.contains(c.medoid()));
        let medoid = embedding_of(source, c.medoid());
        prop_assert_eq!(c.medoid_embedding(), medoid.view());
        let got = medoid_objective(c, c.medoid_embedding(), source);
        for m in c.members() {
            let other = medoid_objective(c, embedding_of(source, &m.item).view(), source);
            prop_assert!(got <= other + 1e-9 * other.max(1.0), "{} > {}", got, other);
        }
        prop_assert_eq!(
            c.last_action(),
            known
                .iter()
                .filter(|a| c.contains(&a.item))
                .map(|a| a.timestamp)
                .max()
                .unwrap()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// [`check_invariants`] on `f64` embeddings.
    #[test]
    fn profile_invariants((n, values) in catalogue(), actions in actions(25), config in config()) {
        let actions: Vec<_> = actions.into_iter().map(|a| Action::new(a.item % (n as u32 + 3), a.timestamp)).collect();
        check_invariants(&config, &actions, &source_from(values, 3), n)?;
    }

    /// [`check_invariants`] on `f32` embeddings.
    #[test]
    fn profile_invariants_f32((n, values) in catalogue(), actions in actions(25), config in config()) {
        let actions: Vec<_> = actions.into_iter().map(|a| Action::new(a.item % (n as u32 + 3), a.timestamp)).collect();
        check_invariants(&config, &actions, &source_from_f32(values, 3), n)?;
    }

    /// The profile depends on the multiset of actions only: shuffling them
    /// gives exactly (bit for bit) the same profile.
    #[test]
    fn profile_is_invariant_to_action_order(
        (n, values) in catalogue(),
        (actions, shuffled) in actions(25).prop_flat_map(|a| (Just(a.clone()), Just(a).prop_shuffle())),
        config in config(),
    ) {
        let fix = |v: Vec<Action<u32>>| -> Vec<Action<u32>> {
            v.into_iter().map(|a| Action::new(a.item % (n as u32 + 3), a.timestamp)).collect()
        };
        // (results: the same profile, or the same error)
        let source = source_from(values.clone(), 3);
        let a = config.profile(&fix(actions.clone()), &source, NOW);
        let b = config.profile(&fix(shuffled.clone()), &source, NOW);
        prop_assert_eq!(a, b);
        // and in f32
        let source = source_from_f32(values, 3);
        let a = config.profile(&fix(actions), &source, NOW);
        let b = config.profile(&fix(shuffled), &source, NOW);
        prop_assert_eq!(a, b);
    }
}

#[test]
fn seeded_user_interests_are_recovered() {
    // well-separated topics: the default α recovers the user's 4 interests
    let (catalog, source, user) = synthetic(11, 0.5, &UserConfig::default());
    let profile = PinnerSage::default()
        .profile(&user.actions, &source, NOW)
        .unwrap();
    assert_eq!(profile.len(), user.interests.len());
    let mut topics: Vec<usize> = profile
        .clusters()
        .iter()
        .map(|c| {
            let t = catalog.topic_of(*c.medoid());
            assert!(c.members().iter().all(|m| catalog.topic_of(m.item) == t));
            t
        })
        .collect();
    topics.sort();
    let mut truth = user.interests.clone();
    truth.sort();
    assert_eq!(topics, truth);
    // and the computation is deterministic
    let again = PinnerSage::default()
        .profile(&user.actions, &source, NOW)
        .unwrap();
    assert_eq!(profile, again);
}

#[test]
fn empty_history_gives_empty_profile() {
    let source = source_from(vec![0.0, 1.0], 2);
    let profile = PinnerSage::default()
        .profile(&[] as &[Action<u32>], &source, NOW)
        .unwrap();
    assert!(profile.is_empty());
    assert_eq!(profile.len(), 0);
    assert_eq!(profile.as_of(), NOW);
    assert_eq!(profile.dim(), 2);
}

#[test]
fn only_unknown_items_gives_empty_profile() {
    let source = source_from(vec![0.0, 1.0], 2);
    let actions = [
        Action::new(7, NOW),
        Action::new(7, NOW - 1),
        Action::new(9, NOW),
    ];
    let profile = PinnerSage::default()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert!(profile.is_empty());
    let s = profile.history();
    assert_eq!(
        (s.unknown_actions, s.unknown_items, s.used_actions),
        (3, 2, 0)
    );
}

#[test]
fn max_clusters_keeps_the_most_important() {
    let (_, source, user) = synthetic(3, 0.5, &UserConfig::default());
    let all = PinnerSage::default()
        .profile(&user.actions, &source, NOW)
        .unwrap();
    assert!(all.len() >= 3);
    let two = PinnerSage::builder()
        .max_clusters(Some(2))
        .build()
        .unwrap()
        .profile(&user.actions, &source, NOW)
        .unwrap();
    assert_eq!(two.clusters(), &all.clusters()[..2]);
}

#[test]
fn repeated_items_weigh_the_medoid() {
    // three items on a line; the end item repeated 5 times becomes the medoid
    let source = source_from(vec![0.0, 1.0, 2.0], 1);
    let mut actions = vec![Action::new(0, NOW), Action::new(1, NOW)];
    actions.extend((0..5).map(|k| Action::new(2, NOW - k)));
    let config = PinnerSage::builder().alpha(100.0).build().unwrap();
    let profile = config.profile(&actions, &source, NOW).unwrap();
    assert_eq!(profile.len(), 1);
    let c = &profile.clusters()[0];
    assert_eq!(*c.medoid(), 2);
    assert_eq!(c.action_count(), 7);
    assert_eq!(c.last_action(), NOW);
    assert_eq!(c.centroid()[0], (1.0 + 10.0) / 7.0);
}

#[test]
fn medoid_ties_go_to_the_smallest_id() {
    // items 0 and 1 are symmetric about the centroid: whatever the times and
    // the order, the smaller id (the rule of `medoid`, used by updates too)
    let source = source_from(vec![-1.0, 1.0], 1);
    let config = PinnerSage::builder().alpha(100.0).build().unwrap();
    for actions in [
        [Action::new(0, NOW - 10), Action::new(1, NOW)],
        [Action::new(1, NOW), Action::new(0, NOW - 10)],
        [Action::new(1, NOW - 10), Action::new(0, NOW)],
    ] {
        let p = config.profile(&actions, &source, NOW).unwrap();
        assert_eq!(*p.clusters()[0].medoid(), 0);
    }
}

#[test]
fn no_decay_importance_counts_actions() {
    let source = source_from(vec![0.0, 10.0], 1);
    let config = PinnerSage::builder()
        .alpha(1.0)
        .decay(DecayRate::NONE)
        .window(None)
        .build()
        .unwrap();
    let actions = [
        Action::new(0, 0),
        Action::new(0, NOW),
        Action::new(1, 5),
        Action::new(0, 7),
    ];
    let p = config.profile(&actions, &source, NOW).unwrap();
    let imp: Vec<f64> = p.clusters().iter().map(|c| c.importance()).collect();
    assert_eq!(imp, vec![3.0, 1.0]);
}

#[test]
fn unknown_items_outside_the_window_are_not_looked_up() {
    let source = source_from(vec![0.0], 1);
    let config = PinnerSage::builder()
        .unknown_items(UnknownItems::Error)
        .window_days(1)
        .build()
        .unwrap();
    let actions = [Action::new(5, NOW - 2 * DAY), Action::new(0, NOW)];
    let p = config.profile(&actions, &source, NOW).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p.history().outside_window, 1);
}

// ---- one test per error rule ----

#[test]
fn error_action_in_future() {
    let source = source_from(vec![0.0], 1);
    let actions = [
        Action::new(0, NOW),
        Action::new(0, NOW + 5),
        Action::new(0, NOW + 1),
    ];
    assert_eq!(
        PinnerSage::default().profile(&actions, &source, NOW),
        Err(Error::ActionInFuture {
            index: 1,
            timestamp: NOW + 5,
            now: NOW
        })
    );
}

#[test]
fn error_unknown_item() {
    let source = source_from(vec![0.0, 1.0], 1);
    let config = PinnerSage::builder()
        .unknown_items(UnknownItems::Error)
        .build()
        .unwrap();
    // the error names the first action (by index) on any unknown item
    let actions = [
        Action::new(0, NOW),
        Action::new(9, NOW),
        Action::new(3, NOW),
        Action::new(9, NOW),
    ];
    assert_eq!(
        config.profile(&actions, &source, NOW),
        Err(Error::UnknownItem {
            item: "9".into(),
            index: 1
        })
    );
}

/// A source that returns whatever it was given, to test validation: a batch
/// `width` columns wide, with one row dropped if `drop_one`.
struct Faulty {
    dim: usize,
    width: usize,
    rows: Vec<Vec<f64>>,
    drop_one: bool,
}

impl EmbeddingSource for Faulty {
    type Id = usize;
    type Elem = f64;
    fn dim(&self) -> usize {
        self.dim
    }
    fn fill(&self, id: &usize, out: &mut [f64]) -> pinnersage::Result<bool> {
        Ok(match self.rows.get(*id) {
            Some(r) => {
                out.iter_mut().zip(r).for_each(|(o, v)| *o = *v);
                true
            }
            None => false,
        })
    }
    fn embeddings(&self, ids: &[usize]) -> pinnersage::Result<EmbeddingBatch<f64>> {
        let n = ids.len() - usize::from(self.drop_one);
        let mut batch = EmbeddingBatch::unknown(n, self.width);
        for (k, id) in ids.iter().take(n).enumerate() {
            let mut row = vec![0.0; self.width];
            batch.found[k] = self.fill(id, &mut row)?;
            batch.matrix.row_mut(k).assign(&ArrayView1::from(&row[..]));
        }
        Ok(batch)
    }
}

#[test]
fn error_invalid_embedding() {
    let wrong_length = Faulty {
        dim: 2,
        width: 1,
        rows: vec![vec![0.0], vec![1.0]],
        drop_one: false,
    };
    let actions = [
        Action::new(0, NOW),
        Action::new(1, NOW - 1),
        Action::new(1, NOW),
    ];
    assert_eq!(
        PinnerSage::default().profile(&actions, &wrong_length, NOW),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 1
        })
    );
    let nan = Faulty {
        dim: 2,
        width: 2,
        rows: vec![vec![0.0, f64::NAN], vec![1.0, 0.0]],
        drop_one: false,
    };
    assert_eq!(
        PinnerSage::default().profile(&actions, &nan, NOW),
        Err(Error::InvalidEmbedding {
            item: "0".into(),
            index: 0
        })
    );
}

#[test]
fn error_source_returns_wrong_number_of_embeddings() {
    let short = Faulty {
        dim: 1,
        width: 1,
        rows: vec![vec![0.0], vec![1.0]],
        drop_one: true,
    };
    let actions = [Action::new(0, NOW), Action::new(1, NOW)];
    assert_eq!(
        PinnerSage::default().profile(&actions, &short, NOW),
        Err(Error::LengthMismatch {
            what: "embeddings returned by the source vs items asked for",
            expected: 2,
            got: 1
        })
    );
}

#[test]
fn window_boundary_is_inclusive_and_cap_keeps_the_most_recent() {
    let source = source_from(vec![0.0, 1.0, 2.0], 1);
    let config = PinnerSage::builder()
        .alpha(100.0)
        .window(Some(Duration::from_secs(10)))
        .max_history(Some(2))
        .build()
        .unwrap();
    let actions = [
        Action::new(0, NOW - 11), // outside
        Action::new(0, NOW - 10), // on the boundary: kept by the window, dropped by the cap
        Action::new(2, NOW - 3),
        Action::new(1, NOW - 3),
    ];
    let p = config.profile(&actions, &source, NOW).unwrap();
    let s = p.history();
    assert_eq!((s.outside_window, s.over_cap, s.used_actions), (1, 1, 2));
    assert_eq!(partition(&p), vec![vec![1, 2]]);
    // with a cap of 1 the tie at NOW − 3 goes to the smaller item id
    let p = config
        .to_builder()
        .max_history(Some(1))
        .build()
        .unwrap()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert_eq!(partition(&p), vec![vec![1]]);
    // without a cap the boundary action is used
    let p = config
        .to_builder()
        .max_history(None)
        .build()
        .unwrap()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert_eq!(p.history().used_actions, 3);
}

#[cfg(feature = "parallel")]
#[test]
fn parallel_profiles_equal_sequential_ones() {
    let users: Vec<_> = (0..6)
        .map(|seed| synthetic(seed, 0.5, &UserConfig::default()))
        .collect();
    // one shared source: the first catalogue; other users' items exist in it too
    let source = &users[0].1;
    let histories: Vec<Vec<Action<usize>>> =
        users.iter().map(|(_, _, u)| u.actions.clone()).collect();
    let config = PinnerSage::default();
    let parallel = config.profiles(&histories, source, NOW);
    assert_eq!(parallel.len(), histories.len());
    for (h, p) in histories.iter().zip(parallel) {
        assert_eq!(p.unwrap(), config.profile(h, source, NOW).unwrap());
    }
}

// ---- review fixes ----

#[test]
fn alpha_is_compared_in_f64() {
    let source =
        InMemoryEmbeddings::new(vec![0u32, 1], ndarray::array![[0.0_f32], [0.316_227_76]]).unwrap();
    let actions = [Action::new(0, NOW), Action::new(1, NOW)];
    // the merge distance is 0.1_f32 = 0.10000000149… > 0.1: no merge
    let p = PinnerSage::builder()
        .alpha(0.1)
        .build()
        .unwrap()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert_eq!(p.len(), 2);
    // a valid α larger than f32::MAX merges everything
    let p = PinnerSage::builder()
        .alpha(1e39)
        .build()
        .unwrap()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert_eq!(p.len(), 1);
}

#[test]
fn history_cap_counts_known_actions_only() {
    let source = source_from(vec![0.0], 1);
    let config = PinnerSage::builder().max_history(Some(1)).build().unwrap();
    // the most recent action is on an unknown item: the cap keeps the known one
    let actions = [Action::new(9, NOW), Action::new(0, NOW - 1)];
    let p = config.profile(&actions, &source, NOW).unwrap();
    assert_eq!(partition(&p), vec![vec![0]]);
    let s = p.history();
    assert_eq!((s.unknown_actions, s.over_cap, s.used_actions), (1, 0, 1));
}

#[test]
fn ranking_ties_go_to_the_most_recent_then_the_smallest_medoid() {
    // four far-apart items, one action each, no decay: equal importance 1
    let source = source_from(vec![0.0, 10.0, 20.0, 30.0], 1);
    let config = PinnerSage::builder()
        .alpha(1.0)
        .decay(DecayRate::NONE)
        .build()
        .unwrap();
    let actions = [
        Action::new(3, NOW - 5),
        Action::new(0, NOW - 5),
        Action::new(2, NOW),
        Action::new(1, NOW - 9),
    ];
    let p = config.profile(&actions, &source, NOW).unwrap();
    let order: Vec<u32> = p.clusters().iter().map(|c| *c.medoid()).collect();
    assert!(p.clusters().iter().all(|c| c.importance() == 1.0));
    // most recent first (2), then 0 and 3 at NOW − 5 by id, then 1
    assert_eq!(order, vec![2, 0, 3, 1]);
}

#[test]
fn error_zero_dimension_source() {
    let empty = Faulty {
        width: 0,
        dim: 0,
        rows: vec![vec![]],
        drop_one: false,
    };
    assert_eq!(
        PinnerSage::default().profile(&[Action::new(0, NOW)], &empty, NOW),
        Err(Error::ZeroDimension { rows: 1 })
    );
    // no known action: nothing to cluster, no error
    let p = PinnerSage::default()
        .profile(&[] as &[Action<usize>], &empty, NOW)
        .unwrap();
    assert!(p.is_empty());
}

// ---- timestamps in another unit (the trap of milliseconds read as seconds) ----

/// Actions 1 to 80 days old on a seeded user's items, in seconds.
fn aged_actions() -> (InMemoryEmbeddings<usize, f64>, Vec<Action<usize>>) {
    let (_, source, user) = synthetic(3, 0.5, &UserConfig::default());
    let actions = user
        .actions
        .iter()
        .enumerate()
        .map(|(k, a)| Action::new(a.item, NOW - DAY - (k as i64 * 7_919) % (79 * DAY)))
        .collect();
    (source, actions)
}

#[test]
fn millisecond_timestamps_with_the_unit_give_the_same_clusters() {
    let (source, actions) = aged_actions();
    let seconds = PinnerSage::default()
        .profile(&actions, &source, NOW)
        .unwrap();
    assert!(seconds.len() > 1);
    let ms: Vec<Action<usize>> = actions
        .iter()
        .map(|a| (a.item, a.timestamp * 1_000).into())
        .collect();
    let config = PinnerSage::builder()
        .timestamps(TimestampUnit::Milliseconds)
        .build()
        .unwrap();
    let p = config.profile(&ms, &source, NOW * 1_000).unwrap();
    assert_eq!(partition(&p), partition(&seconds));
    assert_eq!(p.history(), seconds.history());
    for (a, b) in p.clusters().iter().zip(seconds.clusters()) {
        assert_eq!(a.medoid(), b.medoid());
        assert_eq!(a.last_action(), b.last_action() * 1_000);
        let tol = 1e-12 * b.importance();
        assert!((a.importance() - b.importance()).abs() <= tol);
    }
    // a custom unit: timestamps in minutes
    let minutes: Vec<Action<usize>> = actions
        .iter()
        .map(|a| Action::new(a.item, a.timestamp.div_euclid(60)))
        .collect();
    let config = PinnerSage::builder()
        .timestamps(TimestampUnit::SecondsPerUnit(60))
        .build()
        .unwrap();
    let p = config
        .profile(&minutes, &source, NOW.div_euclid(60))
        .unwrap();
    assert_eq!(partition(&p), partition(&seconds));
}

#[test]
fn error_no_actions_in_window() {
    // milliseconds read as seconds: every action looks 1000 times older
    let (source, actions) = aged_actions();
    let ms: Vec<Action<usize>> = actions
        .iter()
        .map(|a| Action::new(a.item, a.timestamp * 1_000))
        .collect();
    let newest = ms.iter().map(|a| a.timestamp).max().unwrap();
    let expected = Error::NoActionsInWindow {
        actions: ms.len(),
        newest,
        now: NOW * 1_000,
        window_ticks: 90 * DAY as u64,
        unit: TimestampUnit::Seconds,
    };
    let result = PinnerSage::default().profile(&ms, &source, NOW * 1_000);
    assert_eq!(result, Err(expected.clone()));
    assert!(expected
        .to_string()
        .contains("are the timestamps in seconds?"));
    // an update whose new actions are all outside the window fails too,
    // leaving the profile unchanged
    let mut p = PinnerSage::default()
        .profile(&actions, &source, NOW)
        .unwrap();
    let before = p.clone();
    let stale = [Action::new(actions[0].item, NOW + DAY - 91 * DAY)];
    assert!(matches!(
        p.update(&stale, &source, NOW + DAY),
        Err(Error::NoActionsInWindow { actions: 1, .. })
    ));
    assert_eq!(p, before);
    // no window, or an empty history: no error
    let all = PinnerSage::builder().window(None).build().unwrap();
    assert!(all.profile(&ms, &source, NOW * 1_000).is_ok());
    assert!(PinnerSage::default()
        .profile(&[], &source, NOW)
        .unwrap()
        .is_empty());
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let source = source_from(vec![0.0, 1.0], 1);
    let config = PinnerSage::builder()
        .timestamps(TimestampUnit::Nanoseconds)
        .window(None)
        .build()
        .unwrap();
    let actions = [Action::new(0, i64::MIN), Action::new(1, i64::MAX)];
    let p = config.profile(&actions, &source, i64::MAX).unwrap();
    assert!(p.clusters().iter().all(|c| c.importance().is_finite()));
    let windowed = PinnerSage::default()
        .profile(&actions, &source, i64::MAX)
        .unwrap();
    assert_eq!(windowed.history().outside_window, 1);
}

// ---- the default α and single actions (see DEFAULT_ALPHA) ----

#[test]
fn at_the_default_alpha_a_lone_action_stands_alone_only_pointing_away() {
    // unit vectors: item 0 = e1, item 1 = e2 (orthogonal), item 2 = −e1
    let source = source_from(vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0], 2);
    let profile = |lone: u32| {
        let mut actions = vec![Action::new(0u32, NOW); 3];
        actions.push(Action::new(lone, NOW));
        PinnerSage::default()
            .profile(&actions, &source, NOW)
            .unwrap()
    };
    // orthogonal: 2·3/4·‖e2 − e1‖² = 1.5·2 = 3 <= 4, absorbed
    assert_eq!(profile(1).len(), 1);
    // antipodal: 2·3/4·4 = 6 > 4, an interest of its own
    assert_eq!(profile(2).len(), 2);
    // two lone actions (n = 1 each) always merge: ‖x − y‖² <= 4
    let pair = [Action::new(0u32, NOW), Action::new(2, NOW)];
    assert_eq!(
        PinnerSage::default()
            .profile(&pair, &source, NOW)
            .unwrap()
            .len(),
        1
    );
}

/// A source of `n` random unit vectors in 6-d.
fn unit_vectors() -> impl Strategy<Value = InMemoryEmbeddings<u32, f64>> {
    proptest::collection::vec(proptest::collection::vec(-1.0f64..1.0, 6), 2..20).prop_map(|rows| {
        let values: Vec<f64> = rows
            .iter()
            .flat_map(|r| {
                let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-3);
                r.iter().map(move |v| {
                    if norm > 1e-3 {
                        v / norm
                    } else {
                        1.0 / 6f64.sqrt()
                    }
                })
            })
            .collect();
        source_from(values, 6)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// In any profile at the default α, a cluster of a single action points
    /// away from every other cluster (`⟨x, μ⟩ < 0` for every other centroid
    /// `μ`); the same holds after one new action is folded in by an update.
    #[test]
    fn default_alpha_keeps_a_lone_action_only_pointing_away(
        source in unit_vectors(),
        picks in proptest::collection::vec((0u32..20, 0i64..DAY), 1..30),
        new_item in 0u32..20,
    ) {
        let n = source.len() as u32;
        let actions: Vec<Action<u32>> =
            picks.iter().map(|&(i, age)| Action::new(i % n, NOW - age)).collect();
        let mut p = PinnerSage::default().profile(&actions, &source, NOW).unwrap();
        lone_actions_point_away(&p)?;
        p.update(&[Action::new(new_item % n, NOW + 1)], &source, NOW + 1).unwrap();
        lone_actions_point_away(&p)?;
    }
}

/// Every single-action cluster of `p` has a negative dot product with the
/// centroid of every other cluster (slack for rounding).
fn lone_actions_point_away(p: &UserProfile<u32, f64>) -> Result<(), TestCaseError> {
    for (a, lone) in p.clusters().iter().enumerate() {
        if lone.action_count() != 1 {
            continue;
        }
        for (b, other) in p.clusters().iter().enumerate() {
            if a != b {
                let dot = lone.centroid().dot(&other.centroid());
                prop_assert!(dot < 1e-12, "cluster {} vs {}: {} in {}", a, b, dot, p);
            }
        }
    }
    Ok(())
}

#[test]
fn display_and_debug_leave_out_the_embeddings() {
    let (_, source, user) = synthetic(21, 0.5, &UserConfig::default());
    let p = PinnerSage::default()
        .profile(&user.actions, &source, NOW)
        .unwrap();
    assert!(p.len() > 1);
    let shown = p.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), p.len() + 1);
    let h = p.history();
    assert_eq!(
        lines[0],
        format!(
            "{} interests as of {NOW} (last computation or update: {} of {} actions used)",
            p.len(),
            h.used_actions,
            h.actions
        )
    );
    let c = &p.clusters()[0];
    assert_eq!(lines[1], format!("1. {c}"));
    assert!(lines[1].starts_with(&format!(
        "1. medoid {}, importance {:.3}, {} items, {} actions",
        c.medoid(),
        c.importance(),
        c.size(),
        c.action_count()
    )));
    assert!(format!("{p:.1}").contains(&format!("importance {:.1},", c.importance())));
    // Debug: every field but the embeddings, which are summarised
    let debug = format!("{p:?}");
    let x = format!("{:?}", c.medoid_embedding()[0]);
    assert!(!debug.contains(&x), "an embedding value in {debug}");
    assert!(debug.contains("medoid_embedding: [16 values]"));
    assert!(debug.contains(&format!("importance: {:?}", c.importance())));
    let m = &c.members()[0];
    assert!(debug.contains(&format!("{}: {}", m.item, m.actions)));
}
