//! Batch throughput: profiles per second over the synthetic mix of issue 11
//! (seeded users, history lengths log-uniform in 50–1000 actions over 90
//! days, d = 256, f32, default configuration), sequential and on rayon's
//! threads, plus a single 200-action user.
//!
//! `cargo bench --features parallel --bench batch`. The Python/scipy loop on
//! the same users: `cargo run --release --features parallel,store --example
//! batch -- --users 1000 --dump DIR`, then `python3 scripts/profile_loop.py
//! --actions DIR/actions.csv --embeddings DIR/items.npy --rust
//! target/release/examples/batch`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pinnersage::batch::{profiles, user_rng};
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
use rand::RngExt;

const NOW: i64 = 1_700_000_000;

/// A user id and its actions.
type User = (u64, Vec<Action<usize>>);

/// The catalogue and `n` users of the mix (the `batch` example's generator).
fn mix(n: u64) -> (InMemoryEmbeddings<usize, f32>, Vec<User>) {
    let config = CatalogConfig::builder()
        .items(10_000)
        .dim(256)
        .topics(50)
        .spread(0.5)
        .build()
        .unwrap();
    let catalog = Catalog::<f32>::generate(&config, &mut user_rng(1, "catalog"));
    let users = (0..n)
        .map(|u| {
            let mut rng = user_rng(1, &u);
            let lo = 50f64.ln();
            let len = (lo + rng.random::<f64>() * (1000f64.ln() - lo))
                .exp()
                .round() as usize;
            let user = UserConfig::builder().actions(len).build().unwrap();
            (u, catalog.user(&user, NOW, &mut rng).unwrap().actions)
        })
        .collect();
    let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned()).unwrap();
    (source, users)
}

fn bench(c: &mut Criterion) {
    let (source, users) = mix(256);
    let config = PinnerSage::default();
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(users.len() as u64));
    group.bench_function(BenchmarkId::new("mix", "sequential"), |b| {
        b.iter(|| {
            profiles(&config, users.iter().cloned(), &source, NOW)
                .map(|(_, p)| black_box(p.map(|p| p.len()).unwrap_or(0)))
                .sum::<usize>()
        })
    });
    #[cfg(feature = "parallel")]
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let chunk = core::num::NonZeroUsize::new(64).unwrap();
        group.bench_function(BenchmarkId::new("mix-parallel", threads), |b| {
            b.iter(|| {
                pool.install(|| {
                    pinnersage::batch::par_profiles(
                        &config,
                        users.iter().cloned(),
                        &source,
                        NOW,
                        chunk,
                    )
                    .map(|(_, p)| black_box(p.map(|p| p.len()).unwrap_or(0)))
                    .sum::<usize>()
                })
            })
        });
    }
    let single = users
        .iter()
        .find(|(_, a)| (190..=210).contains(&a.len()))
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| users[0].1.clone());
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("single", single.len()), |b| {
        b.iter(|| black_box(config.profile(&single, &source, NOW).unwrap().len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
