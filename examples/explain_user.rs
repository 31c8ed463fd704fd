//! Pictures of one user's interests: the Ward dendrogram cut at α and the
//! items on a 2-D map, plus a table of the clusters.
//!
//! ```text
//! cargo run --release --features plot --example explain_user -- \
//!     [--actions F --embeddings F --user ID [--names F]] \
//!     [--alpha A | --clusters K] [--now T] [--window DAYS] [--max-leaves N] \
//!     [--seed N] [--out DIR]
//! ```
//!
//! Without `--actions`, one seeded synthetic user with four interests. With
//! it, user `ID` of a CSV `user,item,timestamp` (Unix seconds, `item` a row of
//! `--embeddings`, an `.npy` f32/f64 matrix; the readers `offline_eval` uses),
//! its profile as of `--now` (default: the user's last action). `--names` is a
//! CSV `item,…,description` (or `name`) whose names label the leaves; the
//! online-retail `items.csv` is one. Writes `dendrogram.svg`, `clusters.svg`
//! and `profile.md` into `--out` (default `target/explain_user/`) and prints
//! `profile.md`. Run it again with another `--alpha` to compare cuts.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::Array2;
use pinnersage::plot::{ClusterMap, DendrogramPlot, UserView};
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, CutRule, InMemoryEmbeddings, PinnerSage, DEFAULT_ALPHA};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

mod shared;
use shared::{read_actions, read_names, read_npy};

struct Args {
    actions: Option<PathBuf>,
    embeddings: Option<PathBuf>,
    user: Option<u64>,
    names: Option<PathBuf>,
    cut: CutRule,
    now: Option<i64>,
    window: u32,
    max_leaves: usize,
    seed: u64,
    out: PathBuf,
}

const USAGE: &str = "usage: explain_user [--actions F --embeddings F --user ID [--names F]] \
    [--alpha A | --clusters K] [--now T] [--window DAYS] [--max-leaves N] [--seed N] [--out DIR]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        actions: None,
        embeddings: None,
        user: None,
        names: None,
        cut: CutRule::Threshold(DEFAULT_ALPHA),
        now: None,
        window: 90,
        max_leaves: 60,
        seed: 7,
        out: PathBuf::from("target/explain_user"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String, what: &str| format!("{flag}: {v:?} is not {what}");
        match flag.as_str() {
            "--actions" => a.actions = Some(value()?.into()),
            "--embeddings" => a.embeddings = Some(value()?.into()),
            "--names" => a.names = Some(value()?.into()),
            "--user" => {
                let v = value()?;
                a.user = Some(v.parse().map_err(|_| num(v, "a user id"))?);
            }
            "--alpha" => {
                let v = value()?;
                a.cut = CutRule::Threshold(v.parse().map_err(|_| num(v, "a number"))?);
            }
            "--clusters" => {
                let v = value()?;
                a.cut = CutRule::Clusters(v.parse().map_err(|_| num(v, "a count"))?);
            }
            "--now" => {
                let v = value()?;
                a.now = Some(v.parse().map_err(|_| num(v, "a Unix time in seconds"))?);
            }
            "--window" => {
                let v = value()?;
                a.window = v.parse().map_err(|_| num(v, "a number of days"))?;
            }
            "--max-leaves" => {
                let v = value()?;
                a.max_leaves = v.parse().map_err(|_| num(v, "a count"))?;
            }
            "--seed" => {
                let v = value()?;
                a.seed = v.parse().map_err(|_| num(v, "an integer"))?;
            }
            "--out" => a.out = value()?.into(),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let real = [
        a.actions.is_some(),
        a.embeddings.is_some(),
        a.user.is_some(),
    ];
    if real.iter().any(|&r| r) && !real.iter().all(|&r| r) {
        return Err("--actions, --embeddings and --user go together".into());
    }
    if a.names.is_some() && a.actions.is_none() {
        return Err("--names needs --actions, --embeddings and --user".into());
    }
    Ok(a)
}

/// One user: the item embeddings, the actions, names per item and `now`.
struct User {
    label: String,
    x: Array2<f64>,
    actions: Vec<Action<usize>>,
    names: Vec<String>,
    now: i64,
}

fn synthetic(seed: u64) -> Result<User, String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let catalog_config = CatalogConfig::builder()
        .items(5_000)
        .dim(32)
        .topics(20)
        .spread(0.8)
        .build()
        .map_err(|e| e.to_string())?;
    let catalog = Catalog::<f64>::generate(&catalog_config, &mut rng);
    let now = 1_700_000_000;
    let user_config = UserConfig::builder()
        .actions(80)
        .build()
        .map_err(|e| e.to_string())?;
    let user = catalog
        .user(&user_config, now, &mut rng)
        .map_err(|e| e.to_string())?;
    let names = (0..catalog.embeddings().nrows())
        .map(|i| format!("item {i} · topic {}", catalog.topic_of(i)))
        .collect();
    Ok(User {
        label: format!(
            "synthetic user (seed {seed}, interests in topics {:?})",
            user.interests
        ),
        x: catalog.into_embeddings(),
        actions: user.actions,
        names,
        now,
    })
}

