//! Recommendations from a multi-interest profile: choose medoids, query the
//! index with each, blend.
//!
//! PinnerSage samples 3 of a user's medoids with probability proportional to
//! their clusters' importance, retrieves each medoid's nearest neighbours from
//! an approximate-nearest-neighbour index, and merges the lists. Every
//! [`Recommendation`] remembers its cluster and medoid, so a product can say
//! "because you engaged with X".
//!
//! The pieces work on plain inputs and can be used alone:
//! [`Selection::select`] (importances → interest indices) and [`blend()`]
//! (candidate lists → recommendations). [`Recommender`] wires them to a
//! profile (anything implementing [`Interests`]) and to an index or a
//! [`MedoidCache`](crate::ann::MedoidCache) (anything implementing
//! [`MedoidNeighbours`]).
//!
//! ```
//! use std::collections::HashSet;
//! use pinnersage::ann::{ExactIndex, MedoidCache, Metric};
//! use pinnersage::retrieval::Recommender;
//! use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
//! use pinnersage::{InMemoryEmbeddings, PinnerSage};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng)?;
//! let now = 1_700_000_000;
//! let user = catalog.user(&UserConfig::default(), now, &mut rng)?;
//! let embeddings = InMemoryEmbeddings::from_matrix(catalog.embeddings().to_owned())?;
//! let profile = PinnerSage::default().profile(&user.actions, &embeddings, now)?;
//!
//! // one index (and cache) for all users; items the user engaged with are excluded
//! let index = ExactIndex::with_row_ids(catalog.embeddings().to_owned(), Metric::Cosine)?;
//! let cache = MedoidCache::new(index, 10_000)?;
//! let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
//! let recs = Recommender::default().recommend(&profile, &cache, &seen, &mut rng)?;
//! // at most 30 (fewer if the sampled medoids' 30 neighbours are mostly seen)
//! assert!(!recs.is_empty() && recs.len() <= 30);
//! for r in &recs {
//!     assert!(!seen.contains(&r.item));
//!     // provenance: the cluster of the profile whose medoid retrieved the item
//!     assert_eq!(profile.clusters()[r.cluster].medoid(), &r.medoid);
//! }
//! # Ok::<(), pinnersage::Error>(())
//! ```
//!
//! Any other profile representation can implement [`Interests`] (medoid id,
//! medoid embedding and importance per interest).

mod blend;
mod selection;

use core::hash::{BuildHasher, Hash};
use std::collections::HashSet;

use ndarray::ArrayView1;
use rand::Rng;

use crate::ann::{MedoidNeighbours, SharedNeighbours};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::{InterestCluster, UserProfile};

pub use blend::{blend, Blend, Candidates, Recommendation};
pub use selection::Selection;

/// A user's interests as retrieval sees them: per interest a medoid (a real
/// item), its embedding and an importance.
///
/// Interests are addressed by index `0..interest_count()`; that index is the
/// [`Recommendation::cluster`] of what they retrieve.
pub trait Interests {
    /// The item id type.
    type Id: Clone + Eq + Hash;
    /// The embedding element type.
    type Elem: Scalar;

    /// Number of interests.
    fn interest_count(&self) -> usize;
    /// The medoid of interest `i` (`i < interest_count()`).
    fn medoid(&self, i: usize) -> &Self::Id;
    /// The embedding of interest `i`'s medoid.
    fn medoid_embedding(&self, i: usize) -> ArrayView1<'_, Self::Elem>;
    /// The importance of interest `i`, in `f64` whatever the element type
    /// (importances are sums of exponential decays and would underflow early
    /// in `f32`): finite and ≥ 0.
    fn importance(&self, i: usize) -> f64;
}

/// A profile's interests are its clusters, most important first: interest `i`
/// is `clusters()[i]`, its importance the stored `f64` value.
impl<I: Clone + Eq + Hash, F: Scalar> Interests for UserProfile<I, F> {
    type Id = I;
    type Elem = F;

    fn interest_count(&self) -> usize {
        self.clusters().len()
    }
    fn medoid(&self, i: usize) -> &I {
        self.clusters()[i].medoid()
    }
    fn medoid_embedding(&self, i: usize) -> ArrayView1<'_, F> {
        self.clusters()[i].medoid_embedding()
    }
    fn importance(&self, i: usize) -> f64 {
        self.clusters()[i].importance_f64()
    }
}

