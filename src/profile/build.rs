//! The batch computation: [`PinnerSage::profile`].

use core::fmt::Debug;

use crate::embedding::EmbeddingSource;
use crate::error::Result;
use crate::history::Action;
use crate::scalar::Scalar;
use crate::ward;

use super::cluster::{assemble, rank, InterestCluster};
use super::config::{CutRule, PinnerSage};
use super::prepare::{prepare, HistorySummary, Prepared};
use super::UserProfile;

impl PinnerSage {
    /// A user's interest profile as of `now`.
    ///
    /// 1. Actions later than `now` are an error. Actions older than
    ///    `now − window` are left out (timestamps, `now` and the window in the
    ///    configured [`TimestampUnit`](crate::TimestampUnit)), and if that
    ///    leaves nothing of a non-empty history the result is
    ///    [`Error::NoActionsInWindow`](crate::Error::NoActionsInWindow), never
    ///    a quietly empty profile. Actions on unknown items are skipped and
    ///    counted, or an error (see [`UnknownItems`](super::UnknownItems));
    ///    of the remaining known actions all but the
    ///    [`max_history`](Self::max_history) most recent are left out (ties:
    ///    smaller item id first). Each distinct item becomes one row weighted
    ///    by its number of actions.
    /// 2. Ward linkage of the weighted rows
    ///    ([`ward::linkage_weighted`]), cut at α (merge distances compared to α
    ///    in `f64`) or into `min(k, items)` clusters ([`CutRule`]).
    /// 3. Per cluster, the action-weighted medoid (member nearest the weighted
    ///    centroid; ties: smallest id, the rule of [`medoid`](crate::medoid)).
    /// 4. Per cluster, the importance `Σ exp(−λ(now − T_i))` over every action,
    ///    in `f64` (weights from
    ///    [`Decay::weight_at`](crate::importance::Decay::weight_at)).
    /// 5. Clusters sorted by importance, descending (ties: most recent action,
    ///    then smallest medoid id), and cut to
    ///    [`max_clusters`](Self::max_clusters) (what is dropped is counted in
    ///    [`HistorySummary`]).
    ///
    /// The result depends only on the multiset of actions, not on their order:
    /// rows are laid out by item id and sums run in a canonical order. An empty
    /// history, or one with only unknown items, gives an empty profile; a
    /// non-empty one with nothing in the window is an error (above).
    ///
    /// # Arguments
    /// * `actions` — the user's actions, in any order, timestamps in the
    ///   configured [`TimestampUnit`](crate::TimestampUnit);
    /// * `source` — item embeddings (finite, of length `source.dim()`);
    /// * `now` — the time the importances refer to, in the same unit (no
    ///   clock is read).
    ///
    /// # Errors
    /// * [`Error::ActionInFuture`](crate::Error::ActionInFuture) naming the first
    ///   action later than `now`;
    /// * [`Error::NoActionsInWindow`](crate::Error::NoActionsInWindow) if
    ///   `actions` is not empty but every action is older than the window
    ///   (check the [`TimestampUnit`](crate::TimestampUnit); for a user
    ///   inactive that long, treat it as an empty profile if that suits you);
    /// * [`Error::UnknownItem`](crate::Error::UnknownItem) with
    ///   [`UnknownItems::Error`](super::UnknownItems::Error), naming the item
    ///   and the first action in the window on an unknown item (before the
    ///   history cap);
    /// * [`Error::InvalidEmbedding`](crate::Error::InvalidEmbedding) naming the
    ///   item if the source returns an embedding with NaN/∞;
    /// * [`Error::LengthMismatch`](crate::Error::LengthMismatch) if the source's
    ///   batch lookup returns the wrong number of rows, and
    ///   [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if its
    ///   rows are not `source.dim()` long;
    /// * [`Error::EmbeddingBatchTooLarge`](crate::Error::EmbeddingBatchTooLarge)
    ///   if the source's default batch lookup cannot allocate `ids × dim`, and
    ///   [`Error::Source`](crate::Error::Source) for a source's own failure;
    /// * [`Error::ZeroDimension`](crate::Error::ZeroDimension) from
    ///   [`ward::linkage_weighted`] if `source.dim()` is 0 and a known action
    ///   remains (the other errors of the Ward step cannot occur: embeddings
    ///   are checked finite above and weights are action counts `>= 1`).
    ///
    /// # Complexity
    /// O(n log n) for `n` actions, plus Ward on the `m` distinct known items:
    /// O(m²·d) time and O(m²) memory (cap it with
    /// [`max_history`](Self::max_history)); medoids and importances O(m·d + n).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// // items 0–1 point one way, items 2–3 another (unit vectors)
    /// let source = InMemoryEmbeddings::with_row_ids(array![
    ///     [1.0_f32, 0.0], [0.995, 0.0998], [0.0, 1.0], [0.0998, 0.995],
    /// ])?;
    /// let day = 86_400;
    /// let now = 100 * day;
    /// let actions = vec![
    ///     Action::new(0, now - 50 * day), Action::new(1, now - 40 * day),
    ///     Action::new(2, now - day), Action::new(3, now), Action::new(3, now),
    /// ];
    /// let config = PinnerSage::builder().alpha(1.0).build()?;
    /// let profile = config.profile(&actions, &source, now)?;
    /// assert_eq!(profile.len(), 2);
    /// let top = &profile.clusters()[0]; // the recent interest
    /// assert_eq!(*top.medoid(), 3);     // item 3 counts twice
    /// assert_eq!(top.size(), 2);
    /// assert_eq!(top.action_count(), 3);
    /// assert!((top.importance() - (2.0 + (-0.01_f64).exp())).abs() < 1e-12);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn profile<S>(
        &self,
        actions: &[Action<S::Id>],
        source: &S,
        now: i64,
    ) -> Result<UserProfile<S::Id, S::Elem>>
    where
        S: EmbeddingSource + ?Sized,
        S::Id: Clone + Ord + Debug,
    {
        let prepared = prepare(self, actions, source, now)?;
        let (groups, largest) = cluster_rows(&prepared, self.cut())?;
        let weights = prepared.weights();
        let mut clusters: Vec<InterestCluster<S::Id, S::Elem>> = groups
            .iter()
            .map(|rows| assemble(&prepared, &weights, rows))
            .collect();
        let (dropped_clusters, dropped_actions) = rank(&mut clusters, self.max_clusters());
        Ok(UserProfile {
            config: *self,
            as_of: now,
            threshold: self.threshold_after(largest),
            dim: source.dim(),
            clusters,
            history: HistorySummary {
                dropped_clusters,
                dropped_actions,
                ..prepared.history
            },
        })
    }

    /// The threshold a profile records: α, or for [`CutRule::Clusters`] the
    /// largest merge distance applied.
    pub(crate) fn threshold_after(&self, largest: Option<f64>) -> Option<f64> {
        match self.cut() {
            CutRule::Threshold(alpha) => Some(alpha),
            CutRule::Clusters(_) => largest,
        }
    }

    /// Profiles of many users in parallel (rayon), one result per user in
    /// input order; each is [`profile`](Self::profile) of that user's actions.
    ///
    /// # Complexity
    /// The sum of the users' costs, spread over rayon's threads.
    #[cfg(feature = "parallel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "parallel")))]
    pub fn profiles<S, A>(
        &self,
        users: &[A],
        source: &S,
        now: i64,
    ) -> Vec<Result<UserProfile<S::Id, S::Elem>>>
    where
        S: EmbeddingSource + Sync + ?Sized,
        S::Id: Clone + Ord + Debug + Send + Sync,
        A: AsRef<[Action<S::Id>]> + Sync,
    {
        use rayon::prelude::*;
        crate::thread_pool::make_usable_here();
        users
            .par_iter()
            .map(|actions| self.profile(actions.as_ref(), source, now))
            .collect()
    }
}

