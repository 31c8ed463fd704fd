//! The keyed batch: grouping, poisoned users, parallel = sequential,
//! per-user random generators.

use std::cell::Cell;

use pinnersage::batch::{group_by_user, profiles};
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{
    Action, EmbeddingSource, Error, ExternalError, InMemoryEmbeddings, PinnerSage, Result,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const NOW: i64 = 1_700_000_000;

/// A user id and its actions.
type User = (u64, Vec<Action<usize>>);

/// `n` synthetic users (ids 100, 101, …) of the default catalogue.
fn users(n: usize, seed: u64) -> (InMemoryEmbeddings<usize, f32>, Vec<User>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
    let users = (0..n as u64)
        .map(|u| {
            let user = catalog.user(&UserConfig::default(), NOW, &mut rng).unwrap();
            (100 + u, user.actions)
        })
        .collect();
    let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned()).unwrap();
    (source, users)
}

/// A source that fails on one item (a remote store's broken record).
struct Poisoned<'a> {
    inner: &'a InMemoryEmbeddings<usize, f32>,
    poison: usize,
}

impl EmbeddingSource for Poisoned<'_> {
    type Id = usize;
    type Elem = f32;
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn fill(&self, id: &usize, out: &mut [f32]) -> Result<bool> {
        if *id == self.poison {
            return Err(Error::Source(ExternalError::new(
                "record 999999 is corrupt",
            )));
        }
        self.inner.fill(id, out)
    }
}

/// Users 3 (a poisoned item) and 7 (an action in the future) fail.
fn poisoned_log() -> (InMemoryEmbeddings<usize, f32>, Vec<User>) {
    let (source, mut users) = users(12, 5);
    users[3].1.push(Action::new(999_999, NOW - 10));
    users[7].1.push(Action::new(1, NOW + 1));
    (source, users)
}

/// A result with its error as a message.
#[cfg(feature = "parallel")]
type Comparable<'a> = core::result::Result<&'a pinnersage::UserProfile<usize, f32>, String>;

#[cfg(feature = "parallel")]
type Out = Vec<(u64, Result<pinnersage::UserProfile<usize, f32>>)>;

#[cfg(feature = "parallel")]
fn comparable(out: &Out) -> Vec<(u64, Comparable<'_>)> {
    out.iter()
        .map(|(u, r)| (*u, r.as_ref().map_err(|e| e.to_string())))
        .collect()
}

fn check_poisoned(
    out: &[(u64, Result<pinnersage::UserProfile<usize, f32>>)],
    source: &Poisoned<'_>,
    users: &[(u64, Vec<Action<usize>>)],
) {
    let config = PinnerSage::default();
    assert_eq!(out.len(), users.len());
    for ((user, result), (expected_user, actions)) in out.iter().zip(users) {
        assert_eq!(user, expected_user);
        match *user {
            103 => assert!(matches!(result, Err(Error::Source(_))), "{result:?}"),
            107 => assert!(
                matches!(result, Err(Error::ActionInFuture { .. })),
                "{result:?}"
            ),
            _ => {
                let alone = config.profile(actions, source, NOW).unwrap();
                assert_eq!(result.as_ref().unwrap(), &alone, "user {user}");
                assert!(!alone.is_empty());
            }
        }
    }
}

#[test]
fn a_poisoned_user_fails_alone_and_the_batch_goes_on() {
    let (inner, users) = poisoned_log();
    let source = Poisoned {
        inner: &inner,
        poison: 999_999,
    };
    let config = PinnerSage::default();
    let out: Vec<_> = profiles(&config, users.clone(), &source, NOW).collect();
    check_poisoned(&out, &source, &users);
}

#[test]
fn a_flat_log_sorted_by_user_groups_into_the_same_results() {
    let (source, users) = users(6, 9);
    let flat: Vec<(u64, usize, i64)> = users
        .iter()
        .flat_map(|(u, a)| a.iter().map(move |x| (*u, x.item, x.timestamp)))
        .collect();
    let config = PinnerSage::default();
    let grouped: Vec<_> = profiles(&config, users.clone(), &source, NOW).collect();
    let from_flat: Vec<_> = profiles(&config, group_by_user(flat), &source, NOW).collect();
    assert_eq!(grouped, from_flat);
    assert_eq!(from_flat.len(), 6);
}

#[test]
fn an_unsorted_log_is_an_error_for_the_user_out_of_order_only() {
    // rows: 0 1 (user 1), 2 (user 3), 3 (user 2: out of order), 4 (user 4)
    let flat = vec![(1, 0usize, 5), (1, 1, 6), (3, 0, 7), (2, 1, 8), (4, 1, 9)];
    let groups: Vec<_> = group_by_user(flat).collect();
    let users: Vec<i32> = groups.iter().map(|g| g.0).collect();
    assert_eq!(users, [1, 3, 2, 4]);
    assert_eq!(groups[0].1.as_ref().unwrap().len(), 2);
    assert!(matches!(groups[2].1, Err(Error::UsersNotSorted { row: 3 })));
    assert!(groups[1].1.is_ok() && groups[3].1.is_ok());
    // the error carries through a batch as that user's result
    let source = InMemoryEmbeddings::with_row_ids(ndarray::array![[1.0_f32], [0.5]]).unwrap();
    let out: Vec<_> = profiles(&PinnerSage::default(), groups, &source, 10).collect();
    assert!(matches!(out[2].1, Err(Error::UsersNotSorted { row: 3 })));
    assert!(out.iter().filter(|r| r.1.is_ok()).count() == 3);
    // Display names the row and what to do
    let message = Error::UsersNotSorted { row: 3 }.to_string();
    assert!(message.contains("row 3") && message.contains("sort"));
}

