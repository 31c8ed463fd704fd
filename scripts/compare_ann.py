#!/usr/bin/env python3
"""Time pinnersage's ANN backends against hnswlib and faiss on the very same data, in the same run.

    python3 -m pip install -r scripts/requirements.txt     # numpy, hnswlib, faiss-cpu
    python3 scripts/compare_ann.py                         # 100 000 x 64, 1 000 queries (a few minutes)
    python3 scripts/compare_ann.py --quick                 # 10 000 x 64, 200 queries (smoke test)
    python3 scripts/compare_ann.py --parallel              # also the crate's parallel build
    python3 scripts/compare_ann.py --binary /tmp/retrieval # an already built example (A/B runs)
    python3 scripts/compare_ann.py --backends usearch      # only some of the crate's backends
    python3 scripts/compare_ann.py --repeat 2              # every row twice, interleaved

What it does:
  * writes seeded data to `.npy` (float32): `--topics` gaussian topics in `--dim` dimensions (unit
    centres, noise of per-coordinate deviation spread/sqrt(dim), rows L2-normalised, like the crate's
    `synthetic::Catalog`), `--n` catalogue rows and `--queries` held-out rows from the same topics;
  * computes the exact top-k by brute force in numpy (inner product of unit vectors = cosine) and
    writes it to `.npy` (int64): every library's recall@k is measured against it;
  * hnswlib (`space='ip'`) and faiss `IndexHNSWFlat` (METRIC_INNER_PRODUCT), one thread, M, ef_construction,
    ef_search as given; queries one at a time (time.perf_counter around the loop);
  * usearch (if installed; `metric='ip'`, f32 storage, connectivity M, expansion_add and
    expansion_search as ef_construction and ef_search), one thread, queries one at a time: the C++
    core the Rust `usearch` crate binds, as a candidate backend;
  * the crate's `retrieval` example (built with `cargo build --release --features hnsw,usearch
    --example retrieval` unless `--binary` is given) on the same files, once per backend of
    `--backends` (default `hnsw,usearch`: `HnswIndex` over hnsw_rs and `UsearchIndex` over the usearch
    crate; `exact` is the brute-force reference): `--backend B --items X.npy --queries Q.npy --truth
    T.npy --skip-exact`, with RAYON_NUM_THREADS=1; it reports build seconds, queries/s and recall@k
    on its `summary:` line, timed in-process the same way (queries one at a time), and the usearch
    backend names the SIMD kernel it runs (`usearch kernel:` line);
  * `--repeat R` runs the whole set of rows R times, interleaved (A B C A B C), and reports the
    median of each column with the range;
  * prints one markdown table with the CPU model, its vector ISA, the OS kernel and the load average
    before and after.

Threads: OMP/OpenBLAS/MKL/rayon thread counts are forced to 1 before numpy and faiss are imported
(except the crate's `--parallel` row, which uses every core).
"""

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_data(n, queries, dim, topics, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    total = n + queries
    labels = rng.integers(0, topics, size=total)
    x = centres[labels] + rng.standard_normal((total, dim)) * (spread / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x.astype(np.float32)
    return np.ascontiguousarray(x[:n]), np.ascontiguousarray(x[n:])


def exact_top_k(x, q, k, block=100):
    out = np.empty((q.shape[0], k), dtype=np.int64)
    x64 = x.astype(np.float64)
    for s in range(0, q.shape[0], block):
        sims = q[s:s + block].astype(np.float64) @ x64.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[s:s + block] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found, truth, k):
    hits = sum(len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth))
    return hits / (k * len(truth))


def run_hnswlib(x, q, truth, a):
    import hnswlib
    index = hnswlib.Index(space="ip", dim=x.shape[1])
    t = time.perf_counter()
    index.init_index(max_elements=x.shape[0], ef_construction=a.ef_construction, M=a.m, random_seed=100)
    index.set_num_threads(1)
    index.add_items(x, np.arange(x.shape[0]), num_threads=1)
    build = time.perf_counter() - t
    index.set_ef(a.ef_search)
    found = []
    t = time.perf_counter()
    for row in q:
        labels, _ = index.knn_query(row[None, :], k=a.k, num_threads=1)
        found.append(labels[0])
    secs = time.perf_counter() - t
    return build, len(q) / secs, recall(found, truth, a.k)


