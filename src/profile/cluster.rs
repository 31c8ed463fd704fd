//! One interest of a user: [`InterestCluster`].

use ndarray::ArrayView1;

use crate::medoid::centroid_scores;
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
/// numbers per cluster plus one id and count per distinct item.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InterestCluster<I, F> {
    pub(crate) medoid: I,
    pub(crate) medoid_embedding: Vec<F>,
    pub(crate) centroid: Vec<F>,
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
    /// cluster's members (see [`medoid`](crate::medoid)). After
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

    /// The importance as computed and stored, in `f64`.
    pub fn importance_f64(&self) -> f64 {
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

    /// `Σ exp(−λ·(now − T_i))` over the cluster's actions, `now` being the
    /// profile's [`as_of`](crate::UserProfile::as_of), rounded to `F` (see
    /// [`importance_f64`](Self::importance_f64) for the stored value).
    pub fn importance(&self) -> F {
        F::from_f64_rounded(self.importance)
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

/// Builds the cluster made of rows `rows` (ascending) of `prepared`.
///
/// Medoid ties (equal distance to the centroid) go to the member with the
/// most recent action, then to the smallest item id.
pub(crate) fn assemble<I: Clone, F: Scalar>(
    prepared: &Prepared<I, F>,
    weights: &[f64],
    rows: &[usize],
) -> InterestCluster<I, F> {
    let cs = centroid_scores(prepared.x.view(), weights, rows);
    let mut best = 0;
    for k in 1..rows.len() {
        let (s, b) = (cs.scores[k], cs.scores[best]);
        // rows ascend by item id, so on a full tie the earlier (smaller id) stays
        if s < b || (s == b && prepared.items[rows[k]].last > prepared.items[rows[best]].last) {
            best = k;
        }
    }
    let m = rows[best];
    InterestCluster {
        medoid: prepared.items[m].item.clone(),
        medoid_embedding: prepared.x.row(m).to_vec(),
        centroid: cs
            .centroid
            .iter()
            .map(|&c| F::from_f64_rounded(c))
            .collect(),
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
