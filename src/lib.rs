//! # pinnersage
//!
//! Several interest embeddings per user instead of one: an implementation of
//! **PinnerSage** (Pal et al., *PinnerSage: Multi-Modal User Embedding Framework
//! for Recommendations at Pinterest*, KDD 2020).
//!
//! A single embedding per user averages unrelated interests into a point that
//! represents none of them. PinnerSage instead clusters the embeddings of the
//! items a user engaged with and keeps one representative item per cluster.
//!
//! ## The method
//!
//! 1. **Actions → embeddings.** A user's actions over a window (the paper: 90
//!    days) are items with fixed embeddings (the paper: PinSage). See
//!    [`Action`].
//! 2. **Ward clustering.** The embeddings are clustered by Ward's agglomerative
//!    method ([`ward::linkage`]), computed exactly with the Lance–Williams
//!    update, from a Gram-matrix distance kernel or, for histories whose
//!    distance matrix would exceed a memory budget, by the nearest-neighbour
//!    chain on centroids ([`ward::Ward`]). The number of clusters is not fixed:
//!    the [`Dendrogram`](ward::Dendrogram) is cut where the merge distance
//!    exceeds a threshold α ([`Dendrogram::cut`](ward::Dendrogram::cut)).
//! 3. **Medoids.** Each cluster is summarised by its medoid, the member that
//!    minimises the sum of squared distances to the others: a real item, so it
//!    is interpretable and its neighbours can be cached and shared across users
//!    ([`medoid`]).
//! 4. **Importance.** Each cluster is weighted by
//!    `Σ_{i∈C} exp(−λ·(T_now − T_i))`, the paper's λ being 0.01 per day
//!    ([`importance`], [`DecayRate`]).
//!
//! Steps 1–4 are [`PinnerSage::profile`]: a validated configuration, the
//! user's actions, an [`EmbeddingSource`] and the caller's `now` give a
//! [`UserProfile`] of [`InterestCluster`]s sorted by importance.
//! [`UserProfile::update`] folds the latest actions in between batch runs.
//! 5. **Retrieval.** A few medoids are sampled in proportion to importance
//!    ([`retrieval::Selection`]) and each queries a nearest-neighbour index
//!    ([`ann::AnnIndex`]: exact, or HNSW with the `hnsw` or `usearch`
//!    feature; neighbour lists of popular medoids shared through
//!    [`ann::MedoidCache`]); the
//!    candidate lists are blended ([`retrieval::blend()`]) into
//!    recommendations that name the medoid behind them
//!    ([`retrieval::Recommender`] does all of it in one call, for a
//!    [`UserProfile`] or anything implementing [`retrieval::Interests`]).
//!
//! ## Distances
//!
//! Merge distances are reported in the paper's convention. Two single
//! observations start at `d(i, j) = ‖x_i − x_j‖²` and merges follow the
//! Lance–Williams Ward update
//!
//! ```text
//! d(A∪B, K) = ((n_A+n_K)·d(A,K) + (n_B+n_K)·d(B,K) − n_K·d(A,B)) / (n_A+n_B+n_K)
//! ```
//!
//! which equals `2·|A||B|/(|A|+|B|)·‖μ_A − μ_B‖²`, twice the increase in the
//! within-cluster sum of squares that the merge causes. scipy and fastcluster
//! report the **square root** of the same number, so a threshold α here is
//! `√α` in `scipy.cluster.hierarchy.fcluster(Z, t, 'distance')`, and
//! [`Dendrogram::to_scipy`](ward::Dendrogram::to_scipy) exports scipy's format.
//!
//! ## Example
//!
//! ```
//! use pinnersage::ndarray::array;
//! use pinnersage::ward;
//!
//! // two interests: rows 0–1 near the origin, rows 2–3 far away
//! let x = array![[0.0_f32, 0.1], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
//! let tree = ward::linkage(x.view())?;
//! assert_eq!(tree.len(), 3);
//! assert_eq!(tree.cut(1.0)?, vec![0, 0, 1, 1]);
//! # Ok::<(), pinnersage::Error>(())
//! ```
//!
//! ## Profiles
//!
//! ```
//! use pinnersage::rand::SeedableRng;
//! use pinnersage::rand::rngs::Xoshiro256PlusPlus;
//! use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
//! use pinnersage::{InMemoryEmbeddings, PinnerSage};
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
//! let now = 1_700_000_000;
//! let user = catalog.user(&UserConfig::default(), now, &mut rng)?;
//! let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned())?;
//!
//! let profile = PinnerSage::default().profile(&user.actions, &source, now)?;
//! assert_eq!(profile.len(), user.interests.len()); // one cluster per interest
//! for cluster in profile.clusters() {
//!     let topic = catalog.topic_of(*cluster.medoid());
//!     assert!(user.interests.contains(&topic));
//!     assert!(cluster.members().iter().all(|m| catalog.topic_of(m.item) == topic));
//! }
//! # Ok::<(), pinnersage::Error>(())
//! ```
//!
//! ## Precision
//!
//! Everything is generic over `f32` and `f64` (the sealed [`Scalar`] trait).
//! Results in `f64` match scipy to about `1e-9` relative; in `f32` to about
//! `1e-4`.
//!
//! ## Invalid inputs
//!
//! Every public entry point ends in a typed [`Error`] or a valid value (no
//! panic, no NaN or ∞ in an `Ok`): [`invalid_inputs`] tables each class of
//! bad input per entry point with the error it gets, and states the numeric
//! guarantee of each path (values of extreme magnitude are rescaled exactly,
//! or refused with an error naming the accepted range).
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
// `unsafe` only in `scalar::simd`, which allows it for itself
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ann;
pub mod batch;
mod embedding;
mod error;
pub mod eval;
mod history;
pub mod importance;
#[doc = include_str!("../docs/errors.md")]
pub mod invalid_inputs {}
mod linalg;
pub mod medoid;
#[cfg(feature = "plot")]
#[cfg_attr(docsrs, doc(cfg(feature = "plot")))]
pub mod plot;
mod profile;
pub mod retrieval;
mod scalar;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod store;
pub mod synthetic;
#[cfg(any(feature = "parallel", feature = "usearch", feature = "hnsw"))]
mod thread_pool;
mod validate;
pub mod ward;

