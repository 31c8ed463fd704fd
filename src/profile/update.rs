//! The online update: [`UserProfile::update`].

use core::fmt::Debug;

use ndarray::{Array1, Array2};

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::{age, Action};
use crate::scalar::Scalar;
use crate::ward;

use super::build::cut_tree;
use super::cluster::{from_members, rank, InterestCluster, Member};
use super::config::UnknownItems;
use super::prepare::{prepare, HistorySummary, Prepared};
use crate::importance::Decay;

/// `Σ exp(−λ·(now − t))` over `times` (oldest first), summed in that order as
/// [`prepare`] sums an item's actions.
fn decayed(times: &[i64], decay: Decay, now: i64) -> Result<f64> {
    times
        .iter()
        .try_fold(0.0, |sum, &t| Ok(sum + decay.weight_at(t, now)?))
}

/// Keeps the `cap` most recent of the kept members' and the free items'
/// actions (ties: smallest item id first; equal timestamps on one item are
/// interchangeable), dropping each one's oldest; free items with no action
/// left leave `free`. Counts, last actions and weights are left to the
/// caller.
fn cap_history<I: Ord, F>(
    kept: &mut [Vec<Member<I>>],
    prepared: &mut Prepared<I, F>,
    free: &mut Vec<usize>,
    cap: usize,
) {
    // (timestamp, item, slot): slot < n_kept a member, else a free item
    let mut slots: Vec<(usize, usize)> = Vec::new();
    let mut all: Vec<(i64, &I, usize)> = Vec::new();
    for (c, members) in kept.iter().enumerate() {
        for (p, m) in members.iter().enumerate() {
            let slot = slots.len();
            slots.push((c, p));
            all.extend(m.timestamps.iter().map(|&t| (t, &m.item, slot)));
        }
    }
    let members = slots.len();
    for (j, &r) in free.iter().enumerate() {
        let g = &prepared.items[r];
        all.extend(g.times.iter().map(|&t| (t, &g.item, members + j)));
    }
    if all.len() <= cap {
        return;
    }
    all.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut drop = vec![0usize; members + free.len()];
    for &(_, _, slot) in &all[cap..] {
        drop[slot] += 1;
    }
    for (slot, &(c, p)) in slots.iter().enumerate() {
        kept[c][p].timestamps.drain(..drop[slot]);
    }
    for (j, &r) in free.iter().enumerate() {
        prepared.items[r].times.drain(..drop[members + j]);
    }
    for c in kept.iter_mut() {
        c.retain(|m| !m.timestamps.is_empty());
    }
    free.retain(|&r| !prepared.items[r].times.is_empty());
}
use super::UserProfile;

