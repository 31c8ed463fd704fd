//! Exact versus HNSW retrieval on a seeded clustered catalogue: recall@10 and
//! queries per second.
//!
//! ```text
//! cargo run --release --features hnsw --example retrieval              # 100 000 × 64
//! cargo run --release --features hnsw --example retrieval -- --items 5000 --queries 200
//! ```
//!
//! Backends: `--backend hnsw` (default, `HnswIndex` over `hnsw_rs`),
//! `--backend usearch` (`UsearchIndex`, needs `--features hnsw,usearch`) or
//! `--backend exact` (`ExactIndex` one query at a time, the reference); the
//! graph parameters below apply to both graph backends.
//!
//! Options: `--items N` (default 100 000), `--dim D` (64), `--topics T` (100),
//! `--queries Q` (1 000, held out: generated with the catalogue, not indexed),
//! `--k K` (10), `--m M`, `--ef-construction E`, `--ef-search E` (HNSW
//! parameters, defaults of `HnswParams`), `--parallel-build`, `--seed S` (42),
//! `--save DIR` (`hnsw` only: save the graph to `DIR`, load it back and
//! measure the loaded copy, as a serving process would).
//!
//! External data (what `scripts/compare_ann.py` passes, so that hnswlib, faiss
//! and this crate run on the very same files): `--items X.npy --queries
//! Q.npy` (2-D `f32` arrays, one row per vector) instead of the synthetic
//! catalogue, and `--truth T.npy` (2-D `int64`, the exact top-k row numbers of
//! each query, nearest first) as the recall reference instead of
//! [`ExactIndex`]; `--skip-exact` leaves out the exact-search timings. The
//! last line, `summary: build_s B qps Q recall@k R`, is for scripts. On Linux
//! each `ef_search` line also gives the queries/s of the loop's own time on
//! the CPU (`/proc/thread-self/schedstat`), steadier than wall time on a shared
//! machine.
//!
//! Recall@k is the fraction of the exact top-k that HNSW returns, averaged over
//! the queries; the exact index is the reference. Measured on the crate's
//! development machine (2 cores shared with other jobs, so timings are noisy),
//! default options, cosine metric, f32, `--ef-search 48,32,64`:
//!
//! ```text
//! catalogue: 100000 items x 64 dims in 100 topics, 1000 held-out queries, k = 10
//! hnsw  build: 50.47s  (M 32, ef_construction 100, serial)
//! exact, one query at a time:        508 queries/s
//! exact, GEMM batch:                1266 queries/s
//! hnsw ef_search   48: recall@10 0.9920,     2148 queries/s, 4.2x exact single, 1.7x exact batch
//! hnsw ef_search   32: recall@10 0.9709,     2521 queries/s, 5.0x exact single, 2.0x exact batch
//! hnsw ef_search   64: recall@10 0.9967,     1942 queries/s, 3.8x exact single, 1.5x exact batch
//! ```
//!
//! The catalogue is a hard case for graph search: inside a topic the points
//! are isotropic Gaussian noise around a centre, so the intrinsic dimension is
//! close to 64. With M = 16 the same recall needs a larger `ef_search`
//! (recall 0.958 at ef_search 64, 2 051 queries/s). On 5 000 items exact search
//! is about as fast as `HnswIndex` (faster batched), which pays off from tens of
//! thousands of items; `UsearchIndex` is already faster than exact there.
//!
//! Every query is timed one at a time on one thread, except the "GEMM batch"
//! line; the parentheses after the build time print the graph parameters
//! (`HnswParams`, which both graph backends take).

use std::collections::HashSet;
use std::time::Instant;

use ndarray::Array2;
use ndarray_npy::read_npy;
use pinnersage::ann::{
    AnnIndex, ExactIndex, HnswIndex, HnswParams, HnswParamsBuilder, Metric, Neighbours,
};
use pinnersage::synthetic::{Catalog, CatalogConfig};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

struct Options {
    items: usize,
    /// `--items X.npy`: the catalogue from a file.
    items_file: Option<std::path::PathBuf>,
    /// `--queries Q.npy`: the queries from a file.
    queries_file: Option<std::path::PathBuf>,
    /// `--truth T.npy`: the exact top-k row numbers of each query.
    truth_file: Option<std::path::PathBuf>,
    /// Skip the exact-search timings.
    skip_exact: bool,
    dim: usize,
    topics: usize,
    queries: usize,
    k: usize,
    seed: u64,
    params: HnswParamsBuilder,
    /// Save the graph here, load it back and check the loaded copy.
    save: Option<std::path::PathBuf>,
    /// Extra `ef_search` values to measure on the same graph.
    ef_sweep: Vec<usize>,
    /// `hnsw`, `usearch` or `exact`.
    backend: String,
}

/// The index under test.
enum Backend {
    Hnsw(HnswIndex<usize, f32>),
    #[cfg(feature = "usearch")]
    Usearch(pinnersage::ann::UsearchIndex<usize, f32>),
    Exact(ExactIndex<usize, f32>),
}