#[test]
fn grouping_holds_one_user_at_a_time() {
    // an endless log: grouping must not read ahead more than one action
    let pulled = Cell::new(0u64);
    let endless = (0u64..).map(|i| {
        pulled.set(pulled.get() + 1);
        (i / 3, 0usize, 0i64)
    });
    let mut groups = group_by_user(endless);
    let first = groups.next().unwrap();
    assert_eq!(first.0, 0);
    assert_eq!(first.1.unwrap().len(), 3);
    assert_eq!(pulled.get(), 4); // three of user 0 and the first of user 1
}

#[cfg(feature = "parallel")]
mod parallel {
    use super::*;
    use core::num::NonZeroUsize;
    use pinnersage::ann::{ExactIndex, Metric};
    use pinnersage::batch::{
        par_pipeline, par_profiles, par_recommend_users, recommend_users, seen_items,
    };
    use pinnersage::retrieval::Recommender;
    use std::collections::HashSet;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn parallel_equals_sequential_with_a_poisoned_user_mid_batch() {
        let (inner, users) = poisoned_log();
        let source = Poisoned {
            inner: &inner,
            poison: 999_999,
        };
        let config = PinnerSage::default();
        let sequential: Vec<_> = profiles(&config, users.clone(), &source, NOW).collect();
        for threads in [1, 2] {
            for chunk in [1, 5, 64] {
                let chunk = NonZeroUsize::new(chunk).unwrap();
                let parallel: Vec<_> = pool(threads).install(|| {
                    par_profiles(&config, users.clone(), &source, NOW, chunk).collect()
                });
                // errors compare by message (an external error compares by identity)
                assert!(
                    comparable(&parallel) == comparable(&sequential),
                    "threads {threads}, chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn the_pipeline_equals_sequential_and_stops_with_its_consumer() {
        let (inner, users) = poisoned_log();
        let source = Poisoned {
            inner: &inner,
            poison: 999_999,
        };
        let config = PinnerSage::default();
        let sequential: Vec<_> = profiles(&config, users.clone(), &source, NOW).collect();
        for threads in [1, 2] {
            let chunk = NonZeroUsize::new(5).unwrap();
            let piped: Out = pool(threads).install(|| {
                par_pipeline(
                    users.clone(),
                    chunk,
                    |(u, a): (u64, Vec<Action<usize>>)| (u, config.profile(&a, &source, NOW)),
                    |results| results.collect(),
                )
            });
            assert!(
                comparable(&piped) == comparable(&sequential),
                "threads {threads}"
            );
        }
        // a consumer that stops early stops the computation within two chunks
        let pulled = std::sync::atomic::AtomicUsize::new(0);
        let counted = (0..1_000u32).inspect(|_| {
            pulled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let chunk = NonZeroUsize::new(10).unwrap();
        let first: Vec<u32> = par_pipeline(counted, chunk, |x| x * 2, |r| r.take(3).collect());
        assert_eq!(first, [0, 2, 4]);
        assert!(pulled.load(std::sync::atomic::Ordering::Relaxed) <= 40);
    }

    #[test]
    fn parallel_batch_holds_at_most_one_chunk() {
        let (source, users) = users(10, 3);
        let pulled = std::sync::atomic::AtomicUsize::new(0);
        let counted = users.into_iter().inspect(|_| {
            pulled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let config = PinnerSage::default();
        let chunk = NonZeroUsize::new(4).unwrap();
        let mut out = par_profiles(&config, counted, &source, NOW, chunk);
        out.next().unwrap().1.unwrap();
        assert_eq!(pulled.load(std::sync::atomic::Ordering::Relaxed), 4);
        for _ in 0..4 {
            out.next().unwrap().1.unwrap();
        }
        assert_eq!(pulled.load(std::sync::atomic::Ordering::Relaxed), 8);
        assert_eq!(out.count(), 5);
    }

    #[test]
    fn recommendations_do_not_depend_on_threads_or_order() {
        let (source, users) = users(16, 11);
        let config = PinnerSage::default();
        let profiles: Vec<(u64, _)> = profiles(&config, users, &source, NOW)
            .map(|(u, p)| (u, p.unwrap()))
            .collect();
        let index =
            ExactIndex::with_row_ids(source.matrix().to_owned(), Metric::SquaredEuclidean).unwrap();
        let recommender = Recommender::default();
        let exclude = |_: &u64, p: &pinnersage::UserProfile<usize, f32>| seen_items(p);
        let sequential = recommend_users(&recommender, &profiles, &index, exclude, 42);
        assert!(sequential
            .iter()
            .all(|(_, r)| r.as_ref().unwrap().len() == recommender.n()));
        for threads in [1, 2] {
            let parallel = pool(threads)
                .install(|| par_recommend_users(&recommender, &profiles, &index, exclude, 42));
            assert_eq!(parallel, sequential, "threads {threads}");
        }
        // reversed order: each user gets the same recommendations
        let mut reversed = profiles.clone();
        reversed.reverse();
        let mut back = par_recommend_users(&recommender, &reversed, &index, exclude, 42);
        back.reverse();
        assert_eq!(back, sequential);
        // another seed draws other medoids for some user (the default samples 3 of ~4)
        let other = recommend_users(&recommender, &profiles, &index, exclude, 43);
        assert_ne!(other, sequential);
        let items: HashSet<usize> = sequential[0]
            .1
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| r.item)
            .collect();
        assert!(items.is_disjoint(&seen_items(&profiles[0].1)));
    }
}
