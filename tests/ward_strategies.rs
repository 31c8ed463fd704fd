//! The matrix and memory-lean paths give the same dendrograms, and `Auto`
//! picks the lean path exactly when the matrix would exceed the budget.

mod common;

use common::{rel_err, replay_check};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use pinnersage::synthetic::{Catalog, CatalogConfig};
use pinnersage::ward::{Dendrogram, Strategy, Ward};
use pinnersage::{Error, Scalar};
use proptest::prelude::{prop_assert, proptest};
use proptest::strategy::Strategy as _;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

fn embeddings<F: Scalar>(items: usize, dim: usize, topics: usize, seed: u64) -> Array2<F> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let config = CatalogConfig::builder()
        .items(items)
        .dim(dim)
        .topics(topics)
        .spread(0.5)
        .build()
        .unwrap();
    Catalog::<F>::generate(&config, &mut rng).into_embeddings()
}

/// The linkage of `x` (of weighted rows when `w` is given) on the matrix
/// path and on the lean path.
fn both_paths<F: Scalar>(
    x: ArrayView2<'_, F>,
    w: Option<ArrayView1<'_, F>>,
) -> (Dendrogram<F>, Dendrogram<F>) {
    let run = |s: Strategy| {
        let ward = Ward::new().strategy(s);
        match w {
            Some(w) => ward.linkage_weighted(x, w),
            None => ward.linkage(x),
        }
        .unwrap()
    };
    (run(Strategy::Matrix), run(Strategy::Lean))
}

fn assert_same_tree<F: Scalar>(a: &Dendrogram<F>, b: &Dendrogram<F>, tol: f64, what: &str) {
    let (da, db) = (a.distances(), b.distances());
    assert_eq!(da.len(), db.len(), "{what}");
    let scale = da.iter().fold(0.0f64, |s, v| s.max(v.to_f64_lossless()));
    for (i, (p, q)) in da.iter().zip(&db).enumerate() {
        let e = rel_err(p.to_f64_lossless(), q.to_f64_lossless(), scale * 1e-12);
        assert!(e <= tol, "{what} merge {i}: {p} vs {q}");
    }
    let m = a.observations();
    for k in [1, 2, 3, 5, 8, 13, 40, m / 2, m - 1, m] {
        assert_eq!(a.cut_k(k).unwrap(), b.cut_k(k).unwrap(), "{what} k={k}");
    }
}

#[test]
fn lean_equals_matrix_on_embeddings_f64() {
    // m = 700 spans more than one block of rows of the matrix path
    let x = embeddings::<f64>(700, 48, 12, 1);
    let (matrix, lean) = both_paths(x.view(), None);
    assert_same_tree(&matrix, &lean, 1e-9, "f64");
    replay_check(x.view(), None, &matrix, 1e-10).unwrap();
    replay_check(x.view(), None, &lean, 1e-10).unwrap();
}

#[test]
fn lean_equals_matrix_on_embeddings_f32() {
    let x = embeddings::<f32>(400, 32, 8, 2);
    let (matrix, lean) = both_paths(x.view(), None);
    assert_same_tree(&matrix, &lean, 1e-4, "f32");
}

#[test]
fn lean_equals_matrix_with_weights() {
    let x = embeddings::<f64>(300, 16, 6, 3);
    let w = Array1::from_shape_fn(300, |i| 1.0 + (i % 4) as f64 * 0.5);
    let (matrix, lean) = both_paths(x.view(), Some(w.view()));
    assert_same_tree(&matrix, &lean, 1e-9, "weighted");
    replay_check(x.view(), Some(w.view()), &matrix, 1e-10).unwrap();
}

#[test]
fn auto_takes_the_lean_path_exactly_above_the_budget() {
    let x = embeddings::<f64>(120, 8, 5, 4);
    let bytes = Ward::matrix_bytes::<f64>(120).unwrap();
    let (matrix, lean) = both_paths(x.view(), None);
    let at_budget = Ward::new().memory_budget(bytes);
    assert_eq!(at_budget.resolve::<f64>(120), Ok(Strategy::Matrix));
    assert_eq!(at_budget.linkage(x.view()).unwrap(), matrix);
    let below = Ward::new().memory_budget(bytes - 1);
    assert_eq!(below.resolve::<f64>(120), Ok(Strategy::Lean));
    assert_eq!(below.linkage(x.view()).unwrap(), lean);
    // f32 halves the matrix: the same budget fits it again
    assert_eq!(below.resolve::<f32>(120), Ok(Strategy::Matrix));
}

#[test]
fn forced_matrix_over_budget_is_an_error() {
    let x = embeddings::<f64>(50, 4, 3, 5);
    let ward = Ward::new().strategy(Strategy::Matrix).memory_budget(1000);
    let err = ward.linkage(x.view()).unwrap_err();
    assert_eq!(
        err,
        Error::MemoryBudgetExceeded {
            observations: 50,
            needed: 50 * 49 / 2 * 8,
            budget: 1000
        }
    );
    assert!(err.to_string().contains("memory-lean"), "{err}");
}

#[test]
fn strategy_does_not_change_validation() {
    let mut x = Array2::<f64>::zeros((4, 2));
    x[[2, 1]] = f64::NAN;
    for s in [Strategy::Auto, Strategy::Matrix, Strategy::Lean] {
        assert_eq!(
            Ward::new().strategy(s).linkage(x.view()),
            Err(Error::NonFiniteValue { row: 2, column: 1 })
        );
    }
}

fn real_matrix(
    max_m: usize,
    max_d: usize,
) -> impl proptest::strategy::Strategy<Value = Array2<f64>> {
    (2..=max_m, 1..=max_d).prop_flat_map(|(m, d)| {
        proptest::collection::vec(-100.0f64..100.0, m * d)
            .prop_map(move |v| Array2::from_shape_vec((m, d), v).unwrap())
    })
}

proptest! {
    #[test]
    fn lean_and_matrix_heights_agree(x in real_matrix(40, 6)) {
        let (a, b) = both_paths(x.view(), None);
        let (a, b) = (a.distances(), b.distances());
        let scale = a.iter().fold(0.0f64, |s, &v| s.max(v));
        for (p, q) in a.iter().zip(&b) {
            prop_assert!(rel_err(*p, *q, scale * 1e-12) <= 1e-9, "{} vs {}", p, q);
        }
    }
}

#[test]
fn overflowing_heights_are_a_typed_error() {
    // finite values whose squared distances overflow f64: no inf in an Ok
    let x = ndarray::array![[1e200, 0.0], [-1e200, 0.0], [0.0, 1e200], [0.0, 0.0]];
    for s in [Strategy::Matrix, Strategy::Lean] {
        assert!(
            matches!(
                Ward::new().strategy(s).linkage(x.view()),
                Err(pinnersage::Error::HeightOverflow { .. })
            ),
            "{s:?}"
        );
    }
}
