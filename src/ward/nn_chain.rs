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
//!
//! Each neighbour search first bounds every live cluster's dissimilarity
//! from packed `f32` sketches of the centroids (one contiguous stream, the
//! vector kernel), then recomputes exactly only the clusters whose lower
//! bound reaches the smallest upper bound: the decisions, heights and tie
//! order are those of the exact scan (see `DESIGN.md`, "The lean path").

use std::borrow::Cow;
use std::cmp::Ordering;

use ndarray::ArrayView2;

use crate::scalar::simd::dispatch::sqdist_f32;
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

/// Exact centroids: each one a row of its cluster plus an offset.
///
/// Each centroid is kept as `rep + delta`: `rep` a row of the cluster (the
/// row the slot started with, never changed) and `delta` the offset of the
/// centroid from it. Differences of two centroids are then
/// `(rep_p − rep_q) + (delta_p − delta_q)`: the first term is exact for
/// nearby rows (Sterbenz) and the deltas are small, so clusters at a large
/// common offset keep their digits (a centroid updated in place at the
/// offset rounded to the offset's ulp), with no global centre that rows far
/// from it would round against.
struct Centroids<'a, F: Scalar> {
    dim: usize,
    /// The input rows, row-major (borrowed when the view is contiguous).
    reps: Cow<'a, [F]>,
    deltas: Vec<F>,
    /// Whether the slot has absorbed a merge (its delta may be non-zero).
    merged: Vec<bool>,
    weights: Vec<F>,
}

impl<F: Scalar> Centroids<'_, F> {
    fn rep(&self, p: usize) -> &[F] {
        &self.reps[p * self.dim..(p + 1) * self.dim]
    }

    fn delta(&self, p: usize) -> &[F] {
        &self.deltas[p * self.dim..(p + 1) * self.dim]
    }

    /// Ward's dissimilarity of slots `p` and `q`, bit for bit the value every
    /// decision of the chain is taken on (symmetric in `p` and `q`).
    fn ward(&self, p: usize, q: usize) -> F {
        let sq = if self.merged[p] || self.merged[q] {
            offset_squared_distance(self.rep(p), self.rep(q), self.delta(p), self.delta(q))
        } else {
            squared_distance(self.rep(p), self.rep(q))
        };
        weighted_dissimilarity(sq, self.weights[p], self.weights[q])
    }

    /// Merges slot `gone` into slot `keep`: `μ_keep + (μ_gone − μ_keep)·share`
    /// with `share = w_gone/(w_gone + w_keep)`, on the deltas.
    fn merge(&mut self, gone: usize, keep: usize) {
        let (wg, wk) = (self.weights[gone], self.weights[keep]);
        let total = wg + wk;
        let share = wg / total;
        let dim = self.dim;
        for k in 0..dim {
            let (g, kk) = (gone * dim + k, keep * dim + k);
            let diff = (self.reps[g] - self.reps[kk]) + (self.deltas[g] - self.deltas[kk]);
            self.deltas[kk] = self.deltas[kk] + diff * share;
        }
        self.merged[keep] = true;
        self.weights[keep] = total;
    }
}

/// Unit roundoff of `F` (half its machine epsilon), as `f64`.
fn unit_roundoff<F: Scalar>() -> f64 {
    F::epsilon().to_f64_lossless() / 2.0
}

/// The smallest positive subnormal of `F`, as `f64`: the absolute error of
/// one rounding into the subnormal range.
fn subnormal_step<F: Scalar>() -> f64 {
    F::min_positive_value().to_f64_lossless() * F::epsilon().to_f64_lossless()
}

