//! Many users at once: the daily batch and per-user recommendations.
//!
//! PinnerSage recomputes every user's profile from the last 90 days once a
//! day. This module turns a log of actions into `(user, Result<UserProfile>)`
//! pairs without holding the log in memory:
//!
//! * [`profiles`] — sequential, over users whose actions come grouped
//!   (`(user, Vec<Action>)`), one result per user in input order;
//! * [`group_by_user`] — groups a flat `(user, item, timestamp)` stream
//!   sorted by user (the usual export of an event log) into such groups, one
//!   user at a time;
//! * `par_profiles` (feature `parallel`) — the same results on rayon's
//!   threads, a bounded chunk of users in flight at a time, in input order;
//! * [`recommend_users`] / `par_recommend_users` (feature `parallel`) — recommendations for many
//!   users, each drawn with its own random generator [`user_rng`] derived from
//!   `(seed, user)`, so the output depends neither on the thread count nor on
//!   the order users are processed in.
//!
//! **A failing user never stops the batch.** Each user's error (an unknown
//! item under [`UnknownItems::Error`](crate::UnknownItems::Error), a failing
//! embedding source, actions in the future, …) is that user's result; the
//! next user is computed as if nothing happened (every user's profile is
//! computed from that user's actions only).
//!
//! ```
//! use pinnersage::batch::{group_by_user, profiles};
//! use pinnersage::{InMemoryEmbeddings, PinnerSage};
//!
//! let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0], [0.0, 1.0]])?;
//! // (user, item, timestamp), sorted by user
//! let log = vec![("ann", 0, 10), ("ann", 1, 20), ("bob", 7, 15), ("cid", 1, 30)];
//! let config = PinnerSage::default();
//! let out: Vec<_> = profiles(&config, group_by_user(log), &source, 30).collect();
//! assert_eq!(out.len(), 3);
//! assert_eq!(out[0].1.as_ref().unwrap().history().used_actions, 2);
//! assert!(out[1].1.as_ref().unwrap().is_empty()); // item 7 is unknown: skipped
//! assert_eq!(out[2].0, "cid");
//! # Ok::<(), pinnersage::Error>(())
//! ```

use core::fmt::Debug;
use core::hash::{Hash, Hasher};
use std::collections::HashSet;
use std::hash::BuildHasher;

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use crate::ann::MedoidNeighbours;
use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::profile::{PinnerSage, UserProfile};
use crate::retrieval::{Interests, Recommendation, Recommender};

/// One user's result in a batch: the user and its profile or error.
pub type UserResult<U, I, F> = (U, Result<UserProfile<I, F>>);

/// One user's actions as a batch input: a plain `Vec<Action<I>>`, or a
/// `Result` of one ([`group_by_user`] yields an error for a user whose
/// actions came out of order); an `Err` becomes that user's result.
pub trait UserActions<I> {
    /// The actions, or the error to report for this user.
    ///
    /// # Errors
    /// Whatever error the input carried for this user.
    fn into_actions(self) -> Result<Vec<Action<I>>>;
}

impl<I> UserActions<I> for Vec<Action<I>> {
    fn into_actions(self) -> Result<Vec<Action<I>>> {
        Ok(self)
    }
}

impl<I> UserActions<I> for Result<Vec<Action<I>>> {
    fn into_actions(self) -> Result<Vec<Action<I>>> {
        self
    }
}

/// Groups a flat `(user, item, timestamp)` stream **sorted by user** into one
/// `(user, actions)` pair per user, in input order (see [`GroupByUser`]).
///
/// Only the current user's actions are held: memory is the largest user's
/// history, not the log. The actions of one user may come in any order.
///
/// # Complexity
/// O(1) per action; O(largest history) memory.
///
/// # Example
/// ```
/// use pinnersage::batch::group_by_user;
///
/// let groups: Vec<_> = group_by_user(vec![(1, 'a', 5), (1, 'b', 6), (2, 'a', 7)]).collect();
/// assert_eq!(groups.len(), 2);
/// assert_eq!(groups[0].1.as_ref().unwrap().len(), 2);
/// // a user that appears again after another one is an error for that user
/// let groups: Vec<_> = group_by_user(vec![(1, 'a', 5), (2, 'a', 7), (1, 'b', 6)]).collect();
/// assert!(groups[2].1.is_err());
/// ```
pub fn group_by_user<U, I, It>(actions: It) -> GroupByUser<It::IntoIter, U, I>
where
    U: Ord + Clone,
    It: IntoIterator<Item = (U, I, i64)>,
{
    GroupByUser {
        inner: actions.into_iter(),
        pending: None,
        last: None,
        row: 0,
    }
}

