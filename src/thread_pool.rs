//! Whether rayon's thread pool can run (features `parallel`, `usearch` and
//! `hnsw`).
//!
//! rayon builds its global pool at its first use, and when it cannot spawn
//! the pool's threads (a limit on address space, threads or processes:
//! `ulimit -v`, a cgroup's pid limit) it panics, at that use and at every
//! later one. Every place where the crate starts rayon work, or a dependency
//! does (`hnsw_rs` drops its graph with a parallel iterator), first calls
//! [`make_usable_here`]: where the global pool cannot start, the calling
//! thread becomes the only worker of a pool of its own, and the work runs
//! there, serially, with the same results. Such a limit costs speed, never a
//! panic.

use std::error::Error as _;
use std::sync::OnceLock;

/// Whether parallel iterators started here run on a live pool (see
/// [`make_usable_here`]).
///
/// On a worker thread of some pool (a caller's `ThreadPool::install`) they
/// run on that pool: yes, and the global pool is left alone. Elsewhere they
/// run on the global pool, which this builds now with rayon's defaults
/// (`RAYON_NUM_THREADS` included) unless it exists: what the first parallel
/// call would have done anyway. The answer about the global pool is kept
/// for the life of the process.
///
/// # Complexity
/// O(1) after the first call; the first starts the global pool's threads.
fn runs() -> bool {
    if rayon::current_thread_index().is_some() {
        return true;
    }
    static GLOBAL: OnceLock<bool> = OnceLock::new();
    *GLOBAL.get_or_init(|| match rayon::ThreadPoolBuilder::new().build_global() {
        Ok(()) => true,
        // An error with a source is the I/O error of a thread that could not
        // be spawned. Without one, the pool was built already (by the caller
        // or another library) — or its building failed before: only that
        // case panics here, once, and the panic is caught.
        Err(e) => {
            e.source().is_none() && std::panic::catch_unwind(rayon::current_num_threads).is_ok()
        }
    })
}

/// Makes rayon usable on the calling thread where the global pool cannot
/// start ([`runs`] says no): the thread becomes the only worker of a pool of
/// its own (`use_current_thread`, no thread spawned), kept for the thread's
/// life, so rayon work started here (the crate's or a dependency's) runs
/// here, serially, instead of panicking. Does nothing where rayon runs.
///
/// # Complexity
/// O(1) after the first call on a thread.
pub(crate) fn make_usable_here() {
    if runs() {
        return;
    }
    thread_local! {
        static OWN: std::cell::RefCell<Option<rayon::ThreadPool>> =
            const { std::cell::RefCell::new(None) };
    }
    OWN.with(|own| {
        if let Ok(mut own) = own.try_borrow_mut() {
            if own.is_none() {
                *own = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .use_current_thread()
                    .build()
                    .ok();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_pool_runs_and_the_answer_is_stable() {
        assert!(runs());
        assert!(runs());
        // on a worker of a private pool: that pool runs
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build();
        if let Ok(pool) = pool {
            assert!(pool.install(runs));
        }
        // a no-op where the global pool runs: this thread stays outside
        // any pool
        make_usable_here();
        assert_eq!(rayon::current_thread_index(), None);
    }
}
