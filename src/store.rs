//! A persistent profile store for the serving loop (feature `store`).
//!
//! The daily batch writes every user's [`UserProfile`] into an embedded,
//! transactional key-value database ([`redb`](https://docs.rs/redb): pure
//! Rust, ACID, copy-on-write B-trees); the serving side reads a profile,
//! folds in the latest actions with [`UserProfile::update`] and recommends
//! from its medoids.
//!
//! **Layout.** Two tables: `meta` holds the configuration ([`PinnerSage`])
//! once, postcard-encoded; `profiles` maps the postcard encoding of the user
//! key to one record: the `now` of the profile's last full computation
//! (`computed_at`, a zig-zag varint) followed by the
//! [postcard](https://docs.rs/postcard) encoding of the profile **without its
//! configuration**. A postcard encoding is the concatenation of its fields'
//! encodings, and the configuration is the profile's first field, so a record
//! is read back by prefixing the stored configuration's bytes and decoding a
//! whole [`UserProfile`], which re-validates every invariant (as any
//! deserialization does). Floats are stored raw (exact). On online-retail
//! (384-d `f32`) a record is about a fifth of the profile's JSON (see the
//! `batch` example's summary).
//!
//! **Atomicity.** [`write`](ProfileStore::write) commits one transaction per
//! chunk of users; a killed writer leaves the last committed chunk, never a
//! partial profile, and a rerun overwrites (profiles are keyed by user).
//! Readers see a snapshot: during a batch a reader sees every user of a chunk
//! old or every user new, never a torn record.
//! [`update`](ProfileStore::update) reads, updates and writes one profile in
//! a single write transaction.
//!
//! **Staleness.** An online update expires a member once its last action
//! has left the window, re-clusters the clusters its new actions touch, and
//! keeps the others whole (see [`UserProfile::update`]). What it cannot do is
//! expire the older repeats of an item still in the window, split an
//! untouched cluster, or apply the history cap to stored actions; these
//! drifts from a recompute grow with the time since the last full
//! computation. So the store refuses an update more than
//! [`max_staleness`](StoreBuilder::max_staleness) after `computed_at`
//! ([`Error::StaleProfile`]): rerun the batch. The default,
//! [`DEFAULT_MAX_STALENESS`], tolerates one missed daily batch.
//!
//! **Format.** The `meta` table holds a format byte (3: profiles of
//! [`UserProfile::FORMAT`] 3, whose members carry their action timestamps); opening a store written with another layout
//! is [`Error::StoreFormatMismatch`].
//!
//! ```
//! use pinnersage::store::ProfileStore;
//! use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
//!
//! let dir = std::env::temp_dir().join(format!("pinnersage-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("store-doc.redb");
//! # let _ = std::fs::remove_file(&path);
//! let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0], [0.0, 1.0]])?;
//! let config = PinnerSage::default();
//! let store = ProfileStore::<u64, usize, f32>::builder().open(&path, &config)?;
//! let profile = config.profile(&[Action::new(0, 100)], &source, 100)?;
//! store.put(&7, &profile, 100)?;
//! assert_eq!(store.get(&7)?.unwrap().profile, profile);
//! // later: fold in a new action, read, update, write in one transaction
//! let updated = store.update(&7, &[Action::new(0, 200)], &source, 200)?;
//! assert_eq!(updated.clusters()[0].action_count(), 2);
//! # drop(store); std::fs::remove_file(&path).unwrap();
//! # Ok::<(), pinnersage::Error>(())
//! ```

use core::fmt::Debug;
use core::hash::Hash;
use core::marker::PhantomData;
use core::num::NonZeroUsize;
use core::time::Duration;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ann::MedoidNeighbours;
use crate::embedding::EmbeddingSource;
use crate::error::{Error, ExternalError, Result};
use crate::history::Action;
use crate::profile::{PinnerSage, UserProfile};
use crate::retrieval::{Recommendation, Recommender};
use crate::scalar::Scalar;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const PROFILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("profiles");
const CONFIG_KEY: &str = "config";
const FORMAT_KEY: &str = "format";
/// Version of the record layout described in the [module docs](self): 3
/// since members carry their action timestamps ([`UserProfile::FORMAT`] 3;
/// 2: per-member last actions and weights).
const FORMAT: u8 = 3;

/// Checks the store's format mark.
fn check_format(meta: Option<u8>) -> Result<()> {
    match meta {
        Some(FORMAT) => Ok(()),
        found => Err(Error::StoreFormatMismatch {
            found,
            expected: FORMAT,
        }),
    }
}

