//! The Gram-form distances of the matrix path in register tiles, on CPUs with
//! AVX-512 (x86-64, detected at run time; elsewhere [`gram`](super::gram)
//! falls back to ndarray's general GEMM).
//!
//! The centred rows are packed once into panels of `NR` rows (three vector
//! registers: 24 for `f64`, 48 for `f32`), stored `k`-major, so that both
//! operands of a tile stream through memory with one fixed stride:
//!
//! * a **tile** is `MR = 8` rows `i` by `NR` columns `j` of the Gram matrix,
//!   accumulated over all `d` coordinates in 24 vector registers (8 broadcast
//!   elements of the row panel times 3 vector loads of the column panel per
//!   coordinate);
//! * only tiles that reach the upper triangle are computed (`m²·d/2`
//!   multiply-adds in all), column panel by column panel within a block of
//!   rows, so a column panel is reused from cache by every row tile of the
//!   block;
//! * each tile is turned into distances at once — `‖x_i‖² + ‖x_j‖² − 2·g_ij`,
//!   clamped at zero, the entries below the recomputation threshold
//!   recomputed directly from the original rows (see [`gram`](super::gram))
//!   — and written straight into the condensed rows: no `m`-wide scratch, and
//!   no second pass over a Gram block.
//!
//! A general GEMM (`matrixmultiply`) keeps fewer accumulators and repacks the
//! column operand at every call. Measured with the `gram_kernel` bench (full
//! `X·Xᵀ`, m = 2000, d = 256, one thread, on the 2-core AVX-512 Xeon VM of
//! the README): the tiles took 29.5 ms (`f64`) and 13.8 ms (`f32`), ndarray's
//! GEMM 44.5 ms and 21.2 ms. The README's performance section has the
//! end-to-end effect.
//!
//! Every `unsafe` block here is either a call of a `#[target_feature]`
//! function after the feature was detected, or a pointer access the
//! micro-kernel's assertion on the slice lengths bounds.

use crate::scalar::Scalar;

/// The centred rows packed for the tile kernel: panel `q` holds rows
/// `q·nr .. q·nr + nr` (zero rows past `m`), element `(r, k)` at
/// `panel[k·nr + r]`.
pub struct PackedRows<F> {
    buf: Vec<F>,
    /// Offset of the first panel in `buf` (for 64-byte alignment).
    start: usize,
    nr: usize,
    d: usize,
}

impl<F: Scalar> PackedRows<F> {
    /// Packs `rows(i) − centre` for `i < m` into panels of `nr` rows and
    /// returns the packing with the squared norms of the packed rows.
    pub(crate) fn pack<'a>(
        m: usize,
        d: usize,
        nr: usize,
        rows: impl Fn(usize) -> &'a [F],
        centre: &[F],
    ) -> (Self, Vec<F>)
    where
        F: 'a,
    {
        let panels = m.div_ceil(nr);
        let align = 64 / core::mem::size_of::<F>();
        let mut buf = vec![F::zero(); panels * nr * d + align];
        let start = buf.as_ptr().align_offset(64).min(align);
        let mut norms = vec![F::zero(); m];
        for (i, norm) in norms.iter_mut().enumerate() {
            let (q, r) = (i / nr, i % nr);
            let panel = &mut buf[start + q * nr * d..start + (q + 1) * nr * d];
            let mut acc = F::zero();
            for (k, (&v, &c)) in rows(i).iter().zip(centre).enumerate() {
                let t = v - c;
                panel[k * nr + r] = t;
                acc = acc + t * t;
            }
            *norm = acc;
        }
        (PackedRows { buf, start, nr, d }, norms)
    }

    /// Panel `q` (`nr·d` elements).
    #[inline]
    fn panel(&self, q: usize) -> &[F] {
        let len = self.nr * self.d;
        &self.buf[self.start + q * len..self.start + (q + 1) * len]
    }
}

