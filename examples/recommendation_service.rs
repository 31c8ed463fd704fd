//! The program a recommendations team writes: profiles for every user, a
//! profile store, online updates and served recommendations with provenance.
//!
//! ```text
//! cargo run --release --features hnsw,serde --example recommendation_service
//! cargo run --release --features hnsw,serde --example recommendation_service -- --items 3000 --users 200
//! ```
//!
//! Options: `--items N` (catalogue size, default 20 000), `--users U` (1 000),
//! `--seed S` (42).
//!
//! 1. **Catalogue.** Seeded synthetic items (64-d unit vectors in 50 topics)
//!    under sparse `u64` ids, as a production catalogue has them.
//! 2. **Feature store.** A custom [`EmbeddingSource`]: a `HashMap` from id to
//!    encoded bytes, decoded on demand, one "request" per user (the batch
//!    lookup is overridden). Profiles read their embeddings from it.
//! 3. **Serving index.** An [`HnswIndex`] over the catalogue, wrapped in a
//!    custom [`AnnIndex`] that hides unavailable items (sold out, taken down)
//!    and counts searches, behind a [`MedoidCache`] shared by all users.
//! 4. **Daily batch.** A [`UserProfile`] per user (200 actions over 90 days),
//!    written to a JSON-lines store with plain `serde_json`, read back and
//!    compared: every profile must load equal.
//! 5. **Online update.** A day later each user has a few new actions; the
//!    loaded profile and the in-memory one are updated and must stay equal.
//! 6. **Serving.** 20 recommendations per user: 3 medoids sampled by
//!    importance (a per-user seeded generator), their HNSW neighbours through
//!    the cache, blended round-robin without the user's own items. Every
//!    recommendation names the interest (cluster and medoid) behind it.
//!
//! Every step checks its result and the program exits with an error if a
//! check fails; it ends with a summary and one user's recommendations.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams, MedoidCache, Metric, Neighbour};
use pinnersage::ndarray::{Array2, ArrayView1};
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::retrieval::Recommender;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{
    Action, EmbeddingBatch, EmbeddingSource, Error, ExternalError, PinnerSage, UserProfile,
};
use serde::{Deserialize, Serialize};

type BoxError = Box<dyn std::error::Error>;

/// Sparse catalogue ids: row `r` of the synthetic catalogue is item
/// `9_000_000_000 + 7919·r`.
fn item_id(row: usize) -> u64 {
    9_000_000_000 + 7_919 * row as u64
}

fn row_of(id: u64) -> usize {
    ((id - 9_000_000_000) / 7_919) as usize
}

// ---------------------------------------------------------------------------
// A custom embedding source: encoded records in a HashMap, decoded on demand.

/// A feature store: each item's embedding as little-endian `f32` bytes.
/// `fill` decodes one record; `embeddings` answers a whole user in one
/// (counted) request, as a client of a remote store would.
struct FeatureStore {
    records: HashMap<u64, Vec<u8>>,
    dim: usize,
    requests: AtomicU64,
}

impl FeatureStore {
    /// Decodes the record of `id` into `out` (`dim` values).
    fn decode<'a>(
        &self,
        id: u64,
        bytes: &[u8],
        out: impl Iterator<Item = &'a mut f32>,
    ) -> pinnersage::Result<()> {
        if bytes.len() != 4 * self.dim {
            let msg = format!("record of item {id} has {} bytes", bytes.len());
            return Err(Error::Source(ExternalError::new(msg)));
        }
        for (x, b) in out.zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

impl EmbeddingSource for FeatureStore {
    type Id = u64;
    type Elem = f32;

    fn dim(&self) -> usize {
        self.dim
    }

    fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.records.get(id) {
            Some(bytes) => self.decode(*id, bytes, out.iter_mut()).map(|()| true),
            None => Ok(false), // unknown: the profile skips and counts it
        }
    }

    fn embeddings(&self, ids: &[u64]) -> pinnersage::Result<EmbeddingBatch<f32>> {
        self.requests.fetch_add(1, Ordering::Relaxed); // one round trip per user
        let mut batch = EmbeddingBatch::unknown(ids.len(), self.dim);
        for (k, id) in ids.iter().enumerate() {
            if let Some(bytes) = self.records.get(id) {
                self.decode(*id, bytes, batch.matrix.row_mut(k).into_iter())?;
                batch.found[k] = true;
            }
        }
        Ok(batch)
    }
}

