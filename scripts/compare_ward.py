#!/usr/bin/env python3
"""Time pinnersage's Ward linkage against scipy and fastcluster on the same data, in the same run.

    python3 -m pip install -r scripts/requirements.txt
    python3 scripts/compare_ward.py                       # m = 500, 2000, 5000; d = 256; f64
    python3 scripts/compare_ward.py --dtype both --lean   # also f32, and the crate's memory-lean path
    python3 scripts/compare_ward.py --quick               # m = 200, 500; repeat 3 (CI smoke test)
    python3 scripts/compare_ward.py --sizes 2000 --rounds 7  # + the target ratios over 7 interleaved rounds

What it does, for every size m (and dtype):
  * generates seeded clustered data: `--blobs` gaussian blobs in d dimensions, rows L2-normalised
    (like embeddings); the same seed and m always give the same matrix;
  * times, single-threaded, as the median of `--repeat` in-process runs after one warm-up
    (time.perf_counter): scipy `linkage(X, 'ward')`, fastcluster `linkage(X, 'ward')` (pdist plus the
    O(m^2)-memory algorithm), fastcluster `linkage_vector(X, 'ward')` (memory-saving, from vectors);
  * times a "floor" (the work any exact method from the m x d matrix must do): the full Gram matrix
    `X·Xᵀ` (~m^2 d multiply-adds) plus one pass over it, with the product kernel the crate's matrix
    path runs on this CPU (its AVX-512 register tiles, or the `gemm` crate's AVX2+FMA/NEON kernels
    without AVX-512; PINNERSAGE_KERNEL=gemm|matrixmultiply|avx512-tiles forces one; the example
    prints which as `kernel=<name>/<isa>`), reported by `linkage --floor` interleaved
    with the crate's runs; numpy's
    `X @ X.T` (single-thread BLAS) is shown beside it for reference;
  * runs the crate's example `linkage X.npy --repeat N --floor [--lean]` (built once with
    `cargo build --release --features bench-internals --example linkage`), which reports its own in-process median on stderr as
    `median_ms=<value>` (excluding I/O), the floor as `floor_ms=<value>`, the extra peak memory of
    its first linkage call as `extra_mib=<value>` (VmHWM delta, Linux), and the scipy-format linkage
    on stdout;
  * measures the extra peak memory of fastcluster.linkage and linkage_vector the same way: in a
    fresh Python process, the rise of ru_maxrss over its level after importing and loading X;
  * checks the crate's sorted heights against scipy's: max relative error, with an absolute floor of
    1e-12 x the largest height; exits 1 if it exceeds 1e-9 (f64) or 1e-4 (f32);
  * prints a markdown table (stdout; progress goes to stderr).

Threads: OMP/OpenBLAS/MKL/BLIS/vecLib/numexpr/rayon thread counts are forced to 1 before numpy is
imported; the crate process inherits the same environment.
"""

import os

# Must happen before numpy is imported (BLAS reads these once, at load time).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import fastcluster  # noqa: E402
from scipy.cluster.hierarchy import linkage as scipy_linkage  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = {"f64": 1e-9, "f32": 1e-4}
NP_DTYPE = {"f64": np.float64, "f32": np.float32}
MEDIAN_RE = re.compile(r"median_ms\s*=\s*([0-9.eE+-]+)")
FLOOR_RE = re.compile(r"floor_ms\s*=\s*([0-9.eE+-]+)")
KERNEL_RE = re.compile(r"kernel\s*=\s*(\S+)")
KERNELS_SEEN = set()
EXTRA_RE = re.compile(r"extra_mib\s*=\s*([0-9.eE+-]+)")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------