/// The iterator of [`group_by_user`]: `(user, Ok(actions))` per run of equal
/// users.
///
/// The stream must be sorted by user in ascending order (`Ord` of `U`; sort
/// a CSV export with `sort -t, -k1,1n` for numeric ids). A run whose user is
/// smaller than the previous run's user means the log is not sorted: that
/// run's result is [`Error::UsersNotSorted`] naming the 0-based row it
/// starts at, so the caller learns of it for that user (the earlier run of
/// the same user was profiled on part of its actions: rerun on a sorted log).
#[derive(Debug, Clone)]
pub struct GroupByUser<It, U, I> {
    inner: It,
    pending: Option<(U, I, i64)>,
    last: Option<U>,
    row: u64,
}

impl<It, U, I> Iterator for GroupByUser<It, U, I>
where
    It: Iterator<Item = (U, I, i64)>,
    U: Ord + Clone,
{
    type Item = (U, Result<Vec<Action<I>>>);

    fn next(&mut self) -> Option<Self::Item> {
        let (user, item, ts) = match self.pending.take() {
            Some(first) => first,
            None => self.inner.next()?,
        };
        let start = self.row;
        self.row = self.row.saturating_add(1);
        let mut actions = vec![Action::new(item, ts)];
        for (u, i, t) in self.inner.by_ref() {
            if u != user {
                self.pending = Some((u, i, t));
                break;
            }
            self.row = self.row.saturating_add(1);
            actions.push(Action::new(i, t));
        }
        let result = match &self.last {
            Some(previous) if *previous > user => Err(Error::UsersNotSorted { row: start }),
            _ => Ok(actions),
        };
        if self.last.as_ref().is_none_or(|previous| *previous < user) {
            self.last = Some(user.clone());
        }
        Some((user, result))
    }
}

/// Profiles of many users, one `(user, result)` per input user in input
/// order, computed lazily one user at a time: each is
/// [`PinnerSage::profile`] of that user's actions at `now`.
///
/// A user's error (including an `Err` input from [`group_by_user`]) is that
/// user's result and does not affect any other user.
///
/// # Errors
/// Per user: the errors of [`PinnerSage::profile`], or the input's error.
///
/// # Complexity
/// The sum of the users' costs; memory of one user at a time.
///
/// # Example
/// See the [module docs](self).
pub fn profiles<'a, U, A, S, It>(
    config: &'a PinnerSage,
    users: It,
    source: &'a S,
    now: i64,
) -> impl Iterator<Item = UserResult<U, S::Id, S::Elem>> + 'a
where
    It: IntoIterator<Item = (U, A)>,
    It::IntoIter: 'a,
    A: UserActions<S::Id>,
    S: EmbeddingSource + ?Sized,
    S::Id: Clone + Ord + Debug,
{
    users
        .into_iter()
        .map(move |(user, actions)| (user, profile_one(config, actions, source, now)))
}

fn profile_one<A, S>(
    config: &PinnerSage,
    actions: A,
    source: &S,
    now: i64,
) -> Result<UserProfile<S::Id, S::Elem>>
where
    A: UserActions<S::Id>,
    S: EmbeddingSource + ?Sized,
    S::Id: Clone + Ord + Debug,
{
    let actions = actions.into_actions()?;
    config.profile(&actions, source, now)
}