/// `f32` sketches of the live centroids, packed: the filter in front of the
/// exact dissimilarities.
///
/// Row `i` is `a_i = f32(((rep_i − g) + delta_i)·σ)` (`g` the mean row, `σ` a
/// power of two that brings the largest `|rep − g|` to about 1), and
/// `radius[i]` bounds `‖a_i − σ·(μ_i − g)‖` plus the rounding of the exact
/// kernel (see [`Sketches::bounds`]). Live clusters occupy a dense prefix
/// (a removed slot takes the last row), so a neighbour search streams one
/// contiguous array of `4·d` bytes per cluster: a quarter of what the exact
/// `f64` offset form reads (`rep` and `delta` of both).
struct Sketches<F> {
    dim: usize,
    centre: Vec<F>,
    scale: f64,
    /// `1/scale` (a power of two, exact).
    inv_scale: f64,
    /// The smallest positive subnormal of `F`.
    tiny: f64,
    rows: Vec<f32>,
    radius: Vec<f64>,
    /// The weights, packed like the rows.
    weight: Vec<F>,
    /// Packed position -> slot.
    slot_of: Vec<usize>,
    /// Slot -> packed position (`usize::MAX` once removed).
    pos_of: Vec<usize>,
    /// Relative error bound of the `f32` kernel's sum of squares.
    c_sketch: f64,
    /// Absolute error bound of that sum from underflow (scaled units).
    abs_sketch: f64,
    /// Relative error bound of the exact kernel's sum of squares.
    c_exact: f64,
    /// Absolute error bound of that sum from underflow.
    abs_exact: f64,
    /// Relative error bound of the product `E·f̂` in `F` and the `f64` bound
    /// arithmetic.
    c_factor: f64,
}

impl<F: Scalar> Sketches<F> {
    fn new(c: &Centroids<'_, F>, m: usize) -> Self {
        let dim = c.dim;
        // g: the mean row (each row divided by m first: no overflow)
        let inv_m = 1.0 / m as f64;
        let mut centre64 = vec![0.0_f64; dim];
        for p in 0..m {
            for (g, &x) in centre64.iter_mut().zip(c.rep(p)) {
                *g += x.to_f64_lossless() * inv_m;
            }
        }
        let centre: Vec<F> = centre64.iter().map(|&g| F::from_f64_rounded(g)).collect();
        let mut largest = 0.0_f64;
        for p in 0..m {
            for (&x, &g) in c.rep(p).iter().zip(&centre) {
                largest = largest.max((x - g).to_f64_lossless().abs());
            }
        }
        // σ = 2^-e with largest·σ in (½, 1]; |e| ≤ 500 so that σ⁻² stays a
        // finite power of two (overflowing or degenerate data: σ = 1, and the
        // radii below turn the filter off where it cannot bound)
        let scale = if largest > 0.0 && largest.is_finite() {
            let e = largest.log2().ceil().clamp(-500.0, 500.0) as i32;
            2.0_f64.powi(-e)
        } else {
            1.0
        };
        let n = dim as f64;
        let u32_ = f64::from(f32::EPSILON) / 2.0;
        let u_f = unit_roundoff::<F>();
        let u64_ = f64::EPSILON / 2.0;
        let mut sketches = Sketches {
            dim,
            centre,
            scale,
            inv_scale: 1.0 / scale,
            tiny: subnormal_step::<F>(),
            rows: vec![0.0; m * dim],
            radius: vec![0.0; m],
            weight: vec![F::zero(); m],
            slot_of: (0..m).collect(),
            pos_of: (0..m).collect(),
            // twice the classical γ_{n+4} bounds: any summation order
            c_sketch: 2.0 * (n + 4.0) * u32_,
            abs_sketch: 4.0 * (n + 4.0) * f64::from(f32::MIN_POSITIVE) * f64::from(f32::EPSILON),
            c_exact: 2.0 * (n + 4.0) * u_f + 8.0 * u64_,
            abs_exact: 4.0 * (n + 4.0) * subnormal_step::<F>(),
            c_factor: 6.0 * u_f + 16.0 * u64_,
        };
        for p in 0..m {
            sketches.refresh(c, p);
        }
        sketches
    }