/// A slice of clusters (for instance a filtered subset of a profile's), in
/// slice order.
impl<I: Clone + Eq + Hash, F: Scalar> Interests for [InterestCluster<I, F>] {
    type Id = I;
    type Elem = F;

    fn interest_count(&self) -> usize {
        self.len()
    }
    fn medoid(&self, i: usize) -> &I {
        self[i].medoid()
    }
    fn medoid_embedding(&self, i: usize) -> ArrayView1<'_, F> {
        self[i].medoid_embedding()
    }
    fn importance(&self, i: usize) -> f64 {
        self[i].importance_f64()
    }
}

/// Profile + index + medoid selection + blending in one call.
///
/// The defaults are the paper's: sample 3 medoids proportionally to
/// importance, blend round-robin; 30 results, each medoid retrieving 30
/// candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recommender {
    /// Which medoids query the index.
    pub selection: Selection,
    /// How their candidate lists are merged.
    pub blend: Blend,
    /// Maximum number of recommendations.
    pub n: usize,
    /// Neighbours retrieved per medoid (before exclusions and deduplication).
    /// Raise it when users have long histories to exclude.
    pub per_medoid: usize,
}

impl Default for Recommender {
    fn default() -> Self {
        Recommender {
            selection: Selection::default(),
            blend: Blend::default(),
            n: 30,
            per_medoid: 30,
        }
    }
}

impl Recommender {
    /// Recommends at most `n` items for `profile`, never one in `exclude`
    /// (typically the items the user already engaged with).
    ///
    /// Selects interests with [`Self::selection`] (using `rng`), asks `source`
    /// for `per_medoid` neighbours of each selected medoid, and blends them
    /// with [`Self::blend`]. Pass a [`MedoidCache`](crate::ann::MedoidCache)
    /// as `source` to share neighbour lists across users.
    ///
    /// # Errors
    /// [`Error::InvalidImportance`](crate::Error::InvalidImportance) if an
    /// importance is negative or not finite; the errors of the source's
    /// search (for instance
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when the
    /// profile's embeddings do not match the index).
    ///
    /// # Complexity
    /// One selection (O(m log m) for `m` interests), at most `s` searches for
    /// `s` selected medoids, and a blend linear in the `s·per_medoid`
    /// candidates.
    pub fn recommend<P, X, S, R>(
        &self,
        profile: &P,
        source: &X,
        exclude: &HashSet<P::Id, S>,
        rng: &mut R,
    ) -> Result<Vec<Recommendation<P::Id, P::Elem>>>
    where
        P: Interests + ?Sized,
        X: MedoidNeighbours<Id = P::Id, Elem = P::Elem> + ?Sized,
        S: BuildHasher,
        R: Rng + ?Sized,
    {
        let importances: Vec<f64> = (0..profile.interest_count())
            .map(|i| profile.importance(i))
            .collect();
        let chosen = self.selection.select(&importances, rng)?;
        let lists = chosen
            .into_iter()
            .map(|i| {
                source
                    .medoid_neighbours(
                        profile.medoid(i),
                        profile.medoid_embedding(i),
                        self.per_medoid,
                    )
                    .map(|l| (i, l))
            })
            .collect::<Result<Vec<(usize, SharedNeighbours<_, _>)>>>()?;
        let candidates: Vec<Candidates<'_, P::Id, P::Elem>> = lists
            .iter()
            .map(|(i, l)| Candidates {
                cluster: *i,
                medoid: profile.medoid(*i),
                importance: importances[*i],
                neighbours: l,
            })
            .collect();
        blend(
            &candidates,
            self.blend,
            source.distance_metric(),
            self.n,
            exclude,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::{AnnIndex, ExactIndex, MedoidCache, Metric};
    use crate::error::Error;
    use crate::synthetic::{Catalog, CatalogConfig};
    use ndarray::{Array2, Axis};
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    /// A minimal [`Interests`] implementation over catalogue rows.
    struct Rows {
        medoids: Vec<usize>,
        embeddings: Array2<f32>,
        importances: Vec<f64>,
    }

    impl Interests for Rows {
        type Id = usize;
        type Elem = f32;
        fn interest_count(&self) -> usize {
            self.medoids.len()
        }
        fn medoid(&self, i: usize) -> &usize {
            &self.medoids[i]
        }
        fn medoid_embedding(&self, i: usize) -> ArrayView1<'_, f32> {
            self.embeddings.row(i)
        }
        fn importance(&self, i: usize) -> f64 {
            self.importances[i]
        }
    }

    fn setup() -> (ExactIndex<usize, f32>, Rows) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
        let config = CatalogConfig {
            items: 1000,
            dim: 16,
            topics: 10,
            spread: 0.4,
        };
        let items = Catalog::<f32>::generate(&config, &mut rng)
            .unwrap()
            .into_embeddings();
        let index = ExactIndex::with_row_ids(items.clone(), Metric::Cosine).unwrap();
        // five interests in topics 0..5 (item i is in topic i % 10)
        let medoids = vec![0, 11, 22, 33, 44];
        let embeddings = items.select(Axis(0), &medoids);
        let profile = Rows {
            medoids,
            embeddings,
            importances: vec![5.0, 4.0, 3.0, 2.0, 1.0],
        };
        (index, profile)
    }

