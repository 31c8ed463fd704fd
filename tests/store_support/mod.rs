//! Small deterministic users for the store tests (no synthetic generator:
//! cheap in debug builds).

#![allow(dead_code)]

use pinnersage::{Action, InMemoryEmbeddings, PinnerSage, UserProfile};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

pub const NOW: i64 = 1_700_000_000;
pub const HOUR: i64 = 3_600;

/// 100 items in 8 dimensions, unit vectors around 5 directions.
pub fn source() -> InMemoryEmbeddings<usize, f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
    let mut x = ndarray::Array2::<f32>::zeros((100, 8));
    for i in 0..100 {
        let mut row: Vec<f32> = (0..8).map(|_| rng.random::<f32>() * 0.3).collect();
        row[i % 5] += 1.0;
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        for (j, v) in row.iter().enumerate() {
            x[[i, j]] = v / norm;
        }
    }
    InMemoryEmbeddings::with_row_ids(x).unwrap()
}

/// User `u`'s 20 actions, the last at `now`, one hour apart.
pub fn actions(u: u64, now: i64) -> Vec<Action<usize>> {
    (0..20u64)
        .map(|k| Action::new(((u * 7 + k * 13) % 100) as usize, now - (k as i64) * HOUR))
        .collect()
}

pub fn profile(config: &PinnerSage, u: u64, now: i64) -> UserProfile<usize, f32> {
    config.profile(&actions(u, now), &source(), now).unwrap()
}

/// A fresh path in the target's temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{name}-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}
