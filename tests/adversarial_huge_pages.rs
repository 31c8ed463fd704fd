//! The condensed matrix of at least 32 MiB lives in a huge-page mapping on
//! Linux (`src/ward/storage.rs`): sizes just below and above that threshold
//! (`f64` m = 2 897, `f32` m = 4 097 are the first mapped ones) give the
//! same dendrograms as the lean path, also weighted, with repeated rows,
//! from several threads at once, with `parallel`, through
//! `linkage_condensed`, and at a memory budget right at the matrix size.
//!
//! Each test runs several linkages of ~3 000–4 100 rows: a few seconds in
//! release, far more in debug, hence `#[ignore]`. Run with
//! `cargo test --release --all-features --test adversarial_huge_pages -- --ignored`.

use ndarray::{Array1, Array2, ArrayView2};
use pinnersage::ward::{self, Dendrogram, Strategy, Ward};
use pinnersage::{Error, Scalar};

/// `m × d` values in `[0, 1)` from a xorshift generator.
fn uniform<F: Scalar>(m: usize, d: usize, seed: u64) -> Array2<F> {
    let mut s = seed | 1;
    Array2::from_shape_fn((m, d), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        F::from_f64_rounded((s >> 11) as f64 / (1u64 << 53) as f64)
    })
}

/// Heights within `tol` relative, and with `pairs` the same merges (pairs
/// and sizes); `a` a valid scipy linkage.
fn assert_same<F: Scalar>(a: &Dendrogram<F>, b: &Dendrogram<F>, tol: f64, what: &str) {
    check_same(a, b, tol, true, what);
}

fn check_same<F: Scalar>(a: &Dendrogram<F>, b: &Dendrogram<F>, tol: f64, pairs: bool, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
        if pairs {
            assert_eq!((p.a, p.b, p.size), (q.a, q.b, q.size), "{what} merge {i}");
        }
        let (x, y) = (p.distance.to_f64_lossless(), q.distance.to_f64_lossless());
        assert!(
            (x - y).abs() <= tol * x.abs().max(y.abs()),
            "{what} merge {i}: {x} vs {y}"
        );
    }
    let z = a.to_scipy();
    let m = a.observations();
    assert_eq!(z.dim(), (m - 1, 4), "{what}");
    let mut used = vec![false; 2 * m - 1];
    let mut sizes = vec![1.0; 2 * m - 1];
    let mut last = 0.0;
    for (t, row) in z.rows().into_iter().enumerate() {
        let (i, j) = (row[0] as usize, row[1] as usize);
        assert!(i < m + t && j < m + t && i != j, "{what} row {t}");
        assert!(!used[i] && !used[j], "{what} row {t}: reused cluster");
        used[i] = true;
        used[j] = true;
        assert!(row[2].is_finite() && row[2] >= last, "{what} row {t}");
        last = row[2];
        sizes[m + t] = sizes[i] + sizes[j];
        assert_eq!(row[3], sizes[m + t], "{what} row {t}");
    }
    assert_eq!(sizes[2 * m - 2], m as f64, "{what}");
}

fn matrix<F: Scalar>(x: ArrayView2<'_, F>) -> Dendrogram<F> {
    Ward::new().strategy(Strategy::Matrix).linkage(x).unwrap()
}

fn lean<F: Scalar>(x: ArrayView2<'_, F>) -> Dendrogram<F> {
    Ward::new().strategy(Strategy::Lean).linkage(x).unwrap()
}

#[test]
#[ignore = "several linkages of ~3 000-4 100 rows: run in release"]
fn threshold_sizes_equal_the_lean_path() {
    for m in [2896, 2897, 2950] {
        let x = uniform::<f64>(m, 6, m as u64);
        let a = matrix(x.view());
        assert_same(&a, &lean(x.view()), 1e-9, &format!("f64 m={m}"));
        // the free function (Auto) takes the matrix path here too
        assert_eq!(ward::linkage(x.view()).unwrap().merges(), a.merges());
    }
    for m in [4096, 4097, 4150] {
        // in f32 the two paths' roundings may order near-tied merges
        // differently (m = 4 150 does at merge 1 750, with a Vec as with the
        // mapping: `heap_and_mapped_storage_give_the_same_matrix_path` in
        // src/ward/linkage.rs): heights only
        let x = uniform::<f32>(m, 5, m as u64);
        let what = format!("f32 m={m}");
        check_same(&matrix(x.view()), &lean(x.view()), 1e-4, false, &what);
    }
}

