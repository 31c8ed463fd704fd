//! Nothing lost: a batch writer killed mid-run (a child process, SIGKILL)
//! leaves a store that opens, holds only whole profiles (whole chunks), and a
//! rerun completes it.
#![cfg(feature = "store")]

mod store_support;

use core::num::NonZeroUsize;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pinnersage::store::ProfileStore;
use pinnersage::PinnerSage;
use store_support::{profile, temp_path, NOW};

type Store = ProfileStore<u64, usize, f32>;

const USERS: u64 = 2_000;
const CHUNK: usize = 20;
const CHILD: &str = "PINNERSAGE_KILL_TEST_WRITER";

/// The batch writer: every user's profile, one transaction per chunk,
/// printing `committed N` after each commit.
fn write_all(path: &std::path::Path, slow: bool) {
    let config = PinnerSage::default();
    let store: Store = Store::builder().open(path, &config).unwrap();
    let results = (0..USERS).map(|u| (u, Ok(profile(&config, u, NOW))));
    let chunk = NonZeroUsize::new(CHUNK).unwrap();
    store
        .write(results, chunk, |n| {
            if slow {
                println!("committed {n}");
                std::io::stdout().flush().unwrap();
            }
        })
        .unwrap();
}

#[test]
fn killed_writer_leaves_whole_profiles_and_a_rerun_completes() {
    if let Ok(path) = std::env::var(CHILD) {
        write_all(std::path::Path::new(&path), true);
        return;
    }
    let path = temp_path("kill");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_writer_leaves_whole_profiles_and_a_rerun_completes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // kill it once a few chunks are committed, mid-run
    let started = Instant::now();
    let stdout = child.stdout.take().unwrap();
    let mut committed = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = n.trim().parse().unwrap();
            if committed >= 5 * CHUNK as u64 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the writer is too slow"
        );
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the writer finished before it was killed"
    );
    assert!(
        committed >= 5 * CHUNK as u64 && committed < USERS,
        "{committed}"
    );

    // the store opens and holds whole chunks of whole, valid profiles
    let config = PinnerSage::default();
    let store: Store = Store::builder().open(&path, &config).unwrap();
    let stored = store.all().unwrap();
    let n = stored.len() as u64;
    assert!(
        n >= committed && n < USERS,
        "{n} profiles after {committed} committed"
    );
    assert_eq!(n % CHUNK as u64, 0, "a partial chunk was committed");
    let mut users: Vec<u64> = stored.iter().map(|(u, _)| *u).collect();
    users.sort_unstable();
    assert_eq!(users, (0..n).collect::<Vec<_>>());
    for (u, s) in &stored {
        assert_eq!(s.profile, profile(&config, *u, NOW), "user {u}");
    }
    drop(store);

    // a rerun completes it
    write_all(&path, false);
    let store: Store = Store::builder().open(&path, &config).unwrap();
    assert_eq!(store.len().unwrap(), USERS);
    for u in [0, USERS / 2, USERS - 1] {
        assert_eq!(
            store.get(&u).unwrap().unwrap().profile,
            profile(&config, u, NOW)
        );
    }
    drop(store);
    let _ = std::fs::remove_file(&path);
}
