//! Register-tile products for the Gram-form distances of Ward's matrix path
//! (the safe half: packing and the tile drivers; the vector micro-kernels
//! they drive are in [`simd`](super::simd), the only module with `unsafe`).
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
//!   recomputed directly from the original rows (see
//!   `ward::distances`) — and written straight into the condensed rows: no
//!   `m`-wide scratch, and no second pass over a Gram block.
//!
//! A general GEMM (`matrixmultiply`) keeps fewer accumulators and repacks the
//! column operand at every call; DESIGN.md ("Ward: kernels") has the
//! measurements. Everything here is generic over `num_traits::Float` only, so
//! this module depends on nothing else in the crate.

use num_traits::Float;

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

impl<F: Float> PackedRows<F> {
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

    /// Rows per panel (the kernel's `NR`).
    #[inline]
    pub(crate) fn panel_width(&self) -> usize {
        self.nr
    }

    /// Panel `q` (`nr·d` elements).
    #[inline]
    pub(crate) fn panel(&self, q: usize) -> &[F] {
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
pub(crate) fn drive<F: Float, const MR: usize, const NR: usize>(
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
pub(crate) fn drive_full<F: Float, const MR: usize, const NR: usize>(
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

/// Rows per block of rows for `d` coordinates of `F` and panels of `nr`
/// rows: a multiple of `nr` whose packed rows (the operand every column panel
/// meets) fill about [`TILE_BLOCK_ROWS_BYTES`].
pub(crate) fn rows_per_block<F>(d: usize, nr: usize) -> usize {
    (TILE_BLOCK_ROWS_BYTES / (d.max(1) * core::mem::size_of::<F>()) / nr).max(1) * nr
}
