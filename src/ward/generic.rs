//! Müllner's generic agglomerative algorithm on a condensed dissimilarity
//! matrix: the clustering of the matrix path.
//!
//! This is the "generic" algorithm of Müllner (2011, *Modern hierarchical,
//! agglomerative clustering algorithms*, arXiv:1109.2378, Figure 3; the one
//! fastcluster uses for the centroid and median methods) specialised to Ward,
//! with the row minima cached in an indexed heap and the Lance–Williams
//! updates ([`method`]) of the column entries replayed lazily:
//!
//! * every live cluster `i` caches its nearest neighbour among the live clusters
//!   `j > i` — the *contiguous* part of row `i` of the upper-triangle storage —
//!   and the clusters sit in an indexed min-heap keyed by that distance;
//! * the pair on top of the heap, once validated, is a **global minimum** of the
//!   current dissimilarities, so merges are found in sorted order;
//! * after merging `a < b` (the new cluster lives on in slot `b`), the
//!   Lance–Williams update
//!   `d(A∪B, K) = ((w_A+w_K)·d(A,K) + (w_B+w_K)·d(B,K) − w_K·d(A,B)) / (w_A+w_B+w_K)`
//!   rewrites row `b` (the entries `(b, k)`, `k > b`) at once, contiguously;
//! * the column entries `(k, b)`, `k < b`, are **not** touched at the merge
//!   (that would read one cache line per live cluster, all over the matrix):
//!   the merge is appended to a log, and row `k` replays the log entries it
//!   has not seen the next time it is needed. The replay reads row `k` itself
//!   (streamed into cache first when many merges are pending) and the log;
//!   only for `a < k < b` does it read one entry of another row, the frozen
//!   row of the retired slot `a` — rarely, since the rows are ordered so that
//!   merged slots are mostly near each other (see
//!   [`ordering`](super::ordering)). The retired slot is overwritten with `+∞`
//!   in each replayed row, so rescans are branch-free passes over contiguous
//!   memory;
//! * Ward is reducible (`d(A∪B, K) ≥ min(d(A,K), d(B,K))` whenever `A, B` is a
//!   closest pair), so the cached minimum of a row `k < a` stays a lower bound
//!   after the merge; for `a < k < b`, whose new entry `(k, b)` also depends on
//!   `(a, k)` outside row `k`, the bound `LW(d(a,k), min_k)` (Lance–Williams
//!   is increasing in `d(k, b) ≥ min_k`) lowers the key where needed, from
//!   the contiguous row `a`. Stale rows need no other attention until they
//!   reach the top of the heap, where they are replayed, checked and
//!   rescanned if their neighbour changed.
//!
//! The nearest-neighbour chain (scipy, fastcluster, kodama) instead reads whole
//! columns of the upper triangle in its neighbour searches and updates, one
//! cache line per element; on a matrix larger than the caches that dominates
//! its time. The price here is the order of exactly tied merges, which may
//! differ from scipy's (both are valid Ward dendrograms).

use crate::scalar::Scalar;

use crate::linalg::{argmin, min_value};

use super::condensed::condensed_index_unchecked as condensed_index;
use super::dendrogram::Dendrogram;
use super::distances::RowMinima;
use super::method;
use super::min_heap::IndexedMinHeap;

/// Pending merges from which a row catch-up first streams the whole row into
/// cache (random misses cost far more than one sequential pass).
const STREAM_ROW_AFTER: usize = 32;

/// One merge, as the rows that have not replayed it yet need it.
#[derive(Debug, Clone, Copy)]
struct LoggedMerge<F> {
    /// The retired slot (`a < b`).
    a: usize,
    /// The slot the merged cluster lives on in.
    b: usize,
    wa: F,
    wb: F,
    dist: F,
}

/// The Lance–Williams Ward update ([`method::lance_williams`]) of entry
/// `(k, ·)` for the logged merge `e`.
#[inline(always)]
fn lance_williams<F: Scalar>(d_ka: F, d_kb: F, wk: F, e: &LoggedMerge<F>) -> F {
    method::lance_williams(d_ka, d_kb, e.dist, e.wa, e.wb, wk)
}

