//! The offline evaluation's protocol on tiny logs, its determinism, and its
//! agreement with `PinnerSage::profile`.

use ndarray::Array2;
use pinnersage::eval::{
    evaluate, summarise, user_days, ward_interests, EvalError, ItemSpace, Log, Protocol,
};
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{InMemoryEmbeddings, PinnerSage};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const D: i64 = 86_400;

/// user 1: 5 actions on day 0, 2 on day 1 (one at its first second), 1 on
/// day 2, 3 on day 100; user 2: 2 actions on each of days 0..=6; user 3:
/// 3 actions.
fn tiny_log() -> Log {
    let mut t: Vec<(u64, usize, i64)> = Vec::new();
    for i in 0..5 {
        t.push((1, i, 100 + i as i64));
    }
    t.extend([(1, 5, D), (1, 0, D + 60), (1, 6, 2 * D + 5)]);
    t.extend([(1, 7, 100 * D), (1, 8, 100 * D + 1), (1, 7, 100 * D + 2)]);
    for day in 0..7 {
        t.push((2, day as usize, day * D + 10));
        t.push((2, 9, day * D + 20));
    }
    t.extend([(3, 0, 0), (3, 1, D), (3, 2, 2 * D)]);
    Log::from_triples(t, 10).unwrap()
}

#[test]
fn selected_user_days_are_the_expected_pairs() {
    let log = tiny_log();
    let pairs = |w| -> Vec<(u64, i64)> {
        user_days(&log, w, 5, 5)
            .unwrap()
            .iter()
            .map(|u| (u.user, u.day))
            .collect()
    };
    // day 0 of user 1 has no history; day 100 has none within 90 days;
    // user 2's last 5 days are 2..=6 and day 2 has only 4 history actions
    assert_eq!(
        pairs(90),
        vec![(1, 1), (1, 2), (2, 3), (2, 4), (2, 5), (2, 6)]
    );
    // unlimited window: day 100 sees all 8 earlier actions
    assert_eq!(
        pairs(0),
        vec![(1, 1), (1, 2), (1, 100), (2, 3), (2, 4), (2, 5), (2, 6)]
    );
    let days = user_days(&log, 90, 5, 5).unwrap();
    // the action at the day's first second is a target, not history
    assert_eq!(days[0].now, D);
    assert_eq!(days[0].history.len(), 5);
    assert_eq!(days[0].targets, vec![0, 5]);
    assert_eq!(days[1].history.len(), 7);
    assert_eq!(days[1].targets, vec![6]);
    // user 2 on day 3: 6 history actions, targets {3, 9}
    assert_eq!(days[2].history.len(), 6);
    assert_eq!(days[2].targets, vec![3, 9]);
    // fewer evaluation days, a stricter history minimum
    let p: Vec<(u64, i64)> = user_days(&log, 90, 1, 7)
        .unwrap()
        .iter()
        .map(|u| (u.user, u.day))
        .collect();
    assert_eq!(p, vec![(2, 6)]);
}

fn synthetic(users: usize, seed: u64) -> (Array2<f64>, Log) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let catalog_config = CatalogConfig::builder()
        .items(400)
        .dim(16)
        .topics(12)
        .spread(0.5)
        .build()
        .unwrap();
    let cat = Catalog::<f64>::generate(&catalog_config, &mut rng);
    let uc = UserConfig::builder()
        .actions(60)
        .window(20 * D)
        .build()
        .unwrap();
    let mut t = Vec::new();
    for u in 0..users {
        let user = cat.user(&uc, 30 * D, &mut rng).unwrap();
        t.extend(user.actions.iter().map(|a| (u as u64, a.item, a.timestamp)));
    }
    let x = cat.into_embeddings();
    let n = x.nrows();
    (x, Log::from_triples(t, n).unwrap())
}

#[test]
fn the_loop_is_deterministic_for_a_seed() {
    let (x, log) = synthetic(6, 1);
    let p = Protocol::builder()
        .seeds(2)
        .budget(40)
        .alphas(vec![2.0])
        .build()
        .unwrap();
    let run = || {
        let mut space = ItemSpace::new(x.view(), 40).unwrap();
        evaluate(&log, &mut space, &p, |_, _| {}).unwrap()
    };
    let a = run();
    assert!(a.user_days >= 6, "{}", a.user_days);
    assert_eq!(a, run());
    // another seed changes the sampled methods only
    let other = {
        let q = p.clone().to_builder().seed(7).build().unwrap();
        let mut space = ItemSpace::new(x.view(), 40).unwrap();
        evaluate(&log, &mut space, &q, |_, _| {}).unwrap()
    };
    let (ra, rb) = (
        summarise(&a, false, |_| true),
        summarise(&other, false, |_| true),
    );
    // last item's candidates do not depend on the seed (the sampled
    // negatives of the ranking metrics do)
    assert_eq!(ra[0].mean[..4], rb[0].mean[..4]);
    assert!(ra.iter().zip(&rb).any(|(x, y)| x != y));
    // every metric is a finite fraction
    for r in &a.records {
        for v in r
            .relevance
            .iter()
            .chain([&r.recall, &r.r_precision, &r.reciprocal_rank])
        {
            assert!((0.0..=1.0).contains(v));
        }
    }
}

