//! Writing your own [`EmbeddingSource`]: a `HashMap` keyed by sparse `u64`
//! ids, and a "remote" store that batches requests and can fail.
//!
//! ```text
//! cargo run --release --example custom_source
//! ```
//!
//! A profile needs the embeddings of one user's distinct items; it asks its
//! source once per user ([`EmbeddingSource::embeddings`]). A source implements
//! [`dim`](EmbeddingSource::dim) and [`fill`](EmbeddingSource::fill) (copy one
//! embedding into the caller's buffer, `Ok(false)` for an unknown id), and may
//! override `embeddings` to fetch many ids per round trip.
//!
//! 1. **A `HashMap<u64, Vec<f32>>`** as a source. (If the map is only there
//!    to be looked up, `InMemoryEmbeddings::from_map(map)` makes one
//!    contiguous copy and is faster; implement the trait when the storage is
//!    yours.) Unknown ids are skipped and counted, or an error naming the id.
//! 2. **A remote store** whose client splits a lookup into requests of at most
//!    64 ids; one request times out. The failure reaches the caller as
//!    [`Error::Source`], which still holds the client's own error type
//!    (`downcast_ref`), so the caller can decide to retry.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::{RngExt, SeedableRng};
use pinnersage::{
    Action, EmbeddingBatch, EmbeddingSource, Error, ExternalError, PinnerSage, UnknownItems,
};

type BoxError = Box<dyn std::error::Error>;

// ---------------------------------------------------------------------------
// 1. A HashMap keyed by sparse ids.

struct MapSource {
    map: HashMap<u64, Vec<f32>>,
    dim: usize,
}

impl EmbeddingSource for MapSource {
    type Id = u64;
    type Elem = f32;

    fn dim(&self) -> usize {
        self.dim
    }

    fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
        match self.map.get(id) {
            Some(v) if v.len() == out.len() => {
                out.copy_from_slice(v);
                Ok(true)
            }
            // a record of the wrong length is the store's fault, not an unknown item
            Some(v) => Err(Error::Source(ExternalError::new(format!(
                "item {id}: stored vector has {} values, expected {}",
                v.len(),
                out.len()
            )))),
            None => Ok(false),
        }
    }
    // `embeddings` keeps its default: one `fill` per id
}

// ---------------------------------------------------------------------------
// 2. A remote store: batched requests that can fail.

/// The client's own error type; it survives the trip through `Error::Source`.
#[derive(Debug)]
struct Timeout {
    request: usize,
    ids: usize,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {} ({} ids) timed out", self.request, self.ids)
    }
}

impl std::error::Error for Timeout {}

struct RemoteStore {
    server: HashMap<u64, Vec<f32>>, // what the service would hold
    dim: usize,
    max_batch: usize,
    requests: AtomicUsize,
    fails_on_request: usize, // this request number times out (simulated)
}

impl RemoteStore {
    /// One round trip for at most `max_batch` ids.
    fn request(&self, ids: &[u64]) -> Result<Vec<Option<Vec<f32>>>, Timeout> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        if n == self.fails_on_request {
            return Err(Timeout {
                request: n,
                ids: ids.len(),
            });
        }
        Ok(ids.iter().map(|id| self.server.get(id).cloned()).collect())
    }
}

impl EmbeddingSource for RemoteStore {
    type Id = u64;
    type Elem = f32;

    fn dim(&self) -> usize {
        self.dim
    }

    fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
        let batch = self.embeddings(std::slice::from_ref(id))?;
        out.copy_from_slice(&batch.matrix.row(0).to_vec());
        Ok(batch.found[0])
    }

    fn embeddings(&self, ids: &[u64]) -> pinnersage::Result<EmbeddingBatch<f32>> {
        let mut batch = EmbeddingBatch::unknown(ids.len(), self.dim);
        for (c, chunk) in ids.chunks(self.max_batch).enumerate() {
            // wrap the client's error: callers can downcast it back
            let answers = self
                .request(chunk)
                .map_err(|e| Error::Source(ExternalError::new(e)))?;
            for (j, answer) in answers.into_iter().enumerate() {
                let k = c * self.max_batch + j;
                if let Some(v) = answer {
                    // the profile checks the length and finiteness of what we return
                    batch
                        .matrix
                        .row_mut(k)
                        .iter_mut()
                        .zip(v)
                        .for_each(|(x, y)| *x = y);
                    batch.found[k] = true;
                }
            }
        }
        Ok(batch)
    }
}

fn main() -> Result<(), BoxError> {
    // 300 items with sparse ids in 3 topics (16-d), and a user with 150 actions
    let dim = 16;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let centres: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let id_of = |k: u64| 9_000_000_000 + 104_729 * k;
    let map: HashMap<u64, Vec<f32>> = (0..300)
        .map(|k| {
            let v = centres[k % 3]
                .iter()
                .map(|c| c + rng.random_range(-0.2..0.2))
                .collect();
            (id_of(k as u64), v)
        })
        .collect();
    let day = 86_400;
    let now = 1_700_000_000;
    let mut actions: Vec<Action<u64>> = (0..150)
        .map(|_| {
            Action::new(
                id_of(rng.random_range(0..300)),
                now - rng.random_range(0..60 * day),
            )
        })
        .collect();
    actions.push(Action::new(123, now)); // an item the store does not know
    let config = PinnerSage::default();

    // 1. the HashMap source
    let source = MapSource {
        map: map.clone(),
        dim,
    };
    let profile = config.profile(&actions, &source, now)?;
    let history = profile.history();
    println!(
        "HashMap source: {} interests; {} actions used, {} on unknown items skipped",
        profile.len(),
        history.used_actions,
        history.unknown_actions
    );
    let strict = PinnerSage::builder()
        .unknown_items(UnknownItems::Error)
        .build()?;
    match strict.profile(&actions, &source, now) {
        Err(e @ Error::UnknownItem { .. }) => println!("with UnknownItems::Error: {e}"),
        other => return Err(format!("expected an unknown-item error, got {other:?}").into()),
    }

    // 2. the remote store: request 1 (the second) times out
    let remote = RemoteStore {
        server: map,
        dim,
        max_batch: 64,
        requests: AtomicUsize::new(0),
        fails_on_request: 1,
    };
    let mut attempt = 1;
    let remote_profile = loop {
        match config.profile(&actions, &remote, now) {
            Ok(p) => break p,
            // our own error type, recovered from the crate's error: retry it
            Err(Error::Source(e)) if e.downcast_ref::<Timeout>().is_some() && attempt < 3 => {
                println!("remote store, attempt {attempt}: {e}; retrying");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    };
    println!(
        "remote store, attempt {attempt}: {} interests after {} requests of at most {} ids",
        remote_profile.len(),
        remote.requests.load(Ordering::Relaxed),
        remote.max_batch
    );
    if remote_profile != profile {
        return Err("the remote store and the HashMap gave different profiles".into());
    }
    println!("same profile from both sources:\n{profile}");
    Ok(())
}