/// One block of condensed rows to fill from the packed rows.
pub struct TileJob<'a, F> {
    /// The packed, centred rows.
    pub(crate) packed: &'a PackedRows<F>,
    /// Squared norms of the packed rows.
    pub(crate) norms: &'a [F],
    /// Entries at or below `tau·(‖x_i‖² + ‖x_j‖²)` are recomputed directly
    /// from the original rows.
    pub(crate) tau: F,
    /// Number of rows.
    pub(crate) m: usize,
    /// First row of the block (a multiple of the panel width).
    pub(crate) r0: usize,
    /// One past the last row of the block.
    pub(crate) r1: usize,
    /// The condensed rows `r0..r1`, contiguous (row `i` at
    /// `condensed_index(m, i, i + 1) − condensed_index(m, r0, r0 + 1)`).
    pub(crate) out: &'a mut [F],
    /// The original rows, row-major (`dim` values each), for the direct
    /// recomputation of small distances.
    pub(crate) rows: &'a [F],
    /// Slot `i` is original row `order[i]`.
    pub(crate) order: &'a [usize],
}

/// Offset of row `i`'s entry `(i, i + 1)` in the condensed order.
#[inline(always)]
pub(crate) fn row_offset(m: usize, i: usize) -> usize {
    // i·m − i(i+1)/2, the number of entries in rows before i
    i * m - i * (i + 1) / 2
}

/// Runs a block through `micro` (the register tile) and the epilogue. Always
/// inlined into a caller compiled with the kernel's target features, so the
/// epilogue is vectorised with them too.
#[inline(always)]
fn drive<F: Scalar, const MR: usize, const NR: usize>(
    job: &mut TileJob<'_, F>,
    mut micro: impl FnMut(&[F], &[F], &mut [[F; NR]; MR]),
    squared_distance: impl Fn(&[F], &[F]) -> F,
) {
    let TileJob {
        packed,
        norms,
        tau,
        m,
        r0,
        r1,
        ref mut out,
        rows,
        order,
    } = *job;
    let dim = packed.d;
    let row = |i: usize| &rows[order[i] * dim..(order[i] + 1) * dim];
    debug_assert_eq!(packed.nr, NR);
    debug_assert_eq!(r0 % NR, 0);
    let base = row_offset(m, r0);
    let two = F::one() + F::one();
    let mut acc = [[F::zero(); NR]; MR];
    let panels = m.div_ceil(NR);
    for q in r0 / NR..panels {
        let j0 = q * NR;
        let cols = packed.panel(q);
        let mut i0 = r0;
        // tiles with some j > i only
        while i0 < r1 && i0 < j0 + NR - 1 {
            let a_panel = packed.panel(i0 / NR);
            let a = &a_panel[i0 % NR..];
            micro(a, cols, &mut acc);
            let jend = (j0 + NR).min(m);
            for (ii, g_row) in acc.iter().enumerate() {
                let i = i0 + ii;
                if i >= r1 {
                    break;
                }
                let js = j0.max(i + 1);
                if js >= jend {
                    continue;
                }
                let ni = norms[i];
                let at = row_offset(m, i) - base + (js - i - 1);
                let dst = &mut out[at..at + (jend - js)];
                let g = &g_row[js - j0..jend - j0];
                let nj = &norms[js..jend];
                let mut count = 0usize;
                for ((o, &gij), &nj) in dst.iter_mut().zip(g).zip(nj) {
                    let s = ni + nj;
                    let v = s - two * gij;
                    let v = if v > F::zero() { v } else { F::zero() };
                    *o = v;
                    count += usize::from(v <= tau * s);
                }
                if count > 0 {
                    // small next to the norms: the Gram form may have lost
                    // digits, so the direct sum (here, where it is compiled
                    // with the kernel's vector width)
                    let xi = row(i);
                    for ((o, &nj), j) in dst.iter_mut().zip(nj).zip(js..) {
                        if *o <= tau * (ni + nj) {
                            *o = squared_distance(xi, row(j));
                        }
                    }
                }
            }
            i0 += MR;
        }
    }
}