impl<I: Clone + Ord + Debug, F: Scalar> UserProfile<I, F> {
    /// Folds the latest actions into the profile without the full history
    /// (the paper's lightweight online inference, run on the up to 20 actions
    /// since the daily batch), and moves the profile to `now`.
    ///
    /// 1. **Expiry.** Every stored action (a member keeps its
    ///    [`timestamps`](crate::Member::timestamps)) older than the window at
    ///    `now` is dropped, and a member with no action left.
    /// 2. The new actions are selected and grouped as in
    ///    [`PinnerSage::profile`](crate::PinnerSage::profile) (window,
    ///    unknown items and cap apply to this batch). A non-empty batch with
    ///    nothing in the window is [`Error::NoActionsInWindow`], as for a
    ///    batch profile. A new action on a member adds to it. The history cap
    ///    ([`max_history`](crate::PinnerSage::max_history)) then applies to
    ///    the stored and new actions together: the most recent `cap` are kept
    ///    (ties: smallest item id), as a recompute of the whole history keeps
    ///    them. Each member's count, last action and weight are recomputed
    ///    from its timestamps: `Σ exp(−λ·(now − t))`, summed oldest first as
    ///    a batch profile sums them (so bit for bit the recompute's).
    /// 3. **Which clusters are touched**: those whose action counts changed
    ///    in steps 1–2 (Ward weights are action counts: a recompute may
    ///    cluster their members differently; a cluster whose weights only
    ///    decayed clusters the same way and is not touched), those Ward puts together with a new
    ///    item when the stored clusters (one point each, at their stored
    ///    centroid, weighted by their action count) and the new items are
    ///    clustered and cut by the configuration's [`CutRule`](crate::CutRule),
    ///    and for each new item the cluster at the smallest Ward distance
    ///    `2·w·W/(w+W)·‖x − μ‖²` from it (ties: the earlier cluster).
    /// 4. **Re-clustering.** Ward ([`ward::linkage_weighted`]) over one row
    ///    per member of a touched cluster (its embedding looked up in
    ///    `source`) and per new item, weighted by action counts and laid out
    ///    in item order, plus one point per untouched cluster (at its
    ///    centroid, weighted by its action count: Ward distances depend only
    ///    on centroids and weights, so these are exact), cut by the rule. An
    ///    untouched cluster that stays alone is kept as it was (member
    ///    weights as of `now`); every other cluster is built from its members exactly as
    ///    a batch profile builds it (centroid, medoid over every member,
    ///    importance = the sum of the members' weights in item order).
    /// 5. Clusters are re-ranked and cut to `max_clusters`.
    ///
    /// **What this approximates, and when it is exact.** A full recompute
    /// runs Ward on every item in the window. The update always has the
    /// recompute's members, action counts, timestamps and weights (bit for
    /// bit), so the total importance agrees to rounding. It equals the
    /// recompute bit for bit (clusters, medoids, centroids, importances)
    /// when every stored cluster is touched, and when nothing is (no new
    /// action and nothing expired: clusters unchanged, importances
    /// recomputed; at `now = as_of` the stored profile). In between it never
    /// splits an untouched cluster. A profile all of whose members left the
    /// window becomes empty (a recompute of that history would be
    /// [`Error::NoActionsInWindow`]). [`history`](Self::history) describes
    /// the new batch: stored actions that expired or were capped are not
    /// counted. Actions passed to an update are assumed new: passing one
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
    ///   a source of dimension 0) and of the source's lookup of stored members
    ///   ([`Error::LengthMismatch`], [`Error::Source`], …);
    /// * [`Error::UnknownStoredItem`] if a member of a re-clustered cluster is
    ///   unknown to the source with [`UnknownItems::Error`] (with `Skip` it is
    ///   dropped), [`Error::InvalidStoredEmbedding`] if its embedding is not
    ///   finite;
    /// * [`Error::ActionCountOverflow`] if a cluster's action count would
    ///   overflow `u64`.
    ///
    /// A profile is valid by construction, and deserialization rejects a
    /// stored one that is not ([`Error::InvalidProfile`]); importances are
    /// at most their action counts, so they stay finite.
    ///
    /// # Complexity
    /// O(a log a) for the expiry, the cap and the weights over the `a` stored
    /// and new actions (one `exp` each), O(n log n + (k + n')²·d) to find the
    /// touched clusters, then Ward on
    /// the `m` members of the touched clusters, the `n'` new items and the
    /// other clusters: O((m + n' + k)²·d) time and O((m + n' + k)²) memory,
    /// for `n` new actions on `n'` distinct items and `k` stored clusters;
    /// one source lookup of the `m` members.
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
        let mut prepared = prepare(&self.config, new_actions, source, now)?;
        let decay = self.config.time_decay();
        let window = self.config.window_ticks();
        let k = self.clusters.len();
        let d = source.dim();

        // 1. expire every action that left the window (a member with none
        //    left is dropped)
        let mut kept: Vec<Vec<Member<I>>> = Vec::with_capacity(k);
        for cluster in &self.clusters {
            let mut members = Vec::with_capacity(cluster.members.len());
            for m in &cluster.members {
                let gone = match window {
                    None => 0,
                    Some(w) => m
                        .timestamps
                        .partition_point(|&t| age(t, now) > i128::from(w)),
                };
                if gone == m.timestamps.len() {
                    continue;
                }
                members.push(Member {
                    timestamps: m.timestamps[gone..].to_vec(),
                    ..m.clone()
                });
            }
            kept.push(members);
        }

        // 2. repeats of kept members join them; the others are free
        let mut free: Vec<usize> = Vec::new();
        for (r, g) in prepared.items.iter().enumerate() {
            let found = kept.iter().enumerate().find_map(|(c, members)| {
                members
                    .binary_search_by(|m| m.item.cmp(&g.item))
                    .ok()
                    .map(|pos| (c, pos))
            });
            match found {
                Some((c, pos)) => {
                    let m = &mut kept[c][pos];
                    m.timestamps.extend_from_slice(&g.times);
                    m.timestamps.sort_unstable();
                }
                None => free.push(r),
            }
        }

        // 2b. the history cap over stored and new actions together: the most
        //     recent `cap`, ties by item id (as a recompute selects them)
        if let Some(cap) = self.config.max_history() {
            cap_history(&mut kept, &mut prepared, &mut free, cap);
        }

