//! Reproducers of issue 12 outside Ward and the indexes: medoids at extreme
//! magnitudes, importance functions at i64 extremes and with bad inputs,
//! blending non-finite distances, the condensed index, synthetic windows.

use std::collections::HashSet;

use ndarray::array;
use pinnersage::ann::{Metric, Neighbour};
use pinnersage::importance::{importance, Decay};
use pinnersage::medoid::medoid;
use pinnersage::retrieval::{blend, Blend, Candidates};
use pinnersage::ward::condensed_index;
use pinnersage::{DecayRate, Error, TimestampUnit};

#[test]
fn medoid_of_rows_whose_squares_overflow() {
    // every score was ∞, so row 0 won; the centroid 4e160/3 is nearest row 1
    let x = array![[0.0_f64], [1e160], [3e160]];
    assert_eq!(medoid(x.view(), None), Ok(1));
    // values near f64::MAX: the weighted sum overflowed
    let x = array![[f64::MAX], [f64::MAX / 2.0], [-f64::MAX / 4.0]];
    assert_eq!(medoid(x.view(), None), Ok(1));
    let w = array![1e300, 1.0, 1.0];
    assert_eq!(medoid(x.view(), Some(w.view())), Ok(0));
    // and squares that underflow: every score was 0, so row 0 won
    let x = array![[0.0_f64], [1e-170], [3e-170]];
    assert_eq!(medoid(x.view(), None), Ok(1));
    let x = array![[f32::MAX], [1.0], [3e38]];
    assert_eq!(medoid(x.view(), None), Ok(2));
}

#[test]
fn importance_functions_at_the_ends_of_i64() {
    let decay = Decay::new(DecayRate::PAPER, TimestampUnit::Seconds);
    for (t, now) in [
        (i64::MIN, i64::MAX),
        (i64::MIN, i64::MIN),
        (i64::MAX, i64::MAX),
        (0, i64::MAX),
    ] {
        let w = decay.weight_at(t, now).unwrap();
        assert!(w.is_finite() && (0.0..=1.0).contains(&w), "{t} {now}: {w}");
        let r = decay.roll_forward(1e308, t, now).unwrap();
        assert!(r.is_finite() && r >= 0.0);
    }
    assert_eq!(decay.weight(u64::MAX), 0.0);
    assert_eq!(decay.weight(0), 1.0);
    // future actions: typed errors
    assert!(matches!(
        decay.weight_at(i64::MAX, i64::MIN),
        Err(Error::ActionInFuture { .. })
    ));
    assert!(matches!(
        importance([0, i64::MAX], i64::MIN + 1, decay),
        Err(Error::ActionInFuture { index: 0, .. })
    ));
    assert!(matches!(
        decay.roll_forward(1.0, i64::MAX, i64::MIN),
        Err(Error::NowBeforeProfile { .. })
    ));
    // NaN, infinite and negative importances: typed errors (were NaN/∞ in an Ok)
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
        assert!(
            matches!(
                decay.roll_forward(bad, 0, 10),
                Err(Error::InvalidImportance { index: 0, .. })
            ),
            "{bad}"
        );
    }
    // many actions: the sum of weights ≤ 1 each stays finite
    let i = importance(std::iter::repeat_n(0, 100_000), 0, decay).unwrap();
    assert_eq!(i, 100_000.0);
}

#[test]
fn blend_refuses_non_finite_distances() {
    let nb = |id: u32, distance: f32| Neighbour { id, distance };
    let good = [nb(1, 0.0), nb(2, 0.5)];
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let worse = [nb(3, 0.1), nb(4, bad)];
        let lists = [
            Candidates {
                cluster: 0,
                medoid: &1,
                importance: 1.0,
                neighbours: &good,
            },
            Candidates {
                cluster: 1,
                medoid: &3,
                importance: 1.0,
                neighbours: &worse,
            },
        ];
        for method in [Blend::RoundRobin, Blend::Proportional] {
            for metric in [
                Metric::Cosine,
                Metric::InnerProduct,
                Metric::SquaredEuclidean,
            ] {
                let got = blend(&lists, method, metric, 10, &HashSet::new());
                assert!(
                    matches!(
                        got,
                        Err(Error::NonFiniteDistance {
                            list: 1,
                            position: 1,
                            ..
                        })
                    ),
                    "{bad} {method:?} {metric:?}: {got:?}"
                );
            }
        }
    }
    // the largest finite distances give finite scores
    let far = [nb(5, f32::MAX), nb(6, -f32::MAX)];
    let lists = [Candidates {
        cluster: 0,
        medoid: &5,
        importance: 1.0,
        neighbours: &far,
    }];
    for metric in [
        Metric::Cosine,
        Metric::InnerProduct,
        Metric::SquaredEuclidean,
    ] {
        let recs = blend(&lists, Blend::RoundRobin, metric, 10, &HashSet::new()).unwrap();
        assert!(recs.iter().all(|r| r.score.is_finite()));
    }
}

#[test]
fn condensed_index_checks_its_precondition_in_every_build() {
    // was usize::MAX in release (a debug_assert only)
    assert_eq!(
        condensed_index(3, 0, 0),
        Err(Error::InvalidPair { m: 3, i: 0, j: 0 })
    );
    for (m, i, j) in [(3, 2, 1), (3, 1, 3), (0, 0, 1), (usize::MAX, usize::MAX, 0)] {
        assert!(condensed_index(m, i, j).is_err(), "{m} {i} {j}");
    }
    assert_eq!(condensed_index(4, 0, 1), Ok(0));
    assert_eq!(condensed_index(4, 2, 3), Ok(5));
    // the position of the last pair of a huge m overflows usize: an error
    assert!(condensed_index(usize::MAX, usize::MAX - 2, usize::MAX - 1).is_err());
    let m = 1usize << 20;
    assert_eq!(condensed_index(m, m - 2, m - 1), Ok(m * (m - 1) / 2 - 1));
}

#[test]
fn synthetic_windows_at_the_bottom_of_i64() {
    use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
    use rand::SeedableRng;
    let config = CatalogConfig::builder()
        .items(20)
        .dim(2)
        .topics(4)
        .build()
        .unwrap();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let catalog = Catalog::<f32>::generate(&config, &mut rng);
    let user = UserConfig::builder().build().unwrap();
    // was a panic ("cannot sample empty range") and, at i64::MIN, actions
    // after `now`
    for now in [i64::MIN + 5, i64::MIN] {
        assert!(matches!(
            catalog.user(&user, now, &mut rng),
            Err(Error::InvalidSyntheticConfig(_))
        ));
    }
}

#[cfg(feature = "hnsw")]
#[test]
fn hnsw_over_a_column_major_matrix_finds_every_row() {
    use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams};
    let a = ndarray::Array2::from_shape_fn((3, 40), |(j, i)| ((i * 7 + j * 3) % 11) as f32);
    let t = a.t().to_owned();
    assert!(!t.is_standard_layout());
    let index = HnswIndex::with_row_ids(t.clone(), Metric::SquaredEuclidean, HnswParams::default())
        .unwrap();
    for (r, row) in t.rows().into_iter().enumerate() {
        let hits = index.search(row, 1).unwrap();
        assert_eq!(hits[0].distance, 0.0, "row {r}");
        assert_eq!(t.row(hits[0].id), row);
    }
}