    /// Recomputes the sketch and radius of slot `p` from its centroid.
    fn refresh(&mut self, c: &Centroids<'_, F>, p: usize) {
        let pos = self.pos_of[p];
        let dim = self.dim;
        let (mut nr, mut nd, mut na) = (0.0_f64, 0.0_f64, 0.0_f64);
        let row = &mut self.rows[pos * dim..(pos + 1) * dim];
        for (((a, &r), &d), &g) in row
            .iter_mut()
            .zip(c.rep(p))
            .zip(c.delta(p))
            .zip(&self.centre)
        {
            let rg = r - g;
            let v = (rg + d).to_f64_lossless() * self.scale;
            *a = v as f32;
            // scaled (σ a power of two): neither over- nor underflows
            let (rg, d) = (
                rg.to_f64_lossless() * self.scale,
                d.to_f64_lossless() * self.scale,
            );
            nr += rg * rg;
            nd += d * d;
            na += f64::from(*a) * f64::from(*a);
        }
        let n = dim as f64;
        let u_f = unit_roundoff::<F>();
        let u32_ = f64::from(f32::EPSILON) / 2.0;
        // ‖a − σ(μ − g)‖ ≤ 2u_F·σ(‖rep − g‖ + ‖delta‖) + u_32·‖a‖ (+ underflow),
        // and the exact kernel's terms are off by at most
        // u_F·(‖rep_p − rep_q‖ + ‖delta_p − delta_q‖): both per cluster,
        // inflated (×5/2, ×2) for the rounding of these norms
        let r = 5.0 * u_f * (nr.sqrt() + nd.sqrt())
            + 2.0 * u32_ * na.sqrt()
            + 4.0 * n.sqrt() * (self.scale * subnormal_step::<F>() + 2.0_f64.powi(-149));
        self.radius[pos] = if r.is_finite() { r } else { f64::INFINITY };
        self.weight[pos] = c.weights[p];
    }

    /// Removes slot `p`: the last packed row takes its place.
    fn remove(&mut self, p: usize) {
        let pos = self.pos_of[p];
        let last = self.slot_of.len() - 1;
        let dim = self.dim;
        if pos != last {
            self.rows
                .copy_within(last * dim..(last + 1) * dim, pos * dim);
            self.radius[pos] = self.radius[last];
            self.weight[pos] = self.weight[last];
            let moved = self.slot_of[last];
            self.slot_of[pos] = moved;
            self.pos_of[moved] = pos;
        }
        self.rows.truncate(last * dim);
        self.radius.truncate(last);
        self.weight.truncate(last);
        self.slot_of.truncate(last);
        self.pos_of[p] = usize::MAX;
    }

    /// Bounds `[lo, hi]` on the exact `ward(p, q)` from the sketches' sum of
    /// squares `s`, the sum `r` of the two radii and the two weights.
    ///
    /// The exact value is `E·f̂` rounded to `F`, `E` the exact kernel's sum of
    /// squares and `f̂` Ward's factor `2·w_p·w_q/(w_p + w_q)` as
    /// `weighted_dissimilarity` computes it in `F` (exactly `E` for unit
    /// weights): monotone in `E`, within `c_factor` of `E·f̂` unless it
    /// overflows, and then above every finite value. Branch-free, so the loop over a search's
    /// candidates vectorises; a NaN (overflowing data) fails every
    /// comparison, which keeps the candidate (`lo > …` fails) and never lowers
    /// the best upper bound (`hi < …`).
    #[inline(always)]
    fn bounds(&self, s: f32, r: f64, wp: F, wq: F) -> (f64, f64) {
        let s = f64::from(s);
        let s_lo = s * (1.0 - self.c_sketch) - self.abs_sketch;
        let s_lo = if s_lo > 0.0 { s_lo } else { 0.0 };
        let s_hi = s * (1.0 + self.c_sketch) + self.abs_sketch;
        // (√S ∓ r)² without the root: √S ≤ (S + 1)/2, so
        // (√S − r)₊² ≥ S − r·(S + 1) and (√S + r)² ≤ S + r·(S + 1) + r²
        // (scaled units, S ≲ 4d; the radii are ~1e-7 of that)
        let lo = s_lo - r * (s_lo + 1.0);
        let lo = if lo > 0.0 { lo } else { 0.0 };
        let hi = s_hi + r * (s_hi + 1.0) + r * r;
        let inv2 = self.inv_scale * self.inv_scale;
        let e_lo = lo * inv2 * (1.0 - self.c_exact) - self.abs_exact;
        let e_hi = hi * inv2 * (1.0 + self.c_exact) + self.abs_exact;
        // f̂ itself (`weighted_dissimilarity`'s expression, exactly 1 for
        // unit weights): an `f64` factor could stay finite where f̂ overflows
        let (small, large) = if wp < wq { (wp, wq) } else { (wq, wp) };
        let factor = ((small + small) * (large / (small + large))).to_f64_lossless();
        (
            e_lo * factor * (1.0 - self.c_factor) - self.tiny,
            e_hi * factor * (1.0 + self.c_factor) + self.tiny,
        )
    }
}

