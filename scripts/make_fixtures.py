#!/usr/bin/env python3
"""Generate the Ward-linkage fixtures in tests/fixtures/ward/ from scipy.

Run from the repository root:

    python3 -m pip install -r scripts/requirements.txt
    python3 scripts/make_fixtures.py            # write every case, then read it back and check it
    python3 scripts/make_fixtures.py --check    # only read the existing files back and check them

Everything is seeded (numpy.random.default_rng with a fixed seed per case), so with the pinned
versions in scripts/requirements.txt the output is byte-for-byte reproducible.

Conventions (see DESIGN.md, "Ward distance"):
  * scipy's `linkage(X, 'ward')` reports heights h; the crate reports the "paper" distance h**2.
  * Clusters are numbered like scipy: leaves 0..n-1, the cluster made at merge step i is n+i.

Files written for a case NAME (format details in tests/fixtures/ward/README.md):
  NAME.x.csv        m x d input, no header, each value as repr(float) (shortest round-trip)
  NAME.w.csv        weighted cases only: one positive integer weight per row of x
  NAME.z.csv        scipy linkage of X_expanded: header a,b,height,size (height in scipy convention)
  NAME.heights.csv  sorted paper-convention distances (h**2), one per line, no header
  NAME.labels.csv   header k,labels; lines "k,l0 l1 ..." for the unambiguous k in {1,2,3,5,8,13}

For weighted cases X_expanded repeats row i w_i times (np.repeat, so the copies are consecutive)
and z.csv describes that expanded problem; heights.csv drops exactly sum(w_i - 1) zero heights (the
merges of the copies), leaving the m - 1 distances a weighted linkage of the m rows must produce.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "ward"

K_CANDIDATES = (1, 2, 3, 5, 8, 13)
# A cut between two merges is "unambiguous" only with a strict relative gap between their heights.
GAP_REL = 1e-9
# Pairs whose paper distance is within this relative tolerance of the minimum count as tied in the
# naive replays that look for tie-dependent partitions.
TIE_REL = 1e-9
# Number of naive Ward runs with random tie-breaking used to reject tie-dependent cuts.
TIE_RUNS = 24
# Cases whose multiset of merge heights depends on how ties are broken (checked, not assumed):
# for these, heights.csv is scipy's and a correct implementation may legitimately differ.
TIE_DEPENDENT = {"ties_grid", "ties_rounded"}
# Heights from the naive O(n^3) replay must agree with scipy's squared heights to this tolerance.
HEIGHT_REL = 1e-9


# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------

def blobs(rng, m, d, k, center_scale, noise):
    """m points around k gaussian centres; cluster membership uniformly at random."""
    centers = rng.normal(scale=center_scale, size=(k, d))
    assign = rng.integers(0, k, size=m)
    return centers[assign] + noise * rng.normal(size=(m, d))


def case_scipy_ref():
    # scipy's hierarchy_test_data.py X (the one quoted in DESIGN.md).
    x = np.array([
        [1.43054825, -7.5693489],
        [6.95887839, 6.82293382],
        [2.87137846, -9.68248579],
        [7.87974764, -6.05485803],
        [8.24018364, -6.09495602],
        [7.39020262, 8.54004355],
    ])
    return x, None


def case_gauss_small():
    rng = np.random.default_rng(1001)
    return rng.normal(size=(20, 3)), None


def case_clustered_100():
    rng = np.random.default_rng(1002)
    return blobs(rng, 100, 16, 5, center_scale=3.0, noise=1.0), None


def case_clustered_300_d64():
    rng = np.random.default_rng(1003)
    x = blobs(rng, 300, 64, 8, center_scale=1.0, noise=0.35)
    return x / np.linalg.norm(x, axis=1, keepdims=True), None


def case_ties_grid():
    rng = np.random.default_rng(1004)
    return rng.integers(0, 5, size=(60, 2)).astype(np.float64), None


def case_ties_rounded():
    rng = np.random.default_rng(1005)
    return np.round(blobs(rng, 120, 4, 6, center_scale=1.0, noise=0.07), 1), None


def case_duplicates():
    rng = np.random.default_rng(1006)
    base = rng.normal(size=(10, 8))
    x = np.repeat(base, 5, axis=0)
    noisy = rng.choice(50, size=15, replace=False)
    x[noisy] += 1e-3 * rng.normal(size=(15, 8))
    return x[rng.permutation(50)], None


def case_weighted():
    rng = np.random.default_rng(1007)
    x = blobs(rng, 40, 5, 4, center_scale=2.0, noise=1.0)
    w = rng.integers(1, 5, size=40)
    return x, w


def case_one_row():
    rng = np.random.default_rng(1008)
    return rng.normal(size=(1, 3)), None


def case_two_rows():
    rng = np.random.default_rng(1009)
    return rng.normal(size=(2, 2)), None


def case_collinear_1d():
    rng = np.random.default_rng(1010)
    return blobs(rng, 30, 1, 3, center_scale=4.0, noise=0.5), None


def case_large_scale():
    # Values around 1e7 with spread 1e6 and tight clusters: a Gram-trick distance
    # (|x|^2 + |y|^2 - 2 x.y) loses digits here, differences do not.
    rng = np.random.default_rng(1011)
    return 1e7 + 1e6 * blobs(rng, 80, 10, 4, center_scale=1.0, noise=0.05), None


CASES = [
    ("scipy_ref", case_scipy_ref),
    ("gauss_small", case_gauss_small),
    ("clustered_100", case_clustered_100),
    ("clustered_300_d64", case_clustered_300_d64),
    ("ties_grid", case_ties_grid),
    ("ties_rounded", case_ties_rounded),
    ("duplicates", case_duplicates),
    ("weighted", case_weighted),
    ("one_row", case_one_row),
    ("two_rows", case_two_rows),
    ("collinear_1d", case_collinear_1d),
    ("large_scale", case_large_scale),
]

SCIPY_REF_Z = np.array([
    [3, 4, 0.36265956, 2], [1, 5, 1.77045373, 2], [0, 2, 2.55760419, 2],
    [6, 8, 9.10208346, 4], [7, 9, 24.7784379, 6],
])


# --------------------------------------------------------------------------------------------------
# Linkage helpers
# --------------------------------------------------------------------------------------------------

def scipy_linkage(x):
    """scipy's Ward linkage; an empty (0, 4) array for a single observation (scipy refuses it)."""
    if x.shape[0] < 2:
        return np.zeros((0, 4))
    z = linkage(x, method="ward")
    assert np.all(np.diff(z[:, 2]) >= 0), "scipy Ward heights are expected sorted"
    return z