    #[test]
    fn recommendations_come_from_the_sampled_medoids_topics() {
        let (index, profile) = setup();
        let seen: HashSet<usize> = profile.medoids.iter().copied().collect();
        let rec = Recommender::default();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let recs = rec.recommend(&profile, &index, &seen, &mut rng).unwrap();
        assert_eq!(recs.len(), 30);
        let clusters: HashSet<usize> = recs.iter().map(|r| r.cluster).collect();
        assert_eq!(clusters.len(), 3, "three medoids sampled");
        for r in &recs {
            assert!(!seen.contains(&r.item));
            assert_eq!(r.medoid, profile.medoids[r.cluster]);
            // tight topics: a medoid's neighbours share its topic
            assert_eq!(r.item % 10, r.medoid % 10);
            let m = index.embedding(&r.medoid).unwrap();
            let x = index.embedding(&r.item).unwrap();
            let cos = m.dot(&x) / (m.dot(&m).sqrt() * x.dot(&x).sqrt());
            assert!((r.score - cos).abs() < 1e-5);
        }
    }

    #[test]
    fn cached_and_uncached_sources_agree() {
        let (index, profile) = setup();
        let cache = MedoidCache::new(index.clone(), 8).unwrap();
        let rec = Recommender {
            selection: Selection::All,
            blend: Blend::Proportional,
            n: 40,
            per_medoid: 20,
        };
        let none = HashSet::new();
        let mut r1 = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut r2 = Xoshiro256PlusPlus::seed_from_u64(3);
        let direct = rec.recommend(&profile, &index, &none, &mut r1).unwrap();
        for _ in 0..3 {
            let cached = rec.recommend(&profile, &cache, &none, &mut r2).unwrap();
            assert_eq!(cached, direct);
        }
        assert_eq!((cache.stats().misses, cache.stats().hits), (5, 10));
        // proportional quotas: 40·(5,4,3,2,1)/15 = 13.3, 10.7, 8, 5.3, 2.7;
        // floors 13, 10, 8, 5, 2 and the two largest remainders (.67) get +1
        let from = |j: usize| direct.iter().filter(|r| r.cluster == j).count();
        assert_eq!((0..5).map(from).collect::<Vec<_>>(), vec![13, 11, 8, 5, 3]);
    }

    #[test]
    fn works_through_trait_objects() {
        let (index, profile) = setup();
        let dynamic: &dyn AnnIndex<Id = usize, Elem = f32> = &index;
        let p: &dyn Interests<Id = usize, Elem = f32> = &profile;
        let rec = Recommender {
            selection: Selection::TopK { n: 1 },
            n: 3,
            ..Recommender::default()
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let recs = rec
            .recommend(p, dynamic, &HashSet::<usize>::new(), &mut rng)
            .unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(
            recs[0].item, 0,
            "unexcluded, a medoid is its own nearest item"
        );
        assert!(recs.iter().all(|r| r.cluster == 0));
    }

    #[test]
    fn errors_propagate() {
        let (index, mut profile) = setup();
        profile.importances[2] = f64::NAN;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let none = HashSet::new();
        assert!(matches!(
            Recommender::default().recommend(&profile, &index, &none, &mut rng),
            Err(Error::InvalidImportance { index: 2, .. })
        ));
        profile.importances[2] = 1.0;
        profile.embeddings = Array2::zeros((5, 3));
        assert_eq!(
            Recommender::default().recommend(&profile, &index, &none, &mut rng),
            Err(Error::DimensionMismatch {
                expected: 16,
                got: 3
            })
        );
    }
}
