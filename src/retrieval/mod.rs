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
//! use pinnersage::PinnerSage;
//! use pinnersage::rand::SeedableRng;
//!
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
//! let now = 1_700_000_000;
//! let user = catalog.user(&UserConfig::default(), now, &mut rng)?;
//! // one exact index for all users, also the profiles' embedding source
//! let index = ExactIndex::with_row_ids(catalog.embeddings().to_owned(), Metric::Cosine)?;
//! let profile = PinnerSage::default().profile(&user.actions, &index, now)?;
//!
//! // a cache shared by all users; items the user engaged with are excluded
//! let cache = MedoidCache::builder(index).capacity(10_000).build()?;
//! let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
//! let recs = Recommender::default().recommend(&profile, &cache, &seen, &mut rng)?;
//! // 30: lists that exclusions eat are fetched again with more neighbours
//! assert_eq!(recs.len(), 30);
//! // compact provenance: "item 1234 (score 0.9731, cluster 0, medoid 77)"
//! println!("{}", recs[0]);
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
        self.clusters()[i].importance()
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
        self[i].importance()
    }
}

/// Profile + index + medoid selection + blending in one call: a validated
/// configuration, built by [`Recommender::builder`] (or [`Default`]).
///
/// The defaults are the paper's: sample 3 medoids proportionally to
/// importance, blend round-robin; 30 results, each medoid retrieving 30
/// candidates.
///
/// With the `serde` feature it serializes as its builder and is validated
/// again when deserialized.
///
/// ```
/// use pinnersage::retrieval::{Blend, Recommender, Selection};
/// use pinnersage::Error;
///
/// let rec = Recommender::builder()
///     .selection(Selection::TopK { n: 2 })
///     .blend(Blend::Proportional)
///     .n(20)
///     .per_medoid(50)
///     .build()?;
/// assert_eq!((rec.n(), rec.per_medoid()), (20, 50));
/// assert_eq!(Recommender::builder().per_medoid(0).build(), Err(Error::ZeroPerMedoid));
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RecommenderBuilder", into = "RecommenderBuilder")
)]
pub struct Recommender {
    selection: Selection,
    blend: Blend,
    n: usize,
    per_medoid: usize,
}

/// Unchecked parameters of a [`Recommender`]; [`build`](Self::build)
/// validates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecommenderBuilder {
    selection: Selection,
    blend: Blend,
    n: usize,
    per_medoid: usize,
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

impl Default for RecommenderBuilder {
    fn default() -> Self {
        Recommender::default().into()
    }
}

