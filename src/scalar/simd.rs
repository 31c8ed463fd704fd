//! The crate's SIMD kernels, and the only module with `unsafe` code.
//!
//! * the register-tile micro-kernels of the Gram product (`MR × NR` tiles in
//!   `3·MR` AVX-512 accumulators) and a vector `Σ (a_k − b_k)²` for the direct
//!   recomputation of small distances, compiled with
//!   `#[target_feature(enable = "avx512f")]` and inlined with their safe
//!   drivers ([`tiles`](super::tiles)) into two entry points per element type;
//! * [`ProductKernel`]: which product kernel runs, detected at run time;
//! * `dispatch`: the per-type entry points the sealed
//!   [`Scalar`](super::Scalar) trait reaches, each checking the CPU and the
//!   packing before it enters `unsafe`.
//!
//! Every `unsafe` block is either a call of a `#[target_feature]` function
//! after the feature was detected, or a pointer access bounded by the
//! micro-kernel's assertion on the slice lengths together with the panel
//! relations checked at compile time below.
//!
//! (An AVX2 version of the same tile, 4 rows by three 256-bit registers,
//! spilled an accumulator and ran slower than `matrixmultiply`'s AVX2 kernel,
//! and a 4×8 one ran as fast as it, so CPUs without AVX-512 use that GEMM;
//! DESIGN.md has the numbers.)

// The one module the crate root's `#![deny(unsafe_code)]` lets through.
#![allow(unsafe_code)]

/// Rows of a register tile (`MR`): 8 broadcast elements per coordinate.
pub(crate) const TILE_ROWS: usize = 8;
/// Lanes of one AVX-512 register of `f64`.
const LANES_F64: usize = 8;
/// Lanes of one AVX-512 register of `f32`.
const LANES_F32: usize = 16;
/// Rows per panel for `f64` (`NR`): three 8-lane registers.
pub(crate) const PANEL_F64: usize = 3 * LANES_F64;
/// Rows per panel for `f32` (`NR`): three 16-lane registers.
pub(crate) const PANEL_F32: usize = 3 * LANES_F32;

// The relations the micro-kernel's loads and stores rely on, checked at
// compile time:
// * a panel row is exactly three vector registers (`NR = 3·L`): the three
//   loads at `pb`, `pb + L`, `pb + 2L` and the three stores per accumulator
//   row cover `NR` elements, no more;
// * tiles start at row offsets `i0 % NR` that are multiples of `MR` (blocks
//   start on panel boundaries and step by `MR`), and `MR` divides `NR`, so an
//   offset is at most `NR − MR` and the `MR` broadcast reads stay in the
//   panel (the micro-kernel's `a.len() >= (d − 1)·NR + MR`).
const _: () = {
    assert!(PANEL_F64 == 3 * LANES_F64 && PANEL_F32 == 3 * LANES_F32);
    assert!(PANEL_F64.is_multiple_of(TILE_ROWS) && PANEL_F32.is_multiple_of(TILE_ROWS));
    assert!(TILE_ROWS <= PANEL_F64 && TILE_ROWS <= PANEL_F32);
    assert!(LANES_F64 * core::mem::size_of::<f64>() == 64);
    assert!(LANES_F32 * core::mem::size_of::<f32>() == 64);
};

/// The product kernel of the Gram-form distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKernel {
    /// The crate's AVX-512 register tiles (x86-64 with AVX-512F only).
    Avx512Tiles,
    /// ndarray's general matrix product (`matrixmultiply`), on every CPU.
    Gemm,
}

impl ProductKernel {
    /// The fastest kernel this CPU runs: [`Avx512Tiles`](Self::Avx512Tiles)
    /// where AVX-512F is detected (cached by the standard library),
    /// [`Gemm`](Self::Gemm) elsewhere.
    pub fn detect() -> Self {
        if avx512_detected() {
            ProductKernel::Avx512Tiles
        } else {
            ProductKernel::Gemm
        }
    }

    /// Whether this CPU runs the kernel.
    pub fn is_available(self) -> bool {
        match self {
            ProductKernel::Avx512Tiles => avx512_detected(),
            ProductKernel::Gemm => true,
        }
    }

    /// The kernel's name in benchmark reports (`avx512-tiles`,
    /// `matrixmultiply`).
    #[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))]
    pub fn name(self) -> &'static str {
        match self {
            ProductKernel::Avx512Tiles => "avx512-tiles",
            ProductKernel::Gemm => "matrixmultiply",
        }
    }
}

/// AVX-512F on x86-64, detected at run time.
fn avx512_detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
            // the loads and stores below cover a panel row with three
            // registers, and tile row offsets stay at most NR − MR
            const _: () = assert!(NR == 3 * L && NR.is_multiple_of(MR));
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
            drive::<$t, $mr, $nr>(
                job,
                // SAFETY: the caller guarantees the target features (the
                // kernels' only precondition: the micro-kernel asserts its
                // slice bounds itself, which `drive` meets by handing it
                // whole panels and row offsets of at most NR − MR).
                |a, b, acc| unsafe { $micro(a, b, acc) },
                // SAFETY: the caller guarantees the target features; the
                // kernel reads only within both slices.
                |a, b| unsafe { $sqdist(a, b) },
            );
        }

        /// The full Gram matrix of packed rows.
        ///
        /// # Safety
        /// The CPU must support the kernel's target features.
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $full(packed: &PackedRows<$t>, m: usize, out: &mut [$t]) {
            drive_full::<$t, $mr, $nr>(
                packed,
                m,
                out,
                // SAFETY: as in the block entry point.
                |a, b, acc| unsafe { $micro(a, b, acc) },
            );
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::tiles::{drive, drive_full, PackedRows, TileJob};
    use super::{LANES_F32, LANES_F64, PANEL_F32, PANEL_F64, TILE_ROWS};
    use core::arch::x86_64::*;

    micro_kernel!(
        micro512_f64,
        "avx512f",
        f64,
        TILE_ROWS,
        PANEL_F64,
        LANES_F64,
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
        TILE_ROWS,
        PANEL_F32,
        LANES_F32,
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
        LANES_F64,
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
        LANES_F32,
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
        TILE_ROWS,
        PANEL_F64
    );
    entry_points!(
        fill512_f32,
        full512_f32,
        micro512_f32,
        sqdist512_f32,
        "avx512f",
        f32,
        TILE_ROWS,
        PANEL_F32
    );
}

/// The per-type entry points, reached through the sealed
/// [`Scalar`](super::Scalar) trait. Each checks that the CPU runs the kernel
/// and that the rows were packed for it, and does nothing (returning `false`)
/// otherwise.
pub(crate) mod dispatch {
    use super::super::tiles::{PackedRows, TileJob};
    use super::avx512_detected;

    macro_rules! dispatch_type {
        ($fill:ident, $full:ident, $t:ty, $nr:expr, $fill512:ident, $full512:ident) => {
            /// Fills the job's block with the tile kernel.
            pub(crate) fn $fill(job: &mut TileJob<'_, $t>) -> bool {
                if !avx512_detected() || job.packed.panel_width() != $nr {
                    return false;
                }
                // SAFETY: AVX-512F was detected just above, and the rows were
                // packed in panels of this kernel's width.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    super::x86::$fill512(job)
                };
                cfg!(target_arch = "x86_64")
            }

            /// The full Gram matrix of packed rows with the tile kernel.
            pub(crate) fn $full(packed: &PackedRows<$t>, m: usize, out: &mut [$t]) -> bool {
                if !avx512_detected() || packed.panel_width() != $nr {
                    return false;
                }
                // SAFETY: as above.
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