/// The chain's neighbour search, with the sketch filter in front.
struct Search<'a, F: Scalar> {
    centroids: Centroids<'a, F>,
    sketches: Sketches<F>,
    /// Scratch: the sketch of the chain's top.
    query: Vec<f32>,
    /// Scratch: sketch sums of squares per packed position.
    sq: Vec<f32>,
    /// Scratch: lower bounds per packed position.
    lower: Vec<f64>,
    /// Scratch: upper bounds per packed position.
    upper: Vec<f64>,
    /// Scratch: slots whose lower bound reaches the best upper bound.
    candidates: Vec<usize>,
}

impl<F: Scalar> Search<'_, F> {
    /// The nearest neighbour of `top` among the live slots and its
    /// dissimilarity, exactly as a scan of every live slot in increasing
    /// order with a strict `<` from `(ward(top, prev), prev)` finds it: the
    /// previous chain element wins a tie, otherwise the lowest slot.
    /// `None` if no candidate is below +∞ and there is no `prev`.
    fn nearest(&mut self, top: usize, prev: Option<usize>) -> Option<(usize, F)> {
        let dim = self.sketches.dim;
        let c = &self.centroids;
        let sk = &self.sketches;
        let live = sk.slot_of.len();
        let tpos = sk.pos_of[top];
        self.query.clear();
        self.query
            .extend_from_slice(&sk.rows[tpos * dim..(tpos + 1) * dim]);
        // the sketch distances: one stream over the packed rows
        self.sq.clear();
        self.sq.extend(
            sk.rows
                .chunks_exact(dim)
                .map(|row| sqdist_f32(&self.query, row, squared_distance::<f32>)),
        );
        // their bounds (branch-free)
        let (r_top, w_top) = (sk.radius[tpos], sk.weight[tpos]);
        self.lower.resize(live, 0.0);
        self.upper.resize(live, 0.0);
        for ((((lo, hi), &s), &r), &w) in self
            .lower
            .iter_mut()
            .zip(self.upper.iter_mut())
            .zip(&self.sq)
            .zip(&sk.radius)
            .zip(&sk.weight)
        {
            (*lo, *hi) = sk.bounds(s, r_top + r, w_top, w);
        }
        let (mut best, mut y) = match prev {
            Some(p) => (c.ward(top, p), p),
            None => (F::infinity(), usize::MAX),
        };
        for pos in std::iter::once(tpos).chain(prev.map(|p| sk.pos_of[p])) {
            self.lower[pos] = f64::INFINITY;
            self.upper[pos] = f64::INFINITY;
        }
        let mut min_upper = best.to_f64_lossless();
        for &hi in &self.upper {
            if hi < min_upper {
                min_upper = hi;
            }
        }
        self.candidates.clear();
        for (pos, &lo) in self.lower.iter().enumerate() {
            // not `lo <= …`: a NaN bound keeps the candidate
            if lo.partial_cmp(&min_upper) != Some(Ordering::Greater) && pos != tpos {
                self.candidates.push(sk.slot_of[pos]);
            }
        }
        self.candidates.retain(|&i| Some(i) != prev);
        self.candidates.sort_unstable();
        debug_assert!(live >= 2);
        for &i in &self.candidates {
            let v = c.ward(top, i);
            if v < best {
                best = v;
                y = i;
            }
        }
        (y != usize::MAX).then_some((y, best))
    }
}

