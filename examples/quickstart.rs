//! PinnerSage in a minute: one synthetic user with a few interests, their
//! profile, and what it recovered.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! Builds a seeded synthetic catalogue (10 000 L2-normalised 64-d items in 50
//! topics), one user with 4 interests and 200 actions over 90 days, computes
//! the user's profile with the default configuration (α =
//! `pinnersage::DEFAULT_ALPHA`, λ = 0.01 per day, 90-day window) and prints
//! each interest cluster next to the topics the user was given. It ends with
//! recommendations: up to 3 medoids sampled in proportion to importance query
//! an exact cosine index over the catalogue (the same index the profile read
//! its embeddings from), and the lists are blended round-robin, without the
//! items the user already engaged with; each recommendation names the medoid
//! that retrieved it.
//!
//! To run it on your own data, replace the synthetic catalogue by your item
//! embeddings (`ExactIndex::new(ids, matrix, Metric::Cosine)`) and the
//! synthetic user by the user's `Action`s; the rest is unchanged. The README
//! walks through a store, online updates and HNSW.

use std::collections::HashSet;

use pinnersage::ann::{ExactIndex, Metric};
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::retrieval::Recommender;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{PinnerSage, SECONDS_PER_DAY};

fn main() -> Result<(), pinnersage::Error> {
    // 1. data: a seeded synthetic catalogue and one user with known interests
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
    let now = 1_700_000_000; // the caller's clock: Unix seconds
    let user = catalog.user(&UserConfig::default(), now, &mut rng)?;
    // one exact cosine index over the catalogue: the profile reads its items'
    // embeddings from it, and retrieval queries it
    let index = ExactIndex::with_row_ids(catalog.embeddings().to_owned(), Metric::Cosine)?;

    // 2. the profile: Ward clusters of the user's items, a medoid and an
    //    importance per cluster (the defaults are the paper's choices)
    let config = PinnerSage::default();
    let profile = config.profile(&user.actions, &index, now)?;

    println!(
        "catalogue: {} items in {} topics, dimension {}",
        catalog.len(),
        catalog.topics(),
        catalog.dim()
    );
    println!(
        "user: {} actions over 90 days on topics {:?} (most engaged first)",
        user.actions.len(),
        user.interests
    );
    println!(
        "profile: {} interest clusters (cut {:?}, λ = {} per day)\n",
        profile.len(),
        config.cut(),
        config.decay().lambda()
    );
    for (rank, cluster) in profile.clusters().iter().enumerate() {
        let medoid = *cluster.medoid();
        let days_ago = (now - cluster.last_action()) as f64 / SECONDS_PER_DAY as f64;
        println!(
            "#{rank}  medoid item {medoid:>5} (topic {:>2})  importance {:>7.3}  \
             {:>3} items / {:>3} actions  last action {days_ago:>4.1} days ago",
            catalog.topic_of(medoid),
            cluster.importance(),
            cluster.size(),
            cluster.action_count(),
        );
        let sample: Vec<String> = cluster
            .members()
            .iter()
            .take(6)
            .map(|m| format!("{} (topic {})", m.item, catalog.topic_of(m.item)))
            .collect();
        let pure = cluster
            .members()
            .iter()
            .all(|m| catalog.topic_of(m.item) == catalog.topic_of(medoid));
        println!(
            "     members: {}{}  [{}]",
            sample.join(", "),
            if cluster.size() > 6 { ", ..." } else { "" },
            if pure {
                "all from one topic"
            } else {
                "mixed topics"
            }
        );
    }
    let history = profile.history();
    println!(
        "\nused {} actions; skipped {} outside the window, {} on unknown items",
        history.used_actions, history.outside_window, history.unknown_actions
    );

    // 3. retrieval: sample up to 3 medoids by importance, query the index,
    //    blend, and leave out what the user has already seen
    let seen: HashSet<usize> = user.actions.iter().map(|a| a.item).collect();
    let recommender = Recommender::builder().n(12).build()?;
    let recs = recommender.recommend(&profile, &index, &seen, &mut rng)?;
    let medoids: HashSet<usize> = recs.iter().map(|r| r.medoid).collect();
    println!(
        "\n{} recommendations from {} of the {} medoids (up to 3 sampled by importance), \
         round-robin blend, {} seen items excluded:",
        recs.len(),
        medoids.len(),
        profile.len(),
        seen.len()
    );
    for r in &recs {
        println!(
            "  item {:>5} (topic {:>2})  cosine {:.3}  because you engaged with item {:>5} \
             (cluster #{}, topic {})",
            r.item,
            catalog.topic_of(r.item),
            r.score,
            r.medoid,
            r.cluster,
            catalog.topic_of(r.medoid)
        );
    }
    println!(
        "\nnext: the README's \"From actions to recommendations\" (store, online update, HNSW) and \
         `cargo run --release --features hnsw,serde --example recommendation_service`"
    );
    Ok(())
}
