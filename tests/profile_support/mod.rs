//! Shared helpers for the profile integration tests.
#![allow(dead_code)]

use ndarray::{Array1, Array2, ArrayView1};
use pinnersage::synthetic::{Catalog, CatalogConfig, SyntheticUser, UserConfig};
use pinnersage::{
    Action, EmbeddingSource, InMemoryEmbeddings, InterestCluster, Scalar, UserProfile,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

pub const DAY: i64 = 86_400;
pub const NOW: i64 = 1_700_000_000;

/// A seeded catalogue and user; `spread` small means well-separated topics.
pub fn synthetic(
    seed: u64,
    spread: f64,
    user: &UserConfig,
) -> (Catalog<f64>, InMemoryEmbeddings<usize, f64>, SyntheticUser) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let config = CatalogConfig {
        items: 2_000,
        dim: 16,
        topics: 20,
        spread,
    };
    let catalog = Catalog::<f64>::generate(&config, &mut rng).unwrap();
    let source = InMemoryEmbeddings::from_matrix(catalog.embeddings().to_owned()).unwrap();
    let user = catalog.user(user, NOW, &mut rng).unwrap();
    (catalog, source, user)
}

/// A catalogue from raw values: item `i` is row `i`.
pub fn source_from(values: Vec<f64>, dim: usize) -> InMemoryEmbeddings<u32, f64> {
    let n = values.len() / dim;
    let matrix = Array2::from_shape_vec((n, dim), values).unwrap();
    InMemoryEmbeddings::new((0..n as u32).collect(), matrix).unwrap()
}

/// As [`source_from`], in `f32` (values rounded).
pub fn source_from_f32(values: Vec<f64>, dim: usize) -> InMemoryEmbeddings<u32, f32> {
    let n = values.len() / dim;
    let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let matrix = Array2::from_shape_vec((n, dim), values).unwrap();
    InMemoryEmbeddings::new((0..n as u32).collect(), matrix).unwrap()
}

/// The direct importance of a cluster: Σ exp(−λ(now − T)) over the actions on
/// its members, in the order given.
pub fn direct_importance<I: Ord + Clone, F: pinnersage::Scalar>(
    cluster: &InterestCluster<I, F>,
    actions: &[Action<I>],
    per_second: f64,
    now: i64,
) -> f64 {
    actions
        .iter()
        .filter(|a| cluster.contains(&a.item))
        .map(|a| (-per_second * (now - a.timestamp) as f64).exp())
        .sum()
}

/// Σ_j w_j ‖x_m − x_j‖² over a cluster's members, by brute force.
pub fn medoid_objective<S>(
    cluster: &InterestCluster<S::Id, S::Elem>,
    candidate: ArrayView1<'_, S::Elem>,
    source: &S,
) -> f64
where
    S: EmbeddingSource,
    S::Id: Ord,
{
    cluster
        .members()
        .iter()
        .map(|m| {
            let x = embedding_of(source, &m.item);
            let d: f64 = x
                .iter()
                .zip(candidate.iter())
                .map(|(a, b)| {
                    let t = a.to_f64_lossless() - b.to_f64_lossless();
                    t * t
                })
                .sum();
            m.actions as f64 * d
        })
        .sum()
}

/// Member sets of a profile, as sorted vectors, sorted.
pub fn partition<I: Ord + Clone, F: pinnersage::Scalar>(
    profile: &UserProfile<I, F>,
) -> Vec<Vec<I>> {
    let mut sets: Vec<Vec<I>> = profile
        .clusters()
        .iter()
        .map(|c| c.members().iter().map(|m| m.item.clone()).collect())
        .collect();
    sets.sort();
    sets
}

/// The embedding of a known item, through the source's batch lookup.
pub fn embedding_of<S: EmbeddingSource>(source: &S, id: &S::Id) -> Array1<S::Elem> {
    let batch = source.embeddings(std::slice::from_ref(id)).unwrap();
    assert!(batch.found[0], "unknown item");
    batch.matrix.row(0).to_owned()
}
