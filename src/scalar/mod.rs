//! The floating-point element types the crate computes with, and the
//! product kernels behind them.
//!
//! * [`Scalar`]: `f32` or `f64`, sealed; it carries the per-type hooks of
//!   the SIMD kernels;
//! * `tiles`: packing and the register-tile drivers of the Gram product
//!   (safe, generic over `num_traits::Float`);
//! * `simd`: the vector micro-kernels and the run-time kernel choice, the
//!   crate's only `unsafe` code.
//!
//! Dependencies run one way: `scalar` → `simd` → `tiles`; none of them
//! imports the Ward code that uses them.

use core::fmt::{Debug, Display};
use core::iter::Sum;

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, ToPrimitive};

pub(crate) mod simd;
pub(crate) mod tiles;

mod private {
    use super::simd::{dispatch, PANEL_F32, PANEL_F64};
    use super::tiles::{PackedRows, TileJob};

    /// Seals [`Scalar`](super::Scalar) and carries the per-type hooks of the
    /// crate's SIMD kernels (not nameable outside the crate).
    pub trait Sealed: Sized {
        /// Rows per panel of the Gram tile kernel for this type.
        const TILE_PANEL_WIDTH: usize;
        /// Fills a block of condensed rows with the tile kernel; `false`
        /// (nothing done) if this CPU lacks it.
        fn fill_tiles(job: &mut TileJob<'_, Self>) -> bool;
        /// The full Gram matrix of packed rows with the tile kernel; `false`
        /// (nothing done) if this CPU lacks it.
        fn full_gram_tiles(packed: &PackedRows<Self>, m: usize, out: &mut [Self]) -> bool;
        /// `Σ_k (a_k − b_k)²` with the widest vector kernel this CPU runs
        /// (AVX2+FMA, four accumulators), `portable` elsewhere: the direct
        /// recomputation of small distances.
        fn squared_distance_simd(
            a: &[Self],
            b: &[Self],
            portable: fn(&[Self], &[Self]) -> Self,
        ) -> Self;
        /// `bytes` as elements; `None` if they are not aligned for the type
        /// or not a whole number of elements (Linux: the condensed matrix's
        /// page-aligned mapping).
        #[cfg(target_os = "linux")]
        fn from_bytes(bytes: &[u8]) -> Option<&[Self]>;
        /// [`Sealed::from_bytes`], mutable.
        #[cfg(target_os = "linux")]
        fn from_bytes_mut(bytes: &mut [u8]) -> Option<&mut [Self]>;
        /// The `usearch` storage kind of this type (feature `usearch`).
        #[cfg(feature = "usearch")]
        const USEARCH_KIND: usearch::ScalarKind;
        /// `usearch::Index::add` for this type; the C++ exception's message
        /// on failure.
        #[cfg(feature = "usearch")]
        fn usearch_add(index: &usearch::Index, key: u64, v: &[Self]) -> Result<(), String>;
        /// `usearch::Index::search` (`exact == false`) or `exact_search`:
        /// the keys found, nearest first.
        #[cfg(feature = "usearch")]
        fn usearch_search(
            index: &usearch::Index,
            q: &[Self],
            count: usize,
            exact: bool,
        ) -> Result<Vec<u64>, String>;
        /// `usearch::Index::get`: the number of vectors written into `out`.
        #[cfg(feature = "usearch")]
        fn usearch_get(index: &usearch::Index, key: u64, out: &mut [Self])
            -> Result<usize, String>;
    }

    macro_rules! impl_sealed {
        ($t:ty, $nr:expr, $fill:ident, $full:ident, $sq:ident, $kind:ident) => {
            impl Sealed for $t {
                #[cfg(target_os = "linux")]
                fn from_bytes(bytes: &[u8]) -> Option<&[Self]> {
                    bytemuck::try_cast_slice(bytes).ok()
                }
                #[cfg(target_os = "linux")]
                fn from_bytes_mut(bytes: &mut [u8]) -> Option<&mut [Self]> {
                    bytemuck::try_cast_slice_mut(bytes).ok()
                }
                #[cfg(feature = "usearch")]
                const USEARCH_KIND: usearch::ScalarKind = usearch::ScalarKind::$kind;
                #[cfg(feature = "usearch")]
                fn usearch_add(index: &usearch::Index, key: u64, v: &[Self]) -> Result<(), String> {
                    index.add::<$t>(key, v).map_err(|e| e.to_string())
                }
                #[cfg(feature = "usearch")]
                fn usearch_search(
                    index: &usearch::Index,
                    q: &[Self],
                    count: usize,
                    exact: bool,
                ) -> Result<Vec<u64>, String> {
                    let found = if exact {
                        index.exact_search::<$t>(q, count)
                    } else {
                        index.search::<$t>(q, count)
                    };
                    found.map(|m| m.keys).map_err(|e| e.to_string())
                }
                #[cfg(feature = "usearch")]
                fn usearch_get(
                    index: &usearch::Index,
                    key: u64,
                    out: &mut [Self],
                ) -> Result<usize, String> {
                    index.get::<$t>(key, out).map_err(|e| e.to_string())
                }
                const TILE_PANEL_WIDTH: usize = $nr;
                fn fill_tiles(job: &mut TileJob<'_, Self>) -> bool {
                    dispatch::$fill(job)
                }
                fn full_gram_tiles(packed: &PackedRows<Self>, m: usize, out: &mut [Self]) -> bool {
                    dispatch::$full(packed, m, out)
                }
                #[inline]
                fn squared_distance_simd(
                    a: &[Self],
                    b: &[Self],
                    portable: fn(&[Self], &[Self]) -> Self,
                ) -> Self {
                    dispatch::$sq(a, b, portable)
                }
            }
        };
    }
    impl_sealed!(f32, PANEL_F32, fill_f32, full_f32, sqdist_f32, F32);
    impl_sealed!(f64, PANEL_F64, fill_f64, full_f64, sqdist_f64, F64);
}

/// A floating-point element type: implemented for `f32` and `f64` only.
///
/// Every algorithm in the crate is generic over `Scalar`, so embeddings can stay
/// in the precision they are stored in. The trait is sealed; it only gathers the
/// bounds the crate needs (`num_traits::Float`, ndarray's `LinalgScalar`, ...)
/// under one name.
pub trait Scalar:
    Float
    + FromPrimitive
    + ToPrimitive
    + LinalgScalar
    + ScalarOperand
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
    + private::Sealed
{
    /// Converts to `f64` (exact for both implementations).
    fn to_f64_lossless(self) -> f64;
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64_rounded(value: f64) -> Self;
}

impl Scalar for f32 {
    #[inline]
    fn to_f64_lossless(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn from_f64_rounded(value: f64) -> Self {
        value as f32
    }
}

impl Scalar for f64 {
    #[inline]
    fn to_f64_lossless(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64_rounded(value: f64) -> Self {
        value
    }
}
