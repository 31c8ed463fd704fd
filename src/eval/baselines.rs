//! The paper's baselines and ablations that are not PinnerSage itself: the
//! last item, decay-weighted averages, the non-personal popularity list,
//! k-means centroids and complete-linkage clusters.
//!
//! All work on a history given as distinct items with action weights (see
//! [`Weighted`]) and the [`ItemSpace`]'s normalised embeddings.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, RngExt};

use super::error::{EvalError, EvalResult};
use super::space::ItemSpace;
use crate::Action;

/// A history collapsed to distinct items (ascending) with their action
/// counts and the timestamps of their actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    /// Distinct items, ascending.
    pub items: Vec<usize>,
    /// Number of actions on each item.
    pub counts: Vec<f64>,
    /// Timestamps of the actions on each item.
    pub times: Vec<Vec<i64>>,
}

impl Weighted {
    /// Collapses `history` to distinct items.
    ///
    /// # Example
    /// ```
    /// use pinnersage::{eval::baselines::Weighted, Action};
    /// let w = Weighted::new(&[Action::new(5, 1), Action::new(2, 2), Action::new(5, 3)]);
    /// assert_eq!((w.items, w.counts), (vec![2, 5], vec![1.0, 2.0]));
    /// ```
    pub fn new(history: &[Action<usize>]) -> Self {
        let mut pairs: Vec<(usize, i64)> = history.iter().map(|a| (a.item, a.timestamp)).collect();
        pairs.sort_unstable();
        let mut w = Weighted {
            items: Vec::new(),
            counts: Vec::new(),
            times: Vec::new(),
        };
        for (i, t) in pairs {
            if w.items.last() == Some(&i) {
                if let (Some(c), Some(ts)) = (w.counts.last_mut(), w.times.last_mut()) {
                    *c += 1.0;
                    ts.push(t);
                }
            } else {
                w.items.push(i);
                w.counts.push(1.0);
                w.times.push(vec![t]);
            }
        }
        w
    }

    /// The embeddings of the distinct items (m × d).
    ///
    /// # Errors
    /// [`EvalError::ItemOutOfRange`] for an item outside `space`.
    pub fn matrix(&self, space: &ItemSpace) -> EvalResult<Array2<f64>> {
        check_items(space, self.items.iter().copied())?;
        Ok(space.embeddings().select(ndarray::Axis(0), &self.items))
    }
}

fn check_items(space: &ItemSpace, items: impl IntoIterator<Item = usize>) -> EvalResult<()> {
    match items.into_iter().find(|&i| i >= space.len()) {
        Some(item) => Err(EvalError::ItemOutOfRange {
            item,
            items: space.len(),
        }),
        None => Ok(()),
    }
}

/// The last item: the item of the most recent action, ties (one basket, one
/// timestamp) to the highest item index, i.e. the last action in
/// `(timestamp, item)` order. `None` for an empty history.
///
/// # Example
/// ```
/// use pinnersage::{eval::baselines::last_item, Action};
/// assert_eq!(last_item(&[Action::new(9, 5), Action::new(3, 7), Action::new(4, 7)]), Some(4));
/// ```
pub fn last_item(history: &[Action<usize>]) -> Option<usize> {
    history
        .iter()
        .map(|a| (a.timestamp, a.item))
        .max()
        .map(|(_, i)| i)
}

/// Decay weight `exp(−λ·(now − ts)/86400)`, `λ` per day.
pub fn decay_weight(lambda_per_day: f64, ts: i64, now: i64) -> f64 {
    let age_days = (now as f64 - ts as f64) / 86_400.0;
    (-lambda_per_day * age_days).exp()
}

/// Decay-weighted average `q = Σ_i w_i x_i / ‖Σ_i w_i x_i‖` over the
/// history's actions (repeats counted), `w_i = exp(−λ·(now − T_i))`, `λ` per
/// day. `None` for an empty history or a zero sum.
///
/// # Errors
/// [`EvalError::ItemOutOfRange`] for an item outside `space`.
///
/// # Complexity
/// O(|history|·d).
pub fn decay_average(
    space: &ItemSpace,
    history: &[Action<usize>],
    now: i64,
    lambda_per_day: f64,
) -> EvalResult<Option<Vec<f64>>> {
    check_items(space, history.iter().map(|a| a.item))?;
    let x = space.embeddings();
    let mut q = vec![0.0; x.ncols()];
    for a in history {
        let w = decay_weight(lambda_per_day, a.timestamp, now);
        for (o, v) in q.iter_mut().zip(x.row(a.item)) {
            *o += w * v;
        }
    }
    Ok(normalised(q))
}

