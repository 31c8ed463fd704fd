//! The online update: [`UserProfile::update`].

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::medoid::squared_distance;
use crate::scalar::Scalar;

use super::build::cluster_rows;
use super::cluster::{assemble, rank, InterestCluster, Member};
use super::config::CutRule;
use super::prepare::{prepare, Skipped};
use super::UserProfile;

impl<I: Clone + Ord, F: Scalar> UserProfile<I, F> {
    /// Folds the latest actions into the profile without the full history
    /// (the paper's lightweight online inference, run on the up to 20 actions
    /// since the daily batch), and moves the profile to `now`.
    ///
    /// 1. Every stored importance decays to `now`:
    ///    `importance · exp(−λ·(now − as_of))` (exact up to rounding, since
    ///    exponential decay is multiplicative).
    /// 2. The new actions are selected and grouped as in
    ///    [`PinnerSage::profile`](crate::PinnerSage::profile) (window and cap
    ///    apply to this batch; the stored clusters are not re-windowed).
    /// 3. Each new distinct item joins, against the stored state (so the order
    ///    of new actions does not matter): the cluster it is already a member
    ///    of; otherwise the cluster with the smallest Ward merge distance
    ///    `2·w·W/(w+W)·‖x − μ‖²` (`w` its new action count, `W`, `μ` the
    ///    cluster's action count and centroid) if that distance is `<=`
    ///    [`threshold`](Self::threshold).
    /// 4. The remaining new items are Ward-clustered among themselves and cut
    ///    at the same threshold into new clusters.
    /// 5. A joined cluster's centroid, action count, members, last action and
    ///    importance (plus the new actions' `exp(−λ(now − T))`) are updated
    ///    exactly. Clusters are re-ranked and cut to `max_clusters`.
    ///
    /// **What this approximates.** A full recompute on the union of all actions
    /// would re-run Ward: it could split or merge stored clusters, let the
    /// window expire old actions, and choose each medoid among all members. The
    /// update keeps stored clusters intact and only chooses a joined cluster's
    /// medoid among the old medoid and the joining items (the one nearest the
    /// new centroid; ties keep the old medoid, then the smallest id), because
    /// member embeddings are not stored. Importances, action counts, centroids
    /// and, for well-separated interests, memberships agree with the full
    /// recompute. Actions passed to an update are assumed new: passing one
    /// twice counts it twice.
    ///
    /// On error the profile is unchanged.
    ///
    /// # Returns
    /// What was left out of this batch.
    ///
    /// # Errors
    /// * [`Error::NowBeforeProfile`] if `now` is earlier than
    ///   [`as_of`](Self::as_of);
    /// * [`Error::DimensionMismatch`] if the source's dimension differs from the
    ///   profile's (and the profile has clusters);
    /// * the errors of [`PinnerSage::profile`](crate::PinnerSage::profile) for
    ///   the new actions.
    ///
    /// # Complexity
    /// O(n log n + n'·k·d + n'²·d) for `n` new actions on `n'` distinct items
    /// and `k` stored clusters; no history is read.
    ///
    /// # Example
    /// ```
    /// use ndarray::array;
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::from_matrix(array![
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
    /// assert!((first.importance_f64() - expected).abs() < 1e-15);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn update<S>(&mut self, new_actions: &[Action<I>], source: &S, now: i64) -> Result<Skipped>
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
        let decay = self.config.decay();
        let threshold = self.threshold;

        // 3. assignment against the stored state
        let mut joined: Vec<Vec<usize>> = vec![Vec::new(); self.clusters.len()];
        let mut alone: Vec<usize> = Vec::new();
        for (r, g) in prepared.items.iter().enumerate() {
            if let Some(c) = self.clusters.iter().position(|c| c.contains(&g.item)) {
                joined[c].push(r);
                continue;
            }
            let x = prepared.x.row(r);
            let w = weights[r];
            let mut best: Option<(usize, f64)> = None;
            for (c, cluster) in self.clusters.iter().enumerate() {
                let centroid: Vec<f64> = cluster
                    .centroid
                    .iter()
                    .map(|v| v.to_f64_lossless())
                    .collect();
                let big_w = cluster.action_count as f64;
                let dist = 2.0 * w * big_w / (w + big_w) * squared_distance(x, &centroid);
                if best.is_none_or(|(_, b)| dist < b) {
                    best = Some((c, dist));
                }
            }
            match best {
                Some((c, dist)) if dist <= threshold => joined[c].push(r),
                _ => alone.push(r),
            }
        }

        // 4. new clusters among the remaining items
        let mut fresh: Vec<InterestCluster<I, F>> = Vec::new();
        if !alone.is_empty() {
            let sub = prepared.subset(&alone);
            let sub_weights = sub.weights();
            let (groups, _) = cluster_rows(&sub, CutRule::Threshold(threshold))?;
            fresh = groups
                .iter()
                .map(|rows| assemble(&sub, &sub_weights, rows))
                .collect();
        }

        // 1 and 5: roll forward, fold the joined items in
        let mut clusters = self.clusters.clone();
        for (cluster, rows) in clusters.iter_mut().zip(&joined) {
            cluster.importance = decay.roll_forward(cluster.importance, self.as_of, now);
            if rows.is_empty() {
                continue;
            }
            let old_w = cluster.action_count as f64;
            let added: f64 = rows.iter().map(|&r| weights[r]).sum();
            let total = old_w + added;
            let mut centroid: Vec<f64> = cluster
                .centroid
                .iter()
                .map(|v| v.to_f64_lossless() * old_w)
                .collect();
            for &r in rows {
                for (c, v) in centroid.iter_mut().zip(prepared.x.row(r)) {
                    *c += weights[r] * v.to_f64_lossless();
                }
            }
            centroid.iter_mut().for_each(|c| *c /= total);
            // medoid among the old medoid and the joining items
            let medoid_embedding = ndarray::ArrayView1::from(&cluster.medoid_embedding[..]);
            let mut best_score = squared_distance(medoid_embedding, &centroid);
            let mut best_row: Option<usize> = None;
            for &r in rows {
                let s = squared_distance(prepared.x.row(r), &centroid);
                let better = match best_row {
                    // the old medoid wins ties
                    None => s < best_score,
                    // among joining items: most recent action, then smallest id
                    Some(b) => {
                        s < best_score
                            || (s == best_score && prepared.items[r].last > prepared.items[b].last)
                    }
                };
                if better {
                    best_score = s;
                    best_row = Some(r);
                }
            }
            if let Some(r) = best_row {
                cluster.medoid = prepared.items[r].item.clone();
                cluster.medoid_embedding = prepared.x.row(r).to_vec();
            }
            cluster.centroid = centroid.iter().map(|&c| F::from_f64_rounded(c)).collect();
            cluster.action_count += rows.iter().map(|&r| prepared.items[r].count).sum::<u64>();
            cluster.importance += rows.iter().map(|&r| prepared.items[r].decayed).sum::<f64>();
            for &r in rows {
                let g = &prepared.items[r];
                cluster.last_action = cluster.last_action.max(g.last);
                match cluster.members.binary_search_by(|m| m.item.cmp(&g.item)) {
                    Ok(i) => cluster.members[i].actions += g.count,
                    Err(i) => cluster.members.insert(
                        i,
                        Member {
                            item: g.item.clone(),
                            actions: g.count,
                        },
                    ),
                }
            }
        }
        clusters.extend(fresh);
        rank(&mut clusters, self.config.max_clusters());
        self.clusters = clusters;
        self.as_of = now;
        self.dim = source.dim();
        self.skipped = prepared.skipped;
        Ok(prepared.skipped)
    }
}
