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
//!   clamped at zero, with the entries below the recomputation threshold
//!   counted — and written straight into the condensed rows: no `m`-wide
//!   scratch, and no second pass over a Gram block.
//!
//! The generic kernel (`matrixmultiply`'s 8×8 AVX-512 `f64` tile) keeps 8
//! accumulators and repacks the column operand at every call; with 24 the
//! multiply-adds are not latency-bound. Measured on the data (m = 2000,
//! d = 256, f64, one thread), see the CHANGELOG and the README's performance
//! section for the end-to-end effect.

use crate::scalar::Scalar;

/// Rows of a tile (broadcast operand).
pub(crate) const MR: usize = 8;

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
    /// Entries at or below `tau·(‖x_i‖² + ‖x_j‖²)` are counted as suspicious.
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
    /// Per row of the block: how many entries are suspicious.
    pub(crate) suspicious: &'a mut [usize],
}

/// The panel width of the tile kernel for `F` on this CPU, or `None` when it
/// has none (no AVX-512, or not x86-64).
#[inline]
pub(crate) fn panel_width<F: Scalar>() -> Option<usize> {
    F::tile_panel_width()
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
fn drive<F: Scalar, const NR: usize>(
    job: &mut TileJob<'_, F>,
    mut micro: impl FnMut(&[F], &[F], &mut [[F; NR]; MR]),
) {
    let TileJob {
        packed,
        norms,
        tau,
        m,
        r0,
        r1,
        ref mut out,
        ref mut suspicious,
    } = *job;
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
                suspicious[i - r0] += count;
            }
            i0 += MR;
        }
    }
}

/// The full Gram matrix `P·Pᵀ` of the packed rows into `out` (`m × m`,
/// row-major), every tile computed: the reference work of the benchmarks'
/// floor, not used by the linkage.
#[inline(always)]
fn drive_full<F: Scalar, const NR: usize>(
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
    let block =
        (TILE_BLOCK_ROWS_BYTES / (packed.d.max(1) * core::mem::size_of::<F>()) / NR).max(1) * NR;
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{drive, drive_full, PackedRows, TileJob, MR};
    use core::arch::x86_64::*;

    /// Panel width for `f64`: three 8-lane registers.
    pub(crate) const NR_F64: usize = 24;
    /// Panel width for `f32`: three 16-lane registers.
    pub(crate) const NR_F32: usize = 48;

    pub(crate) fn has_avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// `acc[ii][jj] = Σ_k a[k·NR + ii]·b[k·NR + jj]` for `d` coordinates.
    ///
    /// # Safety
    /// AVX-512F must be available; `a` must have at least `(d−1)·NR + MR`
    /// elements and `b` at least `d·NR` (checked by the caller's slicing in
    /// debug builds, guaranteed by the packing).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn micro_f64(a: &[f64], b: &[f64], acc: &mut [[f64; NR_F64]; MR]) {
        const NR: usize = NR_F64;
        let d = b.len() / NR;
        assert!(d == 0 || a.len() >= (d - 1) * NR + MR);
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        let mut c = [_mm512_setzero_pd(); 3 * MR];
        for _ in 0..d {
            // SAFETY: k < d, so pb + 24 and pa + 8 stay inside the slices
            // (asserted above); loads are unaligned-tolerant.
            let (b0, b1, b2) = unsafe {
                (
                    _mm512_loadu_pd(pb),
                    _mm512_loadu_pd(pb.add(8)),
                    _mm512_loadu_pd(pb.add(16)),
                )
            };
            for ii in 0..MR {
                // SAFETY: as above.
                let av = _mm512_set1_pd(unsafe { *pa.add(ii) });
                c[3 * ii] = _mm512_fmadd_pd(av, b0, c[3 * ii]);
                c[3 * ii + 1] = _mm512_fmadd_pd(av, b1, c[3 * ii + 1]);
                c[3 * ii + 2] = _mm512_fmadd_pd(av, b2, c[3 * ii + 2]);
            }
            // SAFETY: one past the last element read at most.
            unsafe {
                pa = pa.add(NR);
                pb = pb.add(NR);
            }
        }
        for (ii, row) in acc.iter_mut().enumerate() {
            // SAFETY: each row has 24 elements.
            unsafe {
                _mm512_storeu_pd(row.as_mut_ptr(), c[3 * ii]);
                _mm512_storeu_pd(row.as_mut_ptr().add(8), c[3 * ii + 1]);
                _mm512_storeu_pd(row.as_mut_ptr().add(16), c[3 * ii + 2]);
            }
        }
    }

    /// As [`micro_f64`] for `f32`.
    ///
    /// # Safety
    /// As [`micro_f64`], with `NR = 48`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn micro_f32(a: &[f32], b: &[f32], acc: &mut [[f32; NR_F32]; MR]) {
        const NR: usize = NR_F32;
        let d = b.len() / NR;
        assert!(d == 0 || a.len() >= (d - 1) * NR + MR);
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        let mut c = [_mm512_setzero_ps(); 3 * MR];
        for _ in 0..d {
            // SAFETY: as in `micro_f64`, with 48 and 8 elements per step.
            let (b0, b1, b2) = unsafe {
                (
                    _mm512_loadu_ps(pb),
                    _mm512_loadu_ps(pb.add(16)),
                    _mm512_loadu_ps(pb.add(32)),
                )
            };
            for ii in 0..MR {
                // SAFETY: as above.
                let av = _mm512_set1_ps(unsafe { *pa.add(ii) });
                c[3 * ii] = _mm512_fmadd_ps(av, b0, c[3 * ii]);
                c[3 * ii + 1] = _mm512_fmadd_ps(av, b1, c[3 * ii + 1]);
                c[3 * ii + 2] = _mm512_fmadd_ps(av, b2, c[3 * ii + 2]);
            }
            // SAFETY: one past the last element read at most.
            unsafe {
                pa = pa.add(NR);
                pb = pb.add(NR);
            }
        }
        for (ii, row) in acc.iter_mut().enumerate() {
            // SAFETY: each row has 48 elements.
            unsafe {
                _mm512_storeu_ps(row.as_mut_ptr(), c[3 * ii]);
                _mm512_storeu_ps(row.as_mut_ptr().add(16), c[3 * ii + 1]);
                _mm512_storeu_ps(row.as_mut_ptr().add(32), c[3 * ii + 2]);
            }
        }
    }

    /// Fills a block of `f64` rows.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn fill_f64(job: &mut TileJob<'_, f64>) {
        // SAFETY: the caller guarantees AVX-512F; the panels hold `d·NR`
        // elements and every row offset in them is below NR − MR + 1.
        drive::<f64, NR_F64>(job, |a, b, acc| unsafe { micro_f64(a, b, acc) });
    }

    /// Fills a block of `f32` rows.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn fill_f32(job: &mut TileJob<'_, f32>) {
        // SAFETY: as in `fill_f64`.
        drive::<f32, NR_F32>(job, |a, b, acc| unsafe { micro_f32(a, b, acc) });
    }

    /// The full Gram matrix of `f64` packed rows.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn full_f64(packed: &PackedRows<f64>, m: usize, out: &mut [f64]) {
        // SAFETY: as in `fill_f64`.
        drive_full::<f64, NR_F64>(packed, m, out, |a, b, acc| unsafe { micro_f64(a, b, acc) });
    }

    /// The full Gram matrix of `f32` packed rows.
    ///
    /// # Safety
    /// AVX-512F must be available.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn full_f32(packed: &PackedRows<f32>, m: usize, out: &mut [f32]) {
        // SAFETY: as in `fill_f64`.
        drive_full::<f32, NR_F32>(packed, m, out, |a, b, acc| unsafe { micro_f32(a, b, acc) });
    }
}