impl Backend {
    fn build(
        name: &str,
        items: Array2<f32>,
        params: HnswParams,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(match name {
            "hnsw" => Backend::Hnsw(HnswIndex::with_row_ids(items, Metric::Cosine, params)?),
            #[cfg(feature = "usearch")]
            "usearch" => {
                // the same parameters: both backends build an HNSW graph
                let index =
                    pinnersage::ann::UsearchIndex::with_row_ids(items, Metric::Cosine, params)?;
                println!("usearch kernel: {}", index.hardware_acceleration());
                Backend::Usearch(index)
            }
            "exact" => Backend::Exact(ExactIndex::with_row_ids(items, Metric::Cosine)?),
            other => {
                return Err(format!(
                    "unknown backend {other} (hnsw, exact{})",
                    if cfg!(feature = "usearch") {
                        ", usearch"
                    } else {
                        "; usearch needs --features usearch"
                    }
                )
                .into())
            }
        })
    }

    fn search(
        &self,
        q: ndarray::ArrayView1<'_, f32>,
        k: usize,
    ) -> pinnersage::Result<Neighbours<usize, f32>> {
        match self {
            Backend::Hnsw(i) => i.search(q, k),
            #[cfg(feature = "usearch")]
            Backend::Usearch(i) => i.search(q, k),
            Backend::Exact(i) => i.search(q, k),
        }
    }

    fn set_ef_search(&mut self, ef: usize) -> pinnersage::Result<()> {
        match self {
            Backend::Hnsw(i) => i.set_ef_search(ef),
            #[cfg(feature = "usearch")]
            Backend::Usearch(i) => i.set_ef_search(ef),
            Backend::Exact(_) => Ok(()),
        }
    }
}

