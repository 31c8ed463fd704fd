//! Adversarial inputs for the matrix path's distance pass where it takes
//! each block's band of distances from a product about the block's own
//! centre (ordered rows: condensed matrices over 64 KiB; `f32` always, `f64`
//! from d ≈ 700): tight clusters far from the origin, contiguous or
//! interleaved, duplicates across block and band edges, sizes just around
//! the ordering threshold and blocks of one row, extreme weights, column-major
//! and strided views. Every tree is checked against a naive Lance–Williams
//! replay in `f64`, serial and parallel trees are the same bit for bit, and
//! repeated rows merge at exactly zero.

mod common;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ShapeBuilder};
use pinnersage::ward::{Dendrogram, Strategy, Ward};
use pinnersage::Scalar;

fn lcg(s: &mut u64) -> f64 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// `m` distinct rows of `d` values in five tight clusters of spread `spread`
/// about centres in `offset + [-½, ½)^d`: contiguous (`kind` 0), interleaved
/// (1) or in runs of three (2); then a copy of every 17th row (so the
/// matrix path's first pass sees repeats, and its second, on the `m` distinct
/// rows, has the same size class).
fn clusters(m: usize, d: usize, kind: usize, offset: f64, spread: f64, seed: u64) -> Array2<f64> {
    let mut s = seed;
    let k = 5;
    let centres: Vec<f64> = (0..k * d).map(|_| lcg(&mut s)).collect();
    let mut x = Array2::from_shape_fn((m, d), |(i, c)| {
        let cluster = match kind {
            0 => i * k / m,
            1 => i % k,
            _ => (i / 3) % k,
        };
        offset + centres[cluster * d + c] + spread * lcg(&mut s)
    });
    let copies: Vec<usize> = (0..m).step_by(17).collect();
    let repeated = x.select(ndarray::Axis(0), &copies);
    x = ndarray::concatenate![ndarray::Axis(0), x, repeated];
    x
}

fn same_bits<F: Scalar>(a: &Dendrogram<F>, b: &Dendrogram<F>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|(p, q)| {
            (p.a, p.b, p.size) == (q.a, q.b, q.size)
                && p.distance.to_f64_lossless().to_bits() == q.distance.to_f64_lossless().to_bits()
        })
}

/// The number of merges at height exactly zero must be at least the number
/// of repeated rows (each repeat joins its twin at zero).
fn repeats(x: ArrayView2<'_, f64>) -> usize {
    (1..x.nrows())
        .filter(|&i| (0..i).any(|j| x.row(i) == x.row(j)))
        .count()
}

/// The matrix path, serial and parallel, on `x` converted to `F`: the same
/// bits, a tree that replays on the `f64` Lance–Williams matrix of the
/// converted rows within `tol`, and the repeats merged at exactly zero.
fn check<F: Scalar>(
    x: ArrayView2<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
    convert: impl Fn(f64) -> F,
    tol: f64,
    label: &str,
) {
    let xf: Array2<F> = x.mapv(&convert);
    let exact: Array2<f64> = xf.mapv(|v| v.to_f64_lossless());
    let wf: Option<Array1<F>> = weights.map(|w| w.mapv(&convert));
    let w_exact: Option<Array1<f64>> = wf.as_ref().map(|w| w.mapv(|v| v.to_f64_lossless()));
    let run = |parallel: bool| {
        let ward = Ward::new().strategy(Strategy::Matrix);
        // without the feature the "parallel" run is a second serial one
        #[cfg(feature = "parallel")]
        let ward = ward.parallel(parallel);
        let tree = match &wf {
            Some(w) => ward.linkage_weighted(xf.view(), w.view()),
            None => ward.linkage(xf.view()),
        };
        tree.unwrap_or_else(|e| panic!("{label} (parallel: {parallel}): {e:?}"))
    };
    let serial = run(false);
    let parallel = run(true);
    assert!(same_bits(&serial, &parallel), "{label}: serial != parallel");
    if let Err(e) = common::replay_check(
        exact.view(),
        w_exact.as_ref().map(|w| w.view()),
        &serial,
        tol,
    ) {
        panic!("{label}: {e}");
    }
    let zeros = serial.iter().filter(|m| m.distance == F::zero()).count();
    assert!(
        zeros >= repeats(exact.view()),
        "{label}: {zeros} zero heights"
    );
}

