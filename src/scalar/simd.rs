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
    /// The `gemm` crate (the kernels behind faer): its own run-time choice
    /// of AVX2+FMA on x86-64 (the crate is built without its AVX-512
    /// kernels, so this is the AVX2 kernel on every x86-64 CPU that has
    /// AVX2), NEON on aarch64, portable code elsewhere. On every CPU.
    Gemm,
    /// ndarray's general matrix product (`matrixmultiply`): the portable
    /// reference, on every CPU.
    Matrixmultiply,
}

/// The environment variable that forces the product kernel
/// ([`ProductKernel::name`] values: `avx512-tiles`, `gemm`,
/// `matrixmultiply`, any case, spaces around ignored), read once per
/// process (at the first linkage); a kernel this CPU does not run, or an
/// unknown name, leaves the detected one silently: check
/// `ward::product_kernel()`.
pub const KERNEL_ENV: &str = "PINNERSAGE_KERNEL";

impl ProductKernel {
    /// Every kernel, in order of preference.
    pub const ALL: [ProductKernel; 3] = [
        ProductKernel::Avx512Tiles,
        ProductKernel::Gemm,
        ProductKernel::Matrixmultiply,
    ];

    /// The kernel Ward's matrix path runs: the one named by the
    /// `PINNERSAGE_KERNEL` environment variable if this CPU runs it, else the
    /// fastest this CPU runs ([`detected`](Self::detected)). Read once and
    /// cached for the process.
    pub fn detect() -> Self {
        static CHOICE: std::sync::OnceLock<ProductKernel> = std::sync::OnceLock::new();
        *CHOICE.get_or_init(|| {
            std::env::var(KERNEL_ENV)
                .ok()
                .and_then(|name| Self::from_name(name.trim()))
                .filter(|k| k.is_available())
                .unwrap_or_else(Self::detected)
        })
    }

    /// The fastest kernel this CPU runs, whatever the environment says:
    /// [`Avx512Tiles`](Self::Avx512Tiles) where AVX-512F is detected
    /// (cached by the standard library), [`Gemm`](Self::Gemm) elsewhere.
    pub fn detected() -> Self {
        if avx512_detected() {
            ProductKernel::Avx512Tiles
        } else {
            ProductKernel::Gemm
        }
    }

    /// The kernel of a [`name`](Self::name), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Whether this CPU runs the kernel.
    pub fn is_available(self) -> bool {
        match self {
            ProductKernel::Avx512Tiles => avx512_detected(),
            ProductKernel::Gemm | ProductKernel::Matrixmultiply => true,
        }
    }

    /// The kernel's name in benchmark reports and in `PINNERSAGE_KERNEL`
    /// (`avx512-tiles`, `gemm`, `matrixmultiply`).
    pub fn name(self) -> &'static str {
        match self {
            ProductKernel::Avx512Tiles => "avx512-tiles",
            ProductKernel::Gemm => "gemm",
            ProductKernel::Matrixmultiply => "matrixmultiply",
        }
    }

    /// The name with the instruction set the kernel runs with on this CPU
    /// (`gemm/avx2+fma`, for instance), for reports.
    pub fn describe(self) -> String {
        let isa = match self {
            ProductKernel::Avx512Tiles => "avx512f",
            ProductKernel::Gemm | ProductKernel::Matrixmultiply => {
                if avx2_fma_detected() {
                    "avx2+fma"
                } else if cfg!(target_arch = "aarch64") {
                    "neon"
                } else {
                    "portable"
                }
            }
        };
        format!("{}/{isa}", self.name())
    }
}

