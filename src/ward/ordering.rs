//! Seriation: an order of the observations that puts similar ones at nearby
//! indices.
//!
//! The matrix path replays each merge `(a, b)` on the rows between `a` and `b`
//! with a read from another row, and lowers their bounds from row `a` (see
//! [`generic`](super::generic)): the closer the two merged slots, the less
//! work. Sorting the observations along one axis of the data puts each tight
//! group in a contiguous index range, so most merges join nearby slots
//! (DESIGN.md has the measured effect).
//!
//! The axis is FastMap's: pivot `p` is the observation farthest from
//! observation 0, pivot `q` the one farthest from `p`, and observation `i` sits
//! at `d(p, i) − d(q, i)`, which for squared Euclidean distances is an affine
//! function of its projection on the line `pq`. It needs only dissimilarities,
//! so the embedding-matrix and the condensed entry points order the same
//! problem the same way and give identical dendrograms, ties included. The
//! order is undone in the output: merges name the caller's observations.

use crate::scalar::Scalar;

/// The condensed matrix of at most this many bytes is replayed in cache
/// whatever the row order: below it, the rows keep their given order (the
/// FastMap ordering costs O(m·d), as much as a sixth of a small linkage).
pub(crate) const ORDER_ROWS_FROM_BYTES: usize = 64 << 10;

/// Whether `m` rows of `F` are few enough to keep their given order (see
/// [`ORDER_ROWS_FROM_BYTES`]).
pub(crate) fn keeps_row_order<F>(m: usize) -> bool {
    m.saturating_mul(m.saturating_sub(1)) / 2 * core::mem::size_of::<F>() <= ORDER_ROWS_FROM_BYTES
}

/// Observation indices sorted by their FastMap coordinate (ties by index),
/// for `m` observations with dissimilarity `dist(i, j)`.
///
/// # Complexity
/// O(m) calls of `dist` plus O(m log m) time, O(m) space.
#[inline(always)]
pub(crate) fn fastmap_order<F: Scalar>(m: usize, dist: impl Fn(usize, usize) -> F) -> Vec<usize> {
    let mut order: Vec<usize> = (0..m).collect();
    if m < 3 {
        return order;
    }
    let p = farthest(m, 0, &dist);
    let q = farthest(m, p, &dist);
    let coordinate: Vec<F> = (0..m)
        .map(
            #[inline(always)]
            |i| {
                let dp = if i == p { F::zero() } else { dist(p, i) };
                let dq = if i == q { F::zero() } else { dist(q, i) };
                dp - dq
            },
        )
        .collect();
    order.sort_by(|&a, &b| {
        coordinate[a]
            .partial_cmp(&coordinate[b])
            .unwrap_or(core::cmp::Ordering::Equal)
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

    #[test]
    fn sorts_points_on_a_line() {
        let xs = [3.0, -1.0, 10.0, 0.5, 7.0, 2.0];
        let order = fastmap_order(xs.len(), line_dist(&xs));
        let sorted: Vec<f64> = order.iter().map(|&i| xs[i]).collect();
        let ascending = sorted.windows(2).all(|w| w[0] <= w[1]);
        let descending = sorted.windows(2).all(|w| w[0] >= w[1]);
        assert!(ascending || descending, "{sorted:?}");
    }

    #[test]
    fn coincident_points_keep_index_order() {
        let xs = [1.0; 5];
        assert_eq!(fastmap_order(5, line_dist(&xs)), vec![0, 1, 2, 3, 4]);
        assert_eq!(fastmap_order(2, line_dist(&xs)), vec![0, 1]);
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
