#!/usr/bin/env python3
"""The straightforward Python/scipy PinnerSage loop: the reference the Rust
batch is measured against (issue 11).

Per user, on one thread: keep the actions within the window, stack the
embeddings of every action (repeats as rows), scipy Ward linkage, fcluster at
sqrt(alpha) (scipy reports the square root of the paper's merge distance),
per cluster the member nearest the centroid (the medoid) and the importance
sum(exp(-lambda * age_days)).

    python3 scripts/profile_loop.py --actions actions.csv --embeddings items.npy \
        [--now last-day|TS] [--window-days 90|none] [--alpha 4] [--users N] \
        [--rust target/release/examples/batch] [--repeat N]

Reads the same CSV (user,item,timestamp, sorted by user) as the `batch`
example. With --rust, runs that binary on the same input with one thread
right after (the same run, the same users, the same alpha) and prints both
rates. Prints users, profiles, clusters per profile, seconds and profiles/s,
and the CPU time of each side (the Python loop's process time; the whole Rust
process's, CSV parsing and loading included): on a shared machine the CPU-time
ratio is the steadier one. With --repeat N, N whole runs of each side,
interleaved (Python, Rust, Python, ...), and the medians: one run of either
side varies by 5-10% on these VMs.
"""

import argparse
import csv
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

DAY = 86_400


def users_of(path, limit):
    """(user, items, timestamps) per user of a CSV sorted by user."""
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if header != ["user", "item", "timestamp"]:
            sys.exit(f"{path}:1: the header must be user,item,timestamp")
        current, items, stamps, n = None, [], [], 0
        for row in rows:
            u = int(row[0])
            if u != current:
                if current is not None:
                    yield current, items, stamps
                    n += 1
                    if limit and n >= limit:
                        return
                current, items, stamps = u, [], []
            items.append(int(row[1]))
            stamps.append(int(row[2]))
        if current is not None:
            yield current, items, stamps


def profile(emb, items, stamps, now, window, alpha, lam):
    items = np.asarray(items)
    stamps = np.asarray(stamps)
    if window is not None:
        keep = now - stamps <= window
        items, stamps = items[keep], stamps[keep]
    if len(items) == 0:
        return None
    x = emb[items]
    if len(items) == 1:
        labels = np.ones(1, dtype=int)
    else:
        z = linkage(x, "ward")
        labels = fcluster(z, np.sqrt(alpha), "distance")
    clusters = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        xc = x[members]
        centroid = xc.mean(axis=0)
        medoid = items[members[np.argmin(((xc - centroid) ** 2).sum(axis=1))]]
        importance = np.exp(-lam * (now - stamps[members]) / DAY).sum()
        clusters.append((importance, medoid))
    clusters.sort(reverse=True)
    return clusters


