//! The timely batch on two processes over loopback equals the
//! single-machine batch, line for line (bounded in time: each process is
//! killed after 120 s).
#![cfg(feature = "serde")]

mod store_support;
#[path = "../examples/timely_batch/worker.rs"]
mod worker;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinnersage::batch::{group_by_user, profiles};
use pinnersage::PinnerSage;
use store_support::{actions, source, NOW};

const ROLE: &str = "PINNERSAGE_TIMELY_TEST_PROCESS";
const USERS: u64 = 30;

fn job(dir: &std::path::Path) -> worker::Job {
    worker::Job {
        actions: dir.join("actions.csv"),
        source: Arc::new(source()),
        now: NOW,
        config: PinnerSage::default(),
        out: dir.join("out"),
    }
}

#[test]
fn two_processes_on_loopback_equal_the_single_machine_batch() {
    if let Ok(role) = std::env::var(ROLE) {
        // a child: "<dir> <process> <hostfile>"
        let parts: Vec<&str> = role.split('\n').collect();
        let dir = std::path::PathBuf::from(parts[0]);
        let args = ["timely", "-n", "2", "-p", parts[1], "-h", parts[2]].map(String::from);
        let config = timely::Config::from_args(args.into_iter()).unwrap();
        let job = job(&dir);
        let guards = timely::execute(config, move |w| worker::run(w, &job)).unwrap();
        for r in guards.join() {
            r.unwrap().unwrap();
        }
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("timely-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // the log, deliberately not sorted by user (rows interleave users)
    let mut rows = Vec::new();
    for u in 0..USERS {
        for a in actions(u, NOW) {
            rows.push((u, a.item, a.timestamp));
        }
    }
    rows.sort_by_key(|r| (r.2, r.1, r.0));
    let mut csv = std::fs::File::create(dir.join("actions.csv")).unwrap();
    writeln!(csv, "user,item,timestamp").unwrap();
    for (u, i, t) in &rows {
        writeln!(csv, "{u},{i},{t}").unwrap();
    }
    drop(csv);
    // two free loopback ports
    let ports: Vec<u16> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect::<Vec<_>>()
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let hosts = dir.join("hosts.txt");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .unwrap();
    let mut children: Vec<_> = (0..2)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "two_processes_on_loopback_equal_the_single_machine_batch",
                    "--test-threads=1",
                ])
                .env(ROLE, format!("{}\n{p}\n{}", dir.display(), hosts.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    for child in &mut children {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "a timely process failed: {status}");
                break;
            }
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                panic!("the timely processes did not finish within 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // the single-machine batch on the same actions, grouped by user
    let mut by_user = rows.clone();
    by_user.sort_by_key(|r| r.0);
    let config = PinnerSage::default();
    let src = source();
    let mut expected: Vec<String> = profiles(&config, group_by_user(by_user), &src, NOW)
        .map(|(u, r)| worker::line(u, &r))
        .collect();
    expected.sort();
    let mut got: Vec<String> = (0..2)
        .flat_map(|w| {
            let text =
                std::fs::read_to_string(dir.join("out").join(format!("worker-{w}.jsonl"))).unwrap();
            text.lines().map(String::from).collect::<Vec<_>>()
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), USERS as usize);
    assert!(
        got == expected,
        "the timely profiles differ from the single-machine batch"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
