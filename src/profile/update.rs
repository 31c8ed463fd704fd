//! The online update: [`UserProfile::update`].

use core::fmt::Debug;

use ndarray::{Array1, Array2, ArrayView1};

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::medoid::{nearest_to, WeightedCentroid};
use crate::scalar::Scalar;
use crate::ward;

use super::build::cut_tree;
use super::cluster::{assemble, rank, InterestCluster, Member};
use super::prepare::{prepare, HistorySummary, Prepared};
use super::UserProfile;

impl<I: Clone + Ord + Debug, F: Scalar> UserProfile<I, F> {
    /// Folds the latest actions into the profile without the full history
    /// (the paper's lightweight online inference, run on the up to 20 actions
    /// since the daily batch), and moves the profile to `now`.
    ///
    /// 1. Every stored importance decays to `now`:
    ///    `importance · exp(−λ·(now − as_of))` (exact up to rounding, since
    ///    exponential decay is multiplicative;
    ///    [`Decay::roll_forward`](crate::importance::Decay::roll_forward)).
    /// 2. The new actions are selected and grouped as in
    ///    [`PinnerSage::profile`](crate::PinnerSage::profile) (window and cap
    ///    apply to this batch; the stored clusters are not re-windowed). A
    ///    non-empty batch with nothing in the window is
    ///    [`Error::NoActionsInWindow`], as for a batch profile.
    /// 3. A new action on an item that is already a member of a stored cluster
    ///    joins that cluster.
    /// 4. Unless no new action was used, the other new items and the stored
    ///    clusters are clustered together by Ward
    ///    ([`ward::linkage_weighted`]), each stored cluster entering as one
    ///    point at its centroid (repeats of step 3 folded in) weighted by its
    ///    action count, and the tree is cut by the configuration's
    ///    [`CutRule`](crate::CutRule): at α (compared in `f64`), or into
    ///    `min(k, points)` clusters, `points` being the stored clusters plus
    ///    the other new items (so with `k` stored clusters every new item
    ///    joins one, or brings two together). Ward distances depend only on
    ///    centroids and weights, so every merge distance involving a stored
    ///    cluster is the one the full data would give: a new item (or group
    ///    of new items, `w` actions at centroid `x`) joins a stored cluster
    ///    (`W` actions at `μ`) when their Ward distance `2·w·W/(w+W)·‖x − μ‖²`
    ///    comes within α before anything else does; new items that join no
    ///    stored cluster form new clusters among themselves. Two stored
    ///    clusters brought within α of each other by the new actions (new
    ///    items or repeats moving a centroid) merge, at the distance a full
    ///    recompute over the same clusters would merge them at.
    /// 5. Each resulting cluster gets its exact centroid, action count,
    ///    members, last action and importance (stored, rolled forward, plus
    ///    `exp(−λ(now − T))` of each new action). Clusters are re-ranked and cut
    ///    to `max_clusters`.
    ///
    /// **What this approximates.** A full recompute on the union of all actions
    /// re-runs Ward on every item: stored clusters could split, the window
    /// would expire old actions, and each medoid would be chosen among all
    /// members. The update never splits a stored cluster, so it merges what a
    /// full recompute would merge only as far as the recompute would not split
    /// a stored cluster either. It chooses a changed cluster's medoid among
    /// the stored medoids and the joining items only (the one nearest the new
    /// centroid; ties: smallest id, the one rule of
    /// [`medoid`](crate::medoid)), because member embeddings are not stored. Importances, action counts, centroids and, for
    /// well-separated interests, memberships agree with the full recompute
    /// (tested). Actions passed to an update are assumed new: passing one
    /// twice counts it twice.
    ///
    /// On error the profile is unchanged.
    ///
    /// # Returns
    /// What this batch used and left out (also stored as
    /// [`history`](Self::history)).
    ///
    /// # Errors
    /// * [`Error::NowBeforeProfile`] if `now` is earlier than
    ///   [`as_of`](Self::as_of);
    /// * [`Error::DimensionMismatch`] if the source's dimension differs from the
    ///   profile's (and the profile has clusters);
    /// * the errors of [`PinnerSage::profile`](crate::PinnerSage::profile) for
    ///   the new actions ([`Error::NoActionsInWindow`] if there are some but
    ///   none is in the window; [`Error::ZeroDimension`] from the Ward step for
    ///   a source of dimension 0);
    /// * [`Error::ActionCountOverflow`] if a cluster's action count would
    ///   overflow `u64`.
    ///
    /// A profile is valid by construction, and deserialization rejects a
    /// stored one that is not ([`Error::InvalidProfile`]), so no other error
    /// comes from the stored clusters.
    ///
    /// # Complexity
    /// O(n log n + (k + n')²·d) time and O((k + n')²) memory for `n` new
    /// actions on `n'` distinct items and `k` stored clusters, plus
    /// O(total members) to merge member lists; no history is read.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![
    ///     [1.0_f64, 0.0], [0.995, 0.0998], [0.0, 1.0],
    /// ])?;
    /// let day = 86_400;
    /// let config = PinnerSage::builder().alpha(1.0).build()?;
    /// let mut profile = config.profile(&[Action::new(0, 0)], &source, 10 * day)?;
    /// // one day later: item 1 joins item 0's interest, item 2 starts a new one
    /// let new = [Action::new(1, 11 * day), Action::new(2, 11 * day)];
    /// profile.update(&new, &source, 11 * day)?;
    /// assert_eq!(profile.len(), 2);
    /// let first = profile.clusters().iter().find(|c| c.contains(&0)).unwrap();
    /// assert_eq!(first.size(), 2);
    /// let expected = (-0.11_f64).exp() + 1.0;
    /// assert!((first.importance() - expected).abs() < 1e-15);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn update<S>(
        &mut self,
        new_actions: &[Action<I>],
        source: &S,
        now: i64,
    ) -> Result<HistorySummary>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        if now < self.as_of {
            return Err(Error::NowBeforeProfile {
                now,
                as_of: self.as_of,
            });
        }
        if !self.clusters.is_empty() && source.dim() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                got: source.dim(),
            });
        }
        let prepared = prepare(&self.config, new_actions, source, now)?;
        let weights = prepared.weights();
        let k = self.clusters.len();
        let d = source.dim();

        // 3. repeats of stored members go to their cluster
        let mut repeats: Vec<Vec<usize>> = vec![Vec::new(); k];
        let mut free: Vec<usize> = Vec::new();
        for (r, g) in prepared.items.iter().enumerate() {
            match self.clusters.iter().position(|c| c.contains(&g.item)) {
                Some(c) => repeats[c].push(r),
                None => free.push(r),
            }
        }
        // each stored cluster as one weighted point (with its repeats folded in)
        let nodes: Vec<(Vec<f64>, f64)> = self
            .clusters
            .iter()
            .zip(&repeats)
            .map(|(c, rows)| {
                let mut acc = WeightedCentroid::new(d);
                acc.add(c.action_count as f64, &c.centroid);
                for &r in rows {
                    acc.add(weights[r], prepared.x.row(r));
                }
                acc.finish()
            })
            .collect();

        // 4. Ward over stored clusters + free items, cut by the rule
        let mut threshold = self.threshold;
        let groups: Vec<Group> = if prepared.items.is_empty() {
            (0..k).map(Group::stored_only).collect()
        } else {
            let n = k + free.len();
            let mut x = Array2::<F>::zeros((n, d));
            let mut w = Array1::<F>::zeros(n);
            for (c, (centroid, weight)) in nodes.iter().enumerate() {
                for (dst, &v) in x.row_mut(c).iter_mut().zip(centroid) {
                    *dst = F::from_f64_rounded(v);
                }
                w[c] = F::from_f64_rounded(*weight);
            }
            for (j, &r) in free.iter().enumerate() {
                x.row_mut(k + j).assign(&prepared.x.row(r));
                w[k + j] = F::from_f64_rounded(weights[r]);
            }
            let tree = ward::linkage_weighted(x.view(), w.view())?;
            let (labels, largest) = cut_tree(&tree, self.config.cut())?;
            threshold = self.config.threshold_after(largest);
            let count = labels.iter().max().map_or(0, |&l| l + 1);
            let mut groups = vec![Group::default(); count];
            for (node, &label) in labels.iter().enumerate() {
                if node < k {
                    groups[label].stored.push(node);
                } else {
                    groups[label].new_items.push(free[node - k]);
                }
            }
            groups
        };

        // 5. assemble
        let decay = self.config.time_decay();
        let parts = Parts {
            prepared: &prepared,
            weights: &weights,
            nodes: &nodes,
            repeats: &repeats,
        };
        let mut clusters: Vec<InterestCluster<I, F>> = Vec::with_capacity(groups.len());
        for group in &groups {
            if group.stored.is_empty() {
                let sub = prepared.subset(&group.new_items);
                let sub_rows: Vec<usize> = (0..group.new_items.len()).collect();
                clusters.push(assemble(&sub, &sub.weights(), &sub_rows));
            } else {
                clusters.push(self.merge(group, &parts, |imp| {
                    decay.roll_forward(imp, self.as_of, now)
                })?);
            }
        }
        let (dropped_clusters, dropped_actions) = rank(&mut clusters, self.config.max_clusters());
        let history = HistorySummary {
            dropped_clusters,
            dropped_actions,
            ..prepared.history
        };
        self.clusters = clusters;
        self.as_of = now;
        self.threshold = threshold;
        self.dim = d;
        self.history = history;
        Ok(history)
    }

    /// The cluster made of the stored clusters and new items of `group`.
    fn merge(
        &self,
        group: &Group,
        parts: &Parts<'_, I, F>,
        roll: impl Fn(f64) -> Result<f64>,
    ) -> Result<InterestCluster<I, F>> {
        let Parts {
            prepared,
            weights,
            nodes,
            repeats,
        } = *parts;
        // centroid: weighted mean of the stored clusters' centroids (which
        // already include their repeats) and the new items
        let mut acc = WeightedCentroid::new(prepared.x.ncols());
        for &c in &group.stored {
            let (mu, w) = &nodes[c];
            acc.add(*w, mu);
        }
        for &r in &group.new_items {
            acc.add(weights[r], prepared.x.row(r));
        }
        let (centroid, _) = acc.finish();
        // every new row of the cluster: new items and repeats, ascending
        let mut rows: Vec<usize> = group.new_items.clone();
        for &c in &group.stored {
            rows.extend_from_slice(&repeats[c]);
        }
        rows.sort_unstable();

        // medoid among the stored medoids and the new rows: the one rule
        let stored = group.stored.iter().map(|&c| {
            let cl = &self.clusters[c];
            (&cl.medoid, ArrayView1::from(&cl.medoid_embedding[..]))
        });
        let new = rows
            .iter()
            .map(|&r| (&prepared.items[r].item, prepared.x.row(r)));
        let chosen = nearest_to(&centroid, stored.chain(new)).unwrap_or(0);
        let (best_item, best_embedding) = match group.stored.get(chosen) {
            Some(&c) => {
                let cl = &self.clusters[c];
                (cl.medoid.clone(), cl.medoid_embedding.clone())
            }
            None => {
                let r = rows[chosen - group.stored.len()];
                (prepared.items[r].item.clone(), prepared.x.row(r).to_vec())
            }
        };
        // members: union, counts added
        let mut members: Vec<Member<I>> = group
            .stored
            .iter()
            .flat_map(|&c| self.clusters[c].members.iter().cloned())
            .chain(rows.iter().map(|&r| Member {
                item: prepared.items[r].item.clone(),
                actions: prepared.items[r].count,
            }))
            .collect();
        members.sort_by(|a, b| a.item.cmp(&b.item));
        let mut merged: Vec<Member<I>> = Vec::with_capacity(members.len());
        for m in members {
            match merged.last_mut() {
                Some(last) if last.item == m.item => {
                    last.actions = last
                        .actions
                        .checked_add(m.actions)
                        .ok_or(Error::ActionCountOverflow)?;
                }
                _ => merged.push(m),
            }
        }
        let action_count = merged
            .iter()
            .try_fold(0u64, |sum, m| sum.checked_add(m.actions))
            .ok_or(Error::ActionCountOverflow)?;
        let mut importance = 0.0;
        for &c in &group.stored {
            importance += roll(self.clusters[c].importance)?;
        }
        importance += rows.iter().map(|&r| prepared.items[r].decayed).sum::<f64>();
        let last_action = group
            .stored
            .iter()
            .map(|&c| self.clusters[c].last_action)
            .chain(rows.iter().map(|&r| prepared.items[r].last))
            .max()
            .unwrap_or(i64::MIN);
        Ok(InterestCluster {
            medoid: best_item,
            medoid_embedding: best_embedding,
            centroid: centroid.iter().map(|&c| F::from_f64_rounded(c)).collect(),
            importance,
            action_count,
            last_action,
            members: merged,
        })
    }
}

/// One cluster of an update: the stored clusters (indices, ascending) and
/// the new items that are not repeats of stored members (rows of the
/// prepared batch, ascending) that Ward put together.
#[derive(Debug, Clone, Default)]
struct Group {
    stored: Vec<usize>,
    new_items: Vec<usize>,
}

impl Group {
    fn stored_only(c: usize) -> Self {
        Group {
            stored: vec![c],
            new_items: Vec::new(),
        }
    }
}

/// What every merged cluster of an update is assembled from.
struct Parts<'a, I, F> {
    /// The new actions, grouped by item.
    prepared: &'a Prepared<I, F>,
    /// Their Ward weights (action counts).
    weights: &'a [f64],
    /// Per stored cluster: its centroid and weight with its repeats folded in.
    nodes: &'a [(Vec<f64>, f64)],
    /// Per stored cluster: the rows of `prepared` that repeat its members.
    repeats: &'a [Vec<usize>],
}

impl<I, F> Clone for Parts<'_, I, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, F> Copy for Parts<'_, I, F> {}
