//! Seriation: an order of the observations that puts similar ones at nearby
//! indices.
//!
//! The matrix path replays each merge `(a, b)` on the rows between `a` and `b`
//! with a read from another row, and lowers their bounds from row `a` (see
//! [`generic`](super::generic)): the fewer live slots lie between two merged
//! slots, the less work, and on a matrix larger than the caches each of those
//! reads goes to memory. Grouping the observations puts each tight group in a
//! contiguous index range, so most merges join nearby slots (DESIGN.md has
//! the measured effect).
//!
//! The groups are farthest-point clustering's (Gonzalez 1985), chained
//! through their pivots by nearest neighbour ([`seriation_order`]). It needs
//! only dissimilarities, so the embedding-matrix and the condensed entry
//! points order the same problem the same way and give identical
//! dendrograms, ties included. The order is undone in the output: merges name
//! the caller's observations.

use crate::scalar::Scalar;

/// The condensed matrix of at most this many bytes is replayed in cache
/// whatever the row order: below it, the rows keep their given order (an
/// ordering pass over the rows costs O(m·d), as much as a sixth of a small
/// linkage).
pub(crate) const ORDER_ROWS_FROM_BYTES: usize = 64 << 10;

/// Whether `m` rows of `F` are few enough to keep their given order (see
/// [`ORDER_ROWS_FROM_BYTES`]).
pub(crate) fn keeps_row_order<F>(m: usize) -> bool {
    m.saturating_mul(m.saturating_sub(1)) / 2 * core::mem::size_of::<F>() <= ORDER_ROWS_FROM_BYTES
}

/// Pivots of the farthest-point grouping for `m` observations: one per 128
/// observations, at least 4 and at most 32. Each costs `m` distance
/// evaluations, so the ordering stays under 1/64 of the linkage's `m²/2`
/// products. Measured (d = 256, 16 blobs, DESIGN.md): 4 pivots cost nothing
/// at m = 500, 15 gained 5% at m = 2000, and at m = 5000 more than 32 cost
/// more than they saved.
fn pivot_count(m: usize) -> usize {
    (m / 128).clamp(4, 32)
}

/// Observation indices in groups of nearby observations (ties by index), for
/// `m` observations with dissimilarity `dist(i, j)`.
///
/// Farthest-point clustering (Gonzalez 1985): the first pivot is the
/// observation farthest from observation 0, each next one the observation
/// farthest from every pivot so far, and every observation joins its nearest
/// pivot. The groups follow a nearest-neighbour chain through the pivots
/// (from the first, always to the nearest pivot not yet visited), and within
/// a group the observations follow their distance to its pivot. Tight groups
/// of the data come out contiguous, and neighbouring groups adjacent.
///
/// # Complexity
/// O(s·m) calls of `dist` (`s` = [`pivot_count`]`(m)` ≤ 32) plus
/// O(s² + m log m) time, O(m) space.
#[inline(always)]
pub(crate) fn seriation_order<F: Scalar>(m: usize, dist: impl Fn(usize, usize) -> F) -> Vec<usize> {
    let mut order: Vec<usize> = (0..m).collect();
    if m < 3 {
        return order;
    }
    let d = |i: usize, j: usize| if i == j { F::zero() } else { dist(i, j) };
    let first = farthest(m, 0, &dist);
    let mut pivots = vec![first];
    // distance to the nearest pivot so far, and that pivot's number
    let mut nearest: Vec<(F, usize)> = (0..m).map(|i| (d(first, i), 0)).collect();
    let wanted = pivot_count(m);
    while pivots.len() < wanted {
        let mut next = (F::zero(), usize::MAX);
        for (i, &(v, _)) in nearest.iter().enumerate() {
            if v > next.0 {
                next = (v, i);
            }
        }
        if next.1 == usize::MAX {
            break; // every observation sits on a pivot
        }
        let (p, k) = (next.1, pivots.len());
        pivots.push(p);
        for (i, slot) in nearest.iter_mut().enumerate() {
            let v = d(p, i);
            if v < slot.0 {
                *slot = (v, k);
            }
        }
    }
    // the chain through the pivots, and each group's place in it
    let s = pivots.len();
    let mut rank = vec![usize::MAX; s];
    let mut at = 0;
    rank[0] = 0;
    for r in 1..s {
        let mut best = (F::infinity(), usize::MAX);
        for (k, &pk) in pivots.iter().enumerate() {
            if rank[k] == usize::MAX {
                let v = d(pivots[at], pk);
                if v < best.0 || best.1 == usize::MAX {
                    best = (v, k);
                }
            }
        }
        at = best.1;
        rank[at] = r;
    }
    order.sort_by(|&a, &b| {
        let ((va, ga), (vb, gb)) = (nearest[a], nearest[b]);
        rank[ga]
            .cmp(&rank[gb])
            .then(va.partial_cmp(&vb).unwrap_or(core::cmp::Ordering::Equal))
            .then(a.cmp(&b))
    });
    order
}

