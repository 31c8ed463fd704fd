//! One interest of a user: [`InterestCluster`].

use core::fmt;

use ndarray::ArrayView1;

use crate::medoid::{nearest_to, WeightedCentroid};
use crate::scalar::Scalar;

use super::prepare::Prepared;

/// An item of a cluster, how many of the user's actions were on it, when the
/// last one was, their decayed weight and their timestamps: what an [online
/// update](crate::UserProfile::update) needs to expire each action when it
/// leaves the window and to recompute the cluster's importance.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "I: serde::Serialize",
        deserialize = "I: serde::Deserialize<'de>"
    ))
)]
pub struct Member<I> {
    /// The item.
    pub item: I,
    /// Number of actions on it.
    pub actions: u64,
    /// Timestamp of the latest action on it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub last_action: i64,
    /// `Σ exp(−λ·(as_of − T_i))` over its actions, `as_of` being the
    /// profile's [`as_of`](crate::UserProfile::as_of); the cluster's
    /// importance is the sum of its members' weights (in item order).
    #[cfg_attr(feature = "serde", serde(default, with = "super::exact_float::scalar"))]
    pub weight: f64,
    /// The timestamps of its actions in the window, oldest first (`actions`
    /// of them, the last one `last_action`): what an update needs to expire
    /// each action, not only the member, when it leaves the window. Stored
    /// delta-encoded in binary formats (see
    /// [`UserProfile::FORMAT`](crate::UserProfile::FORMAT)).
    #[cfg_attr(feature = "serde", serde(default, with = "super::stored::timestamps"))]
    pub timestamps: Vec<i64>,
}

/// One interest of a [`UserProfile`](crate::UserProfile): a cluster of the
/// items a user engaged with, represented by its medoid (a real item) and
/// weighted by its time-decayed importance.
///
/// What is stored (and serialized): the medoid id and embedding, the weighted
/// centroid and total action count (what the [online
/// update](crate::UserProfile::update) needs to place new actions), the
/// importance as of the profile's time, the last action time, and the
/// [`Member`]s: per distinct item its id, action count, last action time,
/// decayed weight and action timestamps (what the update needs to expire
/// actions that left the window and recompute the importance). Member
/// embeddings are not stored (the update looks up those of the clusters it
/// re-clusters): `O(d)` numbers per cluster, four small fields per distinct
/// item and one timestamp per action (a varint of the gap to the previous
/// one in binary formats). Floats are
/// stored exactly in any serde format (decimal strings in human-readable
/// ones, see [`UserProfile`](crate::UserProfile)).
///
/// A deserialized cluster is validated (feature `serde`): the invariants a
/// computed cluster keeps (see [`ProfileFault`](crate::ProfileFault);
/// `cluster` is 0 in the fault of a standalone cluster) are checked and a
/// broken one is [`Error::InvalidCluster`](crate::Error::InvalidCluster).
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
    serde(
        bound(
            serialize = "I: serde::Serialize, F: serde::Serialize + Scalar",
            deserialize = "I: serde::Deserialize<'de> + Ord, F: serde::Deserialize<'de> + Scalar"
        ),
        try_from = "super::stored::RawInterestCluster<I, F>"
    )
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
    /// [`UserProfile::update`](crate::UserProfile::update) keeps it for a
    /// cluster it does not re-cluster, and recomputes it by the same rule
    /// over every member (looked up in the source) for one it does.
    pub fn medoid(&self) -> &I {
        &self.medoid
    }

    /// The member items with their action counts, last action times and
    /// decayed weights, sorted by item id.
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
                last_action: prepared.items[r].last,
                weight: prepared.items[r].decayed,
                timestamps: prepared.items[r].times.clone(),
            })
            .collect(),
    }
}

impl<I: Clone, F: Clone> InterestCluster<I, F> {
    /// This cluster (same medoid, medoid embedding and centroid) holding
    /// `members` (the same items, with counts, timestamps and weights brought
    /// forward by an update): importance, action count and last action are
    /// taken from the members, as [`from_members`] takes them
    /// (`member_totals`).
    ///
    /// # Errors
    /// [`Error::ActionCountOverflow`](crate::Error::ActionCountOverflow) if
    /// the action counts overflow `u64`.
    pub(crate) fn with_members(&self, members: Vec<Member<I>>) -> crate::Result<Self> {
        let (importance, action_count, last_action) = member_totals(&members)?;
        Ok(InterestCluster {
            importance,
            action_count,
            last_action,
            members,
            medoid: self.medoid.clone(),
            medoid_embedding: self.medoid_embedding.clone(),
            centroid: self.centroid.clone(),
        })
    }
}

/// Builds the cluster of `members` (sorted by item, non-empty, weights as of
/// the profile's time) whose embeddings are the rows of `x`, with the same
/// arithmetic as [`assemble`] (so the same members give the same cluster):
/// centroid weighted by action counts, medoid by [`nearest_to`], importance
/// the sum of the members' weights in item order.
///
/// # Errors
/// [`Error::ActionCountOverflow`](crate::Error::ActionCountOverflow) if the
/// action counts overflow `u64`.
pub(crate) fn from_members<I: Clone + Ord, F: Scalar>(
    members: Vec<Member<I>>,
    x: ndarray::ArrayView2<'_, F>,
) -> crate::Result<InterestCluster<I, F>> {
    let mut acc = WeightedCentroid::new(x.ncols());
    for (m, row) in members.iter().zip(x.rows()) {
        acc.add(m.actions as f64, row);
    }
    let (centroid, _) = acc.finish();
    let candidates = members.iter().zip(x.rows()).map(|(m, row)| (&m.item, row));
    let best = nearest_to(&centroid, candidates).unwrap_or(0);
    let (importance, action_count, last_action) = member_totals(&members)?;
    Ok(InterestCluster {
        medoid: members[best].item.clone(),
        medoid_embedding: x.row(best).to_vec(),
        centroid: centroid.iter().map(|&c| F::from_f64_rounded(c)).collect(),
        importance,
        action_count,
        last_action,
        members,
    })
}

/// A cluster's importance (the members' weights summed in item order), action
/// count and last action, from its members.
///
/// # Errors
/// [`Error::ActionCountOverflow`](crate::Error::ActionCountOverflow) if the
/// action counts overflow `u64`.
fn member_totals<I>(members: &[Member<I>]) -> crate::Result<(f64, u64, i64)> {
    let action_count = members
        .iter()
        .try_fold(0u64, |sum, m| sum.checked_add(m.actions))
        .ok_or(crate::Error::ActionCountOverflow)?;
    let last_action = members
        .iter()
        .map(|m| m.last_action)
        .max()
        .unwrap_or(i64::MIN);
    Ok((
        members.iter().map(|m| m.weight).sum(),
        action_count,
        last_action,
    ))
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
