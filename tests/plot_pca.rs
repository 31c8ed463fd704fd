//! PCA for pictures: against a direct eigen-decomposition (Jacobi, in this
//! test) of the sample covariance; orthonormal components, variance
//! descending, deterministic sign; one test per error rule.
#![cfg(feature = "plot")]

use ndarray::{Array1, Array2, Axis};
use pinnersage::plot::Pca;
use pinnersage::Error;
use proptest::prelude::*;

/// Eigenvalues (descending) and eigenvectors (columns) of a symmetric
/// matrix by cyclic Jacobi rotations.
fn jacobi(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut a = a.clone();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[[p, q]].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]));
    let values = idx.iter().map(|&i| a[[i, i]]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(r, c)| v[[r, idx[c]]]);
    (values, vectors)
}

fn covariance(x: &Array2<f64>) -> Array2<f64> {
    let mean = x.mean_axis(Axis(0)).unwrap();
    let c = x - &mean;
    c.t().dot(&c) / (x.nrows() as f64 - 1.0)
}

fn data(m: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut state = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
    // anisotropic: column j scaled by (j + 1), plus a shared direction
    Array2::from_shape_fn((m, d), |(_, j)| next() * (j as f64 + 1.0))
        + &Array1::from_shape_fn(d, |j| j as f64)
}

/// The components are orthonormal, the variances descending, and the
/// coordinates are the centred rows times the components.
fn check_structure(x: &Array2<f64>, k: usize) {
    let p = Pca::builder()
        .components(k)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let g = p.components.dot(&p.components.t());
    for i in 0..k {
        for j in 0..k {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!(
                (g[[i, j]] - want).abs() < 1e-9,
                "components not orthonormal: {g}"
            );
        }
    }
    assert!(p
        .explained_variance
        .windows(2)
        .all(|w| w[0] >= w[1] * (1.0 - 1e-9)));
    assert!(p
        .explained_variance
        .iter()
        .all(|&v| v >= 0.0 && v.is_finite()));
    let c = x - &p.mean;
    let coords = c.dot(&p.components.t());
    assert!((&coords - &p.coordinates).iter().all(|v| v.abs() < 1e-9));
    // deterministic sign: the largest-magnitude entry of each component is positive
    for row in p.components.rows() {
        let best = row
            .iter()
            .copied()
            .fold(0.0_f64, |b, v| if v.abs() > b.abs() { v } else { b });
        assert!(best > 0.0);
    }
    // the same input gives the same result
    let again = Pca::builder()
        .components(k)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_eq!(p, again);
}

#[test]
fn matches_a_direct_eigen_decomposition() {
    // d <= m (covariance side) and d > m (Gram side)
    for &(m, d, k) in &[(40, 5, 3), (30, 8, 2), (6, 12, 3), (9, 30, 2)] {
        let x = data(m, d, (m * 100 + d) as u64);
        let (values, vectors) = jacobi(&covariance(&x));
        let p = Pca::builder()
            .components(k)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap();
        for j in 0..k {
            let rel = (p.explained_variance[j] - values[j]).abs() / values[0];
            assert!(
                rel < 1e-8,
                "{m}x{d} eigenvalue {j}: {} vs {}",
                p.explained_variance[j],
                values[j]
            );
            let dot = p.components.row(j).dot(&vectors.column(j)).abs();
            assert!(dot > 1.0 - 1e-8, "{m}x{d} eigenvector {j}: |cos| = {dot}");
        }
        let total: f64 = values.iter().sum();
        assert!((p.total_variance - total).abs() < 1e-9 * total);
        assert!((p.variance_ratio(0) - values[0] / total).abs() < 1e-9);
        check_structure(&x, k);
    }
}

#[test]
fn rank_deficient_inputs_complete_the_basis() {
    // one point, and points on a line in 3-D: variance only along one axis
    let one = ndarray::array![[1.0, 2.0, 3.0]];
    let p = Pca::default().fit(one.view()).unwrap();
    assert_eq!(p.explained_variance, vec![0.0, 0.0]);
    check_structure(&one, 2);
    let line = Array2::from_shape_fn((10, 3), |(i, j)| i as f64 * [1.0, 2.0, -2.0][j]);
    let p = Pca::default().fit(line.view()).unwrap();
    assert!(p.explained_variance[1].abs() < 1e-9 * p.explained_variance[0]);
    let first = p.components.row(0);
    assert!((first[1] - 2.0 / 3.0).abs() < 1e-9 && (first[2] + 2.0 / 3.0).abs() < 1e-9);
    check_structure(&line, 2);
    check_structure(&line, 3);
}

#[test]
fn works_on_f32() {
    let x = data(20, 4, 3);
    let p64 = Pca::default().fit(x.view()).unwrap();
    let p32 = Pca::default().fit(x.mapv(|v| v as f32).view()).unwrap();
    for j in 0..2 {
        let rel = (p64.explained_variance[j] - p32.explained_variance[j]).abs()
            / p64.explained_variance[0];
        assert!(rel < 1e-5);
    }
}

#[test]
fn each_rule_has_its_error() {
    assert_eq!(
        Pca::builder().components(0).build(),
        Err(Error::PcaComponents {
            components: 0,
            dim: None
        })
    );
    assert_eq!(
        Pca::builder().max_iterations(0).build(),
        Err(Error::PcaIterations)
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Pca::builder().tolerance(bad).build(),
            Err(Error::PcaTolerance { .. })
        ));
    }
    let pca = Pca::builder().components(3).build().unwrap();
    assert_eq!(
        pca.fit(Array2::<f64>::zeros((5, 2)).view()),
        Err(Error::PcaComponents {
            components: 3,
            dim: Some(2)
        })
    );
    assert_eq!(
        pca.fit(Array2::<f64>::zeros((0, 4)).view()),
        Err(Error::EmptyInput)
    );
    assert_eq!(
        pca.fit(Array2::<f64>::zeros((3, 0)).view()),
        Err(Error::ZeroDimension { rows: 3 })
    );
    let mut x = Array2::<f64>::zeros((4, 4));
    x[[2, 1]] = f64::NAN;
    assert_eq!(
        pca.fit(x.view()),
        Err(Error::NonFiniteValue { row: 2, column: 1 })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn components_are_orthonormal_and_variances_descend(
        m in 1usize..25, d in 2usize..10, seed in 0u64..1000, k in 1usize..3,
    ) {
        check_structure(&data(m, d, seed), k.min(d));
    }
}