// ---------------------------------------------------------------------------
// A custom ANN index wrapper: hides unavailable items, counts searches.

struct Available<X> {
    inner: X,
    unavailable: HashSet<u64>, // every one of them is in `inner`
    searches: AtomicU64,
}

impl<X: AnnIndex<Id = u64>> AnnIndex for Available<X> {
    type Id = u64;
    type Elem = X::Elem;

    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn len(&self) -> usize {
        self.inner.len().saturating_sub(self.unavailable.len()) // the items a search can return
    }
    fn metric(&self) -> Metric {
        self.inner.metric()
    }
    fn search(
        &self,
        query: ArrayView1<'_, X::Elem>,
        k: usize,
    ) -> pinnersage::Result<Vec<Neighbour<u64, X::Elem>>> {
        self.searches.fetch_add(1, Ordering::Relaxed);
        self.inner
            .search_filtered(query, k, &|id| self.unavailable.contains(id))
    }
    fn search_filtered(
        &self,
        query: ArrayView1<'_, X::Elem>,
        k: usize,
        exclude: &dyn Fn(&u64) -> bool,
    ) -> pinnersage::Result<Vec<Neighbour<u64, X::Elem>>> {
        self.searches.fetch_add(1, Ordering::Relaxed);
        self.inner
            .search_filtered(query, k, &|id| self.unavailable.contains(id) || exclude(id))
    }
}

/// One line of the profile store.
#[derive(Serialize, Deserialize)]
struct StoredProfile {
    user: u64,
    profile: UserProfile<u64, f32>,
}

struct Options {
    items: usize,
    users: usize,
    seed: u64,
}

