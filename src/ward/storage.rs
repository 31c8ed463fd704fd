//! The memory the condensed matrix of the matrix path lives in.
//!
//! The generic algorithm's lazy Lance–Williams replay
//! ([`generic`](super::generic)) reads and writes entries scattered over the
//! whole condensed matrix. On 4 KiB pages nearly every such access of a large
//! matrix (100 MB at m = 5 000 in `f64`) also misses the TLB, and in a virtual
//! machine a TLB miss walks two page tables. On Linux a matrix of at least
//! [`HUGE_PAGES_FROM`] bytes therefore lives in an anonymous mapping advised
//! for transparent huge pages (`madvise(MADV_HUGEPAGE)`, through `memmap2`;
//! it takes effect where `/sys/kernel/mm/transparent_hugepage/enabled` is
//! `madvise` or `always`). The mapping comes zeroed from the kernel, so no
//! zero fill either. Smaller matrices, other systems, and any refusal of the
//! mapping or of the advice use an ordinary `Vec`: the values and results are
//! the same either way, only the time differs.
//!
//! Measured (AMD EPYC Zen 4 KVM guest, AVX-512 tiles, m = 5 000, d = 256,
//! `f64`, interleaved runs): 356–365 ms → 272–277 ms per linkage; `f32`
//! 202–224 ms → 173–201 ms. See `BENCHMARKS.md`.

use core::ops::{Deref, DerefMut};

use crate::scalar::Scalar;
use crate::{Error, Result};

/// Matrices of at least this many bytes are mapped with huge pages: glibc's
/// largest dynamic `mmap` threshold (32 MiB on 64-bit systems), above which
/// its `malloc` maps fresh pages for every call anyway. Below it, repeated
/// linkages reuse already faulted-in heap memory, and a fresh mapping per
/// call measured 3–5% slower at m = 2 000 (16 MiB `f64`, 8 MiB `f32`), where
/// the matrix also nearly fits the reach of the 4 KiB TLB. From m ≈ 2 900
/// in `f64`, 4 100 in `f32`; the batch of many small profiles never maps.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) const HUGE_PAGES_FROM: usize = 32 << 20;

/// A zeroed buffer of `len` elements: a `Vec`, or on Linux for large sizes an
/// anonymous mapping advised for huge pages.
pub(crate) struct CondensedStorage<F> {
    inner: Inner<F>,
}

enum Inner<F> {
    Heap(Vec<F>),
    #[cfg(target_os = "linux")]
    Mapped(memmap2::MmapMut),
}

impl<F: Scalar> CondensedStorage<F> {
    /// `len` zeros.
    ///
    /// # Errors
    /// [`Error::AllocationFailed`] if `len` elements overflow `usize` bytes or
    /// neither the mapping nor the allocator grants them (with memory
    /// overcommit the system may still grant the address space and fail
    /// later, when the pages are touched).
    pub(crate) fn zeroed(len: usize) -> Result<Self> {
        Self::collect(len, core::iter::empty())
    }

    /// The `len` values of `values` (fewer leave zeros, more are ignored),
    /// in the storage [`CondensedStorage::zeroed`] would choose, without
    /// zero-filling a heap buffer first.
    ///
    /// # Errors
    /// As [`CondensedStorage::zeroed`].
    pub(crate) fn collect(len: usize, values: impl Iterator<Item = F>) -> Result<Self> {
        let bytes = len.checked_mul(core::mem::size_of::<F>());
        let refused = Error::AllocationFailed {
            bytes: bytes.unwrap_or(usize::MAX),
        };
        let Some(bytes) = bytes else {
            return Err(refused);
        };
        #[cfg(target_os = "linux")]
        if bytes >= HUGE_PAGES_FROM {
            if let Some(mut mapped) = Self::mapped(bytes) {
                for (slot, v) in mapped.iter_mut().zip(values) {
                    *slot = v;
                }
                return Ok(mapped);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = bytes;
        let mut d: Vec<F> = Vec::new();
        d.try_reserve_exact(len).map_err(|_| refused)?;
        d.extend(values.take(len));
        d.resize(len, F::zero());
        Ok(Self::from(d))
    }

    /// An anonymous mapping of `bytes` advised for huge pages, if the system
    /// grants both and the bytes view as elements.
    #[cfg(target_os = "linux")]
    fn mapped(bytes: usize) -> Option<Self> {
        let map = memmap2::MmapMut::map_anon(bytes).ok()?;
        map.advise(memmap2::Advice::HugePage).ok()?;
        F::from_bytes(&map)?;
        Some(Self {
            inner: Inner::Mapped(map),
        })
    }

    /// `len` zeros in a huge-page mapping whatever the size, where the system
    /// grants one (for tests: the mapped storage on small matrices).
    #[cfg(test)]
    pub(crate) fn zeroed_mapped(len: usize) -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            Self::mapped(len.checked_mul(core::mem::size_of::<F>())?)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = len;
            None
        }
    }