fn real(args: &Args) -> Result<User, String> {
    let (Some(a), Some(e), Some(id)) = (&args.actions, &args.embeddings, args.user) else {
        return Err(USAGE.into());
    };
    let x = read_npy(e)?;
    let log = read_actions(a, x.nrows(), None)?;
    let actions = log
        .users()
        .iter()
        .find(|(u, _)| *u == id)
        .map(|(_, actions)| actions.clone())
        .ok_or_else(|| format!("{}: no action of user {id}", a.display()))?;
    let names = match &args.names {
        Some(path) => read_names(path, x.nrows())?,
        None => vec![String::new(); x.nrows()],
    };
    let last = actions.iter().map(|a| a.timestamp).max().unwrap_or(0);
    Ok(User {
        label: format!("user {id}"),
        x,
        actions,
        names,
        now: args.now.unwrap_or(last),
    })
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let user = if args.actions.is_some() {
        real(&args)?
    } else {
        synthetic(args.seed)?
    };
    let now = args.now.unwrap_or(user.now);
    let config = PinnerSage::builder()
        .cut(args.cut)
        .window_days(args.window)
        .build()
        .map_err(|e| format!("configuration: {e}"))?;
    let embeddings_name = args
        .embeddings
        .as_ref()
        .map_or("embeddings".to_string(), |p| p.display().to_string());
    let source =
        InMemoryEmbeddings::with_row_ids(user.x).map_err(|e| format!("{embeddings_name}: {e}"))?;
    let t0 = Instant::now();
    let view = UserView::compute(&config, &user.actions, &source, now)
        .map_err(|e| format!("{}: {e}", user.label))?;
    let view_time = t0.elapsed();
    let name = |item: &usize| match user.names.get(*item) {
        Some(n) if !n.is_empty() => n.clone(),
        _ => format!("item {item}"),
    };
    let cut = match args.cut {
        CutRule::Threshold(alpha) => format!("α = {alpha}"),
        CutRule::Clusters(k) => format!("at most {k} clusters"),
    };
    let title = format!(
        "{}: {} distinct items, {} interest{} ({cut})",
        user.label,
        view.items().len(),
        view.profile().len(),
        if view.profile().len() == 1 { "" } else { "s" }
    );
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let t1 = Instant::now();
    let dendrogram = DendrogramPlot::builder()
        .max_leaves(args.max_leaves)
        .title(title.clone())
        .build()
        .map_err(|e| format!("--max-leaves: {e}"))?;
    let tree = view.labelled_tree(name);
    dendrogram
        .write(&tree, &args.out.join("dendrogram.svg"))
        .map_err(|e| e.to_string())?;
    ClusterMap::builder()
        .title(title)
        .build()
        .map_err(|e| e.to_string())?
        .write(&view, name, &args.out.join("clusters.svg"))
        .map_err(|e| e.to_string())?;
    let picture_time = t1.elapsed();
    let table = profile_table(&view, &user.label, &cut, now, &name);
    std::fs::write(args.out.join("profile.md"), &table)
        .map_err(|e| format!("{}: {e}", args.out.join("profile.md").display()))?;
    // a closed pipe (`| head`) is not an error of this program
    let _ = writeln!(std::io::stdout().lock(), "{table}");
    eprintln!(
        "wrote {}/{{dendrogram.svg, clusters.svg, profile.md}} (view: {:.1} ms, both pictures: {:.1} ms)",
        args.out.display(),
        view_time.as_secs_f64() * 1e3,
        picture_time.as_secs_f64() * 1e3
    );
    Ok(())
}

/// `profile.md`: one row per cluster, most important first.
fn profile_table(
    view: &UserView<usize, f64>,
    label: &str,
    cut: &str,
    now: i64,
    name: &dyn Fn(&usize) -> String,
) -> String {
    let p = view.profile();
    let h = p.history();
    let mut s = String::new();
    let _ = writeln!(s, "# Interests of {label}\n");
    let _ = writeln!(
        s,
        "{} interest{} as of {now} ({cut}; {} of {} actions used, {} distinct items).\n",
        p.len(),
        if p.len() == 1 { "" } else { "s" },
        h.used_actions,
        h.actions,
        view.items().len()
    );
    let _ = writeln!(
        s,
        "| # | medoid | importance | items | actions | a few members |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    let cell = |t: String| t.replace('|', "\\|");
    for (rank, c) in p.clusters().iter().enumerate() {
        // members other than the medoid, most actions first, then by id
        let mut members: Vec<_> = c
            .members()
            .iter()
            .filter(|m| m.item != *c.medoid())
            .collect();
        members.sort_by(|a, b| b.actions.cmp(&a.actions).then(a.item.cmp(&b.item)));
        let mut few: Vec<String> = members
            .iter()
            .take(3)
            .map(|m| cell(name(&m.item)))
            .collect();
        if members.len() > 3 {
            few.push(format!("… {} more", members.len() - 3));
        }
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {} | {} | {} |",
            rank + 1,
            cell(name(c.medoid())),
            c.importance(),
            c.size(),
            c.action_count(),
            few.join("; ")
        );
    }
    s
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("explain_user: {e}");
            ExitCode::FAILURE
        }
    }
}