/// [`profiles`] on rayon's threads: the same results in the same order, with
/// at most `chunk` users in flight (read from `users`, computed in parallel,
/// then yielded in order before the next chunk is read).
///
/// Memory is bounded by the chunk: `chunk` users' actions and profiles, not
/// the log. A chunk a few times the thread count keeps every thread busy
/// (the example uses 256).
///
/// # Errors
/// Per user, as [`profiles`].
///
/// # Complexity
/// The sum of the users' costs over rayon's threads; within a chunk the
/// slowest user bounds the chunk's time.
///
/// # Example
/// ```
/// use core::num::NonZeroUsize;
/// use pinnersage::batch::{par_profiles, profiles};
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0], [0.0, 1.0]])?;
/// let users: Vec<(u32, Vec<Action<usize>>)> =
///     (0..10).map(|u| (u, vec![Action::new(u as usize % 2, 5)])).collect();
/// let config = PinnerSage::default();
/// let chunk = NonZeroUsize::new(4).unwrap();
/// let parallel: Vec<_> = par_profiles(&config, users.clone(), &source, 10, chunk).collect();
/// let sequential: Vec<_> = profiles(&config, users, &source, 10).collect();
/// assert_eq!(parallel, sequential);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[cfg(feature = "parallel")]
#[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
pub fn par_profiles<'a, U, A, S, It>(
    config: &'a PinnerSage,
    users: It,
    source: &'a S,
    now: i64,
    chunk: core::num::NonZeroUsize,
) -> impl Iterator<Item = UserResult<U, S::Id, S::Elem>> + 'a
where
    It: IntoIterator<Item = (U, A)>,
    It::IntoIter: 'a,
    U: Send + 'a,
    A: UserActions<S::Id> + Send + 'a,
    S: EmbeddingSource + Sync + ?Sized,
    S::Id: Clone + Ord + Debug + Send + Sync,
    S::Elem: Send,
{
    par_map(users, chunk, move |(user, actions): (U, A)| {
        (user, profile_one(config, actions, source, now))
    })
}

/// Applies `f` to every item on rayon's threads, `chunk` items at a time,
/// yielding the results in input order: the engine of [`par_profiles`], for
/// callers who want to wrap each user's work (time it, write it, …).
///
/// # Complexity
/// The items' costs over rayon's threads; at most `chunk` inputs and
/// outputs held at once.
///
/// # Example
/// ```
/// use core::num::NonZeroUsize;
/// let squares: Vec<u64> = pinnersage::batch::par_map(1..=5u64, NonZeroUsize::MIN, |x| x * x).collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
#[cfg(feature = "parallel")]
#[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
pub fn par_map<It, F, R>(
    items: It,
    chunk: core::num::NonZeroUsize,
    f: F,
) -> ParMap<It::IntoIter, F, R>
where
    It: IntoIterator,
    It::Item: Send,
    F: Fn(It::Item) -> R + Sync,
    R: Send,
{
    ParMap {
        inner: items.into_iter(),
        f,
        chunk: chunk.get(),
        ready: std::collections::VecDeque::new(),
    }
}

/// The iterator of [`par_map`] and [`par_profiles`].
#[cfg(feature = "parallel")]
#[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
pub struct ParMap<It, F, R> {
    inner: It,
    f: F,
    chunk: usize,
    ready: std::collections::VecDeque<R>,
}

#[cfg(feature = "parallel")]
impl<It, F, R> Iterator for ParMap<It, F, R>
where
    It: Iterator,
    It::Item: Send,
    F: Fn(It::Item) -> R + Sync,
    R: Send,
{
    type Item = R;

    fn next(&mut self) -> Option<R> {
        use rayon::prelude::*;
        if self.ready.is_empty() {
            let items: Vec<It::Item> = self.inner.by_ref().take(self.chunk).collect();
            if items.is_empty() {
                return None;
            }
            let f = &self.f;
            crate::thread_pool::make_usable_here();
            let out: Vec<R> = items.into_par_iter().map(f).collect();
            self.ready.extend(out);
        }
        self.ready.pop_front()
    }
}

