//! The nearest-neighbour chain on centroids: the memory-lean path, Ward
//! without a dissimilarity matrix.
//!
//! The nearest-neighbour chain (Benzécri 1982, Juan 1982; Müllner 2011,
//! arXiv:1109.2378, Figure 4) runs on cluster centroids and weights. The Ward
//! dissimilarity of two clusters is recomputed from them whenever it is needed,
//!
//! `d(A, B) = 2·w_A·w_B/(w_A + w_B)·‖μ_A − μ_B‖²`,
//!
//! which is exactly what the Lance–Williams recurrence of the matrix path
//! tracks, so both paths give the same dendrogram (up to rounding, and up to
//! the order of tied merges). Merging `A` and `B` replaces them by one centroid
//! `μ_B + (μ_A − μ_B)·w_A/(w_A + w_B)` (the weighted mean, in a form that
//! leaves equal centroids exactly equal) of weight `w_A + w_B`. Centroids are
//! kept as one of their rows plus an offset, so that clusters far from the
//! origin keep their digits (see [`nn_chain_linkage`]).
//!
//! Ward is reducible, so the chain finds every reciprocal-nearest-neighbour
//! pair; sorting the pairs by distance gives merges that are each a global
//! minimum of the current dissimilarities.

use ndarray::ArrayView2;

use crate::scalar::Scalar;

use crate::linalg::squared_distance;

use super::dendrogram::Dendrogram;
use super::method::weighted_dissimilarity;

/// `Σ_k ((rp_k − rq_k) + (dp_k − dq_k))²`, the squared distance of two
/// centroids kept as a row plus an offset, in eight interleaved partial sums
/// like [`squared_distance`] (a single running sum in `f32` lost enough
/// digits at d = 256 to flip near-tied merges: heights 7e-3 from scipy's at
/// m = 2000, against 3e-7 for the matrix path), and vectorisable.
fn offset_squared_distance<F: Scalar>(rp: &[F], rq: &[F], dp: &[F], dq: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let n = rp.len() - rp.len() % 8;
    for (((a, b), c), e) in rp[..n]
        .chunks_exact(8)
        .zip(rq[..n].chunks_exact(8))
        .zip(dp[..n].chunks_exact(8))
        .zip(dq[..n].chunks_exact(8))
    {
        for k in 0..8 {
            let t = (a[k] - b[k]) + (c[k] - e[k]);
            acc[k] = acc[k] + t * t;
        }
    }
    let mut tail = F::zero();
    for k in n..rp.len() {
        let t = (rp[k] - rq[k]) + (dp[k] - dq[k]);
        tail = tail + t * t;
    }
    let s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    s + tail
}

