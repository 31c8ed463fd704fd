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

use crate::scalar::simd::vectorised;
use crate::scalar::Scalar;

use crate::linalg::{argmin, min_value};

use super::condensed::condensed_index_unchecked as condensed_index;
use super::dendrogram::Dendrogram;
use super::distances::RowMinima;
use super::method;
use super::min_heap::IndexedMinHeap;
use super::storage::CondensedStorage;

/// Pending merges from which a row catch-up first streams the whole row into
/// cache (random misses cost far more than one sequential pass).
const STREAM_ROW_AFTER: usize = 32;

/// Entries per chunk of the vectorised Lance–Williams updates.
const CHUNK: usize = 8;

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

/// [`lance_williams`] of [`CHUNK`] entries at once: the same operations in
/// the same order as [`method::lance_williams`] (no reassociation, no fused
/// multiply-add), written so that the compiler vectorises them (the
/// division is most of the cost), so bit for bit the same for finite
/// inputs. An entry with a `+∞` input (a retired slot, or a row with no
/// live neighbour left as a bound) is `+∞`, as [`method::lance_williams`]
/// gives it; an entry whose quotient overflows
/// from finite inputs is redone by [`method::lance_williams`] itself.
#[inline(always)]
fn lance_williams_chunk<F: Scalar>(
    d_ka: &[F; CHUNK],
    d_kb: &mut [F; CHUNK],
    wk: &[F; CHUNK],
    e: &LoggedMerge<F>,
) {
    let (wa, wb, d_ab) = (e.wa, e.wb, e.dist);
    let inf = F::infinity();
    let mut v = [F::zero(); CHUNK];
    // a lane needs the rescaled fallback when its quotient overflows from
    // finite inputs; an infinite input gives +∞ (the quotient is +∞ then,
    // and the clamp keeps it)
    let mut fallback = false;
    for t in 0..CHUNK {
        let total = wa + wb + wk[t];
        v[t] = ((wa + wk[t]) * d_ka[t] + (wb + wk[t]) * d_kb[t] - wk[t] * d_ab) / total;
        // or NaN: an infinite input where a product overflowed to ∞ too
        // (∞ − ∞), which must give +∞, not the clamp's 0
        fallback |= (!v[t].is_finite() & (d_ka[t] != inf) & (d_kb[t] != inf)) | v[t].is_nan();
    }
    if fallback {
        lance_williams_fallback(d_ka, d_kb, wk, e, &mut v);
    }
    for t in 0..CHUNK {
        d_kb[t] = if v[t] > F::zero() { v[t] } else { F::zero() };
    }
}

/// The lanes of [`lance_williams_chunk`] whose quotient overflowed from
/// finite inputs, or came out NaN (an infinite input with a product that
/// overflowed too: `∞ − ∞`), redone by [`method::lance_williams`] (which
/// gives `+∞` for an infinite input; rare: kept out of line so that the
/// vector loop stays small).
#[cold]
#[inline(never)]
fn lance_williams_fallback<F: Scalar>(
    d_ka: &[F; CHUNK],
    d_kb: &[F; CHUNK],
    wk: &[F; CHUNK],
    e: &LoggedMerge<F>,
    v: &mut [F; CHUNK],
) {
    let inf = F::infinity();
    for t in 0..CHUNK {
        if v[t].is_nan() || (!v[t].is_finite() && d_ka[t] != inf && d_kb[t] != inf) {
            v[t] = lance_williams(d_ka[t], d_kb[t], wk[t], e);
        }
    }
}

/// `row_b[k] = LW(row_a[k], row_b[k], w[k])` for the logged merge `e`, in
/// chunks of [`CHUNK`] ([`lance_williams_chunk`]), compiled for AVX2 where
/// the CPU has it.
fn lance_williams_rows<F: Scalar>(row_a: &[F], row_b: &mut [F], w: &[F], e: &LoggedMerge<F>) {
    vectorised(
        #[inline(always)]
        || lance_williams_rows_inline(row_a, row_b, w, e),
    );
}