#[test]
#[ignore = "several linkages of ~3 000 rows: run in release"]
fn weighted_and_repeated_rows_above_the_threshold() {
    let m = 2950;
    let x = uniform::<f64>(m, 4, 7);
    let w = Array1::from_shape_fn(m, |i| 1.0 + (i % 5) as f64 * 0.25);
    let run = |s: Strategy| {
        Ward::new()
            .strategy(s)
            .linkage_weighted(x.view(), w.view())
            .unwrap()
    };
    assert_same(
        &run(Strategy::Matrix),
        &run(Strategy::Lean),
        1e-9,
        "weighted",
    );

    // every row twice (m = 5 800): the first matrix of 134 MB is mapped,
    // sees the zeros and is dropped; the 2 900 distinct rows are mapped again
    let doubled = ndarray::concatenate![
        ndarray::Axis(0),
        x.slice(ndarray::s![..2900, ..]),
        x.slice(ndarray::s![..2900, ..])
    ];
    let a = matrix(doubled.view());
    let b = lean(doubled.view());
    assert_eq!(a.len(), 5799);
    assert!(a.merges()[..2900].iter().all(|g| g.distance == 0.0));
    // the zero-height merges may pair the repeats in either order; the
    // heights after them must agree
    for (p, q) in a.merges()[2900..].iter().zip(&b.merges()[2900..]) {
        assert!((p.distance - q.distance).abs() <= 1e-9 * p.distance);
    }
}

#[test]
#[ignore = "a condensed linkage of 2 897 observations: run in release"]
fn condensed_input_above_the_threshold() {
    let m = 2897;
    let x = uniform::<f64>(m, 6, 11);
    let mut c = Vec::with_capacity(m * (m - 1) / 2);
    for i in 0..m {
        for j in i + 1..m {
            let e: f64 = (0..6).map(|k| (x[[i, k]] - x[[j, k]]).powi(2)).sum();
            c.push(e);
        }
    }
    let from_c = ward::linkage_condensed(Array1::from(c).view()).unwrap();
    assert_same(&from_c, &matrix(x.view()), 1e-9, "condensed");
}

#[test]
#[ignore = "four concurrent linkages of ~3 000-4 100 rows: run in release"]
fn concurrent_large_linkages_each_map_their_own_matrix() {
    let xs64: Vec<Array2<f64>> = (0..3)
        .map(|s| uniform(2900 + s * 20, 6, 100 + s as u64))
        .collect();
    let x32 = uniform::<f32>(4120, 6, 5);
    let alone64: Vec<Dendrogram<f64>> = xs64.iter().map(|x| matrix(x.view())).collect();
    let alone32 = matrix(x32.view());
    for _ in 0..2 {
        std::thread::scope(|s| {
            let hs: Vec<_> = xs64
                .iter()
                .map(|x| s.spawn(move || matrix(x.view())))
                .collect();
            let h32 = s.spawn(|| matrix(x32.view()));
            for (h, alone) in hs.into_iter().zip(&alone64) {
                assert_eq!(h.join().unwrap().merges(), alone.merges());
            }
            assert_eq!(h32.join().unwrap().merges(), alone32.merges());
        });
    }
}

#[cfg(feature = "parallel")]
#[test]
#[ignore = "linkages of 3 000-4 100 rows: run in release"]
fn parallel_distance_pass_into_the_mapping() {
    fn check<F: Scalar>(x: Array2<F>) {
        let par = Ward::new()
            .strategy(Strategy::Matrix)
            .parallel(true)
            .linkage(x.view())
            .unwrap();
        assert_eq!(par.merges(), matrix(x.view()).merges());
    }
    check(uniform::<f64>(3000, 8, 21));
    check(uniform::<f32>(4100, 8, 22));
}

#[test]
#[ignore = "a linkage of 2 897 rows: run in release"]
fn memory_budget_right_at_the_mapped_size() {
    let m = 2897;
    let need = Ward::matrix_bytes::<f64>(m).unwrap();
    assert!(need >= 32 << 20);
    let x = uniform::<f64>(m, 4, 3);
    let short = Ward::new()
        .strategy(Strategy::Matrix)
        .memory_budget(need - 1);
    assert!(matches!(
        short.linkage(x.view()),
        Err(Error::MemoryBudgetExceeded { .. })
    ));
    let at = Ward::new().strategy(Strategy::Matrix).memory_budget(need);
    assert_eq!(at.resolve::<f64>(m), Ok(Strategy::Matrix));
    let a = at.linkage(x.view()).unwrap();
    // Auto one byte short goes lean: the same tree
    let auto = Ward::new()
        .memory_budget(need - 1)
        .linkage(x.view())
        .unwrap();
    assert_same(&a, &auto, 1e-9, "budget");
}