        // counts, last actions and weights as of `now`, summed oldest first
        // as a recompute sums them; a cluster whose action counts changed is
        // touched (Ward weights are action counts: a recompute may cluster it
        // differently); one whose weights only decayed is not (its clusters
        // are the same, its importance is recomputed below)
        let mut touched = vec![false; k];
        for (c, members) in kept.iter_mut().enumerate() {
            touched[c] = members.len() != self.clusters[c].members.len();
            for m in members.iter_mut() {
                let actions = m.timestamps.len() as u64;
                touched[c] |= actions != m.actions;
                m.actions = actions;
                m.last_action = m.timestamps.last().copied().unwrap_or(m.last_action);
                m.weight = decayed(&m.timestamps, decay, now)?;
            }
        }
        for &r in &free {
            let g = &mut prepared.items[r];
            if g.count != g.times.len() as u64 {
                g.count = g.times.len() as u64;
                g.last = g.times.last().copied().unwrap_or(g.last);
                g.decayed = decayed(&g.times, decay, now)?;
            }
        }

        // 3. the clusters free items join: Ward over the stored clusters (one
        //    point each, at the stored centroid) and the free items
        let mut threshold = self.threshold;
        if !free.is_empty() {
            let live: Vec<usize> = (0..k).filter(|&c| !kept[c].is_empty()).collect();
            let n = live.len() + free.len();
            let mut x = Array2::<F>::zeros((n, d));
            let mut w = Array1::<F>::zeros(n);
            for (i, &c) in live.iter().enumerate() {
                x.row_mut(i).assign(&self.clusters[c].centroid());
                let count = kept[c]
                    .iter()
                    .try_fold(0u64, |sum, m| sum.checked_add(m.actions))
                    .ok_or(Error::ActionCountOverflow)?;
                w[i] = F::from_f64_rounded(count as f64);
            }
            for (j, &r) in free.iter().enumerate() {
                x.row_mut(live.len() + j).assign(&prepared.x.row(r));
                w[live.len() + j] = F::from_f64_rounded(prepared.items[r].count as f64);
            }
            let tree = ward::linkage_weighted(x.view(), w.view())?;
            let (labels, _) = cut_tree(&tree, self.config.cut())?;
            let mut with_new = vec![false; labels.iter().max().map_or(0, |&l| l + 1)];
            for &l in &labels[live.len()..] {
                with_new[l] = true;
            }
            for (i, &c) in live.iter().enumerate() {
                touched[c] |= with_new[labels[i]];
            }
            // and the cluster nearest each new item (Ward distance): a new
            // item near a part of a cluster may regroup it in a recompute
            for (j, &r) in free.iter().enumerate() {
                let wj = w[live.len() + j].to_f64_lossless();
                let nearest = (0..live.len())
                    .map(|i| {
                        let wc = w[i].to_f64_lossless();
                        let d2: f64 = x
                            .row(i)
                            .iter()
                            .zip(prepared.x.row(r))
                            .map(|(a, b)| {
                                let t = a.to_f64_lossless() - b.to_f64_lossless();
                                t * t
                            })
                            .sum();
                        (2.0 * wj / (wj + wc) * wc * d2, live[i])
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if let Some((_, c)) = nearest {
                    touched[c] = true;
                }
            }
        }

        // 4. re-cluster: the members of touched clusters and the free items
        //    one row each (in item order), the other clusters one point each
        let mut clusters: Vec<InterestCluster<I, F>> = Vec::new();
        if touched.iter().any(|&t| t) || !free.is_empty() {
            // the free items only (sorted by item, as `prepared`)
            let fresh = prepared.subset(&free);
            let mut rows: Vec<Member<I>> = fresh
                .items
                .iter()
                .map(|g| Member {
                    item: g.item.clone(),
                    actions: g.count,
                    last_action: g.last,
                    weight: g.decayed,
                    timestamps: g.times.clone(),
                })
                .collect();
            for c in (0..k).filter(|&c| touched[c]) {
                rows.append(&mut kept[c]);
            }
            rows.sort_by(|a, b| a.item.cmp(&b.item));
            let (rows, rx) = self.embed(rows, source, &fresh)?;
            let whole: Vec<usize> = (0..k)
                .filter(|&c| !touched[c] && !kept[c].is_empty())
                .collect();
            let n = rows.len() + whole.len();
            if n > 0 {
                let mut x = Array2::<F>::zeros((n, d));
                let mut w = Array1::<F>::zeros(n);
                x.slice_mut(ndarray::s![..rows.len(), ..]).assign(&rx);
                for (i, m) in rows.iter().enumerate() {
                    w[i] = F::from_f64_rounded(m.actions as f64);
                }
                for (j, &c) in whole.iter().enumerate() {
                    x.row_mut(rows.len() + j)
                        .assign(&self.clusters[c].centroid());
                    w[rows.len() + j] = F::from_f64_rounded(self.clusters[c].action_count as f64);
                }
                let tree = ward::linkage_weighted(x.view(), w.view())?;
                let (labels, largest) = cut_tree(&tree, self.config.cut())?;
                threshold = self.config.threshold_after(largest);
                let count = labels.iter().max().map_or(0, |&l| l + 1);
                let mut groups: Vec<(Vec<usize>, Vec<usize>)> = vec![Default::default(); count];
                for (node, &label) in labels.iter().enumerate() {
                    match node.checked_sub(rows.len()) {
                        None => groups[label].0.push(node),
                        Some(j) => groups[label].1.push(whole[j]),
                    }
                }
                let mut rows: Vec<Option<Member<I>>> = rows.into_iter().map(Some).collect();
                for (items, stored) in groups {
                    if let ([], [c]) = (&items[..], &stored[..]) {
                        // a stored cluster on its own: kept as it was, its
                        // members' counts and times brought forward
                        let members = core::mem::take(&mut kept[*c]);
                        clusters.push(self.clusters[*c].with_members(members)?);
                        continue;
                    }
                    let mut members: Vec<Member<I>> =
                        items.iter().filter_map(|&i| rows[i].take()).collect();
                    let mut embeddings = rx.select(ndarray::Axis(0), &items);
                    if !stored.is_empty() {
                        // whole clusters merged with others: their members too
                        let mut more: Vec<Member<I>> = Vec::new();
                        for &c in &stored {
                            more.append(&mut kept[c]);
                        }
                        more.sort_by(|a, b| a.item.cmp(&b.item));
                        let (more, mx) = self.embed(more, source, &fresh)?;
                        members.extend(more);
                        let all =
                            ndarray::concatenate(ndarray::Axis(0), &[embeddings.view(), mx.view()])
                                .map_err(|_| Error::DimensionMismatch {
                                    expected: d,
                                    got: mx.ncols(),
                                })?;
                        let mut order: Vec<usize> = (0..members.len()).collect();
                        order.sort_by(|&a, &b| members[a].item.cmp(&members[b].item));
                        embeddings = all.select(ndarray::Axis(0), &order);
                        let mut slots: Vec<Option<Member<I>>> =
                            members.into_iter().map(Some).collect();
                        members = order.iter().filter_map(|&i| slots[i].take()).collect();
                    }
                    if !members.is_empty() {
                        clusters.push(from_members(members, embeddings.view())?);
                    }
                }
            }
        } else {
            for (c, members) in kept.into_iter().enumerate() {
                if members.is_empty() {
                    continue;
                }
                clusters.push(self.clusters[c].with_members(members)?);
            }
        }

        // 5. rank, cap
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

    /// The embeddings of `rows` (sorted by item): new items from `fresh`,
    /// stored members looked up in `source`.
    /// Members the source does not know are dropped with
    /// [`UnknownItems::Skip`] (as a recompute
    /// skips them) and an error otherwise.
    fn embed<S>(
        &self,
        rows: Vec<Member<I>>,
        source: &S,
        fresh: &Prepared<I, F>,
    ) -> Result<(Vec<Member<I>>, Array2<F>)>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        let d = source.dim();
        let is_free = |item: &I| fresh.items.binary_search_by(|g| g.item.cmp(item)).ok();
        let lookup: Vec<I> = rows
            .iter()
            .filter(|m| is_free(&m.item).is_none())
            .map(|m| m.item.clone())
            .collect();
        let batch = crate::embedding::checked_embeddings(source, &lookup)?;
        let mut out_rows: Vec<Member<I>> = Vec::with_capacity(rows.len());
        let mut x = Array2::<F>::zeros((rows.len(), d));
        let mut looked = 0;
        for m in rows {
            let row = match is_free(&m.item) {
                Some(r) => fresh.x.row(r),
                None => {
                    let i = looked;
                    looked += 1;
                    if !batch.found[i] {
                        match self.config.unknown_items() {
                            UnknownItems::Skip => continue,
                            UnknownItems::Error => {
                                return Err(Error::UnknownStoredItem {
                                    item: format!("{:?}", m.item),
                                })
                            }
                        }
                    }
                    let row = batch.matrix.row(i);
                    if row.iter().any(|v| !v.is_finite()) {
                        return Err(Error::InvalidStoredEmbedding {
                            item: format!("{:?}", m.item),
                        });
                    }
                    row
                }
            };
            x.row_mut(out_rows.len()).assign(&row);
            out_rows.push(m);
        }
        let x = x.slice(ndarray::s![..out_rows.len(), ..]).to_owned();
        Ok((out_rows, x))
    }
}