/// The full Gram matrix `P·Pᵀ` of the packed rows into `out` (`m × m`,
/// row-major), every tile computed: the reference work of the benchmarks'
/// floor, not used by the linkage.
#[inline(always)]
fn drive_full<F: Scalar, const MR: usize, const NR: usize>(
    packed: &PackedRows<F>,
    m: usize,
    out: &mut [F],
    mut micro: impl FnMut(&[F], &[F], &mut [[F; NR]; MR]),
) {
    debug_assert_eq!(packed.nr, NR);
    debug_assert_eq!(out.len(), m * m);
    let mut acc = [[F::zero(); NR]; MR];
    let panels = m.div_ceil(NR);
    // the same loop order as the linkage: column panels within blocks of rows
    let block = rows_per_block::<F>(packed.d, NR);
    let mut r0 = 0;
    while r0 < m {
        let r1 = (r0 + block).min(m);
        for q in 0..panels {
            let j0 = q * NR;
            let jend = (j0 + NR).min(m);
            let cols = packed.panel(q);
            for i0 in (r0..r1).step_by(MR) {
                let a_panel = packed.panel(i0 / NR);
                micro(&a_panel[i0 % NR..], cols, &mut acc);
                for (ii, g_row) in acc.iter().enumerate().take(m - i0) {
                    let at = (i0 + ii) * m + j0;
                    out[at..at + (jend - j0)].copy_from_slice(&g_row[..jend - j0]);
                }
            }
        }
        r0 = r1;
    }
}

/// Bytes of packed rows per block of rows (the operand every column panel
/// meets) aimed at the L2 cache.
pub(crate) const TILE_BLOCK_ROWS_BYTES: usize = 256 << 10;

/// Whether this CPU runs the tile kernel: AVX-512F on x86-64 (detected at
/// run time, cached by the standard library).
///
/// (An AVX2 version of the same tile, 4 rows by three 256-bit registers,
/// spilled an accumulator and ran 1.46× slower than `matrixmultiply`'s AVX2
/// kernel on this machine (`gram_kernel` bench, m = 2000, f64), and a 4×8
/// one ran as fast as it, so CPUs without AVX-512 use that GEMM.)
pub(crate) fn tiles_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The tile kernel's name in benchmark reports.
pub(crate) const TILES_NAME: &str = "avx512-tiles";

/// Rows per panel for `f64`: three 8-lane registers.
pub(crate) const PANEL_F64: usize = 24;
/// Rows per panel for `f32`: three 16-lane registers.
pub(crate) const PANEL_F32: usize = 48;

/// Rows per block of rows for `d` coordinates of `F` and panels of `nr`
/// rows: a multiple of `nr` whose packed rows (the operand every column panel
/// meets) fill about [`TILE_BLOCK_ROWS_BYTES`].
pub(crate) fn rows_per_block<F>(d: usize, nr: usize) -> usize {
    (TILE_BLOCK_ROWS_BYTES / (d.max(1) * core::mem::size_of::<F>()) / nr).max(1) * nr
}

/// Defines a register-tile micro-kernel:
/// `acc[ii][jj] = Σ_k a[k·NR + ii]·b[k·NR + jj]` over the `d = b.len() / NR`
/// coordinates of a column panel `b` and a row slice `a` of a panel (same
/// stride), in `3·MR` vector accumulators.
#[cfg(target_arch = "x86_64")]
macro_rules! micro_kernel {
    ($name:ident, $feat:literal, $t:ty, $mr:expr, $nr:expr, $lanes:expr,
     $zero:ident, $load:ident, $set1:ident, $fmadd:ident, $store:ident) => {
        /// # Safety
        /// The CPU must support the kernel's target features.
        #[inline]
        #[target_feature(enable = $feat)]
        unsafe fn $name(a: &[$t], b: &[$t], acc: &mut [[$t; $nr]; $mr]) {
            const NR: usize = $nr;
            const MR: usize = $mr;
            const L: usize = $lanes;
            let d = b.len() / NR;
            // the bounds every pointer step below relies on (a packing
            // invariant: a row offset within a panel is at most NR − MR)
            assert!(b.len() == d * NR && (d == 0 || a.len() >= (d - 1) * NR + MR));
            let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
            let mut c = [$zero(); 3 * MR];
            for _ in 0..d {
                // SAFETY: at step k, pb = b + k·NR with k < d, so the three
                // loads of L lanes stay in `b`; pa = a + k·NR and the MR
                // broadcast elements stay in `a` (asserted above).
                let (b0, b1, b2) = unsafe { ($load(pb), $load(pb.add(L)), $load(pb.add(2 * L))) };
                for ii in 0..MR {
                    // SAFETY: as above.
                    let av = $set1(unsafe { *pa.add(ii) });
                    c[3 * ii] = $fmadd(av, b0, c[3 * ii]);
                    c[3 * ii + 1] = $fmadd(av, b1, c[3 * ii + 1]);
                    c[3 * ii + 2] = $fmadd(av, b2, c[3 * ii + 2]);
                }
                // wrapping: after the last step the pointers may pass the
                // end of the slices; they are not dereferenced again
                pa = pa.wrapping_add(NR);
                pb = pb.wrapping_add(NR);
            }
            for (ii, row) in acc.iter_mut().enumerate() {
                let p = row.as_mut_ptr();
                // SAFETY: each row holds NR = 3·L elements.
                unsafe {
                    $store(p, c[3 * ii]);
                    $store(p.add(L), c[3 * ii + 1]);
                    $store(p.add(2 * L), c[3 * ii + 2]);
                }
            }
        }
    };
}

