//! End to end: synthetic users → profiles → recommendations through exact and
//! HNSW indexes, with and without the shared medoid cache.

use std::collections::HashSet;

use pinnersage::ann::{ExactIndex, MedoidCache, MedoidNeighbours, Metric};
use pinnersage::retrieval::{Blend, Recommender, Selection};
use pinnersage::synthetic::{Catalog, CatalogConfig, SyntheticUser, UserConfig};
use pinnersage::{PinnerSage, UserProfile};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const NOW: i64 = 1_700_000_000;

struct World {
    catalog: Catalog<f32>,
    /// The exact cosine index, also the embedding source of the profiles.
    index: ExactIndex<usize, f32>,
    users: Vec<(SyntheticUser, UserProfile<usize, f32>)>,
}

/// The tests' catalogue (3 000 items in 32 dimensions, 30 topics) and its
/// exact cosine index.
fn catalogue_and_index(rng: &mut Xoshiro256PlusPlus) -> (Catalog<f32>, ExactIndex<usize, f32>) {
    let config = CatalogConfig {
        items: 3_000,
        dim: 32,
        topics: 30,
        spread: 0.5,
    };
    let catalog = Catalog::<f32>::generate(&config, rng).unwrap();
    let index = ExactIndex::with_row_ids(catalog.embeddings().to_owned(), Metric::Cosine).unwrap();
    (catalog, index)
}

fn world(users: usize) -> World {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
    let (catalog, index) = catalogue_and_index(&mut rng);
    let user_config = UserConfig {
        actions: 60,
        ..UserConfig::default()
    };
    let users = (0..users)
        .map(|_| {
            let user = catalog.user(&user_config, NOW, &mut rng).unwrap();
            let profile = PinnerSage::default()
                .profile(&user.actions, &index, NOW)
                .unwrap();
            (user, profile)
        })
        .collect();
    World {
        catalog,
        index,
        users,
    }
}

#[test]
fn recommendations_follow_the_users_interests_with_provenance() {
    let w = world(5);
    let index = &w.index;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for (user, profile) in &w.users {
        let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
        let recs = Recommender::default()
            .recommend(profile, index, &seen, &mut rng)
            .unwrap();
        assert_eq!(recs.len(), 30);
        let distinct: HashSet<usize> = recs.iter().map(|r| r.item).collect();
        assert_eq!(distinct.len(), recs.len());
        let clusters: HashSet<usize> = recs.iter().map(|r| r.cluster).collect();
        assert_eq!(clusters.len(), profile.len().min(3));
        for r in &recs {
            assert!(!seen.contains(&r.item));
            let cluster = &profile.clusters()[r.cluster];
            assert_eq!(cluster.medoid(), &r.medoid);
            // the medoid is an item the user engaged with, in one of their topics
            assert!(seen.contains(&r.medoid));
            assert!(user.interests.contains(&w.catalog.topic_of(r.medoid)));
            // well-separated topics: neighbours of a medoid share its topic
            assert_eq!(w.catalog.topic_of(r.item), w.catalog.topic_of(r.medoid));
        }
    }
}

#[test]
fn a_shared_cache_answers_repeated_medoids_identically() {
    let w = world(6);
    let index = &w.index;
    let cache = MedoidCache::builder(index.clone())
        .capacity(1_000)
        .build()
        .unwrap();
    let rec = Recommender::builder()
        .selection(Selection::All)
        .blend(Blend::Proportional)
        .n(20)
        .per_medoid(40)
        .build()
        .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let none = HashSet::new();
    let medoids: usize = w.users.iter().map(|(_, p)| p.len()).sum();
    let mut after_first = cache.stats();
    for round in 0..2 {
        for (_, profile) in &w.users {
            let direct = rec.recommend(profile, index, &none, &mut rng).unwrap();
            let cached = rec.recommend(profile, &cache, &none, &mut rng).unwrap();
            assert_eq!(direct, cached, "round {round}");
        }
        if round == 0 {
            after_first = cache.stats();
        }
    }
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, 2 * medoids as u64);
    assert!(after_first.misses <= medoids as u64);
    assert_eq!(stats.misses, after_first.misses, "second round is all hits");
    assert_eq!(stats.hits - after_first.hits, medoids as u64);
}