/// The format byte stored in `meta`, if any (`Some(0)` for an empty or
/// longer value, which no version wrote).
fn format_of(value: Option<&[u8]>) -> Option<u8> {
    value.map(|v| match v {
        [b] => *b,
        _ => 0,
    })
}

/// The default [`max_staleness`](StoreBuilder::max_staleness): 2 days, so
/// one missed daily batch does not stop the serving loop, two do.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(2 * 86_400);

fn store_error(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    Error::Store(ExternalError::new(e))
}

/// The default page cache of a [`ProfileStore`]: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Options of a [`ProfileStore`]; [`open`](Self::open) validates them
/// against the configuration and opens the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreBuilder {
    max_staleness: Option<Duration>,
    cache_bytes: usize,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        StoreBuilder {
            max_staleness: Some(DEFAULT_MAX_STALENESS),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

impl StoreBuilder {
    /// Refuse an [`update`](ProfileStore::update) whose `now` is more than
    /// this after the profile's last full computation; `None` never refuses.
    /// Default [`DEFAULT_MAX_STALENESS`].
    pub fn max_staleness(mut self, span: Option<Duration>) -> Self {
        self.max_staleness = span;
        self
    }

    /// Memory redb may use to cache pages, in bytes. Default
    /// [`DEFAULT_CACHE_BYTES`] (redb's own default, 1 GiB, makes a long
    /// batch's resident memory grow to it).
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Opens (or creates) the store at `path` for profiles computed with
    /// `config`, which is stored once (a new store) or must equal the stored
    /// one.
    ///
    /// # Errors
    /// * [`Error::Store`] if the file cannot be opened or created (another
    ///   process holds it, it is not a redb file, …) or its metadata cannot
    ///   be decoded;
    /// * [`Error::StoreFormatMismatch`] if an existing store was written
    ///   with another record layout (rebuild it with the batch);
    /// * [`Error::StoreConfigMismatch`] if the store holds another
    ///   configuration;
    /// * [`Error::InvalidTimestampUnit`] from converting the staleness span.
    pub fn open<U, I, F>(
        self,
        path: impl AsRef<Path>,
        config: &PinnerSage,
    ) -> Result<ProfileStore<U, I, F>> {
        let db = Database::builder()
            .set_cache_size(self.cache_bytes)
            .create(path)
            .map_err(store_error)?;
        let prefix = postcard::to_stdvec(config).map_err(store_error)?;
        let txn = db.begin_write().map_err(store_error)?;
        {
            let mut meta = txn.open_table(META).map_err(store_error)?;
            let stored = meta
                .get(CONFIG_KEY)
                .map_err(store_error)?
                .map(|v| v.value().to_vec());
            let format = format_of(
                meta.get(FORMAT_KEY)
                    .map_err(store_error)?
                    .map(|v| v.value().to_vec())
                    .as_deref(),
            );
            match stored {
                Some(bytes) => {
                    check_format(format)?;
                    if bytes != prefix {
                        return Err(Error::StoreConfigMismatch);
                    }
                }
                None => {
                    meta.insert(CONFIG_KEY, &prefix[..]).map_err(store_error)?;
                    meta.insert(FORMAT_KEY, &[FORMAT][..])
                        .map_err(store_error)?;
                }
            }
            txn.open_table(PROFILES).map_err(store_error)?;
        }
        txn.commit().map_err(store_error)?;
        self.finish(db, *config, prefix)
    }

    /// Opens an existing store with the configuration it holds.
    ///
    /// # Errors
    /// [`Error::Store`] if the file cannot be opened, is not a profile store
    /// or its metadata cannot be decoded; [`Error::StoreFormatMismatch`] and
    /// [`Error::InvalidTimestampUnit`] as [`open`](Self::open).
    pub fn open_existing<U, I, F>(self, path: impl AsRef<Path>) -> Result<ProfileStore<U, I, F>> {
        let db = Database::builder()
            .set_cache_size(self.cache_bytes)
            .open(path)
            .map_err(store_error)?;
        let prefix = {
            let txn = db.begin_read().map_err(store_error)?;
            let meta = txn.open_table(META).map_err(store_error)?;
            let bytes = meta
                .get(CONFIG_KEY)
                .map_err(store_error)?
                .ok_or_else(|| store_error("not a profile store: no configuration"))?;
            let format = meta.get(FORMAT_KEY).map_err(store_error)?;
            check_format(format_of(format.as_ref().map(|v| v.value())))?;
            bytes.value().to_vec()
        };
        let config: PinnerSage = postcard::from_bytes(&prefix).map_err(store_error)?;
        self.finish(db, config, prefix)
    }

    fn finish<U, I, F>(
        self,
        db: Database,
        config: PinnerSage,
        prefix: Vec<u8>,
    ) -> Result<ProfileStore<U, I, F>> {
        let max_staleness = match self.max_staleness {
            Some(span) => Some(config.timestamps().ticks_in(span)?),
            None => None,
        };
        Ok(ProfileStore {
            db,
            config,
            prefix,
            max_staleness,
            _types: PhantomData,
        })
    }
}

/// A stored profile and when it was last computed in full.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile<I, F> {
    /// The profile (moved to the `now` of its last update).
    pub profile: UserProfile<I, F>,
    /// The `now` of the last full computation (the batch); updates keep it.
    pub computed_at: i64,
}

