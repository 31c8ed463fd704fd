//! A harness, not a tutorial: how the default merge threshold α was chosen.
//!
//! Profiles seeded synthetic users (L2-normalised 64-d embeddings from
//! `pinnersage::synthetic`) for a range of α and scores each cut against the
//! users' true interests with the adjusted Rand index (ARI, over distinct
//! items: 1 = interests recovered exactly). Also prints the mean number of
//! clusters found against the true number.
//!
//! ```text
//! cargo run --release --example alpha_sweep [users] [spread] [actions] [interests]
//! ```

use std::collections::HashMap;

use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{InMemoryEmbeddings, PinnerSage};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let users: usize = args.get(1).map_or(Ok(200), |s| s.parse())?;
    let spread: f64 = args.get(2).map_or(Ok(0.5), |s| s.parse())?;
    let user_config = UserConfig::builder()
        .actions(args.get(3).map_or(Ok(200), |s| s.parse())?)
        .interests(args.get(4).map_or(Ok(4), |s| s.parse())?)
        .build()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
    let catalog_config = CatalogConfig::builder().spread(spread).build()?;
    let catalog = Catalog::<f32>::generate(&catalog_config, &mut rng);
    let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned())?;
    let now = 1_700_000_000;
    let histories: Vec<_> = (0..users)
        .map(|_| catalog.user(&user_config, now, &mut rng))
        .collect::<Result<_, _>>()?;
    println!(
        "{users} users, {} interests and {} actions each, spread {spread}",
        user_config.interests(),
        user_config.actions()
    );
    println!("{:>8} {:>8} {:>10}", "alpha", "ARI", "clusters");
    for alpha in [
        0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0, 32.0,
    ] {
        let config = PinnerSage::builder().alpha(alpha).window(None).build()?;
        let mut ari_sum = 0.0;
        let mut clusters = 0usize;
        for user in &histories {
            let profile = config.profile(&user.actions, &source, now)?;
            let mut found = Vec::new();
            let mut truth = Vec::new();
            for (label, cluster) in profile.clusters().iter().enumerate() {
                for m in cluster.members() {
                    found.push(label);
                    truth.push(catalog.topic_of(m.item));
                }
            }
            ari_sum += adjusted_rand_index(&found, &truth);
            clusters += profile.len();
        }
        println!(
            "{alpha:>8} {:>8.4} {:>10.2}",
            ari_sum / users as f64,
            clusters as f64 / users as f64
        );
    }
    Ok(())
}

/// Adjusted Rand index of two labelings of the same points (1 for fewer
/// than two points: there is no pair to disagree on).
fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    if a.len() < 2 {
        return 1.0;
    }
    let n = a.len() as f64;
    let pairs = |k: f64| k * (k - 1.0) / 2.0;
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let mut rows: HashMap<usize, f64> = HashMap::new();
    let mut cols: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&k| pairs(k)).sum();
    let sum_a: f64 = rows.values().map(|&k| pairs(k)).sum();
    let sum_b: f64 = cols.values().map(|&k| pairs(k)).sum();
    let expected = sum_a * sum_b / pairs(n);
    let max = (sum_a + sum_b) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}