/// [`par_map`] with the caller's work overlapped: the calling thread reads
/// `items` and computes chunk after chunk on rayon's threads while `consume`
/// drains the results in input order on a thread of its own (writing a
/// store, a file, …). With [`par_map`] the threads idle while the caller
/// consumes a chunk; here they compute the next one.
///
/// At most three chunks are held: one being consumed, one computed and
/// waiting, one computing. If `consume` returns before draining the results,
/// the computation stops after its current chunk. A panic in `consume` is
/// resumed on the calling thread. Returns what `consume`
/// returns.
///
/// # Complexity
/// As [`par_map`]; the consumer's time is hidden behind the computation as
/// long as it is shorter.
///
/// # Example
/// ```
/// use core::num::NonZeroUsize;
/// use pinnersage::batch::par_pipeline;
///
/// let chunk = NonZeroUsize::new(2).unwrap();
/// let total = par_pipeline(1..=5u64, chunk, |x| x * x, |squares| squares.sum::<u64>());
/// assert_eq!(total, 55);
/// ```
#[cfg(feature = "parallel")]
#[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
pub fn par_pipeline<It, F, R, C, T>(
    items: It,
    chunk: core::num::NonZeroUsize,
    f: F,
    consume: C,
) -> T
where
    It: IntoIterator,
    It::Item: Send,
    F: Fn(It::Item) -> R + Sync,
    R: Send,
    C: FnOnce(&mut dyn Iterator<Item = R>) -> T + Send,
    T: Send,
{
    use rayon::prelude::*;
    let mut inner = items.into_iter();
    let chunks = chunk;
    let chunk = chunk.get();
    crate::thread_pool::make_usable_here();
    // held outside the scope so that the calling thread can take it back
    // when no consumer thread can start
    let consume = std::sync::Mutex::new(Some(consume));
    let slot = &consume;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<R>>(1);
        // the consumer on its own thread; the items are read and computed on
        // the calling thread, so an installed rayon pool is the one used
        let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
            let consume = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .expect("the consumer is taken once");
            let mut results = rx.into_iter().flatten();
            consume(&mut results)
        });
        let consumer = match spawned {
            Ok(consumer) => consumer,
            // no thread could start (a thread or address-space limit): the
            // consumer drains the results on the calling thread, chunk by
            // chunk as `par_map` computes them
            Err(_) => {
                let consume = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .expect("a consumer that did not start is still here");
                return consume(&mut par_map(inner, chunks, &f));
            }
        };
        loop {
            let items: Vec<It::Item> = inner.by_ref().take(chunk).collect();
            if items.is_empty() {
                break;
            }
            let out: Vec<R> = items.into_par_iter().map(&f).collect();
            if tx.send(out).is_err() {
                break; // the consumer returned early
            }
        }
        drop(tx);
        match consumer.join() {
            Ok(t) => t,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A stable 64-bit FNV-1a hasher over little-endian bytes: the same value on
/// every platform and Rust release (unlike `DefaultHasher`).
struct StableHasher(u64);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }
    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
    fn write_i128(&mut self, i: i128) {
        self.write(&i.to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

/// SplitMix64's finaliser: a bijection on `u64` that spreads every input bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random generator of `user` in a run seeded with `seed`:
/// `Xoshiro256PlusPlus::seed_from_u64(mix(seed ⊕ mix(h(user))))`, where `h`
/// is 64-bit FNV-1a over the bytes `user`'s [`Hash`] implementation writes
/// (integers as little-endian bytes, so the same on every platform) and
/// `mix` is SplitMix64's finaliser.
///
/// Each user's draws depend only on `(seed, user)`: not on which thread
/// serves the user, nor on how many users came before. Changing the seed
/// changes every user's stream. The streams are value-stable across
/// platforms and releases of this crate for integer and string ids (a
/// change would be a breaking change).
///
/// # Example
/// ```
/// use pinnersage::rand::RngExt;
/// let a: u64 = pinnersage::batch::user_rng(7, &42_u64).random();
/// let b: u64 = pinnersage::batch::user_rng(7, &42_u64).random();
/// let c: u64 = pinnersage::batch::user_rng(7, &43_u64).random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn user_rng<U: Hash + ?Sized>(seed: u64, user: &U) -> Xoshiro256PlusPlus {
    let mut h = StableHasher(0xcbf2_9ce4_8422_2325);
    user.hash(&mut h);
    Xoshiro256PlusPlus::seed_from_u64(mix(seed ^ mix(h.finish())))
}

/// Recommendations of one user, as returned by [`recommend_users`].
pub type UserRecommendations<U, I, F> = (U, Result<Vec<Recommendation<I, F>>>);

/// Recommendations for many users with [`Recommender::recommend`], each
/// user's selection drawn from [`user_rng`]`(seed, user)`, excluding
/// `exclude(user, profile)` (say, the items the user already engaged with,
/// or an empty set); one result per user in input order.
///
/// # Errors
/// Per user: the errors of [`Recommender::recommend`].
///
/// # Complexity
/// One [`Recommender::recommend`] per user.
///
/// # Example
/// ```
/// use std::collections::HashSet;
/// use pinnersage::ann::{ExactIndex, Metric};
/// use pinnersage::batch::recommend_users;
/// use pinnersage::retrieval::Recommender;
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let x = pinnersage::ndarray::array![[1.0_f32, 0.0], [0.9, 0.1], [0.0, 1.0]];
/// let source = InMemoryEmbeddings::with_row_ids(x.clone())?;
/// let index = ExactIndex::with_row_ids(x, Metric::SquaredEuclidean)?;
/// let profile = PinnerSage::default().profile(&[Action::new(0, 1)], &source, 1)?;
/// let users = vec![("ann", profile)];
/// let recs = recommend_users(&Recommender::default(), &users, &index, |_, _| HashSet::new(), 7);
/// assert_eq!(recs[0].1.as_ref().unwrap()[0].item, 0);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn recommend_users<U, P, X, E, H>(
    recommender: &Recommender,
    users: &[(U, P)],
    source: &X,
    exclude: E,
    seed: u64,
) -> Vec<UserRecommendations<U, P::Id, P::Elem>>
where
    U: Hash + Clone,
    P: Interests,
    X: MedoidNeighbours<Id = P::Id, Elem = P::Elem> + ?Sized,
    E: Fn(&U, &P) -> HashSet<P::Id, H>,
    H: BuildHasher,
{
    users
        .iter()
        .map(|(user, profile)| recommend_user(recommender, source, &exclude, seed, user, profile))
        .collect()
}