def partition_from_merges(merges, n, k):
    """Dense labels (first-appearance order) after the first n-k merges; merges are (a, b) ids."""
    parent = list(range(2 * n - 1 if n > 0 else 0))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for step, (a, b) in enumerate(merges[: n - k]):
        new = n + step
        parent[find(int(a))] = new
        parent[find(int(b))] = new
    return dense([find(i) for i in range(n)])


def dense(labels):
    seen = {}
    return [seen.setdefault(l, len(seen)) for l in labels]


def naive_ward(x, rng):
    """O(n^3) Lance-Williams Ward in the paper convention (squared distances).

    rng=None breaks ties by lowest index; otherwise a random pair among those within TIE_REL of the
    current minimum is merged. Returns merges as a list of (a, b, distance) with scipy numbering.
    """
    n = x.shape[0]
    diff = x[:, None, :] - x[None, :, :]
    dist = np.einsum("ijk,ijk->ij", diff, diff)
    size = np.ones(n)
    ident = np.arange(n)
    active = np.ones(n, dtype=bool)
    iu = np.triu(np.ones((n, n), dtype=bool), 1)
    merges = []
    for step in range(n - 1):
        masked = np.where(iu & active[:, None] & active[None, :], dist, np.inf)
        dmin = masked.min()
        if rng is None:
            i, j = np.unravel_index(np.argmin(masked), masked.shape)
        else:
            cands = np.argwhere(masked <= dmin * (1.0 + TIE_REL))
            i, j = cands[rng.integers(len(cands))]
        dij = dist[i, j]
        ni, nj = size[i], size[j]
        t = ni + nj + size
        new = ((ni + size) * dist[i] + (nj + size) * dist[j] - size * dij) / t
        dist[i, :] = new
        dist[:, i] = new
        dist[i, i] = 0.0
        size[i] = ni + nj
        active[j] = False
        merges.append((int(ident[i]), int(ident[j]), float(dij)))
        ident[i] = n + step
    return merges


