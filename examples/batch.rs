//! The daily batch as a command: every user's profile from an action log,
//! written to a profile store, then (optionally) a serving demo.
//!
//! ```text
//! cargo run --release --features parallel,store --example batch -- \
//!     [--actions actions.csv --embeddings items.npy] [--now <ts|last-day>] \
//!     [--db profiles.redb] [--jsonl out.jsonl] [--users N] [--seed S] \
//!     [--chunk N] [--threads N] [--window-days D|none] [--alpha A] [--serve-demo]
//! ```
//!
//! * `--actions`: a CSV `user,item,timestamp` with that header (the offline
//!   evaluation's format: user a `u64`, item the row of `--embeddings`,
//!   timestamp Unix seconds). **It must be sorted (grouped) by user, in
//!   ascending order**, so that only one user's actions are in memory at a
//!   time (`sort -t, -k1,1n -s`; keep the header first). An unsorted log is
//!   refused before anything is computed, naming the line: accepting one
//!   would mean holding the whole log in memory (about 24 bytes per action
//!   plus a map entry per user) to group it.
//! * `--embeddings`: an `n × d` `.npy` of `f32`; item `i` is row `i`. Items
//!   outside it are skipped and counted.
//! * Without `--actions`, a seeded synthetic log: `--users` users (default
//!   10 000) with history lengths log-uniform in 50–1000 actions over 90
//!   days, 256-d unit embeddings of 10 000 items in 50 topics.
//! * `--now`: the time the profiles refer to; `last-day` (default) is the end
//!   (exclusive midnight, UTC) of the last day in the log. A `--now` before the
//!   log's last action is refused before anything is computed (a profile
//!   refuses actions after its `now`): cut the log at `now` first.
//! * The first pass reads the CSV once to validate it (one clear line and exit
//!   status 2 on bad input: file, line, what), count the users and find the
//!   last timestamp; the second pass computes profiles on rayon's threads,
//!   `--chunk` users (default 256) in flight, and writes them to `--db` (one
//!   transaction per chunk) and/or `--jsonl`.
//! * The summary: users, profiles written, users failed (the first reasons),
//!   skipped actions, profiles/s, p50/p99 per-user latency, peak memory
//!   (VmHWM), bytes per profile as stored (postcard, without the per-user
//!   configuration) and as JSON.
//! * `--alpha A`: the cut (paper convention), default the crate's
//!   `DEFAULT_ALPHA` (`scripts/profile_loop.py` passes its own, so both sides
//!   of the comparison cut at the same α).
//! * `--compact`: compact the database file after the batch (redb leaves
//!   free pages behind after many transactions).
//! * `--dump DIR`: write the synthetic log as `DIR/actions.csv` and
//!   `DIR/items.npy` and exit (the input of `scripts/profile_loop.py`).
//! * `--serve-demo`: reads three users back from `--db`, folds in three new
//!   actions each (the items nearest their top medoid, an hour after `now`)
//!   with a read-update-write transaction, and prints recommendations with
//!   the medoid behind each.

use std::collections::HashSet;

/// The batch allocates and frees a few buffers per user (the distance matrix,
/// the product kernel's packing), thousands of times: mimalloc, a binary's
/// choice like any allocator, took 4–6% less CPU time than the system's
/// malloc on the synthetic mix (AMD EPYC, one thread). Built with `no_thp`:
/// with transparent huge pages its fresh 2 MiB pages cost up to 0.2 s of
/// kernel time per run (zeroing, compaction) on a machine whose memory
/// another process had just churned. The library itself allocates through
/// whatever allocator the binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use pinnersage::ann::{AnnIndex, ExactIndex, Metric};
use pinnersage::batch::{group_by_user, par_pipeline, seen_items, user_rng};
use pinnersage::retrieval::Recommender;
use pinnersage::store::ProfileStore;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, EmbeddingSource, InMemoryEmbeddings, PinnerSage, UserProfile};
use rand::RngExt;

type Profile = UserProfile<usize, f32>;
type Store = ProfileStore<u64, usize, f32>;
/// The users' actions, streamed.
type Users = Box<dyn Iterator<Item = (u64, Vec<Action<usize>>)> + Send>;
/// A user, its number of actions, its profile, the nanoseconds it took.
type Computed = (u64, usize, pinnersage::Result<Profile>, u64);

const DAY: i64 = 86_400;

