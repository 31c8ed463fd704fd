//! A bounded, thread-safe cache of medoid neighbour lists.

use core::ops::Deref;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::ArrayView1;

use super::{check_query, AnnIndex, Neighbour};
use crate::error::{Error, Result};

/// A neighbour list shared between the cache and its readers: the first
/// `len` entries of a reference-counted list, so a hit copies no neighbour.
#[derive(Debug, Clone)]
pub struct SharedNeighbours<I, F> {
    list: Arc<[Neighbour<I, F>]>,
    len: usize,
}

impl<I, F> SharedNeighbours<I, F> {
    /// Wraps a freshly computed list.
    pub fn new(list: Vec<Neighbour<I, F>>) -> Self {
        let len = list.len();
        SharedNeighbours {
            list: list.into(),
            len,
        }
    }

    /// `true` if `self` and `other` view the same allocation (a cache hit
    /// hands out the very list computed on the miss).
    pub fn shares_allocation_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.list, &other.list)
    }
}

impl<I, F> Deref for SharedNeighbours<I, F> {
    type Target = [Neighbour<I, F>];
    fn deref(&self) -> &Self::Target {
        &self.list[..self.len]
    }
}

/// Something that returns the neighbours of a medoid, given its id and
/// embedding: an index queried afresh, or a [`MedoidCache`] in front of one.
///
/// Retrieval ([`crate::retrieval`]) is written against this trait, so caching
/// is a matter of passing a cache instead of the bare index.
pub trait MedoidNeighbours {
    /// The item id type.
    type Id: Clone + Eq + core::hash::Hash;
    /// The embedding element type.
    type Elem: crate::Scalar;

    /// The `k` nearest neighbours of the medoid `id` whose embedding is
    /// `embedding`, nearest first. The medoid itself is an indexed item, so it
    /// is normally its own first neighbour.
    ///
    /// # Errors
    /// Those of [`AnnIndex::search`].
    fn medoid_neighbours(
        &self,
        id: &Self::Id,
        embedding: ArrayView1<'_, Self::Elem>,
        k: usize,
    ) -> Result<SharedNeighbours<Self::Id, Self::Elem>>;

    /// The metric of the underlying index, in which the lists' distances are
    /// expressed. (Not named `metric`, so that it never clashes with
    /// [`AnnIndex::metric`] when both traits are in scope.)
    fn distance_metric(&self) -> super::Metric;
}

impl<X: AnnIndex + ?Sized> MedoidNeighbours for X {
    type Id = X::Id;
    type Elem = X::Elem;

    /// Searches the index; the id is not used.
    fn medoid_neighbours(
        &self,
        _id: &X::Id,
        embedding: ArrayView1<'_, X::Elem>,
        k: usize,
    ) -> Result<SharedNeighbours<X::Id, X::Elem>> {
        self.search(embedding, k).map(SharedNeighbours::new)
    }

    fn distance_metric(&self) -> super::Metric {
        self.metric()
    }
}

/// Hit and miss counts of a [`MedoidCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that queried the index.
    pub misses: u64,
    /// Entries currently held.
    pub entries: usize,
    /// Maximum number of entries.
    pub capacity: usize,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before any lookup.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Debug)]
struct Entry<I, F> {
    list: SharedNeighbours<I, F>,
    /// The `k` the list was computed for. It answers any larger `k` only if
    /// it holds every item of the index.
    k: usize,
    tick: u64,
}

#[derive(Debug)]
struct Lru<I, F> {
    entries: HashMap<I, Entry<I, F>>,
    /// Recency order: tick → key, oldest first.
    order: BTreeMap<u64, I>,
    next_tick: u64,
}

