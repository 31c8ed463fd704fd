//! Ward linkage end to end: m×256 embeddings in, full dendrogram out.
//!
//! `cargo bench --bench ward`. For ratios against scipy and fastcluster on the
//! same data in the same run, see `scripts/compare_ward.py`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pinnersage::synthetic::{Catalog, CatalogConfig};
use pinnersage::ward;
use pinnersage::Scalar;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const DIM: usize = 256;

fn data<F: Scalar>(m: usize) -> ndarray::Array2<F> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let config = CatalogConfig {
        items: m,
        dim: DIM,
        topics: 16.min(m),
        spread: 0.5,
    };
    Catalog::<F>::generate(&config, &mut rng)
        .expect("valid synthetic configuration")
        .into_embeddings()
}

fn bench_linkage(c: &mut Criterion) {
    let mut group = c.benchmark_group("ward_linkage");
    group.sample_size(10);
    for m in [100usize, 500, 2000] {
        let x64 = data::<f64>(m);
        group.bench_with_input(BenchmarkId::new("f64", m), &x64, |b, x| {
            b.iter(|| ward::linkage(x.view()).expect("finite data"))
        });
        let x32 = data::<f32>(m);
        group.bench_with_input(BenchmarkId::new("f32", m), &x32, |b, x| {
            b.iter(|| ward::linkage(x.view()).expect("finite data"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_linkage);
criterion_main!(benches);