/// The per-type entry points, reached through the sealed [`Scalar`] trait.
pub(crate) mod dispatch {
    use super::{PackedRows, TileJob};

    /// The full Gram matrix of `f64` packed rows; `false` without the kernel.
    pub(crate) fn full_f64(packed: &PackedRows<f64>, m: usize, out: &mut [f64]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            // SAFETY: AVX-512F was detected just above.
            unsafe { super::x86::full_f64(packed, m, out) };
            return true;
        }
        let _ = (packed, m, out);
        false
    }

    /// The full Gram matrix of `f32` packed rows; `false` without the kernel.
    pub(crate) fn full_f32(packed: &PackedRows<f32>, m: usize, out: &mut [f32]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            // SAFETY: AVX-512F was detected just above.
            unsafe { super::x86::full_f32(packed, m, out) };
            return true;
        }
        let _ = (packed, m, out);
        false
    }

    /// The panel width for `f64` if the CPU has the kernel.
    pub(crate) fn width_f64() -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            return Some(super::x86::NR_F64);
        }
        None
    }

    /// The panel width for `f32` if the CPU has the kernel.
    pub(crate) fn width_f32() -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            return Some(super::x86::NR_F32);
        }
        None
    }

    /// Fills the job's block; returns `false` (doing nothing) without the kernel.
    pub(crate) fn fill_f64(job: &mut TileJob<'_, f64>) -> bool {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            // SAFETY: AVX-512F was detected just above.
            unsafe { super::x86::fill_f64(job) };
            return true;
        }
        let _ = job;
        false
    }

    /// Fills the job's block; returns `false` (doing nothing) without the kernel.
    pub(crate) fn fill_f32(job: &mut TileJob<'_, f32>) -> bool {
        #[cfg(target_arch = "x86_64")]
        if super::x86::has_avx512() {
            // SAFETY: AVX-512F was detected just above.
            unsafe { super::x86::fill_f32(job) };
            return true;
        }
        let _ = job;
        false
    }
}

/// `X·Xᵀ` in full (`m × m`) with the kernel the linkage uses on this CPU: the
/// register tiles where available, ndarray's GEMM otherwise. For the
/// benchmarks' floor.
pub(crate) fn full_gram<F: Scalar>(x: ndarray::ArrayView2<'_, F>) -> ndarray::Array2<F> {
    let (m, d) = x.dim();
    if let Some(nr) = panel_width::<F>() {
        let standard = x.as_standard_layout();
        let flat: &[F] = standard.as_slice().unwrap_or(&[]);
        let zeros = vec![F::zero(); d];
        let (packed, _) = PackedRows::pack(m, d, nr, |i| &flat[i * d..(i + 1) * d], &zeros);
        let mut out = vec![F::zero(); m * m];
        if F::full_gram_tiles(&packed, m, &mut out) {
            if let Ok(g) = ndarray::Array2::from_shape_vec((m, m), out) {
                return g;
            }
        }
    }
    x.dot(&x.t())
}