impl From<Recommender> for RecommenderBuilder {
    fn from(r: Recommender) -> Self {
        RecommenderBuilder {
            selection: r.selection,
            blend: r.blend,
            n: r.n,
            per_medoid: r.per_medoid,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<RecommenderBuilder> for Recommender {
    type Error = crate::Error;
    fn try_from(builder: RecommenderBuilder) -> Result<Self> {
        builder.build()
    }
}

impl RecommenderBuilder {
    /// Which medoids query the index. Default [`Selection::Sample`] of 3.
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// How their candidate lists are merged. Default [`Blend::RoundRobin`].
    pub fn blend(mut self, blend: Blend) -> Self {
        self.blend = blend;
        self
    }

    /// Maximum number of recommendations (≥ 1; `usize::MAX` asks for every
    /// reachable item). Default 30.
    pub fn n(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// Neighbours first retrieved per medoid (before exclusions and
    /// deduplication; ≥ 1). When the blend comes out short of `n` and a list
    /// came back full, that list is fetched again with twice as many
    /// neighbours, until `n` results survive or no list can grow; raising it
    /// saves those repeated searches for users with long histories to
    /// exclude. Default 30.
    pub fn per_medoid(mut self, k: usize) -> Self {
        self.per_medoid = k;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// One variant per rule:
    /// * [`Error::ZeroSelection`](crate::Error::ZeroSelection) — a selection
    ///   of 0 interests;
    /// * [`Error::ZeroRecommendations`](crate::Error::ZeroRecommendations) —
    ///   `n` of 0;
    /// * [`Error::ZeroPerMedoid`](crate::Error::ZeroPerMedoid) —
    ///   `per_medoid` of 0.
    pub fn build(self) -> Result<Recommender> {
        self.selection.validate()?;
        if self.n == 0 {
            return Err(crate::Error::ZeroRecommendations);
        }
        if self.per_medoid == 0 {
            return Err(crate::Error::ZeroPerMedoid);
        }
        Ok(Recommender {
            selection: self.selection,
            blend: self.blend,
            n: self.n,
            per_medoid: self.per_medoid,
        })
    }
}

impl Recommender {
    /// A builder holding the defaults.
    pub fn builder() -> RecommenderBuilder {
        RecommenderBuilder::default()
    }

    /// A builder holding this configuration, to change some parameters.
    pub fn to_builder(&self) -> RecommenderBuilder {
        (*self).into()
    }

    /// Which medoids query the index.
    pub fn selection(&self) -> Selection {
        self.selection
    }

    /// How the candidate lists are merged.
    pub fn blend(&self) -> Blend {
        self.blend
    }

    /// Maximum number of recommendations.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Neighbours first retrieved per medoid.
    pub fn per_medoid(&self) -> usize {
        self.per_medoid
    }

    /// Recommends at most `n` items for `profile`, never one in `exclude`
    /// (typically the items the user already engaged with).
    ///
    /// Selects interests with [`selection`](Self::selection) (using `rng`), asks `source`
    /// for [`per_medoid`](Self::per_medoid) neighbours of each selected medoid, and blends them
    /// with [`blend`](Self::blend). Pass a [`MedoidCache`](crate::ann::MedoidCache)
    /// as `source` to share neighbour lists across users.
    ///
    /// **Exclusions do not starve the result.** If fewer than `n` candidates
    /// survive the exclusions and deduplication, every list that came back
    /// full (as long as it was asked for) is fetched again with `k` doubled,
    /// and the lists are blended afresh; this repeats until `n` results
    /// survive or every list is shorter than its `k` (the index has nothing
    /// more to give). So fewer than `n` results means the selected medoids'
    /// whole reachable neighbourhood is excluded. An approximate index that
    /// returns a short list although it holds more items ends that list's
    /// growth (see [`MedoidCache`](crate::ann::MedoidCache)). A cache answers
    /// the larger `k` with one miss that replaces its entry.
    ///
    /// # Errors
    /// [`Error::InvalidImportance`](crate::Error::InvalidImportance) if an
    /// importance is negative or not finite; the errors of the source's
    /// search (for instance
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when the
    /// profile's embeddings do not match the index).
    ///
    /// # Complexity
    /// One selection (O(m log m) for `m` interests), `s` searches for `s`
    /// selected medoids and a blend linear in the `s·per_medoid` candidates
    /// when nothing runs short; each doubling round adds one search per full
    /// list and a blend, at most `log2(len / per_medoid) + 1` rounds for an
    /// index of `len` items.
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
        let metric = source.distance_metric();
        let fetch = |i: usize, k: usize| {
            source.medoid_neighbours(profile.medoid(i), profile.medoid_embedding(i), k)
        };
        // (interest, k asked, list)
        let mut lists = chosen
            .into_iter()
            .map(|i| fetch(i, self.per_medoid).map(|l| (i, self.per_medoid, l)))
            .collect::<Result<Vec<(usize, usize, SharedNeighbours<_, _>)>>>()?;
        loop {
            let candidates: Vec<Candidates<'_, P::Id, P::Elem>> = lists
                .iter()
                .map(|(i, _, l)| Candidates {
                    cluster: *i,
                    medoid: profile.medoid(*i),
                    importance: importances[*i],
                    neighbours: l,
                })
                .collect();
            let recs = blend(&candidates, self.blend, metric, self.n, exclude)?;
            // short of `n` because exclusions and duplicates ate the lists:
            // lists that came back full may have more behind them
            let full: Vec<usize> = lists
                .iter()
                .enumerate()
                .filter(|(_, (_, k, l))| *k > 0 && l.len() >= *k && *k < usize::MAX)
                .map(|(j, _)| j)
                .collect();
            if recs.len() >= self.n || full.is_empty() {
                return Ok(recs);
            }
            for j in full {
                let (i, k, _) = lists[j];
                let k = k.saturating_mul(2);
                lists[j] = (i, k, fetch(i, k)?);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::test_support::catalogue;
    use crate::ann::{AnnIndex, ExactIndex, MedoidCache, Metric};
    use crate::error::Error;
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
        let items = catalogue::<f32>(1000, 16, 10, 0.4, 17);
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
        let cache = MedoidCache::builder(index.clone())
            .capacity(8)
            .build()
            .unwrap();
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

    /// `n = usize::MAX` ("everything") with proportional blending neither
    /// overflows nor hangs: every item of the catalogue comes back once.
    #[test]
    fn huge_n_returns_the_whole_catalogue() {
        let (index, profile) = setup();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        for blend in [Blend::Proportional, Blend::RoundRobin] {
            let rec = Recommender {
                selection: Selection::All,
                blend,
                n: usize::MAX,
                per_medoid: 30,
            };
            let recs = rec
                .recommend(&profile, &index, &HashSet::new(), &mut rng)
                .unwrap();
            let distinct: HashSet<usize> = recs.iter().map(|r| r.item).collect();
            assert_eq!((recs.len(), distinct.len()), (1000, 1000), "{blend:?}");
        }
    }

    /// A profile whose importances have all decayed to 0 still gets
    /// recommendations (the sampler falls back to the top-k order).
    #[test]
    fn zero_importance_profiles_still_get_recommendations() {
        let (index, mut profile) = setup();
        profile.importances = vec![0.0; 5];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let recs = Recommender::default()
            .recommend(&profile, &index, &HashSet::new(), &mut rng)
            .unwrap();
        assert_eq!(recs.len(), 30);
        let clusters: HashSet<usize> = recs.iter().map(|r| r.cluster).collect();
        assert_eq!(clusters, [0, 1, 2].into());
    }

    /// Lists are extended when exclusions eat them: excluding a medoid's
    /// whole topic (100 items) still yields `n` results from further away.
    #[test]
    fn lists_grow_until_n_survive_the_exclusions() {
        let (index, profile) = setup();
        let topic0: HashSet<usize> = (0..1000).filter(|i| i % 10 == 0).collect();
        let rec = Recommender {
            selection: Selection::TopK { n: 1 },
            ..Recommender::default()
        };
        let cache = MedoidCache::builder(index.clone())
            .capacity(4)
            .build()
            .unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let direct = rec.recommend(&profile, &index, &topic0, &mut rng).unwrap();
        let cached = rec.recommend(&profile, &cache, &topic0, &mut rng).unwrap();
        assert_eq!(direct.len(), 30);
        assert_eq!(cached, direct);
        assert!(direct.iter().all(|r| !topic0.contains(&r.item)));
        // the same items as one exact filtered search
        let want = index
            .search_filtered(index.embedding(&0).unwrap(), 30, &|id| topic0.contains(id))
            .unwrap();
        let got: Vec<usize> = direct.iter().map(|r| r.item).collect();
        assert_eq!(got, want.iter().map(|n| n.id).collect::<Vec<_>>());
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

    /// Zero-sized requests are refused at configuration time (they used to
    /// succeed with no recommendations).
    #[test]
    fn zero_sized_configurations_are_refused() {
        assert_eq!(
            Recommender::builder().per_medoid(0).build(),
            Err(Error::ZeroPerMedoid)
        );
        assert_eq!(
            Recommender::builder().n(0).build(),
            Err(Error::ZeroRecommendations)
        );
        for selection in [Selection::Sample { n: 0 }, Selection::TopK { n: 0 }] {
            assert_eq!(
                Recommender::builder().selection(selection).build(),
                Err(Error::ZeroSelection)
            );
        }
        let ok = Recommender::builder()
            .selection(Selection::All)
            .blend(Blend::Proportional)
            .n(5)
            .per_medoid(7)
            .build()
            .unwrap();
        assert_eq!(ok.to_builder().build(), Ok(ok));
        assert_eq!(
            (ok.selection(), ok.blend(), ok.n(), ok.per_medoid()),
            (Selection::All, Blend::Proportional, 5, 7)
        );
        assert_eq!(Recommender::builder().build(), Ok(Recommender::default()));
    }

    /// A deserialized configuration is validated like a built one.
    #[cfg(feature = "serde")]
    #[test]
    fn deserialized_recommender_is_validated() {
        let json = serde_json::to_string(&Recommender::default()).unwrap();
        let back: Recommender = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Recommender::default());
        let zero = json.replace("\"per_medoid\":30", "\"per_medoid\":0");
        assert_ne!(zero, json);
        let err = serde_json::from_str::<Recommender>(&zero).unwrap_err();
        assert!(
            err.to_string().contains("neighbours per medoid is 0"),
            "{err}"
        );
    }
}