/// The reviewer's setup: single-interest users with long histories have seen
/// most of their topic, so the medoid's nearest 30 items are mostly excluded.
/// The default recommender must still return its 30 results (it used to
/// return 14, 5 and 1 of them).
#[test]
fn single_interest_users_with_long_histories_get_n_results() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
    let (catalog, index) = catalogue_and_index(&mut rng);
    let cache = MedoidCache::builder(index.clone())
        .capacity(100)
        .build()
        .unwrap();
    for actions in [60, 200, 400] {
        let user_config = UserConfig {
            actions,
            interests: 1,
            ..UserConfig::default()
        };
        let user = catalog.user(&user_config, NOW, &mut rng).unwrap();
        let profile = PinnerSage::default()
            .profile(&user.actions, &index, NOW)
            .unwrap();
        let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
        assert!(3_000 - seen.len() > 2_500);
        for source in [
            &index as &dyn MedoidNeighbours<Id = usize, Elem = f32>,
            &cache,
        ] {
            let recs = Recommender::default()
                .recommend(&profile, source, &seen, &mut rng)
                .unwrap();
            assert_eq!(recs.len(), 30, "{actions} actions");
            assert!(recs.iter().all(|r| !seen.contains(&r.item)));
        }
    }
}

#[cfg(feature = "hnsw")]
#[test]
fn hnsw_behind_a_cache_recovers_the_exact_recommendations() {
    use pinnersage::ann::{HnswIndex, HnswParams};
    let w = world(4);
    let items = w.catalog.embeddings();
    let exact = &w.index;
    let hnsw =
        HnswIndex::with_row_ids(items.to_owned(), Metric::Cosine, HnswParams::default()).unwrap();
    assert_eq!((hnsw.len(), hnsw.dim()), (3_000, 32));
    let cache = MedoidCache::builder(hnsw).capacity(64).build().unwrap();
    let rec = Recommender::builder()
        .selection(Selection::TopK { n: 3 })
        .build()
        .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (mut same, mut total) = (0usize, 0usize);
    for (user, profile) in &w.users {
        let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
        let want: HashSet<usize> = rec
            .recommend(profile, exact, &seen, &mut rng)
            .unwrap()
            .iter()
            .map(|r| r.item)
            .collect();
        let got = rec.recommend(profile, &cache, &seen, &mut rng).unwrap();
        same += got.iter().filter(|r| want.contains(&r.item)).count();
        total += want.len();
    }
    let overlap = same as f64 / total as f64;
    assert!(
        overlap >= 0.9,
        "overlap with exact recommendations {overlap}"
    );
}

/// One catalogue copy: the HNSW index is the profiles' embedding source, and
/// (squared Euclidean: rows kept as given) gives the very profiles an
/// in-memory source gives.
#[cfg(feature = "hnsw")]
#[test]
fn hnsw_index_is_the_profiles_embedding_source() {
    use pinnersage::ann::{HnswIndex, HnswParams};
    use pinnersage::InMemoryEmbeddings;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let (catalog, _) = catalogue_and_index(&mut rng);
    let memory = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned()).unwrap();
    let hnsw = HnswIndex::with_row_ids(
        catalog.embeddings().to_owned(),
        Metric::SquaredEuclidean,
        HnswParams::default(),
    )
    .unwrap();
    for _ in 0..3 {
        let user = catalog.user(&UserConfig::default(), NOW, &mut rng).unwrap();
        let want = PinnerSage::default()
            .profile(&user.actions, &memory, NOW)
            .unwrap();
        let got = PinnerSage::default()
            .profile(&user.actions, &hnsw, NOW)
            .unwrap();
        assert_eq!(got, want);
        let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
        let recs = Recommender::default()
            .recommend(&got, &hnsw, &seen, &mut rng)
            .unwrap();
        assert_eq!(recs.len(), 30);
    }
}

