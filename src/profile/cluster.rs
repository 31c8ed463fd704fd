//! One interest of a user: [`InterestCluster`].

use core::fmt;

use ndarray::ArrayView1;

use crate::medoid::{nearest_to, WeightedCentroid};
use crate::scalar::Scalar;

use super::prepare::Prepared;

/// An item of a cluster and how many of the user's actions were on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Member<I> {
    /// The item.
    pub item: I,
    /// Number of actions on it.
    pub actions: u64,
}

/// One interest of a [`UserProfile`](crate::UserProfile): a cluster of the
/// items a user engaged with, represented by its medoid (a real item) and
/// weighted by its time-decayed importance.
///
/// What is stored (and serialized): the medoid id and embedding, the weighted
/// centroid and total action count (what the [online
/// update](crate::UserProfile::update) needs to place new actions), the
/// importance as of the profile's time, the last action time, and the member
/// ids with their action counts. Member embeddings are not stored: `O(d)`
/// numbers per cluster plus one id and count per distinct item. Floats are
/// stored exactly in any serde format (decimal strings in human-readable
/// ones, see [`UserProfile`](crate::UserProfile)).
///
/// `Display` prints one line (medoid, importance, sizes); `Debug` prints every
/// field but the embeddings, which it summarises by their length.
///
/// ```
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0], [0.99, 0.14]])?;
/// let actions = [Action::new(0, 100), Action::new(1, 100), Action::new(1, 100)];
/// let profile = PinnerSage::default().profile(&actions, &source, 100)?;
/// assert_eq!(
///     profile.clusters()[0].to_string(),
///     "medoid 1, importance 3.000, 2 items, 3 actions, last action 100"
/// );
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(bound(
        serialize = "I: serde::Serialize, F: serde::Serialize + Scalar",
        deserialize = "I: serde::Deserialize<'de>, F: serde::Deserialize<'de> + Scalar"
    ))
)]
pub struct InterestCluster<I, F> {
    pub(crate) medoid: I,
    #[cfg_attr(feature = "serde", serde(with = "super::exact_float::vec"))]
    pub(crate) medoid_embedding: Vec<F>,
    #[cfg_attr(feature = "serde", serde(with = "super::exact_float::vec"))]
    pub(crate) centroid: Vec<F>,
    #[cfg_attr(feature = "serde", serde(with = "super::exact_float::scalar"))]
    pub(crate) importance: f64,
    pub(crate) action_count: u64,
    pub(crate) last_action: i64,
    /// Sorted by item id.
    pub(crate) members: Vec<Member<I>>,
}

impl<I, F> InterestCluster<I, F> {
    /// The medoid: a member item representing the cluster. Exact after
    /// [`PinnerSage::profile`](crate::PinnerSage::profile): the member
    /// minimising the action-weighted sum of squared distances to the
    /// cluster's members (see [`medoid`](crate::medoid); ties: smallest id).
    /// After
    /// [`UserProfile::update`](crate::UserProfile::update) changed the cluster,
    /// it is chosen among the stored medoids and the joining items only (the
    /// one nearest the new centroid), since member embeddings are not stored.
    pub fn medoid(&self) -> &I {
        &self.medoid
    }

    /// The member items with their action counts, sorted by item id.
    pub fn members(&self) -> &[Member<I>] {
        &self.members
    }

    /// Number of distinct member items.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// Number of actions in the cluster (repeats counted): its Ward weight.
    pub fn action_count(&self) -> u64 {
        self.action_count
    }

    /// Timestamp of the cluster's most recent action.
    pub fn last_action(&self) -> i64 {
        self.last_action
    }

    /// `Σ exp(−λ·(now − T_i))` over the cluster's actions, `now` being the
    /// profile's [`as_of`](crate::UserProfile::as_of): the stored `f64`
    /// whatever the element type (an `f32` sum of decays would underflow
    /// early and lose the exact roll-forward of updates).
    pub fn importance(&self) -> f64 {
        self.importance
    }
}

impl<I, F: Scalar> InterestCluster<I, F> {
    /// The medoid's embedding: the query to retrieve candidates with.
    pub fn medoid_embedding(&self) -> ArrayView1<'_, F> {
        ArrayView1::from(&self.medoid_embedding[..])
    }

    /// The action-weighted centroid of the members' embeddings.
    pub fn centroid(&self) -> ArrayView1<'_, F> {
        ArrayView1::from(&self.centroid[..])
    }
}

