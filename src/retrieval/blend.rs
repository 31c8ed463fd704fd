//! Merging per-medoid candidate lists into one recommendation list.

use core::hash::{BuildHasher, Hash};
use std::collections::HashSet;

use crate::ann::{Metric, Neighbour};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

use super::selection::validate;

/// One recommended item and where it came from.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recommendation<I, F> {
    /// The recommended item.
    pub item: I,
    /// Similarity to the medoid that retrieved it, larger is better
    /// ([`Metric::score`] of the index's distance).
    pub score: F,
    /// Index of the interest (cluster) that produced it, in the order of the
    /// user's profile.
    pub cluster: usize,
    /// That cluster's medoid: "because you engaged with `medoid`".
    pub medoid: I,
}

/// Compact provenance, never the embeddings:
/// `item 42 (score 0.9731, cluster 0, medoid 17)`. The score is printed with
/// 4 decimals unless the formatter asks for another precision (`{:.2}`).
///
/// ```
/// use pinnersage::retrieval::Recommendation;
///
/// let r = Recommendation { item: 42_u64, score: 0.97312_f32, cluster: 0, medoid: 17 };
/// assert_eq!(r.to_string(), "item 42 (score 0.9731, cluster 0, medoid 17)");
/// assert_eq!(format!("{r:.1}"), "item 42 (score 1.0, cluster 0, medoid 17)");
/// ```
impl<I: core::fmt::Display, F: Scalar> core::fmt::Display for Recommendation<I, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let precision = f.precision().unwrap_or(4);
        write!(
            f,
            "item {} (score {:.*}, cluster {}, medoid {})",
            self.item, precision, self.score, self.cluster, self.medoid
        )
    }
}

/// How candidate lists are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Blend {
    /// Lists take turns, in the order given (the selection order), each
    /// contributing its next candidate that is neither excluded nor already
    /// taken. Exhausted lists drop out of the rotation.
    #[default]
    RoundRobin,
    /// Each list gets a quota of the `n` slots proportional to its interest's
    /// importance (largest-remainder rounding; ties to the earlier list; equal
    /// quotas if every importance is 0). When the lists hold fewer candidates
    /// than `n`, only that many slots are apportioned, so any `n` (even
    /// `usize::MAX`) is safe. Lists take turns as in
    /// [`Blend::RoundRobin`] but stop at their quota; slots a list cannot fill
    /// go, round-robin, to lists that still have candidates.
    Proportional,
}

/// The neighbours one medoid retrieved, with its provenance.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a, I, F> {
    /// Index of the interest (cluster) in the user's profile.
    pub cluster: usize,
    /// The interest's medoid.
    pub medoid: &'a I,
    /// The interest's importance (used by [`Blend::Proportional`]).
    pub importance: f64,
    /// The medoid's neighbours, nearest first.
    pub neighbours: &'a [Neighbour<I, F>],
}