pub(crate) fn normalised(mut q: Vec<f64>) -> Option<Vec<f64>> {
    let n = q.iter().map(|a| a * a).sum::<f64>().sqrt();
    if n > 0.0 && n.is_finite() {
        q.iter_mut().for_each(|a| *a /= n);
        Some(q)
    } else {
        None
    }
}

/// Action counts per item over `actions` with `lo ≤ ts < hi`, and the `k` most
/// engaged items ranked by `(−count, item)`: the non-personal baseline.
///
/// # Example
/// ```
/// use pinnersage::{eval::baselines::popular, Action};
/// let acts = [Action::new(2, 0), Action::new(1, 1), Action::new(2, 2), Action::new(0, 9)];
/// let (counts, top) = popular(acts.iter(), 3, 0, 5, 2);
/// assert_eq!((counts, top), (vec![0.0, 1.0, 2.0], vec![2, 1]));
/// ```
pub fn popular<'a>(
    actions: impl IntoIterator<Item = &'a Action<usize>>,
    items: usize,
    lo: i64,
    hi: i64,
    k: usize,
) -> (Vec<f64>, Vec<usize>) {
    let mut counts = vec![0.0; items];
    for a in actions {
        if a.timestamp >= lo && a.timestamp < hi && a.item < items {
            counts[a.item] += 1.0;
        }
    }
    let top = super::space::top_k(&counts, k, |_| false);
    (counts, top)
}

