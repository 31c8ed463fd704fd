//! One test per validation rule of the Ward entry points.

use ndarray::{array, Array1, Array2};
use pinnersage::ward::{linkage, linkage_condensed, linkage_weighted, observations_for_len};
use pinnersage::Error;

#[test]
fn empty_matrix_is_refused() {
    let x = Array2::<f64>::zeros((0, 3));
    assert_eq!(linkage(x.view()), Err(Error::EmptyInput));
}

#[test]
fn zero_columns_are_refused() {
    let x = Array2::<f32>::zeros((4, 0));
    assert_eq!(linkage(x.view()), Err(Error::ZeroDimension { rows: 4 }));
}

#[test]
fn nan_is_refused_with_its_position() {
    let x = array![[0.0, 1.0], [2.0, f64::NAN], [1.0, 1.0]];
    assert_eq!(
        linkage(x.view()),
        Err(Error::NonFiniteValue { row: 1, column: 1 })
    );
}

#[test]
fn infinity_is_refused_with_its_position() {
    let x = array![[0.0_f32, 1.0], [2.0, 3.0], [f32::NEG_INFINITY, 1.0]];
    assert_eq!(
        linkage(x.view()),
        Err(Error::NonFiniteValue { row: 2, column: 0 })
    );
    let err = linkage(x.view()).unwrap_err().to_string();
    assert!(err.contains("row 2") && err.contains("column 0"), "{err}");
}

#[test]
fn non_positive_weights_are_refused() {
    let x = array![[0.0], [1.0], [2.0]];
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let w = array![1.0, bad, 1.0];
        match linkage_weighted(x.view(), w.view()) {
            Err(Error::InvalidWeight { row: 1, .. }) => {}
            other => panic!("weight {bad}: {other:?}"),
        }
    }
}

#[test]
fn weights_summing_past_the_type_are_refused() {
    let x = array![[0.0], [1.0], [2.0]];
    let w = array![f64::MAX, f64::MAX / 2.0, 1.0];
    assert_eq!(
        linkage_weighted(x.view(), w.view()),
        Err(Error::WeightSumOverflow)
    );
    let w32 = array![f32::MAX, 1e38, 1.0];
    assert_eq!(
        linkage_weighted(x.mapv(|v| v as f32).view(), w32.view()),
        Err(Error::WeightSumOverflow)
    );
    // large but summable weights are accepted
    let w = array![f64::MAX / 4.0, f64::MAX / 4.0, 1.0];
    assert!(linkage_weighted(x.view(), w.view()).is_ok());
}

#[test]
fn weight_length_mismatch_is_refused() {
    let x = array![[0.0], [1.0], [2.0]];
    let w = array![1.0, 1.0];
    assert_eq!(
        linkage_weighted(x.view(), w.view()),
        Err(Error::WeightLengthMismatch {
            rows: 3,
            weights: 2
        })
    );
}

#[test]
fn condensed_length_fitting_no_m_is_refused() {
    for len in [2usize, 4, 5, 7, 11] {
        let d = Array1::<f64>::ones(len);
        assert_eq!(
            linkage_condensed(d.view()),
            Err(Error::CondensedLength { len })
        );
    }
    assert_eq!(observations_for_len(0), Ok(1));
    assert_eq!(observations_for_len(1), Ok(2));
    assert_eq!(observations_for_len(4950), Ok(100));
}

#[test]
fn negative_or_non_finite_dissimilarity_is_refused() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let d = array![1.0, bad, 2.0];
        match linkage_condensed(d.view()) {
            Err(Error::InvalidDissimilarity { index: 1, .. }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn invalid_threshold_is_refused() {
    let tree = linkage(array![[0.0], [1.0]].view()).unwrap();
    for bad in [-0.5, f64::NAN, f64::INFINITY] {
        match tree.cut(bad) {
            Err(Error::InvalidThreshold { .. }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn invalid_cluster_count_is_refused() {
    let tree = linkage(array![[0.0], [1.0], [3.0]].view()).unwrap();
    for k in [0, 4] {
        assert_eq!(
            tree.cut_k(k),
            Err(Error::InvalidClusterCount { k, observations: 3 })
        );
        assert!(tree.threshold_for_k(k).is_err());
    }
}

#[test]
fn a_single_row_gives_an_empty_dendrogram_and_one_cluster() {
    let tree = linkage(array![[1.0_f32, 2.0, 3.0]].view()).unwrap();
    assert!(tree.is_empty());
    assert_eq!(tree.observations(), 1);
    assert_eq!(tree.cut(0.0).unwrap(), vec![0]);
    assert_eq!(tree.cut_k(1).unwrap(), vec![0]);
    assert_eq!(tree.to_scipy().nrows(), 0);
    let condensed = linkage_condensed(Array1::<f64>::zeros(0).view()).unwrap();
    assert!(condensed.is_empty());
    assert_eq!(condensed.observations(), 1);
}