/// `C = A·Bᵀ` with the `gemm` crate, one thread: `a` is `rows_a × d`, `b` is
/// `rows_b × d`, both row-major and contiguous (`d` elements per row), and
/// `c` is `rows_a × rows_b` row-major with row stride `ldc >= rows_b`.
///
/// Returns `false` (nothing done) if a slice is too short for its shape or a
/// size does not fit an `isize`.
pub(crate) fn gemm_nt<F: 'static + Copy + num_traits::Zero + num_traits::One>(
    a: &[F],
    b: &[F],
    d: usize,
    c: &mut [F],
    ldc: usize,
) -> bool {
    if d == 0 || !a.len().is_multiple_of(d) || !b.len().is_multiple_of(d) {
        return false;
    }
    let (rows_a, rows_b) = (a.len() / d, b.len() / d);
    let fits = isize::try_from(d).is_ok()
        && isize::try_from(ldc).is_ok()
        && ldc >= rows_b
        && rows_a
            .checked_sub(1)
            .and_then(|r| r.checked_mul(ldc))
            .and_then(|r| r.checked_add(rows_b))
            .is_some_and(|need| c.len() >= need);
    if rows_a == 0 || rows_b == 0 {
        return true;
    }
    if !fits {
        return false;
    }
    // SAFETY: `gemm` reads `lhs[i·d + k]` (row stride d, column stride 1)
    // for i < rows_a, k < d, which is within `a` (length rows_a·d);
    // `rhs[k + j·d]` (row stride 1, column stride d: Bᵀ) for k < d,
    // j < rows_b, within `b`; and writes `dst[i·ldc + j]` for i < rows_a,
    // j < rows_b, within `c` (checked just above). The slices do not overlap
    // (`c` is borrowed mutably). `read_dst = false`: the old contents of `c`
    // are neither read nor scaled; `beta = 1`: dst = lhs·rhs. `gemm` picks
    // its SIMD kernel from the CPU's features at run time (it checks them).
    unsafe {
        gemm::gemm(
            rows_a,
            rows_b,
            d,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            false,
            a.as_ptr(),
            1,
            d as isize,
            b.as_ptr(),
            d as isize,
            1,
            F::zero(),
            F::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    true
}

/// Calls `f` from a function compiled for AVX2 where the CPU has it (so the
/// loops `f` inlines are vectorised with 256-bit registers: 4 `f64` or 8
/// `f32` lanes instead of SSE2's 2 or 4), else calls it as is. The results
/// are the same bit for bit either way: the same IEEE operations, and Rust
/// never contracts a multiply and an add into a fused multiply-add.
///
/// Mark the closure `#[inline(always)]` (and the loops it calls
/// `#[inline(always)]`): the AVX2 code generation applies only to what is
/// inlined into the wrapper, and LLVM otherwise may compile a large closure
/// as a function of its own, for the baseline (measured: the distance pass's
/// centring and the rescans ran as SSE2 code until their closures were
/// marked).
#[inline(always)]
pub(crate) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        /// # Safety
        /// The CPU must support AVX2.
        #[target_feature(enable = "avx2")]
        unsafe fn call<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: AVX2 was detected just above, `call`'s only precondition.
        return unsafe { call(f) };
    }
    f()
}

/// AVX2 and FMA on x86-64, detected at run time (cached by the standard
/// library).
fn avx2_fma_detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
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

/// Defines the direct `Σ_k (a_k − b_k)²` with AVX2 and FMA: four
/// accumulators of `L` lanes (the loads, two per multiply-add, are the
/// bound), a scalar tail.
#[cfg(target_arch = "x86_64")]
macro_rules! squared_distance_avx2 {
    ($name:ident, $t:ty, $lanes:expr, $zero:ident, $load:ident, $sub:ident,
     $fmadd:ident, $add:ident, $reduce:ident) => {
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub(crate) unsafe fn $name(a: &[$t], b: &[$t]) -> $t {
            const L: usize = $lanes;
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut acc = [$zero(); 4];
            let mut k = 0;
            while k + 4 * L <= n {
                for (r, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: k + 4L ≤ n, so the loads of L lanes at
                    // k + r·L (r < 4) stay in `a` and `b`.
                    let (x, y) = unsafe { ($load(pa.add(k + r * L)), $load(pb.add(k + r * L))) };
                    let t = $sub(x, y);
                    *acc = $fmadd(t, t, *acc);
                }
                k += 4 * L;
            }
            while k + L <= n {
                // SAFETY: k + L ≤ n.
                let (x, y) = unsafe { ($load(pa.add(k)), $load(pb.add(k))) };
                let t = $sub(x, y);
                acc[0] = $fmadd(t, t, acc[0]);
                k += L;
            }
            let mut sum = $reduce($add($add(acc[0], acc[1]), $add(acc[2], acc[3])));
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

    /// The sum of the 8 lanes of an AVX register of `f32`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn reduce256_ps(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// The sum of the 4 lanes of an AVX register of `f64`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn reduce256_pd(v: __m256d) -> f64 {
        let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
        _mm_cvtsd_f64(s)
    }

    squared_distance_avx2!(
        sqdist_avx2_f32,
        f32,
        8,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_sub_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        reduce256_ps
    );
    squared_distance_avx2!(
        sqdist_avx2_f64,
        f64,
        4,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_sub_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
        reduce256_pd
    );

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

    /// Defines the per-type `Σ_k (a_k − b_k)²` of the direct
    /// recomputation: AVX2+FMA where the CPU has them, else `portable`.
    macro_rules! dispatch_sqdist {
        ($name:ident, $t:ty, $avx2:ident) => {
            /// `Σ_k (a_k − b_k)²` over the common length of `a` and `b`.
            #[inline]
            pub(crate) fn $name(a: &[$t], b: &[$t], portable: fn(&[$t], &[$t]) -> $t) -> $t {
                #[cfg(target_arch = "x86_64")]
                if super::avx2_fma_detected() {
                    // SAFETY: AVX2 and FMA were detected just above; the
                    // kernel reads only within both slices.
                    return unsafe { super::x86::$avx2(a, b) };
                }
                portable(a, b)
            }
        };
    }
    dispatch_sqdist!(sqdist_f32, f32, sqdist_avx2_f32);
    dispatch_sqdist!(sqdist_f64, f64, sqdist_avx2_f64);

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
