//! Small linear algebra on slices, shared by the whole crate: squared
//! distances and norms, Euclidean norm and normalisation without overflow,
//! and minimum search.
//!
//! The sums are written so that LLVM vectorises them without `unsafe` or
//! target features: eight independent accumulators (a fixed association
//! order, hence deterministic results) and branch-free loops.

use crate::scalar::simd::vectorised;
use crate::scalar::Scalar;

/// `Σ_k (a_k − b_k)²`, accumulated in eight independent lanes.
///
/// No cancellation: every term is non-negative, so the result is accurate to a
/// few ulps relative and exactly zero for identical rows.
///
/// # Complexity
/// O(d) time, O(1) space.
#[inline(always)]
pub(crate) fn squared_distance<F: Scalar>(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [F::zero(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            let t = x[k] - y[k];
            acc[k] = acc[k] + t * t;
        }
    }
    let mut tail = F::zero();
    for (&x, &y) in ra.iter().zip(rb) {
        let t = x - y;
        tail = tail + t * t;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `Σ_k a_k²`, accumulated like [`squared_distance`] (the tests' reference).
#[cfg(test)]
#[inline]
pub(crate) fn squared_norm<F: Scalar>(a: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let ca = a.chunks_exact(8);
    let ra = ca.remainder();
    for x in ca {
        for k in 0..8 {
            acc[k] = acc[k] + x[k] * x[k];
        }
    }
    let mut tail = F::zero();
    for &x in ra {
        tail = tail + x * x;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `⟨a, b⟩ = Σ_k a_k·b_k`, accumulated in eight independent lanes like
/// [`squared_distance`] (deterministic, vectorised without `unsafe`).
///
/// # Complexity
/// O(d) time, O(1) space.
#[cfg_attr(not(feature = "hnsw"), allow(dead_code))] // the HNSW distance
#[inline]
pub(crate) fn dot<F: Scalar>(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [F::zero(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] = acc[k] + x[k] * y[k];
        }
    }
    let mut tail = F::zero();
    for (&x, &y) in ra.iter().zip(rb) {
        tail = tail + x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The smallest value of `values` (`+∞` for an empty slice): one vectorised
/// pass.
#[inline(always)]
pub(crate) fn min_value<F: Scalar>(values: &[F]) -> F {
    let mut acc = [F::infinity(); 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            // branch-free select, vectorises to a packed min
            acc[k] = if c[k] < acc[k] { c[k] } else { acc[k] };
        }
    }
    let mut best = F::infinity();
    for &v in acc.iter().chain(rest) {
        if v < best {
            best = v;
        }
    }
    best
}

/// The largest magnitude `max_k |v_k|` of `values` if every value is finite
/// (`0` for an empty slice), `None` if some value is infinite or NaN: one
/// vectorised pass with no early exit (a value `v` is finite exactly when
/// `v·0 == 0`, so the lanes sum `v·0` and test once at the end).
///
/// # Complexity
/// O(n) time, O(1) space.
#[inline]
pub(crate) fn finite_max_abs<F: Scalar>(values: &[F]) -> Option<F> {
    vectorised(
        #[inline(always)]
        || finite_max_abs_inline(values),
    )
}

/// [`finite_max_abs`], inlined into its vectorised caller.
#[inline(always)]
fn finite_max_abs_inline<F: Scalar>(values: &[F]) -> Option<F> {
    let mut max = [F::zero(); 8];
    let mut nan = [F::zero(); 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let a = c[k].abs();
            // branch-free select, vectorises to a packed max
            max[k] = if a > max[k] { a } else { max[k] };
            nan[k] = nan[k] + c[k] * F::zero();
        }
    }
    let mut best = F::zero();
    let mut check = F::zero();
    for &v in rest {
        let a = v.abs();
        best = if a > best { a } else { best };
        check = check + v * F::zero();
    }
    for k in 0..8 {
        best = if max[k] > best { max[k] } else { best };
        check = check + nan[k];
    }
    (check == F::zero()).then_some(best)
}

/// The smallest value of `values` and the first position where it occurs, or
/// `None` for an empty slice. Values are never NaN here (`+∞` marks retired
/// entries), so `min` is a total order.
///
/// # Complexity
/// O(n) time: one vectorised pass for the minimum, one scan, eight values at
/// a time, that stops at its first occurrence.
#[inline]
pub(crate) fn argmin<F: Scalar>(values: &[F]) -> Option<(usize, F)> {
    if values.is_empty() {
        return None;
    }
    vectorised(
        #[inline(always)]
        || argmin_inline(values),
    )
}

/// [`argmin`] of a non-empty slice, inlined into its vectorised caller.
#[inline(always)]
fn argmin_inline<F: Scalar>(values: &[F]) -> Option<(usize, F)> {
    let best = min_value(values);
    let chunks = values.chunks_exact(8);
    let tail = values.len() - chunks.remainder().len();
    let mut from = tail;
    for (c, chunk) in chunks.enumerate() {
        // a packed compare per chunk; the position only in the chunk that has it
        let mut hit = false;
        for &v in chunk {
            hit |= v == best;
        }
        if hit {
            from = c * 8;
            break;
        }
    }
    let pos = values[from..]
        .iter()
        .position(|&v| v == best)
        .map_or(0, |k| from + k);
    Some((pos, values[pos]))
}

/// The Euclidean norm `‖x‖` of a finite vector, computed as `s·‖x/s‖` with
/// `s = max|x_k|`, so that the squares neither overflow nor underflow;
/// infinite only when the norm itself exceeds the element type's range.
///
/// # Complexity
/// O(d) time, O(1) space.
pub(crate) fn l2_norm<F: Scalar>(x: &[F]) -> F {
    let s = x.iter().fold(F::zero(), |m, v| m.max(v.abs()));
    if s == F::zero() {
        return s;
    }
    let sum = x.iter().fold(F::zero(), |acc, &v| {
        let t = v / s;
        acc + t * t
    });
    s * sum.sqrt()
}

/// Scales a finite vector to unit length in place, `x / ‖x‖`, dividing by
/// `max|x_k|` first (the norm is then in `[1, √d]`), so that neither very
/// large nor very small vectors lose their direction. A zero vector stays
/// zero.
///
/// # Complexity
/// O(d) time, O(1) space.
#[cfg_attr(not(test), allow(dead_code))] // for the ANN code (see DESIGN.md)
pub(crate) fn normalise<F: Scalar>(x: &mut [F]) {
    let s = x.iter().fold(F::zero(), |m, v| m.max(v.abs()));
    if s == F::zero() {
        return;
    }
    x.iter_mut().for_each(|v| *v = *v / s);
    let norm = x.iter().fold(F::zero(), |acc, &v| acc + v * v).sqrt();
    x.iter_mut().for_each(|v| *v = *v / norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_max_abs_finds_the_magnitude_and_every_non_finite_value() {
        for n in [0usize, 1, 7, 8, 9, 31, 256] {
            let v: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
            let plain = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert_eq!(finite_max_abs(&v), Some(plain), "n={n}");
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                for at in 0..n {
                    let mut w = v.clone();
                    w[at] = bad;
                    assert_eq!(finite_max_abs(&w), None, "n={n} at={at} {bad}");
                }
            }
        }
        let big = [f32::MAX, -f32::MAX, 1.0];
        assert_eq!(finite_max_abs(&big), Some(f32::MAX));
        assert_eq!(finite_max_abs(&[-0.0f32, 0.0]), Some(0.0));
    }

    #[test]
    fn squared_distance_matches_plain_loop() {
        for d in [1usize, 7, 8, 9, 31, 256] {
            let a: Vec<f64> = (0..d).map(|k| (k as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..d).map(|k| (k as f64 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let fast = squared_distance(&a, &b);
            assert!((fast - plain).abs() <= 1e-13 * plain, "d={d}");
            assert_eq!(squared_distance(&a, &a), 0.0);
            let norm: f64 = a.iter().map(|x| x * x).sum();
            assert!((squared_norm(&a) - norm).abs() <= 1e-13 * norm);
        }
    }

    #[test]
    fn dot_matches_plain_loop() {
        for d in [0usize, 1, 7, 8, 9, 31, 64, 256] {
            let a: Vec<f64> = (0..d).map(|k| (k as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..d).map(|k| (k as f64 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let scale: f64 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
            assert!((dot(&a, &b) - plain).abs() <= 1e-14 * scale, "d={d}");
            let af: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            assert_eq!(dot(&af, &af), squared_norm(&af), "d={d}");
        }
    }

    #[test]
    fn argmin_finds_first_minimum() {
        assert_eq!(argmin::<f64>(&[]), None);
        let v = [3.0, 1.0, 2.0, 1.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.5, 0.5];
        assert_eq!(argmin(&v), Some((9, 0.5)));
        let w = [f32::INFINITY, 2.0, f32::INFINITY];
        assert_eq!(argmin(&w), Some((1, 2.0)));
        assert_eq!(argmin(&[f64::INFINITY; 3]), Some((0, f64::INFINITY)));
        assert_eq!(min_value::<f64>(&[]), f64::INFINITY);
        assert_eq!(min_value(&v), 0.5);
        assert_eq!(min_value(&w), 2.0);
        // every length around the chunk of 8, the minimum (twice) at every
        // position: the first occurrence, in a chunk or in the tail
        for n in 1..27 {
            for at in 0..n {
                let mut v: Vec<f32> = (0..n).map(|k| 10.0 + (k % 5) as f32).collect();
                v[at] = 1.0;
                if at + 3 < n {
                    v[at + 3] = 1.0;
                }
                assert_eq!(argmin(&v), Some((at, 1.0)), "n={n} at={at}");
            }
        }
        // -0 and +0 are one minimum: the first zero of either sign, with the
        // value stored there; +∞ (retired entries) everywhere else
        for n in 1..27 {
            for at in 0..n {
                for (first, second) in [(-0.0f64, 0.0), (0.0, -0.0)] {
                    let mut v = vec![f64::INFINITY; n];
                    v[at] = first;
                    if at + 1 < n {
                        v[n - 1] = second;
                    }
                    let (pos, value) = argmin(&v).unwrap();
                    assert_eq!(pos, at, "n={n} at={at}");
                    assert_eq!(value.to_bits(), first.to_bits(), "n={n} at={at}");
                }
            }
        }
    }

    #[test]
    fn norm_and_normalise_neither_overflow_nor_underflow() {
        let big = [3e300_f64, 4e300];
        assert_eq!(l2_norm(&big), 5e300);
        let tiny = [3e-300_f64, 4e-300];
        assert!((l2_norm(&tiny) - 5e-300).abs() <= 1e-315);
        assert_eq!(l2_norm::<f32>(&[0.0, 0.0]), 0.0);
        for v in [big, tiny, [3.0, 4.0]] {
            let mut u = v;
            normalise(&mut u);
            assert!(
                (u[0] - 0.6).abs() < 1e-15 && (u[1] - 0.8).abs() < 1e-15,
                "{u:?}"
            );
        }
        let mut zero = [0.0_f32; 3];
        normalise(&mut zero);
        assert_eq!(zero, [0.0; 3]);
        assert_eq!(l2_norm(&[f64::MAX, f64::MAX]), f64::INFINITY);
    }
}