struct Args {
    actions: Option<PathBuf>,
    embeddings: Option<PathBuf>,
    now: Option<String>,
    db: Option<PathBuf>,
    jsonl: Option<PathBuf>,
    users: u64,
    seed: u64,
    chunk: NonZeroUsize,
    threads: Option<usize>,
    window_days: Option<u32>,
    alpha: Option<f64>,
    serve_demo: bool,
    dump: Option<PathBuf>,
    compact: bool,
}

const USAGE: &str =
    "usage: batch [--actions actions.csv --embeddings items.npy] [--now <ts|last-day>] \
[--db profiles.redb] [--jsonl out.jsonl] [--users N] [--seed S] [--chunk N] [--threads N] \
[--window-days D|none] [--alpha A] [--serve-demo] [--compact] [--dump DIR]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        actions: None,
        embeddings: None,
        now: None,
        db: None,
        jsonl: None,
        users: 10_000,
        seed: 1,
        chunk: NonZeroUsize::new(256).ok_or("chunk")?,
        threads: None,
        window_days: Some(90),
        alpha: None,
        serve_demo: false,
        dump: None,
        compact: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: '{v}' is not a non-negative integer"))
        };
        match flag.as_str() {
            "--actions" => args.actions = Some(value("--actions")?.into()),
            "--embeddings" => args.embeddings = Some(value("--embeddings")?.into()),
            "--now" => args.now = Some(value("--now")?),
            "--db" => args.db = Some(value("--db")?.into()),
            "--jsonl" => args.jsonl = Some(value("--jsonl")?.into()),
            "--users" => args.users = number("--users", value("--users")?)?,
            "--seed" => args.seed = number("--seed", value("--seed")?)?,
            "--chunk" => {
                let n = number("--chunk", value("--chunk")?)?;
                args.chunk = usize::try_from(n)
                    .ok()
                    .and_then(NonZeroUsize::new)
                    .ok_or("--chunk: must be at least 1")?;
            }
            "--threads" => {
                let n = number("--threads", value("--threads")?)?;
                args.threads = Some(usize::try_from(n).map_err(|_| "--threads: too large")?);
            }
            "--window-days" => {
                let v = value("--window-days")?;
                args.window_days = if v == "none" {
                    None
                } else {
                    Some(v.parse().map_err(|_| {
                        format!("--window-days: '{v}' is not a number of days or 'none'")
                    })?)
                };
            }
            "--alpha" => {
                let v = value("--alpha")?;
                args.alpha = Some(
                    v.parse()
                        .map_err(|_| format!("--alpha: '{v}' is not a number"))?,
                );
            }
            "--serve-demo" => args.serve_demo = true,
            "--compact" => args.compact = true,
            "--dump" => args.dump = Some(value("--dump")?.into()),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    if args.actions.is_some() != args.embeddings.is_some() {
        return Err("--actions and --embeddings go together".to_string());
    }
    if args.serve_demo && args.db.is_none() {
        return Err("--serve-demo reads the profiles back from --db".to_string());
    }
    Ok(args)
}

/// What the first pass over the CSV learnt.
struct Scan {
    users: u64,
    actions: u64,
    last: i64,
}

/// The log's rows, parsed at the byte level: the three columns are plain
/// integers, so each line is split at its two commas and the digits are
/// accumulated with checked arithmetic (no UTF-8 validation, no string
/// records: the `csv` crate's `StringRecord` path was ~9% of the process on
/// the synthetic mix). Empty lines are skipped; quoted fields are not
/// supported (the offline-evaluation format never quotes).
struct Rows {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
}

impl Rows {
    /// Opens `path` and checks its header.
    fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut rows = Rows {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::with_capacity(64),
            line: 0,
        };
        let header = rows
            .next_line()
            .map_err(|e| format!("{}:1: {e}", path.display()))?
            .unwrap_or_default();
        let fields: Vec<&str> = header.split(',').map(str::trim).collect();
        if fields != ["user", "item", "timestamp"] {
            return Err(format!(
                "{}:1: the header must be 'user,item,timestamp', found '{header}'",
                path.display()
            ));
        }
        Ok(rows)
    }

    /// The next line with its end of line removed, as text (the header only).
    fn next_line(&mut self) -> std::io::Result<Option<String>> {
        Ok(self
            .next_len()?
            .map(|n| String::from_utf8_lossy(&self.buf[..n]).into_owned()))
    }

    /// Reads the next non-empty line into `buf`; its length without the end
    /// of line.
    fn next_len(&mut self) -> std::io::Result<Option<usize>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let mut n = self.buf.len();
            while n > 0 && matches!(self.buf[n - 1], b'\n' | b'\r') {
                n -= 1;
            }
            if n > 0 {
                return Ok(Some(n));
            }
        }
    }
}

