//! Nearest-neighbour search: exact one query at a time, exact GEMM batches,
//! and the graph backends — `HnswIndex` (feature `hnsw`, over hnsw_rs) and
//! `UsearchIndex` (feature `usearch`) with the same parameters — on a seeded
//! clustered catalogue of 20 000 × 64.
//!
//! `cargo bench --features hnsw,usearch --bench ann`. Recall figures and the
//! 100 000-item measurement are in `examples/retrieval.rs`; the comparison
//! with hnswlib, faiss and usearch on the same data is
//! `scripts/compare_ann.py`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
use pinnersage::synthetic::{Catalog, CatalogConfig};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const ITEMS: usize = 20_000;
const QUERIES: usize = 64;
const K: usize = 10;

/// `ITEMS` catalogue rows and `QUERIES` held-out rows from the same topics.
fn data() -> (Array2<f32>, Array2<f32>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let config = CatalogConfig::builder()
        .items(ITEMS + QUERIES)
        .dim(64)
        .topics(100)
        .spread(0.5)
        .build()
        .expect("valid synthetic configuration");
    let all = Catalog::<f32>::generate(&config, &mut rng).into_embeddings();
    (
        all.slice(ndarray::s![..ITEMS, ..]).to_owned(),
        all.slice(ndarray::s![ITEMS.., ..]).to_owned(),
    )
}

fn bench_search(c: &mut Criterion) {
    let (items, queries) = data();
    let exact = ExactIndex::with_row_ids(items.clone(), Metric::Cosine).expect("finite data");
    let mut group = c.benchmark_group("ann_search");
    group.sample_size(10);
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function(BenchmarkId::new("exact_single", ITEMS), |b| {
        b.iter(|| {
            queries
                .rows()
                .into_iter()
                .map(|q| exact.search(q, K).expect("valid query").len())
                .sum::<usize>()
        })
    });
    group.bench_function(BenchmarkId::new("exact_batch", ITEMS), |b| {
        b.iter(|| {
            exact
                .search_batch(queries.view(), K)
                .expect("valid queries")
        })
    });
    #[cfg(feature = "hnsw")]
    {
        use pinnersage::ann::{HnswIndex, HnswParams};
        let hnsw = HnswIndex::with_row_ids(items.clone(), Metric::Cosine, HnswParams::default())
            .expect("valid parameters");
        group.bench_function(BenchmarkId::new("hnsw_single", ITEMS), |b| {
            b.iter(|| {
                queries
                    .rows()
                    .into_iter()
                    .map(|q| hnsw.search(q, K).expect("valid query").len())
                    .sum::<usize>()
            })
        });
    }
    #[cfg(feature = "usearch")]
    {
        use pinnersage::ann::{HnswParams, UsearchIndex};
        let index =
            UsearchIndex::with_row_ids(items.clone(), Metric::Cosine, HnswParams::default())
                .expect("valid parameters");
        group.bench_function(BenchmarkId::new("usearch_single", ITEMS), |b| {
            b.iter(|| {
                queries
                    .rows()
                    .into_iter()
                    .map(|q| index.search(q, K).expect("valid query").len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

/// HNSW construction on a smaller catalogue (one thread): the build runs the
/// same distance and layer search as the queries, `ef_construction` times
/// wider.
#[cfg(any(feature = "hnsw", feature = "usearch"))]
fn bench_build(c: &mut Criterion) {
    const BUILD_ITEMS: usize = 2_000;
    let (items, _) = data();
    let items = items.slice(ndarray::s![..BUILD_ITEMS, ..]).to_owned();
    let mut group = c.benchmark_group("ann_build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BUILD_ITEMS as u64));
    #[cfg(feature = "hnsw")]
    group.bench_function(BenchmarkId::new("hnsw_serial", BUILD_ITEMS), |b| {
        use pinnersage::ann::{HnswIndex, HnswParams};
        b.iter(|| {
            HnswIndex::with_row_ids(items.clone(), Metric::Cosine, HnswParams::default())
                .expect("valid parameters")
                .len()
        })
    });
    #[cfg(feature = "usearch")]
    for parallel in [false, true] {
        use pinnersage::ann::{HnswParams, UsearchIndex};
        let params = HnswParams::builder()
            .parallel_build(parallel)
            .build()
            .expect("valid parameters");
        let name = if parallel {
            "usearch_parallel"
        } else {
            "usearch_serial"
        };
        group.bench_function(BenchmarkId::new(name, BUILD_ITEMS), |b| {
            b.iter(|| {
                UsearchIndex::with_row_ids(items.clone(), Metric::Cosine, params)
                    .expect("valid parameters")
                    .len()
            })
        });
    }
    group.finish();
}

#[cfg(not(any(feature = "hnsw", feature = "usearch")))]
fn bench_build(_: &mut Criterion) {}

criterion_group!(benches, bench_search, bench_build);
criterion_main!(benches);
