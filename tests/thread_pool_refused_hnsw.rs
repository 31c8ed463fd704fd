//! The `hnsw` backend where rayon's global pool cannot start its threads
//! (a limit on address space or threads): `hnsw_rs` drops its graph through
//! a rayon parallel iterator, so without a guard every `HnswIndex` drop
//! panics there, serial build or not. One test per binary: the failed
//! global pool is process-wide.
#![cfg(all(feature = "hnsw", feature = "parallel"))]

mod common;

use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams, Metric};
use pinnersage::ndarray::Array2;

#[test]
fn an_hnsw_index_builds_and_drops_when_rayon_cannot_start_threads() {
    common::refuse_rayon_threads();

    let x = Array2::from_shape_fn((40, 4), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 + 0.01 * i as f32
    });
    let index = HnswIndex::with_row_ids(x.clone(), Metric::SquaredEuclidean, HnswParams::default());
    assert!(index.is_ok());
    // the drop of the graph is the parallel part
    drop(index);

    // a parallel build (rayon inside hnsw_rs) answers like the serial one,
    // and an index dropped on a thread of its own (which never asked
    // rayon before) does not panic either
    let parallel = HnswParams::builder().parallel_build(true).build().unwrap();
    let index = HnswIndex::with_row_ids(x.clone(), Metric::SquaredEuclidean, parallel).unwrap();
    let found = index.search(x.row(5), 1).unwrap();
    assert_eq!(found[0].id, 5);
    let dropped = std::thread::spawn(move || drop(index)).join();
    assert!(dropped.is_ok());
}