def replay_check(x, z):
    """Replay z's merges (in order) on a naive Lance-Williams matrix of squared distances.

    Returns the worst relative violation of: each merge is a global minimum of the current
    dissimilarities, and its distance equals the reported height squared. Sizes must add up.
    """
    n = x.shape[0]
    if n < 2:
        return 0.0
    diff = x[:, None, :] - x[None, :, :]
    dist = np.einsum("ijk,ijk->ij", diff, diff)
    size = np.ones(n)
    pos = {i: i for i in range(n)}
    active = np.ones(n, dtype=bool)
    iu = np.triu(np.ones((n, n), dtype=bool), 1)
    floor = 1e-12 * max(float(np.max(z[:, 2])) ** 2, np.finfo(np.float64).tiny)
    worst = 0.0
    for step, (a, b, hh, cnt) in enumerate(z):
        i, j = pos.pop(int(a)), pos.pop(int(b))
        dmin = np.where(iu & active[:, None] & active[None, :], dist, np.inf).min()
        dij = dist[i, j]
        worst = max(worst, (dij - dmin) / max(dmin, floor), abs(dij - hh * hh) / max(dij, floor))
        ni, nj = size[i], size[j]
        new = ((ni + size) * dist[i] + (nj + size) * dist[j] - size * dij) / (ni + nj + size)
        dist[i, :] = new
        dist[:, i] = new
        dist[i, i] = 0.0
        size[i] = ni + nj
        active[j] = False
        pos[n + step] = i
        assert int(cnt) == size[i], "sizes do not add up"
    return worst


