//! From a user's actions to a [`UserProfile`]: a few interest clusters, each
//! represented by a medoid item and weighted by time-decayed importance.
//!
//! * [`PinnerSage`] — the validated configuration (build it with
//!   [`PinnerSage::builder`]); [`PinnerSage::profile`] computes a profile;
//! * [`UserProfile`] — the result, clusters sorted by importance;
//!   [`UserProfile::update`] folds in new actions without the full history;
//! * [`InterestCluster`] — one interest.
//!
//! **Timestamps** are the caller's integers in the configured
//! [`TimestampUnit`](crate::TimestampUnit) (seconds unless set with
//! [`PinnerSageBuilder::timestamps`]); the window and λ are real durations
//! converted to that unit once, when the configuration is built.
//!
//! **A history with nothing in the window is an error**, not an empty
//! profile: if every action of a non-empty history is older than the window,
//! [`PinnerSage::profile`] and [`UserProfile::update`] return
//! [`Error::NoActionsInWindow`](crate::Error::NoActionsInWindow) (timestamps in
//! milliseconds read as seconds look a thousand times older, and would
//! otherwise give a quietly empty profile). An empty history, or one whose
//! actions are all on unknown items, gives an empty profile.

mod build;
mod cluster;
mod config;
#[cfg(feature = "serde")]
pub(crate) mod exact_float;
mod prepare;
#[cfg(feature = "serde")]
mod stored;

mod update;

use core::fmt;

pub use cluster::{InterestCluster, Member};
pub use config::{
    CutRule, PinnerSage, PinnerSageBuilder, UnknownItems, DEFAULT_ALPHA, DEFAULT_WINDOW,
};
pub use prepare::HistorySummary;

/// A user's interests as of a time: the output of
/// [`PinnerSage::profile`].
///
/// Clusters are sorted by importance, descending (ties: most recent action
/// first, then smallest medoid id). The profile remembers the configuration it
/// was computed with and the time `as_of` its importances refer to, so that
/// [`update`](Self::update) can fold in new actions later. With the `serde` feature it serializes whole: this is what a
/// key-value store holds between the daily batch and online updates (see
/// [`InterestCluster`] for what each cluster stores). Deserialization
/// validates what an update relies on (the format version
/// [`FORMAT`](Self::FORMAT), dimensions, finite values, sorted unique members whose
/// action counts sum to the cluster's, whose action timestamps are sorted,
/// in the window and as many as their action count, and whose weights are
/// the decayed sums of their timestamps, importances equal to the sum of
/// their members' weights, clusters in rank order, …) and fails with
/// [`Error::InvalidProfile`](crate::Error::InvalidProfile) naming the broken
/// [`ProfileFault`](crate::ProfileFault). A profile is never re-sorted or
/// repaired on load: one that breaks an invariant did not come from the
/// crate.
///
/// **Format.** Fields in this order: `config`, `format` (the number
/// [`FORMAT`](Self::FORMAT); a profile written by another version of the layout is
/// refused with [`ProfileFault::UnsupportedFormat`](crate::ProfileFault)),
/// `as_of`, `threshold`, `dim`, `clusters`, `history`.
///
/// **Serialized floats are exact in every format.** A stored profile must load
/// equal and update identically, with the ecosystem's default settings. So in
/// human-readable formats (JSON, YAML, TOML, …: where
/// `Serializer::is_human_readable()` is true) every float of the profile —
/// importances, threshold, centroids, medoid embeddings, α and λ of the
/// configuration — is written as a string holding Rust's shortest round-trip
/// decimal (`"0.30000000000000004"`, `"1e-300"`) and read back with Rust's
/// correctly rounded parser. Plain `serde_json` (without its
/// `float_roundtrip` feature) reads long decimal numbers up to one ulp off;
/// strings sidestep the parser. Plain numbers are accepted on input too.
/// Binary formats (postcard, bincode, …) store the raw floats, which are
/// exact already.
///
/// `Display` prints a header and one line per cluster (never the
/// embeddings); `Debug` prints every field but the embeddings.
///
/// ```
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0], [0.0, 1.0]])?;
/// let actions = [(0, 100).into(), (0, 100).into(), (1, 50).into(), (1, 100).into()];
/// let profile = PinnerSage::builder().alpha(1.0).build()?.profile(&actions, &source, 100)?;
/// assert_eq!(
///     profile.to_string(),
///     "2 interests as of 100 (last computation or update: 4 of 4 actions used)\n\
///      1. medoid 0, importance 2.000, 1 item, 2 actions, last action 100\n\
///      2. medoid 1, importance 2.000, 1 item, 2 actions, last action 100"
/// );
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(
        try_from = "stored::RawUserProfile<I, F>",
        bound(deserialize = "I: serde::Deserialize<'de> + Ord, \
                           F: serde::Deserialize<'de> + crate::Scalar")
    )
)]
pub struct UserProfile<I, F> {
    config: PinnerSage,
    as_of: i64,
    threshold: Option<f64>,
    dim: usize,
    clusters: Vec<InterestCluster<I, F>>,
    history: HistorySummary,
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

    /// `true` for a profile without clusters (an empty history, or only
    /// unknown items).
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

    /// What the last computation or update used and left out.
    pub fn history(&self) -> HistorySummary {
        self.history
    }
}

impl<I: fmt::Display, F> fmt::Display for UserProfile<I, F> {
    /// `K interests as of T (last computation or update: U of N actions
    /// used)`, the counts being those of [`history`](UserProfile::history), then one numbered line per
    /// cluster ([`InterestCluster`]'s `Display`, which a precision such as
    /// `{:.5}` is passed on to).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.clusters.len();
        write!(
            f,
            "{k} interest{} as of {} (last computation or update: {} of {} actions used)",
            if k == 1 { "" } else { "s" },
            self.as_of,
            self.history.used_actions,
            self.history.actions
        )?;
        let precision = f.precision().unwrap_or(3);
        for (rank, c) in self.clusters.iter().enumerate() {
            write!(f, "\n{}. {c:.precision$}", rank + 1)?;
        }
        Ok(())
    }
}

// Public types can be shared across threads: one config profiles many users.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PinnerSage>();
    assert_send_sync::<PinnerSageBuilder>();
    assert_send_sync::<CutRule>();
    assert_send_sync::<UnknownItems>();
    assert_send_sync::<HistorySummary>();
    assert_send_sync::<crate::TimestampUnit>();
    assert_send_sync::<crate::importance::Decay>();
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