/// Runs the centroid nearest-neighbour chain on the rows of `x` with initial
/// weights `weights`.
///
/// Ties are broken as scipy breaks them: the previous chain element wins a tie,
/// otherwise the lowest slot.
///
/// Every neighbour search first bounds each live cluster's dissimilarity from
/// packed `f32` sketches of the centroids (one contiguous stream of `4·d` bytes
/// per cluster, the AVX2 kernel where the CPU has it), then recomputes exactly
/// only the clusters whose lower bound reaches the smallest upper bound: the
/// decisions, and so the dendrogram, are bit for bit those of the exact scan.
///
/// # Complexity
/// O(m²·d) time (a few neighbour searches of O(m·d) per merge), O(m·d) space
/// (the offsets of the centroids from their rows, `d·sizeof(F)` per row, and
/// the sketches, `4·d` bytes per row; the rows themselves are borrowed when
/// `x` is contiguous and row-major, copied otherwise).
pub(crate) fn nn_chain_linkage<F: Scalar>(x: ArrayView2<'_, F>, weights: Vec<F>) -> Dendrogram<F> {
    let (m, dim) = x.dim();
    debug_assert_eq!(weights.len(), m);
    if m < 2 {
        return Dendrogram::from_unsorted(m, &[]);
    }
    let reps = match x.to_slice() {
        Some(s) => Cow::Borrowed(s),
        // `iter` walks in logical (row-major) order whatever the layout
        None => Cow::Owned(x.iter().copied().collect()),
    };
    let centroids = Centroids {
        dim,
        reps,
        deltas: vec![F::zero(); m * dim],
        merged: vec![false; m],
        weights,
    };
    let sketches = Sketches::new(&centroids, m);
    let mut search = Search {
        centroids,
        sketches,
        query: Vec::with_capacity(dim),
        sq: Vec::with_capacity(m),
        lower: Vec::with_capacity(m),
        upper: Vec::with_capacity(m),
        candidates: Vec::new(),
    };
    let mut alive: Vec<bool> = vec![true; m];
    let mut first_alive = 0usize;
    let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m - 1);
    let mut node_of_slot: Vec<usize> = (0..m).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(m);

    for step in 0..m - 1 {
        if chain.is_empty() {
            chain.push(first_alive);
        }
        let (x_slot, y_slot, dist) = loop {
            let top = chain[chain.len() - 1];
            let prev = (chain.len() >= 2).then(|| chain[chain.len() - 2]);
            let (y, best) = match search.nearest(top, prev) {
                Some(found) => found,
                // every candidate at +∞ (overflowing data): take the first
                None => {
                    let first = (first_alive..m).find(|&i| alive[i] && i != top);
                    (first.unwrap_or(top), F::infinity())
                }
            };
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
        search.centroids.merge(gone, keep);
        search.sketches.remove(gone);
        search.sketches.refresh(&search.centroids, keep);
        node_of_slot[keep] = m + step;
        alive[gone] = false;
        while first_alive < m && !alive[first_alive] {
            first_alive += 1;
        }
    }
    Dendrogram::from_unsorted(m, &found)
}

#[cfg(test)]
mod tests {
    use super::*;

    use ndarray::Array2;

