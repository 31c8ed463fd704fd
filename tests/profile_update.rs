//! Online updates: importance rolls forward exactly (to rounding), and for
//! well-separated interests the update agrees with a full recompute.

mod profile_support;

use pinnersage::synthetic::UserConfig;
use pinnersage::{Action, Error, InMemoryEmbeddings, PinnerSage, UserProfile};
use profile_support::*;
use proptest::prelude::*;

/// The tolerance used for importances: `(n + 4)·(1 + x)` ulps relative, with
/// `n` the number of summed actions and `x = λ·(largest age)`, the forward
/// error bound of the two summation orders (each `exp` argument rounded once).
/// This is "ulp-scale": at the paper's λ and 90 days, `x < 1`.
fn tolerance(n: u64, per_second: f64, max_age: i64, value: f64) -> f64 {
    (n as f64 + 4.0) * (1.0 + per_second * max_age as f64) * f64::EPSILON * value
}

/// Splits a user's actions: the old part misses one whole interest and the
/// most recent actions; the new part is all of those.
fn split(
    actions: &[Action<usize>],
    held_out_topic: usize,
    topic_of: impl Fn(usize) -> usize,
    recent: usize,
) -> (Vec<Action<usize>>, Vec<Action<usize>>, i64) {
    // actions are oldest first
    let cut = actions.len() - recent;
    let split_time = actions[cut].timestamp;
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for a in actions {
        if a.timestamp >= split_time || topic_of(a.item) == held_out_topic {
            new.push(*a);
        } else {
            old.push(*a);
        }
    }
    let batch_time = old
        .iter()
        .map(|a| a.timestamp)
        .max()
        .unwrap_or(NOW - 90 * DAY);
    (old, new, batch_time)
}