/// One user's entry of [`recommend_users`] (and of its parallel twin): the
/// selection drawn from [`user_rng`]`(seed, user)`, excluding
/// `exclude(user, profile)`.
fn recommend_user<U, P, X, E, H>(
    recommender: &Recommender,
    source: &X,
    exclude: &E,
    seed: u64,
    user: &U,
    profile: &P,
) -> UserRecommendations<U, P::Id, P::Elem>
where
    U: Hash + Clone,
    P: Interests,
    X: MedoidNeighbours<Id = P::Id, Elem = P::Elem> + ?Sized,
    E: Fn(&U, &P) -> HashSet<P::Id, H>,
    H: BuildHasher,
{
    let mut rng = user_rng(seed, user);
    let exclusions = exclude(user, profile);
    let recs = recommender.recommend(profile, source, &exclusions, &mut rng);
    (user.clone(), recs)
}

/// [`recommend_users`] on rayon's threads: the same results, whatever the
/// thread count.
///
/// # Errors
/// Per user, as [`recommend_users`].
///
/// # Complexity
/// One [`Recommender::recommend`] per user, over rayon's threads.
///
/// # Example
/// See [`recommend_users`]; the results are equal.
#[cfg(feature = "parallel")]
#[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
pub fn par_recommend_users<U, P, X, E, H>(
    recommender: &Recommender,
    users: &[(U, P)],
    source: &X,
    exclude: E,
    seed: u64,
) -> Vec<UserRecommendations<U, P::Id, P::Elem>>
where
    U: Hash + Clone + Send + Sync,
    P: Interests + Sync,
    P::Id: Send,
    P::Elem: Send,
    X: MedoidNeighbours<Id = P::Id, Elem = P::Elem> + Sync + ?Sized,
    E: Fn(&U, &P) -> HashSet<P::Id, H> + Sync,
    H: BuildHasher,
{
    use rayon::prelude::*;
    crate::thread_pool::make_usable_here();
    users
        .par_iter()
        .map(|(user, profile)| recommend_user(recommender, source, &exclude, seed, user, profile))
        .collect()
}

/// The items of a profile's clusters: the usual exclusion set for
/// [`recommend_users`] (do not recommend what the user already engaged
/// with).
///
/// # Complexity
/// O(total members).
pub fn seen_items<I: Clone + Eq + Hash, F>(profile: &UserProfile<I, F>) -> HashSet<I> {
    profile
        .clusters()
        .iter()
        .flat_map(|c| c.members().iter().map(|m| m.item.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_rng_is_value_stable() {
        use rand::RngExt;
        // pinned: changing the derivation is a breaking change
        let a: u64 = user_rng(1, &12_346_u64).random();
        let b: u64 = user_rng(1, "12346").random();
        assert_eq!(a, 1_183_295_018_770_699_558);
        assert_eq!(b, 16_037_274_414_866_209_872);
        assert_eq!(user_rng(1, &12_346_u64).random::<u64>(), a);
        assert_ne!(user_rng(2, &12_346_u64).random::<u64>(), a);
    }

    #[test]
    fn fnv_reference_value() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector)
        let mut h = StableHasher(0xcbf2_9ce4_8422_2325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