/// [`lance_williams_rows`], inlined into its vectorised caller.
#[inline(always)]
fn lance_williams_rows_inline<F: Scalar>(
    row_a: &[F],
    row_b: &mut [F],
    w: &[F],
    e: &LoggedMerge<F>,
) {
    let n = row_b.len().min(row_a.len()).min(w.len());
    let (row_a, row_b, w) = (&row_a[..n], &mut row_b[..n], &w[..n]);
    let mut chunks_b = row_b.chunks_exact_mut(CHUNK);
    let mut chunks_a = row_a.chunks_exact(CHUNK);
    let mut chunks_w = w.chunks_exact(CHUNK);
    for ((y, x), wk) in (&mut chunks_b).zip(&mut chunks_a).zip(&mut chunks_w) {
        if let (Ok(y), Ok(x), Ok(wk)) = (
            <&mut [F; CHUNK]>::try_from(y),
            <&[F; CHUNK]>::try_from(x),
            <&[F; CHUNK]>::try_from(wk),
        ) {
            lance_williams_chunk(x, y, wk, e);
        }
    }
    // the tail through the same chunk code (padding lanes are discarded),
    // so every entry follows the same rule
    let rest_b = chunks_b.into_remainder();
    let (rest_a, rest_w) = (chunks_a.remainder(), chunks_w.remainder());
    if !rest_b.is_empty() {
        let (mut x, mut y, mut wk) = ([F::zero(); CHUNK], [F::zero(); CHUNK], [F::one(); CHUNK]);
        let r = rest_b.len();
        x[..r].copy_from_slice(rest_a);
        y[..r].copy_from_slice(rest_b);
        wk[..r].copy_from_slice(rest_w);
        lance_williams_chunk(&x, &mut y, &wk, e);
        rest_b.copy_from_slice(&y[..r]);
    }
}

struct State<'d, F> {
    m: usize,
    d: &'d mut [F],
    /// Row `i`'s entries `(i, j)`, `j > i`, live at `d[row_start[i] + j − i − 1]`.
    row_start: Vec<usize>,
    w: Vec<F>,
    log: Vec<LoggedMerge<F>>,
    /// Number of log entries row `i` reflects.
    replayed: Vec<usize>,
    nn: Vec<usize>,
    min_dist: Vec<F>,
    heap: IndexedMinHeap<F>,
    /// Scratch of the bound lowering after a merge.
    bounds: Vec<F>,
}