pub use embedding::{EmbeddingBatch, EmbeddingSource, InMemoryEmbeddings};
pub use error::{Error, ExternalError, ProfileFault, Result};
pub use history::{Action, TimestampUnit};
pub use importance::{DecayRate, TimeUnit, SECONDS_PER_DAY};
pub use profile::{
    CutRule, HistorySummary, InterestCluster, Member, PinnerSage, PinnerSageBuilder, UnknownItems,
    UserProfile, DEFAULT_ALPHA, DEFAULT_WINDOW,
};
pub use scalar::Scalar;

/// The `ndarray` version in this crate's public signatures (views in, owned
/// arrays out), re-exported so callers need not match it by hand.
pub use ndarray;
/// The `rand` version in this crate's public signatures (the caller's `Rng`),
/// re-exported so callers need not match it by hand.
pub use rand;

/// The README's code examples, compiled and run as doctests (under
/// `cargo test --all-features`: the end-to-end example needs `serde` and
/// `hnsw`, and the README's code stays free of hidden lines).
#[cfg(all(doctest, feature = "serde", feature = "hnsw"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Hooks for the crate's own examples and benchmarks (the `bench-internals`
/// feature). **Not part of the API**: hidden from the docs, may change in any
/// release.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod __bench {
    use ndarray::{Array2, ArrayView2};

    use crate::Scalar;

    /// The product kernel of the Gram-form distances: the crate's AVX-512
    /// register tiles, the `gemm` crate (AVX2+FMA, NEON) or ndarray's
    /// `matrixmultiply` (the portable reference); `PINNERSAGE_KERNEL` forces one.
    pub use crate::scalar::simd::ProductKernel as Kernel;

    /// `X·Xᵀ` in full with the product kernel Ward's matrix path uses on this
    /// CPU (the benchmarks' floor).
    pub fn gram<F: Scalar>(x: ArrayView2<'_, F>) -> Array2<F> {
        crate::ward::distances::full_gram(x, Kernel::detect())
    }

    /// `X·Xᵀ` in full with `kernel`; a kernel this CPU does not run
    /// ([`Kernel::is_available`]) falls back to the detected one.
    pub fn gram_using<F: Scalar>(x: ArrayView2<'_, F>, kernel: Kernel) -> Array2<F> {
        crate::ward::distances::full_gram(x, kernel)
    }
}
