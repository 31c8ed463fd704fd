"""Benchmarks of the Python bindings, in one process, one thread each, same data.

1. Ward linkage end to end from a numpy array (m x 256, float32 and float64):
   pinnersage.linkage vs fastcluster.linkage(X, 'ward') vs
   scipy.cluster.hierarchy.linkage(X, 'ward').
2. Batch profiles: PinnerSage.profiles over a synthetic action log (1 thread
   and all threads) vs a pure scipy loop per user (linkage, fcluster at
   sqrt(alpha), medoid, importance) on the same users.

    pip install ./python fastcluster scipy
    python python/bench.py            # the README's table
    python python/bench.py --quick    # small sizes, a smoke test

Prints Markdown tables. Timings are the median of the repeats (wall clock).
"""

import os

# one thread for every library that might start its own (before numpy loads)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import sys  # noqa: E402

# import the installed package, not the source folder beside this script
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy.cluster import hierarchy as sch  # noqa: E402

import pinnersage  # noqa: E402

try:
    import fastcluster  # noqa: E402
except ImportError:  # pragma: no cover
    fastcluster = None


def timed(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def linkage_table(sizes, d, quick):
    rng = np.random.default_rng(0)
    print(f"\n### Ward linkage, d = {d}, one thread, median wall time\n")
    print("| m | dtype | pinnersage | fastcluster | scipy | vs fastcluster | vs scipy | max rel. height diff vs scipy |")
    print("|---|---|---|---|---|---|---|---|")
    for m in sizes:
        x64 = rng.standard_normal((m, d))
        repeats = 1 if quick else (5 if m <= 500 else 3 if m <= 2000 else 2)
        for dtype in (np.float32, np.float64):
            x = x64.astype(dtype)
            pinnersage.linkage(x[: min(m, 50)])  # warm up
            t_ps, z = timed(lambda: pinnersage.linkage(x), repeats)
            if fastcluster is not None:
                t_fc, _ = timed(lambda: fastcluster.linkage(x, "ward"), repeats)
            else:
                t_fc = float("nan")
            t_sp, ref = timed(lambda: sch.linkage(x, "ward"), repeats)
            rel = np.max(np.abs(z[:, 2] - ref[:, 2]) / np.maximum(ref[:, 2], 1e-300))
            fc = "n/a" if fastcluster is None else f"{t_fc * 1e3:.1f} ms"
            fc_ratio = "n/a" if fastcluster is None else f"{t_fc / t_ps:.1f}x"
            print(
                f"| {m} | {np.dtype(dtype).name} | {t_ps * 1e3:.1f} ms | {fc} | "
                f"{t_sp * 1e3:.1f} ms | {fc_ratio} | {t_sp / t_ps:.1f}x | {rel:.1e} |",
                flush=True,
            )


def synthetic_log(users, items, d, topics, seed=1):
    """A catalogue of unit vectors in topics and users with 1-4 interests."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    topic = rng.integers(0, topics, size=items)
    emb = centres[topic] + 0.5 / np.sqrt(d) * rng.standard_normal((items, d))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    by_topic = [np.flatnonzero(topic == t) for t in range(topics)]
    now = 1_700_000_000
    cols = {"user": [], "item": [], "ts": []}
    for u in range(users):
        n = int(rng.integers(20, 400))
        interests = rng.choice(topics, size=int(rng.integers(1, 5)), replace=False)
        picks = np.concatenate([rng.choice(by_topic[t], size=n // len(interests)) for t in interests])
        cols["user"].append(np.full(len(picks), u))
        cols["item"].append(picks)
        cols["ts"].append(now - rng.integers(0, 80 * 86_400, size=len(picks)))
    log = {k: np.concatenate(v).astype(np.int64) for k, v in cols.items()}
    return emb.astype(np.float32), log, now


def scipy_profiles(emb, log, now, alpha=4.0, lam_per_s=0.01 / 86_400):
    """The pure scipy loop a researcher would write: per user, Ward on the
    action embeddings, cut at sqrt(alpha), medoid and importance per cluster."""
    users = log["user"]
    order = np.argsort(users, kind="stable")
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    out = []
    for idx in np.split(order, bounds):
        items = log["item"][idx]
        w = np.exp(-lam_per_s * (now - log["ts"][idx]))
        x = emb[items].astype(np.float64)
        if len(x) == 1:
            labels = np.array([1])
        else:
            labels = sch.fcluster(sch.linkage(x, "ward"), np.sqrt(alpha), "distance")
        clusters = []
        for c in np.unique(labels):
            sel = labels == c
            xc = x[sel]
            medoid = items[sel][np.argmin(((xc - xc.mean(0)) ** 2).sum(1))]
            clusters.append((w[sel].sum(), medoid))
        clusters.sort(reverse=True)
        out.append((int(users[idx[0]]), clusters))
    return out


def batch_table(users, quick):
    emb, log, now = synthetic_log(users=users, items=20_000, d=64, topics=40)
    n_actions = len(log["user"])
    config = pinnersage.PinnerSage()
    print(f"\n### Batch profiles: {users} users, {n_actions} actions, catalogue 20000 x 64 float32\n")
    print("| implementation | wall time | users / s |")
    print("|---|---|---|")
    repeats = 1 if quick else 3
    t1, cols = timed(lambda: config.profiles(log["user"], log["item"], log["ts"], emb, now, threads=1), repeats)
    tn, _ = timed(lambda: config.profiles(log["user"], log["item"], log["ts"], emb, now), repeats)
    ts, ref = timed(lambda: scipy_profiles(emb, log, now), 1)
    ncpu = os.cpu_count()
    for name, t in [
        ("pinnersage `profiles`, threads=1", t1),
        (f"pinnersage `profiles`, threads=all ({ncpu})", tn),
        ("pure scipy loop (linkage + fcluster + numpy), 1 thread", ts),
    ]:
        print(f"| {name} | {t:.2f} s | {users / t:.0f} |")
    # sanity: the same number of clusters per user
    counts = np.bincount(cols["user"], minlength=users)
    same = sum(counts[u] == len(c) for u, c in ref)
    print(f"\nclusters per user equal to the scipy loop's for {same}/{users} users")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-linkage", action="store_true")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; kernel {platform.release()}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {__import__('scipy').__version__}, "
          f"fastcluster {getattr(fastcluster, '__version__', 'missing')}, pinnersage {pinnersage.__version__} "
          f"(product kernel {pinnersage.product_kernel()})")
    if not args.skip_linkage:
        linkage_table([200] if args.quick else [500, 2000, 5000], 256, args.quick)
    if not args.skip_batch:
        batch_table(40 if args.quick else 400, args.quick)


if __name__ == "__main__":
    main()
