//! Core-crate findings of the adversarial pass over the Python package and
//! the pictures (issues 14 and 15), found on a branch without the core's
//! hardening (issue 12) and passing with it: extreme magnitudes give finite
//! heights or a typed error, never an infinite or silently zero height.

use ndarray::Array2;
use pinnersage::ward::{Strategy, Ward};
use pinnersage::{Error, Scalar};

fn rows(m: usize, d: usize, scale: f64) -> Array2<f64> {
    Array2::from_shape_fn((m, d), |(i, j)| {
        scale * (((i * 7 + j * 13) % 11) as f64 - 5.0 + (i / 4) as f64 * 10.0)
    })
}

/// Ok with one merge per row but one, all at finite distances; or an error.
fn assert_finite_or_refused<F: Scalar>(x: Array2<F>, label: &str) {
    for strategy in [Strategy::Matrix, Strategy::Lean] {
        if let Ok(tree) = Ward::new().strategy(strategy).linkage(x.view()) {
            assert_eq!(tree.merges().len(), x.nrows() - 1, "{label} {strategy:?}");
            for (t, s) in tree.merges().iter().enumerate() {
                let d = s.distance.to_f64_lossless();
                assert!(d.is_finite(), "{label} {strategy:?}: merge {t} at {d}");
            }
        }
    }
}

#[test]
fn linkage_of_huge_rows_is_finite_or_refused() {
    assert_finite_or_refused(rows(20, 4, 1e154), "f64 1e154");
    assert_finite_or_refused(rows(20, 4, 1e300), "f64 1e300");
    assert_finite_or_refused(rows(20, 4, 1e19).mapv(|v| v as f32), "f32 1e19");
    assert_finite_or_refused(rows(20, 4, 1e30).mapv(|v| v as f32), "f32 1e30");
}

/// f32 rows of 1e-30: squared distances of about 1e-60 lie below f32's
/// range, so the answer is a typed error, never all-zero heights; rows of
/// 1e-15 (heights about 1e-30) are exact up to f32 rounding.
#[test]
fn linkage_of_tiny_f32_rows_is_exact_or_refused() {
    let reference = Ward::new().linkage(rows(20, 4, 1.0).view()).unwrap();
    for strategy in [Strategy::Matrix, Strategy::Lean] {
        let ward = Ward::new().strategy(strategy);
        let tiny = rows(20, 4, 1e-30).mapv(|v| v as f32);
        assert!(
            matches!(
                ward.linkage(tiny.view()),
                Err(Error::HeightUnderflow { .. })
            ),
            "{strategy:?}"
        );
        let small = rows(20, 4, 1e-15).mapv(|v| v as f32);
        let tree = ward.linkage(small.view()).unwrap();
        for (s, r) in tree.merges().iter().zip(reference.merges()) {
            let got = f64::from(s.distance) / 1e-30;
            assert!(
                (got - r.distance).abs() <= 1e-4 * r.distance,
                "{strategy:?}: {got} vs {}",
                r.distance
            );
        }
    }
}

#[test]
fn linkage_with_huge_weights_is_finite_or_refused() {
    let x = rows(20, 4, 1.0);
    let w = ndarray::Array1::from_elem(20, 1e300);
    if let Ok(tree) = Ward::new().linkage_weighted(x.view(), w.view()) {
        assert!(tree.merges().iter().all(|s| s.distance.is_finite()));
    }
}