/// Merges candidate lists into at most `n` recommendations.
///
/// Guarantees, for either [`Blend`]: no item twice (the first occurrence in
/// blending order wins, with its provenance), no item of `exclude`, at most `n`
/// results, and fewer only when the lists hold fewer distinct non-excluded
/// items. Scores are `metric.score(distance)`.
///
/// # Errors
/// [`Error::InvalidImportance`] if an
/// importance is negative, NaN or infinite (indexed by position in `lists`);
/// [`Error::NonFiniteDistance`] for a NaN or
/// infinite candidate distance. Every score in the result is finite.
///
/// # Complexity
/// O(L + n) expected time for `L` candidates in all, plus O(m) per round for
/// `m` lists; O(n) space.
///
/// # Example
/// ```
/// use std::collections::HashSet;
/// use pinnersage::ann::{Metric, Neighbour};
/// use pinnersage::retrieval::{blend, Blend, Candidates};
///
/// let nb = |id: u32, distance: f32| Neighbour { id, distance };
/// let a = [nb(1, 0.0), nb(2, 0.1), nb(3, 0.2)];
/// let b = [nb(7, 0.0), nb(2, 0.05), nb(8, 0.3)];
/// let lists = [
///     Candidates { cluster: 0, medoid: &1, importance: 2.0, neighbours: &a },
///     Candidates { cluster: 4, medoid: &7, importance: 1.0, neighbours: &b },
/// ];
/// let seen: HashSet<u32> = [1, 7].into();
/// let recs = blend(&lists, Blend::RoundRobin, Metric::Cosine, 10, &seen)?;
/// let items: Vec<u32> = recs.iter().map(|r| r.item).collect();
/// assert_eq!(items, vec![2, 8, 3]);
/// assert_eq!((recs[1].cluster, recs[1].medoid), (4, 7));
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn blend<I, F, S>(
    lists: &[Candidates<'_, I, F>],
    method: Blend,
    metric: Metric,
    n: usize,
    exclude: &HashSet<I, S>,
) -> Result<Vec<Recommendation<I, F>>>
where
    I: Clone + Eq + Hash,
    F: Scalar,
    S: BuildHasher,
{
    let importances: Vec<f64> = lists.iter().map(|l| l.importance).collect();
    let weights = validate(&importances)?;
    // a NaN or infinite distance has no score: never pass it through
    for (list, l) in lists.iter().enumerate() {
        if let Some(position) = l.neighbours.iter().position(|c| !c.distance.is_finite()) {
            return Err(Error::NonFiniteDistance {
                list,
                position,
                value: l.neighbours[position].distance.to_f64_lossless(),
            });
        }
    }
    let mut state = State {
        lists,
        cursors: vec![0; lists.len()],
        taken: HashSet::with_capacity(n.min(1 << 16)),
        out: Vec::with_capacity(n.min(1 << 16)),
        metric,
        n,
        exclude,
    };
    if method == Blend::Proportional {
        // apportion only the slots that can be filled: never more than the
        // candidates there are, so a huge `n` neither overflows nor loops
        let candidates = lists
            .iter()
            .fold(0usize, |s, l| s.saturating_add(l.neighbours.len()));
        let quotas = quotas(&weights, n.min(candidates));
        let mut given = vec![0usize; lists.len()];
        state.rounds(|j| {
            if given[j] < quotas[j] {
                given[j] = given[j].saturating_add(1);
                true
            } else {
                false
            }
        });
    }
    state.rounds(|_| true);
    Ok(state.out)
}

struct State<'l, 'a, 'e, I, F, S> {
    lists: &'l [Candidates<'a, I, F>],
    cursors: Vec<usize>,
    taken: HashSet<I>,
    out: Vec<Recommendation<I, F>>,
    metric: Metric,
    n: usize,
    exclude: &'e HashSet<I, S>,
}

impl<I: Clone + Eq + Hash, F: Scalar, S: BuildHasher> State<'_, '_, '_, I, F, S> {
    /// Round-robin turns until `n` results or no list may and can contribute.
    /// `may(j)` is asked before list `j` takes a turn (and counts it).
    fn rounds(&mut self, mut may: impl FnMut(usize) -> bool) {
        loop {
            let mut progressed = false;
            for j in 0..self.lists.len() {
                if self.out.len() >= self.n {
                    return;
                }
                if self.has_next(j) && may(j) {
                    self.take_next(j);
                    progressed = true;
                }
            }
            if !progressed {
                return;
            }
        }
    }

    /// Advances list `j`'s cursor past excluded and taken candidates; `true`
    /// if a candidate remains.
    fn has_next(&mut self, j: usize) -> bool {
        let list = self.lists[j].neighbours;
        while let Some(c) = list.get(self.cursors[j]) {
            if self.exclude.contains(&c.id) || self.taken.contains(&c.id) {
                self.cursors[j] = self.cursors[j].saturating_add(1);
            } else {
                return true;
            }
        }
        false
    }

    /// Emits list `j`'s current candidate (after [`has_next`](Self::has_next)).
    fn take_next(&mut self, j: usize) {
        let l = &self.lists[j];
        if let Some(c) = l.neighbours.get(self.cursors[j]) {
            self.cursors[j] = self.cursors[j].saturating_add(1);
            self.taken.insert(c.id.clone());
            self.out.push(Recommendation {
                item: c.id.clone(),
                score: self.metric.score(c.distance),
                cluster: l.cluster,
                medoid: l.medoid.clone(),
            });
        }
    }
}