/// Runs the centroid nearest-neighbour chain on the rows of `x` with initial
/// weights `weights`.
///
/// Ties are broken as scipy breaks them: the previous chain element wins a tie,
/// otherwise the lowest slot.
///
/// # Complexity
/// O(m²·d) time (a few neighbour searches of O(m·d) per merge), O(m·d) space
/// (one copy of `x` for the centroids).
pub(crate) fn nn_chain_linkage<F: Scalar>(
    x: ArrayView2<'_, F>,
    mut weights: Vec<F>,
) -> Dendrogram<F> {
    let (m, dim) = x.dim();
    debug_assert_eq!(weights.len(), m);
    if m < 2 {
        return Dendrogram::from_unsorted(m, &[]);
    }
    // Each centroid is kept as `rep + delta`: `rep` a row of the cluster (the
    // row the slot started with, never changed) and `delta` the offset of the
    // centroid from it. Differences of two centroids are then
    // `(rep_p − rep_q) + (delta_p − delta_q)`: the first term is exact for
    // nearby rows (Sterbenz) and the deltas are small, so clusters at a
    // large common offset keep their digits (a centroid updated in place at
    // the offset rounded to the offset's ulp), with no global centre that
    // rows far from it would round against. Row-major copy (`iter` walks in
    // logical order whatever the layout).
    let reps: Vec<F> = x.iter().copied().collect();
    let mut deltas: Vec<F> = vec![F::zero(); m * dim];
    let mut merged: Vec<bool> = vec![false; m];
    let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m - 1);
    let mut node_of_slot: Vec<usize> = (0..m).collect();
    let mut active: Vec<usize> = (0..m).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(m);

    let row = |p: usize| p * dim..(p + 1) * dim;
    let ward = |deltas: &[F], merged: &[bool], w: &[F], p: usize, q: usize| -> F {
        let (wp, wq) = (w[p], w[q]);
        let sq = if merged[p] || merged[q] {
            let (rp, rq) = (&reps[row(p)], &reps[row(q)]);
            let (dp, dq) = (&deltas[row(p)], &deltas[row(q)]);
            offset_squared_distance(rp, rq, dp, dq)
        } else {
            squared_distance(&reps[row(p)], &reps[row(q)])
        };
        weighted_dissimilarity(sq, wp, wq)
    };

    for step in 0..m - 1 {
        if chain.is_empty() {
            chain.push(active[0]);
        }
        let (x_slot, y_slot, dist) = loop {
            let top = chain[chain.len() - 1];
            let prev = (chain.len() >= 2).then(|| chain[chain.len() - 2]);
            let (mut best, mut y) = match prev {
                Some(p) => (ward(&deltas, &merged, &weights, top, p), p),
                None => (F::infinity(), usize::MAX),
            };
            for &i in &active {
                if i == top || Some(i) == prev {
                    continue;
                }
                let v = ward(&deltas, &merged, &weights, top, i);
                if v < best {
                    best = v;
                    y = i;
                }
            }
            if y == usize::MAX {
                // every candidate at +∞ (overflowing data): take the first
                y = active.iter().copied().find(|&i| i != top).unwrap_or(top);
            }
            if Some(y) == prev {
                chain.pop();
                chain.pop();
                break (top, y, best);
            }
            chain.push(y);
        };
        let (gone, keep) = if x_slot < y_slot {
            (x_slot, y_slot)
        } else {
            (y_slot, x_slot)
        };
        found.push((node_of_slot[gone], node_of_slot[keep], dist));
        let (wg, wk) = (weights[gone], weights[keep]);
        let total = wg + wk;
        // μ_keep + (μ_gone − μ_keep)·w_gone/(w_gone + w_keep), on the deltas
        let share = wg / total;
        for k in 0..dim {
            let (g, kk) = (gone * dim + k, keep * dim + k);
            let diff = (reps[g] - reps[kk]) + (deltas[g] - deltas[kk]);
            deltas[kk] = deltas[kk] + diff * share;
        }
        merged[keep] = true;
        weights[keep] = total;
        node_of_slot[keep] = m + step;
        if let Ok(pos) = active.binary_search(&gone) {
            active.remove(pos);
        }
    }
    Dendrogram::from_unsorted(m, &found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offset form equals the `f64` sum of squares of the differences
    /// within the partial sums' bound (`(d/8 + 8)·ε` relative), tail included.
    #[test]
    fn offset_squared_distance_is_accurate() {
        for dim in [5usize, 8, 13, 256, 259] {
            let f = |k: usize, s: f32| (k as f32 * 0.37 + s).sin() * 0.5;
            let rp: Vec<f32> = (0..dim).map(|k| f(k, 1.0)).collect();
            let rq: Vec<f32> = (0..dim).map(|k| f(k, 2.0)).collect();
            let dp: Vec<f32> = (0..dim).map(|k| f(k, 3.0) * 0.01).collect();
            let dq: Vec<f32> = (0..dim).map(|k| f(k, 4.0) * 0.01).collect();
            let want: f64 = (0..dim)
                .map(|k| {
                    let t = (rp[k] - rq[k]) + (dp[k] - dq[k]);
                    f64::from(t) * f64::from(t)
                })
                .sum();
            let got = f64::from(offset_squared_distance(&rp, &rq, &dp, &dq));
            let bound = (dim as f64 / 8.0 + 8.0) * f64::from(f32::EPSILON) * want;
            assert!((got - want).abs() <= bound, "d = {dim}: {got} vs {want}");
            // zero offsets: the plain squared distance of the rows
            let zeros = vec![0.0_f32; dim];
            let plain = offset_squared_distance(&rp, &rq, &zeros, &zeros);
            let direct = squared_distance(&rp, &rq);
            assert!(
                (plain - direct).abs() <= 1e-5 * direct,
                "{plain} vs {direct}"
            );
        }
    }
}