/// The observation farthest from `from` (the first at ties; `from` itself
/// if every other is at distance 0).
#[inline(always)]
fn farthest<F: Scalar>(m: usize, from: usize, dist: &impl Fn(usize, usize) -> F) -> usize {
    let mut best = (F::zero(), from);
    for i in 0..m {
        let v = if i == from { F::zero() } else { dist(from, i) };
        if v > best.0 {
            best = (v, i);
        }
    }
    best.1
}

/// `order` applied to a condensed matrix of `m` observations: the entries
/// of the permuted matrix in condensed order, entry `(i, j)` being entry
/// `(order[i], order[j])` of `d`.
///
/// # Complexity
/// O(m²) time, no allocation.
pub(crate) fn permuted_condensed<'a, F: Scalar>(
    m: usize,
    d: &'a [F],
    order: &'a [usize],
) -> impl Iterator<Item = F> + 'a {
    let start = move |i: usize| (2 * m - i - 1) * i / 2; // condensed position of (i, i+1)
    order.iter().enumerate().flat_map(move |(i, &oi)| {
        order[i + 1..].iter().map(move |&oj| {
            let (lo, hi) = if oi < oj { (oi, oj) } else { (oj, oi) };
            d[start(lo) + hi - lo - 1]
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ward::condensed::condensed_index_unchecked as condensed_index;

    fn line_dist(xs: &[f64]) -> impl Fn(usize, usize) -> f64 + '_ {
        move |i, j| (xs[i] - xs[j]) * (xs[i] - xs[j])
    }

    fn is_permutation(order: &[usize]) -> bool {
        let mut seen = vec![false; order.len()];
        order
            .iter()
            .all(|&i| i < seen.len() && !std::mem::replace(&mut seen[i], true))
    }

    #[test]
    fn tight_groups_come_out_contiguous() {
        // four tight groups of 64 points on a line, far apart, shuffled by
        // a fixed stride: each group must be one run of the order
        let (groups, size) = (4, 64);
        let m = groups * size;
        let xs: Vec<f64> = (0..m)
            .map(|i| {
                let k = (i * 97) % m; // a permutation of 0..m (97 is prime to 256)
                (k / size) as f64 * 1000.0 + (k % size) as f64 * 0.01
            })
            .collect();
        let order = seriation_order(m, line_dist(&xs));
        assert!(is_permutation(&order));
        let group_of: Vec<usize> = order
            .iter()
            .map(|&i| (xs[i] / 1000.0).round() as usize)
            .collect();
        let runs = 1 + group_of.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(runs, groups, "{group_of:?}");
        // and neighbouring groups sit next to each other: the chain walks
        // the line from one end
        let firsts: Vec<usize> = group_of.chunks(size).map(|c| c[0]).collect();
        let ascending = firsts.windows(2).all(|w| w[0] < w[1]);
        let descending = firsts.windows(2).all(|w| w[0] > w[1]);
        assert!(ascending || descending, "{firsts:?}");
    }

    #[test]
    fn every_size_gives_a_permutation() {
        for m in [3, 4, 5, 17, 130, 600, 5000] {
            let xs: Vec<f64> = (0..m).map(|i| ((i * 7919) % 1009) as f64).collect();
            let order = seriation_order(m, line_dist(&xs));
            assert_eq!(order.len(), m);
            assert!(is_permutation(&order), "m = {m}");
        }
        assert_eq!(pivot_count(500), 4);
        assert_eq!(pivot_count(2000), 15);
        assert_eq!(pivot_count(100_000), 32);
    }

    #[test]
    fn coincident_points_keep_index_order() {
        let xs = [1.0; 5];
        assert_eq!(seriation_order(5, line_dist(&xs)), vec![0, 1, 2, 3, 4]);
        assert_eq!(seriation_order(2, line_dist(&xs)), vec![0, 1]);
        // two coincident pairs: the pair farthest from observation 0 leads
        let xs = [0.0, 5.0, 0.0, 5.0];
        assert_eq!(seriation_order(4, line_dist(&xs)), vec![1, 3, 0, 2]);
    }

    #[test]
    fn permuting_a_condensed_matrix_moves_its_entries() {
        let m = 5;
        let d: Vec<f64> = (0..m * (m - 1) / 2).map(|k| k as f64).collect();
        let order = [3, 0, 4, 1, 2];
        let p: Vec<f64> = permuted_condensed(m, &d, &order).collect();
        assert_eq!(p.len(), d.len());
        for i in 0..m {
            for j in i + 1..m {
                let (a, b) = (order[i].min(order[j]), order[i].max(order[j]));
                assert_eq!(p[condensed_index(m, i, j)], d[condensed_index(m, a, b)]);
            }
        }
    }
}