/// An LRU cache of neighbour lists keyed by medoid id, in front of any
/// [`AnnIndex`].
///
/// Medoids are real catalogue items, and popular items are the medoids of many
/// users' clusters, so a medoid's neighbour list can be computed once and shared
/// by every user whose profile contains it (the paper's production system
/// caches exactly this). The cache is bounded (least recently used entries
/// are evicted), thread-safe (`&self` methods behind a `Mutex`; the index is
/// queried outside the lock) and counts hits and misses.
///
/// A cached list computed for `k` answers any request for `k' ≤ k` with its
/// first `k'` entries (the shared allocation, no copy); a larger `k'` is a
/// miss that replaces the entry. The one exception is a list that holds every
/// item of the index (`len() == index.len()`): it answers any `k'`. A list
/// shorter than its `k` but not complete (an approximate index such as HNSW
/// may return fewer than `k` neighbours although it holds more items) is
/// *not* taken as complete: a larger `k'` asks the index again.
///
/// Two threads missing on the same medoid at once may both query the index;
/// the list computed for the larger `k` is kept, whichever finishes last.
///
/// The cache trusts that a medoid id always comes with the same embedding
/// (catalogue embeddings are fixed); call [`clear`](MedoidCache::clear) after
/// re-embedding the catalogue.
///
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ann::{ExactIndex, MedoidCache, MedoidNeighbours, Metric};
///
/// let items = array![[1.0_f32, 0.0], [0.9, 0.1], [0.0, 1.0]];
/// let index = ExactIndex::with_row_ids(items.clone(), Metric::Cosine)?;
/// let cache = MedoidCache::builder(index).capacity(1024).build()?;
/// let first = cache.medoid_neighbours(&0, items.row(0), 2)?;
/// let again = cache.medoid_neighbours(&0, items.row(0), 2)?;
/// assert_eq!(first[1].id, 1);
/// assert!(first.shares_allocation_with(&again));
/// assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug)]
pub struct MedoidCache<X: AnnIndex> {
    index: X,
    capacity: usize,
    lru: Mutex<Lru<X::Id, X::Elem>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Configures a [`MedoidCache`]: [`MedoidCache::builder`] →
/// [`capacity`](Self::capacity) → [`build`](Self::build).
#[derive(Debug)]
pub struct MedoidCacheBuilder<X> {
    index: X,
    capacity: usize,
}

impl<X: AnnIndex> MedoidCacheBuilder<X> {
    /// At most `capacity` neighbour lists are kept (least recently used
    /// evicted first). Must be ≥ 1. Default
    /// [`MedoidCache::DEFAULT_CAPACITY`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The cache, empty.
    ///
    /// # Errors
    /// [`Error::ZeroCacheCapacity`] if the capacity is 0.
    pub fn build(self) -> Result<MedoidCache<X>> {
        if self.capacity == 0 {
            return Err(Error::ZeroCacheCapacity);
        }
        Ok(MedoidCache {
            index: self.index,
            capacity: self.capacity,
            lru: Mutex::new(Lru {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                next_tick: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }
}

impl<X: AnnIndex> MedoidCache<X> {
    /// The default capacity: 65 536 neighbour lists.
    pub const DEFAULT_CAPACITY: usize = 1 << 16;

    /// A builder for a cache in front of `index`, holding the default
    /// capacity.
    pub fn builder(index: X) -> MedoidCacheBuilder<X> {
        MedoidCacheBuilder {
            index,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }

    /// The wrapped index.
    pub fn index(&self) -> &X {
        &self.index
    }

    /// Counters and occupancy.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.lock().entries.len(),
            capacity: self.capacity,
        }
    }

    /// Drops every entry (the counters are kept).
    pub fn clear(&self) {
        let mut lru = self.lock();
        lru.entries.clear();
        lru.order.clear();
    }

    /// The lock, recovered if a panicking thread poisoned it: the LRU state is
    /// updated in single steps that leave it consistent.
    fn lock(&self) -> MutexGuard<'_, Lru<X::Id, X::Elem>> {
        self.lru
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<X: AnnIndex> MedoidNeighbours for MedoidCache<X> {
    type Id = X::Id;
    type Elem = X::Elem;

    /// # Complexity
    /// A hit: O(log capacity) plus hashing the id. A miss: one
    /// [`AnnIndex::search`] plus O(log capacity).
    fn medoid_neighbours(
        &self,
        id: &X::Id,
        embedding: ArrayView1<'_, X::Elem>,
        k: usize,
    ) -> Result<SharedNeighbours<X::Id, X::Elem>> {
        // a bad query is an error whether or not its id is cached
        check_query(embedding, self.index.dim())?;
        {
            let mut lru = self.lock();
            let tick = lru.next_tick;
            if let Some(entry) = lru.entries.get_mut(id) {
                // a list answers a larger k only if it holds every item
                if k <= entry.k || entry.list.len >= self.index.len() {
                    let old = entry.tick;
                    entry.tick = tick;
                    let mut list = entry.list.clone();
                    list.len = list.len.min(k);
                    lru.order.remove(&old);
                    lru.order.insert(tick, id.clone());
                    lru.next_tick += 1;
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(list);
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let list = SharedNeighbours::new(self.index.search(embedding, k)?);
        let mut lru = self.lock();
        let tick = lru.next_tick;
        lru.next_tick += 1;
        match lru.entries.get_mut(id) {
            // another thread cached a list for at least this k meanwhile:
            // keep the longer list, refresh its recency
            Some(existing) if existing.k >= k => {
                let old = core::mem::replace(&mut existing.tick, tick);
                lru.order.remove(&old);
            }
            _ => {
                let entry = Entry {
                    list: list.clone(),
                    k,
                    tick,
                };
                if let Some(old) = lru.entries.insert(id.clone(), entry) {
                    lru.order.remove(&old.tick);
                }
            }
        }
        lru.order.insert(tick, id.clone());
        while lru.entries.len() > self.capacity {
            match lru.order.pop_first() {
                Some((_, oldest)) => {
                    lru.entries.remove(&oldest);
                }
                None => break,
            }
        }
        Ok(list)
    }

    fn distance_metric(&self) -> super::Metric {
        self.index.metric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::test_support::catalogue;
    use crate::ann::{ExactIndex, Metric};

    fn index() -> ExactIndex<usize, f32> {
        ExactIndex::with_row_ids(catalogue(300, 8, 5, 0.5, 3), Metric::Cosine).unwrap()
    }

    #[test]
    fn identical_to_the_wrapped_index_and_counts_hits() {
        let idx = index();
        let cache = MedoidCache::builder(idx.clone())
            .capacity(64)
            .build()
            .unwrap();
        let items = idx.items().to_owned();
        for round in 0..3 {
            for m in (0..300).step_by(7) {
                let got = cache.medoid_neighbours(&m, items.row(m), 10).unwrap();
                let want = idx.search(items.row(m), 10).unwrap();
                assert_eq!(&got[..], &want[..], "medoid {m} round {round}");
            }
        }
        let stats = cache.stats();
        // 43 distinct medoids: computed once, then twice answered from the cache
        assert_eq!((stats.misses, stats.hits, stats.entries), (43, 86, 43));
        assert!((stats.hit_rate() - 86.0 / 129.0).abs() < 1e-12);
    }

    #[test]
    fn smaller_k_is_a_prefix_hit_and_larger_k_a_miss() {
        let idx = index();
        let cache = MedoidCache::builder(idx.clone())
            .capacity(4)
            .build()
            .unwrap();
        let q = idx.items().row(5).to_owned();
        let ten = cache.medoid_neighbours(&5, q.view(), 10).unwrap();
        let three = cache.medoid_neighbours(&5, q.view(), 3).unwrap();
        assert_eq!(&three[..], &ten[..3]);
        assert!(three.shares_allocation_with(&ten));
        let twenty = cache.medoid_neighbours(&5, q.view(), 20).unwrap();
        assert_eq!(&twenty[..], &idx.search(q.view(), 20).unwrap()[..]);
        assert_eq!((cache.stats().hits, cache.stats().misses), (1, 2));
    }

    #[test]
    fn exhaustive_list_answers_any_k() {
        let idx = ExactIndex::with_row_ids(ndarray::array![[1.0_f32], [2.0]], Metric::InnerProduct)
            .unwrap();
        let cache = MedoidCache::builder(idx).capacity(2).build().unwrap();
        let q = ndarray::array![1.0_f32];
        assert_eq!(cache.medoid_neighbours(&0, q.view(), 5).unwrap().len(), 2);
        assert_eq!(cache.medoid_neighbours(&0, q.view(), 50).unwrap().len(), 2);
        assert_eq!(cache.stats().hits, 1);
    }

    #[test]
    fn evicts_least_recently_used() {
        let idx = index();
        let items = idx.items().to_owned();
        let cache = MedoidCache::builder(idx).capacity(2).build().unwrap();
        let get = |m: usize| cache.medoid_neighbours(&m, items.row(m), 5).unwrap();
        get(0);
        get(1);
        get(0); // 1 is now the least recently used
        get(2); // evicts 1
        assert_eq!(cache.stats().entries, 2);
        let before = cache.stats().misses;
        get(0);
        get(2);
        assert_eq!(cache.stats().misses, before, "0 and 2 stayed cached");
        get(1);
        assert_eq!(cache.stats().misses, before + 1, "1 was evicted");
        cache.clear();
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn shared_across_threads() {
        let idx = index();
        let items = idx.items().to_owned();
        let cache = MedoidCache::builder(idx.clone())
            .capacity(16)
            .build()
            .unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for m in 0..8 {
                        let got = cache.medoid_neighbours(&m, items.row(m), 5).unwrap();
                        assert_eq!(&got[..], &idx.search(items.row(m), 5).unwrap()[..]);
                    }
                });
            }
        });
        let stats = cache.stats();
        assert_eq!(stats.hits + stats.misses, 32);
        assert!(stats.misses >= 8 && stats.entries == 8);
    }

    #[test]
    fn errors() {
        let idx = index();
        assert_eq!(
            MedoidCache::builder(idx.clone()).capacity(0).build().err(),
            Some(Error::ZeroCacheCapacity)
        );
        assert_eq!(
            MedoidCache::builder(idx.clone())
                .build()
                .map(|c| c.stats().capacity),
            Ok(MedoidCache::<ExactIndex<usize, f32>>::DEFAULT_CAPACITY)
        );
        let cache = MedoidCache::builder(idx).capacity(2).build().unwrap();
        assert_eq!(
            cache
                .medoid_neighbours(&0, ndarray::array![1.0_f32].view(), 3)
                .err(),
            Some(Error::DimensionMismatch {
                expected: 8,
                got: 1
            })
        );
        // a cached id with a bad query is still an error, and not a hit
        let idx = cache.index().clone();
        cache.medoid_neighbours(&0, idx.items().row(0), 3).unwrap();
        let mut bad = idx.items().row(0).to_owned();
        bad[2] = f32::NAN;
        assert_eq!(
            cache.medoid_neighbours(&0, bad.view(), 3).err(),
            Some(Error::NonFiniteQuery { position: 2 })
        );
        bad[2] = f32::NEG_INFINITY;
        assert_eq!(
            cache.medoid_neighbours(&0, bad.view(), 1).err(),
            Some(Error::NonFiniteQuery { position: 2 })
        );
        assert_eq!((cache.stats().hits, cache.stats().misses), (0, 1));
    }

    /// An index that returns at most 3 neighbours, whatever `k`: an
    /// approximate index's short list.
    struct Short(ExactIndex<usize, f32>);

    impl AnnIndex for Short {
        type Id = usize;
        type Elem = f32;
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn metric(&self) -> Metric {
            self.0.metric()
        }
        fn search(&self, q: ArrayView1<'_, f32>, k: usize) -> Result<Vec<Neighbour<usize, f32>>> {
            self.0.search(q, k.min(3))
        }
    }

    /// A list shorter than its `k` answers a larger `k` only if it holds the
    /// whole index; otherwise the index is asked again.
    #[test]
    fn a_short_list_of_a_larger_index_is_not_taken_as_complete() {
        let idx = index();
        let q = idx.items().row(9).to_owned();
        let cache = MedoidCache::builder(Short(idx))
            .capacity(4)
            .build()
            .unwrap();
        assert_eq!(cache.medoid_neighbours(&9, q.view(), 5).unwrap().len(), 3);
        assert_eq!(cache.medoid_neighbours(&9, q.view(), 2).unwrap().len(), 2);
        assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
        cache.medoid_neighbours(&9, q.view(), 10).unwrap();
        assert_eq!(
            (cache.stats().hits, cache.stats().misses),
            (1, 2),
            "k = 10 > 5 must query the index again"
        );
    }

    /// An index whose `k = 5` searches wait until the test lets them go, to
    /// stage two threads missing on the same medoid.
    struct Gated {
        inner: ExactIndex<usize, f32>,
        entered: Mutex<std::sync::mpsc::Sender<()>>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl AnnIndex for Gated {
        type Id = usize;
        type Elem = f32;
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
        fn metric(&self) -> Metric {
            self.inner.metric()
        }
        fn search(&self, q: ArrayView1<'_, f32>, k: usize) -> Result<Vec<Neighbour<usize, f32>>> {
            if k == 5 {
                let _ = self.entered.lock().map(|tx| tx.send(()));
                let _ = self.release.lock().map(|rx| rx.recv());
            }
            self.inner.search(q, k)
        }
    }

    /// Two concurrent misses on one medoid: a slow small-`k` search finishing
    /// last must not replace the longer list computed meanwhile.
    #[test]
    fn a_late_smaller_miss_keeps_the_longer_cached_list() {
        let idx = index();
        let q = idx.items().row(4).to_owned();
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        let gated = Gated {
            inner: idx,
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
        };
        let cache = MedoidCache::builder(gated).capacity(4).build().unwrap();
        std::thread::scope(|s| {
            let slow = s.spawn(|| cache.medoid_neighbours(&4, q.view(), 5).map(|l| l.len()));
            entered_rx.recv().unwrap(); // the k = 5 miss is inside the index
            assert_eq!(cache.medoid_neighbours(&4, q.view(), 50).unwrap().len(), 50);
            release_tx.send(()).unwrap();
            assert_eq!(slow.join().unwrap(), Ok(5));
        });
        assert_eq!(cache.stats().misses, 2);
        let again = cache.medoid_neighbours(&4, q.view(), 50).unwrap();
        assert_eq!(again.len(), 50);
        assert_eq!(
            (cache.stats().hits, cache.stats().misses),
            (1, 2),
            "the 50-list stayed cached"
        );
    }

    #[test]
    fn cache_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MedoidCache<ExactIndex<u64, f32>>>();
    }
}