def max_rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    floor = 1e-12 * max(np.max(np.abs(b)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


# --------------------------------------------------------------------------------------------------
# Computing a case
# --------------------------------------------------------------------------------------------------

def compute_case(name, x, w):
    x = np.ascontiguousarray(x, dtype=np.float64) + 0.0  # + 0.0 turns any -0.0 into 0.0
    m = x.shape[0]
    if w is not None:
        w = np.asarray(w, dtype=np.int64)
        assert w.shape == (m,) and np.all(w >= 1)
        x_exp = np.repeat(x, w, axis=0)
        owner = np.repeat(np.arange(m), w)  # original row of each expanded row
        first_copy = np.concatenate([[0], np.cumsum(w)[:-1]])
    else:
        x_exp = x
        owner = np.arange(m)
        first_copy = np.arange(m)
    n = x_exp.shape[0]

    z = scipy_linkage(x_exp)
    h = z[:, 2]
    paper = h * h

    # scipy's merges, replayed on a naive Lance-Williams matrix, must each be a global minimum.
    err = replay_check(x_exp, z)
    assert err <= HEIGHT_REL, f"{name}: scipy's Z fails the replay check ({err:.3e})"

    # Naive Ward runs with random tie-breaking: they check paper == scipy_height**2 on tie-free data,
    # and reveal heights and partitions that depend on how ties are broken.
    rng = np.random.default_rng(4242)
    runs = [naive_ward(x_exp, None)] + [naive_ward(x_exp, rng) for _ in range(TIE_RUNS)] if n > 1 else []
    errs = [max_rel_err(sorted(r[2] for r in run), np.sort(paper)) for run in runs]
    tie_dependent = bool(errs) and max(errs) > HEIGHT_REL
    assert tie_dependent == (name in TIE_DEPENDENT), (
        f"{name}: naive Ward vs scipy**2 max rel err {max(errs):.3e} "
        f"(expected {'above' if name in TIE_DEPENDENT else 'within'} {HEIGHT_REL:g})")

    heights = np.sort(paper)
    if w is not None:
        drop = int(np.sum(w - 1))
        zeros = int(np.sum(heights == 0.0))
        assert zeros == drop, f"{name}: expected exactly {drop} zero merges (rows distinct), got {zeros}"
        heights = heights[drop:]
        assert heights.size == m - 1

    labels = {}
    for k in K_CANDIDATES:
        if k > n:
            continue
        # Merges 0..n-k-1 are done, merge n-k is not: need a strict gap between them.
        lo = h[n - k - 1] if n - k - 1 >= 0 else None
        hi = h[n - k] if n - k <= n - 2 else None
        if lo is not None and hi is not None and not hi > lo * (1.0 + GAP_REL):
            continue
        if lo is None and hi is not None and not hi > 0.0:
            continue  # k == n but the first merge is at distance 0: no cut gives n clusters
        part = partition_from_merges([(a, b) for a, b, _, _ in z], n, k)
        if n > 1:
            fc = dense(fcluster(z, k, criterion="maxclust").tolist())
            assert fc == part, f"{name}: fcluster maxclust disagrees with the merge replay at k={k}"
        if any(partition_from_merges([(a, b) for a, b, _ in run], n, k) != part for run in runs):
            continue  # the partition depends on how ties are broken
        part = np.asarray(part)
        if np.any(part != part[first_copy][owner]):
            continue  # the cut separates copies of one weighted row
        lab = dense(part[first_copy].tolist())
        assert len(set(lab)) == k
        labels[k] = lab

    return {"x": x, "w": w, "z": z, "heights": heights, "labels": labels,
            "n": n, "tie_dependent": tie_dependent}


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------

def f2s(v):
    s = repr(float(v))
    assert float(s) == float(v) and math.isfinite(float(v))
    return s


def write_case(name, c):
    def write(suffix, lines):
        path = OUT_DIR / f"{name}.{suffix}"
        with open(path, "w", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))

    write("x.csv", [",".join(f2s(v) for v in row) for row in c["x"]])
    if c["w"] is not None:
        write("w.csv", [str(int(v)) for v in c["w"]])
    write("z.csv", ["a,b,height,size"] + [
        f"{int(a)},{int(b)},{f2s(hh)},{int(s)}" for a, b, hh, s in c["z"]
    ])
    write("heights.csv", [f2s(v) for v in c["heights"]])
    write("labels.csv", ["k,labels"] + [
        f"{k},{' '.join(str(l) for l in lab)}" for k, lab in sorted(c["labels"].items())
    ])


MANIFEST_HEADER = "name,m,d,n,weighted,tie_dependent"


def write_manifest(cases):
    """cases.csv: one line per case; n = rows after expanding weights; tie_dependent = the sorted
    heights depend on tie-breaking (compare those cases by replaying merges, not by heights)."""
    lines = [MANIFEST_HEADER] + [
        f"{name},{c['x'].shape[0]},{c['x'].shape[1]},{c['n']},"
        f"{str(c['w'] is not None).lower()},{str(c['tie_dependent']).lower()}"
        for name, c in cases.items()
    ]
    (OUT_DIR / "cases.csv").write_text("".join(l + "\n" for l in lines))


def read_manifest():
    lines = read_lines(OUT_DIR / "cases.csv")
    assert lines[0] == MANIFEST_HEADER
    rows = []
    for line in lines[1:]:
        name, m, d, n, weighted, tie = line.split(",")
        rows.append({"name": name, "m": int(m), "d": int(d), "n": int(n),
                     "weighted": weighted == "true", "tie_dependent": tie == "true"})
    return rows


def read_lines(path):
    with open(path) as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), f"{path}: missing final newline"
    return text.splitlines()


