//! The paper's offline evaluation (Pal et al., KDD 2020, Table 3) on
//! synthetic multi-interest users or on a real log.
//!
//! ```text
//! cargo run --release --example offline_eval -- [--actions F --embeddings F]
//!     [--users N] [--window D] [--alpha A] [--alphas 1,2,4,8,16]
//!     [--alpha-per-action 0.05,0.1] [--seed N]
//!     [--seeds S] [--out DIR]
//! ```
//!
//! `--actions` is a CSV `user,item,timestamp` (Unix seconds, `item` a row of
//! `--embeddings`, an `.npy` f32/f64 matrix). Without it, seeded synthetic
//! users from `pinnersage::synthetic` are generated. Prints the tables (both
//! variants, and the results split by the number of Ward clusters in the
//! history) and writes `table.md`, `table.csv`, `records.csv` (one row per
//! user, day, method, seed and variant) and `lifts.svg` into `--out`
//! (default `target/offline_eval/`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ndarray::Array2;
use pinnersage::eval::{
    self, diagnostic::cluster_bucket, evaluate, summarise, ItemSpace, Log, Protocol,
};
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

mod shared;
use shared::{read_actions, read_npy};

/// Puts a record into a bucket of a diagnostic.
type Classifier = Box<dyn Fn(&eval::Record) -> String>;

