//! One timely worker of the distributed batch: shared by the `timely_batch`
//! example and its loopback test (`tests/batch_timely.rs`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::InputHandle;

/// What every worker needs: its share of the log is the CSV rows `r` with
/// `r % peers == index` (on several hosts: the same file on each host, or
/// each host's own share of the log), the embeddings (whole, on every host),
/// `now`, the configuration, and where to write `worker-<index>.jsonl`.
#[derive(Clone)]
pub struct Job {
    /// `user,item,timestamp` CSV with a header (any order).
    pub actions: PathBuf,
    /// Item embeddings.
    pub source: Arc<InMemoryEmbeddings<usize, f32>>,
    /// The time the profiles refer to.
    pub now: i64,
    /// The configuration.
    pub config: PinnerSage,
    /// Output directory.
    pub out: PathBuf,
}

/// One JSONL line per user, as the `batch` example writes it.
pub fn line(user: u64, result: &pinnersage::Result<pinnersage::UserProfile<usize, f32>>) -> String {
    match result {
        Ok(p) => format!(
            "{{\"user\":{user},\"profile\":{}}}",
            serde_json::to_string(p).unwrap_or_default()
        ),
        Err(e) => format!(
            "{{\"user\":{user},\"error\":{}}}",
            serde_json::to_string(&e.to_string()).unwrap_or_default()
        ),
    }
}

/// Runs this worker: reads its share of the rows, exchanges actions by user
/// so each user lands on worker `user % peers`, then profiles its users
/// (ascending) and writes them. Returns the number of users it profiled.
pub fn run(worker: &mut timely::worker::Worker, job: &Job) -> Result<usize, String> {
    let index = worker.index();
    let peers = worker.peers();
    let mut input = InputHandle::new();
    let received: Rc<RefCell<BTreeMap<u64, Vec<Action<usize>>>>> = Rc::default();
    let sink = received.clone();
    let probe = worker.dataflow::<u64, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .container::<Vec<_>>()
            .exchange(|row: &(u64, u64, i64)| row.0)
            .inspect(move |row: &(u64, u64, i64)| {
                let item = usize::try_from(row.1).unwrap_or(usize::MAX);
                sink.borrow_mut()
                    .entry(row.0)
                    .or_default()
                    .push(Action::new(item, row.2));
            })
            .probe()
            .0
    });
    let shown = job.actions.display().to_string();
    let mut reader = csv::Reader::from_path(&job.actions).map_err(|e| format!("{shown}: {e}"))?;
    for (r, record) in reader.records().enumerate() {
        if r % peers != index {
            continue;
        }
        let record = record.map_err(|e| format!("{shown}: {e}"))?;
        let field = |k: usize| -> Result<i64, String> {
            record
                .get(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| format!("{shown}:{}: field {} is not an integer", r + 2, k + 1))
        };
        let (user, item, ts) = (field(0)?, field(1)?, field(2)?);
        let user = u64::try_from(user).map_err(|_| format!("{shown}:{}: negative user", r + 2))?;
        let item = u64::try_from(item).map_err(|_| format!("{shown}:{}: negative item", r + 2))?;
        input.send((user, item, ts));
    }
    input.close();
    while !probe.done() {
        worker.step();
    }
    let users = received.take();
    write(&job.out, index, &users, job)
}

fn write(
    out: &Path,
    index: usize,
    users: &BTreeMap<u64, Vec<Action<usize>>>,
    job: &Job,
) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join(format!("worker-{index}.jsonl"));
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = BufWriter::new(file);
    for (user, actions) in users {
        let result = job.config.profile(actions, &*job.source, job.now);
        writeln!(w, "{}", line(*user, &result)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(users.len())
}