impl<I: fmt::Display, F> fmt::Display for InterestCluster<I, F> {
    /// `medoid 42, importance 2.370, 5 items, 8 actions, last action T`;
    /// a precision (`{:.5}`) applies to the importance.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(3);
        write!(
            f,
            "medoid {}, importance {:.*}, {} item{}, {} action{}, last action {}",
            self.medoid,
            precision,
            self.importance,
            self.members.len(),
            if self.members.len() == 1 { "" } else { "s" },
            self.action_count,
            if self.action_count == 1 { "" } else { "s" },
            self.last_action
        )
    }
}

impl<I: fmt::Debug, F> fmt::Debug for InterestCluster<I, F> {
    /// Every field but the embeddings, which are summarised by their length;
    /// members as a map from item to action count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Members<'a, I>(&'a [Member<I>]);
        impl<I: fmt::Debug> fmt::Debug for Members<'_, I> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|m| (&m.item, m.actions)))
                    .finish()
            }
        }
        struct Len(usize);
        impl fmt::Debug for Len {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "[{} values]", self.0)
            }
        }
        f.debug_struct("InterestCluster")
            .field("medoid", &self.medoid)
            .field("importance", &self.importance)
            .field("action_count", &self.action_count)
            .field("last_action", &self.last_action)
            .field("members", &Members(&self.members))
            .field("medoid_embedding", &Len(self.medoid_embedding.len()))
            .field("centroid", &Len(self.centroid.len()))
            .finish()
    }
}

impl<I: Ord, F> InterestCluster<I, F> {
    /// `true` if `item` is a member.
    ///
    /// # Complexity
    /// O(log size).
    pub fn contains(&self, item: &I) -> bool {
        self.members.binary_search_by(|m| m.item.cmp(item)).is_ok()
    }
}

/// Builds the cluster made of rows `rows` (ascending, non-empty) of
/// `prepared`; the medoid by [`nearest_to`] (the crate's one medoid rule).
pub(crate) fn assemble<I: Clone + Ord, F: Scalar>(
    prepared: &Prepared<I, F>,
    weights: &[f64],
    rows: &[usize],
) -> InterestCluster<I, F> {
    let mut acc = WeightedCentroid::new(prepared.x.ncols());
    for &r in rows {
        acc.add(weights[r], prepared.x.row(r));
    }
    let (centroid, _) = acc.finish();
    let candidates = rows
        .iter()
        .map(|&r| (&prepared.items[r].item, prepared.x.row(r)));
    let m = rows[nearest_to(&centroid, candidates).unwrap_or(0)];
    InterestCluster {
        medoid: prepared.items[m].item.clone(),
        medoid_embedding: prepared.x.row(m).to_vec(),
        centroid: centroid.iter().map(|&c| F::from_f64_rounded(c)).collect(),
        importance: rows.iter().map(|&r| prepared.items[r].decayed).sum(),
        action_count: rows.iter().map(|&r| prepared.items[r].count).sum(),
        last_action: rows
            .iter()
            .map(|&r| prepared.items[r].last)
            .max()
            .unwrap_or(i64::MIN),
        members: rows
            .iter()
            .map(|&r| Member {
                item: prepared.items[r].item.clone(),
                actions: prepared.items[r].count,
            })
            .collect(),
    }
}

/// Sorts clusters by importance (descending); ties by most recent action,
/// then by smallest medoid id. Keeps at most `max` of them and returns how
/// many clusters and actions it dropped.
pub(crate) fn rank<I: Ord, F>(
    clusters: &mut Vec<InterestCluster<I, F>>,
    max: Option<usize>,
) -> (usize, u64) {
    clusters.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then(b.last_action.cmp(&a.last_action))
            .then_with(|| a.medoid.cmp(&b.medoid))
    });
    let max = max.unwrap_or(usize::MAX);
    if clusters.len() <= max {
        return (0, 0);
    }
    let dropped = clusters.split_off(max);
    let actions = dropped
        .iter()
        .fold(0u64, |sum, c| sum.saturating_add(c.action_count));
    (dropped.len(), actions)
}
