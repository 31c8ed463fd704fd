//! The distance pass of the matrix path: condensed squared Euclidean
//! distances through the Gram matrix (all of the Ward code's distance
//! computation is here; the products themselves are in `crate::scalar`).
//!
//! `‖x_i − x_j‖² = ‖x_i‖² + ‖x_j‖² − 2·x_i·x_j`, with the dot products
//! computed block of rows by block of rows over the upper triangle only: about
//! `m²·d/2` multiply-adds, half of the full `X·Xᵀ`. Two product kernels
//! ([`ProductKernel`], chosen at run time):
//!
//! * on CPUs with AVX-512, the register tiles of `crate::scalar::tiles`,
//!   which write distances straight into the condensed rows (`O(m·d)` space
//!   besides the output: the packed rows);
//! * elsewhere, a general GEMM: block `[r0, r1)` is the product of that row
//!   panel with the rows `r0..`, computed a chunk of columns at a time into
//!   a scratch buffer of about 256 KiB (so that the epilogue reads each
//!   chunk from the L2 cache) and converted row by row.
//!   [`ProductKernel::Gemm`] is the `gemm` crate (the kernels behind faer:
//!   AVX2+FMA on x86-64, NEON on aarch64, chosen by the crate at run time),
//!   1.1–1.7× faster than `matrixmultiply` on an AMD EPYC (AVX2) at
//!   d = 256 (DESIGN.md, "Ward linkage");
//!   [`ProductKernel::Matrixmultiply`] (ndarray's GEMM) stays as the
//!   portable reference the tests compare against.
//!
//! The kernel is [`ProductKernel::detect`]: the `PINNERSAGE_KERNEL`
//! environment variable if set to a kernel this CPU runs, else the fastest.
//!
//! Either way the blocks are independent: with `parallel` (and the `parallel`
//! feature) they run on rayon's threads, each block computed exactly as the
//! serial pass computes it (same boundaries, same calls), so the result is
//! the same bit for bit.
//!
//! # Precision
//!
//! The Gram form cancels: its absolute error is about `c·ε·(‖x_i‖² + ‖x_j‖²)`
//! (`c ≈ √d` in practice, `d` at worst), which is large relative to a distance
//! that is small compared to the norms. Three measures keep the result as good
//! as the direct sum:
//!
//! 1. the rows are **centred** before the GEMM (Ward is translation-invariant):
//!    translated by the row nearest their mean, which makes the norms nearly as
//!    small as they can be and keeps data on a grid on it (small integers then
//!    give exact Gram products). On the GEMM path, where the recomputation
//!    threshold below is at least 1/64 (always in `f32`), each block of rows
//!    `[r0, r1)` also takes its entries with the next `2·(r1 − r0)` rows (its
//!    *band*) from a product about its **own** centre, the block's row nearest
//!    the block's mean: the matrix path orders the rows so that close rows sit
//!    at close indices ([`ordering`](super::ordering)), so most distances
//!    small next to the global norms join rows of one band, where the norms
//!    about the block's centre are small too and the product gives them
//!    accurately (on the `batch` example's synthetic mix, d = 256 `f32`,
//!    the direct recomputation fell from 7.6% to 3.1% of the run's time);
//! 2. every distance below `τ·(‖x_i‖² + ‖x_j‖²)` is **recomputed directly** as
//!    `Σ_k (x_ik − x_jk)²` from the original rows, where `τ = c·ε / ρ` and `ρ`
//!    is the relative error allowed per distance, and identical rows get exact
//!    zeros:
//!    * `f64`: `ρ = 1e-11` and `c = d + 4`, the worst case of the Gram form
//!      (rounding errors that all go the same way, as constant rows make them),
//!      so **every** distance kept from the Gram form is within 1e-11 of the
//!      direct sum, whatever the input (see the test
//!      `aligned_rounding_errors_stay_within_the_worst_case_bound`); on
//!      clustered embeddings (d = 256) this recomputes next to nothing;
//!    * `f32`: `ρ = 1e-5` and `c = 2√d + 4`, the typical case: the worst case
//!      would recompute nearly every pair. Adversarial rounding can then reach
//!      `ρ·(d + 4)/(2√d + 4)`, and `τ` is capped at 1 (from d ≈ 1600 up in
//!      `f32`);
//! 3. the result is clamped at zero.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

use crate::linalg::{argmin, squared_distance};
use crate::scalar::simd::{gemm_nt, vectorised, ProductKernel};
use crate::scalar::tiles::{row_offset, rows_per_block, PackedRows, TileJob};
use crate::scalar::Scalar;

use super::method::weighted_dissimilarity;
use super::ordering::keeps_row_order;

/// Rows per GEMM block are capped so that a block's products with all the
/// columns, `block × m` values, stay near this many bytes (for
/// `matrixmultiply`, or an eighth of the condensed output if that is less; 16
/// to 512 rows); see [`gemm_block_rows`]. The product itself is computed a
/// chunk of columns at a time ([`chunk_columns`]).
const SCRATCH_BYTES: usize = 16 << 20;

/// The relative error `ρ` allowed per distance taken from the Gram form.
fn allowed_relative_error<F: Scalar>() -> f64 {
    if F::epsilon().to_f64_lossless() > 1e-10 {
        1e-5
    } else {
        1e-11
    }
}

/// The recomputation threshold `τ` for dimension `d` (see the module docs).
pub(crate) fn recompute_threshold<F: Scalar>(d: usize) -> F {
    // f64: the worst case, so the 1e-11 holds for every input; f32: the
    // typical case (the worst case would recompute nearly everything)
    let c = if allowed_relative_error::<F>() < 1e-6 {
        d as f64 + 4.0
    } else {
        2.0 * (d as f64).sqrt() + 4.0
    };
    let tau = c * F::epsilon().to_f64_lossless() / allowed_relative_error::<F>();
    F::from_f64_rounded(tau.min(1.0))
}

/// Fills `out` (length `m(m−1)/2`, scipy's condensed order) with the initial
/// Ward dissimilarities of the rows of `x` taken in the order `order` (slot
/// `i` is row `order[i]`): `‖x_i − x_j‖²`, times `2·w_i·w_j/(w_i + w_j)` when
/// `weights` (indexed by slot) are given.
///
/// Returns each row's nearest neighbour to its right, found while the row is
/// still in cache (see [`RowMinima`]).
///
/// # Complexity
/// O(m²·d) time (GEMM-bound, upper triangle only); O(m·d) space besides
/// `out` (and a product chunk of about 256 KiB per running GEMM block).
pub(crate) fn fill_condensed<F: Scalar>(
    x: ArrayView2<'_, F>,
    order: &[usize],
    weights: Option<&[F]>,
    out: &mut [F],
    parallel: bool,
) -> RowMinima<F> {
    fill_condensed_using(x, order, weights, out, ProductKernel::detect(), parallel)
}

