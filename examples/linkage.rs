//! A harness, not a tutorial: Ward linkage of an `.npy` matrix printed in
//! scipy's format, with timings, for conformance and benchmark scripts.
//!
//! ```text
//! cargo run --release --features bench-internals --example linkage -- X.npy [--weights w.npy] [--repeat N] [--lean] [--floor] [--parallel]
//! ```
//!
//! It needs the `bench-internals` feature (the hidden product-kernel hooks
//! behind `--floor`); `--parallel` also needs `parallel`.
//!
//! Reads an m×d `.npy` of `f32` or `f64` (clustered in that precision) and
//! prints the linkage as CSV on stdout: a header `a,b,height,size`, then one row
//! per merge with `height = sqrt(distance)` as scipy reports it, in Rust's
//! shortest round-trip formatting. `--weights` takes a length-m `.npy` of
//! positive row weights (`f32` or `f64`). `--repeat N` also times `N` in-process
//! calls of the linkage function after one warm-up (file I/O excluded) and
//! prints `median_ms=<value>` and `min_ms=<value>` (the fastest call) on
//! stderr. `--lean` forces the memory-lean path
//! ([`Strategy::Lean`](pinnersage::ward::Strategy::Lean)) instead of the
//! default [`Strategy::Auto`](pinnersage::ward::Strategy::Auto). `--floor`
//! (with `--repeat N`) also times the floor the matrix path is measured
//! against: the full m×m Gram matrix `X·Xᵀ` with the same product kernel
//! (the AVX-512 register tiles where the CPU has them, ndarray's
//! `matrixmultiply` otherwise) plus one pass over a condensed matrix, and
//! prints `floor_ms=<median>` and `kernel=<name>` on stderr. `--parallel`
//! (built with `--features parallel`) spreads the distance computation over
//! rayon's threads ([`Ward::parallel`](pinnersage::ward::Ward)). On Linux it
//! also prints `extra_mib=<value>`: how far the first linkage call raised the process's
//! peak resident memory (`VmHWM`) above its level after loading the input.
//!
//! Errors (missing file, wrong dtype or shape, non-finite values, bad
//! arguments) print one line on stderr and exit non-zero.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, ReadNpyError};
use pinnersage::ward::{Dendrogram, Strategy, Ward};
use pinnersage::Scalar;

struct Args {
    x: PathBuf,
    weights: Option<PathBuf>,
    repeat: usize,
    lean: bool,
    #[cfg_attr(not(feature = "parallel"), allow(dead_code))]
    parallel: bool,
    floor: bool,
}

const USAGE: &str =
    "usage: linkage X.npy [--weights w.npy] [--repeat N] [--lean] [--floor] [--parallel]";

fn parse_args() -> Result<Args, String> {
    let mut x = None;
    let mut weights = None;
    let mut repeat = 0;
    let mut lean = false;
    let mut parallel = false;
    let mut floor = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--weights" => weights = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "--repeat" => {
                let n = it.next().ok_or(USAGE)?;
                repeat = n
                    .parse()
                    .map_err(|_| format!("--repeat takes a whole number, got {n:?}"))?;
            }
            "--lean" => lean = true,
            "--parallel" if cfg!(feature = "parallel") => parallel = true,
            "--parallel" => {
                return Err(
                    "--parallel needs the `parallel` feature (--features parallel,bench-internals)"
                        .into(),
                )
            }
            "--floor" => floor = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}; {USAGE}")),
            _ if x.is_none() => x = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}; {USAGE}")),
        }
    }
    Ok(Args {
        x: x.ok_or(USAGE)?,
        weights,
        repeat,
        lean,
        parallel,
        floor,
    })
}

/// The matrix in the precision it was stored in.
enum Matrix {
    F32(Array2<f32>),
    F64(Array2<f64>),
}

fn describe(path: &std::path::Path, e: ReadNpyError) -> String {
    format!("cannot read {}: {e}", path.display())
}

fn read_matrix(path: &std::path::Path) -> Result<Matrix, String> {
    match read_npy::<_, Array2<f64>>(path) {
        Ok(x) => Ok(Matrix::F64(x)),
        Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, Array2<f32>>(path)
            .map(Matrix::F32)
            .map_err(|e| match e {
                ReadNpyError::WrongDescriptor(d) => format!(
                    "{}: dtype {d} is not supported (use float32 or float64)",
                    path.display()
                ),
                e => describe(path, e),
            }),
        Err(e) => Err(describe(path, e)),
    }
}

fn read_weights<F: Scalar>(path: &std::path::Path) -> Result<Array1<F>, String> {
    match read_npy::<_, Array1<f64>>(path) {
        Ok(w) => Ok(w.mapv(F::from_f64_rounded)),
        Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, Array1<f32>>(path)
            .map(|w| w.mapv(|v| F::from_f64_rounded(f64::from(v))))
            .map_err(|e| describe(path, e)),
        Err(e) => Err(describe(path, e)),
    }
}

fn cluster<F: Scalar>(
    x: &Array2<F>,
    w: Option<&Array1<F>>,
    args: &Args,
) -> pinnersage::Result<Dendrogram<F>> {
    let ward = if args.lean {
        Ward::new().strategy(Strategy::Lean)
    } else {
        Ward::new()
    };
    #[cfg(feature = "parallel")]
    let ward = ward.parallel(args.parallel);
    match w {
        Some(w) => ward.linkage_weighted(x.view(), w.view()),
        None => ward.linkage(x.view()),
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

/// The floor: `X·Xᵀ` in full with the product kernel the crate's matrix path
/// uses on this CPU, then one pass over the upper triangle (a minimum, so it
/// cannot be optimised away).
fn floor_once<F: Scalar>(x: &Array2<F>) -> F {
    let g = pinnersage::__bench::gram(x.view());
    let mut min = F::infinity();
    for (i, row) in g.rows().into_iter().enumerate() {
        for &v in row.iter().skip(i + 1) {
            min = min.min(v);
        }
    }
    min
}

/// Peak resident memory of this process in KiB (`VmHWM`, Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run<F: Scalar>(x: Array2<F>, args: &Args) -> Result<(), String> {
    let w = args.weights.as_deref().map(read_weights::<F>).transpose()?;
    let before = peak_rss_kib();
    let tree = cluster(&x, w.as_ref(), args).map_err(|e| e.to_string())?;
    if let (Some(a), Some(b)) = (before, peak_rss_kib()) {
        eprintln!("extra_mib={:.1}", b.saturating_sub(a) as f64 / 1024.0);
    }
    if args.repeat > 0 {
        let mut times = Vec::with_capacity(args.repeat);
        let mut floors = Vec::with_capacity(args.repeat);
        for _ in 0..args.repeat {
            let start = Instant::now();
            let t = cluster(&x, w.as_ref(), args).map_err(|e| e.to_string())?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(t);
            if args.floor {
                let start = Instant::now();
                std::hint::black_box(floor_once(&x));
                floors.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
        eprintln!("min_ms={fastest}");
        eprintln!("median_ms={}", median(times));
        if args.floor {
            eprintln!("floor_ms={}", median(floors));
            eprintln!("kernel={}", pinnersage::ward::product_kernel());
        }
    }
    let mut out = String::with_capacity(32 * tree.len() + 16);
    out.push_str("a,b,height,size\n");
    for row in tree.to_scipy().rows() {
        out.push_str(&format!(
            "{},{},{},{}\n",
            row[0] as usize, row[1] as usize, row[2], row[3] as usize
        ));
    }
    print!("{out}");
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| match read_matrix(&args.x)? {
        Matrix::F64(x) => run(x, &args),
        Matrix::F32(x) => run(x, &args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
