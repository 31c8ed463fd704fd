//! The online update: [`UserProfile::update`].

use ndarray::{Array1, Array2, ArrayView1};

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::medoid::squared_distance;
use crate::scalar::Scalar;
use crate::ward;

use super::cluster::{assemble, rank, InterestCluster, Member};
use super::prepare::{prepare, Prepared, Skipped};
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
    /// 3. A new action on an item that is already a member of a stored cluster
    ///    joins that cluster.
    /// 4. The other new items and the stored clusters are clustered together by
    ///    Ward ([`ward::linkage_weighted`]), each stored cluster entering as one
    ///    point at its centroid weighted by its action count, and the tree is
    ///    cut at the profile's [`threshold`](Self::threshold). Ward distances
    ///    depend only on centroids and weights, so every merge distance
    ///    involving a stored cluster is the one the full data would give: a new
    ///    item (or group of new items, `w` actions at centroid `x`) joins a
    ///    stored cluster (`W` actions at `μ`) when their Ward distance
    ///    `2·w·W/(w+W)·‖x − μ‖²` comes within α before anything else does;
    ///    new items that join no stored cluster form new clusters among
    ///    themselves. Two stored clusters brought within α of each other by
    ///    the new items merge, as a full recompute would merge them.
    /// 5. Each resulting cluster gets its exact centroid, action count,
    ///    members, last action and importance (stored, rolled forward, plus
    ///    `exp(−λ(now − T))` of each new action). Clusters are re-ranked and cut
    ///    to `max_clusters`.
    ///
    /// **What this approximates.** A full recompute on the union of all actions
    /// re-runs Ward on every item: stored clusters could split, the window
    /// would expire old actions, and each medoid would be chosen among all
    /// members. The update never splits a stored cluster and chooses a changed
    /// cluster's medoid among the stored medoids and the joining items only
    /// (the one nearest the new centroid; ties go to the stored medoid, then to
    /// the most recent, then smallest, joining item), because member embeddings
    /// are not stored. Importances, action counts, centroids and, for
    /// well-separated interests, memberships agree with the full recompute
    /// (tested). Actions passed to an update are assumed new: passing one twice
    /// counts it twice.
    ///
    /// On error the profile is unchanged.
    ///
    /// # Returns
    /// What was left out of this batch (also stored as
    /// [`skipped`](Self::skipped)).
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
    /// O(n log n + (k + n')²·d) time and O((k + n')²) memory for `n` new
    /// actions on `n'` distinct items and `k` stored clusters, plus
    /// O(total members) to merge member lists; no history is read.
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
        let k = self.clusters.len();
        let d = source.dim();

        // 3. repeats of stored members go to their cluster
        let mut joined: Vec<Vec<usize>> = vec![Vec::new(); k];
        let mut free: Vec<usize> = Vec::new();
        for (r, g) in prepared.items.iter().enumerate() {
            match self.clusters.iter().position(|c| c.contains(&g.item)) {
                Some(c) => joined[c].push(r),
                None => free.push(r),
            }
        }
        // each stored cluster as one weighted point (with its repeats folded in)
        let nodes: Vec<(Vec<f64>, f64)> = self
            .clusters
            .iter()
            .zip(&joined)
            .map(|(c, rows)| fold_centroid(c, rows, &prepared, &weights))
            .collect();

        // 4. Ward over stored clusters + free items, cut at the threshold
        // per group: the stored clusters and the free rows in it
        let (stored_in, rows_in): (Vec<Vec<usize>>, Vec<Vec<usize>>) = if free.is_empty() {
            ((0..k).map(|c| vec![c]).collect(), vec![Vec::new(); k])
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
            let labels = tree.cut(F::from_f64_rounded(self.threshold))?;
            let groups = labels.iter().max().map_or(0, |&l| l + 1);
            let mut stored_in = vec![Vec::new(); groups];
            let mut rows_in = vec![Vec::new(); groups];
            for (node, &label) in labels.iter().enumerate() {
                if node < k {
                    stored_in[label].push(node);
                } else {
                    rows_in[label].push(free[node - k]);
                }
            }
            (stored_in, rows_in)
        };

        // 5. assemble
        let decay = self.config.decay();
        let mut clusters: Vec<InterestCluster<I, F>> = Vec::with_capacity(stored_in.len());
        for (stored, rows) in stored_in.iter().zip(&rows_in) {
            if stored.is_empty() {
                let sub = prepared.subset(rows);
                let sub_rows: Vec<usize> = (0..rows.len()).collect();
                clusters.push(assemble(&sub, &sub.weights(), &sub_rows));
                continue;
            }
            let mut all_rows: Vec<usize> = rows.clone();
            for &c in stored {
                all_rows.extend_from_slice(&joined[c]);
            }
            all_rows.sort_unstable();
            clusters.push(self.merge(
                stored,
                rows,
                &all_rows,
                &nodes,
                &prepared,
                &weights,
                |imp| decay.roll_forward(imp, self.as_of, now),
            ));
        }
        rank(&mut clusters, self.config.max_clusters());
        self.clusters = clusters;
        self.as_of = now;
        self.dim = d;
        self.skipped = prepared.skipped;
        Ok(prepared.skipped)
    }

    /// The cluster made of stored clusters `stored` (ascending) and new rows
    /// `rows` (ascending) of `prepared`, of which `free_rows` are not repeats
    /// of stored members (repeats are already in `nodes`).
    #[allow(clippy::too_many_arguments)]
    fn merge(
        &self,
        stored: &[usize],
        free_rows: &[usize],
        rows: &[usize],
        nodes: &[(Vec<f64>, f64)],
        prepared: &Prepared<I, F>,
        weights: &[f64],
        roll: impl Fn(f64) -> f64,
    ) -> InterestCluster<I, F> {
        // centroid: weighted mean of the stored clusters' centroids (which
        // already include their repeat rows) and the free rows
        let d = self.dim.max(prepared.x.ncols());
        let mut centroid = vec![0.0f64; d];
        let mut total = 0.0f64;
        for &c in stored {
            let (mu, w) = &nodes[c];
            total += w;
            centroid.iter_mut().zip(mu).for_each(|(a, m)| *a += w * m);
        }
        for &r in free_rows {
            let w = weights[r];
            total += w;
            for (a, v) in centroid.iter_mut().zip(prepared.x.row(r)) {
                *a += w * v.to_f64_lossless();
            }
        }
        if total > 0.0 {
            centroid.iter_mut().for_each(|a| *a /= total);
        }
        // medoid among the stored medoids and the new rows
        let first = &self.clusters[stored[0]];
        let mut best_embedding = first.medoid_embedding.clone();
        let mut best_item = first.medoid.clone();
        let mut best_score = squared_distance(ArrayView1::from(&best_embedding[..]), &centroid);
        for &c in &stored[1..] {
            let cl = &self.clusters[c];
            let s = squared_distance(ArrayView1::from(&cl.medoid_embedding[..]), &centroid);
            if s < best_score {
                best_score = s;
                best_item = cl.medoid.clone();
                best_embedding = cl.medoid_embedding.clone();
            }
        }
        let mut best_row: Option<usize> = None;
        for &r in rows {
            let s = squared_distance(prepared.x.row(r), &centroid);
            let better = match best_row {
                None => s < best_score,
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
            best_item = prepared.items[r].item.clone();
            best_embedding = prepared.x.row(r).to_vec();
        }
        // members: union, counts added
        let mut members: Vec<Member<I>> = stored
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
                Some(last) if last.item == m.item => last.actions += m.actions,
                _ => merged.push(m),
            }
        }
        let importance = stored
            .iter()
            .map(|&c| roll(self.clusters[c].importance))
            .sum::<f64>()
            + rows.iter().map(|&r| prepared.items[r].decayed).sum::<f64>();
        let last_action = stored
            .iter()
            .map(|&c| self.clusters[c].last_action)
            .chain(rows.iter().map(|&r| prepared.items[r].last))
            .max()
            .unwrap_or(i64::MIN);
        InterestCluster {
            medoid: best_item,
            medoid_embedding: best_embedding,
            centroid: centroid.iter().map(|&c| F::from_f64_rounded(c)).collect(),
            importance,
            action_count: merged.iter().map(|m| m.actions).sum(),
            last_action,
            members: merged,
        }
    }
}

/// A stored cluster's centroid and weight with its repeat rows folded in.
fn fold_centroid<I, F: Scalar>(
    cluster: &InterestCluster<I, F>,
    rows: &[usize],
    prepared: &Prepared<I, F>,
    weights: &[f64],
) -> (Vec<f64>, f64) {
    let w0 = cluster.action_count as f64;
    let mut centroid: Vec<f64> = cluster
        .centroid
        .iter()
        .map(|v| v.to_f64_lossless() * w0)
        .collect();
    let mut total = w0;
    for &r in rows {
        total += weights[r];
        for (a, v) in centroid.iter_mut().zip(prepared.x.row(r)) {
            *a += weights[r] * v.to_f64_lossless();
        }
    }
    if total > 0.0 {
        centroid.iter_mut().for_each(|a| *a /= total);
    }
    (centroid, total)
}
