//! Plugging your own nearest-neighbour backend into retrieval.
//!
//! ```text
//! cargo run --release --example custom_index
//! cargo run --release --example custom_index -- --items 2000 --queries 50
//! ```
//!
//! Options: `--items N` (default 10 000), `--queries Q` (200).
//!
//! [`AnnIndex`] is the only thing retrieval needs from a backend: `dim`,
//! `len`, `metric` and `search` (nearest first, distances in the crate's
//! convention for the metric; see [`pinnersage::ann`]). Here the backend is a
//! brute-force scan over a `Vec` of `(id, vector)` pairs, standing in for a
//! vector database client or a service such as FAISS behind an RPC. The
//! example
//!
//! 1. implements [`AnnIndex`] (and [`EmbeddingSource`], so the same catalogue
//!    copy also feeds profiles);
//! 2. checks it against [`ExactIndex`] on random queries: same top-10 ids,
//!    same distances up to rounding;
//! 3. uses it for recommendations through a [`MedoidCache`] and a
//!    [`Recommender`], exactly as the built-in indexes are used.

use std::collections::HashSet;

use pinnersage::ann::{AnnIndex, ExactIndex, MedoidCache, Metric, Neighbour};
use pinnersage::ndarray::{Array1, ArrayView1};
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::{RngExt, SeedableRng};
use pinnersage::retrieval::Recommender;
use pinnersage::{Action, EmbeddingSource, Error, PinnerSage};

type BoxError = Box<dyn std::error::Error>;

/// A cosine index that scans a `Vec` of `(id, unit vector)` pairs.
struct BruteForce {
    items: Vec<(u64, Vec<f32>)>, // normalised at construction
    dim: usize,
}

impl BruteForce {
    fn new(items: Vec<(u64, Vec<f32>)>, dim: usize) -> Self {
        let items = items
            .into_iter()
            .map(|(id, v)| {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                let unit = v.iter().map(|x| if norm > 0.0 { x / norm } else { 0.0 });
                (id, unit.collect())
            })
            .collect();
        BruteForce { items, dim }
    }
}

impl AnnIndex for BruteForce {
    type Id = u64;
    type Elem = f32;

    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn metric(&self) -> Metric {
        Metric::Cosine
    }

    fn search(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
    ) -> pinnersage::Result<Vec<Neighbour<u64, f32>>> {
        // the trait's contract: refuse a query of the wrong length or with NaN/∞
        if query.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                got: query.len(),
            });
        }
        if let Some(position) = query.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteQuery { position });
        }
        let qnorm = query
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        // distance 1 − cos, clamped to [0, 2]; a zero query has cosine 0 with everything
        let mut hits: Vec<Neighbour<u64, f32>> = self
            .items
            .iter()
            .map(|(id, v)| {
                let dot: f64 = v
                    .iter()
                    .zip(query)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                let cos = if qnorm > 0.0 { dot / qnorm } else { 0.0 };
                Neighbour {
                    id: *id,
                    distance: (1.0 - cos).clamp(0.0, 2.0) as f32,
                }
            })
            .collect();
        // nearest first (ties: smaller id), then keep k
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        Ok(hits)
    }
    // `search_filtered` and `search_batch` have default implementations;
    // override them if the backend can filter or batch natively.
}

/// The same copy of the catalogue feeds profiles (unit vectors: fine for
/// cosine, which is all this catalogue is used with).
impl EmbeddingSource for BruteForce {
    type Id = u64;
    type Elem = f32;

    fn dim(&self) -> usize {
        self.dim
    }

    fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
        // a real backend would look the id up in a map; ids here are 1000·row
        let found = usize::try_from(id / 1000)
            .ok()
            .and_then(|row| self.items.get(row));
        match found {
            Some((stored, v)) if stored == id => {
                out.copy_from_slice(v);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let (mut items, mut queries) = (10_000_usize, 200_usize);
    while let Some(flag) = args.next() {
        let value: usize = args
            .next()
            .ok_or(format!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--items" => items = value,
            "--queries" => queries = value,
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }

    // a random catalogue: 16 topics of 32-d vectors, ids 0, 1000, 2000, ...
    let dim = 32;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let centres: Vec<Vec<f32>> = (0..16)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let vector = |topic: usize, rng: &mut Xoshiro256PlusPlus| -> Vec<f32> {
        centres[topic]
            .iter()
            .map(|c| c + rng.random_range(-0.4..0.4))
            .collect()
    };
    let catalogue: Vec<(u64, Vec<f32>)> = (0..items)
        .map(|row| (1000 * row as u64, vector(row % 16, &mut rng)))
        .collect();

    // 1. the custom index, and the crate's exact index on the same pairs
    let custom = BruteForce::new(catalogue.clone(), dim);
    let exact = ExactIndex::from_pairs(catalogue, Metric::Cosine)?;

    // 2. same answers on random queries
    let mut agree = 0;
    let mut worst = 0.0_f32;
    for q in 0..queries {
        let query = Array1::from(vector(q % 16, &mut rng));
        let mine = custom.search(query.view(), 10)?;
        let theirs = exact.search(query.view(), 10)?;
        let ids = |hits: &[Neighbour<u64, f32>]| hits.iter().map(|h| h.id).collect::<Vec<_>>();
        agree += usize::from(ids(&mine) == ids(&theirs));
        for (a, b) in mine.iter().zip(&theirs) {
            worst = worst.max((a.distance - b.distance).abs());
        }
    }
    println!(
        "custom index vs ExactIndex: {agree}/{queries} queries with the same top-10 ids, \
         largest distance difference {worst:.1e}"
    );
    let bad = custom.search(Array1::from(vec![f32::NAN; dim]).view(), 10);
    println!(
        "a NaN query: {}",
        bad.err()
            .map_or("accepted (wrong)".into(), |e| e.to_string())
    );

    // 3. the custom index serves recommendations, behind a cache
    let day = 86_400;
    let now = 1_700_000_000;
    let actions: Vec<Action<u64>> = (0..40)
        .map(|i| Action::new(1000 * (16 * i + i % 3), now - i as i64 * day))
        .collect(); // items of topics 0, 1 and 2
    let profile = PinnerSage::default().profile(&actions, &custom, now)?;
    let cache = MedoidCache::builder(custom).capacity(10_000).build()?;
    let seen: HashSet<u64> = actions.iter().map(|a| a.item).collect();
    let recommender = Recommender::builder().n(6).build()?;
    let recs = recommender.recommend(&profile, &cache, &seen, &mut rng)?;
    println!("\n{profile}");
    for r in &recs {
        println!("  {r}");
    }
    if agree != queries || recs.len() != 6 || !recs.iter().all(|r| !seen.contains(&r.item)) {
        return Err("the custom index disagrees with ExactIndex".into());
    }
    Ok(())
}
