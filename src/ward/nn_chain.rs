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
//! leaves equal centroids exactly equal) of weight `w_A + w_B`.
//!
//! Ward is reducible, so the chain finds every reciprocal-nearest-neighbour
//! pair; sorting the pairs by distance gives merges that are each a global
//! minimum of the current dissimilarities.

use ndarray::ArrayView2;

use crate::scalar::Scalar;

use crate::linalg::squared_distance;

use super::dendrogram::Dendrogram;
use super::method::{merge_centroid, weighted_dissimilarity};

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
    // row-major copy (`iter` walks in logical order whatever the layout),
    // centred on the first row: Ward is translation-invariant, and merged
    // centroids kept at the data's offset would round to the offset's ulp
    // (a subtraction within a factor 2 of the first row is exact, Sterbenz)
    let first = x.row(0).to_vec();
    let mut centroids: Vec<F> = x
        .rows()
        .into_iter()
        .flat_map(|row| row.into_iter().zip(&first).map(|(&v, &c)| v - c))
        .collect();
    let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m - 1);
    let mut node_of_slot: Vec<usize> = (0..m).collect();
    let mut active: Vec<usize> = (0..m).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(m);

    let ward = |c: &[F], w: &[F], p: usize, q: usize| -> F {
        let (wp, wq) = (w[p], w[q]);
        let sq = squared_distance(&c[p * dim..(p + 1) * dim], &c[q * dim..(q + 1) * dim]);
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
                Some(p) => (ward(&centroids, &weights, top, p), p),
                None => (F::infinity(), usize::MAX),
            };
            for &i in &active {
                if i == top || Some(i) == prev {
                    continue;
                }
                let v = ward(&centroids, &weights, top, i);
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
        let (lo, hi) = centroids.split_at_mut(keep * dim);
        merge_centroid(&mut hi[..dim], &lo[gone * dim..(gone + 1) * dim], wg, wk);
        weights[keep] = total;
        node_of_slot[keep] = m + step;
        if let Ok(pos) = active.binary_search(&gone) {
            active.remove(pos);
        }
    }
    Dendrogram::from_unsorted(m, &found)
}