struct State<F> {
    m: usize,
    d: Vec<F>,
    /// Row `i`'s entries `(i, j)`, `j > i`, live at `d[row_start[i] + j − i − 1]`.
    row_start: Vec<usize>,
    w: Vec<F>,
    log: Vec<LoggedMerge<F>>,
    /// Number of log entries row `i` reflects.
    replayed: Vec<usize>,
    nn: Vec<usize>,
    min_dist: Vec<F>,
    heap: IndexedMinHeap<F>,
}

impl<F: Scalar> State<F> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> usize {
        self.row_start[i] + (j - i - 1)
    }

    #[inline(always)]
    fn row(&self, i: usize) -> &[F] {
        let s = self.row_start[i];
        &self.d[s..s + (self.m - i - 1)]
    }

    /// Replays on row `i` the merges it has not seen.
    fn catch_up(&mut self, i: usize) {
        let start = self.replayed[i];
        let end = self.log.len();
        if start == end || i + 1 == self.m {
            // the last slot has no row: every pending merge is left of it
            self.replayed[i] = end;
            return;
        }
        let wi = self.w[i];
        let rs = self.row_start[i];
        if end - start >= STREAM_ROW_AFTER {
            // Many random updates ahead: pull the row into cache at streaming
            // speed first (one sequential pass) instead of one miss at a time.
            core::hint::black_box(min_value(self.row(i)));
        }
        // Which case an entry falls in:
        // * b < i: the merge is left of row i, nothing to do (a branch:
        //   skipping is cheaper than any branch-free form);
        // * i < a: entries (i, a) and (i, b) of row i; (i, a) is retired to +∞;
        // * a < i < b: entry (a, i) of the retired slot's frozen row (written
        //   back unchanged) and entry (i, b) of row i.
        // The last two are told apart by selects, not jumps: the case is
        // random from one entry to the next, and mispredictions would also
        // serialise the cache misses.
        let mut lowered = false;
        for t in start..end {
            let e = self.log[t];
            if e.b < i {
                continue;
            }
            let below = i < e.a;
            let ib = rs + (e.b - i - 1);
            // a bit-mask select: LLVM turns an `if` here into a jump
            let own = rs.wrapping_add(e.a.wrapping_sub(i + 1));
            let frozen = self.row_start[e.a].wrapping_add(i.wrapping_sub(e.a + 1));
            let mask = usize::from(below).wrapping_neg();
            let ia = (own & mask) | (frozen & !mask);
            let d_ib = self.d[ib];
            let d_ia = self.d[ia];
            let v = lance_williams(d_ia, d_ib, wi, &e);
            self.d[ia] = [d_ia, F::infinity()][usize::from(below)];
            self.d[ib] = v;
            // only by rounding (reducibility) can an update undercut the
            // cached minimum: noted here, handled after the loop
            lowered |= v < self.min_dist[i];
        }
        self.replayed[i] = end;
        if lowered {
            self.rescan(i);
        }
    }

    /// Recomputes row `i`'s nearest neighbour; drops `i` from the heap when no
    /// live cluster is left to its right.
    fn rescan(&mut self, i: usize) {
        match argmin(self.row(i)) {
            Some((k, v)) if v.is_finite() => {
                self.nn[i] = i + 1 + k;
                self.min_dist[i] = v;
                self.heap.update(i, v);
            }
            _ => {
                self.nn[i] = usize::MAX;
                self.min_dist[i] = F::infinity();
                self.heap.remove(i);
            }
        }
    }
}