/// Ward-clusters the prepared rows and cuts the tree: the member rows of each
/// cluster (ascending) and the largest merge distance applied (paper
/// convention; `None` if no merge was applied).
pub(crate) fn cluster_rows<I, F: Scalar>(
    prepared: &Prepared<I, F>,
    cut: CutRule,
) -> Result<(Vec<Vec<usize>>, Option<f64>)> {
    if prepared.items.is_empty() {
        return Ok((Vec::new(), None));
    }
    // the rows are finite and the weights action counts (checked or made
    // by `prepare`): only the shape is left to check
    let weights: Vec<F> = prepared
        .items
        .iter()
        .map(|g| F::from_f64_rounded(g.count as f64))
        .collect();
    let tree = ward::Ward::new().linkage_weighted_checked(prepared.x.view(), weights)?;
    let (labels, largest) = cut_tree(&tree, cut)?;
    let k = labels.iter().max().map_or(0, |&l| l + 1);
    let mut groups = vec![Vec::new(); k];
    for (row, &label) in labels.iter().enumerate() {
        groups[label].push(row);
    }
    Ok((groups, largest))
}

/// Flat labels of `tree` (at least one observation) cut by `cut`, and the
/// largest merge distance applied (`None` if none).
///
/// [`CutRule::Threshold`] applies the merges whose distance, converted
/// exactly to `f64`, is `<= α` (α is never rounded to `F`: with `f32` an α
/// above `f32::MAX` or between two `f32` values cuts where it says);
/// [`CutRule::Clusters`] applies all but the last `min(k, m) − 1` merges.
pub(crate) fn cut_tree<F: Scalar>(
    tree: &ward::Dendrogram<F>,
    cut: CutRule,
) -> Result<(Vec<usize>, Option<f64>)> {
    let m = tree.observations();
    let merges = tree.merges();
    let applied = match cut {
        CutRule::Threshold(alpha) => {
            merges.partition_point(|s| s.distance.to_f64_lossless() <= alpha)
        }
        CutRule::Clusters(k) => m - k.min(m).max(1),
    };
    let labels = tree.cut_k(m - applied)?;
    let largest = applied
        .checked_sub(1)
        .map(|i| merges[i].distance.to_f64_lossless());
    Ok((labels, largest))
}