    /// A small deterministic generator (xorshift64*), uniform in [0, 1).
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `m × d` rows around `blobs` centres, each coordinate mapped by `f`.
    fn data(m: usize, d: usize, blobs: usize, seed: u64, f: impl Fn(f64) -> f64) -> Array2<f64> {
        let mut g = Gen(seed | 1);
        let centres: Vec<f64> = (0..blobs * d).map(|_| g.next() * 2.0 - 1.0).collect();
        Array2::from_shape_fn((m, d), |(i, k)| {
            let b = (i * 7) % blobs;
            f(centres[b * d + k] + 0.3 * (g.next() - 0.5))
        })
    }

    fn same<F: Scalar>(x: ArrayView2<'_, F>, w: Vec<F>, what: &str) {
        let new = nn_chain_linkage(x, w.clone());
        let old = reference_linkage(x, w);
        // Debug text: equal bit for bit, NaN (overflowed weights) included
        assert!(format!("{new:?}") == format!("{old:?}"), "{what}");
    }

    /// The sketch filter changes no decision: bit for bit the dendrogram of
    /// the exact scan, on real-valued data, data full of ties and
    /// duplicates, data at an offset, tiny and huge scales, weighted rows,
    /// `f32` and a non-contiguous view.
    #[test]
    fn filtered_searches_equal_the_exact_scan() {
        let w1 = |m: usize| vec![1.0_f64; m];
        let x = data(160, 48, 5, 1, |v| v);
        same(x.view(), w1(160), "real-valued");
        let xf = x.mapv(|v| v as f32);
        same(xf.view(), vec![1.0_f32; 160], "real-valued f32");
        let ties = data(150, 3, 4, 2, |v| (v * 2.0).round());
        same(ties.view(), w1(150), "rounded: ties and duplicates");
        let tiesf = ties.mapv(|v| v as f32);
        same(tiesf.view(), vec![1.0_f32; 150], "rounded f32");
        let offset = data(120, 9, 3, 3, |v| 1e8 + v * 1e-3);
        same(offset.view(), w1(120), "at an offset");
        let tiny = data(100, 17, 3, 4, |v| v * 1e-160);
        same(tiny.view(), w1(100), "tiny scale");
        let huge = data(100, 17, 3, 5, |v| v * 1e150);
        same(huge.view(), w1(100), "huge scale");
        let mut g = Gen(99);
        let weights: Vec<f64> = (0..160).map(|_| (g.next() * 5.0).floor() + 1.0).collect();
        same(x.view(), weights, "weighted");
        let wide = data(200, 5, 6, 6, |v| v);
        same(wide.t(), w1(5), "transposed (non-contiguous) view");
        same(wide.slice(ndarray::s![..;2, ..]), w1(100), "strided view");
        let sub = data(90, 40, 3, 7, |v| (v * 1e-20) as f32 as f64);
        same(
            sub.mapv(|v| v as f32).view(),
            vec![1.0_f32; 90],
            "f32 near underflow",
        );
        // weights whose sums overflow f32 late in the run (∞ and NaN factors)
        let heavy: Vec<f32> = (0..100).map(|i| 5e36 * (1 + i % 4) as f32).collect();
        let xs = data(100, 8, 4, 8, |v| v).mapv(|v| v as f32);
        same(xs.view(), heavy, "f32 weights overflowing");
    }

