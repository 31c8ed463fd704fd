//! From a user's actions to a [`UserProfile`]: a few interest clusters, each
//! represented by a medoid item and weighted by time-decayed importance.
//!
//! * [`PinnerSage`] — the validated configuration (build it with
//!   [`PinnerSage::builder`]); [`PinnerSage::profile`] computes a profile;
//! * [`UserProfile`] — the result, clusters sorted by importance;
//!   [`UserProfile::update`] folds in new actions without the full history;
//! * [`InterestCluster`] — one interest.

mod build;
mod cluster;
mod config;
mod prepare;
#[cfg(feature = "serde")]
mod stored;
mod update;

pub use cluster::{InterestCluster, Member};
pub use config::{
    CutRule, PinnerSage, PinnerSageBuilder, UnknownItems, DEFAULT_ALPHA, DEFAULT_WINDOW,
};
pub use prepare::Skipped;

/// A user's interests as of a time: the output of
/// [`PinnerSage::profile`].
///
/// Clusters are sorted by importance, descending (ties: most recent action
/// first, then smallest medoid id). The profile remembers the configuration it
/// was computed with and the time `as_of` its importances refer to, so that
/// [`update`](Self::update) can fold in new actions later. With the `serde` feature it serializes whole: this is what a
/// key-value store holds between the daily batch and online updates (see
/// [`InterestCluster`] for what each cluster stores). Deserialization
/// validates what an update relies on (dimensions, finite values, sorted
/// unique members whose action counts sum to the cluster's, finite
/// non-negative importances, …) and fails with
/// [`Error::InvalidProfile`](crate::Error::InvalidProfile) naming the broken
/// [`ProfileFault`](crate::ProfileFault).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "stored::RawUserProfile<I, F>",
        bound(
            serialize = "I: serde::Serialize, F: serde::Serialize",
            deserialize = "I: serde::Deserialize<'de> + Ord, \
                           F: serde::Deserialize<'de> + crate::Scalar"
        )
    )
)]
pub struct UserProfile<I, F> {
    config: PinnerSage,
    as_of: i64,
    threshold: Option<f64>,
    dim: usize,
    clusters: Vec<InterestCluster<I, F>>,
    skipped: Skipped,
}

impl<I, F> UserProfile<I, F> {
    /// The interest clusters, most important first.
    pub fn clusters(&self) -> &[InterestCluster<I, F>] {
        &self.clusters
    }

    /// Consumes the profile, returning its clusters.
    pub fn into_clusters(self) -> Vec<InterestCluster<I, F>> {
        self.clusters
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// `true` for a profile without clusters (no known action in the window).
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The time the importances refer to: the `now` of the last computation or
    /// update.
    pub fn as_of(&self) -> i64 {
        self.as_of
    }

    /// The configuration the profile was computed with.
    pub fn config(&self) -> &PinnerSage {
        &self.config
    }

    /// The merge threshold (paper convention) the clusters were cut at: α for
    /// [`CutRule::Threshold`]; for [`CutRule::Clusters`] the largest merge
    /// distance the last computation or update applied, `None` if it applied
    /// none. Informational: updates cut by the configuration's rule.
    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// What the last computation or update left out.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }
}

// Public types can be shared across threads: one config profiles many users.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PinnerSage>();
    assert_send_sync::<PinnerSageBuilder>();
    assert_send_sync::<CutRule>();
    assert_send_sync::<UnknownItems>();
    assert_send_sync::<Skipped>();
    assert_send_sync::<Member<u64>>();
    assert_send_sync::<InterestCluster<u64, f32>>();
    assert_send_sync::<UserProfile<String, f64>>();
    assert_send_sync::<crate::DecayRate>();
    assert_send_sync::<crate::TimeUnit>();
    assert_send_sync::<crate::InMemoryEmbeddings<String, f32>>();
    assert_send_sync::<crate::Action<String>>();
    assert_send_sync::<crate::Error>();
    assert_send_sync::<crate::ProfileFault>();
};