/// Defines the direct `Σ_k (a_k − b_k)²` of one vector width: two
/// accumulators of `L` lanes, fused multiply-adds, a scalar tail.
#[cfg(target_arch = "x86_64")]
macro_rules! squared_distance_kernel {
    ($name:ident, $feat:literal, $t:ty, $lanes:expr,
     $zero:ident, $load:ident, $sub:ident, $fmadd:ident, $add:ident, $reduce:ident) => {
        /// # Safety
        /// The CPU must support the kernel's target features.
        #[inline]
        #[target_feature(enable = $feat)]
        unsafe fn $name(a: &[$t], b: &[$t]) -> $t {
            const L: usize = $lanes;
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let (mut acc0, mut acc1) = ($zero(), $zero());
            let mut k = 0;
            while k + 2 * L <= n {
                // SAFETY: k + 2L ≤ n, so both loads of L lanes stay in `a` and `b`.
                let (x0, y0, x1, y1) = unsafe {
                    (
                        $load(pa.add(k)),
                        $load(pb.add(k)),
                        $load(pa.add(k + L)),
                        $load(pb.add(k + L)),
                    )
                };
                let (t0, t1) = ($sub(x0, y0), $sub(x1, y1));
                acc0 = $fmadd(t0, t0, acc0);
                acc1 = $fmadd(t1, t1, acc1);
                k += 2 * L;
            }
            if k + L <= n {
                // SAFETY: k + L ≤ n.
                let (x0, y0) = unsafe { ($load(pa.add(k)), $load(pb.add(k))) };
                let t0 = $sub(x0, y0);
                acc0 = $fmadd(t0, t0, acc0);
                k += L;
            }
            let mut sum = $reduce($add(acc0, acc1));
            for (&x, &y) in a[k..n].iter().zip(&b[k..n]) {
                let t = x - y;
                sum += t * t;
            }
            sum
        }
    };
}