fn assert_agrees(updated: &UserProfile<usize, f64>, full: &UserProfile<usize, f64>, max_age: i64) {
    assert_eq!(partition(updated), partition(full), "memberships differ");
    let per_second = full.config().decay().per_second();
    for c in full.clusters() {
        let u = updated
            .clusters()
            .iter()
            .find(|u| u.contains(c.medoid()))
            .unwrap();
        assert_members_agree(u.members(), c.members());
        assert_eq!(u.action_count(), c.action_count());
        assert_eq!(u.last_action(), c.last_action());
        let tol = tolerance(c.action_count(), per_second, max_age, c.importance());
        assert!(
            (u.importance() - c.importance()).abs() <= tol,
            "importance {} vs {} (tol {tol})",
            u.importance(),
            c.importance()
        );
        for (a, b) in u.centroid().iter().zip(c.centroid()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!(u.contains(u.medoid()));
    }
    // same ranking (importances are far apart relative to rounding here)
    let order = |p: &UserProfile<usize, f64>| -> Vec<usize> {
        p.clusters().iter().map(|c| c.members()[0].item).collect()
    };
    assert_eq!(order(updated), order(full));
}

/// Same items, action counts, last actions and timestamps; weights bit for
/// bit (an update sums each member's decayed timestamps oldest first, as a
/// recompute does).
fn assert_members_agree(a: &[pinnersage::Member<usize>], b: &[pinnersage::Member<usize>]) {
    let key = |m: &pinnersage::Member<usize>| {
        (
            m.item,
            m.actions,
            m.last_action,
            m.timestamps.clone(),
            m.weight.to_bits(),
        )
    };
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Batch on the old actions + update with the new ones = batch on the
    /// union: same clusters and members, importances within the tolerance.
    #[test]
    fn update_agrees_with_full_recompute(seed in 0u64..1_000_000, recent in 1usize..21) {
        let (catalog, source, user) = synthetic(seed, 0.3, &UserConfig::default());
        let held_out = user.interests[user.interests.len() - 1];
        let (old, new, batch_time) = split(&user.actions, held_out, |i| catalog.topic_of(i), recent);
        let config = PinnerSage::builder().window(None).build().unwrap();
        let mut profile = config.profile(&old, &source, batch_time).unwrap();
        let before = profile.len();
        let skipped = profile.update(&new, &source, NOW).unwrap();
        prop_assert_eq!(skipped.used_actions, new.len());
        prop_assert_eq!(profile.as_of(), NOW);
        prop_assert!(profile.len() > before || old.iter().any(|a| catalog.topic_of(a.item) == held_out));
        let full = config.profile(&user.actions, &source, NOW).unwrap();
        prop_assert_eq!(full.len(), user.interests.len());
        assert_agrees(&profile, &full, 90 * DAY);
    }

    /// The update does not depend on the order of the new actions (the whole
    /// vector of new actions is shuffled).
    #[test]
    fn update_is_invariant_to_action_order(
        (seed, shuffled) in (0u64..1_000_000).prop_flat_map(|seed| {
            let (_, _, new) = order_case(seed);
            (Just(seed), Just(new).prop_shuffle())
        }),
    ) {
        let (source, base, new) = order_case(seed);
        let (mut a, mut b) = (base.clone(), base);
        a.update(&new, &source, NOW).unwrap();
        b.update(&shuffled, &source, NOW).unwrap();
        prop_assert_eq!(a, b);
    }
}

/// The source, the batch profile of the old actions and the new actions.
type OrderCase = (
    InMemoryEmbeddings<usize, f64>,
    UserProfile<usize, f64>,
    Vec<Action<usize>>,
);

/// The case of [`update_is_invariant_to_action_order`].
fn order_case(seed: u64) -> OrderCase {
    let (catalog, source, user) = synthetic(seed, 0.3, &UserConfig::default());
    let held_out = user.interests[0];
    let (old, new, batch_time) = split(&user.actions, held_out, |i| catalog.topic_of(i), 10);
    let base = PinnerSage::default()
        .profile(&old, &source, batch_time)
        .unwrap();
    (source, base, new)
}

#[test]
fn importance_rolls_forward_without_new_actions() {
    let (_, source, user) = synthetic(5, 0.3, &UserConfig::default());
    let config = PinnerSage::builder().window(None).build().unwrap();
    let t0 = NOW - 10 * DAY;
    let old: Vec<_> = user
        .actions
        .iter()
        .copied()
        .filter(|a| a.timestamp <= t0)
        .collect();
    let mut profile = config.profile(&old, &source, t0).unwrap();
    let before: Vec<f64> = profile.clusters().iter().map(|c| c.importance()).collect();
    profile.update(&[], &source, NOW).unwrap();
    // each member's weight is the recompute's, bit for bit (its timestamps
    // decayed to NOW, summed oldest first), the importance their sum in item
    // order; within a few ulps of the rolled importance
    let decay = config.time_decay();
    let recomputed = config.profile(&old, &source, NOW).unwrap();
    for ((c, b), s) in profile
        .clusters()
        .iter()
        .zip(&before)
        .zip(recomputed.clusters())
    {
        assert_members_agree(c.members(), s.members());
        assert_eq!(c.importance().to_bits(), s.importance().to_bits());
        let sum: f64 = c.members().iter().map(|m| m.weight).sum();
        assert_eq!(c.importance(), sum);
        let rolled = decay.roll_forward(*b, t0, NOW).unwrap();
        let tol = tolerance(c.action_count(), decay.per_tick(), 10 * DAY, rolled);
        assert!((c.importance() - rolled).abs() <= tol);
    }
    // and within the ulp-scale tolerance of a recomputation at NOW
    let full = config.profile(&old, &source, NOW).unwrap();
    assert_eq!(partition(&profile), partition(&full));
    for c in full.clusters() {
        let u = profile
            .clusters()
            .iter()
            .find(|u| u.contains(c.medoid()))
            .unwrap();
        let tol = tolerance(
            c.action_count(),
            decay.per_tick(),
            100 * DAY,
            c.importance(),
        );
        assert!((u.importance() - c.importance()).abs() <= tol);
        // nothing joined: the medoid is unchanged and equals the batch medoid
        assert_eq!(u.medoid(), c.medoid());
    }
}

#[test]
fn update_of_an_empty_profile_is_a_batch_profile() {
    let (_, source, user) = synthetic(8, 0.3, &UserConfig::default());
    let config = PinnerSage::builder().window(None).build().unwrap();
    let mut profile = config
        .profile(&[] as &[Action<usize>], &source, NOW - DAY)
        .unwrap();
    profile.update(&user.actions, &source, NOW).unwrap();
    let full = config.profile(&user.actions, &source, NOW).unwrap();
    assert_eq!(profile, full);
}

#[test]
fn repeats_of_known_items_join_their_cluster() {
    let source = source_from(vec![0.0, 0.1, 10.0], 1);
    let config = PinnerSage::builder().alpha(1.0).build().unwrap();
    let mut p = config
        .profile(
            &[Action::new(0, NOW - DAY), Action::new(2, NOW - DAY)],
            &source,
            NOW - DAY,
        )
        .unwrap();
    p.update(&[Action::new(2, NOW), Action::new(1, NOW)], &source, NOW)
        .unwrap();
    assert_eq!(p.len(), 2);
    let far = p.clusters().iter().find(|c| c.contains(&2)).unwrap();
    assert_eq!(far.members()[0].actions, 2);
    assert_eq!(far.last_action(), NOW);
    let near = p.clusters().iter().find(|c| c.contains(&0)).unwrap();
    assert_eq!(near.size(), 2);
}

#[test]
fn error_now_before_profile() {
    let source = source_from(vec![0.0], 1);
    let mut p = PinnerSage::default()
        .profile(&[Action::new(0, NOW)], &source, NOW)
        .unwrap();
    let before = p.clone();
    assert_eq!(
        p.update(&[], &source, NOW - 1),
        Err(Error::NowBeforeProfile {
            now: NOW - 1,
            as_of: NOW
        })
    );
    assert_eq!(p, before);
}

#[test]
fn error_update_dimension_mismatch() {
    let source = source_from(vec![0.0], 1);
    let mut p = PinnerSage::default()
        .profile(&[Action::new(0, NOW)], &source, NOW)
        .unwrap();
    let other = InMemoryEmbeddings::new(vec![0u32], ndarray::array![[0.0, 1.0]]).unwrap();
    assert_eq!(
        p.update(&[Action::new(0, NOW)], &other, NOW),
        Err(Error::DimensionMismatch {
            expected: 1,
            got: 2
        })
    );
}

#[test]
fn errors_in_new_actions_leave_the_profile_unchanged() {
    let source = source_from(vec![0.0, 5.0], 1);
    let mut p = PinnerSage::default()
        .profile(&[Action::new(0, NOW - DAY)], &source, NOW - DAY)
        .unwrap();
    let before = p.clone();
    assert_eq!(
        p.update(
            &[Action::new(1, NOW), Action::new(0, NOW + 1)],
            &source,
            NOW
        ),
        Err(Error::ActionInFuture {
            index: 1,
            timestamp: NOW + 1,
            now: NOW
        })
    );
    assert_eq!(p, before);
}

#[test]
fn new_items_can_bridge_two_stored_clusters() {
    // A at 0 and B at 3 merge at 9 > α = 5; ten actions on x at 1.5 bring
    // them within α (x joins A at 4.09, then A∪x and B merge at 4.9)
    let source = source_from(vec![0.0, 3.0, 1.5], 1);
    let config = PinnerSage::builder().alpha(5.0).build().unwrap();
    let old = [Action::new(0, NOW - DAY), Action::new(1, NOW - DAY)];
    let mut p = config.profile(&old, &source, NOW - DAY).unwrap();
    assert_eq!(p.len(), 2);
    let new: Vec<_> = (0..10).map(|k| Action::new(2, NOW - k)).collect();
    p.update(&new, &source, NOW).unwrap();
    let all: Vec<_> = old.iter().chain(&new).copied().collect();
    let full = config.profile(&all, &source, NOW).unwrap();
    assert_eq!(full.len(), 1);
    assert_eq!(partition(&p), partition(&full));
    let (u, f) = (&p.clusters()[0], &full.clusters()[0]);
    assert_eq!(u.action_count(), 12);
    assert_eq!(u.members(), f.members());
    assert!((u.importance() - f.importance()).abs() <= 16.0 * f64::EPSILON * f.importance());
    assert!((u.centroid()[0] - f.centroid()[0]).abs() < 1e-15);
    // the medoid is chosen among the stored medoids and x: x, as in the batch
    assert_eq!(*u.medoid(), 2);
    assert_eq!(u.medoid(), f.medoid());
}

// ---- review fixes ----

#[test]
fn repeat_only_update_reclusters_stored_clusters() {
    // items at 0, 2, 5 (ids 0, 1, 2) and 100 (id 3); α = 20: the batch gives
    // {0, 2} and {5} ({0,2} and 5 merge at 21.3); ten repeats of item 1 pull
    // the centroid of {0, 2} towards 5 and the merge comes within α (18.5)
    let source = source_from(vec![0.0, 2.0, 5.0, 100.0], 1);
    let config = PinnerSage::builder().alpha(20.0).build().unwrap();
    let old: Vec<_> = (0..3).map(|i| Action::new(i, NOW - DAY)).collect();
    let batch = config.profile(&old, &source, NOW - DAY).unwrap();
    assert_eq!(partition(&batch), vec![vec![0, 1], vec![2]]);
    let repeats: Vec<_> = (0..10).map(|k| Action::new(1, NOW - k)).collect();
    for extra in [vec![], vec![Action::new(3, NOW)]] {
        let new: Vec<_> = repeats.iter().chain(&extra).copied().collect();
        let mut p = batch.clone();
        p.update(&new, &source, NOW).unwrap();
        let all: Vec<_> = old.iter().chain(&new).copied().collect();
        let full = config.profile(&all, &source, NOW).unwrap();
        assert!(partition(&full).contains(&vec![0, 1, 2]));
        assert_eq!(partition(&p), partition(&full), "extra {extra:?}");
    }
}

#[test]
fn cluster_target_is_kept_by_updates() {
    // two groups of items: {0, 1, 2} near 0 and {3, 4} near 10
    let source = source_from(vec![0.0, 0.1, 0.2, 10.0, 10.1], 1);
    let config = PinnerSage::builder().target_clusters(2).build().unwrap();
    let mut p = config
        .profile(&[] as &[Action<u32>], &source, NOW - DAY)
        .unwrap();
    let new: Vec<_> = (0..5).map(|i| Action::new(i, NOW)).collect();
    p.update(&new, &source, NOW).unwrap();
    let full = config.profile(&new, &source, NOW).unwrap();
    assert_eq!(full.len(), 2);
    assert_eq!(partition(&p), partition(&full));

    // one cluster wanted: a single item, then two nearby items join it
    let config = PinnerSage::builder().target_clusters(1).build().unwrap();
    let mut p = config
        .profile(&[Action::new(0, NOW - DAY)], &source, NOW - DAY)
        .unwrap();
    p.update(&[Action::new(1, NOW), Action::new(2, NOW)], &source, NOW)
        .unwrap();
    assert_eq!(partition(&p), vec![vec![0, 1, 2]]);
    // and a third item far away still joins (one cluster)
    p.update(&[Action::new(4, NOW)], &source, NOW).unwrap();
    assert_eq!(partition(&p), vec![vec![0, 1, 2, 4]]);
}

#[test]
fn update_drops_the_least_important_clusters_and_counts_them() {
    let source = source_from(vec![0.0, 10.0, 20.0], 1);
    let config = PinnerSage::builder()
        .alpha(1.0)
        .decay(pinnersage::DecayRate::NONE)
        .max_clusters(Some(1))
        .build()
        .unwrap();
    let old = [
        Action::new(0, NOW - DAY),
        Action::new(0, NOW - DAY),
        Action::new(0, NOW - DAY),
        Action::new(1, NOW - DAY),
    ];
    let mut p = config.profile(&old, &source, NOW - DAY).unwrap();
    assert_eq!(partition(&p), vec![vec![0]]);
    let s = p.history();
    assert_eq!((s.dropped_clusters, s.dropped_actions), (1, 1));
    // five actions on item 2 outweigh the stored cluster {0} (3 actions)
    let new: Vec<_> = (0..5).map(|k| Action::new(2, NOW - k)).collect();
    let s = p.update(&new, &source, NOW).unwrap();
    assert_eq!(partition(&p), vec![vec![2]]);
    assert_eq!((s.dropped_clusters, s.dropped_actions), (1, 3));
    assert_eq!(p.history(), s);
}

/// The window and unknown items apply to the new actions; the history cap to
/// the stored and new actions together (the most recent `cap`), as a
/// recompute of the whole history applies it.
#[test]
fn update_applies_window_unknown_items_and_cap_as_a_recompute() {
    let source = source_from(vec![0.0, 0.1, 0.2, 0.3], 1);
    let config = PinnerSage::builder()
        .alpha(100.0)
        .window_days(1)
        .max_history(Some(2))
        .build()
        .unwrap();
    let mut p = config
        .profile(&[Action::new(0, NOW - DAY)], &source, NOW - DAY)
        .unwrap();
    let new = [
        Action::new(9, NOW),           // unknown: does not use up the cap
        Action::new(1, NOW - 2 * DAY), // outside the window
        Action::new(2, NOW),
        Action::new(3, NOW - 1),
        Action::new(0, NOW - 2), // the oldest known one: over the cap
    ];
    let s = p.update(&new, &source, NOW).unwrap();
    assert_eq!(
        (
            s.outside_window,
            s.unknown_actions,
            s.unknown_items,
            s.over_cap,
            s.used_actions
        ),
        (1, 1, 1, 1, 2)
    );
    // the stored action on item 0 (a day old) is over the cap of 2 too
    assert_eq!(partition(&p), vec![vec![2, 3]]);
    assert_eq!(p.clusters()[0].action_count(), 2);
    let all = [&[Action::new(0, NOW - DAY)][..], &new[..]].concat();
    let full = config.profile(&all, &source, NOW).unwrap();
    assert_eq!(p.clusters(), full.clusters());
}

#[test]
fn update_medoid_ties_go_to_the_smallest_id() {
    let config = PinnerSage::builder().alpha(1e6).build().unwrap();
    // a stored medoid and a joining item equally far from the new centroid:
    // the smaller id, whichever of the two is stored (the batch rule)
    let source = source_from(vec![-1.0, 1.0], 1);
    for (stored, joining) in [(0u32, 1u32), (1, 0)] {
        let mut p = config
            .profile(&[Action::new(stored, NOW - DAY)], &source, NOW - DAY)
            .unwrap();
        p.update(&[Action::new(joining, NOW)], &source, NOW)
            .unwrap();
        assert_eq!(*p.clusters()[0].medoid(), 0);
        // and a batch profile of the same actions agrees
        let both = [Action::new(stored, NOW - DAY), Action::new(joining, NOW)];
        let full = config.profile(&both, &source, NOW).unwrap();
        assert_eq!(full.clusters()[0].medoid(), p.clusters()[0].medoid());
    }

    // a stored cluster {0, 1} at (0, ±10) (medoid 100 away from the centroid)
    // and joining items 2 and 3 at (±1, 0), both 1 away from the new centroid:
    // item 2 whatever the times
    let source = source_from(vec![0.0, 10.0, 0.0, -10.0, 1.0, 0.0, -1.0, 0.0], 2);
    let stored = [Action::new(0, NOW - DAY), Action::new(1, NOW - DAY)];
    let base = config.profile(&stored, &source, NOW - DAY).unwrap();
    assert_eq!(partition(&base), vec![vec![0, 1]]);
    for new in [
        [Action::new(2, NOW - 5), Action::new(3, NOW)],
        [Action::new(3, NOW - 5), Action::new(2, NOW)],
        [Action::new(3, NOW), Action::new(2, NOW)],
    ] {
        let mut p = base.clone();
        p.update(&new, &source, NOW).unwrap();
        assert_eq!(*p.clusters()[0].medoid(), 2);
        assert_eq!(p.clusters()[0].centroid().to_vec(), vec![0.0, 0.0]);
    }
}

#[test]
fn update_medoid_tie_between_stored_medoids_goes_to_the_smallest_id() {
    // stored {0} at −1 and {1} at +1 (two clusters wanted); a far item 2
    // forces them together: centroid 0, both medoids 1 away
    let source = source_from(vec![-1.0, 1.0, 100.0], 1);
    let config = PinnerSage::builder().target_clusters(2).build().unwrap();
    for (recent, older) in [(1u32, 0u32), (0, 1)] {
        let old = [
            Action::new(recent, NOW - DAY),
            Action::new(older, NOW - 2 * DAY),
        ];
        let base = config.profile(&old, &source, NOW - DAY).unwrap();
        assert_eq!(*base.clusters()[0].medoid(), recent);
        let mut p = base;
        p.update(&[Action::new(2, NOW)], &source, NOW).unwrap();
        assert_eq!(partition(&p), vec![vec![0, 1], vec![2]]);
        let merged = p.clusters().iter().find(|c| c.size() == 2).unwrap();
        assert_eq!(*merged.medoid(), 0);
    }
}

// ---- expiry and re-clustering (issue 11): exact expectations ----

/// A cluster whose expired action is replaced by a new one on the same item
/// keeps its action count but not its last action: the update must take the
/// cluster's count and last action from its members, with no new item
/// (nothing re-clustered) and with one (the cluster kept whole beside a new
/// one), exactly as a recompute does.
#[test]
fn an_action_replacing_an_expired_one_moves_the_cluster_last_action() {
    let source = source_from(vec![0.0, 100.0, -100.0], 1);
    let config = PinnerSage::builder()
        .window(Some(core::time::Duration::from_secs(30 * DAY as u64)))
        .build()
        .unwrap();
    let t0 = NOW - DAY;
    let old = [
        Action::new(0u32, t0 - 29 * DAY - DAY / 2), // expires by NOW
        Action::new(0, t0 - DAY),
        Action::new(1, t0),
    ];
    for extra in [None, Some(Action::new(2u32, NOW))] {
        let mut updated = config.profile(&old, &source, t0).unwrap();
        let stored = updated
            .clusters()
            .iter()
            .find(|c| *c.medoid() == 0)
            .unwrap();
        assert_eq!((stored.action_count(), stored.last_action()), (2, t0 - DAY));
        let mut new = vec![Action::new(0u32, NOW)];
        new.extend(extra);
        updated.update(&new, &source, NOW).unwrap();
        let all: Vec<_> = old.iter().chain(&new).copied().collect();
        let full = config.profile(&all, &source, NOW).unwrap();
        let cluster = updated
            .clusters()
            .iter()
            .find(|c| *c.medoid() == 0)
            .unwrap();
        assert_eq!(
            (cluster.action_count(), cluster.last_action()),
            (2, NOW),
            "{extra:?}"
        );
        assert_eq!(updated.clusters(), full.clusters(), "{extra:?}");
    }
}

/// Total importance.
fn total<I, F>(p: &UserProfile<I, F>) -> f64 {
    p.clusters().iter().map(|c| c.importance()).sum()
}

/// Asserts `updated` has exactly `full`'s clusters: same members (counts and
/// last actions), medoids and centroids bit for bit, same order, importances
/// within 1e-12 relative.
fn assert_same_clusters(updated: &UserProfile<usize, f64>, full: &UserProfile<usize, f64>) {
    assert_eq!(updated.len(), full.len());
    // members (timestamps and weights included), medoids, centroids and
    // importances: bit for bit
    assert_eq!(updated.clusters(), full.clusters());
    for (u, c) in updated.clusters().iter().zip(full.clusters()) {
        let key = |m: &pinnersage::Member<usize>| (m.item, m.actions, m.last_action);
        assert_eq!(
            u.members().iter().map(key).collect::<Vec<_>>(),
            c.members().iter().map(key).collect::<Vec<_>>()
        );
        assert_eq!(u.medoid(), c.medoid());
        assert_eq!(u.centroid(), c.centroid());
        assert_eq!(u.medoid_embedding(), c.medoid_embedding());
        assert_eq!(u.action_count(), c.action_count());
        assert_eq!(u.last_action(), c.last_action());
        assert!(
            (u.importance() - c.importance()).abs() <= 1e-12 * c.importance(),
            "{} vs {}",
            u.importance(),
            c.importance()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// An update without new actions at the profile's own `now` is the
    /// identity, bit for bit (window or not).
    #[test]
    fn an_empty_update_at_the_same_now_is_the_identity(seed in 0u64..1_000_000, windowed in any::<bool>()) {
        let (_, source, user) = synthetic(seed, 0.3, &UserConfig::default());
        let config = PinnerSage::builder()
            .window(windowed.then_some(core::time::Duration::from_secs(30 * DAY as u64)))
            .build()
            .unwrap();
        let now = user.actions.iter().map(|a| a.timestamp).max().unwrap();
        let profile = config.profile(&user.actions, &source, now).unwrap();
        let mut updated = profile.clone();
        updated.update(&[], &source, now).unwrap();
        prop_assert_eq!(updated.clusters(), profile.clusters());
        prop_assert_eq!(updated.as_of(), profile.as_of());
        prop_assert_eq!(updated.threshold(), profile.threshold());
    }

    /// New actions on unseen items of one of the user's topics join that
    /// clear cluster: the update gives exactly the recompute's clusters (the
    /// touched one re-clustered from its members, the others kept).
    #[test]
    fn new_items_of_one_clear_interest_give_the_recompute(seed in 0u64..1_000_000, pick in 0usize..4, n in 1usize..6) {
        let (catalog, source, user) = synthetic(seed, 0.3, &UserConfig::default());
        let config = PinnerSage::builder().window(None).build().unwrap();
        let t0 = NOW - DAY;
        let old: Vec<_> = user.actions.iter().copied().filter(|a| a.timestamp <= t0).collect();
        let topic = user.interests[pick];
        let seen: std::collections::BTreeSet<usize> = user.actions.iter().map(|a| a.item).collect();
        let new: Vec<Action<usize>> = (0..catalog.len())
            .filter(|&i| catalog.topic_of(i) == topic && !seen.contains(&i))
            .take(n)
            .map(|i| Action::new(i, NOW))
            .collect();
        let mut updated = config.profile(&old, &source, t0).unwrap();
        prop_assume!(updated.len() == user.interests.len());
        updated.update(&new, &source, NOW).unwrap();
        let all: Vec<_> = old.iter().chain(&new).copied().collect();
        let full = config.profile(&all, &source, NOW).unwrap();
        assert_same_clusters(&updated, &full);
    }

    /// When every stored cluster is touched (a repeat in each), the update
    /// re-clusters every member: exactly the recompute, with or without a
    /// window (actions expired on the way, repeats included).
    #[test]
    fn touching_every_cluster_gives_the_recompute(seed in 0u64..1_000_000, spread in 0.3f64..1.2, stale_days in 1i64..20, windowed in any::<bool>()) {
        let (_, source, user) = synthetic(seed, spread, &UserConfig::default());
        let window = windowed.then_some(core::time::Duration::from_secs(30 * DAY as u64));
        let config = PinnerSage::builder().window(window).build().unwrap();
        let t0 = NOW - stale_days * DAY;
        let old: Vec<_> = user.actions.iter().copied().filter(|a| a.timestamp <= t0).collect();
        let Ok(mut updated) = config.profile(&old, &source, t0) else {
            return Ok(()); // nothing in the window at t0
        };
        let new: Vec<Action<usize>> = updated
            .clusters()
            .iter()
            .map(|c| Action::new(c.members()[0].item, NOW))
            .collect();
        updated.update(&new, &source, NOW).unwrap();
        let all: Vec<_> = old.iter().chain(&new).copied().collect();
        let full = config.profile(&all, &source, NOW).unwrap();
        assert_same_clusters(&updated, &full);
    }

    /// Expiry: an update removes exactly the actions that left the window
    /// (repeats of items still in it included) and the members with none
    /// left: the same members with the same action counts, timestamps and
    /// weights (bit for bit) as a recompute, total importance equal to
    /// 1e-12 relative, and wherever a cluster has the recompute's members,
    /// its importance bit for bit and its medoid.
    #[test]
    fn expiry_removes_exactly_what_left_the_window(seed in 0u64..1_000_000, repeats in any::<bool>(), stale_days in 1i64..40) {
        let p = if repeats { 0.3 } else { 0.0 };
        let user_config = UserConfig::builder().repeat_probability(p).build().unwrap();
        let (_, source, user) = synthetic(seed, 0.3, &user_config);
        let window = 30 * DAY;
        let config = PinnerSage::builder()
            .window(Some(core::time::Duration::from_secs(window as u64)))
            .build()
            .unwrap();
        let t0 = NOW - stale_days * DAY;
        let mut old: Vec<_> = user.actions.iter().copied().filter(|a| a.timestamp <= t0).collect();
        if !repeats {
            // one action per item: the latest
            old.sort_by_key(|a| (a.item, core::cmp::Reverse(a.timestamp)));
            old.dedup_by_key(|a| a.item);
        }
        let Ok(mut updated) = config.profile(&old, &source, t0) else {
            // nothing in the window at t0 either
            return Ok(());
        };
        let Ok(full) = config.profile(&old, &source, NOW) else {
            // nothing of the old history is left in the window at NOW: the
            // update leaves an empty profile
            updated.update(&[], &source, NOW).unwrap();
            prop_assert!(updated.is_empty());
            return Ok(());
        };
        updated.update(&[], &source, NOW).unwrap();
        // the members left, as the recompute has them
        let members = |p: &UserProfile<usize, f64>| {
            let mut v: Vec<(usize, u64, i64, Vec<i64>, u64)> = p
                .clusters()
                .iter()
                .flat_map(|c| c.members().iter().map(|m| (m.item, m.actions, m.last_action, m.timestamps.clone(), m.weight.to_bits())))
                .collect();
            v.sort_unstable();
            v
        };
        prop_assert_eq!(members(&updated), members(&full));
        let drift = total(&updated) - total(&full);
        prop_assert!(drift.abs() <= 1e-12 * total(&full), "drift {}", drift);
        for c in full.clusters() {
            if let Some(u) = updated.clusters().iter().find(|u| u.members().iter().map(|m| m.item).eq(c.members().iter().map(|m| m.item))) {
                prop_assert_eq!(u.importance().to_bits(), c.importance().to_bits());
                prop_assert_eq!(u.medoid(), c.medoid());
                prop_assert_eq!(u.action_count(), c.action_count());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// The history cap over stored and new actions: whatever the cap, window
    /// and staleness, the updated profile has the recompute's members
    /// (counts, timestamps, weights bit for bit) and total importance.
    #[test]
    fn capped_updates_keep_the_recomputes_members(seed in 0u64..1_000_000, cap in 5usize..120, stale_days in 1i64..40, recent in 1usize..21) {
        let (catalog, source, user) = synthetic(seed, 0.3, &UserConfig::builder().repeat_probability(0.3).build().unwrap());
        let held_out = user.interests[0];
        let (old, new, batch_time) = split(&user.actions, held_out, |i| catalog.topic_of(i), recent);
        let config = PinnerSage::builder()
            .window(Some(core::time::Duration::from_secs(30 * DAY as u64)))
            .max_history(Some(cap))
            .build()
            .unwrap();
        let t0 = batch_time.min(NOW - stale_days * DAY);
        let old: Vec<_> = old.into_iter().filter(|a| a.timestamp <= t0).collect();
        let Ok(mut updated) = config.profile(&old, &source, t0) else {
            return Ok(());
        };
        let all: Vec<_> = old.iter().chain(&new).copied().collect();
        let Ok(full) = config.profile(&all, &source, NOW) else {
            return Ok(());
        };
        if updated.update(&new, &source, NOW).is_err() {
            // the new actions alone have nothing in the window: so has the recompute's share of them
            return Ok(());
        }
        let members = |p: &UserProfile<usize, f64>| {
            let mut v: Vec<(usize, u64, Vec<i64>, u64)> = p
                .clusters()
                .iter()
                .flat_map(|c| c.members().iter().map(|m| (m.item, m.actions, m.timestamps.clone(), m.weight.to_bits())))
                .collect();
            v.sort_unstable();
            v
        };
        prop_assert_eq!(members(&updated), members(&full));
        let used: u64 = updated.clusters().iter().map(|c| c.action_count()).sum();
        prop_assert!(used as usize <= cap);
        prop_assert!((total(&updated) - total(&full)).abs() <= 1e-12 * total(&full));
    }
}

/// Expiry of repeats: an item acted on 40 and 5 days before `now` keeps only
/// the recent action in a 30-day window, with the recompute's count, weight
/// and importance bit for bit; its cluster is re-clustered (the Ward weight
/// changed) and here equals the recompute's.
#[test]
fn expiry_of_repeats_matches_the_recompute() {
    let source = source_from(vec![0.0, 0.1, 5.0], 1);
    let config = PinnerSage::builder()
        .alpha(1.0)
        .window(Some(core::time::Duration::from_secs(30 * DAY as u64)))
        .build()
        .unwrap();
    let t0 = NOW - 20 * DAY;
    let old = [
        Action::new(0u32, NOW - 40 * DAY),
        Action::new(0, NOW - 25 * DAY),
        Action::new(1, NOW - 22 * DAY),
        Action::new(2, NOW - 21 * DAY),
        Action::new(2, NOW - 45 * DAY),
    ];
    let mut p = config.profile(&old, &source, t0).unwrap();
    let m0 = &p
        .clusters()
        .iter()
        .find(|c| c.contains(&0))
        .unwrap()
        .members()[0];
    assert_eq!(m0.timestamps, vec![NOW - 40 * DAY, NOW - 25 * DAY]);
    assert_eq!(m0.actions, 2);
    // 20 days later: 0's action at −40 days left the window (0 keeps −25),
    // 2's at −45 days too
    let new = [Action::new(1, NOW)];
    p.update(&new, &source, NOW).unwrap();
    let all = [&old[..], &new[..]].concat();
    let full = config.profile(&all, &source, NOW).unwrap();
    assert_eq!(p.clusters(), full.clusters());
    let c = p.clusters().iter().find(|c| c.contains(&0)).unwrap();
    assert_eq!(c.members()[0].timestamps, vec![NOW - 25 * DAY]);
    assert_eq!(c.members()[1].timestamps, vec![NOW - 22 * DAY, NOW]);
    assert_eq!(c.action_count(), 3);
    let decay = config.time_decay();
    let w = |age: i64| decay.weight(age as u64);
    assert_eq!(c.members()[0].weight, w(25 * DAY));
    assert_eq!(c.members()[1].weight, w(22 * DAY) + w(0));
    assert_eq!(c.importance(), w(25 * DAY) + (w(22 * DAY) + w(0)));
    // without new actions, expiry alone: the same as the recompute too
    let mut q = config.profile(&old, &source, t0).unwrap();
    q.update(&[], &source, NOW - DAY).unwrap();
    let full = config.profile(&old, &source, NOW - DAY).unwrap();
    assert_eq!(q.clusters(), full.clusters());
}

/// A cluster whose action counts did not change (only its weights decayed)
/// is not touched: it is kept as it was, importance recomputed from its
/// timestamps (bit for bit the recompute's).
#[test]
fn decay_alone_does_not_touch_a_cluster() {
    let source = source_from(vec![0.0, 0.1, 5.0], 1);
    let config = PinnerSage::builder().alpha(1.0).build().unwrap();
    let old = [
        Action::new(0u32, NOW - 3 * DAY),
        Action::new(1, NOW - 2 * DAY),
        Action::new(1, NOW - 2 * DAY),
        Action::new(2, NOW - 2 * DAY),
    ];
    let mut p = config.profile(&old, &source, NOW - 2 * DAY).unwrap();
    p.update(&[], &source, NOW).unwrap();
    let full = config.profile(&old, &source, NOW).unwrap();
    assert_eq!(p.clusters(), full.clusters());
    assert_eq!(p.threshold(), full.threshold());
}

/// The re-clustering splits a touched stored cluster when its members drift
/// apart after expiry: items 0 and 1 were one cluster only through item 2,
/// which leaves the window; a recompute splits them, and so does the update
/// (touched by the expiry).
#[test]
fn expiry_can_split_a_cluster_as_the_recompute_does() {
    // 1-d: Ward (paper convention) merges {0.0, 1.5} at 2.25, then 3.0 at
    // 2·2·1/3·(3 − 0.75)² = 6.75 <= α = 8; without 1.5, 0.0 and 3.0 are 9 apart
    let source = source_from(vec![0.0, 3.0, 1.5], 1);
    let config = PinnerSage::builder()
        .alpha(8.0)
        .window(Some(core::time::Duration::from_secs(10 * DAY as u64)))
        .build()
        .unwrap();
    let old = [
        Action::new(0u32, NOW - 2 * DAY),
        Action::new(1, NOW - 2 * DAY),
        Action::new(2, NOW - 11 * DAY),
    ];
    let mut p = config.profile(&old, &source, NOW - 2 * DAY).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p.clusters()[0].size(), 3);
    // 2 days later item 2 is 11 days old: expired
    p.update(&[], &source, NOW).unwrap();
    let full = config.profile(&old, &source, NOW).unwrap();
    assert_eq!(full.len(), 2);
    assert_eq!(partition(&p), partition(&full));
    assert_eq!(partition(&p), vec![vec![0], vec![1]]);
    for (u, c) in p.clusters().iter().zip(full.clusters()) {
        assert_eq!(u.medoid(), c.medoid());
        assert_eq!(u.importance(), c.importance());
    }
}

#[test]
fn error_unknown_stored_item() {
    // the source no longer knows item 1, a member the update re-clusters
    let source = source_from(vec![0.0, 0.1, 5.0], 1);
    let config = PinnerSage::builder()
        .alpha(1.0)
        .unknown_items(pinnersage::UnknownItems::Error)
        .build()
        .unwrap();
    let profile = config
        .profile(&[Action::new(0u32, NOW), Action::new(1, NOW)], &source, NOW)
        .unwrap();
    let smaller = source_from(vec![0.0], 1);
    let mut p = profile.clone();
    assert_eq!(
        p.update(&[Action::new(0, NOW)], &smaller, NOW),
        Err(Error::UnknownStoredItem { item: "1".into() })
    );
    assert_eq!(p, profile);
    // with Skip, the member is dropped, as a recompute would skip it
    let skip = PinnerSage::builder().alpha(1.0).build().unwrap();
    let mut p = skip
        .profile(&[Action::new(0u32, NOW), Action::new(1, NOW)], &source, NOW)
        .unwrap();
    p.update(&[Action::new(0, NOW)], &smaller, NOW).unwrap();
    assert_eq!(partition(&p), vec![vec![0]]);
    assert_eq!(p.clusters()[0].action_count(), 2);
}

#[test]
fn error_invalid_stored_embedding() {
    let source = source_from(vec![0.0, 0.1], 1);
    let config = PinnerSage::builder().alpha(1.0).build().unwrap();
    let mut p = config
        .profile(&[Action::new(0u32, NOW), Action::new(1, NOW)], &source, NOW)
        .unwrap();
    let broken = InMemoryEmbeddings::new(vec![0u32, 1], ndarray::array![[0.0], [f64::NAN]]);
    // InMemoryEmbeddings may refuse NaN itself; then a custom source is moot
    if let Ok(broken) = broken {
        assert_eq!(
            p.update(&[Action::new(0, NOW)], &broken, NOW),
            Err(Error::InvalidStoredEmbedding { item: "1".into() })
        );
    }
}
