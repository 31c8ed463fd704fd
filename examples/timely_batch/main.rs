//! The daily batch on timely dataflow: actions exchanged by user across
//! workers and processes, each worker profiling its users and writing its
//! share as `OUT/worker-<index>.jsonl`, equal (as a set of lines) to the
//! `batch` example's `--jsonl` on the same input.
//!
//! ```text
//! # one process, 2 worker threads
//! cargo run --release --features serde --example timely_batch -- \
//!     --actions actions.csv --embeddings items.npy --now TS --out DIR -- -w 2
//! # two processes on this machine (hosts.txt: 127.0.0.1:2101 and 127.0.0.1:2102)
//! ... --out DIR -- -n 2 -p 0 -h hosts.txt &
//! ... --out DIR -- -n 2 -p 1 -h hosts.txt
//! ```
//!
//! On several hosts, start the same binary on each with `-n <hosts> -p <its
//! index> -h hosts.txt` (one `host:port` per line, the same file everywhere).
//! Each host needs the embeddings and the action log (each worker reads the
//! rows `r` with `r % workers == its index`; give each host the whole file,
//! or only its share with the same row numbering) and writes its workers'
//! files into its own `--out`. The log need not be sorted: each worker holds
//! the actions of its users in memory until the input is complete (a
//! `1/workers` share of the log).

#[path = "worker.rs"]
mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use ndarray::Array2;
use pinnersage::{InMemoryEmbeddings, PinnerSage};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut actions, mut embeddings, mut now, mut out) = (None, None, None, None);
    let mut timely_args = vec!["timely_batch".to_string()];
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--actions" => actions = args.next().map(PathBuf::from),
            "--embeddings" => embeddings = args.next().map(PathBuf::from),
            "--now" => now = args.next().and_then(|v| v.parse::<i64>().ok()),
            "--out" => out = args.next().map(PathBuf::from),
            "--" => timely_args.extend(args.by_ref()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let usage =
        "usage: timely_batch --actions CSV --embeddings NPY --now TS --out DIR [-- timely options]";
    let (actions, embeddings, now, out) = match (actions, embeddings, now, out) {
        (Some(a), Some(e), Some(n), Some(o)) => (a, e, n, o),
        _ => return Err(usage.to_string()),
    };
    let matrix: Array2<f32> =
        ndarray_npy::read_npy(&embeddings).map_err(|e| format!("{}: {e}", embeddings.display()))?;
    let source = Arc::new(InMemoryEmbeddings::with_row_ids(matrix).map_err(|e| e.to_string())?);
    let job = worker::Job {
        actions,
        source,
        now,
        config: PinnerSage::default(),
        out,
    };
    let config = timely::Config::from_args(timely_args.into_iter())?;
    let guards = timely::execute(config, move |w| worker::run(w, &job))?;
    for result in guards.join() {
        let users = result??;
        eprintln!("a worker profiled {users} users");
    }
    Ok(())
}