/// A non-negative decimal integer of ASCII digits (surrounding spaces
/// allowed), or `None` (empty, another byte, or above `u64::MAX`).
fn parse_u64(field: &[u8]) -> Option<u64> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return None;
    }
    field.iter().try_fold(0u64, |acc, &c| {
        let digit = c.checked_sub(b'0').filter(|&d| d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A decimal integer with an optional sign, or `None`.
fn parse_i64(field: &[u8]) -> Option<i64> {
    let field = field.trim_ascii();
    match field.split_first() {
        Some((b'-', rest)) => {
            let v = parse_u64(rest)?;
            0i64.checked_sub_unsigned(v)
        }
        Some((b'+', rest)) => i64::try_from(parse_u64(rest)?).ok(),
        _ => i64::try_from(parse_u64(field)?).ok(),
    }
}

impl Iterator for Rows {
    /// One row: `(user, item, timestamp)`, or a message naming file, line
    /// and field.
    type Item = Result<(u64, usize, i64), String>;

    fn next(&mut self) -> Option<Self::Item> {
        let n = match self.next_len() {
            Ok(Some(n)) => n,
            Ok(None) => return None,
            Err(e) => {
                return Some(Err(format!(
                    "{}:{}: {e}",
                    self.path.display(),
                    self.line + 1
                )))
            }
        };
        let (path, line, bytes) = (self.path.display(), self.line, &self.buf[..n]);
        let mut fields = bytes.splitn(4, |&c| c == b',');
        let (Some(user), Some(item), Some(ts), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            let found = bytes.split(|&c| c == b',').count();
            return Some(Err(format!(
                "{path}:{line}: expected 3 fields (user,item,timestamp), found {found}"
            )));
        };
        let text = |f: &[u8]| String::from_utf8_lossy(f.trim_ascii()).into_owned();
        let Some(user_id) = parse_u64(user) else {
            return Some(Err(format!(
                "{path}:{line}: user '{}' is not a non-negative integer",
                text(user)
            )));
        };
        let Some(item_row) = parse_u64(item).and_then(|v| usize::try_from(v).ok()) else {
            return Some(Err(format!(
                "{path}:{line}: item '{}' is not a row number",
                text(item)
            )));
        };
        let Some(stamp) = parse_i64(ts) else {
            return Some(Err(format!(
                "{path}:{line}: timestamp '{}' is not an integer (Unix seconds)",
                text(ts)
            )));
        };
        Some(Ok((user_id, item_row, stamp)))
    }
}

/// First pass: validate every row, check the log is sorted by user, count.
fn scan(path: &Path) -> Result<Scan, String> {
    let mut rows = Rows::open(path)?;
    let mut scan = Scan {
        users: 0,
        actions: 0,
        last: i64::MIN,
    };
    let mut previous: Option<u64> = None;
    while let Some(row) = rows.next() {
        let (user, _, ts) = row?;
        let line = rows.line;
        match previous {
            Some(p) if user < p => {
                return Err(format!(
                    "{}:{line}: user {user} comes after user {p}: the log must be sorted by user (sort -t, -k1,1n -s)",
                    path.display()
                ))
            }
            Some(p) if user == p => {}
            _ => scan.users += 1,
        }
        previous = Some(user);
        scan.actions += 1;
        scan.last = scan.last.max(ts);
    }
    if scan.actions == 0 {
        return Err(format!("{}: no actions", path.display()));
    }
    Ok(scan)
}

fn read_embeddings(path: &Path) -> Result<Array2<f32>, String> {
    ndarray_npy::read_npy::<_, Array2<f32>>(path).map_err(|e| {
        format!(
            "{}: {e} (expected an n × d .npy of float32)",
            path.display()
        )
    })
}

/// The seeded synthetic mix: a 256-d catalogue and users with log-uniform
/// history lengths in 50–1000, each generated from its own seed (streamed).
struct Synthetic {
    catalog: Catalog<f32>,
    seed: u64,
    now: i64,
}

impl Synthetic {
    fn new(seed: u64, now: i64) -> Result<Self, String> {
        let config = CatalogConfig::builder()
            .items(10_000)
            .dim(256)
            .topics(50)
            .spread(0.5)
            .build()
            .map_err(|e| e.to_string())?;
        let catalog = Catalog::generate(&config, &mut user_rng(seed, "catalog"));
        Ok(Synthetic { catalog, seed, now })
    }

    fn user(&self, u: u64) -> Vec<Action<usize>> {
        let mut rng = user_rng(self.seed, &u);
        let n = (50f64.ln() + rng.random::<f64>() * (1000f64.ln() - 50f64.ln()))
            .exp()
            .round() as usize;
        // n is in 50..=1000: the configuration is valid, and so is the user
        UserConfig::builder()
            .actions(n)
            .build()
            .and_then(|config| self.catalog.user(&config, self.now, &mut rng))
            .map(|u| u.actions)
            .unwrap_or_default()
    }
}

/// Writes the synthetic log in the `--actions`/`--embeddings` formats.
fn dump(dir: &Path, synthetic: &Synthetic, users: u64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let npy = dir.join("items.npy");
    ndarray_npy::write_npy(&npy, &synthetic.catalog.embeddings())
        .map_err(|e| format!("{}: {e}", npy.display()))?;
    let path = dir.join("actions.csv");
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "user,item,timestamp")?;
        for u in 0..users {
            for a in synthetic.user(u) {
                writeln!(out, "{u},{},{}", a.item, a.timestamp)?;
            }
        }
        out.flush()
    };
    write().map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} and {}", path.display(), npy.display());
    Ok(())
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

#[derive(Default)]
struct Tally {
    users: u64,
    ok: u64,
    failed: u64,
    reasons: Vec<String>,
    actions: u64,
    outside_window: u64,
    unknown: u64,
    over_cap: u64,
    latencies: Vec<u64>,
    record_bytes: u64,
    json_bytes: u64,
    sized: u64,
    clusters: u64,
    inactive: u64,
    /// (clusters, user): the users with the most interests, for the demo.
    demo: Vec<(usize, u64)>,
}

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    // rayon's pool now, with `--threads` or its defaults: where its threads
    // cannot start (a thread or memory limit) this says so in one line,
    // where rayon would panic at the first use
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = args.threads {
        pool = pool.num_threads(threads);
    }
    pool.build_global()
        .map_err(|e| format!("could not start rayon's threads: {e}"))?;
    let window = args
        .window_days
        .map(|d| Duration::from_secs(u64::from(d) * 86_400));
    let mut builder = PinnerSage::builder().window(window);
    if let Some(alpha) = args.alpha {
        builder = builder.alpha(alpha);
    }
    let config = builder.build().map_err(|e| e.to_string())?;

    // inputs: a CSV (validated by a first pass) or the synthetic mix
    let (matrix, total_users, now, input): (Array2<f32>, u64, i64, Users);
    let synthetic_now = 1_700_000_000 / DAY * DAY;
    let parse_now = |last: i64| -> Result<i64, String> {
        match args.now.as_deref() {
            None | Some("last-day") => Ok((last.div_euclid(DAY) + 1) * DAY),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--now: '{v}' is neither a timestamp nor 'last-day'")),
        }
    };
    let started = Instant::now();
    if let (Some(actions), Some(embeddings)) = (&args.actions, &args.embeddings) {
        let scan = scan(actions)?;
        eprintln!(
            "{}: {} actions of {} users, last action {} (first pass {:.2} s)",
            actions.display(),
            scan.actions,
            scan.users,
            scan.last,
            started.elapsed().as_secs_f64()
        );
        matrix = read_embeddings(embeddings)?;
        total_users = scan.users;
        now = parse_now(scan.last)?;
        if scan.actions > 0 && now < scan.last {
            // every user with a later action would fail alone (Error::ActionAfterNow)
            return Err(format!(
                "--now {now} is before the log's last action ({}): profiles refuse actions after \
                 `now`; cut the log at `now` first, or leave --now out (the end of the last day)",
                scan.last
            ));
        }
        // rows were validated by the first pass; a row that changed since is dropped
        let rows = Rows::open(actions)?.filter_map(Result::ok);
        input = Box::new(group_by_user(rows).map(|(u, r)| (u, r.unwrap_or_default())));
    } else {
        now = parse_now(synthetic_now - 1)?;
        let synthetic = Synthetic::new(args.seed, now)?;
        matrix = synthetic.catalog.embeddings().to_owned();
        total_users = args.users;
        if let Some(dir) = &args.dump {
            return dump(dir, &synthetic, args.users);
        }
        eprintln!(
            "synthetic log: {} users, history lengths log-uniform in 50–1000, d = 256, seed {}",
            args.users, args.seed
        );
        input = Box::new((0..args.users).map(move |u| (u, synthetic.user(u))));
    }
    let source = InMemoryEmbeddings::with_row_ids(matrix).map_err(|e| e.to_string())?;
    eprintln!(
        "{} items × {} dims; now = {now}; window {}; {} threads, chunk {}; CPU {}, kernel {}, allocator mimalloc",
        source.len(),
        source.dim(),
        args.window_days
            .map_or("none".to_string(), |d| format!("{d} days")),
        rayon::current_num_threads(),
        args.chunk,
        cpu_model(),
        pinnersage::ward::product_kernel()
    );

    for path in [&args.db, &args.jsonl].into_iter().flatten() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(format!(
                    "{}: the directory {} does not exist (create it first)",
                    path.display(),
                    dir.display()
                ));
            }
        }
    }
    let store: Option<Store> = match &args.db {
        Some(path) => Some(
            Store::builder()
                .open(path, &config)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let mut jsonl = match &args.jsonl {
        Some(path) => Some(BufWriter::new(
            File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };

    let bar = ProgressBar::new(total_users);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} users ({per_sec}, eta {eta})",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    let mut tally = Tally::default();
    let mut io_error: Option<String> = None;
    let computing = Instant::now();
    let compute = |(user, actions): (u64, Vec<Action<usize>>)| {
        let t = Instant::now();
        let result = config.profile(&actions, &source, now);
        (user, actions.len(), result, t.elapsed().as_nanos() as u64)
    };
    // profiles computed on rayon's threads while this closure, on its own
    // thread, tallies and writes the previous chunk
    let consume = |computed: &mut dyn Iterator<Item = Computed>| {
        let results = computed.map(|(user, n, result, nanos)| {
            tally.users += 1;
            tally.actions += n as u64;
            tally.latencies.push(nanos);
            bar.inc(1);
            match &result {
                Ok(p) => {
                    tally.ok += 1;
                    let h = p.history();
                    tally.outside_window += h.outside_window as u64;
                    tally.unknown += h.unknown_actions as u64;
                    tally.over_cap += h.over_cap as u64;
                    tally.clusters += p.len() as u64;
                    tally.demo.push((p.len(), user));
                    tally.demo.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    tally.demo.truncate(3);
                    // JSON only where it is used: sizes for the store, or --jsonl
                    let sample = (store.is_some() && tally.users % 16 == 1) || jsonl.is_some();
                    let json = if sample {
                        serde_json::to_string(p).ok()
                    } else {
                        None
                    };
                    if let (Some(json), Some(store)) = (&json, &store) {
                        if let Ok(record) = store.encode(p, p.as_of()) {
                            tally.record_bytes += record.len() as u64;
                            tally.json_bytes += json.len() as u64;
                            tally.sized += 1;
                        }
                    }
                    if let (Some(out), Some(json)) = (jsonl.as_mut(), json) {
                        if let Err(e) = writeln!(out, "{{\"user\":{user},\"profile\":{json}}}") {
                            io_error.get_or_insert(e.to_string());
                        }
                    }
                }
                Err(pinnersage::Error::NoActionsInWindow { .. }) => tally.inactive += 1,
                Err(e) => {
                    tally.failed += 1;
                    if tally.reasons.len() < 5 {
                        tally.reasons.push(format!("user {user}: {e}"));
                    }
                }
            }
            if let (Err(e), Some(out)) = (&result, jsonl.as_mut()) {
                {
                    {
                        let message = serde_json::to_string(&e.to_string()).unwrap_or_default();
                        if let Err(e) = writeln!(out, "{{\"user\":{user},\"error\":{message}}}") {
                            io_error.get_or_insert(e.to_string());
                        }
                    }
                }
            }
            (user, result)
        });
        match &store {
            Some(store) => store
                .write(results, args.chunk, |_| {})
                .map(Some)
                .map_err(|e| e.to_string()),
            None => {
                results.for_each(drop);
                Ok(None)
            }
        }
    };
    // a reader thread parses and groups the log (or generates users) ahead
    // of the computation, at most one chunk ahead
    let written = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(args.chunk.get());
        scope.spawn(move || {
            for user in input {
                if tx.send(user).is_err() {
                    break;
                }
            }
        });
        par_pipeline(rx, args.chunk, compute, consume)
    })?;
    bar.finish_and_clear();
    let elapsed = computing.elapsed().as_secs_f64();
    if let Some(out) = jsonl.as_mut() {
        out.flush().map_err(|e| e.to_string())?;
    }
    if let Some(e) = io_error {
        return Err(format!("writing --jsonl: {e}"));
    }

    let mut lat = std::mem::take(&mut tally.latencies);
    lat.sort_unstable();
    println!("users             {}", tally.users);
    println!("actions           {}", tally.actions);
    println!(
        "profiles written  {}{}",
        written.as_ref().map_or(0, |w| w.written),
        if store.is_none() { " (no --db)" } else { "" }
    );
    println!(
        "users inactive    {} (no action in the window: Error::NoActionsInWindow, nothing written)",
        tally.inactive
    );
    println!("users failed      {}", tally.failed);
    for r in &tally.reasons {
        println!("    {r}");
    }
    println!(
        "skipped actions   {} outside the window, {} on unknown items, {} over the history cap",
        tally.outside_window, tally.unknown, tally.over_cap
    );
    println!(
        "clusters/profile  {:.2}",
        tally.clusters as f64 / tally.ok.max(1) as f64
    );
    println!(
        "profiles/s        {:.0} ({:.2} s for the batch, store writes included)",
        tally.users as f64 / elapsed,
        elapsed
    );
    let busy: f64 = lat.iter().map(|&n| n as f64 / 1e9).sum();
    println!(
        "thread use        {:.0}% (sum of per-user latencies / (threads × batch time))",
        100.0 * busy / (rayon::current_num_threads() as f64 * elapsed)
    );
    println!(
        "latency per user  p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    if tally.sized > 0 {
        println!(
            "bytes/profile     {:.0} stored (postcard, configuration once per store) vs {:.0} JSON ({} sampled)",
            tally.record_bytes as f64 / tally.sized as f64,
            tally.json_bytes as f64 / tally.sized as f64,
            tally.sized
        );
    }
    if let Some(path) = &args.db {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "store file        {:.1} MiB",
            bytes as f64 / (1u64 << 20) as f64
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory       {mib:.1} MiB (VmHWM)");
    }

    let mut store = store;
    if let (true, Some(store), Some(path)) = (args.compact, store.as_mut(), &args.db) {
        let t = Instant::now();
        store.compact().map_err(|e| e.to_string())?;
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "compacted         {:.1} MiB file in {:.2} s",
            bytes as f64 / (1u64 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
    }
    if args.serve_demo {
        let store = store.ok_or("--serve-demo needs --db")?;
        let demo: Vec<u64> = tally.demo.iter().map(|d| d.1).collect();
        serve_demo(&store, &demo, &source, now, args.seed)?;
    }
    Ok(())
}

/// Reads a few users back, folds in new actions, recommends with provenance.
fn serve_demo(
    store: &Store,
    demo: &[u64],
    source: &InMemoryEmbeddings<usize, f32>,
    now: i64,
    seed: u64,
) -> Result<(), String> {
    let index = ExactIndex::with_row_ids(source.matrix().to_owned(), Metric::SquaredEuclidean)
        .map_err(|e| e.to_string())?;
    let recommender = Recommender::builder()
        .n(5)
        .build()
        .map_err(|e| e.to_string())?;
    let mut users: Vec<(u64, Profile)> = Vec::new();
    for &user in demo {
        if let Some(stored) = store.get(&user).map_err(|e| e.to_string())? {
            if !stored.profile.is_empty() {
                users.push((user, stored.profile));
            }
        }
    }
    println!(
        "\nserve demo ({} users; exact index, squared Euclidean: score = −‖medoid − item‖², higher is nearer)",
        users.len()
    );
    let later = now + 3_600;
    for (user, profile) in users {
        let top = &profile.clusters()[0];
        let near = index
            .search(top.medoid_embedding(), 3)
            .map_err(|e| e.to_string())?;
        let new: Vec<Action<usize>> = near.iter().map(|n| Action::new(n.id, later)).collect();
        let updated = store
            .update(&user, &new, source, later)
            .map_err(|e| e.to_string())?;
        println!(
            "user {user}: {} interests before, {} after folding in items {:?} at {later}",
            profile.len(),
            updated.len(),
            new.iter().map(|a| a.item).collect::<Vec<_>>()
        );
        let exclude: HashSet<usize> = seen_items(&updated);
        let recs = store
            .recommend(
                &user,
                &recommender,
                &index,
                &exclude,
                &mut user_rng(seed, &user),
            )
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        for r in recs {
            println!(
                "    item {:>6}  score {:>8.4}  from interest {} (medoid {})",
                r.item, r.score, r.cluster, r.medoid
            );
        }
    }
    Ok(())
}