/// [`fill_condensed`] with a choice of product kernel (both give distances
/// within the same error bound; tests compare them). A kernel this CPU does
/// not run falls back to [`ProductKernel::Gemm`].
pub(crate) fn fill_condensed_using<F: Scalar>(
    x: ArrayView2<'_, F>,
    order: &[usize],
    weights: Option<&[F]>,
    out: &mut [F],
    kernel: ProductKernel,
    parallel: bool,
) -> RowMinima<F> {
    let (m, d) = x.dim();
    debug_assert_eq!(order.len(), m);
    debug_assert_eq!(out.len(), m * m.saturating_sub(1) / 2);
    let mut minima = RowMinima {
        nn: vec![usize::MAX; m],
        dist: vec![F::infinity(); m],
    };
    if m < 2 {
        return minima;
    }
    // Original rows as one contiguous row-major slice (a copy only if the
    // caller's view is not standard layout), for the centre, the packing and
    // the direct recomputation.
    let standard = x.as_standard_layout();
    let flat: &[F] = standard.as_slice().unwrap_or(&[]);
    let row_of = |i: usize| -> &[F] { &flat[order[i] * d..(order[i] + 1) * d] };
    let row_of = &row_of;
    // Centred rows: translated by the row nearest their mean (rather than the
    // mean itself, so that data on a grid stays on it and small integers keep
    // exact Gram products).
    let original = |i: usize| -> &[F] { &flat[i * d..(i + 1) * d] };
    let mut mean = vec![F::zero(); d];
    let centre = vectorised(
        #[inline(always)]
        || nearest_to_mean(&mut mean, 0, m, &original),
    );
    let centre = original(centre);
    let tau = recompute_threshold::<F>(d);
    let kernel = if kernel.is_available() {
        kernel
    } else {
        ProductKernel::Gemm
    };

    let found = if kernel == ProductKernel::Avx512Tiles {
        // the tile path: pack the centred rows once, then fill block after
        // block of condensed rows with the tile kernel and finish each row
        // while the block is fresh in cache
        let nr = F::TILE_PANEL_WIDTH;
        let (packed, norms) = PackedRows::pack(m, d, nr, row_of, centre);
        let blocks = split_blocks(m, rows_per_block::<F>(d, nr), out);
        run_blocks(
            blocks,
            parallel,
            || (),
            |(), (r0, r1, rows)| {
                let mut job = TileJob {
                    packed: &packed,
                    norms: &norms,
                    tau,
                    m,
                    r0,
                    r1,
                    out: &mut *rows,
                    rows: flat,
                    order,
                };
                let filled = F::fill_tiles(&mut job);
                debug_assert!(filled, "the kernel's support was checked above");
                // the kernel has recomputed the small distances already
                finish_block(m, r0, r1, rows, |_| false, row_of, weights)
            },
        )
    } else {
        // centred rows, row-major and contiguous (both GEMMs read them so),
        // and their squared norms
        let mut centred = vec![F::zero(); m * d];
        let mut norms = vec![F::zero(); m];
        vectorised(
            #[inline(always)]
            || centre_rows(&mut centred, &mut norms, 0, d, row_of, centre),
        );
        let block = gemm_block_rows::<F>(m, kernel, core::mem::size_of_val(out));
        let blocks = split_blocks(m, block, out);
        let banded = uses_bands(tau) && !keeps_row_order::<F>(m);
        let global = Centred {
            rows: &centred,
            norms: &norms,
        };
        run_blocks(
            blocks,
            parallel,
            || BlockScratch::<F>::new(block.min(m), if banded { m } else { 0 }, m, d),
            |scratch, (r0, r1, rows)| {
                let near = if banded {
                    scratch.centre_band(r0, r1, m, d, row_of)
                } else {
                    0
                };
                let local = Centred {
                    rows: &scratch.band,
                    norms: &scratch.band_norms,
                };
                let flags = gemm_block(
                    &global,
                    &local,
                    near,
                    d,
                    tau,
                    r0,
                    r1,
                    rows,
                    &mut scratch.product,
                    kernel,
                );
                finish_block(m, r0, r1, rows, |i| flags[i - r0], row_of, weights)
            },
        )
    };
    for (i, nearest) in found.into_iter().flatten().enumerate() {
        if let Some((j, v)) = nearest {
            minima.nn[i] = j;
            minima.dist[i] = v;
        }
    }
    minima
}

/// Rows per GEMM block for `m` rows, `out_bytes` of condensed output.
///
/// A GEMM packs its operands at every call: the rows `r0..` once per block,
/// about `m²·d/(2·block)` element moves in all, against the `block·m·d/2`
/// multiply-adds wasted on the block's lower triangle. For the `gemm` crate
/// the best block grows like `√m` (measured on an AMD EPYC, d = 256, f32 and
/// f64: 64 rows best at m = 220–500, 128–256 at m = 2000): `√(12·m)` rounded
/// up to 16, within 32..=512, and a scratch of at most [`SCRATCH_BYTES`].
/// For `matrixmultiply`, tall blocks, but a scratch of at most an eighth of
/// the output (its pages cost too).
fn gemm_block_rows<F>(m: usize, kernel: ProductKernel, out_bytes: usize) -> usize {
    let size = core::mem::size_of::<F>();
    if kernel == ProductKernel::Gemm {
        let best = ((12.0 * m as f64).sqrt() as usize).div_ceil(16) * 16;
        let cap = (SCRATCH_BYTES / (m.max(1) * size)).max(16);
        best.clamp(32, 512).min(cap)
    } else {
        let scratch_bytes = SCRATCH_BYTES.min(out_bytes / 8);
        (scratch_bytes / (m.max(1) * size)).clamp(16, 512)
    }
}

/// Rows of the product taken from a block's own centring, in blocks: the
/// block's rows and the next block's (see [`BlockScratch::centre_band`]).
const NEAR_BLOCKS: usize = 2;

/// Whether the blocks take their bands about their own centres: where the
/// recomputation threshold `tau` is at least 1/64 (always in `f32`; in `f64`
/// from d ≈ 700 up, below which the threshold is so low that next to nothing
/// is recomputed and the band's centring would cost more than it saves:
/// 3% of the linkage at m = 2000, d = 256). Only on ordered rows, too (see
/// `fill_condensed`): in the given order close rows are not at close indices.
fn uses_bands<F: Scalar>(tau: F) -> bool {
    tau.to_f64_lossless() >= 1.0 / 64.0
}

/// Rows translated by one centre, row-major, with their squared norms.
struct Centred<'a, F> {
    rows: &'a [F],
    norms: &'a [F],
}

/// The working memory of one GEMM block: the product, and the *band* — the
/// rows `r0..r0 + near` centred on the block's own centre — with its norms.
struct BlockScratch<F> {
    product: Vec<F>,
    band: Vec<F>,
    band_norms: Vec<F>,
    mean: Vec<F>,
}

impl<F: Scalar> BlockScratch<F> {
    /// Room for blocks of `block` rows out of `m`, and bands of at most
    /// `band_limit` rows.
    fn new(block: usize, band_limit: usize, m: usize, d: usize) -> Self {
        let near = block.saturating_mul(NEAR_BLOCKS).min(band_limit);
        BlockScratch {
            product: vec![F::zero(); block * chunk_columns::<F>(block).min(m)],
            band: vec![F::zero(); near * d],
            band_norms: vec![F::zero(); near],
            mean: vec![F::zero(); d],
        }
    }

    /// Centres the band of block `[r0, r1)` — its rows and those of the next
    /// block, `near = min(m − r0, NEAR_BLOCKS·(r1 − r0))` rows from `r0` —
    /// on the block's row nearest the block's mean, and returns `near`.
    ///
    /// The rows are ordered so that close rows sit at close indices
    /// ([`ordering`](super::ordering)): most distances small enough to cancel
    /// in the Gram form join rows of one band, whose norms about this centre
    /// are small, so the product gives them accurately and few are left to
    /// recompute. A data row rather than the mean itself, so that data on a
    /// grid stays on it (small integers keep exact Gram products).
    fn centre_band<'a>(
        &mut self,
        r0: usize,
        r1: usize,
        m: usize,
        d: usize,
        row_of: &impl Fn(usize) -> &'a [F],
    ) -> usize {
        let near = (r1 - r0).saturating_mul(NEAR_BLOCKS).min(m - r0);
        let mean = &mut self.mean;
        let centre = vectorised(
            #[inline(always)]
            || nearest_to_mean(mean, r0, r1, row_of),
        );
        let centre = row_of(centre);
        let (band, norms) = (&mut self.band[..near * d], &mut self.band_norms[..near]);
        vectorised(
            #[inline(always)]
            || centre_rows(band, norms, r0, d, row_of, centre),
        );
        near
    }
}