/// Runs Ward's method on `d` (scipy's condensed order, consumed and updated in
/// place) with initial cluster weights `weights`.
///
/// # Complexity
/// O(m²) time in practice (each merge rewrites one row, replays O(m) logged
/// merges in cache-resident rows and triggers O(1) rescans on typical data;
/// O(m³) at worst), O(m) space besides `d`.
///
/// `leaf_ids[i]` is the observation number reported for slot `i` (the rows may
/// have been reordered, see [`ordering`](super::ordering)); `minima` are the
/// row minima of `d` ([`RowMinima::of_condensed`], or as the distance kernel
/// found them).
pub(crate) fn generic_linkage<F: Scalar>(
    m: usize,
    d: Vec<F>,
    w: Vec<F>,
    leaf_ids: Vec<usize>,
    minima: RowMinima<F>,
) -> Dendrogram<F> {
    debug_assert_eq!(d.len(), m * m.saturating_sub(1) / 2);
    debug_assert_eq!(w.len(), m);
    debug_assert_eq!(leaf_ids.len(), m);
    if m < 2 {
        return Dendrogram::from_unsorted(m, &[]);
    }
    let row_start: Vec<usize> = (0..m)
        .map(|i| {
            if i + 1 < m {
                condensed_index(m, i, i + 1)
            } else {
                d.len()
            }
        })
        .collect();
    let RowMinima { nn, dist: min_dist } = minima;
    let mut heap = IndexedMinHeap::from_keys(min_dist.clone());
    heap.remove(m - 1);
    let mut s = State {
        m,
        d,
        row_start,
        w,
        log: Vec::with_capacity(m - 1),
        replayed: vec![0; m],
        nn,
        min_dist,
        heap,
    };
    let mut node_of = leaf_ids;
    let mut alive = vec![true; m];
    let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m - 1);

    for step in 0..m - 1 {
        // The top of the heap, once current and checked, is a global minimum.
        let a = loop {
            let Some(i) = s.heap.top() else {
                // Only when dissimilarities overflowed to +∞ (finite input of
                // enormous magnitude): join what is left at +∞, in slot order.
                let live: Vec<usize> = (0..m).filter(|&k| alive[k]).collect();
                let mut acc = live[0];
                for (t, &k) in live.iter().enumerate().skip(1) {
                    found.push((node_of[acc], node_of[k], F::infinity()));
                    node_of[k] = m + step + t - 1;
                    acc = k;
                }
                return Dendrogram::from_unsorted(m, &found);
            };
            s.catch_up(i);
            let j = s.nn[i];
            if j != usize::MAX && s.d[s.at(i, j)] == s.min_dist[i] {
                break i;
            }
            s.rescan(i);
        };
        let b = s.nn[a];
        s.catch_up(b);
        let e = LoggedMerge {
            a,
            b,
            wa: s.w[a],
            wb: s.w[b],
            dist: s.min_dist[a],
        };
        found.push((node_of[a], node_of[b], e.dist));
        s.heap.remove(a);
        alive[a] = false;
        // Live k between a and b will get d(k, A∪B) from d(a, k), which is
        // not in row k: their cached minimum may stop being a lower bound.
        // Lance–Williams is increasing in d(k, b) ≥ min_dist[k], so
        // LW(d(a, k), min_dist[k]) is one; lower the key to it where smaller
        // (row a is current and contiguous here; retired k read +∞).
        for k in a + 1..b {
            let d_ak = s.d[s.at(a, k)];
            let bound = lance_williams(d_ak, s.min_dist[k], s.w[k], &e);
            if bound < s.min_dist[k] {
                s.min_dist[k] = bound;
                s.nn[k] = b;
                s.heap.update(k, bound);
            }
        }
        // Row b, all k > b, from rows a and b (both current; retired entries
        // are +∞ in both and stay +∞).
        if b + 1 < m {
            let len = m - b - 1;
            let from_a = s.at(a, b + 1);
            let (head, tail) = s.d.split_at_mut(s.row_start[b]);
            let row_a = &head[from_a..from_a + len];
            let row_b = &mut tail[..len];
            for ((x, y), &wk) in row_a.iter().zip(row_b.iter_mut()).zip(&s.w[b + 1..]) {
                *y = lance_williams(*x, *y, wk, &e);
            }
            s.rescan(b);
        }
        s.w[b] = e.wa + e.wb;
        s.log.push(e);
        s.replayed[b] = s.log.len();
        node_of[b] = m + step;
    }
    Dendrogram::from_unsorted(m, &found)
}