impl<F: Scalar> State<'_, F> {
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
    mut storage: CondensedStorage<F>,
    w: Vec<F>,
    leaf_ids: Vec<usize>,
    minima: RowMinima<F>,
) -> Dendrogram<F> {
    // the slice once: the storage's deref is not free in the hot loops
    let d: &mut [F] = &mut storage;
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
        bounds: Vec::new(),
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
        if a + 1 < b {
            let from_a = s.at(a, a + 1);
            let row_a = &s.d[from_a..from_a + (b - a - 1)];
            let mut bounds = core::mem::take(&mut s.bounds);
            bounds.clear();
            bounds.extend_from_slice(&s.min_dist[a + 1..b]);
            lance_williams_rows(row_a, &mut bounds, &s.w[a + 1..b], &e);
            for (k, &bound) in (a + 1..b).zip(&bounds) {
                if bound < s.min_dist[k] {
                    s.min_dist[k] = bound;
                    s.nn[k] = b;
                    s.heap.update(k, bound);
                }
            }
            s.bounds = bounds;
        }
        // Row b, all k > b, from rows a and b (both current; retired entries
        // are +∞ in both and stay +∞).
        if b + 1 < m {
            let len = m - b - 1;
            let from_a = s.at(a, b + 1);
            let (head, tail) = s.d.split_at_mut(s.row_start[b]);
            let row_a = &head[from_a..from_a + len];
            let row_b = &mut tail[..len];
            lance_williams_rows(row_a, row_b, &s.w[b + 1..], &e);
            s.rescan(b);
        }
        s.w[b] = e.wa + e.wb;
        s.log.push(e);
        s.replayed[b] = s.log.len();
        node_of[b] = m + step;
    }
    Dendrogram::from_unsorted(m, &found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same dendrogram, bit for bit, whichever storage the condensed
    /// matrix lives in (a `Vec`, or the huge-page mapping large matrices get
    /// on Linux), on a matrix with ordered and scattered merges and ties.
    #[test]
    fn mapped_storage_gives_the_same_dendrogram() {
        fn run<F: Scalar>(m: usize, d: &[F], storage: CondensedStorage<F>) -> Dendrogram<F> {
            let mut storage = storage;
            storage.copy_from_slice(d);
            let minima = RowMinima::of_condensed(m, &storage);
            generic_linkage(m, storage, vec![F::one(); m], (0..m).collect(), minima)
        }
        fn check<F: Scalar>() {
            let m = 300;
            let mut s = 0x2545_f491_4f6c_dd1d_u64;
            let points: Vec<[f64; 3]> = (0..m)
                .map(|i| {
                    let mut c = [0.0; 3];
                    for v in &mut c {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        // a few values only: tied distances
                        *v = (s % 7) as f64 + (i % 5) as f64 * 10.0;
                    }
                    c
                })
                .collect();
            let mut d = Vec::with_capacity(m * (m - 1) / 2);
            for i in 0..m {
                for j in i + 1..m {
                    let e: f64 = (0..3).map(|k| (points[i][k] - points[j][k]).powi(2)).sum();
                    d.push(F::from_f64_rounded(e));
                }
            }
            let heap = run(m, &d, CondensedStorage::from(vec![F::zero(); d.len()]));
            let Some(mapped) = CondensedStorage::<F>::zeroed_mapped(d.len()) else {
                // only where no mapping is made at all
                #[cfg(target_os = "linux")]
                panic!("no huge-page mapping granted on Linux");
                #[cfg(not(target_os = "linux"))]
                return;
            };
            assert!(mapped.is_mapped());
            assert!(mapped.iter().all(|&v| v == F::zero()));
            let mapped = run(m, &d, mapped);
            assert_eq!(heap.merges(), mapped.merges());
        }
        check::<f64>();
        check::<f32>();
    }

    /// An infinite input (a retired slot) stays `+∞` where `w_K·d(A, B)`
    /// overflows and the direct form is `∞ − ∞`, in the scalar formula and
    /// the vectorised rows alike (the rows gave 0 there, which let a retired
    /// slot back into the heap: a fuzz input, weights 1e-245..1e235).
    #[test]
    fn infinite_inputs_stay_infinite_when_a_product_overflows() {
        let e = LoggedMerge {
            a: 0,
            b: 1,
            wa: 2.5e235_f64,
            wb: 5.8e239,
            dist: 4.3e239,
        };
        let wk = 2.5e235;
        assert_eq!(lance_williams(f64::INFINITY, 1.0, wk, &e), f64::INFINITY);
        assert_eq!(lance_williams(1.0, f64::INFINITY, wk, &e), f64::INFINITY);
        for n in [1, 8, 11] {
            let row_a = vec![f64::INFINITY; n];
            let mut row_b = vec![1.0; n];
            lance_williams_rows(&row_a, &mut row_b, &vec![wk; n], &e);
            assert!(row_b.iter().all(|&v| v == f64::INFINITY), "{n}: {row_b:?}");
        }
    }

    /// The vectorised row update is `method::lance_williams` entry by entry,
    /// bit for bit, on finite values (random, zeros, overflowing products
    /// that take the rescaled fallback) at lengths around the chunk size, and
    /// keeps `+∞` (retired slots) at `+∞`.
    #[test]
    fn vectorised_rows_are_lance_williams_bit_for_bit() {
        fn check<F: Scalar>(big: F) {
            let mut s = 0x9e37_79b9_7f4a_7c15_u64;
            let mut next = move || {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            };
            for n in [0, 1, 7, 8, 9, 16, 23, 100] {
                let e = LoggedMerge {
                    a: 0,
                    b: 1,
                    wa: F::from_f64_rounded(1.0 + 5.0 * next()),
                    wb: F::from_f64_rounded(1.0 + 3.0 * next()),
                    dist: F::from_f64_rounded(next()),
                };
                let mut row_a: Vec<F> = (0..n).map(|_| F::from_f64_rounded(4.0 * next())).collect();
                let mut row_b: Vec<F> = (0..n).map(|_| F::from_f64_rounded(4.0 * next())).collect();
                let w: Vec<F> = (0..n)
                    .map(|_| F::from_f64_rounded(1.0 + 9.0 * next()))
                    .collect();
                for k in (0..n).step_by(5) {
                    row_a[k] = F::zero();
                }
                for k in (2..n).step_by(7) {
                    // products that overflow although the result is finite
                    row_a[k] = big;
                    row_b[k] = big;
                }
                for k in (3..n).step_by(6).filter(|k| k % 7 != 2) {
                    row_a[k] = F::infinity();
                    row_b[k] = F::infinity();
                }
                let want: Vec<F> = row_a
                    .iter()
                    .zip(&row_b)
                    .zip(&w)
                    .map(|((&x, &y), &wk)| lance_williams(x, y, wk, &e))
                    .collect();
                let mut got = row_b.clone();
                lance_williams_rows(&row_a, &mut got, &w, &e);
                for k in 0..n {
                    assert_eq!(
                        got[k].to_f64_lossless().to_bits(),
                        want[k].to_f64_lossless().to_bits(),
                        "n={n} k={k}"
                    );
                }
                assert!((2..n).step_by(7).all(|k| got[k].is_finite()));
                assert!((3..n)
                    .step_by(6)
                    .filter(|k| k % 7 != 2)
                    .all(|k| got[k] == F::infinity()));
            }
        }
        check::<f64>(f64::MAX / 4.0);
        check::<f32>(f32::MAX / 4.0);
    }
}