/// `dst = row − centre`, returning `‖dst‖²` accumulated in eight lanes like
/// [`squared_distance`] (one pass for both; inlined into a vectorised
/// caller).
#[inline(always)]
fn centre_row<F: Scalar>(dst: &mut [F], row: &[F], centre: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let mut chunks = dst.chunks_exact_mut(8);
    let mut rows = row.chunks_exact(8);
    let mut centres = centre.chunks_exact(8);
    for ((o, x), c) in (&mut chunks).zip(&mut rows).zip(&mut centres) {
        if let (Ok(o), Ok(x), Ok(c)) = (
            <&mut [F; 8]>::try_from(o),
            <&[F; 8]>::try_from(x),
            <&[F; 8]>::try_from(c),
        ) {
            let mut v = [F::zero(); 8];
            for k in 0..8 {
                v[k] = x[k] - c[k];
            }
            for k in 0..8 {
                acc[k] = acc[k] + v[k] * v[k];
            }
            *o = v;
        }
    }
    let mut tail = F::zero();
    for ((o, &x), &c) in chunks
        .into_remainder()
        .iter_mut()
        .zip(rows.remainder())
        .zip(centres.remainder())
    {
        let v = x - c;
        *o = v;
        tail = tail + v * v;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// [`centre_row`] of the rows `first..` (`row_of`) into `dst` (`d` values
/// per row) and their squared norms into `norms`, one row per norm. Inlined
/// into a vectorised caller.
#[inline(always)]
fn centre_rows<'a, F: Scalar>(
    dst: &mut [F],
    norms: &mut [F],
    first: usize,
    d: usize,
    row_of: &impl Fn(usize) -> &'a [F],
    centre: &[F],
) {
    for ((i, dst), n) in (first..).zip(dst.chunks_exact_mut(d)).zip(norms.iter_mut()) {
        *n = centre_row(dst, row_of(i), centre);
    }
}

/// The row of `[r0, r1)` (`row_of`) nearest the mean of those rows (the
/// first at ties), with `mean` as scratch. Inlined into a vectorised caller.
#[inline(always)]
fn nearest_to_mean<'a, F: Scalar>(
    mean: &mut [F],
    r0: usize,
    r1: usize,
    row_of: &impl Fn(usize) -> &'a [F],
) -> usize {
    mean.fill(F::zero());
    for i in r0..r1 {
        for (s, &v) in mean.iter_mut().zip(row_of(i)) {
            *s = *s + v;
        }
    }
    let h = F::from_f64_rounded((r1 - r0) as f64);
    for s in mean.iter_mut() {
        *s = *s / h;
    }
    let mut centre = (r0, F::infinity());
    for i in r0..r1 {
        let v = squared_distance(row_of(i), mean);
        if v < centre.1 {
            centre = (i, v);
        }
    }
    centre.0
}

/// A block of rows `[r0, r1)` and its condensed rows (contiguous).
type Block<'a, F> = (usize, usize, &'a mut [F]);

/// Splits the condensed matrix `out` of `m` rows into blocks of `block` rows
/// (the last row has no entries and belongs to no block).
fn split_blocks<F>(m: usize, block: usize, out: &mut [F]) -> Vec<Block<'_, F>> {
    let mut blocks = Vec::with_capacity(m / block.max(1) + 1);
    let mut rest = out;
    let mut r0 = 0usize;
    while r0 + 1 < m {
        let r1 = (r0 + block).min(m - 1);
        let (rows, tail) = rest.split_at_mut(row_offset(m, r1) - row_offset(m, r0));
        blocks.push((r0, r1, rows));
        rest = tail;
        r0 = r1;
    }
    blocks
}

/// Each row's nearest neighbour to its right, as [`finish_block`] returns it.
type Nearest<F> = Vec<Option<(usize, F)>>;

/// Runs `body` on every block, in order, with a scratch value from `init`:
/// on rayon's threads with `parallel` and the `parallel` feature (scratch
/// values are pooled, so at most one per concurrently running block is ever
/// made), else serially with one scratch. The blocks are independent and
/// `body` computes each the same way in both cases, so the results are the
/// same bit for bit.
fn run_blocks<'a, F, S, I, B>(
    blocks: Vec<Block<'a, F>>,
    parallel: bool,
    init: I,
    body: B,
) -> Vec<Nearest<F>>
where
    F: Scalar,
    S: Send,
    I: Fn() -> S + Sync + Send,
    B: Fn(&mut S, Block<'a, F>) -> Nearest<F> + Sync + Send,
{
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        use std::sync::Mutex;
        crate::thread_pool::make_usable_here();
        let pool: Mutex<Vec<S>> = Mutex::new(Vec::new());
        return blocks
            .into_par_iter()
            .map(|block| {
                let reused = pool.lock().ok().and_then(|mut p| p.pop());
                let mut scratch = reused.unwrap_or_else(&init);
                let found = body(&mut scratch, block);
                if let Ok(mut p) = pool.lock() {
                    p.push(scratch);
                }
                found
            })
            .collect();
    }
    let _ = parallel;
    let mut scratch = init();
    blocks.into_iter().map(|b| body(&mut scratch, b)).collect()
}

/// The clamped Gram-form distances of rows `[r0, r1)` into their condensed
/// rows `rows`, chunk of columns by chunk of columns through `product` (as
/// many columns per chunk as it holds for `r1 − r0` rows; sized by
/// [`chunk_columns`], so that each chunk's product is still in cache when
/// its epilogue reads it): the entries `(i, j)` with
/// `j < r0 + near` from the product of the block's band (`local`, its first
/// `r1 − r0` rows against all `near`), the others from the `global` rows
/// `[r0, r1)` against `global` rows `r0 + near..m`; with the `gemm` crate for
/// [`ProductKernel::Gemm`] and `matrixmultiply` otherwise. Each entry is
/// `‖x_i‖² + ‖x_j‖² − 2·g_ij` (norms about the same centre as the product),
/// clamped at zero, or `−1` where it is at or below the recomputation
/// threshold `tau·(‖x_i‖² + ‖x_j‖²)` (left for [`finish_row`]). Returns, row
/// by row, whether the row has such entries.
#[allow(clippy::too_many_arguments)]
fn gemm_block<F: Scalar>(
    global: &Centred<'_, F>,
    local: &Centred<'_, F>,
    near: usize,
    d: usize,
    tau: F,
    r0: usize,
    r1: usize,
    rows: &mut [F],
    product: &mut [F],
    kernel: ProductKernel,
) -> Vec<bool> {
    let m = global.norms.len();
    let (h, w) = (r1 - r0, m - r0);
    // as many columns as the scratch holds for h rows (at least
    // `chunk_columns`: the scratch is sized for the tallest block)
    let chunk = (product.len() / h.max(1)).max(1);
    let mut flags = vec![false; h];
    // columns [c0, c1) of the block (j = r0 + c); no chunk straddles `near`,
    // the end of the band
    let mut c0 = 0;
    while c0 < w {
        let c1 = if c0 < near { near } else { w }.min(c0 + chunk);
        let cw = c1 - c0;
        // the band's columns about the block's centre, the others about the
        // global one; the rows, and their norms, about the same centre
        let (a, b, norm_rows, norm_cols) = if c0 < near {
            (
                &local.rows[..h * d],
                &local.rows[c0 * d..c1 * d],
                &local.norms[..h],
                &local.norms[c0..c1],
            )
        } else {
            (
                &global.rows[r0 * d..r1 * d],
                &global.rows[(r0 + c0) * d..(r0 + c1) * d],
                &global.norms[r0..r1],
                &global.norms[r0 + c0..r0 + c1],
            )
        };
        let c = &mut product[..h * cw];
        multiply(a, b, d, c, cw, kernel);
        vectorised(
            #[inline(always)]
            || epilogue_chunk(m, r0, c0, norm_rows, norm_cols, tau, rows, c, &mut flags),
        );
        c0 = c1;
    }
    flags
}

