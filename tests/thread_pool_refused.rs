//! Where rayon's global pool cannot start its threads (a limit on address
//! space or threads), every parallel path of the crate runs on the calling
//! thread with the same results instead of panicking.
//!
//! rayon panics at each use of a global pool whose building failed. This
//! binary makes the building fail on purpose (a spawn handler that refuses
//! every thread) before the crate's first parallel call, so it holds one
//! test: the failed pool is process-wide. The crate's one probe of the pool
//! panics inside rayon and catches it: the panic message printed below the
//! test name is expected.
#![cfg(feature = "parallel")]

mod common;

use core::num::NonZeroUsize;

use pinnersage::batch::{par_map, par_pipeline, par_profiles, profiles};
use pinnersage::ndarray::Array2;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::ward::Ward;
use pinnersage::{InMemoryEmbeddings, PinnerSage};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const NOW: i64 = 1_700_000_000;

#[test]
fn parallel_paths_run_serially_when_rayon_cannot_start_threads() {
    common::refuse_rayon_threads();
    // rayon itself now panics at every use of its global pool
    assert!(std::panic::catch_unwind(rayon::current_num_threads).is_err());

    // the matrix path's parallel distance pass: equal to the serial one
    let x = Array2::from_shape_fn((300, 8), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 + 0.01 * i as f64
    });
    let serial = Ward::new().linkage(x.view()).unwrap();
    let parallel = Ward::new().parallel(true).linkage(x.view()).unwrap();
    assert_eq!(serial, parallel);

    // the batch helpers: the same results, in order
    let chunk = NonZeroUsize::new(3).unwrap();
    let squares: Vec<u64> = par_map(1..=7u64, chunk, |x| x * x).collect();
    assert_eq!(squares, [1, 4, 9, 16, 25, 36, 49]);
    let total = par_pipeline(1..=7u64, chunk, |x| x * x, |s| s.sum::<u64>());
    assert_eq!(total, 140);

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
    let users: Vec<(u64, Vec<_>)> = (0..6u64)
        .map(|u| {
            (
                u,
                catalog
                    .user(&UserConfig::default(), NOW, &mut rng)
                    .unwrap()
                    .actions,
            )
        })
        .collect();
    let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned()).unwrap();
    let config = PinnerSage::default();
    let sequential: Vec<_> = profiles(&config, users.clone(), &source, NOW).collect();
    let parallel: Vec<_> = par_profiles(&config, users.clone(), &source, NOW, chunk).collect();
    assert_eq!(parallel, sequential);
    let actions: Vec<_> = users.iter().map(|(_, a)| a.clone()).collect();
    let many = config.profiles(&actions, &source, NOW);
    for (one, (_, a)) in many.iter().zip(&users) {
        assert_eq!(
            one.as_ref().ok(),
            config.profile(a, &source, NOW).as_ref().ok()
        );
    }
}