/// Weighted k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) on
/// the rows of `x`: centres start at a row drawn with probability ∝ `w`, then
/// ∝ `w·D²` (`D` the distance to the nearest chosen centre); Lloyd iterations
/// (nearest centre, ties to the lower index; weighted means; a centre that
/// loses all its rows stays put) until assignments stop changing or
/// `max_iter`. `k` is capped at the number of rows.
///
/// Returns the centres (k × d) and each row's label.
///
/// # Errors
/// [`EvalError::InvalidParameter`] for `k = 0`, no rows, or weights of the
/// wrong length or not positive and finite; [`EvalError::BadEmbedding`] for
/// a row with a NaN or infinite value.
///
/// # Complexity
/// O(max_iter·m·k·d).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use pinnersage::eval::baselines::kmeans;
/// let x = array![[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
/// let (_, labels) = kmeans(x.view(), &[1.0; 4], 2, 100, &mut rng)?;
/// assert_eq!(labels[0], labels[1]);
/// assert_ne!(labels[0], labels[2]);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn kmeans<R: Rng + ?Sized>(
    x: ArrayView2<'_, f64>,
    w: &[f64],
    k: usize,
    max_iter: usize,
    rng: &mut R,
) -> EvalResult<(Array2<f64>, Vec<usize>)> {
    let (m, d) = x.dim();
    let bad = |reason: String| EvalError::InvalidParameter {
        name: "kmeans",
        reason,
    };
    if k == 0 || m == 0 {
        return Err(bad(format!("k = {k} with {m} rows")));
    }
    if w.len() != m || w.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(bad("weights must be positive, one per row".into()));
    }
    if let Some(row) = x
        .rows()
        .into_iter()
        .position(|r| r.iter().any(|v| !v.is_finite()))
    {
        return Err(EvalError::BadEmbedding { row });
    }
    let k = k.min(m);
    let sq = |a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>| {
        a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>()
    };
    let draw = |weights: &[f64], rng: &mut R| -> usize {
        let total: f64 = weights.iter().sum();
        if total.partial_cmp(&0.0) != Some(core::cmp::Ordering::Greater) {
            return 0;
        }
        let mut u = rng.random::<f64>() * total;
        for (i, &v) in weights.iter().enumerate() {
            if u < v {
                return i;
            }
            u -= v;
        }
        weights.iter().rposition(|&v| v > 0.0).unwrap_or(0)
    };
    let mut centres = Array2::<f64>::zeros((k, d));
    let first = draw(w, rng);
    centres.row_mut(0).assign(&x.row(first));
    let mut dist: Vec<f64> = (0..m).map(|i| sq(x.row(i), centres.row(0))).collect();
    for c in 1..k {
        let p: Vec<f64> = (0..m).map(|i| w[i] * dist[i]).collect();
        // all rows coincide with chosen centres: any row (the first) will do
        let next = draw(&p, rng);
        centres.row_mut(c).assign(&x.row(next));
        for (i, di) in dist.iter_mut().enumerate() {
            *di = di.min(sq(x.row(i), centres.row(c)));
        }
    }
    let mut labels = vec![usize::MAX; m];
    for _ in 0..max_iter.max(1) {
        let mut changed = false;
        for (i, l) in labels.iter_mut().enumerate() {
            let mut best = (f64::INFINITY, 0);
            for c in 0..k {
                let dc = sq(x.row(i), centres.row(c));
                if dc < best.0 {
                    best = (dc, c);
                }
            }
            if *l != best.1 {
                *l = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut tot = vec![0.0; k];
        for i in 0..m {
            let c = labels[i];
            tot[c] += w[i];
            sums.row_mut(c).scaled_add(w[i], &x.row(i));
        }
        for (c, &t) in tot.iter().enumerate() {
            if t > 0.0 {
                let mean = &sums.row(c) / t;
                centres.row_mut(c).assign(&mean);
            }
        }
    }
    Ok((centres, labels))
}

/// Complete-linkage clustering (`d(A, B) = max_{a∈A, b∈B} ‖x_a − x_b‖`, the
/// farthest pair) of the rows of `x` through the `kodama` crate, cut into
/// `min(k, m)` clusters by applying its first `m − k` merges. Labels are dense
/// and numbered by first appearance (row 0 has label 0).
///
/// Also returns the merges in scipy's format (`a, b, height, size` with new
/// clusters numbered `m, m+1, …`).
///
/// # Errors
/// [`EvalError::InvalidParameter`] for `k = 0` or no rows;
/// [`EvalError::BadEmbedding`] for a non-finite row.
///
/// # Complexity
/// O(m²·d) for the distances, O(m²) for the linkage (kodama's NN-chain).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::eval::baselines::complete_linkage;
/// let x = array![[0.0], [1.0], [5.0], [7.0]];
/// let (labels, merges) = complete_linkage(x.view(), 2)?;
/// assert_eq!(labels, vec![0, 0, 1, 1]);
/// assert_eq!(merges[2], [4.0, 5.0, 7.0, 4.0]); // farthest pair 0..7
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn complete_linkage(
    x: ArrayView2<'_, f64>,
    k: usize,
) -> EvalResult<(Vec<usize>, Vec<[f64; 4]>)> {
    let m = x.nrows();
    if k == 0 || m == 0 {
        return Err(EvalError::InvalidParameter {
            name: "complete_linkage",
            reason: format!("k = {k} with {m} rows"),
        });
    }
    if let Some(row) = (0..m).find(|&i| x.row(i).iter().any(|v| !v.is_finite())) {
        return Err(EvalError::BadEmbedding { row });
    }
    if m == 1 {
        return Ok((vec![0], Vec::new()));
    }
    // rows as contiguous slices for the crate's one distance kernel
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut condensed = Vec::with_capacity(m * (m - 1) / 2);
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            condensed.push(crate::linalg::squared_distance(a, b).sqrt());
        }
    }
    let tree = kodama::linkage(&mut condensed, m, kodama::Method::Complete);
    let merges: Vec<[f64; 4]> = tree
        .steps()
        .iter()
        .map(|s| {
            [
                s.cluster1 as f64,
                s.cluster2 as f64,
                s.dissimilarity,
                s.size as f64,
            ]
        })
        .collect();
    // replay the first m − k merges with a union-find over cluster labels
    let k = k.min(m);
    let mut parent: Vec<usize> = (0..2 * m - 1).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (s, step) in tree.steps().iter().take(m - k).enumerate() {
        let new = m + s;
        let a = find(&mut parent, step.cluster1);
        let b = find(&mut parent, step.cluster2);
        parent[a] = new;
        parent[b] = new;
    }
    let mut dense: Vec<usize> = vec![usize::MAX; 2 * m - 1];
    let mut next = 0;
    let labels = (0..m)
        .map(|i| {
            let r = find(&mut parent, i);
            if dense[r] == usize::MAX {
                dense[r] = next;
                next += 1;
            }
            dense[r]
        })
        .collect();
    Ok((labels, merges))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::{rngs::Xoshiro256PlusPlus, SeedableRng};

    #[test]
    fn kmeans_separated_blobs_for_every_seed() {
        // three tight blobs of 4 points; k-means++ must find them for any seed
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for (dx, dy) in [(0.0, 0.0), (0.1, 0.0), (0.0, 0.1), (0.1, 0.1)] {
                rows.push([cx + dx, cy + dy]);
            }
        }
        let x = Array2::from(rows);
        for seed in 0..20 {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let (c, l) = kmeans(x.view(), &[1.0; 12], 3, 100, &mut rng).unwrap();
            for b in 0..3 {
                let blob = &l[4 * b..4 * b + 4];
                assert!(blob.iter().all(|&v| v == blob[0]), "seed {seed}");
                let centre = c.row(blob[0]);
                assert!((centre[0] - (x[[4 * b, 0]] + 0.05)).abs() < 1e-12);
            }
            assert!(l[0] != l[4] && l[4] != l[8] && l[0] != l[8]);
        }
    }

    #[test]
    fn kmeans_errors_and_caps() {
        let x = array![[0.0], [1.0]];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        assert!(kmeans(x.view(), &[1.0; 2], 0, 10, &mut rng).is_err());
        assert!(kmeans(x.view(), &[1.0, -1.0], 1, 10, &mut rng).is_err());
        let (c, _) = kmeans(x.view(), &[1.0; 2], 5, 10, &mut rng).unwrap();
        assert_eq!(c.nrows(), 2);
    }

    #[test]
    fn complete_linkage_differs_from_single() {
        // points 0, 1, 2.1, 3.0: {2.1, 3.0} at 0.9, {0, 1} at 1.0, then the
        // last merge at the farthest pair, 3.0 (single linkage: 1.1)
        let x = array![[0.0], [1.0], [2.1], [3.0]];
        let (labels, merges) = complete_linkage(x.view(), 2).unwrap();
        assert_eq!(labels, vec![0, 0, 1, 1]);
        assert!((merges[0][2] - 0.9).abs() < 1e-12);
        assert_eq!(merges[1][2], 1.0);
        assert_eq!(merges[2][2], 3.0);
        assert!(complete_linkage(x.view(), 0).is_err());
        assert_eq!(complete_linkage(x.view(), 9).unwrap().0, vec![0, 1, 2, 3]);
    }

    #[test]
    fn decay_average_weights_recent_actions() {
        let x = array![[1.0, 0.0], [0.0, 1.0]];
        let s = ItemSpace::new(x.view(), 2).unwrap();
        let h = [Action::new(0, 0), Action::new(1, 10 * 86_400)];
        let now = 10 * 86_400;
        let flat = decay_average(&s, &h, now, 0.0).unwrap().unwrap();
        assert!((flat[0] - flat[1]).abs() < 1e-15);
        let q = decay_average(&s, &h, now, 0.1).unwrap().unwrap();
        // weights e^{-1} and 1
        let r = (-1.0_f64).exp();
        assert!((q[0] / q[1] - r).abs() < 1e-12);
        assert_eq!(decay_average(&s, &[], now, 0.1), Ok(None));
        assert_eq!(
            decay_average(&s, &[Action::new(2, 0)], now, 0.1),
            Err(EvalError::ItemOutOfRange { item: 2, items: 2 })
        );
        let w = Weighted::new(&[Action::new(5, 0)]);
        assert!(w.matrix(&s).is_err());
    }
}
