//! Ward linkage of an `.npy` matrix, printed in scipy's format.
//!
//! ```text
//! cargo run --release --example linkage -- X.npy [--weights w.npy] [--repeat N]
//! ```
//!
//! Reads an m×d `.npy` of `f32` or `f64` (clustered in that precision) and
//! prints the linkage as CSV on stdout: a header `a,b,height,size`, then one row
//! per merge with `height = sqrt(distance)` as scipy reports it, in Rust's
//! shortest round-trip formatting. `--weights` takes a length-m `.npy` of
//! positive row weights (`f32` or `f64`). `--repeat N` also times `N` in-process
//! calls of the linkage function after one warm-up (file I/O excluded) and
//! prints `median_ms=<value>` on stderr.
//!
//! Errors (missing file, wrong dtype or shape, non-finite values, bad
//! arguments) print one line on stderr and exit non-zero.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, ReadNpyError};
use pinnersage::ward::{self, Dendrogram};
use pinnersage::Scalar;

struct Args {
    x: PathBuf,
    weights: Option<PathBuf>,
    repeat: usize,
}

const USAGE: &str = "usage: linkage X.npy [--weights w.npy] [--repeat N]";

fn parse_args() -> Result<Args, String> {
    let mut x = None;
    let mut weights = None;
    let mut repeat = 0;
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

fn cluster<F: Scalar>(x: &Array2<F>, w: Option<&Array1<F>>) -> pinnersage::Result<Dendrogram<F>> {
    match w {
        Some(w) => ward::linkage_weighted(x.view(), w.view()),
        None => ward::linkage(x.view()),
    }
}

fn run<F: Scalar>(x: Array2<F>, args: &Args) -> Result<(), String> {
    let w = args.weights.as_deref().map(read_weights::<F>).transpose()?;
    let tree = cluster(&x, w.as_ref()).map_err(|e| e.to_string())?;
    if args.repeat > 0 {
        let mut times = Vec::with_capacity(args.repeat);
        for _ in 0..args.repeat {
            let start = Instant::now();
            let t = cluster(&x, w.as_ref()).map_err(|e| e.to_string())?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(t);
        }
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2.0
        };
        eprintln!("median_ms={median}");
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