def python_run(a):
    """One whole run of the Python side: loading, both CSV passes, the loop.
    Returns (users, profiles, clusters, wall seconds of the loop, CPU seconds
    of the loop, CPU seconds of the whole run) and `now`."""
    # CPU time from here on: loading and both CSV passes, like the Rust process
    cpu_all = time.process_time()
    emb = np.load(a.embeddings)
    window = None if a.window_days == "none" else int(a.window_days) * DAY
    if a.now == "last-day":
        last = max(int(r[2]) for r in csv.reader(open(a.actions)) if r[2] != "timestamp")
        now = (last // DAY + 1) * DAY
    else:
        now = int(a.now)
    users = list(users_of(a.actions, a.users))
    t = time.perf_counter()
    cpu = time.process_time()
    profiles, clusters = 0, 0
    for _, items, stamps in users:
        c = profile(emb, items, stamps, now, window, a.alpha, a.lam)
        if c is not None:
            profiles += 1
            clusters += len(c)
    seconds = time.perf_counter() - t
    end = time.process_time()
    return (len(users), profiles, clusters, seconds, end - cpu, end - cpu_all), now


def rust_run(a, now):
    """One run of the Rust batch binary on the same input, one thread.
    Returns (profiles/s as it reports them, clusters per profile, CPU seconds
    of the whole process)."""
    args = [a.rust, "--actions", a.actions, "--embeddings", a.embeddings, "--now", str(now),
            "--threads", "1", "--window-days", a.window_days, "--alpha", str(a.alpha)]
    env = dict(os.environ)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the whole process: both CSV passes, loading the embeddings, the batch
    rust_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        sys.exit(out.stderr)
    rust = float(re.search(r"profiles/s\s+(\d+)", out.stdout).group(1))
    clusters_rust = re.search(r"clusters/profile\s+([\d.]+)", out.stdout).group(1)
    return rust, clusters_rust, rust_cpu


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--actions", required=True)
    p.add_argument("--embeddings", required=True)
    p.add_argument("--now", default="last-day")
    p.add_argument("--window-days", default="90")
    p.add_argument("--alpha", type=float, default=4.0,
                   help="the cut, paper convention (default 4, the crate's DEFAULT_ALPHA)")
    p.add_argument("--lam", type=float, default=0.01)
    p.add_argument("--users", type=int, default=0, help="only the first N users")
    p.add_argument("--rust", help="the batch example's binary, run on the same input")
    p.add_argument("--repeat", type=int, default=1,
                   help="whole runs of each side, interleaved (Python, Rust, Python, ...); "
                        "the figures are the medians (default 1)")
    a = p.parse_args()
    py_runs, rust_runs = [], []
    for k in range(max(a.repeat, 1)):
        run, now = python_run(a)
        py_runs.append(run)
        users, profiles, clusters, seconds, cpu, cpu_all = run
        if a.repeat > 1:
            print(f"run {k + 1}: python {cpu_all:.2f} s CPU (loop {cpu:.2f} s)", end="", flush=True)
        if a.rust:
            rust_runs.append(rust_run(a, now))
            if a.repeat > 1:
                print(f", rust {rust_runs[-1][2]:.2f} s CPU", end="")
        if a.repeat > 1:
            print()
    med = statistics.median
    users, profiles, clusters = py_runs[0][:3]
    seconds = med(r[3] for r in py_runs)
    cpu = med(r[4] for r in py_runs)
    cpu_all = med(r[5] for r in py_runs)
    rate = users / seconds
    cpu_rate = users / cpu
    label = f" (medians of {len(py_runs)} runs)" if len(py_runs) > 1 else ""
    print(f"python/scipy  users {users}  profiles {profiles}  clusters/profile "
          f"{clusters / max(profiles, 1):.2f}  {seconds:.2f} s  {rate:.0f} profiles/s (1 thread), "
          f"{cpu:.2f} s CPU: {cpu_rate:.0f} profiles per CPU-second{label}")
    cpu_all_rate = users / cpu_all
    print(f"python CPU    {cpu_all:.2f} s with loading and both CSV passes: "
          f"{cpu_all_rate:.0f} profiles per CPU-second")
    if a.rust:
        rust = med(r[0] for r in rust_runs)
        clusters_rust = rust_runs[0][1]
        rust_cpu = med(r[2] for r in rust_runs)
        print(f"rust          users {users}  clusters/profile {clusters_rust}  "
              f"{rust:.0f} profiles/s (1 thread, CSV parsing included)")
        rust_cpu_rate = users / rust_cpu
        print(f"rust CPU      {rust_cpu:.2f} s for the whole process (CSV, embeddings, batch): "
              f"{rust_cpu_rate:.0f} profiles per CPU-second")
        print(f"speed-up      {rust / rate:.1f}x (wall, batch only)  "
              f"{rust_cpu_rate / cpu_all_rate:.1f}x (CPU time, symmetric: both whole, CSV and "
              f"loading included)  {rust_cpu_rate / cpu_rate:.1f}x (CPU time, whole Rust "
              f"process vs the Python loop alone)")


if __name__ == "__main__":
    main()