/// Defines the block and full-Gram entry points of one kernel.
#[cfg(target_arch = "x86_64")]
macro_rules! entry_points {
    ($fill:ident, $full:ident, $micro:ident, $sqdist:ident, $feat:literal, $t:ty, $mr:expr, $nr:expr) => {
        /// Fills a block of condensed rows.
        ///
        /// # Safety
        /// The CPU must support the kernel's target features.
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $fill(job: &mut TileJob<'_, $t>) {
            // SAFETY: the caller guarantees the features; `drive` hands the
            // micro-kernel whole panels and row offsets below NR − MR + 1.
            drive::<$t, $mr, $nr>(
                job,
                |a, b, acc| unsafe { $micro(a, b, acc) },
                // SAFETY: as above.
                |a, b| unsafe { $sqdist(a, b) },
            );
        }

        /// The full Gram matrix of packed rows.
        ///
        /// # Safety
        /// The CPU must support the kernel's target features.
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $full(packed: &PackedRows<$t>, m: usize, out: &mut [$t]) {
            // SAFETY: as in the block entry point.
            drive_full::<$t, $mr, $nr>(packed, m, out, |a, b, acc| unsafe { $micro(a, b, acc) });
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{drive, drive_full, PackedRows, TileJob, PANEL_F32, PANEL_F64};
    use core::arch::x86_64::*;

    micro_kernel!(
        micro512_f64,
        "avx512f",
        f64,
        8,
        PANEL_F64,
        8,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_storeu_pd
    );
    micro_kernel!(
        micro512_f32,
        "avx512f",
        f32,
        8,
        PANEL_F32,
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );

    squared_distance_kernel!(
        sqdist512_f64,
        "avx512f",
        f64,
        8,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_sub_pd,
        _mm512_fmadd_pd,
        _mm512_add_pd,
        _mm512_reduce_add_pd
    );
    squared_distance_kernel!(
        sqdist512_f32,
        "avx512f",
        f32,
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_sub_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        _mm512_reduce_add_ps
    );

    entry_points!(
        fill512_f64,
        full512_f64,
        micro512_f64,
        sqdist512_f64,
        "avx512f",
        f64,
        8,
        PANEL_F64
    );
    entry_points!(
        fill512_f32,
        full512_f32,
        micro512_f32,
        sqdist512_f32,
        "avx512f",
        f32,
        8,
        PANEL_F32
    );
}

/// The per-type entry points, reached through the sealed [`Scalar`] trait.
/// Each checks that the CPU runs the kernel and that the rows were packed
/// for it, and does nothing (returning `false`) otherwise.
pub(crate) mod dispatch {
    use super::{tiles_available, PackedRows, TileJob};

    macro_rules! dispatch_type {
        ($fill:ident, $full:ident, $t:ty, $nr:expr, $fill512:ident, $full512:ident) => {
            /// Fills the job's block with the tile kernel.
            pub(crate) fn $fill(job: &mut TileJob<'_, $t>) -> bool {
                if !tiles_available() || job.packed.nr != $nr {
                    return false;
                }
                // SAFETY: AVX-512F was detected just above.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    super::x86::$fill512(job)
                };
                cfg!(target_arch = "x86_64")
            }

            /// The full Gram matrix of packed rows with the tile kernel.
            pub(crate) fn $full(packed: &PackedRows<$t>, m: usize, out: &mut [$t]) -> bool {
                if !tiles_available() || packed.nr != $nr {
                    return false;
                }
                // SAFETY: AVX-512F was detected just above.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    super::x86::$full512(packed, m, out)
                };
                let _ = (m, out);
                cfg!(target_arch = "x86_64")
            }
        };
    }

    dispatch_type!(
        fill_f64,
        full_f64,
        f64,
        super::PANEL_F64,
        fill512_f64,
        full512_f64
    );
    dispatch_type!(
        fill_f32,
        full_f32,
        f32,
        super::PANEL_F32,
        fill512_f32,
        full512_f32
    );
}

/// `X·Xᵀ` in full (`m × m`) with the kernel the linkage uses on this CPU: the
/// register tiles where available, ndarray's GEMM otherwise. For the
/// benchmarks' floor.
pub(crate) fn full_gram<F: Scalar>(x: ndarray::ArrayView2<'_, F>) -> ndarray::Array2<F> {
    full_gram_using(x, true)
}

/// [`full_gram`] with the tile kernel if `tiles` (and the CPU runs it),
/// ndarray's GEMM otherwise.
pub(crate) fn full_gram_using<F: Scalar>(
    x: ndarray::ArrayView2<'_, F>,
    tiles: bool,
) -> ndarray::Array2<F> {
    let (m, d) = x.dim();
    if tiles && tiles_available() {
        let standard = x.as_standard_layout();
        let flat: &[F] = standard.as_slice().unwrap_or(&[]);
        let zeros = vec![F::zero(); d];
        let rows = |i: usize| &flat[i * d..(i + 1) * d];
        let (packed, _) = PackedRows::pack(m, d, F::TILE_PANEL_WIDTH, rows, &zeros);
        let mut out = vec![F::zero(); m * m];
        if F::full_gram_tiles(&packed, m, &mut out) {
            if let Ok(g) = ndarray::Array2::from_shape_vec((m, m), out) {
                return g;
            }
        }
    }
    x.dot(&x.t())
}