def make_data(m, d, blobs, seed):
    """m rows in `blobs` gaussian clusters, L2-normalised; depends only on (seed, m, d, blobs)."""
    rng = np.random.default_rng([seed, m, d, blobs])
    centers = rng.normal(size=(blobs, d))
    assign = rng.integers(0, blobs, size=m)
    x = centers[assign] + 0.5 * rng.normal(size=(m, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------

def time_median(fn, repeat):
    """Median wall time in ms of `repeat` calls after one warm-up; also returns the last result."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), out


def gram_floor(x):
    g = x @ x.T
    return np.min(g)


EXTRA_MEM_CODE = """
import resource, sys
import numpy as np
import fastcluster

def peak_kib():
    # VmHWM belongs to this process image; ru_maxrss would carry over the parent's peak through
    # fork + exec on Linux and hide everything below it.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform == "darwin" else 1)

x = np.load(sys.argv[1])
before = peak_kib()
getattr(fastcluster, sys.argv[2])(x, method="ward")
print((peak_kib() - before) / 1024)
"""


def python_extra_mib(npy, function):
    """Extra peak memory (MiB) of fastcluster.<function>(X, 'ward') in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", EXTRA_MEM_CODE, str(npy), function],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        log(f"warning: memory probe of fastcluster.{function} failed: {proc.stderr.strip()}")
        return None
    return float(proc.stdout.strip())


@dataclass
class CrateRun:
    median_ms: float
    heights: np.ndarray
    maxrss_mib: float
    wall_s: float
    floor_ms: float | None
    extra_mib: float | None


def build_crate(crate_dir):
    """`cargo build --release --features bench-internals --example linkage`; returns the executable's path."""
    cmd = ["cargo", "build", "--release", "--features", "bench-internals", "--example", "linkage",
           "--message-format=json-render-diagnostics"]
    log("$", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=crate_dir, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: cargo build failed (exit {proc.returncode})")
    exe = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "linkage"
                and msg.get("executable")):
            exe = msg["executable"]
    if exe is None:  # fall back to the conventional location
        target = Path(os.environ.get("CARGO_TARGET_DIR", Path(crate_dir) / "target"))
        exe = target / "release" / "examples" / ("linkage.exe" if os.name == "nt" else "linkage")
    exe = Path(exe)
    if not exe.is_file():
        sys.exit(f"error: built example not found at {exe}")
    return exe


def run_crate(exe, npy, repeat, lean, m):
    """Run the crate's example once; parse heights (stdout) and median_ms (stderr); peak RSS."""
    cmd = [str(exe), str(npy), "--repeat", str(repeat)] + (["--lean"] if lean else ["--floor"])
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}\n{stderr}")

    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines or lines[0].replace(" ", "") != "a,b,height,size":
        sys.exit(f"error: {' '.join(cmd)}: expected CSV header 'a,b,height,size', got {lines[:1]}")
    try:
        rows = np.array([[float(t) for t in line.split(",")] for line in lines[1:]]).reshape(-1, 4)
    except ValueError as e:
        sys.exit(f"error: {' '.join(cmd)}: unparsable linkage row ({e})")
    if rows.shape[0] != m - 1 or (m > 1 and int(rows[-1, 3]) != m):
        sys.exit(f"error: {' '.join(cmd)}: expected {m - 1} merges ending in size {m}, "
                 f"got {rows.shape[0]} rows")
    found = MEDIAN_RE.findall(stderr)
    if not found:
        sys.exit(f"error: {' '.join(cmd)}: no 'median_ms=' on stderr:\n{stderr}")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    floor = FLOOR_RE.findall(stderr)
    extra = EXTRA_RE.findall(stderr)
    KERNELS_SEEN.update(KERNEL_RE.findall(stderr))
    return CrateRun(float(found[-1]), rows[:, 2], rss, wall,
                    float(floor[-1]) if floor else None, float(extra[-1]) if extra else None)


def max_rel_err(heights, reference):
    """Max relative error of sorted heights, with an absolute floor of 1e-12 x the largest height."""
    a = np.sort(np.asarray(heights, dtype=np.float64))
    b = np.sort(np.asarray(reference, dtype=np.float64))
    if a.shape != b.shape:
        return float("inf")
    if b.size == 0:
        return 0.0
    floor = max(1e-12 * float(np.max(np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


# --------------------------------------------------------------------------------------------------
# One configuration
# --------------------------------------------------------------------------------------------------

@dataclass
class Row:
    m: int
    dtype: str
    scipy_ms: float
    fc_ms: float
    fcv_ms: float
    floor_ms: float
    fc_extra_mib: float | None = None
    fcv_extra_mib: float | None = None
    crate: CrateRun | None = None
    lean: CrateRun | None = None
    errs: dict = field(default_factory=dict)
    # --rounds > 1: one (fastcluster ms, numpy Gram ms, crate ms) triple per interleaved round
    rounds: list = field(default_factory=list)


def measure(m, dtype, args, exe, tmpdir):
    x = make_data(m, args.dim, args.blobs, args.seed).astype(NP_DTYPE[dtype])
    x = np.ascontiguousarray(x)
    log(f"m={m} d={args.dim} {dtype}: scipy ...")
    scipy_ms, z_scipy = time_median(lambda: scipy_linkage(x, method="ward"), args.repeat)
    log(f"m={m} d={args.dim} {dtype}: fastcluster.linkage ...")
    fc_ms, z_fc = time_median(lambda: fastcluster.linkage(x, method="ward"), args.repeat)
    log(f"m={m} d={args.dim} {dtype}: fastcluster.linkage_vector ...")
    fcv_ms, z_fcv = time_median(lambda: fastcluster.linkage_vector(x, method="ward"), args.repeat)
    floor_ms, _ = time_median(lambda: gram_floor(x), args.repeat)

    ref = z_scipy[:, 2]
    row = Row(m, dtype, scipy_ms, fc_ms, fcv_ms, floor_ms)
    # Sanity: the two fastcluster paths agree with scipy (not part of the pass/fail verdict).
    for name, z in (("fastcluster.linkage", z_fc), ("fastcluster.linkage_vector", z_fcv)):
        e = max_rel_err(z[:, 2], ref)
        if e > TOLERANCE["f64"]:
            log(f"warning: {name} heights differ from scipy's: max rel err {e:.2e}")

    if exe is not None:
        npy = Path(tmpdir) / f"x_m{m}_d{args.dim}_{dtype}.npy"
        np.save(npy, x)
        log(f"m={m} d={args.dim} {dtype}: extra memory of fastcluster ...")
        row.fc_extra_mib = python_extra_mib(npy, "linkage")
        row.fcv_extra_mib = python_extra_mib(npy, "linkage_vector")
        log(f"m={m} d={args.dim} {dtype}: crate ...")
        row.crate = run_crate(exe, npy, args.repeat, False, m)
        row.errs["crate"] = max_rel_err(row.crate.heights, ref)
        if args.rounds > 1:
            # The VMs' speed drifts by up to 40% for seconds at a time: the targets' two ratios
            # are taken within each round (fastcluster, numpy Gram, crate back to back), and the
            # table reports their medians over the rounds.
            for k in range(args.rounds):
                log(f"m={m} d={args.dim} {dtype}: round {k + 1}/{args.rounds} ...")
                fc_k, _ = time_median(lambda: fastcluster.linkage(x, method="ward"), args.repeat)
                gram_k, _ = time_median(lambda: gram_floor(x), args.repeat)
                crate_k = run_crate(exe, npy, args.repeat, False, m)
                row.errs["crate"] = max(row.errs["crate"], max_rel_err(crate_k.heights, ref))
                row.rounds.append((fc_k, gram_k, crate_k.median_ms))
        if args.lean:
            log(f"m={m} d={args.dim} {dtype}: crate --lean ...")
            row.lean = run_crate(exe, npy, args.repeat, True, m)
            row.errs["crate --lean"] = max_rel_err(row.lean.heights, ref)
        for name, e in row.errs.items():
            log(f"m={m} {dtype}: {name} vs scipy: max rel err {e:.2e} (tolerance {TOLERANCE[dtype]:g})")
    return row


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

def ms(v):
    return "–" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")


def ratio(num, den):
    return "–" if num is None or den is None or den <= 0 else f"{num / den:.2f}×"


def mib(v):
    return "–" if v is None else f"{v:.0f}"


def median_ratio(rounds, num, den):
    """Median over the rounds of the ratio of columns `num` and `den` of each round."""
    if not rounds:
        return None
    return statistics.median(r[num] / r[den] for r in rounds)


def rounds_table(rows):
    """Per-round ratios of the two Ward targets (fastcluster/crate ≥ 5×, crate/Gram ≤ 1.5×)."""
    head = ["m", "dtype", "rounds", "fastcluster ms (median)", "numpy Gram ms (median)",
            "crate ms (median)", "fastcluster/crate (median of rounds)", "range",
            "crate/Gram (median of rounds)", "range"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if not r.rounds:
            continue
        fc_c = sorted(k[0] / k[2] for k in r.rounds)
        c_g = sorted(k[2] / k[1] for k in r.rounds)
        cells = [str(r.m), r.dtype, str(len(r.rounds)),
                 ms(statistics.median(k[0] for k in r.rounds)),
                 ms(statistics.median(k[1] for k in r.rounds)),
                 ms(statistics.median(k[2] for k in r.rounds)),
                 f"{median_ratio(r.rounds, 0, 2):.2f}×", f"{fc_c[0]:.2f}–{fc_c[-1]:.2f}",
                 f"{median_ratio(r.rounds, 2, 1):.2f}×", f"{c_g[0]:.2f}–{c_g[-1]:.2f}"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def table(rows, lean):
    head = ["m", "dtype", "crate ms"]
    if lean:
        head.append("crate lean ms")
    head += ["scipy ms", "fastcluster ms", "fc.linkage_vector ms", "floor ms (crate kernel)",
             "numpy Gram ms", "fastcluster/crate", "scipy/crate", "crate/floor"]
    if lean:
        head.append("linkage_vector/crate-lean")
    head += ["max rel err", "crate extra MiB", "fastcluster extra MiB"]
    if lean:
        head += ["crate lean extra MiB", "linkage_vector extra MiB"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        c = r.crate.median_ms if r.crate else None
        cl = r.lean.median_ms if r.lean else None
        floor = r.crate.floor_ms if r.crate else None
        cells = [str(r.m), r.dtype, ms(c)]
        if lean:
            cells.append(ms(cl))
        cells += [ms(r.scipy_ms), ms(r.fc_ms), ms(r.fcv_ms), ms(floor), ms(r.floor_ms),
                  ratio(r.fc_ms, c), ratio(r.scipy_ms, c), ratio(c, floor)]
        if lean:
            cells.append(ratio(r.fcv_ms, cl))
        cells += [f"{max(r.errs.values()):.1e}" if r.errs else "–",
                  mib(r.crate.extra_mib if r.crate else None), mib(r.fc_extra_mib)]
        if lean:
            cells += [mib(r.lean.extra_mib if r.lean else None), mib(r.fcv_extra_mib)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:  # the layout of numpy's config dict is not a stable API
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated m values (default 500,2000,5000; --quick: 200,500)")
    ap.add_argument("--repeat", type=int, help="timed runs per measurement, median reported "
                                               "(default 5; --quick: 3)")
    ap.add_argument("--dim", type=int, default=256, help="dimension d (default 256)")
    ap.add_argument("--dtype", choices=["f64", "f32", "both"], default="f64", help="default f64")
    ap.add_argument("--lean", action="store_true", help="also time the crate with --lean")
    ap.add_argument("--quick", action="store_true", help="small smoke run: sizes 200,500, repeat 3")
    ap.add_argument("--blobs", type=int, default=16, help="gaussian blobs in the data (default 16)")
    ap.add_argument("--seed", type=int, default=20240611, help="data seed (default 20240611)")
    ap.add_argument("--crate-dir", type=Path, default=REPO_ROOT, help="crate root (default: repo root)")
    ap.add_argument("--binary", type=Path, help="use this linkage executable instead of building one")
    ap.add_argument("--no-crate", action="store_true", help="time only the Python libraries")
    ap.add_argument("--rounds", type=int, default=1, metavar="N",
                    help="after the table's runs, N interleaved rounds of fastcluster.linkage, numpy's Gram "
                         "(`X @ X.T` + one pass, not the crate-kernel floor) and the crate, each a median of "
                         "--repeat runs; a second table gives, per size and dtype, the medians and ranges over "
                         "the rounds of the two ratios the speed targets are about: fastcluster/crate and "
                         "crate/Gram (each taken within a round, so the median of ratios, not the ratio of "
                         "medians). Robust to the machine's speed drifting between sides. Default 1: off")
    args = ap.parse_args()

    sizes = args.sizes or ("200,500" if args.quick else "500,2000,5000")
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.repeat < 1 or any(m < 2 for m in args.sizes) or args.dim < 1 or args.blobs < 1 or args.rounds < 1:
        ap.error("need repeat >= 1, every m >= 2, dim >= 1, blobs >= 1, rounds >= 1")
    dtypes = ["f64", "f32"] if args.dtype == "both" else [args.dtype]

    exe = None
    if not args.no_crate:
        exe = args.binary.resolve() if args.binary else build_crate(args.crate_dir)
        if not exe.is_file():
            sys.exit(f"error: {exe} not found")

    rows = []
    with tempfile.TemporaryDirectory(prefix="compare_ward_") as tmpdir:
        for m in args.sizes:
            for dtype in dtypes:
                rows.append(measure(m, dtype, args, exe, tmpdir))

    print(f"Ward linkage, d = {args.dim}, {args.blobs} L2-normalised gaussian blobs, seed {args.seed}; "
          f"median of {args.repeat} runs after a warm-up; one thread everywhere.")
    print(f"{cpu_name()}; Python {platform.python_version()}, numpy {version('numpy')} "
          f"(BLAS: {blas_name()}), scipy {version('scipy')}, fastcluster {version('fastcluster')}.")
    if exe is not None:
        lean_run = " and `... --lean`" if args.lean else ""
        print(f"crate: `{exe} X.npy --repeat {args.repeat} --floor`{lean_run} "
              "(its own in-process median, I/O excluded).")
    kernel = ", ".join(sorted(KERNELS_SEEN)) or "unknown"
    print(f"floor = full `X·Xᵀ` with the crate's product kernel ({kernel}) + one pass over it, timed by the "
          "crate's example between its own runs; numpy Gram = `X @ X.T` + `np.min` with numpy's BLAS, for "
          "reference. Ratios > 1× mean the crate is faster; crate/floor is how far the crate is from the "
          f"floor. max rel err = crate's sorted heights vs scipy's{' (worst of both paths)' if args.lean else ''}. "
          "extra MiB = rise "
          "of the peak RSS during one call, over the level after loading X.")
    print()
    print(table(rows, args.lean))
    if any(r.rounds for r in rows):
        print()
        print(f"Interleaved rounds ({args.rounds}): in each, fastcluster.linkage, numpy's Gram and the crate "
              f"ran back to back (each the median of {args.repeat} runs); the ratios are taken within a "
              "round, and their median and range over the rounds are shown.")
        print()
        print(rounds_table(rows))

    failed = [(r.m, r.dtype, name, e) for r in rows for name, e in r.errs.items() if not e <= TOLERANCE[r.dtype]]
    for m, dtype, name, e in failed:
        log(f"FAIL: m={m} {dtype}: {name} heights differ from scipy's by {e:.2e} "
            f"(tolerance {TOLERANCE[dtype]:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
