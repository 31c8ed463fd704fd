//! How far an online update drifts from a recompute on a real log, and
//! whether it matters for retrieval (issue 11's measurement).
//!
//! ```text
//! cargo run --release --features serde,store --example update_drift -- actions.csv items.npy \
//!     [--window-days D|none] [--alpha A] [--relevance]
//! ```
//!
//! For every user with at least 40 actions: the last ~20 actions (cut at a
//! timestamp boundary, so a basket is never split) are "new"; the profile is
//! computed at the last old action, then [`UserProfile::update`]d with the
//! new ones at the last new action, and compared with a full profile at that
//! time: relative difference of total importance, cluster counts, and the
//! adjusted Rand index of the item memberships, overall and by the staleness
//! of the update (time between the two `now`s: the profile store refuses
//! updates beyond its bound, 2 days by default). With the `serde` and
//! `store` features it also prints the mean size of a full profile in JSON
//! and in postcard.
//!
//! `--relevance`: the offline evaluation's question instead. Per user, the
//! last active day is the target day (its distinct items are the targets,
//! `now` its midnight, the history the actions before `now` in the window,
//! at least 40); the history's last ~20 actions are the update. The updated
//! and the recomputed profile are scored alike
//! ([`pinnersage::eval::score_profile`]: top-3 medoids, 400 candidates,
//! relevance at τ = 0.6/0.7/0.8 and recall).

use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;
use pinnersage::eval::{day_of, day_start, score_profile, ItemSpace, Protocol};
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

/// ARI of the memberships of the items both profiles hold.
fn ari_of(a: &UserProfile<usize, f32>, b: &UserProfile<usize, f32>) -> f64 {
    let (la, lb) = (labels(a), labels(b));
    let common: Vec<usize> = lb.keys().filter(|k| la.contains_key(k)).copied().collect();
    let x: Vec<usize> = common.iter().map(|k| la[k]).collect();
    let y: Vec<usize> = common.iter().map(|k| lb[k]).collect();
    ari(&x, &y)
}

fn total(p: &UserProfile<usize, f32>) -> f64 {
    p.clusters().iter().map(|c| c.importance()).sum()
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Splits actions sorted by `(timestamp, item)`: the last ~20 (from the first
/// timestamp among the last 20) are new; `None` if that leaves no old action.
type Split<'a> = (&'a [Action<usize>], &'a [Action<usize>]);

fn split(actions: &[Action<usize>]) -> Option<Split<'_>> {
    let cut = actions[actions.len().checked_sub(20)?].timestamp;
    let split = actions.partition_point(|a| a.timestamp < cut);
    (split > 0).then(|| actions.split_at(split))
}

#[derive(Default)]
struct Stats {
    users: usize,
    rel: Vec<f64>,
    aris: Vec<f64>,
    fewer: usize,
    more: usize,
}

impl Stats {
    fn add(&mut self, updated: &UserProfile<usize, f32>, full: &UserProfile<usize, f32>) {
        self.users += 1;
        self.rel
            .push((total(updated) - total(full)).abs() / total(full).max(f64::MIN_POSITIVE));
        self.aris.push(ari_of(updated, full));
        self.fewer += usize::from(updated.len() < full.len());
        self.more += usize::from(updated.len() > full.len());
    }

    fn line(&mut self, label: &str) {
        let max = self.rel.iter().copied().fold(0.0, f64::max);
        println!(
            "{label:<11} {:>6}  {:>10.2e} {:>9.2e} {:>9.2e}   {:>7.3} {:>6.3}   {:>6} {:>5}",
            self.users,
            quantile(&mut self.rel, 0.5),
            quantile(&mut self.rel, 0.9),
            max,
            quantile(&mut self.aris, 0.5),
            quantile(&mut self.aris, 0.1),
            self.fewer,
            self.more
        );
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: update_drift actions.csv items.npy [--window-days D|none] [--alpha A] [--relevance]".into());
    }
    let value = |flag: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).map_or("", String::as_str))
    };
    let window = match value("--window-days") {
        Some("none") => None,
        Some(d) => Some(std::time::Duration::from_secs(
            d.parse::<u64>()
                .map_err(|_| format!("--window-days: '{d}'"))?
                * 86_400,
        )),
        None => Some(pinnersage::DEFAULT_WINDOW),
    };
    let alpha = match value("--alpha") {
        Some(a) => a.parse::<f64>().map_err(|_| format!("--alpha: '{a}'"))?,
        None => pinnersage::DEFAULT_ALPHA,
    };
    let config = PinnerSage::builder()
        .window(window)
        .alpha(alpha)
        .build()
        .map_err(|e| e.to_string())?;
    let matrix: Array2<f32> =
        ndarray_npy::read_npy(&args[1]).map_err(|e| format!("{}: {e}", args[1]))?;
    let source = InMemoryEmbeddings::with_row_ids(matrix.clone()).map_err(|e| e.to_string())?;
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
    for actions in users.values_mut() {
        actions.sort_by_key(|a| (a.timestamp, a.item));
    }
    let window_label = window.map_or("none".to_string(), |w| {
        format!("{} days", w.as_secs() / 86_400)
    });
    if args.iter().any(|a| a == "--relevance") {
        return relevance(&config, &source, matrix, &users, &window_label);
    }

    // staleness buckets: (label, upper bound in seconds)
    let buckets = [
        ("<= 2 days", 2 * DAY),
        ("2-14 days", 14 * DAY),
        ("> 14 days", i64::MAX),
    ];
    let mut stats: Vec<Stats> = (0..buckets.len()).map(|_| Stats::default()).collect();
    let mut all = Stats::default();
    let mut skipped = 0;
    // summed only with `serde` and `store`
    #[cfg_attr(not(all(feature = "serde", feature = "store")), allow(unused_mut))]
    let (mut json_bytes, mut postcard_bytes, mut sized) = (0usize, 0usize, 0usize);
    for actions in users.values() {
        if actions.len() < 40 {
            continue;
        }
        let Some((old, new)) = split(actions) else {
            skipped += 1;
            continue;
        };
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
        #[cfg(all(feature = "serde", feature = "store"))]
        {
            json_bytes += serde_json::to_vec(&full).map_err(|e| e.to_string())?.len();
            postcard_bytes += postcard::to_stdvec(&full).map_err(|e| e.to_string())?.len();
            sized += 1;
        }
        let b = buckets
            .iter()
            .position(|(_, max)| now2 - now1 <= *max)
            .unwrap_or(buckets.len() - 1);
        stats[b].add(&updated, &full);
        all.add(&updated, &full);
    }
    println!(
        "window {window_label}, alpha {alpha}; users with >= 40 actions, last ~20 as the update ({skipped} skipped: nothing in the window or one basket)"
    );
    println!("staleness    users  |Δ total importance| rel: median  p90  max   ARI: median  p10   fewer  more clusters");
    for ((label, _), s) in buckets.iter().zip(&mut stats) {
        s.line(label);
    }
    all.line("all");
    if let (Some(json), Some(postcard)) = (
        json_bytes.checked_div(sized),
        postcard_bytes.checked_div(sized),
    ) {
        println!(
            "full profile size, mean over {sized} users: JSON {json} bytes, postcard {postcard} bytes"
        );
    }
    Ok(())
}

