//! Ward linkage end to end: m×256 embeddings in, full dendrogram out.
//!
//! `cargo bench --bench ward`. For ratios against scipy and fastcluster on the
//! same data in the same run, see `scripts/compare_ward.py`.
//!
//! Groups: `ward_linkage` (default strategy, i.e. the matrix path at these
//! sizes, f64 and f32, m up to 5000 as in the performance targets),
//! `ward_lean` (the memory-lean path) and `ward_floor` (the full Gram matrix
//! `X·Xᵀ` with the same GEMM kernel plus one pass, the floor the matrix path
//! is measured against). Filter with e.g. `cargo bench --bench ward -- 2000`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pinnersage::synthetic::{Catalog, CatalogConfig};
use pinnersage::ward::{self, Strategy, Ward};
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

const SIZES: [usize; 4] = [100, 500, 2000, 5000];

fn bench_linkage(c: &mut Criterion) {
    let mut group = c.benchmark_group("ward_linkage");
    group.sample_size(10);
    for m in SIZES {
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

fn bench_lean(c: &mut Criterion) {
    let mut group = c.benchmark_group("ward_lean");
    group.sample_size(10);
    let lean = Ward::new().strategy(Strategy::Lean);
    for m in SIZES {
        let x64 = data::<f64>(m);
        group.bench_with_input(BenchmarkId::new("f64", m), &x64, |b, x| {
            b.iter(|| lean.linkage(x.view()).expect("finite data"))
        });
    }
    group.finish();
}

fn bench_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("ward_floor");
    group.sample_size(10);
    for m in SIZES {
        let x64 = data::<f64>(m);
        group.bench_with_input(BenchmarkId::new("f64", m), &x64, |b, x| {
            b.iter(|| {
                let g = x.dot(&x.t());
                g.iter().fold(f64::INFINITY, |a, &v| a.min(v))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_linkage, bench_lean, bench_floor);
criterion_main!(benches);