/// This thread's time on the CPU in nanoseconds (Linux:
/// `/proc/thread-self/schedstat`); `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        items: 100_000,
        items_file: None,
        queries_file: None,
        truth_file: None,
        skip_exact: false,
        dim: 64,
        topics: 100,
        queries: 1_000,
        k: 10,
        seed: 42,
        params: HnswParams::builder(),
        save: None,
        ef_sweep: Vec::new(),
        backend: "hnsw".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--parallel-build" {
            o.params = o.params.parallel_build(true);
            continue;
        }
        if flag == "--skip-exact" {
            o.skip_exact = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        let is_file = value.ends_with(".npy");
        match flag.as_str() {
            "--items" if is_file => o.items_file = Some(value.clone().into()),
            "--queries" if is_file => o.queries_file = Some(value.clone().into()),
            "--truth" => o.truth_file = Some(value.clone().into()),
            "--items" => o.items = n()?,
            "--dim" => o.dim = n()?,
            "--topics" => o.topics = n()?,
            "--queries" => o.queries = n()?,
            "--k" => o.k = n()?,
            "--seed" => o.seed = n()? as u64,
            "--m" => o.params = o.params.max_connections(n()?),
            "--ef-construction" => o.params = o.params.ef_construction(n()?),
            "--save" => o.save = Some(value.clone().into()),
            "--backend" => o.backend = value.clone(),
            "--ef-search" => {
                // a comma-separated list: the first builds, all are measured
                let mut values = value.split(',').map(|v| {
                    v.parse::<usize>()
                        .map_err(|e| format!("{flag} {value}: {e}"))
                });
                if let Some(first) = values.next() {
                    o.params = o.params.ef_search(first?);
                }
                o.ef_sweep = values.collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if o.queries == 0 || o.k == 0 {
        return Err("--queries and --k must be at least 1".into());
    }
    if o.items_file.is_some() != o.queries_file.is_some() {
        return Err("--items X.npy and --queries Q.npy go together".into());
    }
    if o.truth_file.is_some() && o.items_file.is_none() {
        return Err("--truth needs --items X.npy and --queries Q.npy".into());
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = parse()?;
    let (items, queries, topics) = match (&o.items_file, &o.queries_file) {
        (Some(x), Some(q)) => {
            let items: Array2<f32> = read_npy(x).map_err(|e| format!("{}: {e}", x.display()))?;
            let queries: Array2<f32> = read_npy(q).map_err(|e| format!("{}: {e}", q.display()))?;
            (items, queries, None)
        }
        _ => {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(o.seed);
            let config = CatalogConfig::builder()
                .items(o.items + o.queries)
                .dim(o.dim)
                .topics(o.topics.min(o.items))
                .spread(0.5)
                .build()?;
            let all = Catalog::<f32>::generate(&config, &mut rng).into_embeddings();
            let items = all.slice(ndarray::s![..o.items, ..]).to_owned();
            let queries = all.slice(ndarray::s![o.items.., ..]).to_owned();
            (items, queries, Some(config.topics()))
        }
    };
    let (n_items, n_queries) = (items.nrows(), queries.nrows());
    if n_queries == 0 {
        return Err("no queries".into());
    }
    match (o.items_file.as_ref(), topics) {
        (Some(x), _) => println!(
            "catalogue: {n_items} items x {} dims from {}, {n_queries} queries, k = {}",
            items.ncols(),
            x.display(),
            o.k
        ),
        (None, Some(t)) => println!(
            "catalogue: {n_items} items x {} dims in {t} topics, {n_queries} held-out queries, k = {}",
            items.ncols(),
            o.k
        ),
        (None, None) => {}
    }

    let t = Instant::now();
    let exact = ExactIndex::with_row_ids(items.clone(), Metric::Cosine)?;
    println!("exact build: {:.2?}", t.elapsed());
    let t = Instant::now();
    let params = o.params.build()?;
    let index = Backend::build(&o.backend, items.clone(), params)?;
    let build_s = t.elapsed().as_secs_f64();
    let name = o.backend.as_str();
    println!("{name} build: {build_s:.2}s  ({params:?})");
    let index = match (&o.save, index) {
        (None, index) => index,
        (Some(_), Backend::Exact(_)) => return Err("--save needs --backend hnsw".into()),
        #[cfg(feature = "usearch")]
        (Some(_), Backend::Usearch(_)) => return Err("--save needs --backend hnsw".into()),
        (Some(dir), Backend::Hnsw(hnsw)) => {
            // a serving process loads the graph instead of rebuilding it
            std::fs::create_dir_all(dir)?;
            let t = Instant::now();
            hnsw.save(dir, "retrieval")?;
            let saved = t.elapsed();
            let t = Instant::now();
            let loaded = HnswIndex::<usize, f32>::load_with_row_ids(dir, "retrieval")?;
            println!(
                "hnsw  save: {saved:.2?}, load: {:.2?} ({})",
                t.elapsed(),
                dir.display()
            );
            let q = queries.row(0);
            assert_eq!(loaded.search(q, o.k)?, hnsw.search(q, o.k)?);
            Backend::Hnsw(loaded)
        }
    };

    let qps = |secs: f64| n_queries as f64 / secs.max(1e-9);
    // the exact top-k row numbers of each query
    let truth: Vec<Vec<usize>> = match &o.truth_file {
        Some(path) => {
            let t: Array2<i64> = read_npy(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if t.nrows() != n_queries || t.ncols() < o.k {
                return Err(format!(
                    "{}: need {n_queries} rows of >= {} ids",
                    path.display(),
                    o.k
                )
                .into());
            }
            t.rows()
                .into_iter()
                .map(|r| r.iter().take(o.k).map(|&v| v as usize).collect())
                .collect()
        }
        None => exact
            .search_batch(queries.view(), o.k)?
            .iter()
            .map(|hits| hits.iter().map(|n| n.id).collect())
            .collect(),
    };
    let (mut exact_single, mut exact_batch) = (f64::NAN, f64::NAN);
    if !o.skip_exact {
        let t = Instant::now();
        exact.search_batch(queries.view(), o.k)?;
        exact_batch = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut single = Vec::with_capacity(n_queries);
        for q in queries.rows() {
            single.push(exact.search(q, o.k)?);
        }
        exact_single = t.elapsed().as_secs_f64();
        println!(
            "exact, one query at a time: {:>10.0} queries/s",
            qps(exact_single)
        );
        println!(
            "exact, GEMM batch:          {:>10.0} queries/s",
            qps(exact_batch)
        );
    }
    let mut summary = None;
    let mut index = index;
    for ef in std::iter::once(params.ef_search()).chain(o.ef_sweep.iter().copied()) {
        index.set_ef_search(ef)?;
        let cpu = thread_cpu_ns();
        let t = Instant::now();
        let mut approx = Vec::with_capacity(n_queries);
        for q in queries.rows() {
            approx.push(index.search(q, o.k)?);
        }
        let search_time = t.elapsed().as_secs_f64();
        // the loop's time on the CPU, as well: the wall time of a shared
        // machine includes other jobs' turns
        let on_cpu = match (cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => {
                format!(", {:.0} queries/s on CPU", qps((b - a) as f64 * 1e-9))
            }
            _ => String::new(),
        };
        let mut found = 0usize;
        let mut expected = 0usize;
        for (t, a) in truth.iter().zip(&approx) {
            let got: HashSet<usize> = a.iter().map(|n| n.id).collect();
            found += t.iter().filter(|id| got.contains(id)).count();
            expected += t.len();
        }
        let recall = found as f64 / expected.max(1) as f64;
        let versus = if o.skip_exact {
            String::new()
        } else {
            format!(
                ", {:.1}x exact single, {:.1}x exact batch",
                exact_single / search_time,
                exact_batch / search_time
            )
        };
        println!(
            "{name} ef_search {ef:>4}: recall@{} {recall:.4}, {:>8.0} queries/s{versus}{on_cpu}",
            o.k,
            qps(search_time),
        );
        summary.get_or_insert((qps(search_time), recall));
    }
    if let Some((q, recall)) = summary {
        println!(
            "summary: build_s {build_s:.3} qps {q:.1} recall@{} {recall:.4}",
            o.k
        );
    }
    Ok(())
}