fn parse() -> Result<Options, BoxError> {
    let mut o = Options {
        items: 20_000,
        users: 1_000,
        seed: 42,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--items" => o.items = value.parse()?,
            "--users" => o.users = value.parse()?,
            "--seed" => o.seed = value.parse()?,
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    if o.users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(o)
}

fn check(ok: bool, what: &str) -> Result<(), BoxError> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

fn main() -> Result<(), BoxError> {
    let o = parse()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(o.seed);
    let day = 86_400_i64;
    let now = 1_700_000_000_i64; // the batch's clock, Unix seconds

    // 1. catalogue and users (synthetic: replace with your data)
    let catalog_config = CatalogConfig::builder().items(o.items).build()?;
    let catalog = Catalog::<f32>::generate(&catalog_config, &mut rng);
    let mut histories: Vec<Vec<Action<u64>>> = Vec::with_capacity(o.users);
    let mut later: Vec<Vec<Action<u64>>> = Vec::with_capacity(o.users);
    let new_interest = UserConfig::builder()
        .interests(1)
        .actions(5)
        .window(day)
        .build()?;
    for _ in 0..o.users {
        let history = catalog.user(&UserConfig::default(), now, &mut rng)?;
        let fresh = catalog.user(&new_interest, now + day, &mut rng)?;
        let to_ids = |actions: &[Action<usize>]| {
            let pairs = actions.iter().map(|a| (item_id(a.item), a.timestamp));
            pairs.map(Action::from).collect::<Vec<_>>()
        };
        histories.push(to_ids(&history.actions));
        later.push(to_ids(&fresh.actions));
    }
    let ids: Vec<u64> = (0..catalog.len()).map(item_id).collect();
    let matrix: Array2<f32> = catalog.into_embeddings();

    // 2. the feature store the profiles read from
    let store = FeatureStore {
        records: ids
            .iter()
            .zip(matrix.rows())
            .map(|(&id, row)| (id, row.iter().flat_map(|x| x.to_le_bytes()).collect()))
            .collect(),
        dim: matrix.ncols(),
        requests: AtomicU64::new(0),
    };

    // 3. the serving index: HNSW, every 50th item unavailable, a shared cache
    let started = Instant::now();
    let unavailable: HashSet<u64> = ids.iter().step_by(50).copied().collect();
    let hnsw = HnswIndex::new(ids, matrix, Metric::Cosine, HnswParams::default())?;
    let build_secs = started.elapsed().as_secs_f64();
    let index = Available {
        inner: hnsw,
        unavailable,
        searches: AtomicU64::new(0),
    };
    let cache = MedoidCache::builder(index).capacity(100_000).build()?;

    // 4. daily batch: one profile per user (with the `parallel` feature,
    //    `PinnerSage::profiles` does this on every core)
    let config = PinnerSage::default();
    let started = Instant::now();
    let mut profiles = Vec::with_capacity(o.users);
    for history in &histories {
        profiles.push(config.profile(history, &store, now)?);
    }
    let profile_secs = started.elapsed().as_secs_f64();
    let mut sizes: Vec<usize> = profiles.iter().map(UserProfile::len).collect();
    sizes.sort_unstable();
    let store_requests = store.requests.load(Ordering::Relaxed);
    check(
        store_requests == o.users as u64,
        "one feature-store request per user",
    )?;

    // ... stored as JSON lines with plain serde_json, read back and compared
    let path =
        std::env::temp_dir().join(format!("pinnersage-profiles-{}.jsonl", std::process::id()));
    let mut out = BufWriter::new(File::create(&path)?);
    for (user, profile) in profiles.iter().enumerate() {
        let line = StoredProfile {
            user: user as u64,
            profile: profile.clone(),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let bytes = std::fs::metadata(&path)?.len();
    let mut loaded: Vec<StoredProfile> = Vec::with_capacity(o.users);
    for line in BufReader::new(File::open(&path)?).lines() {
        loaded.push(serde_json::from_str(&line?)?);
    }
    std::fs::remove_file(&path)?;
    let equal = loaded
        .iter()
        .filter(|s| profiles.get(s.user as usize) == Some(&s.profile))
        .count();
    check(equal == o.users, "every stored profile loads equal")?;

    // 5. online update a day later, on the loaded and on the in-memory profiles
    let now = now + day;
    let mut grew = 0;
    for stored in &mut loaded {
        // a service reads the profile, updates it and writes it back
        let user = stored.user as usize;
        let before = stored.profile.len();
        stored.profile.update(&later[user], &store, now)?;
        profiles[user].update(&later[user], &store, now)?;
        grew += usize::from(stored.profile.len() > before);
    }
    let updated_equal = loaded
        .iter()
        .zip(&profiles)
        .filter(|(s, p)| &s.profile == *p)
        .count();
    check(
        updated_equal == o.users,
        "loaded profiles update identically",
    )?;

    // 6. serving: 20 recommendations per user, with provenance
    let recommender = Recommender::builder().n(20).build()?;
    let started = Instant::now();
    let mut served = Vec::with_capacity(o.users);
    for (user, profile) in profiles.iter().enumerate() {
        let seen: HashSet<u64> = histories[user]
            .iter()
            .chain(&later[user])
            .map(|a| a.item)
            .collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(o.seed ^ user as u64);
        let recs = recommender.recommend(profile, &cache, &seen, &mut rng)?;
        for r in &recs {
            check(!seen.contains(&r.item), "no item the user has seen")?;
            check(
                !cache.index().unavailable.contains(&r.item),
                "no unavailable item",
            )?;
            check(
                profile.clusters()[r.cluster].medoid() == &r.medoid,
                "provenance names the cluster's medoid",
            )?;
        }
        check(recs.len() == 20, "20 recommendations per user")?;
        served.push(recs);
    }
    let serve_secs = started.elapsed().as_secs_f64();

    // summary
    let stats = cache.stats();
    let total: usize = served.iter().map(Vec::len).sum();
    println!(
        "catalogue: {} items, dim {}, HNSW built in {build_secs:.2}s",
        cache.index().inner.len(),
        cache.index().dim()
    );
    println!(
        "profiles: {} users in {profile_secs:.2}s ({:.0} users/s), clusters per user p50 {} max {}, \
         {store_requests} feature-store requests",
        o.users,
        o.users as f64 / profile_secs,
        sizes[sizes.len() / 2],
        sizes[sizes.len() - 1]
    );
    println!(
        "store: {bytes} bytes of JSON lines, {equal}/{} profiles loaded equal",
        o.users
    );
    println!(
        "update: {updated_equal}/{} loaded profiles updated identically, {grew} gained an interest",
        o.users
    );
    println!(
        "recommendations: {total} ({} per user) in {serve_secs:.2}s, {:.0} recommendations/s, \
         cache hit rate {:.3} ({} index searches)",
        total / o.users,
        total as f64 / serve_secs,
        stats.hit_rate(),
        cache.index().searches.load(Ordering::Relaxed)
    );
    let topic = |id: u64| row_of(id) % 50;
    println!("\nuser 0: {}", profiles[0]);
    for r in &served[0] {
        println!(
            "  {r}  topic {:>2}, because of medoid topic {}",
            topic(r.item),
            topic(r.medoid)
        );
    }
    Ok(())
}