/// Bytes of one chunk of a GEMM block's product: it stays in the L2 cache
/// between the product and its epilogue.
const CHUNK_BYTES: usize = 256 << 10;

/// Columns per chunk of a GEMM block of `h` rows (a multiple of 16, at least
/// 16): about [`CHUNK_BYTES`] of product.
fn chunk_columns<F>(h: usize) -> usize {
    (CHUNK_BYTES / (h.max(1) * core::mem::size_of::<F>()) / 16).max(1) * 16
}

/// The epilogue of [`gemm_block`] on one chunk: the product `c` of the
/// block's rows `r0 + ii` (norms `norm_rows[ii]`) with the columns
/// `j = r0 + c0 + jj` (norms `norm_cols[jj]`), row stride
/// `norm_cols.len()`, turned by [`epilogue`] into the entries `(i, j)` with
/// `j > i` of the condensed rows `rows`; `flags[ii]` is set where a row has
/// entries to recompute. Inlined into a vectorised caller.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn epilogue_chunk<F: Scalar>(
    m: usize,
    r0: usize,
    c0: usize,
    norm_rows: &[F],
    norm_cols: &[F],
    tau: F,
    rows: &mut [F],
    c: &[F],
    flags: &mut [bool],
) {
    let cw = norm_cols.len();
    let base = row_offset(m, r0);
    for (ii, (&ni, flag)) in norm_rows.iter().zip(flags.iter_mut()).enumerate() {
        let i = r0 + ii;
        // the chunk's columns right of the diagonal: jj ≥ skip
        let skip = (i + 1).saturating_sub(r0 + c0);
        if skip >= cw {
            continue;
        }
        let j = r0 + c0 + skip;
        let at = row_offset(m, i) - base + (j - i - 1);
        let dst = &mut rows[at..at + (cw - skip)];
        let g = &c[ii * cw + skip..(ii + 1) * cw];
        *flag |= epilogue(dst, g, ni, &norm_cols[skip..], tau) > 0;
    }
}

/// `dst[k] = max(n_i + n[k] − 2·g[k], 0)`, or `−1` where that is at or below
/// `tau·(n_i + n[k])`; returns how many are `−1`. Inlined into a vectorised
/// caller.
#[inline(always)]
fn epilogue<F: Scalar>(dst: &mut [F], g: &[F], ni: F, n: &[F], tau: F) -> usize {
    let two = F::one() + F::one();
    let flag = F::zero() - F::one();
    let mut suspicious = 0usize;
    for ((o, &gij), &nj) in dst.iter_mut().zip(g).zip(n) {
        let v = ni + nj - two * gij;
        let v = if v > F::zero() { v } else { F::zero() };
        let small = v <= tau * (ni + nj);
        suspicious += usize::from(small);
        *o = if small { flag } else { v };
    }
    suspicious
}

/// `c = a·bᵀ` (`a`: rows of `d` values; `b` likewise; `c` with row stride
/// `ldc`), with the `gemm` crate for [`ProductKernel::Gemm`], else (or if it
/// declines the shapes) `matrixmultiply` through ndarray.
fn multiply<F: Scalar>(a: &[F], b: &[F], d: usize, c: &mut [F], ldc: usize, kernel: ProductKernel) {
    if kernel == ProductKernel::Gemm && gemm_nt(a, b, d, c, ldc) {
        return;
    }
    let (h, w) = (a.len() / d.max(1), b.len() / d.max(1));
    let need = h.saturating_sub(1) * ldc + w;
    if h == 0 || w == 0 || c.len() < need {
        return;
    }
    // the shapes are consistent by construction, so the views exist
    if let (Ok(a), Ok(b), Ok(cv)) = (
        ArrayView2::from_shape((h, d), a),
        ArrayView2::from_shape((w, d), b),
        ArrayViewMut2::from_shape((h, w).strides((ldc, 1)), &mut c[..need]),
    ) {
        let mut cv = cv;
        general_mat_mul(F::one(), &a, &b.t(), F::zero(), &mut cv);
    }
}

/// Finishes the condensed rows of block `[r0, r1)` with [`finish_row`]
/// (`suspicious(i)`: whether row `i` has entries to recompute) and returns
/// each row's nearest neighbour to its right.
fn finish_block<'a, F: Scalar>(
    m: usize,
    r0: usize,
    r1: usize,
    rows: &mut [F],
    suspicious: impl Fn(usize) -> bool,
    row_of: &impl Fn(usize) -> &'a [F],
    weights: Option<&[F]>,
) -> Nearest<F> {
    let base = row_offset(m, r0);
    vectorised(
        #[inline(always)]
        || {
            let mut found = Vec::with_capacity(r1 - r0);
            for i in r0..r1 {
                let at = row_offset(m, i) - base;
                let dst = &mut rows[at..at + (m - i - 1)];
                found.push(finish_row(i, dst, suspicious(i), row_of, weights));
            }
            found
        },
    )
}

/// Finishes row `i` of the condensed matrix (`dst`, the entries `(i, j)`,
/// `j > i`: clamped Gram-form distances, `−1` for those to recompute):
/// recomputes the flagged entries directly when `suspicious`, applies the
/// weights, and returns the row's nearest neighbour to its right with its
/// dissimilarity. Inlined into a vectorised caller.
#[inline(always)]
fn finish_row<'a, F: Scalar>(
    i: usize,
    dst: &mut [F],
    suspicious: bool,
    row_of: &impl Fn(usize) -> &'a [F],
    weights: Option<&[F]>,
) -> Option<(usize, F)> {
    if suspicious {
        let xi = row_of(i);
        for (k, o) in dst.iter_mut().enumerate() {
            if *o < F::zero() {
                *o = F::squared_distance_simd(xi, row_of(i + 1 + k), squared_distance);
            }
        }
    }
    if let Some(w) = weights {
        let wi = w[i];
        for (o, &wj) in dst.iter_mut().zip(&w[i + 1..]) {
            *o = weighted_dissimilarity(*o, wi, wj);
        }
    }
    argmin(dst).map(|(k, v)| (i + 1 + k, v))
}

/// Each row's nearest neighbour among the rows to its right in the condensed
/// matrix: `nn[i] = argmin_{j > i} d(i, j)` (the first at ties, `usize::MAX`
/// for the last row) and `dist[i]` its dissimilarity (`+∞` for the last row).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowMinima<F> {
    pub(crate) nn: Vec<usize>,
    pub(crate) dist: Vec<F>,
}