#[test]
fn ward_interests_agree_with_the_profile() {
    let (x, log) = synthetic(4, 3);
    let space = ItemSpace::new(x.view(), 10).unwrap();
    let source = InMemoryEmbeddings::with_row_ids(space.embeddings().to_owned()).unwrap();
    for alpha in [1.0, 4.0, 8.0] {
        // the one place the evaluation's tests call the profile API
        let config = PinnerSage::builder()
            .alpha(alpha)
            .window(None)
            .build()
            .unwrap();
        for (_, actions) in log.users() {
            let now = actions.last().unwrap().timestamp + 1;
            let ours = ward_interests(&space, actions, now, alpha, 0.01).unwrap();
            let profile = config.profile(actions, &source, now).unwrap();
            assert_eq!(ours.len(), profile.clusters().len());
            for (a, b) in ours.iter().zip(profile.clusters()) {
                assert_eq!(a.medoid, *b.medoid());
                let items: Vec<usize> = b.members().iter().map(|m| m.item).collect();
                assert_eq!(a.items, items);
                let rel = (a.importance - b.importance()).abs() / b.importance();
                assert!(rel < 1e-12, "{} vs {}", a.importance, b.importance());
            }
        }
    }
}

#[test]
fn every_bad_protocol_parameter_has_its_error() {
    let invalid = |b: pinnersage::eval::ProtocolBuilder, name: &str| match b.build() {
        Err(EvalError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("{name}: {other:?}"),
    };
    invalid(Protocol::builder().eval_days(0), "eval_days");
    invalid(Protocol::builder().budget(0), "budget");
    invalid(Protocol::builder().seeds(0), "seeds");
    invalid(Protocol::builder().kmeans_k(0), "kmeans_k");
    invalid(Protocol::builder().top(0), "top");
    invalid(Protocol::builder().k_cuts(vec![0]), "k_cuts");
    invalid(Protocol::builder().alpha(-1.0), "alpha");
    invalid(Protocol::builder().alphas(vec![f64::NAN]), "alpha");
    invalid(
        Protocol::builder().decay_lambdas(vec![-0.1]),
        "decay_lambdas",
    );
    invalid(Protocol::builder().taus([0.5, 0.6, 1.2]), "taus");
    invalid(Protocol::builder().lift_tau(3), "lift_tau");
}

#[test]
fn a_log_naming_more_items_than_the_space_is_refused() {
    let log = Log::from_triples([(1, 4, 0)], 5).unwrap();
    let x = Array2::<f64>::eye(3);
    let mut space = ItemSpace::new(x.view(), 3).unwrap();
    let p = Protocol::builder().build().unwrap();
    assert_eq!(
        evaluate(&log, &mut space, &p, |_, _| {}).unwrap_err(),
        EvalError::ItemOutOfRange { item: 4, items: 3 }
    );
}

#[test]
fn several_medoids_find_an_older_interest_that_the_last_item_misses() {
    // interest A: items 0..10 near angle 0; interest B: items 10..20 near 90°
    let x = Array2::from_shape_fn((20, 2), |(i, j)| {
        let angle = if i < 10 {
            0.01 * i as f64
        } else {
            1.5 + 0.01 * i as f64
        };
        if j == 0 {
            angle.cos()
        } else {
            angle.sin()
        }
    });
    let mut t: Vec<(u64, usize, i64)> = (0..6).map(|i| (1, i, 10 + i as i64)).collect();
    t.extend((10..14).map(|i| (1, i, D + i as i64)));
    // day 2: two new items of interest A
    t.extend([(1, 8, 2 * D + 1), (1, 9, 2 * D + 2)]);
    let log = Log::from_triples(t, 20).unwrap();
    let p = Protocol::builder()
        .budget(4)
        .eval_days(1)
        .alpha(1.0)
        .negatives(4)
        .seeds(2)
        .build()
        .unwrap();
    let mut space = ItemSpace::new(x.view(), 4).unwrap();
    let ev = evaluate(&log, &mut space, &p, |_, _| {}).unwrap();
    assert_eq!(ev.user_days, 1);
    let rows = summarise(&ev, true, |_| true);
    let row = |name: &str| rows.iter().find(|r| r.method == name).unwrap().mean;
    // the last item (interest B) retrieves B items only
    assert_eq!(row("last item")[2], 0.0);
    assert_eq!(row("last item")[3], 0.0);
    // two clusters: the top medoids query both interests, A's medoid
    // retrieves its 2 nearest new items (6 and 7), close to the targets 8
    // and 9 (relevance 1) but not them (recall 0)
    assert_eq!(row("top-3 medoids α=1")[2], 1.0);
    assert_eq!(row("top-3 medoids α=1")[3], 0.0);
    assert_eq!(row("PinnerSage α=1")[2], 1.0);
}