def run_faiss(x, q, truth, a):
    import faiss
    faiss.omp_set_num_threads(1)
    index = faiss.IndexHNSWFlat(x.shape[1], a.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = a.ef_construction
    t = time.perf_counter()
    index.add(x)
    build = time.perf_counter() - t
    index.hnsw.efSearch = a.ef_search
    found = []
    t = time.perf_counter()
    for row in q:
        _, labels = index.search(row[None, :], a.k)
        found.append(labels[0])
    secs = time.perf_counter() - t
    return build, len(q) / secs, recall(found, truth, a.k)


def run_usearch(x, q, truth, a):
    from usearch.index import Index
    index = Index(ndim=x.shape[1], metric="ip", dtype="f32", connectivity=a.m,
                  expansion_add=a.ef_construction, expansion_search=a.ef_search)
    t = time.perf_counter()
    index.add(np.arange(x.shape[0]), x, threads=1)
    build = time.perf_counter() - t
    found = []
    t = time.perf_counter()
    for row in q:
        found.append(index.search(row, a.k, threads=1).keys)
    secs = time.perf_counter() - t
    return build, len(q) / secs, recall(found, truth, a.k)


KERNELS = {}


def run_crate(binary, files, a, backend="hnsw", parallel=False):
    cmd = [str(binary), "--backend", backend, "--items", str(files["x"]), "--queries", str(files["q"]),
           "--truth", str(files["t"]), "--skip-exact", "--k", str(a.k), "--m", str(a.m),
           "--ef-construction", str(a.ef_construction), "--ef-search", str(a.ef_search)]
    env = dict(os.environ)
    if parallel:
        cmd.append("--parallel-build")
        env.pop("RAYON_NUM_THREADS")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    m = re.search(r"^summary: build_s (\S+) qps (\S+) recall@\d+ (\S+)$", out, re.M)
    if not m:
        sys.exit(f"no summary line from {binary}:\n{out}")
    kernel = re.search(r"^usearch kernel: (\S+)$", out, re.M)
    if kernel:
        KERNELS[backend] = kernel.group(1)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


CRATE_LABELS = {
    "hnsw": "pinnersage `HnswIndex` (hnsw_rs)",
    "usearch": "pinnersage `UsearchIndex` (usearch crate)",
    "exact": "pinnersage `ExactIndex` (brute force)",
}


def machine():
    model, flags = platform.processor() or "?", ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = value.split()
    except OSError:
        pass
    isa = "avx512f" if "avx512f" in flags else ("avx2+fma" if "avx2" in flags and "fma" in flags else "sse2")
    return model, isa, platform.release()


def pkg(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="catalogue rows")
    p.add_argument("--queries", type=int, default=1_000, help="held-out queries")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--topics", type=int, default=100)
    p.add_argument("--spread", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=100)
    p.add_argument("--ef-search", type=int, default=48)
    p.add_argument("--quick", action="store_true", help="10 000 rows, 200 queries")
    p.add_argument("--parallel", action="store_true", help="also the crate's parallel build (all cores)")
    p.add_argument("--binary", type=Path, help="a built retrieval example (default: cargo build)")
    p.add_argument("--backends", default="hnsw,usearch",
                   help="the crate's backends to run, comma-separated: hnsw,usearch,exact")
    p.add_argument("--repeat", type=int, default=1, help="run every row this many times, interleaved")
    p.add_argument("--skip", default="", help="comma-separated: hnswlib,faiss,usearch (the Python rows)")
    p.add_argument("--out", type=Path, help="directory for the .npy files (default: a temporary one)")
    a = p.parse_args()
    if a.quick:
        a.n, a.queries = 10_000, 200
    skip = set(filter(None, a.skip.split(",")))

    binary = a.binary
    if binary is None:
        log("building the retrieval example ...")
        subprocess.run(["cargo", "build", "--quiet", "--release", "--features", "hnsw,usearch",
                        "--example", "retrieval"], cwd=ROOT, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        binary = target / "release" / "examples" / "retrieval"

    out = a.out or Path(tempfile.mkdtemp(prefix="compare_ann_"))
    out.mkdir(parents=True, exist_ok=True)
    log(f"data: {a.n} x {a.dim}, {a.topics} topics, {a.queries} queries, seed {a.seed} -> {out}")
    x, q = make_data(a.n, a.queries, a.dim, a.topics, a.spread, a.seed)
    truth = exact_top_k(x, q, a.k)
    files = {"x": out / "items.npy", "q": out / "queries.npy", "t": out / "truth.npy"}
    np.save(files["x"], x)
    np.save(files["q"], q)
    np.save(files["t"], truth)

    backends = [b for b in a.backends.split(",") if b]
    for b in backends:
        if b not in CRATE_LABELS:
            sys.exit(f"unknown backend {b}: {', '.join(CRATE_LABELS)}")
    jobs = []  # (row name, thunk), in the order of the table
    if "hnswlib" not in skip:
        jobs.append((f"hnswlib {pkg('hnswlib')}", lambda: run_hnswlib(x, q, truth, a)))
    if "faiss" not in skip:
        try:
            import faiss  # noqa: F401
        except ImportError:
            log("faiss not installed: row left out (pip install faiss-cpu)")
        else:
            jobs.append((f"faiss-cpu {pkg('faiss-cpu')} `IndexHNSWFlat`", lambda: run_faiss(x, q, truth, a)))
    if "usearch" not in skip:
        try:
            import usearch  # noqa: F401
        except ImportError:
            log("usearch not installed: row left out (pip install usearch)")
        else:
            jobs.append((f"usearch {pkg('usearch')} (Python; C++ core of the `usearch` crate)",
                         lambda: run_usearch(x, q, truth, a)))
    for b in backends:
        jobs.append((CRATE_LABELS[b], lambda b=b: run_crate(binary, files, a, b)))
    if a.parallel:
        for b in backends:
            if b != "exact":
                jobs.append((f"{CRATE_LABELS[b]}, parallel build ({os.cpu_count()} cores)",
                             lambda b=b: run_crate(binary, files, a, b, True)))

    load_before = os.getloadavg()
    results = {name: [] for name, _ in jobs}
    for r in range(max(1, a.repeat)):
        for name, thunk in jobs:
            log(f"[{r + 1}/{a.repeat}] {name} ...")
            results[name].append(thunk())
            b_s, qps_, rec = results[name][-1]
            log(f"    build {b_s:.2f} s, {qps_:,.0f} queries/s, recall@{a.k} {rec:.3f}, "
                f"load {os.getloadavg()[0]:.2f}")
    load_after = os.getloadavg()

    def med(values):
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])

    rows = []
    for name, _ in jobs:
        runs = results[name]
        rows.append((name, med([b for b, _, _ in runs]), med([qq for _, qq, _ in runs]),
                     med([rc for _, _, rc in runs]), runs))

    model, isa, kernel = machine()
    ref = next((r for r in rows if r[0].startswith("hnswlib")), None)
    kernels = "".join(f"; {b} kernel: {k}" for b, k in KERNELS.items())
    print(f"CPU: {model} ({isa}); OS kernel: Linux {kernel}{kernels}; load average before "
          f"{' '.join(f'{v:.2f}' for v in load_before)}, after {' '.join(f'{v:.2f}' for v in load_after)}")
    print(f"{a.n} x {a.dim} unit vectors in {a.topics} topics, {a.queries} held-out queries, cosine, "
          f"M = {a.m}, ef_construction = {a.ef_construction}, ef_search = {a.ef_search}, k = {a.k}, "
          f"one thread, queries one at a time; medians of {max(1, a.repeat)} interleaved run(s)")
    print()
    print("| library | build s | queries/s | recall@%d | build / hnswlib | hnswlib q/s / this |" % a.k)
    print("|---|---|---|---|---|---|")
    for name, build, qps, rec, runs in rows:
        rb = f"{build / ref[1]:.2f}×" if ref else "–"
        rq = f"{ref[2] / qps:.2f}×" if ref else "–"
        if len(runs) > 1:
            bs = f"{build:.2f} ({min(r[0] for r in runs):.2f}–{max(r[0] for r in runs):.2f})"
            qs = f"{qps:,.0f} ({min(r[1] for r in runs):,.0f}–{max(r[1] for r in runs):,.0f})"
        else:
            bs, qs = f"{build:.2f}", f"{qps:,.0f}"
        print(f"| {name} | {bs} | {qs} | {rec:.3f} | {rb} | {rq} |")


if __name__ == "__main__":
    main()