    /// Whether the storage is a huge-page mapping (for tests).
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        !matches!(self.inner, Inner::Heap(_))
    }
}

impl<F> From<Vec<F>> for CondensedStorage<F> {
    fn from(v: Vec<F>) -> Self {
        Self {
            inner: Inner::Heap(v),
        }
    }
}

impl<F: Scalar> Deref for CondensedStorage<F> {
    type Target = [F];

    /// The elements. Take the slice once before a hot loop: each call
    /// matches the variant (and checks the cast of a mapping).
    fn deref(&self) -> &[F] {
        match &self.inner {
            Inner::Heap(v) => v,
            // `mapped` checked that the bytes view as elements; the mapping
            // does not move or change size
            #[cfg(target_os = "linux")]
            Inner::Mapped(map) => F::from_bytes(map).unwrap_or(&[]),
        }
    }
}

impl<F: Scalar> DerefMut for CondensedStorage<F> {
    fn deref_mut(&mut self) -> &mut [F] {
        match &mut self.inner {
            Inner::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Inner::Mapped(map) => F::from_bytes_mut(map).unwrap_or(&mut []),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sizes_use_the_heap_and_every_size_is_zeroed() {
        for len in [0usize, 1, 7, 1000] {
            let s = CondensedStorage::<f64>::zeroed(len).unwrap();
            assert_eq!(s.len(), len);
            assert!(s.iter().all(|&v| v == 0.0));
            assert!(!s.is_mapped());
        }
    }

    #[test]
    fn large_sizes_are_mapped_on_linux_and_writable() {
        let len = HUGE_PAGES_FROM / 4 + 3;
        let mut s = CondensedStorage::<f32>::zeroed(len).unwrap();
        assert_eq!(s.len(), len);
        assert!(s.iter().all(|&v| v == 0.0));
        assert_eq!(s.is_mapped(), cfg!(target_os = "linux"));
        s[len - 1] = 2.5;
        s[0] = -1.0;
        assert_eq!((s[0], s[len - 1], s[len / 2]), (-1.0, 2.5, 0.0));
        let f64s = CondensedStorage::<f64>::zeroed(HUGE_PAGES_FROM / 8).unwrap();
        assert_eq!(f64s.len(), HUGE_PAGES_FROM / 8);
        assert_eq!(f64s.is_mapped(), cfg!(target_os = "linux"));
    }

    /// The mapping at sizes the threshold never maps (as tests force it):
    /// zero, one element, odd counts, not a multiple of a page; zeroed,
    /// writable at both ends, and still the same memory after a move.
    #[test]
    fn forced_mappings_of_odd_and_empty_sizes_view_as_elements() {
        fn check<F: Scalar>() {
            for len in [0usize, 1, 3, 511, 513, 4097] {
                let Some(mut s) = CondensedStorage::<F>::zeroed_mapped(len) else {
                    #[cfg(target_os = "linux")]
                    panic!("len {len}: no mapping");
                    #[cfg(not(target_os = "linux"))]
                    continue;
                };
                assert!(s.is_mapped());
                assert_eq!(s.len(), len);
                assert!(s.iter().all(|&v| v == F::zero()));
                if len > 0 {
                    s[0] = F::one();
                    s[len - 1] = s[len - 1] + F::one();
                }
                let moved = Box::new(s);
                let total: F = moved.iter().copied().fold(F::zero(), |a, b| a + b);
                let expected = if len == 0 { 0.0 } else { 2.0 };
                assert_eq!(total.to_f64_lossless(), expected, "len {len}");
            }
        }
        check::<f32>();
        check::<f64>();
    }

    #[test]
    fn collect_takes_len_values_and_zero_fills_the_rest() {
        let s = CondensedStorage::<f64>::collect(5, [1.0, 2.0, 3.0].into_iter()).unwrap();
        assert_eq!(&*s, &[1.0, 2.0, 3.0, 0.0, 0.0]);
        let s = CondensedStorage::<f64>::collect(2, [1.0, 2.0, 3.0].into_iter()).unwrap();
        assert_eq!(&*s, &[1.0, 2.0]);
        // a mapped size: the values land in the mapping
        let len = HUGE_PAGES_FROM / 8 + 1;
        let s =
            CondensedStorage::<f64>::collect(len, (0..len - 1).map(|k| k as f64 + 1.0)).unwrap();
        assert_eq!(s.is_mapped(), cfg!(target_os = "linux"));
        assert_eq!((s[0], s[len - 2], s[len - 1]), (1.0, (len - 1) as f64, 0.0));
    }

    #[test]
    fn impossible_sizes_are_refused_not_aborted() {
        assert!(matches!(
            CondensedStorage::<f64>::zeroed(usize::MAX / 4),
            Err(Error::AllocationFailed { .. })
        ));
        assert!(matches!(
            CondensedStorage::<f64>::zeroed(usize::MAX / 16),
            Err(Error::AllocationFailed { .. })
        ));
    }
}