def check_case(name, expected=None, manifest_row=None):
    """Read a case back, recompute from the x/w files and compare exactly. Returns a summary line."""
    p = lambda s: OUT_DIR / f"{name}.{s}"
    x = np.array([[float(t) for t in line.split(",")] for line in read_lines(p("x.csv"))])
    w = None
    if p("w.csv").exists():
        w = np.array([int(t) for t in read_lines(p("w.csv"))])
        assert w.shape == (x.shape[0],) and np.all(w >= 1)
    zl = read_lines(p("z.csv"))
    assert zl[0] == "a,b,height,size"
    z = np.array([[float(t) for t in line.split(",")] for line in zl[1:]]).reshape(-1, 4)
    heights = np.array([float(t) for t in read_lines(p("heights.csv"))])
    ll = read_lines(p("labels.csv"))
    assert ll[0] == "k,labels"
    labels = {}
    for line in ll[1:]:
        k, rest = line.split(",")
        labels[int(k)] = [int(t) for t in rest.split(" ")]

    fresh = compute_case(name, x, w)  # recompute from what the Rust side will parse
    assert np.array_equal(fresh["x"], x), f"{name}: x does not round-trip"
    assert np.array_equal(fresh["z"], z), f"{name}: z does not match a recomputation from x.csv"
    assert np.array_equal(fresh["heights"], heights), f"{name}: heights mismatch"
    assert fresh["labels"] == labels, f"{name}: labels mismatch"
    if expected is not None:
        assert np.array_equal(expected["x"], x) and np.array_equal(expected["z"], z)

    m = x.shape[0]
    n = m if w is None else int(w.sum())
    if manifest_row is not None:
        assert manifest_row == {"name": name, "m": m, "d": x.shape[1], "n": n,
                                "weighted": w is not None,
                                "tie_dependent": fresh["tie_dependent"]}, f"{name}: cases.csv row"
    assert z.shape == (n - 1, 4) if n > 1 else z.shape == (0, 4)
    assert heights.shape == (m - 1,) if m > 0 else True
    for k, lab in labels.items():
        assert len(lab) == m and sorted(set(lab)) == list(range(k))
    if n > 1:
        assert int(z[-1, 3]) == n
        assert np.all(z[:, 0] < z[:, 1]) and np.all(np.diff(z[:, 2]) >= 0)
    return (f"{name:18s} m={m:<4d} d={x.shape[1]:<3d} merges={len(z):<4d} "
            f"zero_heights={int(np.sum(heights == 0)):<3d} tie_dependent={fresh['tie_dependent']!s:5s} "
            f"k={sorted(labels)}")