/// Largest-remainder apportionment of `n` slots by `weights` (all ≥ 0 and
/// finite); equal weights when they sum to 0. Ties go to the earlier list.
///
/// The weights are divided by the largest before they are summed, so a sum
/// that would overflow `f64` keeps their proportions; the quotas are summed
/// with saturation, so any `n` is safe (callers pass at most the number of
/// candidates, see [`blend`]).
///
/// # Complexity
/// O(m log m) for `m` weights, whatever `n`.
pub(crate) fn quotas(weights: &[f64], n: usize) -> Vec<usize> {
    let m = weights.len();
    if m == 0 {
        return Vec::new();
    }
    let max = weights.iter().copied().fold(0.0_f64, f64::max);
    let shares: Vec<f64> = if max > 0.0 {
        // each scaled weight is in [0, 1], so the sum is in [1, m]: finite
        let scaled: Vec<f64> = weights.iter().map(|w| w / max).collect();
        let total: f64 = scaled.iter().sum();
        scaled.iter().map(|w| n as f64 * (w / total)).collect()
    } else {
        vec![n as f64 / m as f64; m]
    };
    // `as usize` saturates; rounding can push a share of a huge `n` past `n`
    let mut quotas: Vec<usize> = shares.iter().map(|s| (s.floor() as usize).min(n)).collect();
    let assigned = quotas.iter().fold(0usize, |s, &q| s.saturating_add(q));
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| {
        let ra = shares[a] - shares[a].floor();
        let rb = shares[b] - shares[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    // the remainders sum to less than m, so normally `left < m`; spread any
    // larger rounding excess evenly first, then one by one in remainder order
    let left = n.saturating_sub(assigned);
    // m > 0 (checked at the top)
    let (each, extra) = (
        left.checked_div(m).unwrap_or(0),
        left.checked_rem(m).unwrap_or(0),
    );
    for (rank, &j) in order.iter().enumerate() {
        let add = each.saturating_add(usize::from(rank < extra));
        quotas[j] = quotas[j].saturating_add(add);
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use proptest::prelude::*;

    fn nb(id: u32, distance: f64) -> Neighbour<u32, f64> {
        Neighbour { id, distance }
    }

    fn cands<'a>(
        lists: &'a [Vec<Neighbour<u32, f64>>],
        medoids: &'a [u32],
        importances: &[f64],
    ) -> Vec<Candidates<'a, u32, f64>> {
        lists
            .iter()
            .enumerate()
            .map(|(j, l)| Candidates {
                cluster: j,
                medoid: &medoids[j],
                importance: importances[j],
                neighbours: l,
            })
            .collect()
    }

    #[test]
    fn round_robin_order_dedupe_and_exclusion() {
        let lists = vec![
            vec![nb(1, 0.0), nb(2, 0.1), nb(3, 0.2), nb(4, 0.3)],
            vec![nb(2, 0.0), nb(5, 0.1)],
            vec![nb(9, 0.0), nb(1, 0.1), nb(6, 0.2), nb(7, 0.3)],
        ];
        let medoids = [1, 2, 9];
        let c = cands(&lists, &medoids, &[1.0, 1.0, 1.0]);
        let exclude: HashSet<u32> = [9].into();
        let recs = blend(
            &c,
            Blend::RoundRobin,
            Metric::SquaredEuclidean,
            10,
            &exclude,
        )
        .unwrap();
        let got: Vec<(u32, usize)> = recs.iter().map(|r| (r.item, r.cluster)).collect();
        // round 1: 1 (list 0), 2 (list 1), 9 excluded and 1 taken → 6 (list 2)
        // round 2: 2 taken → 3 (list 0), 5 (list 1), 7 (list 2); round 3: 4
        assert_eq!(
            got,
            vec![(1, 0), (2, 1), (6, 2), (3, 0), (5, 1), (7, 2), (4, 0)]
        );
        assert_eq!(recs[2].medoid, 9);
        assert_eq!(recs[2].score, -0.2);
        let short = blend(&c, Blend::RoundRobin, Metric::SquaredEuclidean, 2, &exclude).unwrap();
        assert_eq!(short.len(), 2);
    }

    #[test]
    fn proportional_quotas_then_fill() {
        let long = |base: u32| {
            (0..10)
                .map(|i| nb(base + i, f64::from(i)))
                .collect::<Vec<_>>()
        };
        let lists = vec![long(100), long(200), vec![nb(300, 0.0)]];
        let medoids = [100, 200, 300];
        let c = cands(&lists, &medoids, &[6.0, 2.0, 2.0]);
        let none = HashSet::new();
        let recs = blend(&c, Blend::Proportional, Metric::Cosine, 10, &none).unwrap();
        let from = |j: usize| recs.iter().filter(|r| r.cluster == j).count();
        // quotas 6, 2, 2; list 2 has a single candidate, its spare slot is refilled
        assert_eq!(quotas(&[6.0, 2.0, 2.0], 10), vec![6, 2, 2]);
        assert_eq!((from(0), from(1), from(2)), (7, 2, 1));
        assert_eq!(recs.len(), 10);
        let first: Vec<u32> = recs.iter().take(5).map(|r| r.item).collect();
        assert_eq!(first, vec![100, 200, 300, 101, 201]);
    }

    #[test]
    fn quotas_rules() {
        assert_eq!(quotas(&[1.0, 1.0, 1.0], 10), vec![4, 3, 3]);
        assert_eq!(quotas(&[0.0, 0.0], 3), vec![2, 1]);
        assert_eq!(quotas(&[0.0, 5.0], 3), vec![0, 3]);
        assert!(quotas(&[], 3).is_empty());
        assert_eq!(quotas(&[2.0, 1.0], 0), vec![0, 0]);
    }

    /// Weights whose sum overflows `f64` keep their proportions (they used to
    /// fall back to equal quotas).
    #[test]
    fn quotas_survive_an_overflowing_weight_sum() {
        assert_eq!(quotas(&[f64::MAX, f64::MAX, 1.0], 10), vec![5, 5, 0]);
        assert_eq!(quotas(&[f64::MAX, f64::MAX / 4.0], 5), vec![4, 1]);
    }

    /// `n = usize::MAX` (a caller asking for "everything") neither overflows
    /// nor loops: the quotas apportion only the candidates that exist.
    #[test]
    fn proportional_with_huge_n_returns_every_candidate() {
        let lists = vec![vec![nb(1, 0.0), nb(2, 0.5)], vec![nb(3, 0.0)]];
        let medoids = [1, 3];
        let c = cands(&lists, &medoids, &[1.0, 1.0]);
        for method in [Blend::Proportional, Blend::RoundRobin] {
            let recs = blend(&c, method, Metric::Cosine, usize::MAX, &HashSet::new()).unwrap();
            let items: Vec<u32> = recs.iter().map(|r| r.item).collect();
            assert_eq!(items, vec![1, 3, 2], "{method:?}");
        }
        // the apportionment itself saturates instead of overflowing
        let q = quotas(&[1.0, 1.0, 1.0], usize::MAX);
        assert_eq!(q.len(), 3);
        assert!(q.iter().all(|&x| x >= usize::MAX / 3 - 1));
    }

    #[test]
    fn invalid_importance_is_refused() {
        let lists = vec![vec![nb(1, 0.0)], vec![nb(2, 0.0)]];
        let medoids = [1, 2];
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let c = cands(&lists, &medoids, &[1.0, bad]);
            for method in [Blend::RoundRobin, Blend::Proportional] {
                assert!(matches!(
                    blend(&c, method, Metric::Cosine, 3, &HashSet::new()),
                    Err(Error::InvalidImportance { index: 1, .. })
                ));
            }
        }
    }

    fn lists_strategy() -> impl Strategy<Value = (Vec<Vec<u32>>, Vec<f64>, Vec<u32>, usize)> {
        (
            prop::collection::vec(prop::collection::vec(0u32..40, 0..15), 0..5),
            prop::collection::vec(0.0f64..5.0, 5),
            prop::collection::vec(0u32..40, 0..10),
            0usize..30,
        )
    }

    proptest! {
        #[test]
        fn blending_invariants((ids, w, ex, n) in lists_strategy(), proportional in any::<bool>()) {
            let lists: Vec<Vec<Neighbour<u32, f64>>> = ids
                .iter()
                .map(|l| l.iter().enumerate().map(|(r, &id)| nb(id, r as f64)).collect())
                .collect();
            let medoids: Vec<u32> = (0..lists.len() as u32).map(|j| 1000 + j).collect();
            let c = cands(&lists, &medoids, &w[..lists.len()]);
            let exclude: HashSet<u32> = ex.iter().copied().collect();
            let method = if proportional { Blend::Proportional } else { Blend::RoundRobin };
            let recs = blend(&c, method, Metric::InnerProduct, n, &exclude).unwrap();

            // length bound, and short only when candidates run out
            let available: HashSet<u32> =
                ids.iter().flatten().copied().filter(|id| !exclude.contains(id)).collect();
            prop_assert_eq!(recs.len(), n.min(available.len()));
            // no duplicates, no exclusions
            let mut seen = HashSet::new();
            for r in &recs {
                prop_assert!(seen.insert(r.item), "duplicate {}", r.item);
                prop_assert!(!exclude.contains(&r.item));
            }
            // provenance: the item is in the list it names, with that list's medoid
            // and the score of its first occurrence there
            for r in &recs {
                let pos = ids[r.cluster].iter().position(|&id| id == r.item);
                prop_assert!(pos.is_some());
                prop_assert_eq!(r.medoid, medoids[r.cluster]);
                prop_assert_eq!(r.score, -(pos.unwrap_or(0) as f64));
            }
            // nothing skipped: every candidate a list passed over before its pick
            // was excluded or emitted earlier
            let mut cursor = vec![0usize; lists.len()];
            for (t, r) in recs.iter().enumerate() {
                let j = r.cluster;
                let pos = ids[j].iter().position(|&id| id == r.item).unwrap_or(0);
                prop_assert!(pos >= cursor[j], "list {} went backwards", j);
                for &skipped in &ids[j][cursor[j]..pos] {
                    let earlier = recs[..t].iter().any(|e| e.item == skipped);
                    prop_assert!(exclude.contains(&skipped) || earlier);
                }
                cursor[j] = pos + 1;
            }
            if !proportional {
                // round-robin order: the turn passes cyclically; a list is skipped
                // only when it has nothing left to give at that point
                let exhausted_at = |j: usize, t: usize| {
                    ids[j][cursor_at(&recs, &ids, j, t)..]
                        .iter()
                        .all(|id| exclude.contains(id) || recs[..t].iter().any(|e| e.item == *id))
                };
                let m = lists.len();
                let mut expected_turn = 0usize;
                for (t, r) in recs.iter().enumerate() {
                    let mut j = expected_turn;
                    while exhausted_at(j % m, t) {
                        j += 1;
                    }
                    prop_assert_eq!(r.cluster, j % m, "position {}", t);
                    expected_turn = (j + 1) % m;
                }
            }
        }
    }

    /// Position after list `j`'s last pick among the first `t` results.
    fn cursor_at(recs: &[Recommendation<u32, f64>], ids: &[Vec<u32>], j: usize, t: usize) -> usize {
        recs[..t]
            .iter()
            .filter(|r| r.cluster == j)
            .filter_map(|r| ids[j].iter().position(|&id| id == r.item))
            .map(|p| p + 1)
            .max()
            .unwrap_or(0)
    }

    proptest! {
        #[test]
        fn proportional_meets_quotas_when_lists_suffice(
            w in prop::collection::vec(0.0f64..10.0, 1..5),
            n in 0usize..40,
        ) {
            // disjoint lists, each long enough to fill any quota
            let lists: Vec<Vec<Neighbour<u32, f64>>> = (0..w.len() as u32)
                .map(|j| (0..40).map(|i| nb(100 * j + i, f64::from(i))).collect())
                .collect();
            let medoids: Vec<u32> = (0..w.len() as u32).collect();
            let c = cands(&lists, &medoids, &w);
            let recs = blend(&c, Blend::Proportional, Metric::Cosine, n, &HashSet::new()).unwrap();
            let q = quotas(&w, n);
            prop_assert_eq!(q.iter().sum::<usize>(), n);
            let total: f64 = w.iter().sum();
            for (j, &qj) in q.iter().enumerate() {
                prop_assert_eq!(recs.iter().filter(|r| r.cluster == j).count(), qj);
                let share = if total > 0.0 { n as f64 * w[j] / total } else { n as f64 / w.len() as f64 };
                prop_assert!((qj as f64 - share).abs() < 1.0 + 1e-9);
            }
        }
    }
}