struct Args {
    actions: Option<PathBuf>,
    embeddings: Option<PathBuf>,
    users: Option<usize>,
    window: u32,
    alpha: f64,
    alphas: Vec<f64>,
    per_action: Vec<f64>,
    seed: u64,
    seeds: usize,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        actions: None,
        embeddings: None,
        users: None,
        window: 90,
        alpha: pinnersage::DEFAULT_ALPHA,
        alphas: Vec::new(),
        per_action: Vec::new(),
        seed: 2020,
        seeds: 5,
        out: PathBuf::from("target/offline_eval"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String, what: &str| format!("{flag}: {v:?} is not {what}");
        match flag.as_str() {
            "--actions" => a.actions = Some(value()?.into()),
            "--embeddings" => a.embeddings = Some(value()?.into()),
            "--users" => {
                let v = value()?;
                a.users = Some(v.parse().map_err(|_| num(v, "a count"))?);
            }
            "--window" => {
                let v = value()?;
                a.window = v.parse().map_err(|_| num(v, "a number of days"))?;
            }
            "--alpha" => {
                let v = value()?;
                a.alpha = v.parse().map_err(|_| num(v, "a number"))?;
            }
            "--alphas" => {
                let v = value()?;
                a.alphas = v
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|_| num(v.clone(), "a list of numbers")))
                    .collect::<Result<_, _>>()?;
            }
            "--alpha-per-action" => {
                let v = value()?;
                a.per_action = v
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|_| num(v.clone(), "a list of numbers")))
                    .collect::<Result<_, _>>()?;
            }
            "--seed" => {
                let v = value()?;
                a.seed = v.parse().map_err(|_| num(v, "an integer"))?;
            }
            "--seeds" => {
                let v = value()?;
                a.seeds = v.parse().map_err(|_| num(v, "a count"))?;
            }
            "--out" => a.out = value()?.into(),
            "-h" | "--help" => {
                return Err("usage: offline_eval [--actions F --embeddings F] [--users N] [--window D] \
                            [--alpha A] [--alphas 1,2,4] [--alpha-per-action C,..] [--seed N] [--seeds S] [--out DIR]"
                    .into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.actions.is_some() != a.embeddings.is_some() {
        return Err("--actions and --embeddings go together".into());
    }
    Ok(a)
}

fn synthetic(users: usize, seed: u64) -> Result<(Array2<f64>, Log), String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let catalog_config = CatalogConfig::builder()
        .items(20_000)
        .dim(32)
        .topics(40)
        .spread(0.6)
        .build()
        .map_err(|e| e.to_string())?;
    let cat = Catalog::<f64>::generate(&catalog_config, &mut rng);
    let uc = UserConfig::builder()
        .actions(120)
        .window(120 * 86_400)
        .build()
        .map_err(|e| e.to_string())?;
    let now = 200 * 86_400;
    let mut t = Vec::new();
    for u in 0..users {
        let user = cat.user(&uc, now, &mut rng).map_err(|e| e.to_string())?;
        t.extend(user.actions.iter().map(|a| (u as u64, a.item, a.timestamp)));
    }
    let x = cat.into_embeddings();
    let n = x.nrows();
    Ok((x, Log::from_triples(t, n).map_err(|e| e.to_string())?))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let t0 = Instant::now();
    let (x, log, source) = match (&args.actions, &args.embeddings) {
        (Some(a), Some(e)) => {
            let x = read_npy(e)?;
            let log = read_actions(a, x.nrows(), args.users)?;
            (x, log, format!("{} + {}", a.display(), e.display()))
        }
        _ => {
            let users = args.users.unwrap_or(300);
            let (x, log) = synthetic(users, args.seed)?;
            (
                x,
                log,
                format!(
                    "synthetic: {users} users, 20000 items in 40 topics, 32-d, spread 0.6, 120 actions over 120 days, seed {}",
                    args.seed
                ),
            )
        }
    };
    let protocol = Protocol::builder()
        .window_days(args.window)
        .alpha(args.alpha)
        .alphas(args.alphas.clone())
        .alpha_per_action(args.per_action.clone())
        .seed(args.seed)
        .seeds(args.seeds)
        .build()
        .map_err(|e| e.to_string())?;
    let mut space = ItemSpace::new(x.view(), protocol.budget()).map_err(|e| {
        format!(
            "{}: {e}",
            args.embeddings
                .as_ref()
                .map_or("synthetic".into(), |p| p.display().to_string())
        )
    })?;
    let loaded = t0.elapsed();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} user-days (eta {eta})",
        )
        .map_err(|e| e.to_string())?,
    );
    let t1 = Instant::now();
    let ev = evaluate(&log, &mut space, &protocol, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let evaluated = t1.elapsed();

    let taus = protocol.taus();
    let lt = protocol.lift_tau();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Offline evaluation\n\nData: {source}; {} actions, {} users in the log, {} items.",
        log.len(),
        log.users().len(),
        space.len()
    );
    let _ = writeln!(
        md,
        "Protocol: window {} days, α = {}, budget {}, {} seeds; lifts over \"last item\" of relevance@{} and recall.\n",
        protocol.window_days(),
        protocol.alpha(),
        protocol.budget(),
        protocol.seeds(),
        taus[lt]
    );
    let mut csv_out = String::new();
    for (excluded, title) in [
        (false, "nothing excluded"),
        (true, "history items excluded"),
    ] {
        let rows = summarise(&ev, excluded, |_| true);
        let (u, d) = rows.first().map_or((0, 0), |r| (r.users, r.user_days));
        let _ = writeln!(md, "## Variant: {title} ({u} users, {d} user-days)\n");
        md.push_str(&eval::markdown(&rows, taus, lt));
        md.push('\n');
        let c = eval::csv(&rows, if excluded { "excluded" } else { "all" });
        if csv_out.is_empty() {
            csv_out = c;
        } else {
            csv_out.extend(c.lines().skip(1).map(|l| format!("{l}\n")));
        }
        if !excluded {
            write_svg(&args.out, &rows, lt)
                .unwrap_or_else(|e| eprintln!("lifts.svg not written: {e}"));
        }
    }
    // how many clusters each clustering method found (per user-day, nothing excluded)
    let _ = writeln!(
        md,
        "## Clusters per user-day (mean, median, max; nothing excluded, seed 0)\n"
    );
    let _ = writeln!(md, "| method | mean | median | max |\n|---|---|---|---|");
    for (mi, m) in ev.methods.iter().enumerate() {
        let mut c: Vec<usize> = ev
            .records
            .iter()
            .filter(|r| r.method == mi && !r.excluded && r.seed == 0 && r.method_clusters > 0)
            .map(|r| r.method_clusters)
            .collect();
        if c.is_empty() {
            continue;
        }
        c.sort_unstable();
        let mean = c.iter().sum::<usize>() as f64 / c.len() as f64;
        let _ = writeln!(
            md,
            "| {} | {mean:.2} | {} | {} |",
            m.name(),
            c[c.len() / 2],
            c[c.len() - 1]
        );
    }
    md.push('\n');
    // results split by per-user diagnostics computed from the history alone
    let mut key: Vec<String> = vec![
        "last item".into(),
        "decay average λ=0.01".into(),
        format!("PinnerSage α={}", protocol.alpha()),
        format!("top-3 medoids α={}", protocol.alpha()),
    ];
    key.extend(
        protocol
            .k_cuts()
            .iter()
            .take(1)
            .map(|k| format!("top-3 medoids, Ward k={k}")),
    );
    // spread terciles over the evaluated user-days
    let mut spreads: Vec<f64> = ev
        .records
        .iter()
        .filter(|r| r.method == 0 && !r.excluded)
        .map(|r| r.spread)
        .collect();
    spreads.sort_by(f64::total_cmp);
    let q = |f: f64| {
        spreads
            .get((f * spreads.len() as f64) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (q1, q2) = (q(1.0 / 3.0), q(2.0 / 3.0));
    let spread_bucket = move |s: f64| -> String {
        if s < q1 {
            format!("< {q1:.3}")
        } else if s < q2 {
            format!("{q1:.3}–{q2:.3}")
        } else {
            format!(">= {q2:.3}")
        }
    };
    let splits: Vec<(String, Vec<String>, Classifier)> = vec![
        (
            format!("Ward clusters of the history at α = {}", protocol.alpha()),
            ["1", "2-3", "4-7", "8+"].map(String::from).to_vec(),
            Box::new(|r: &eval::Record| cluster_bucket(r.clusters).to_string()),
        ),
        (
            "spread of the history (1 − ‖mean embedding‖, terciles)".to_string(),
            vec![
                spread_bucket(q1 - 1.0),
                spread_bucket(q1),
                spread_bucket(q2),
            ],
            Box::new(move |r: &eval::Record| spread_bucket(r.spread)),
        ),
    ];
    for (title, buckets, classify) in &splits {
        let _ = writeln!(md, "## Split by {title} (nothing excluded)\n");
        let _ = writeln!(
            md,
            "| bucket | users | user-days | method | rel@{} | recall | lift rel | lift recall | RR |",
            taus[lt]
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
        for bucket in buckets {
            let rows = summarise(&ev, false, |r| &classify(r) == bucket);
            let base = rows
                .iter()
                .find(|r| r.method == "last item")
                .map(|r| r.mean);
            for r in rows.iter().filter(|r| key.contains(&r.method)) {
                let (lr, lc) = base.map_or((0.0, 0.0), |b| {
                    (eval::lift(r.mean[lt], b[lt]), eval::lift(r.mean[3], b[3]))
                });
                let _ = writeln!(
                    md,
                    "| {bucket} | {} | {} | {} | {:.4} | {:.4} | {lr:+.1}% | {lc:+.1}% | {:.4} |",
                    r.users, r.user_days, r.method, r.mean[lt], r.mean[3], r.mean[5]
                );
            }
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "\nTime: loading {:.2} s, evaluation {:.2} s ({} user-days).",
        loaded.as_secs_f64(),
        evaluated.as_secs_f64(),
        ev.user_days
    );
    println!("{md}");

    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let write = |name: &str, text: &str| {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("table.md", &md)?;
    write("table.csv", &csv_out)?;
    let mut rec = String::from("user,day,method,seed,variant,rel0,rel1,rel2,recall,r_precision,reciprocal_rank,embeddings,method_clusters,clusters,spread\n");
    for r in &ev.records {
        let _ = writeln!(
            rec,
            "{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}",
            r.user,
            r.day,
            ev.methods[r.method].name(),
            r.seed,
            if r.excluded { "excluded" } else { "all" },
            r.relevance[0],
            r.relevance[1],
            r.relevance[2],
            r.recall,
            r.r_precision,
            r.reciprocal_rank,
            r.embeddings,
            r.method_clusters,
            r.clusters,
            r.spread
        );
    }
    write("records.csv", &rec)?;
    eprintln!(
        "wrote {}/{{table.md, table.csv, records.csv, lifts.svg}}",
        args.out.display()
    );
    Ok(())
}

/// A bar chart of the lifts over "last item" (relevance at the lift τ and
/// recall), one pair of bars per method, into `out/lifts.svg`.
fn write_svg(out: &Path, rows: &[eval::Row], lt: usize) -> Result<(), String> {
    use plotters::prelude::*;
    let base = rows
        .iter()
        .find(|r| r.method == "last item")
        .ok_or("no \"last item\" row")?
        .mean;
    let lifts: Vec<(String, f64, f64)> = rows
        .iter()
        .filter(|r| r.method != "last item")
        .map(|r| {
            (
                r.method.clone(),
                eval::lift(r.mean[lt], base[lt]),
                eval::lift(r.mean[3], base[3]),
            )
        })
        .collect();
    let lo = lifts
        .iter()
        .flat_map(|l| [l.1, l.2])
        .fold(0.0_f64, f64::min)
        - 10.0;
    let hi = lifts
        .iter()
        .flat_map(|l| [l.1, l.2])
        .fold(0.0_f64, f64::max)
        + 10.0;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join("lifts.svg");
    // one segment per bar: method × (relevance, recall)
    let n2 = 2 * lifts.len();
    let root = SVGBackend::new(&path, (1000, 120 + 16 * n2 as u32)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("lift over \"last item\" (%)", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(330)
        .build_cartesian_2d(lo..hi, (0..n2).into_segmented())
        .map_err(|e| err(&e))?;
    let names: Vec<String> = lifts.iter().map(|l| l.0.clone()).collect();
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(j) if *j < n2 => {
            let what = if j % 2 == 0 { "relevance" } else { "recall" };
            format!("{} · {what}", names[j / 2])
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .y_labels(n2)
        .y_label_formatter(&label)
        .x_desc("%")
        .draw()
        .map_err(|e| err(&e))?;
    let bars = lifts.iter().enumerate().flat_map(|(i, l)| {
        [(2 * i, l.1, BLUE), (2 * i + 1, l.2, RED)].map(|(j, v, colour)| {
            Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(j)),
                    (v, SegmentValue::Exact(j + 1)),
                ],
                colour.mix(0.8).filled(),
            )
        })
    });
    chart.draw_series(bars).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offline_eval: {e}");
            ExitCode::FAILURE
        }
    }
}
