//! Writes the fixture that `python/tests/test_profiles.py` checks the Python
//! bindings against: profiles computed by the Rust crate directly.
//!
//! ```sh
//! cargo run --release -p pinnersage-python --example make_fixture -- python/tests/fixtures
//! ```
//!
//! Files: `embeddings.txt` (the catalogue, one row per item, `f64` in Rust's
//! shortest round-trip decimal), `actions.csv` (`user,item,timestamp`) and
//! `expected_{config}_{dtype}.csv`, one row per (user, cluster):
//! `user,rank,medoid,importance,size,actions,last_action,members` with
//! `members` as space-separated `item:count`. The `f32` profiles use the
//! catalogue rounded to `f32` (`numpy`'s `astype(np.float32)`).

use std::fmt::Write as _;
use std::path::PathBuf;

use ndarray::Array2;
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, InMemoryEmbeddings, PinnerSage, Scalar, TimeUnit, UserProfile};

const NOW: i64 = 1_700_000_000;

fn configs() -> pinnersage::Result<Vec<(&'static str, PinnerSage)>> {
    Ok(vec![
        ("default", PinnerSage::default()),
        (
            "k3",
            PinnerSage::builder()
                .target_clusters(3)
                .lambda(0.05, TimeUnit::Hour)
                .window(None)
                .build()?,
        ),
        (
            "alpha1",
            PinnerSage::builder()
                .alpha(1.0)
                .window_days(61)
                .max_history(Some(40))
                .max_clusters(Some(4))
                .build()?,
        ),
    ])
}

fn rows<F: Scalar + std::fmt::Display>(user: i64, p: &UserProfile<i64, F>, out: &mut String) {
    for (rank, c) in p.clusters().iter().enumerate() {
        let members: Vec<String> = c
            .members()
            .iter()
            .map(|m| format!("{}:{}", m.item, m.actions))
            .collect();
        let _ = writeln!(
            out,
            "{user},{rank},{},{:?},{},{},{},{}",
            c.medoid(),
            c.importance(),
            c.size(),
            c.action_count(),
            c.last_action(),
            members.join(" ")
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "python/tests/fixtures".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(14);
    let catalog_config = CatalogConfig::builder()
        .items(400)
        .dim(16)
        .topics(12)
        .build()?;
    let catalog = Catalog::<f64>::generate(&catalog_config, &mut rng);
    let emb: Array2<f64> = catalog.embeddings().to_owned();
    let emb32: Array2<f32> = emb.mapv(|v| v as f32);

    let mut text = String::new();
    for row in emb.rows() {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(text, "{}", cells.join(" "));
    }
    std::fs::write(dir.join("embeddings.txt"), text)?;

    // 40 users; every fifth also acts on an item the catalogue lacks
    let mut histories: Vec<Vec<Action<i64>>> = Vec::new();
    let mut log = String::from("user,item,timestamp\n");
    for u in 0..40_i64 {
        let cfg = UserConfig::builder()
            .interests(1 + (u as usize % 4))
            .actions(20 + 3 * u as usize)
            .window(60 * 86_400)
            .repeat_probability(0.2)
            .build()?;
        let user = catalog.user(&cfg, NOW, &mut rng)?;
        let mut actions: Vec<Action<i64>> = user
            .actions
            .iter()
            .map(|a| Action::new(a.item as i64, a.timestamp))
            .collect();
        if u % 5 == 0 {
            actions.push(Action::new(10_000 + u, NOW - 3_600));
        }
        for a in &actions {
            let _ = writeln!(log, "{u},{},{}", a.item, a.timestamp);
        }
        histories.push(actions);
    }
    std::fs::write(dir.join("actions.csv"), log)?;

    let ids: Vec<i64> = (0..emb.nrows() as i64).collect();
    let src64 = InMemoryEmbeddings::new(ids.clone(), emb)?;
    let src32 = InMemoryEmbeddings::new(ids, emb32)?;
    for (name, config) in configs()? {
        let mut out64 =
            String::from("user,rank,medoid,importance,size,actions,last_action,members\n");
        let mut out32 = out64.clone();
        for (u, h) in histories.iter().enumerate() {
            rows(u as i64, &config.profile(h, &src64, NOW)?, &mut out64);
            rows(u as i64, &config.profile(h, &src32, NOW)?, &mut out32);
        }
        std::fs::write(dir.join(format!("expected_{name}_f64.csv")), out64)?;
        std::fs::write(dir.join(format!("expected_{name}_f32.csv")), out32)?;
    }
    println!("fixture written to {}", dir.display());
    Ok(())
}
