//! `par_pipeline` where no thread can start (an address-space or thread
//! limit): rayon's pool falls back to the calling thread, and so must the
//! pipeline's consumer thread, instead of panicking in `thread::scope`.
//!
//! The test lowers its own address-space limit (`RLIMIT_AS`) to a megabyte
//! above what the process maps, so that no thread stack fits, and restores
//! it before asserting. One test in this binary: the global pool's failure
//! is process-wide.
#![cfg(all(feature = "parallel", target_os = "linux"))]

use core::num::NonZeroUsize;

use pinnersage::batch::{par_map, par_pipeline};

use rlimit::Resource;

/// Restores the address-space limit (soft, hard) on drop.
struct Restore((u64, u64));

impl Drop for Restore {
    fn drop(&mut self) {
        let (soft, hard) = self.0;
        let _ = rlimit::setrlimit(Resource::AS, soft, hard);
    }
}

fn vm_size_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn par_pipeline_runs_on_the_calling_thread_when_no_thread_can_start() {
    let chunk = NonZeroUsize::new(3).unwrap();
    let old = rlimit::getrlimit(Resource::AS).unwrap();
    let restore = Restore(old);
    rlimit::setrlimit(Resource::AS, vm_size_bytes() + (1 << 20), old.1).unwrap();
    if let Ok(thread) = std::thread::Builder::new().spawn(|| ()) {
        drop(restore);
        thread.join().unwrap();
        eprintln!("skipped: a thread still started under the limit");
        return;
    }
    let squares = std::panic::catch_unwind(|| par_map(1..=7u64, chunk, |x| x * x).sum::<u64>());
    let total =
        std::panic::catch_unwind(|| par_pipeline(1..=7u64, chunk, |x| x * x, |s| s.sum::<u64>()));
    drop(restore);
    assert_eq!(squares.ok(), Some(140));
    assert_eq!(total.ok(), Some(140));
}
