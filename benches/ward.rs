//! Ward linkage end to end: m×256 embeddings in, full dendrogram out.
//!
//! `cargo bench --features bench-internals --bench ward` (the floor and
//! kernel groups use the hidden `bench-internals` hooks). For ratios against scipy and fastcluster on the
//! same data in the same run, see `scripts/compare_ward.py`.
//!
//! Groups: `ward_linkage` (default strategy, i.e. the matrix path at these
//! sizes, f64 and f32, m up to 5000 as in the performance targets),
//! `ward_lean` (the memory-lean path, f64 and f32), `ward_floor` (the full Gram matrix
//! `X·Xᵀ` with the product kernel the matrix path uses on this CPU plus one
//! pass, the floor the matrix path is measured against) and `gram_kernel`
//! (that full Gram matrix with each product kernel: the AVX-512 register
//! tiles, where the CPU has them, and ndarray's GEMM). Filter with
//! e.g. `cargo bench --bench ward -- 2000`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pinnersage::__bench::Kernel;
use pinnersage::synthetic::{Catalog, CatalogConfig};
use pinnersage::ward::{self, Strategy, Ward};
use pinnersage::Scalar;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const DIM: usize = 256;

fn data<F: Scalar>(m: usize) -> ndarray::Array2<F> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let config = CatalogConfig::builder()
        .items(m)
        .dim(DIM)
        .topics(16.min(m))
        .spread(0.5)
        .build()
        .expect("valid synthetic configuration");
    Catalog::<F>::generate(&config, &mut rng).into_embeddings()
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
        let x32 = data::<f32>(m);
        group.bench_with_input(BenchmarkId::new("f32", m), &x32, |b, x| {
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
                let g = pinnersage::__bench::gram(x.view());
                g.iter().fold(f64::INFINITY, |a, &v| a.min(v))
            })
        });
    }
    group.finish();
}

fn bench_gram_kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("gram_kernel");
    group.sample_size(10);
    // a tile kernel the CPU lacks would silently run the gemm crate: skip it
    for m in [220, 2000] {
        let x64 = data::<f64>(m);
        let x32 = data::<f32>(m);
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
            let id = |t: &str| BenchmarkId::new(format!("{t}/m={m}"), kernel.name());
            group.bench_with_input(id("f64"), &x64, |b, x| {
                b.iter(|| pinnersage::__bench::gram_using(x.view(), kernel))
            });
            group.bench_with_input(id("f32"), &x32, |b, x| {
                b.iter(|| pinnersage::__bench::gram_using(x.view(), kernel))
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_linkage,
    bench_lean,
    bench_floor,
    bench_gram_kernels
);
criterion_main!(benches);
