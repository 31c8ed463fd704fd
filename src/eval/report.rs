//! Aggregation of the records into the paper's table: per-user averages over
//! the evaluated days, then the mean over users; for sampling methods the
//! mean and standard deviation of that figure over the seeds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::run::{Evaluation, Record};

/// Mean and spread over seeds of the per-user-averaged metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The method's name.
    pub method: String,
    /// Seeds aggregated (1 for deterministic methods).
    pub seeds: usize,
    /// Users and (user, day) pairs behind the row.
    pub users: usize,
    /// (User, day) pairs behind the row.
    pub user_days: usize,
    /// Means over seeds: relevance at the three τ, recall, R-Precision,
    /// reciprocal rank.
    pub mean: [f64; 6],
    /// Sample standard deviations over seeds (0 for one seed).
    pub sd: [f64; 6],
}

/// The table of one variant, optionally restricted to records a filter keeps.
///
/// # Example
/// See `examples/offline_eval.rs`.
pub fn summarise(ev: &Evaluation, excluded: bool, keep: impl Fn(&Record) -> bool) -> Vec<Row> {
    // (method, seed) -> user -> (sum of metrics, days)
    type PerUser = BTreeMap<u64, ([f64; 6], usize)>;
    let mut acc: BTreeMap<(usize, usize), PerUser> = BTreeMap::new();
    for r in ev
        .records
        .iter()
        .filter(|r| r.excluded == excluded && keep(r))
    {
        let e = acc
            .entry((r.method, r.seed))
            .or_default()
            .entry(r.user)
            .or_insert(([0.0; 6], 0));
        let v = [
            r.relevance[0],
            r.relevance[1],
            r.relevance[2],
            r.recall,
            r.r_precision,
            r.reciprocal_rank,
        ];
        for (acc, x) in e.0.iter_mut().zip(v) {
            *acc += x;
        }
        e.1 += 1;
    }
    let mut rows = Vec::new();
    for (mi, method) in ev.methods.iter().enumerate() {
        let mut per_seed: Vec<[f64; 6]> = Vec::new();
        let (mut users, mut days) = (0, 0);
        for ((m, _), per_user) in acc.range((mi, 0)..(mi + 1, 0)) {
            debug_assert_eq!(*m, mi);
            let mut mean = [0.0; 6];
            for (sum, n) in per_user.values() {
                for k in 0..6 {
                    mean[k] += sum[k] / *n as f64;
                }
            }
            for v in &mut mean {
                *v /= per_user.len() as f64;
            }
            users = per_user.len();
            days = per_user.values().map(|(_, n)| n).sum();
            per_seed.push(mean);
        }
        if per_seed.is_empty() {
            continue;
        }
        let s = per_seed.len() as f64;
        let mut mean = [0.0; 6];
        let mut sd = [0.0; 6];
        for k in 0..6 {
            mean[k] = per_seed.iter().map(|v| v[k]).sum::<f64>() / s;
            if per_seed.len() > 1 {
                let var = per_seed
                    .iter()
                    .map(|v| (v[k] - mean[k]).powi(2))
                    .sum::<f64>()
                    / (s - 1.0);
                sd[k] = var.sqrt();
            }
        }
        rows.push(Row {
            method: method.name(),
            seeds: per_seed.len(),
            users,
            user_days: days,
            mean,
            sd,
        });
    }
    rows
}

/// Lift of `v` over `base` in percent, `(v / base − 1)·100` (NaN-free: 0 when
/// `base` is 0).
pub fn lift(v: f64, base: f64) -> f64 {
    if base > 0.0 {
        (v / base - 1.0) * 100.0
    } else {
        0.0
    }
}

fn cell(mean: f64, sd: f64, seeds: usize) -> String {
    if seeds > 1 {
        format!("{mean:.4} ± {sd:.4}")
    } else {
        format!("{mean:.4}")
    }
}

/// The table as markdown: relevance at each τ, recall, their lifts over the
/// first row named "last item" (relevance at τ = `taus[lift_tau]`), R-Precision and
/// reciprocal rank; "± sd" over seeds for sampling methods. A `lift_tau`
/// outside `0..3` (which [`ProtocolBuilder::build`](crate::eval::ProtocolBuilder::build)
/// refuses) leaves the relevance lift column as "–".
pub fn markdown(rows: &[Row], taus: [f64; 3], lift_tau: usize) -> String {
    let base = rows
        .iter()
        .find(|r| r.method == "last item")
        .map(|r| r.mean);
    let lift_tau = (lift_tau < 3).then_some(lift_tau);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| method | rel@{} | rel@{} | rel@{} | recall | lift rel@{} | lift recall | R-Prec | RR |",
        taus[0],
        taus[1],
        taus[2],
        lift_tau.map_or("–".to_string(), |t| taus[t].to_string())
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let (lr, lc) = base.map_or((Some(0.0), 0.0), |b| {
            (
                lift_tau.map(|t| lift(r.mean[t], b[t])),
                lift(r.mean[3], b[3]),
            )
        });
        let lr = lr.map_or("–".to_string(), |v| format!("{v:+.1}%"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:+.1}% | {} | {} |",
            r.method,
            cell(r.mean[0], r.sd[0], r.seeds),
            cell(r.mean[1], r.sd[1], r.seeds),
            cell(r.mean[2], r.sd[2], r.seeds),
            cell(r.mean[3], r.sd[3], r.seeds),
            lr,
            lc,
            cell(r.mean[4], r.sd[4], r.seeds),
            cell(r.mean[5], r.sd[5], r.seeds),
        );
    }
    s
}

/// The table as CSV (means and standard deviations in separate columns).
pub fn csv(rows: &[Row], variant: &str) -> String {
    let mut s = String::from(
        "variant,method,seeds,users,user_days,rel0,rel1,rel2,recall,r_precision,reciprocal_rank,sd_rel0,sd_rel1,sd_rel2,sd_recall,sd_r_precision,sd_reciprocal_rank\n",
    );
    for r in rows {
        let _ = write!(
            s,
            "{variant},\"{}\",{},{},{}",
            r.method, r.seeds, r.users, r.user_days
        );
        for v in r.mean.iter().chain(&r.sd) {
            let _ = write!(s, ",{v}");
        }
        s.push('\n');
    }
    s
}