impl<I, F> StoredProfile<I, F> {
    /// Ticks between the last full computation and `now` (0 if `now` is
    /// earlier): how far an update at `now` would be from a recompute.
    pub fn staleness(&self, now: i64) -> u64 {
        let span = i128::from(now) - i128::from(self.computed_at);
        u64::try_from(span.max(0)).unwrap_or(u64::MAX)
    }
}

/// What [`ProfileStore::write`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSummary<U> {
    /// Users read from the input.
    pub users: u64,
    /// Profiles written.
    pub written: u64,
    /// Users whose result was an error (not written; a stored profile of
    /// theirs is left as it was).
    pub failed: u64,
    /// The first few failures (at most [`FAILURES_KEPT`]), in input order.
    pub first_failures: Vec<(U, Error)>,
    /// Committed transactions (chunks).
    pub transactions: u64,
}

/// How many failures a [`WriteSummary`] keeps.
pub const FAILURES_KEPT: usize = 8;

/// The key and value types a store is for (`fn` keeps the store `Send + Sync`
/// whatever they are).
type Types<U, I, F> = fn() -> (U, I, F);

/// Profiles keyed by user `U`, items `I`, elements `F`, in a redb file (see
/// the [module docs](self)). `Send + Sync`: share it between a writer and
/// readers.
pub struct ProfileStore<U, I, F> {
    db: Database,
    config: PinnerSage,
    prefix: Vec<u8>,
    max_staleness: Option<u64>,
    _types: PhantomData<Types<U, I, F>>,
}

impl<U, I, F> Debug for ProfileStore<U, I, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProfileStore")
            .field("config", &self.config)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

impl<U, I, F> ProfileStore<U, I, F> {
    /// Options with their defaults.
    pub fn builder() -> StoreBuilder {
        StoreBuilder::default()
    }

    /// The configuration of the stored profiles.
    pub fn config(&self) -> &PinnerSage {
        &self.config
    }

    /// Compacts the database file (redb's copy-on-write pages leave free
    /// space behind after many transactions: a 100 000-user batch in chunks
    /// of 256 left a file 2.5 times its records). Needs exclusive access;
    /// call it after a batch. Returns `true` if anything was compacted.
    ///
    /// # Errors
    /// [`Error::Store`] if the compaction fails (or a read transaction is
    /// open).
    pub fn compact(&mut self) -> Result<bool> {
        self.db.compact().map_err(store_error)
    }

    /// The staleness bound in timestamp ticks (`None`: unbounded).
    pub fn max_staleness_ticks(&self) -> Option<u64> {
        self.max_staleness
    }
}