/// The `--relevance` mode (see the module docs).
fn relevance(
    config: &PinnerSage,
    source: &InMemoryEmbeddings<usize, f32>,
    matrix: Array2<f32>,
    users: &BTreeMap<u64, Vec<Action<usize>>>,
    window_label: &str,
) -> Result<(), String> {
    let mut space = ItemSpace::new(matrix.view(), 400).map_err(|e| e.to_string())?;
    let protocol = Protocol::default();
    let window = config.window_ticks().map_or(i64::MAX, |w| w as i64);
    let (mut up, mut re): (Vec<[f64; 4]>, Vec<[f64; 4]>) = (Vec::new(), Vec::new());
    let (mut aris, mut same_medoids, mut skipped) = (Vec::new(), 0usize, 0usize);
    for actions in users.values() {
        let Some(last) = actions.last() else { continue };
        let t = day_of(last.timestamp);
        let now = day_start(t).ok_or("timestamp overflow")?;
        let history: Vec<Action<usize>> = actions
            .iter()
            .copied()
            .filter(|a| a.timestamp < now && now - a.timestamp <= window)
            .collect();
        if history.len() < 40 {
            continue;
        }
        let mut targets: Vec<usize> = actions
            .iter()
            .filter(|a| a.timestamp >= now)
            .map(|a| a.item)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        let Some((old, new)) = split(&history) else {
            skipped += 1;
            continue;
        };
        let now1 = old[old.len() - 1].timestamp;
        let (Ok(mut updated), Ok(full)) = (
            config.profile(old, source, now1),
            config.profile(&history, source, now),
        ) else {
            skipped += 1;
            continue;
        };
        if updated.update(new, source, now).is_err() {
            skipped += 1;
            continue;
        }
        let score = |p: &UserProfile<usize, f32>, space: &mut ItemSpace| {
            score_profile(space, p, &targets, &protocol, 3)
                .map(|s| [s.relevance[0], s.relevance[1], s.relevance[2], s.recall])
                .map_err(|e| e.to_string())
        };
        up.push(score(&updated, &mut space)?);
        re.push(score(&full, &mut space)?);
        aris.push(ari_of(&updated, &full));
        let top = |p: &UserProfile<usize, f32>| -> Vec<usize> {
            p.clusters().iter().take(3).map(|c| *c.medoid()).collect()
        };
        same_medoids += usize::from(top(&updated) == top(&full));
    }
    let n = up.len();
    println!(
        "window {window_label}, alpha {}; users whose last day has >= 40 history actions: {n} ({skipped} skipped)",
        match config.cut() {
            pinnersage::CutRule::Threshold(a) => a.to_string(),
            other => format!("{other:?}"),
        }
    );
    println!("| profile | relevance τ=0.6 | τ=0.7 | τ=0.8 | recall |");
    println!("|---|---|---|---|---|");
    for (name, rows) in [("recomputed", &re), ("updated", &up)] {
        let m: Vec<f64> = (0..4)
            .map(|k| mean(&rows.iter().map(|r| r[k]).collect::<Vec<_>>()))
            .collect();
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} |",
            m[0], m[1], m[2], m[3]
        );
    }
    let worse = up.iter().zip(&re).filter(|(u, r)| u[2] < r[2]).count();
    let better = up.iter().zip(&re).filter(|(u, r)| u[2] > r[2]).count();
    println!(
        "relevance τ=0.8 per user: updated worse for {worse}, better for {better}, equal for {}; same top-3 medoids for {same_medoids}; ARI median {:.3}",
        n - worse - better,
        quantile(&mut aris, 0.5)
    );
    Ok(())
}