def write_readme(names):
    from importlib.metadata import version

    text = f"""# Ward linkage fixtures

Generated by `scripts/make_fixtures.py` (run from the repository root:
`python3 scripts/make_fixtures.py`; `--check` only re-reads and verifies), seeded, with the versions
pinned in `scripts/requirements.txt` (numpy {version('numpy')}, scipy {version('scipy')},
fastcluster {version('fastcluster')}). Do not edit by hand; regenerate.

Reference: `scipy.cluster.hierarchy.linkage(X, 'ward')`. scipy reports heights `h`; the crate's
paper convention is `h**2`. Clusters are numbered like scipy: leaves `0..n-1`, merge step `i` makes
cluster `n+i`. Every float is written as Python `repr(float)` (shortest round-trip), so it parses to
the exact same f64. Files end with a newline; no trailing separators.

Files for a case `NAME`:

- `NAME.x.csv`: the m×d input, one row per line, comma-separated, no header.
- `NAME.w.csv` (weighted cases only): one positive integer weight per row of x, no header.
- `NAME.z.csv`: header `a,b,height,size`, then scipy's linkage rows (`a < b`, `size` integers,
  `height` in scipy convention, sorted ascending). For weighted cases this is the linkage of
  `X_expanded` = row i repeated w_i times consecutively (`np.repeat`), so ids refer to expanded rows.
  With ties the merge order is one valid order, not the only one: compare sorted heights (only where
  `cases.csv` says `tie_dependent=false`), or replay the merges and check each is a global minimum.
- `NAME.heights.csv`: the sorted paper-convention distances `h**2`, one per line, no header
  (empty for a single row). Unweighted: all m-1, zeros included. Weighted: exactly `sum(w_i - 1)`
  zeros (the merges of a row's copies) are dropped, leaving the m-1 distances of a weighted linkage.
- `cases.csv`: header `name,m,d,n,weighted,tie_dependent`, one line per case (n = rows after
  expanding weights). `tie_dependent=true` means the sorted heights themselves depend on tie-breaking
  (observed: naive Ward runs with random tie-breaking produce other height multisets, all valid), so
  for those cases compare by the replay check, not by `heights.csv`.
- `NAME.labels.csv`: header `k,labels`, then `k,l0 l1 ... l(m-1)`: flat clusters per original row of x
  (the label of a row's first copy when weighted), from `fcluster(Z, k, 'maxclust')`, renumbered
  0..k-1 in order of first appearance. Only k in {{1,2,3,5,8,13}} whose cut is unambiguous: a strict gap
  `h[n-k] > h[n-k-1]*(1+1e-9)` (n = expanded rows), the same partition in {TIE_RUNS} naive Ward replays
  with random tie-breaking (pairs within 1e-9 relative of the minimum count as tied), and, weighted, no
  row's copies split.

The generator also checks that scipy's `Z` passes the replay check (each merge, in order, is a global
minimum of the current Lance–Williams dissimilarities on squared distances, its distance equals `h**2`
to 1e-9 relative, sizes add up), that a naive O(n³) Ward reproduces scipy's `h**2` to 1e-9 relative on
every case without tie-dependence, and that `scipy_ref` reproduces the linkage quoted in DESIGN.md.

Cases: {", ".join(f"`{n}`" for n in names)}.

| case | m | d | data |
|---|---|---|---|
| `scipy_ref` | 6 | 2 | scipy's `hierarchy_test_data.py` X |
| `gauss_small` | 20 | 3 | standard gaussian |
| `clustered_100` | 100 | 16 | 5 gaussian blobs |
| `clustered_300_d64` | 300 | 64 | 8 blobs, rows L2-normalised (embedding-like) |
| `ties_grid` | 60 | 2 | integers 0..4: exact ties and duplicate rows |
| `ties_rounded` | 120 | 4 | 6 tight blobs (σ=0.07) rounded to 1 decimal: ties and duplicates |
| `duplicates` | 50 | 8 | 10 rows × 5 copies, 15 rows jittered by 1e-3, shuffled |
| `weighted` | 40 | 5 | 4 blobs, weights 1..4 |
| `one_row` | 1 | 3 | single row: z has only the header, labels k=1 |
| `two_rows` | 2 | 2 | two rows |
| `collinear_1d` | 30 | 1 | 3 blobs on a line |
| `large_scale` | 80 | 10 | 1e7 + 1e6·(4 tight blobs): cancellation stress |
"""
    (OUT_DIR / "README.md").write_text(text)


def write_npy_inputs():
    """`.npy` inputs for the `linkage` example's smoke run in .ci/run."""
    npy_dir = OUT_DIR.parent / "npy"
    npy_dir.mkdir(parents=True, exist_ok=True)
    x, w = case_weighted_inputs()
    ref = case_scipy_ref()[0]
    np.save(npy_dir / "scipy_ref_f64.npy", np.asarray(ref, dtype=np.float64))
    np.save(npy_dir / "scipy_ref_f32.npy", np.asarray(ref, dtype=np.float32))
    np.save(npy_dir / "scipy_ref_i32.npy", np.asarray(ref, dtype=np.int32))
    np.save(npy_dir / "weighted_x.npy", np.asarray(x, dtype=np.float64))
    np.save(npy_dir / "weighted_w.npy", np.asarray(w, dtype=np.float64))


def case_weighted_inputs():
    for name, build in CASES:
        if name == "weighted":
            return build()
    raise KeyError("weighted")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only read the existing fixtures back and verify them")
    args = ap.parse_args()

    z_ref = scipy_linkage(case_scipy_ref()[0])
    assert np.allclose(z_ref, SCIPY_REF_Z, rtol=1e-8, atol=0), "scipy_ref does not reproduce DESIGN.md"

    if not args.check:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        expected = {}
        for name, build in CASES:
            x, w = build()
            expected[name] = compute_case(name, x, w)
            write_case(name, expected[name])
        write_manifest(expected)
        write_readme([n for n, _ in CASES])
        write_npy_inputs()
    else:
        expected = {}
    manifest = read_manifest()
    assert [r["name"] for r in manifest] == [n for n, _ in CASES], "cases.csv lists other cases"
    for row in manifest:
        print(check_case(row["name"], expected.get(row["name"]), row))
    print(f"ok: {len(CASES)} cases in {os.path.relpath(OUT_DIR, REPO_ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
