//! The profile store: round trips, compactness, failures, staleness, the
//! update's drift, concurrent readers.
#![cfg(feature = "store")]

mod store_support;

use core::num::NonZeroUsize;
use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pinnersage::store::{ProfileStore, DEFAULT_MAX_STALENESS};
use pinnersage::{Action, Error, PinnerSage, Result, UserProfile};
use store_support::{actions, profile, source, temp_path, HOUR, NOW};

type Store = ProfileStore<u64, usize, f32>;

fn chunk(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[test]
fn profiles_round_trip_exactly_and_compactly() {
    let path = temp_path("round-trip");
    let config = PinnerSage::default();
    let store: Store = Store::builder().open(&path, &config).unwrap();
    assert!(store.is_empty().unwrap());
    assert!(store.get(&1).unwrap().is_none());
    let results = (0..20u64).map(|u| (u, Ok(profile(&config, u, NOW))));
    let summary = store.write(results, chunk(7), |_| {}).unwrap();
    assert_eq!(
        (summary.users, summary.written, summary.failed),
        (20, 20, 0)
    );
    assert_eq!(summary.transactions, 3);
    assert_eq!(store.len().unwrap(), 20);
    for u in 0..20 {
        let stored = store.get(&u).unwrap().unwrap();
        assert_eq!(stored.profile, profile(&config, u, NOW));
        assert_eq!(stored.computed_at, NOW);
        // the record leaves the configuration out and is far smaller than JSON
        let record = store.record_len(&u).unwrap().unwrap();
        let json = serde_json::to_vec(&stored.profile).unwrap().len();
        let whole = postcard_len(&stored.profile);
        let config = postcard::to_stdvec(stored.profile.config()).unwrap().len();
        // computed_at (5 bytes as a varint) replaces the configuration
        assert_eq!(record, whole - config + 5, "{record} vs {whole}");
        assert!(record * 3 < json, "{record} bytes vs JSON {json}");
    }
    // compaction keeps every profile
    let mut store = store;
    store.compact().unwrap();
    assert_eq!(
        store.get(&19).unwrap().unwrap().profile,
        profile(&config, 19, NOW)
    );
    // reopened without the configuration: the stored one is used
    drop(store);
    let again: Store = Store::builder().open_existing(&path).unwrap();
    assert_eq!(again.config(), &config);
    assert_eq!(again.all().unwrap().len(), 20);
}

fn postcard_len(p: &UserProfile<usize, f32>) -> usize {
    postcard::to_stdvec(p).unwrap().len()
}

#[test]
fn another_configuration_is_refused() {
    let path = temp_path("mismatch");
    let config = PinnerSage::default();
    let store: Store = Store::builder().open(&path, &config).unwrap();
    let other = PinnerSage::builder().alpha(2.0).build().unwrap();
    let p = profile(&other, 1, NOW);
    assert!(matches!(
        store.put(&1, &p, NOW),
        Err(Error::StoreConfigMismatch)
    ));
    drop(store);
    let reopened: Result<Store> = Store::builder().open(&path, &other);
    assert!(matches!(reopened, Err(Error::StoreConfigMismatch)));
    assert!(Error::StoreConfigMismatch
        .to_string()
        .contains("configuration"));
}

#[test]
fn a_missing_or_foreign_file_is_a_store_error() {
    let missing: Result<Store> = Store::builder().open_existing(temp_path("missing"));
    assert!(matches!(missing, Err(Error::Store(_))));
    let path = temp_path("foreign");
    std::fs::write(&path, b"not a database at all, just some bytes here").unwrap();
    let foreign: Result<Store> = Store::builder().open(&path, &PinnerSage::default());
    let e = foreign.unwrap_err();
    assert!(matches!(e, Error::Store(_)));
    assert!(e.to_string().starts_with("the profile store failed"));
}

#[test]
fn failed_users_are_counted_and_keep_their_old_profile() {
    let path = temp_path("failures");
    let config = PinnerSage::default();
    let store: Store = Store::builder().open(&path, &config).unwrap();
    store.put(&3, &profile(&config, 3, NOW), NOW).unwrap();
    let later = NOW + 24 * HOUR;
    let results = (0..6u64).map(|u| {
        let r = if u == 3 {
            Err(Error::ActionInFuture {
                index: 0,
                timestamp: later + 1,
                now: later,
            })
        } else {
            Ok(profile(&config, u, later))
        };
        (u, r)
    });
    let mut commits = Vec::new();
    let summary = store.write(results, chunk(4), |n| commits.push(n)).unwrap();
    assert_eq!(commits, [4, 6]);
    assert_eq!((summary.written, summary.failed), (5, 1));
    assert_eq!(summary.first_failures[0].0, 3);
    let kept = store.get(&3).unwrap().unwrap();
    assert_eq!(kept.computed_at, NOW);
    assert_eq!(store.get(&4).unwrap().unwrap().computed_at, later);
}

#[test]
fn update_reads_updates_and_writes_and_refuses_stale_profiles() {
    let path = temp_path("update");
    let config = PinnerSage::default();
    let span = Duration::from_secs(2 * 3_600);
    let store: Store = Store::builder()
        .max_staleness(Some(span))
        .open(&path, &config)
        .unwrap();
    assert_eq!(store.max_staleness_ticks(), Some(7_200));
    let src = source();
    store.put(&1, &profile(&config, 1, NOW), NOW).unwrap();
    // exactly at the bound: accepted, and equal to an update by hand
    let new = [Action::new(5usize, NOW + 7_200)];
    let updated = store.update(&1, &new, &src, NOW + 7_200).unwrap();
    let mut by_hand = profile(&config, 1, NOW);
    by_hand.update(&new, &src, NOW + 7_200).unwrap();
    assert_eq!(updated, by_hand);
    let stored = store.get(&1).unwrap().unwrap();
    assert_eq!(stored.profile, by_hand);
    assert_eq!(stored.computed_at, NOW); // an update is not a recompute
    assert_eq!(stored.staleness(NOW + 7_200), 7_200);
    // one tick later: refused, nothing written
    let late = [Action::new(6usize, NOW + 7_201)];
    let e = store.update(&1, &late, &src, NOW + 7_201).unwrap_err();
    assert_eq!(
        e,
        Error::StaleProfile {
            computed_at: NOW,
            now: NOW + 7_201,
            max_ticks: 7_200
        }
    );
    assert!(e.to_string().contains("recompute"));
    assert_eq!(store.get(&1).unwrap().unwrap().profile, by_hand);
    // an update's own error writes nothing either
    let future = [Action::new(6usize, NOW + 9_000)];
    assert!(matches!(
        store.update(&1, &future, &src, NOW + 7_200),
        Err(Error::ActionInFuture { .. })
    ));
    // a new user gets a fresh profile
    let fresh = store.update(&9, &actions(9, NOW), &src, NOW).unwrap();
    assert_eq!(fresh, profile(&config, 9, NOW));
    // the default bound is two days
    let default: Store = Store::builder()
        .open(temp_path("update-default"), &config)
        .unwrap();
    assert_eq!(
        default.max_staleness_ticks(),
        Some(DEFAULT_MAX_STALENESS.as_secs())
    );
}

/// The update expires what left the window: with one action per item its
/// importance and action counts equal the recompute's, so the staleness
/// bound no longer has importance drift to limit here.
#[test]
fn the_update_expires_what_left_the_window() {
    let day = 86_400;
    let src = source();
    let t0 = NOW;
    // 20 actions one hour apart ending at t0 (distinct items), then 3 new
    // ones two days later
    let old = actions(1, t0);
    let t1 = t0 + 2 * day;
    let new: Vec<Action<usize>> = (0..3).map(|k| Action::new(40 + k, t1)).collect();
    let all: Vec<Action<usize>> = old.iter().chain(&new).cloned().collect();
    let total =
        |p: &UserProfile<usize, f32>| p.clusters().iter().map(|c| c.importance()).sum::<f64>();
    let count =
        |p: &UserProfile<usize, f32>| p.clusters().iter().map(|c| c.action_count()).sum::<u64>();
    let items = |p: &UserProfile<usize, f32>| {
        let mut v: Vec<usize> = p
            .clusters()
            .iter()
            .flat_map(|c| c.members().iter().map(|m| m.item))
            .collect();
        v.sort_unstable();
        v
    };

    // without a window, total importance and action count agree
    let unwindowed = PinnerSage::builder().window(None).build().unwrap();
    let mut updated = unwindowed.profile(&old, &src, t0).unwrap();
    updated.update(&new, &src, t1).unwrap();
    let recomputed = unwindowed.profile(&all, &src, t1).unwrap();
    assert!((total(&updated) - total(&recomputed)).abs() <= 1e-12 * total(&recomputed));
    assert_eq!(count(&updated), 23);
    assert_eq!(count(&recomputed), 23);

    // a window that ends inside the old actions: both drop the actions older
    // than t1 − window (item 41 was one of them, and is new again)
    let window = 2 * day + 10 * HOUR; // keeps actions at t0 − 10 h … t0
    let windowed = PinnerSage::builder()
        .window(Some(Duration::from_secs(window as u64)))
        .build()
        .unwrap();
    let mut updated = windowed.profile(&old, &src, t0).unwrap();
    updated.update(&new, &src, t1).unwrap();
    let recomputed = windowed.profile(&all, &src, t1).unwrap();
    assert_eq!(old.iter().filter(|a| t1 - a.timestamp > window).count(), 9);
    assert_eq!(count(&recomputed), 3 + 11); // hours 0..=10 before t0
    assert_eq!(count(&updated), 3 + 11);
    assert_eq!(items(&updated), items(&recomputed));
    let drift = total(&updated) - total(&recomputed);
    assert!(drift.abs() <= 1e-12 * total(&recomputed), "{drift}");
}

#[test]
fn readers_during_a_batch_see_whole_chunks_old_or_new() {
    let path = temp_path("readers");
    let config = PinnerSage::default();
    let store: Arc<Store> = Arc::new(Store::builder().open(&path, &config).unwrap());
    const USERS: u64 = 60;
    const CHUNK: u64 = 6;
    let old: Vec<_> = (0..USERS).map(|u| profile(&config, u, NOW)).collect();
    let new: Vec<_> = (0..USERS)
        .map(|u| profile(&config, u, NOW + HOUR))
        .collect();
    store
        .write(
            (0..USERS).map(|u| (u, Ok(old[u as usize].clone()))),
            chunk(60),
            |_| {},
        )
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, new, done) = (store.clone(), new.clone(), done.clone());
        std::thread::spawn(move || {
            let results = (0..USERS).map(|u| (u, Ok(new[u as usize].clone())));
            store
                .write(results, chunk(CHUNK as usize), |_| {
                    std::thread::sleep(Duration::from_millis(5))
                })
                .unwrap();
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut snapshots = 0;
    let mut mixed = 0;
    while !done.load(Ordering::SeqCst) || snapshots == 0 {
        let all = store.all().unwrap();
        assert_eq!(all.len(), USERS as usize);
        let mut is_new = vec![false; USERS as usize];
        for (u, stored) in &all {
            let u = *u as usize;
            if stored.profile == new[u] {
                is_new[u] = true;
            } else {
                assert_eq!(stored.profile, old[u], "user {u}: torn profile");
            }
        }
        // whole chunks, written in order: new chunks form a prefix
        let chunks: Vec<bool> = is_new
            .chunks(CHUNK as usize)
            .map(|c| {
                assert!(
                    c.iter().all(|&b| b == c[0]),
                    "a chunk was seen half written"
                );
                c[0]
            })
            .collect();
        assert!(chunks.windows(2).all(|w| w[0] || !w[1]));
        if chunks.iter().any(|&b| b) && !chunks.iter().all(|&b| b) {
            mixed += 1;
        }
        snapshots += 1;
    }
    writer.join().unwrap();
    assert!(store
        .all()
        .unwrap()
        .iter()
        .all(|(u, s)| s.profile == new[*u as usize]));
    assert!(snapshots > 1);
    let _ = mixed; // how many snapshots fell mid-batch depends on scheduling
}