impl<U, I, F> ProfileStore<U, I, F>
where
    U: Serialize + DeserializeOwned,
    I: Serialize + DeserializeOwned + Clone + Ord + Debug,
    F: Scalar + Serialize + DeserializeOwned,
{
    fn key(user: &U) -> Result<Vec<u8>> {
        postcard::to_stdvec(user).map_err(store_error)
    }

    /// The record of `profile`: `computed_at`, then the profile's encoding
    /// without the configuration.
    ///
    /// # Errors
    /// [`Error::StoreConfigMismatch`], [`Error::Store`] (encoding).
    pub fn encode(&self, profile: &UserProfile<I, F>, computed_at: i64) -> Result<Vec<u8>> {
        let whole = postcard::to_stdvec(profile).map_err(store_error)?;
        let tail = whole
            .strip_prefix(&self.prefix[..])
            .ok_or(Error::StoreConfigMismatch)?;
        let mut record = postcard::to_stdvec(&computed_at).map_err(store_error)?;
        record.extend_from_slice(tail);
        Ok(record)
    }

    /// Decodes a record written by [`encode`](Self::encode).
    ///
    /// # Errors
    /// [`Error::Store`] if it does not decode to a valid profile.
    pub fn decode(&self, record: &[u8]) -> Result<StoredProfile<I, F>> {
        let (computed_at, tail) = postcard::take_from_bytes::<i64>(record).map_err(store_error)?;
        let mut whole = Vec::with_capacity(self.prefix.len() + tail.len());
        whole.extend_from_slice(&self.prefix);
        whole.extend_from_slice(tail);
        let profile = postcard::from_bytes(&whole).map_err(store_error)?;
        Ok(StoredProfile {
            profile,
            computed_at,
        })
    }

    /// Writes the results of a batch, one transaction per `chunk` users:
    /// each `Ok` profile is stored under its user with `computed_at` = its
    /// [`as_of`](UserProfile::as_of); each `Err` is counted (the first few
    /// kept) and leaves that user's stored profile as it was.
    ///
    /// `on_commit` is called after each committed chunk with the number of
    /// users committed so far (progress, logging).
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails (the chunks committed before
    /// stay; rerun to complete); [`Error::StoreConfigMismatch`] for a
    /// profile computed with another configuration (its chunk is not
    /// committed).
    ///
    /// # Complexity
    /// One B-tree insert per profile; one commit (an fsync) per chunk.
    pub fn write<It, C>(
        &self,
        results: It,
        chunk: NonZeroUsize,
        mut on_commit: C,
    ) -> Result<WriteSummary<U>>
    where
        It: IntoIterator<Item = (U, Result<UserProfile<I, F>>)>,
        C: FnMut(u64),
    {
        let mut summary = WriteSummary {
            users: 0,
            written: 0,
            failed: 0,
            first_failures: Vec::new(),
            transactions: 0,
        };
        let mut results = results.into_iter().peekable();
        while results.peek().is_some() {
            let txn = self.db.begin_write().map_err(store_error)?;
            {
                let mut table = txn.open_table(PROFILES).map_err(store_error)?;
                for (user, result) in results.by_ref().take(chunk.get()) {
                    summary.users += 1;
                    match result {
                        Ok(profile) => {
                            let record = self.encode(&profile, profile.as_of())?;
                            table
                                .insert(&Self::key(&user)?[..], &record[..])
                                .map_err(store_error)?;
                            summary.written += 1;
                        }
                        Err(e) => {
                            summary.failed += 1;
                            if summary.first_failures.len() < FAILURES_KEPT {
                                summary.first_failures.push((user, e));
                            }
                        }
                    }
                }
            }
            txn.commit().map_err(store_error)?;
            summary.transactions += 1;
            on_commit(summary.users);
        }
        Ok(summary)
    }

    /// Stores one profile (its own transaction).
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn put(&self, user: &U, profile: &UserProfile<I, F>, computed_at: i64) -> Result<()> {
        let record = self.encode(profile, computed_at)?;
        let txn = self.db.begin_write().map_err(store_error)?;
        {
            let mut table = txn.open_table(PROFILES).map_err(store_error)?;
            table
                .insert(&Self::key(user)?[..], &record[..])
                .map_err(store_error)?;
        }
        txn.commit().map_err(store_error)
    }

    /// The stored profile of `user`, if any.
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails or the record does not decode
    /// to a valid profile.
    pub fn get(&self, user: &U) -> Result<Option<StoredProfile<I, F>>> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(PROFILES).map_err(store_error)?;
        let record = table.get(&Self::key(user)?[..]).map_err(store_error)?;
        record.map(|r| self.decode(r.value())).transpose()
    }

    /// The size in bytes of `user`'s record, if stored.
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails.
    pub fn record_len(&self, user: &U) -> Result<Option<usize>> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(PROFILES).map_err(store_error)?;
        let record = table.get(&Self::key(user)?[..]).map_err(store_error)?;
        Ok(record.map(|r| r.value().len()))
    }

    /// Number of stored profiles.
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails.
    pub fn len(&self) -> Result<u64> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(PROFILES).map_err(store_error)?;
        table.len().map_err(store_error)
    }

    /// `true` if no profile is stored.
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Every stored profile, from one snapshot, in key order (the postcard
    /// encoding of the users). Holds them all in memory: for checks and small
    /// stores.
    ///
    /// # Errors
    /// [`Error::Store`] if the database fails or a record does not decode.
    pub fn all(&self) -> Result<Vec<(U, StoredProfile<I, F>)>> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = txn.open_table(PROFILES).map_err(store_error)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(store_error)? {
            let (key, value) = entry.map_err(store_error)?;
            let user: U = postcard::from_bytes(key.value()).map_err(store_error)?;
            out.push((user, self.decode(value.value())?));
        }
        Ok(out)
    }

    /// Folds `new_actions` into `user`'s stored profile at `now` and stores
    /// the result, reading and writing in one transaction (a concurrent
    /// batch or update is serialised before or after it). A user without a
    /// stored profile gets a fresh one computed from `new_actions`
    /// (`computed_at = now`). Returns the stored profile.
    ///
    /// # Errors
    /// * [`Error::StaleProfile`] if `now` is more than
    ///   [`max_staleness`](StoreBuilder::max_staleness) after the profile's
    ///   `computed_at` (nothing is written);
    /// * the errors of [`UserProfile::update`] or
    ///   [`PinnerSage::profile`] (nothing is written);
    /// * [`Error::Store`] if the database fails.
    pub fn update<S>(
        &self,
        user: &U,
        new_actions: &[Action<I>],
        source: &S,
        now: i64,
    ) -> Result<UserProfile<I, F>>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        let key = Self::key(user)?;
        let txn = self.db.begin_write().map_err(store_error)?;
        let profile = {
            let mut table = txn.open_table(PROFILES).map_err(store_error)?;
            let stored = table
                .get(&key[..])
                .map_err(store_error)?
                .map(|r| self.decode(r.value()))
                .transpose()?;
            let (profile, computed_at) = match stored {
                None => (self.config.profile(new_actions, source, now)?, now),
                Some(mut stored) => {
                    if let Some(max_ticks) = self.max_staleness {
                        if stored.staleness(now) > max_ticks {
                            return Err(Error::StaleProfile {
                                computed_at: stored.computed_at,
                                now,
                                max_ticks,
                            });
                        }
                    }
                    stored.profile.update(new_actions, source, now)?;
                    (stored.profile, stored.computed_at)
                }
            };
            let record = self.encode(&profile, computed_at)?;
            table.insert(&key[..], &record[..]).map_err(store_error)?;
            profile
        };
        txn.commit().map_err(store_error)?;
        Ok(profile)
    }

    /// Recommendations for `user` from the stored profile
    /// ([`Recommender::recommend`]); `None` if no profile is stored.
    ///
    /// # Errors
    /// [`Error::Store`]; the errors of [`Recommender::recommend`].
    pub fn recommend<X, R, H>(
        &self,
        user: &U,
        recommender: &Recommender,
        source: &X,
        exclude: &HashSet<I, H>,
        rng: &mut R,
    ) -> Result<Option<Vec<Recommendation<I, F>>>>
    where
        I: Hash,
        X: MedoidNeighbours<Id = I, Elem = F> + ?Sized,
        R: rand::Rng + ?Sized,
        H: BuildHasher,
    {
        let Some(stored) = self.get(user)? else {
            return Ok(None);
        };
        recommender
            .recommend(&stored.profile, source, exclude, rng)
            .map(Some)
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ProfileStore<u64, u64, f32>>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_store_format_mismatch() {
        let dir = std::env::temp_dir().join(format!("pinnersage-fmt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("format.redb");
        let _ = std::fs::remove_file(&path);
        let config = PinnerSage::default();
        drop(
            StoreBuilder::default()
                .open::<u64, u64, f32>(&path, &config)
                .unwrap(),
        );
        let set = |value: Option<&[u8]>| {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                match value {
                    Some(v) => meta.insert(FORMAT_KEY, v).unwrap(),
                    None => meta.remove(FORMAT_KEY).unwrap(),
                };
            }
            txn.commit().unwrap();
        };
        let open = || StoreBuilder::default().open::<u64, u64, f32>(&path, &config);
        let open_existing = || StoreBuilder::default().open_existing::<u64, u64, f32>(&path);
        for (value, found) in [
            (Some(&[1u8][..]), Some(1)),
            (Some(&[2u8][..]), Some(2)),
            (None, None),
            (Some(&[2, 2][..]), Some(0)),
        ] {
            set(value);
            let want = Error::StoreFormatMismatch {
                found,
                expected: FORMAT,
            };
            assert_eq!(open().unwrap_err(), want);
            assert_eq!(open_existing().unwrap_err(), want);
        }
        set(Some(&[FORMAT]));
        assert!(open().is_ok());
        assert!(open_existing().is_ok());
        std::fs::remove_file(&path).unwrap();
    }
}