/// A store keyed by sparse `u64` ids that decodes on demand and answers a
/// batch in one request: profiles equal those of an in-memory source, and a
/// failing fetch surfaces as `Error::Source`.
#[test]
fn a_fetching_source_gives_the_same_profiles() {
    use pinnersage::{Action, EmbeddingBatch, EmbeddingSource, Error, ExternalError};
    use std::cell::Cell;
    use std::collections::HashMap;

    struct Remote {
        records: HashMap<u64, Vec<f32>>,
        dim: usize,
        requests: Cell<usize>,
        fail: bool,
    }
    impl EmbeddingSource for Remote {
        type Id = u64;
        type Elem = f32;
        fn dim(&self) -> usize {
            self.dim
        }
        fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
            self.embeddings(std::slice::from_ref(id)).map(|b| {
                out.copy_from_slice(b.matrix.row(0).as_slice().unwrap());
                b.found[0]
            })
        }
        fn embeddings(&self, ids: &[u64]) -> pinnersage::Result<EmbeddingBatch<f32>> {
            self.requests.set(self.requests.get() + 1);
            if self.fail {
                return Err(Error::Source(ExternalError::new("connection reset")));
            }
            let mut batch = EmbeddingBatch::unknown(ids.len(), self.dim);
            for (k, id) in ids.iter().enumerate() {
                if let Some(v) = self.records.get(id) {
                    batch
                        .matrix
                        .row_mut(k)
                        .assign(&ndarray::ArrayView1::from(&v[..]));
                    batch.found[k] = true;
                }
            }
            Ok(batch)
        }
    }

    let sparse = |i: usize| 9_000_000_000 + 7919 * i as u64;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
    let (catalog, _) = catalogue_and_index(&mut rng);
    let e = catalog.embeddings();
    let remote = Remote {
        records: (0..e.nrows())
            .map(|i| (sparse(i), e.row(i).to_vec()))
            .collect(),
        dim: e.ncols(),
        requests: Cell::new(0),
        fail: false,
    };
    let memory =
        pinnersage::InMemoryEmbeddings::new((0..e.nrows()).map(sparse).collect(), e.to_owned())
            .unwrap();
    let user = catalog.user(&UserConfig::default(), NOW, &mut rng).unwrap();
    let actions: Vec<Action<u64>> = user
        .actions
        .iter()
        .map(|a| Action::new(sparse(a.item), a.timestamp))
        .collect();
    let got = PinnerSage::default()
        .profile(&actions, &remote, NOW)
        .unwrap();
    assert_eq!(remote.requests.get(), 1, "one request per user");
    assert_eq!(
        got,
        PinnerSage::default()
            .profile(&actions, &memory, NOW)
            .unwrap()
    );
    let down = Remote {
        fail: true,
        ..remote
    };
    match PinnerSage::default().profile(&actions, &down, NOW) {
        Err(Error::Source(e)) => assert_eq!(e.to_string(), "connection reset"),
        other => panic!("{other:?}"),
    }
}

/// `Display` of a recommendation is one line of provenance.
#[test]
fn recommendations_display_compactly() {
    let w = world(1);
    let (user, profile) = &w.users[0];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
    let recs = Recommender::default()
        .recommend(profile, &w.index, &seen, &mut rng)
        .unwrap();
    let r = &recs[0];
    assert_eq!(
        r.to_string(),
        format!(
            "item {} (score {:.4}, cluster {}, medoid {})",
            r.item, r.score, r.cluster, r.medoid
        )
    );
    assert!(r.to_string().len() < 80);
}
