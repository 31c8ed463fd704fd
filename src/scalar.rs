//! The floating-point element types the crate computes with.

use core::fmt::{Debug, Display};
use core::iter::Sum;

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, ToPrimitive};

mod private {
    use crate::ward::gram_tiles::{dispatch, PackedRows, TileJob};

    /// Seals [`Scalar`](super::Scalar) and carries the per-type hooks of the
    /// crate's SIMD kernels (not nameable outside the crate).
    pub trait Sealed: Sized {
        /// The panel width of the Gram tile kernel on this CPU, if it has one.
        fn tile_panel_width() -> Option<usize>;
        /// Fills a block of condensed rows with the tile kernel; `false` if
        /// this CPU has none.
        fn fill_tiles(job: &mut TileJob<'_, Self>) -> bool;
        /// The full Gram matrix of packed rows with the tile kernel; `false`
        /// if this CPU has none.
        fn full_gram_tiles(packed: &PackedRows<Self>, m: usize, out: &mut [Self]) -> bool;
    }
    impl Sealed for f32 {
        fn tile_panel_width() -> Option<usize> {
            dispatch::width_f32()
        }
        fn fill_tiles(job: &mut TileJob<'_, Self>) -> bool {
            dispatch::fill_f32(job)
        }
        fn full_gram_tiles(packed: &PackedRows<Self>, m: usize, out: &mut [Self]) -> bool {
            dispatch::full_f32(packed, m, out)
        }
    }
    impl Sealed for f64 {
        fn tile_panel_width() -> Option<usize> {
            dispatch::width_f64()
        }
        fn fill_tiles(job: &mut TileJob<'_, Self>) -> bool {
            dispatch::fill_f64(job)
        }
        fn full_gram_tiles(packed: &PackedRows<Self>, m: usize, out: &mut [Self]) -> bool {
            dispatch::full_f64(packed, m, out)
        }
    }
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
