//! Quickstart: Ward clustering of a seeded synthetic user's history.
//!
//! `cargo run --release --example quickstart`
//!
//! Builds a synthetic catalogue of L2-normalised item embeddings grouped in
//! topics, draws one user with a few interests over 90 days, clusters the
//! embeddings of the items the user engaged with and shows that the clusters
//! recover the interests.

use ndarray::Array2;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::ward;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

fn main() -> Result<(), pinnersage::Error> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
    let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng)?;
    let now = 1_700_000_000;
    let user = catalog.user(&UserConfig::default(), now, &mut rng)?;

    // one row per distinct item, weighted by how often the user engaged with it
    let mut items: Vec<usize> = user.actions.iter().map(|a| a.item).collect();
    items.sort_unstable();
    items.dedup();
    let counts: Vec<f32> = items
        .iter()
        .map(|&i| user.actions.iter().filter(|a| a.item == i).count() as f32)
        .collect();
    let mut x = Array2::<f32>::zeros((items.len(), catalog.dim()));
    for (mut row, &item) in x.rows_mut().into_iter().zip(&items) {
        row.assign(&catalog.embeddings().row(item));
    }
    let tree = ward::linkage_weighted(x.view(), ndarray::Array1::from(counts).view())?;
    let k = user.interests.len();
    let labels = tree.cut_k(k)?;

    println!(
        "user with {} actions on {} distinct items; true interests (topics): {:?}",
        user.actions.len(),
        items.len(),
        user.interests
    );
    println!("Ward merges: {}; cut into k = {k} clusters", tree.len());
    for cluster in 0..k {
        let members: Vec<usize> = (0..items.len()).filter(|&r| labels[r] == cluster).collect();
        let mut topics: Vec<usize> = members
            .iter()
            .map(|&r| catalog.topic_of(items[r]))
            .collect();
        topics.sort_unstable();
        topics.dedup();
        println!(
            "cluster {cluster}: {} items, topics {:?}, e.g. items {:?}",
            members.len(),
            topics,
            members
                .iter()
                .take(5)
                .map(|&r| items[r])
                .collect::<Vec<_>>()
        );
    }
    Ok(())
}
