//! How far an online update drifts from a recompute, by staleness, on a real
//! log (issue 11's measurement, with the store's staleness bound in view).
//!
//! ```text
//! cargo run --release --example update_drift -- actions.csv items.npy [--window-days D|none]
//! ```
//!
//! For every user with at least 40 actions: the last ~20 actions (cut at a
//! timestamp boundary, so a basket is never split) are "new"; the profile is
//! computed at the last old action, then [`UserProfile::update`]d with the
//! new ones at the last new action, and compared with a full profile at that
//! time: relative difference of total importance, cluster counts, and the
//! adjusted Rand index of the item memberships. Users are grouped by the
//! staleness of the update (time between the two `now`s): the profile store
//! refuses updates beyond its bound (2 days by default) and the batch
//! recomputes those users instead.

use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;
use pinnersage::{Action, InMemoryEmbeddings, PinnerSage, UserProfile};

const DAY: i64 = 86_400;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

/// Adjusted Rand index of two labelings of the same items.
fn ari(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let (mut ra, mut rb): (HashMap<usize, f64>, HashMap<usize, f64>) = Default::default();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&v| c2(v)).sum();
    let sa: f64 = ra.values().map(|&v| c2(v)).sum();
    let sb: f64 = rb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < 1e-12 {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

fn labels(p: &UserProfile<usize, f32>) -> BTreeMap<usize, usize> {
    let mut out = BTreeMap::new();
    for (k, c) in p.clusters().iter().enumerate() {
        for m in c.members() {
            out.insert(m.item, k);
        }
    }
    out
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: update_drift actions.csv items.npy [--window-days D|none]".into());
    }
    let window = match args.iter().position(|a| a == "--window-days") {
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("none") => None,
            Some(d) => Some(std::time::Duration::from_secs(
                d.parse::<u64>()
                    .map_err(|_| format!("--window-days: '{d}'"))?
                    * 86_400,
            )),
            None => return Err("--window-days needs a value".into()),
        },
        None => Some(pinnersage::DEFAULT_WINDOW),
    };
    let config = PinnerSage::builder()
        .window(window)
        .build()
        .map_err(|e| e.to_string())?;
    let matrix: Array2<f32> =
        ndarray_npy::read_npy(&args[1]).map_err(|e| format!("{}: {e}", args[1]))?;
    let source = InMemoryEmbeddings::with_row_ids(matrix).map_err(|e| e.to_string())?;
    let mut users: BTreeMap<u64, Vec<Action<usize>>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(&args[0]).map_err(|e| format!("{}: {e}", args[0]))?;
    for (r, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: {e}", args[0]))?;
        let f = |k: usize| rec.get(k).and_then(|v| v.parse::<i64>().ok());
        match (f(0), f(1), f(2)) {
            (Some(u), Some(i), Some(t)) if u >= 0 && i >= 0 => users
                .entry(u as u64)
                .or_default()
                .push(Action::new(i as usize, t)),
            _ => return Err(format!("{}:{}: bad row", args[0], r + 2)),
        }
    }
    // staleness buckets: (label, upper bound in seconds)
    let buckets = [
        ("<= 2 days", 2 * DAY),
        ("2-14 days", 14 * DAY),
        ("> 14 days", i64::MAX),
    ];
    let mut stats: Vec<(usize, Vec<f64>, Vec<f64>, usize)> =
        vec![(0, vec![], vec![], 0); buckets.len()];
    let mut skipped = 0;
    for actions in users.values_mut() {
        if actions.len() < 40 {
            continue;
        }
        actions.sort_by_key(|a| (a.timestamp, a.item));
        // the cut: the first timestamp of the last ~20 actions
        let cut = actions[actions.len() - 20].timestamp;
        let split = actions.partition_point(|a| a.timestamp < cut);
        if split == 0 {
            skipped += 1;
            continue;
        }
        let (old, new) = actions.split_at(split);
        let now1 = old[old.len() - 1].timestamp;
        let now2 = new[new.len() - 1].timestamp;
        let (Ok(mut updated), Ok(full)) = (
            config.profile(old, &source, now1),
            config.profile(actions, &source, now2),
        ) else {
            skipped += 1;
            continue;
        };
        if updated.update(new, &source, now2).is_err() {
            skipped += 1;
            continue;
        }
        let total =
            |p: &UserProfile<usize, f32>| p.clusters().iter().map(|c| c.importance()).sum::<f64>();
        let rel = (total(&updated) - total(&full)).abs() / total(&full).max(f64::MIN_POSITIVE);
        let (lu, lf) = (labels(&updated), labels(&full));
        let common: Vec<usize> = lf.keys().filter(|k| lu.contains_key(k)).copied().collect();
        let a: Vec<usize> = common.iter().map(|k| lu[k]).collect();
        let b: Vec<usize> = common.iter().map(|k| lf[k]).collect();
        let b_i = buckets
            .iter()
            .position(|(_, max)| now2 - now1 <= *max)
            .unwrap_or(buckets.len() - 1);
        let s = &mut stats[b_i];
        s.0 += 1;
        s.1.push(rel);
        s.2.push(ari(&a, &b));
        s.3 += usize::from(updated.len() != full.len());
    }
    println!(
        "window {}; users with >= 40 actions, last ~20 as the update ({skipped} skipped: nothing in the window or one basket)",
        window.map_or("none".to_string(), |w| format!("{} days", w.as_secs() / 86_400))
    );
    println!("staleness    users  |Δ total importance| rel: median  p90      ARI: median  p10   clusters differ");
    for ((label, _), (n, mut rel, mut aris, differ)) in buckets.iter().zip(stats) {
        println!(
            "{label:<11} {n:>6}  {:>12.2e} {:>9.2e}   {:>10.3} {:>6.3}   {differ}",
            quantile(&mut rel, 0.5),
            quantile(&mut rel, 0.9),
            quantile(&mut aris, 0.5),
            quantile(&mut aris, 0.1)
        );
    }
    Ok(())
}
