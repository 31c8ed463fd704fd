//! The floating-point element types the crate computes with.

use core::fmt::{Debug, Display};
use core::iter::Sum;

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, ToPrimitive};

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
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