impl<F: Scalar> RowMinima<F> {
    /// Computes the row minima of a condensed matrix of `m` observations.
    ///
    /// # Complexity
    /// O(m²) time (one pass), O(m) space.
    pub(crate) fn of_condensed(m: usize, d: &[F]) -> Self {
        let mut nn = vec![usize::MAX; m];
        let mut dist = vec![F::infinity(); m];
        let mut start = 0;
        for i in 0..m.saturating_sub(1) {
            let len = m - i - 1;
            if let Some((k, v)) = argmin(&d[start..start + len]) {
                nn[i] = i + 1 + k;
                dist[i] = v;
            }
            start += len;
        }
        RowMinima { nn, dist }
    }
}

/// `X·Xᵀ` in full (`m × m`) with `kernel` (the `gemm` crate if this CPU
/// does not run it): the benchmarks' floor, not used by the linkage.
#[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))]
pub(crate) fn full_gram<F: Scalar>(x: ArrayView2<'_, F>, kernel: ProductKernel) -> Array2<F> {
    let (m, d) = x.dim();
    let standard = x.as_standard_layout();
    let flat: &[F] = standard.as_slice().unwrap_or(&[]);
    match kernel {
        ProductKernel::Avx512Tiles if kernel.is_available() => {
            let zeros = vec![F::zero(); d];
            let rows = |i: usize| &flat[i * d..(i + 1) * d];
            let (packed, _) = PackedRows::pack(m, d, F::TILE_PANEL_WIDTH, rows, &zeros);
            let mut out = vec![F::zero(); m * m];
            if F::full_gram_tiles(&packed, m, &mut out) {
                if let Ok(g) = Array2::from_shape_vec((m, m), out) {
                    return g;
                }
            }
        }
        ProductKernel::Matrixmultiply => return x.dot(&x.t()),
        _ => {}
    }
    let mut out = vec![F::zero(); m * m];
    if gemm_nt(flat, flat, d, &mut out, m) {
        if let Ok(g) = Array2::from_shape_vec((m, m), out) {
            return g;
        }
    }
    x.dot(&x.t())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Axis};

    fn identity(m: usize) -> Vec<usize> {
        (0..m).collect()
    }

    fn naive(x: ArrayView2<'_, f64>) -> Vec<f64> {
        let m = x.nrows();
        let mut v = Vec::new();
        for i in 0..m {
            for j in i + 1..m {
                v.push(
                    x.row(i)
                        .iter()
                        .zip(x.row(j))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum(),
                );
            }
        }
        v
    }

    fn pseudo_random(m: usize, d: usize, offset: f64, seed: u64) -> Array2<f64> {
        let mut s = seed;
        Array2::from_shape_fn((m, d), |_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            offset + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
        })
    }

    /// Every kernel: the tile kernel (the `gemm` crate where the CPU lacks
    /// it, a still valid run), the `gemm` crate and `matrixmultiply`.
    const BOTH: [ProductKernel; 3] = ProductKernel::ALL;

    #[test]
    fn matches_direct_sums_across_blocks() {
        // m large enough for several blocks of either kernel (the tile path's
        // blocks are 120 rows at d = 256), big offset so the Gram form would
        // cancel without centring and recomputation
        for kernel in BOTH {
            for (m, d, offset) in [
                (2, 1, 0.0),
                (37, 5, 0.0),
                (300, 16, 1e3),
                (600, 3, 0.0),
                (263, 256, 0.0),
                (97, 1100, 0.3),
            ] {
                let x = pseudo_random(m, d, offset, m as u64);
                let mut out = vec![0.0; m * (m - 1) / 2];
                let minima =
                    fill_condensed_using(x.view(), &identity(m), None, &mut out, kernel, false);
                for (k, (&a, &b)) in out.iter().zip(&naive(x.view())).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-11 * b,
                        "{kernel:?} m={m} d={d} k={k}: {a} vs {b}"
                    );
                }
                assert_eq!(minima, RowMinima::of_condensed(m, &out), "{kernel:?} m={m}");
            }
        }
    }

    /// Two tight clusters far from the centre: every within-cluster distance
    /// is tiny next to the norms, so the Gram form would keep few digits and
    /// each is recomputed directly (d around the vector widths, with tails).
    #[test]
    fn tight_clusters_far_from_the_centre_are_recomputed() {
        for d in [1, 15, 16, 17, 31, 32, 33, 37, 100, 256] {
            let noise = pseudo_random(90, d, 0.0, d as u64);
            let x = Array2::from_shape_fn((90, d), |(i, k)| {
                let side = if i % 2 == 0 { 1e3 } else { -1e3 };
                side * (1.0 + (k % 3) as f64) + 1e-3 * noise[[i, k]]
            });
            let exact = naive(x.view());
            let x32 = x.mapv(|v| v as f32);
            let exact32 = naive(x32.mapv(f64::from).view());
            for kernel in BOTH {
                let mut out = vec![0.0; 90 * 89 / 2];
                fill_condensed_using(x.view(), &identity(90), None, &mut out, kernel, false);
                for (k, (&a, &b)) in out.iter().zip(&exact).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-11 * b,
                        "{kernel:?} d={d} k={k}: {a} vs {b}"
                    );
                }
                let mut out32 = vec![0.0f32; 90 * 89 / 2];
                fill_condensed_using(x32.view(), &identity(90), None, &mut out32, kernel, false);
                for (k, (&a, &b)) in out32.iter().zip(&exact32).enumerate() {
                    let err = (f64::from(a) - b).abs();
                    assert!(err <= 1e-5 * b, "f32 {kernel:?} d={d} k={k}: {a} vs {b}");
                }
            }
        }
    }

    /// Tight clusters in contiguous runs of rows, as the ordering leaves
    /// them, spanning several blocks, bands and far columns: within a band
    /// the product about the block's own centre is accurate, elsewhere the
    /// small distances are recomputed; either way every entry is within the
    /// promised relative error of the direct sum, in `f64` and `f32`.
    #[test]
    fn contiguous_tight_clusters_across_blocks_and_bands() {
        // f64 at d = 800 is banded too (its threshold is above 1/64 there)
        for (m, d) in [(700, 64), (400, 800)] {
            contiguous_tight_clusters(m, d);
        }
    }

    fn contiguous_tight_clusters(m: usize, d: usize) {
        let noise = pseudo_random(m, d, 0.0, 17);
        let x = Array2::from_shape_fn((m, d), |(i, k)| {
            let cluster = (i / (m / 4)) as f64;
            1e3 * (cluster - 2.0) * (1.0 + (k % 5) as f64) + 1e-2 * noise[[i, k]]
        });
        let exact = naive(x.view());
        let x32 = x.mapv(|v| v as f32);
        let exact32 = naive(x32.mapv(f64::from).view());
        for kernel in BOTH {
            let mut out = vec![0.0; m * (m - 1) / 2];
            fill_condensed_using(x.view(), &identity(m), None, &mut out, kernel, false);
            for (k, (&a, &b)) in out.iter().zip(&exact).enumerate() {
                assert!((a - b).abs() <= 1e-11 * b, "{kernel:?} k={k}: {a} vs {b}");
            }
            let mut out32 = vec![0.0f32; m * (m - 1) / 2];
            fill_condensed_using(x32.view(), &identity(m), None, &mut out32, kernel, false);
            for (k, (&a, &b)) in out32.iter().zip(&exact32).enumerate() {
                let err = (f64::from(a) - b).abs();
                assert!(err <= 1e-5 * b, "f32 {kernel:?} k={k}: {a} vs {b}");
            }
        }
    }

    /// A GEMM block computed a few columns at a time (chunks narrower than
    /// the block and its band, and not dividing them) writes every entry of
    /// the block: the distance within the promised error, or `−1` (to
    /// recompute) exactly where the row's flag says so; with and without a
    /// band, in `f64` and `f32`, with both GEMMs.
    #[test]
    fn gemm_chunks_write_every_entry_of_the_block() {
        fn check<F: Scalar>(allowed: f64) {
            let (m, d, r0, r1) = (150, 40, 30, 61);
            let x = pseudo_random(m, d, 5.0, 11);
            let flat: Vec<F> = x.iter().map(|&v| F::from_f64_rounded(v)).collect();
            let row_of = |i: usize| -> &[F] { &flat[i * d..(i + 1) * d] };
            let mut centred = vec![F::zero(); m * d];
            let mut norms = vec![F::zero(); m];
            centre_rows(&mut centred, &mut norms, 0, d, &row_of, row_of(7));
            let global = Centred {
                rows: &centred,
                norms: &norms,
            };
            let tau = recompute_threshold::<F>(d);
            let base = row_offset(m, r0);
            let unwritten = F::from_f64_rounded(-7.0);
            for kernel in [ProductKernel::Gemm, ProductKernel::Matrixmultiply] {
                for banded in [false, true] {
                    for columns in [1, 7, 16, m - r0] {
                        let mut scratch =
                            BlockScratch::<F>::new(r1 - r0, if banded { m } else { 0 }, m, d);
                        let near = if banded {
                            scratch.centre_band(r0, r1, m, d, &row_of)
                        } else {
                            0
                        };
                        assert_eq!(near, if banded { 2 * (r1 - r0) } else { 0 });
                        let BlockScratch {
                            product,
                            band,
                            band_norms,
                            ..
                        } = &mut scratch;
                        product.resize((r1 - r0) * columns, F::zero());
                        let local = Centred {
                            rows: band,
                            norms: band_norms,
                        };
                        let mut rows = vec![unwritten; row_offset(m, r1) - base];
                        let flags = gemm_block(
                            &global, &local, near, d, tau, r0, r1, &mut rows, product, kernel,
                        );
                        for i in r0..r1 {
                            let at = row_offset(m, i) - base;
                            let row = &rows[at..at + (m - i - 1)];
                            let flagged = row.iter().any(|&v| v == F::zero() - F::one());
                            assert_eq!(flags[i - r0], flagged, "{kernel:?} {banded} {columns}");
                            for (j, &v) in (i + 1..).zip(row) {
                                let v = v.to_f64_lossless();
                                let exact: f64 = (0..d)
                                    .map(|k| {
                                        let t = row_of(i)[k].to_f64_lossless()
                                            - row_of(j)[k].to_f64_lossless();
                                        t * t
                                    })
                                    .sum();
                                assert!(
                                    v == -1.0 || (v - exact).abs() <= allowed * exact,
                                    "{kernel:?} banded={banded} columns={columns} \
                                     ({i}, {j}): {v} vs {exact}"
                                );
                            }
                        }
                    }
                }
            }
        }
        check::<f64>(1e-11);
        check::<f32>(1e-5);
    }

    /// Serial and parallel passes, with each kernel this CPU runs (the GEMM
    /// on every CPU): the same bits, and (with the `parallel` feature) the
    /// parallel pass really ran its blocks on more than one rayon task.
    #[test]
    fn parallel_blocks_give_the_same_bits() {
        // several blocks of either kernel (GEMM: 16 rows at this size, tiles:
        // 120 rows at d = 256), weights, a cancelling offset so that some
        // rows are recomputed
        let (m, d) = (400, 256);
        let x = pseudo_random(m, d, 3.0, 5);
        let w: Vec<f64> = (0..m).map(|i| 1.0 + (i % 5) as f64).collect();
        let order: Vec<usize> = (0..m).rev().collect();
        let kernels = BOTH.iter().filter(|k| k.is_available());
        let mut ran = 0;
        for &kernel in kernels {
            for weights in [None, Some(w.as_slice())] {
                let mut serial = vec![0.0; m * (m - 1) / 2];
                let mut parallel = vec![0.0; m * (m - 1) / 2];
                let a = fill_condensed_using(x.view(), &order, weights, &mut serial, kernel, false);
                let b =
                    fill_condensed_using(x.view(), &order, weights, &mut parallel, kernel, true);
                assert_eq!(a, b, "{kernel:?}");
                assert!(
                    serial
                        .iter()
                        .zip(&parallel)
                        .all(|(p, q)| p.to_bits() == q.to_bits()),
                    "{kernel:?}"
                );
                ran += 1;
            }
        }
        assert!(ran >= 4, "both GEMMs run on every CPU");
    }

    /// `run_blocks` with `parallel` runs the blocks on rayon's pool (more
    /// than one thread when the pool has several), and keeps their order.
    #[cfg(feature = "parallel")]
    #[test]
    fn parallel_blocks_run_on_rayon_threads() {
        use std::collections::HashSet;
        use std::sync::Mutex;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let threads = Mutex::new(HashSet::new());
        let m = 64;
        let mut out = vec![0.0f64; m * (m - 1) / 2];
        let made = std::sync::atomic::AtomicUsize::new(0);
        let found = pool.install(|| {
            let blocks = split_blocks(m, 1, &mut out);
            let init = || {
                made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            };
            run_blocks(blocks, true, init, |(), (r0, _, _)| {
                threads
                    .lock()
                    .unwrap()
                    .insert(rayon::current_thread_index());
                // long enough that both workers take blocks
                std::thread::sleep(std::time::Duration::from_millis(2));
                vec![Some((r0, 0.0))]
            })
        });
        let order: Vec<usize> = found.iter().flatten().map(|n| n.unwrap().0).collect();
        assert_eq!(order, (0..m - 1).collect::<Vec<_>>());
        let threads = threads.into_inner().unwrap();
        assert!(threads.iter().all(Option::is_some), "ran on the pool");
        assert_eq!(threads.len(), 2, "both workers took blocks");
        // scratch values are reused: at most one per worker
        let made = made.into_inner();
        assert!(
            (1..=2).contains(&made),
            "{made} scratch values for 2 workers"
        );
        // and serially, on the calling thread only
        let blocks = split_blocks(m, 7, &mut out);
        let serial = run_blocks(
            blocks,
            false,
            || (),
            |(), (r0, r1, _)| {
                assert_eq!(rayon::current_thread_index(), None);
                vec![Some((r1 - r0, 0.0))]
            },
        );
        assert_eq!(serial.len(), 9);
    }

    #[test]
    fn tile_blocks_are_whole_panels_of_about_256_kib() {
        fn width<F: Scalar>() -> usize {
            F::TILE_PANEL_WIDTH
        }
        // three AVX-512 registers of each type
        assert_eq!(width::<f64>(), 24);
        assert_eq!(width::<f32>(), 48);
        // whole panels, about 256 KiB of packed rows, at least one panel
        assert_eq!(rows_per_block::<f64>(256, 24), 120);
        assert_eq!(rows_per_block::<f32>(256, 48), 240);
        assert_eq!(rows_per_block::<f64>(1 << 20, 24), 24);
    }

    /// The linkage's distance pass runs the detected kernel: its output is
    /// bit for bit that of the kernel named by `ProductKernel::detect`
    /// (and the two kernels differ in the last bits on this data, so the
    /// comparison can tell them apart where both run).
    #[test]
    fn fill_condensed_runs_the_detected_kernel() {
        let (m, d) = (150, 40);
        let x = pseudo_random(m, d, 0.7, 11);
        let order = identity(m);
        let pairs = m * (m - 1) / 2;
        let run = |kernel: Option<ProductKernel>| {
            let mut out = vec![0.0; pairs];
            match kernel {
                None => fill_condensed(x.view(), &order, None, &mut out, false),
                Some(k) => fill_condensed_using(x.view(), &order, None, &mut out, k, false),
            };
            out.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
        };
        let auto = run(None);
        assert_eq!(auto, run(Some(ProductKernel::detect())));
        // the kernels differ in the last bits here, so each run below is
        // told apart from the others
        let gemm = run(Some(ProductKernel::Gemm));
        let mm = run(Some(ProductKernel::Matrixmultiply));
        assert_ne!(gemm, mm, "the gemm crate and matrixmultiply both ran");
        if ProductKernel::Avx512Tiles.is_available() {
            assert_ne!(run(Some(ProductKernel::Avx512Tiles)), gemm);
        } else {
            // the tile kernel asked for on a CPU without it falls back to
            // the gemm crate
            assert_eq!(gemm, run(Some(ProductKernel::Avx512Tiles)));
        }
        eprintln!(
            "kernels run here: {}",
            BOTH.iter()
                .filter(|k| k.is_available())
                .map(|k| k.describe())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    /// The tile kernel is chosen exactly where the CPU reports AVX-512F, and
    /// asking for it elsewhere still computes (with the GEMM).
    #[test]
    fn kernel_choice_follows_the_cpu() {
        #[cfg(target_arch = "x86_64")]
        let avx512 = std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        let avx512 = false;
        let expected = if avx512 {
            ProductKernel::Avx512Tiles
        } else {
            ProductKernel::Gemm
        };
        assert_eq!(ProductKernel::detected(), expected);
        // what the environment forces (where this CPU runs it), else the CPU's
        let forced = std::env::var(crate::scalar::simd::KERNEL_ENV)
            .ok()
            .and_then(|n| ProductKernel::from_name(n.trim()))
            .filter(|k| k.is_available());
        assert_eq!(ProductKernel::detect(), forced.unwrap_or(expected));
        assert_eq!(ProductKernel::Avx512Tiles.is_available(), avx512);
        assert!(ProductKernel::Gemm.is_available());
        assert!(ProductKernel::Matrixmultiply.is_available());
        for k in ProductKernel::ALL {
            assert_eq!(ProductKernel::from_name(k.name()), Some(k));
            assert!(k.describe().starts_with(k.name()));
        }
        assert_eq!(ProductKernel::from_name("blas"), None);
        assert_eq!(ProductKernel::from_name("GEMM"), Some(ProductKernel::Gemm));
        assert_eq!(
            ProductKernel::from_name("AVX512-Tiles"),
            Some(ProductKernel::Avx512Tiles)
        );
        assert_eq!(ProductKernel::Gemm.name(), "gemm");
        assert_eq!(ProductKernel::Matrixmultiply.name(), "matrixmultiply");
        assert_eq!(ProductKernel::Avx512Tiles.name(), "avx512-tiles");
        // the sealed hooks do nothing (and say so) where the CPU lacks the
        // kernel, or when the rows were packed for another width
        let rows = [1.0_f64, 2.0, 3.0, 4.0];
        let (packed, _) = PackedRows::pack(2, 2, 8, |i| &rows[2 * i..2 * i + 2], &[0.0, 0.0]);
        fn tiles<F: Scalar>(p: &PackedRows<F>, m: usize, out: &mut [F]) -> bool {
            F::full_gram_tiles(p, m, out)
        }
        let mut out = vec![0.0; 4];
        assert!(!tiles(&packed, 2, &mut out));
        let (packed, _) = PackedRows::pack(2, 2, 24, |i| &rows[2 * i..2 * i + 2], &[0.0, 0.0]);
        assert_eq!(tiles(&packed, 2, &mut out), avx512);
        if avx512 {
            assert_eq!(out, vec![5.0, 11.0, 11.0, 25.0]);
        }
    }

    /// The vector `Σ (a_k − b_k)²` of the direct recomputation (AVX2+FMA
    /// where the CPU has them, else the portable sum) against the portable
    /// sum, at lengths around its 4-register step and with tails; exact
    /// zero for identical rows.
    #[test]
    fn simd_squared_distance_matches_the_portable_sum() {
        fn simd<F: Scalar>(a: &[F], b: &[F]) -> F {
            F::squared_distance_simd(a, b, squared_distance)
        }
        for n in [
            0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 256, 1031,
        ] {
            let a = pseudo_random(2, n.max(1), 0.3, n as u64);
            let (x, y) = (&a.row(0).to_vec()[..n], &a.row(1).to_vec()[..n]);
            let fast = simd(x, y);
            let slow = squared_distance(x, y);
            assert!(
                (fast - slow).abs() <= 1e-13 * slow,
                "f64 n={n}: {fast} vs {slow}"
            );
            assert_eq!(simd(x, x), 0.0);
            let (x32, y32): (Vec<f32>, Vec<f32>) =
                x.iter().zip(y).map(|(&p, &q)| (p as f32, q as f32)).unzip();
            let fast = simd(&x32, &y32);
            let slow = squared_distance(&x32, &y32);
            assert!(
                (fast - slow).abs() <= 1e-5 * slow,
                "f32 n={n}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    fn full_gram_matches_ndarray() {
        for kind in BOTH {
            for (m, d) in [(1, 3), (5, 1), (49, 7), (130, 40)] {
                let x = pseudo_random(m, d, 0.2, 7);
                let g = full_gram(x.view(), kind);
                let reference = x.dot(&x.t());
                for (a, b) in g.iter().zip(&reference) {
                    assert!(
                        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                        "{kind:?} m={m} d={d}"
                    );
                }
                let x32 = x.mapv(|v| v as f32);
                let g32 = full_gram(x32.view(), kind);
                for (a, b) in g32.iter().zip(&reference) {
                    let err = (f64::from(*a) - b).abs();
                    assert!(err <= 1e-4 * (1.0 + b.abs()), "{kind:?} m={m} d={d}");
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Both kernels, any shape (m around the panel widths 24 and 48, d
        /// around the 8 lanes), weighted or not, f64 and f32: every distance
        /// within the documented error of the direct sum, and the row minima
        /// those of the filled matrix.
        #[test]
        fn kernels_agree_with_direct_sums(
            m in 1usize..140,
            d in 1usize..40,
            offset in -50.0f64..50.0,
            seed in 0u64..1000,
            weighted in proptest::bool::ANY,
        ) {
            let x = pseudo_random(m, d, offset, seed);
            let w: Vec<f64> = (0..m).map(|i| 1.0 + ((i as u64 * 7 + seed) % 4) as f64).collect();
            let weights = weighted.then_some(w.as_slice());
            let order: Vec<usize> = (0..m).rev().collect();
            let exact = {
                let xr = x.select(Axis(0), &order);
                naive(xr.view())
            };
            let pairs = m * m.saturating_sub(1) / 2;
            for kernel in BOTH {
                let mut out = vec![0.0; pairs];
                let minima = fill_condensed_using(x.view(), &order, weights, &mut out, kernel, false);
                let mut k = 0;
                for i in 0..m {
                    for j in i + 1..m {
                        let f = if weighted { 2.0 * w[i] * w[j] / (w[i] + w[j]) } else { 1.0 };
                        let expected = exact[k] * f;
                        proptest::prop_assert!((out[k] - expected).abs() <= 1e-11 * expected,
                            "{:?} ({}, {}): {} vs {}", kernel, i, j, out[k], expected);
                        k += 1;
                    }
                }
                proptest::prop_assert_eq!(minima, RowMinima::of_condensed(m, &out));

                let x32 = x.mapv(|v| v as f32);
                let exact32 = naive(x32.mapv(f64::from).select(Axis(0), &order).view());
                let mut out32 = vec![0.0f32; pairs];
                let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                fill_condensed_using(x32.view(), &order, weighted.then_some(w32.as_slice()), &mut out32, kernel, false);
                let mut k = 0;
                for i in 0..m {
                    for j in i + 1..m {
                        let f = if weighted { 2.0 * w[i] * w[j] / (w[i] + w[j]) } else { 1.0 };
                        let expected = exact32[k] * f;
                        proptest::prop_assert!((f64::from(out32[k]) - expected).abs() <= 2e-5 * expected,
                            "f32 {:?} ({}, {}): {} vs {}", kernel, i, j, out32[k], expected);
                        k += 1;
                    }
                }
            }
        }
    }

    #[test]
    fn identical_rows_give_exact_zero() {
        let x = array![[1e8, 3.0, -2.0], [1.0, 2.0, 3.0], [1e8, 3.0, -2.0]];
        for kernel in BOTH {
            let mut out = vec![1.0; 3];
            fill_condensed_using(
                x.view(),
                &identity(x.nrows()),
                None,
                &mut out,
                kernel,
                false,
            );
            assert_eq!(out[1], 0.0);
            assert!(out[0] > 0.0 && out[2] > 0.0);
        }
    }

    #[test]
    fn non_standard_layout_and_weights() {
        let x = pseudo_random(20, 4, 0.0, 3);
        let xt = x.t().to_owned();
        let xv = xt.t(); // same values, column-major view
        let w: Vec<f64> = (0..20).map(|i| 1.0 + (i % 3) as f64).collect();
        let plain = naive(x.view());
        for kernel in BOTH {
            let mut out = vec![0.0; 190];
            fill_condensed_using(xv, &identity(20), Some(&w), &mut out, kernel, false);
            let mut k = 0;
            for i in 0..20 {
                for j in i + 1..20 {
                    let expected = plain[k] * 2.0 * w[i] * w[j] / (w[i] + w[j]);
                    assert!((out[k] - expected).abs() <= 1e-11 * expected);
                    k += 1;
                }
            }
        }
    }

    #[test]
    fn f32_distances_within_1e_5() {
        let x = pseudo_random(200, 64, 0.5, 9);
        let x32 = x.mapv(|v| v as f32);
        let exact = naive(x32.mapv(f64::from).view());
        for kernel in BOTH {
            let mut out = vec![0.0f32; 200 * 199 / 2];
            fill_condensed_using(x32.view(), &identity(200), None, &mut out, kernel, false);
            for (&a, &b) in out.iter().zip(&exact) {
                assert!((f64::from(a) - b).abs() <= 1e-5 * b, "{kernel:?}");
            }
        }
    }

    #[test]
    fn aligned_rounding_errors_stay_within_the_worst_case_bound() {
        // Constant rows make every step of the sequential sums round the same
        // way within an octave of the running sum, so the Gram form's error
        // reaches the worst case `≈ d·ε·(‖x_i‖² + ‖x_j‖²)` rather than the
        // typical `√d` (with the typical threshold, 5.3e-11 relative on a kept
        // distance): the f64 threshold takes the worst case, so 1e-11 holds.
        let d = 8192;
        let t = 1.0 + 1023.0 * f64::EPSILON; // t² rounds to 1 + 2046ε
        let u = f64::from_bits(0x3FF1_9999_9D83_F59A); // found by search
        let x = Array2::from_shape_fn((5, d), |(i, _)| [0.0, t, u, -t, -u][i]);
        let exact = naive(x.view());
        let worst = 1e-11;
        for kernel in BOTH {
            let mut out = vec![0.0; 10];
            fill_condensed_using(x.view(), &identity(5), None, &mut out, kernel, false);
            for (k, (&a, &b)) in out.iter().zip(&exact).enumerate() {
                let rel = (a - b).abs() / b;
                assert!(rel <= worst, "{kernel:?} k={k}: {rel:e} > {worst:e}");
            }
        }
    }
    /// Bands at their edges: 194 rows (blocks of 48 rows for the `gemm`
    /// crate and 16 for `matrixmultiply`, each with a last block of one row),
    /// tight clusters far from the origin, contiguous or interleaved, and
    /// repeated rows whose twins sit in the next block, band or beyond. Every
    /// `f32` distance within 1e-5 of the direct sum, `f64` (banded at d = 701)
    /// within 1e-11, exact zeros for the repeats, and the same bits serially
    /// and in parallel, with both GEMMs.
    #[test]
    fn band_edges_one_row_blocks_and_repeats() {
        fn check<F: Scalar>(x: &Array2<F>, tol: f64, label: &str) {
            let m = x.nrows();
            let order = identity(m);
            let exact = naive(x.mapv(|v| v.to_f64_lossless()).view());
            for kernel in [ProductKernel::Gemm, ProductKernel::Matrixmultiply] {
                let mut out = vec![F::zero(); m * (m - 1) / 2];
                let a = fill_condensed_using(x.view(), &order, None, &mut out, kernel, false);
                let mut par = vec![F::zero(); m * (m - 1) / 2];
                let b = fill_condensed_using(x.view(), &order, None, &mut par, kernel, true);
                assert_eq!(a, b, "{label} {kernel:?}");
                let bits = |v: &F| v.to_f64_lossless().to_bits();
                assert!(out.iter().map(bits).eq(par.iter().map(bits)), "{label}");
                for (k, (&o, &e)) in out.iter().zip(&exact).enumerate() {
                    let o = o.to_f64_lossless();
                    if e == 0.0 {
                        assert_eq!(o, 0.0, "{label} {kernel:?} k={k}");
                    }
                    assert!(
                        (o - e).abs() <= tol * e,
                        "{label} {kernel:?} k={k}: {o} vs {e}"
                    );
                }
            }
        }
        fn rows(m: usize, d: usize, interleaved: bool, offset: f64, seed: u64) -> Array2<f64> {
            let centres = pseudo_random(5, d, offset, seed);
            let noise = pseudo_random(m, d, 0.0, seed + 1);
            let mut x = Array2::from_shape_fn((m, d), |(i, k)| {
                let c = if interleaved { i % 5 } else { i * 5 / m };
                centres[[c, k]] + 1e-3 * noise[[i, k]]
            });
            // twins 1, 47, 48 and 150 rows apart (same block, block edge,
            // next band, far columns)
            for (i, j) in [(0, 1), (1, 48), (47, 48), (46, 94), (20, 170), (192, 193)] {
                let (i, j) = (i.min(m - 2), j.min(m - 1));
                let row = x.row(i).to_owned();
                x.row_mut(j).assign(&row);
            }
            x
        }
        let m = 194;
        assert_eq!(gemm_block_rows::<f32>(m, ProductKernel::Gemm, 0), 48);
        assert_eq!((m - 1) % 48, 1);
        assert!(!keeps_row_order::<f32>(m) && !keeps_row_order::<f64>(130));
        for d in [1, 9] {
            assert!(uses_bands(recompute_threshold::<f32>(d)));
            for interleaved in [false, true] {
                let x = rows(m, d, interleaved, 1e3, d as u64).mapv(|v| v as f32);
                check(&x, 1e-5, &format!("f32 d={d} interleaved={interleaved}"));
            }
        }
        assert!(uses_bands(recompute_threshold::<f64>(701)));
        assert!(!uses_bands(recompute_threshold::<f64>(699)));
        let x = rows(130, 701, true, 1e3, 7);
        check(&x, 1e-11, "f64 d=701");
    }
}