    /// Hostile data for the filter's bounds: near-ties at many scales, large
    /// offsets, values at the edges of overflow and underflow, extreme
    /// weights, duplicates, constant columns, tiny and wide shapes, and `f32`
    /// rows one ulp apart: still bit for bit the exact scan.
    #[test]
    fn filtered_searches_equal_the_exact_scan_on_hostile_data() {
        let w1 = |m: usize| vec![1.0_f64; m];
        // near-ties: a lattice perturbed by 2^-k at several scales
        for (k, s) in [(20, 1e-200), (40, 1.0), (52, 1e200), (30, 1e-300)] {
            let eps = 2.0_f64.powi(-k);
            let x = data(90, 3, 3, 11 + k as u64, |v| {
                s * ((v * 4.0).round() + eps * (v * 1e3).sin())
            });
            same(x.view(), w1(90), &format!("near-ties 2^-{k} × {s:e}"));
        }
        for (off, noise) in [(1e8, 1e-6), (-1e15, 1e-1), (1e300, 1e290)] {
            let x = data(80, 6, 3, 12, |v| off + v * noise);
            same(x.view(), w1(80), &format!("offset {off:e} ± {noise:e}"));
        }
        let xf = data(80, 6, 3, 13, |v| 1e8 + v * 1e-6).mapv(|v| v as f32);
        same(xf.view(), vec![1.0_f32; 80], "f32 at 1e8");
        // squares at the edge of overflow (‖·‖² ≈ f64::MAX) and underflow
        for s in [1.3e154, 3e153, 1e-154, 1e-162, 4e-320] {
            let x = data(60, 4, 3, 14, |v| v * s);
            same(x.view(), w1(60), &format!("scale {s:e}"));
        }
        for s in [1.8e19_f64, 1e-19, 1e-23, 1e-44] {
            let x = data(60, 4, 3, 15, |v| v * s).mapv(|v| v as f32);
            same(x.view(), vec![1.0_f32; 60], &format!("f32 scale {s:e}"));
        }
        // extreme weights
        let x = data(70, 5, 4, 16, |v| v);
        for (lo, hi) in [(1e-300, 1.0), (1.0, 1e300), (1e-150, 1e150), (5e-324, 1.0)] {
            let w: Vec<f64> = (0..70).map(|i| if i % 3 == 0 { lo } else { hi }).collect();
            same(x.view(), w, &format!("weights {lo:e}/{hi:e}"));
        }
        let xf = x.mapv(|v| v as f32);
        for (lo, hi) in [(1e-38_f32, 1.0), (1.0, 1e38), (1e-45, 1e30)] {
            let w: Vec<f32> = (0..70).map(|i| if i % 3 == 0 { lo } else { hi }).collect();
            same(xf.view(), w, &format!("f32 weights {lo:e}/{hi:e}"));
        }
        // duplicated rows, constant columns, integers
        let half = data(40, 4, 3, 17, |v| v);
        let dup = ndarray::concatenate![ndarray::Axis(0), half, half, half];
        same(dup.view(), w1(120), "every row three times");
        let mut cc = data(60, 6, 3, 18, |v| v);
        cc.column_mut(0).fill(1e12);
        cc.column_mut(3).fill(-7.0);
        same(cc.view(), w1(60), "constant columns");
        let ints = data(100, 2, 3, 19, |v| (v * 5.0).round());
        same(ints.view(), w1(100), "integers");
        same(
            ints.mapv(|v| v as f32).view(),
            vec![1.0_f32; 100],
            "f32 integers",
        );
        // shapes: m = 2, 3; d = 1, 1000
        for m in [2usize, 3] {
            for d in [1usize, 1000] {
                let x = data(m, d, 2, 20, |v| v);
                same(x.view(), w1(m), &format!("m={m} d={d}"));
            }
        }
        same(data(150, 1, 4, 21, |v| v).view(), w1(150), "d=1");
        same(data(40, 1000, 4, 22, |v| v).view(), w1(40), "d=1000");
        // f32 rows one or two ulps apart at 1.0 and at 2^20
        for base in [1.0_f32, 1048576.0] {
            let ulp = base * f32::EPSILON;
            let x = data(80, 3, 3, 23, |v| v).mapv(|v| base + (v * 4.0).round() as f32 * ulp);
            same(x.view(), vec![1.0_f32; 80], &format!("f32 ulps at {base}"));
        }
    }

    /// The exact scan every search did before the sketch filter (kept verbatim
    /// as the oracle): the new searches must take the same decisions.
    ///
    fn reference_linkage<F: Scalar>(x: ArrayView2<'_, F>, mut weights: Vec<F>) -> Dendrogram<F> {
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
