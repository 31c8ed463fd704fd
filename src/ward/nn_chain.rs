//! The nearest-neighbour-chain algorithm with the Lance–Williams Ward update.

use crate::scalar::Scalar;

use super::condensed::condensed_index;
use super::dendrogram::Dendrogram;

/// Runs the nearest-neighbour chain over a condensed dissimilarity matrix,
/// consuming it (it is updated in place).
///
/// `dissimilarities` holds `d(i, j)` for `i < j` in scipy's condensed order and
/// `weights[i]` the weight of observation `i` (1 for plain points). The update is
/// Lance–Williams for Ward:
///
/// `d(A∪B, K) = ((w_A+w_K)·d(A,K) + (w_B+w_K)·d(B,K) − w_K·d(A,B)) / (w_A+w_B+w_K)`.
///
/// Ward is reducible, so the chain finds every reciprocal-nearest-neighbour pair
/// in O(m²) total time. Ties are broken as scipy breaks them: the previous chain
/// element wins a tie, otherwise the lowest index.
pub(crate) fn nn_chain<F: Scalar>(
    m: usize,
    mut dissimilarities: Vec<F>,
    mut weights: Vec<F>,
) -> Dendrogram<F> {
    debug_assert_eq!(dissimilarities.len(), m * m.saturating_sub(1) / 2);
    debug_assert_eq!(weights.len(), m);
    let d = &mut dissimilarities;
    let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m.saturating_sub(1));
    // node id (in order of discovery) currently stored in each slot
    let mut node_of_slot: Vec<usize> = (0..m).collect();
    // active slots in increasing order
    let mut active: Vec<usize> = (0..m).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(m);

    for step in 0..m.saturating_sub(1) {
        if chain.is_empty() {
            chain.push(active[0]);
        }
        let (x, y, dist) = loop {
            let x = chain[chain.len() - 1];
            let (mut best, mut y) = if chain.len() >= 2 {
                let prev = chain[chain.len() - 2];
                (d[pair_index(m, x, prev)], prev)
            } else {
                (F::infinity(), usize::MAX)
            };
            for &i in &active {
                if i == x {
                    continue;
                }
                let v = d[pair_index(m, x, i)];
                if v < best {
                    best = v;
                    y = i;
                }
            }
            if chain.len() >= 2 && y == chain[chain.len() - 2] {
                chain.pop();
                chain.pop();
                break (x, y, best);
            }
            chain.push(y);
        };
        // The merged cluster lives on in slot `keep`; slot `gone` is retired.
        let (gone, keep) = if x < y { (x, y) } else { (y, x) };
        found.push((node_of_slot[gone], node_of_slot[keep], dist));
        let (wg, wk) = (weights[gone], weights[keep]);
        for &i in &active {
            if i == gone || i == keep {
                continue;
            }
            let wi = weights[i];
            let ig = pair_index(m, i, gone);
            let ik = pair_index(m, i, keep);
            let updated = ((wg + wi) * d[ig] + (wk + wi) * d[ik] - wi * dist) / (wg + wk + wi);
            // Rounding can push a tiny result below zero; distances are >= 0.
            d[ik] = updated.max(F::zero());
        }
        weights[keep] = wg + wk;
        node_of_slot[keep] = m + step;
        if let Ok(pos) = active.binary_search(&gone) {
            active.remove(pos);
        }
    }
    Dendrogram::from_unsorted(m, &found)
}

#[inline(always)]
fn pair_index(m: usize, i: usize, j: usize) -> usize {
    if i < j {
        condensed_index(m, i, j)
    } else {
        condensed_index(m, j, i)
    }
}