/// Sizes around the ordering threshold (`f32`: 183 rows order, 182 keep
/// their order) and where a block has one row (194 rows: blocks of 64 for
/// the `gemm` crate, 16 for `matrixmultiply`, and a last block of one).
#[test]
fn f32_clusters_around_the_ordering_threshold_and_one_row_blocks() {
    for (m, d, kind, offset, spread) in [
        (182, 8, 2, 0.5, 1e-6),
        (183, 1, 1, 1e3, 1e-2),
        (194, 9, 0, 1e4, 1e-4),
    ] {
        let x = clusters(m, d, kind, offset, spread, m as u64);
        let label = format!("f32 m={m} d={d} kind={kind}");
        check(x.view(), None, |v| v as f32, 1e-3, &label);
    }
}

/// `f64` at d = 701 (banded: the recomputation threshold is above 1/64) with
/// ordered rows (129 distinct rows), tight interleaved clusters far from the origin.
#[test]
fn f64_banded_dimension_far_from_the_origin() {
    let x = clusters(129, 701, 1, 1e6, 1e-3, 11);
    check(x.view(), None, |v| v, 1e-9, "f64 m=129 d=701");
}

/// Extreme weights (1e-12 to 1e12) on banded `f32` and `f64` rows.
#[test]
fn extreme_weights() {
    let x = clusters(190, 7, 2, 1e3, 1e-2, 5);
    let w = Array1::from_shape_fn(x.nrows(), |i| 10f64.powi((i as i32 * 7) % 25 - 12));
    check(x.view(), Some(w.view()), |v| v as f32, 1e-3, "f32 weighted");
    let x = clusters(130, 16, 0, 1e3, 1e-3, 6);
    let w = Array1::from_shape_fn(x.nrows(), |i| 10f64.powi((i as i32 * 7) % 25 - 12));
    check(x.view(), Some(w.view()), |v| v, 1e-9, "f64 weighted");
}

/// Column-major and strided views give the trees of their standard-layout
/// copies, bit for bit.
#[test]
fn layouts_give_the_same_bits() {
    let x = clusters(200, 9, 1, 1e3, 1e-2, 9).mapv(|v| v as f32);
    let standard = Ward::new()
        .strategy(Strategy::Matrix)
        .linkage(x.view())
        .unwrap();
    let m = x.nrows();
    let mut fortran = Array2::<f32>::zeros((m, 9).f());
    fortran.assign(&x);
    let from_fortran = Ward::new()
        .strategy(Strategy::Matrix)
        .linkage(fortran.view())
        .unwrap();
    assert!(same_bits(&standard, &from_fortran));
    let mut wide = Array2::<f32>::zeros((2 * m, 18));
    wide.slice_mut(s![..;2, ..;2]).assign(&x);
    let strided = wide.slice(s![..;2, ..;2]);
    let from_strided = Ward::new()
        .strategy(Strategy::Matrix)
        .linkage(strided)
        .unwrap();
    assert!(same_bits(&standard, &from_strided));
}

/// The wide sweep behind the tests above (run in release:
/// `cargo test --release --all-features --test adversarial_distance_bands -- --ignored`).
#[test]
#[ignore]
fn sweep() {
    let mut seed = 100;
    for d in [1, 7, 8, 9, 33, 256, 700, 701, 1700] {
        for kind in 0..3 {
            for (offset, spread) in [
                (0.0, 1e-3),
                (1e3, 1e-2),
                (1e4, 1e-4),
                (0.5, 1e-6),
                (1e15, 1e11),
            ] {
                seed += 1;
                for m in [183, 194, 260] {
                    let x = clusters(m, d, kind, offset, spread, seed);
                    let label =
                        format!("f32 m={m} d={d} kind={kind} offset={offset} spread={spread}");
                    check(x.view(), None, |v| v as f32, 1e-3, &label);
                }
                for m in [129, 140] {
                    let x = clusters(m, d, kind, offset, spread, seed);
                    let label =
                        format!("f64 m={m} d={d} kind={kind} offset={offset} spread={spread}");
                    check(x.view(), None, |v| v, 1e-9, &label);
                }
            }
        }
    }
}
