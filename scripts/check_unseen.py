#!/usr/bin/env python3
"""Checks the `linkage` example against scipy on fresh random data (a new seed each time).

    cargo build --release --example linkage
    python3 scripts/check_unseen.py [SEED] [--lean]

For real-valued data the sorted heights must match scipy's `linkage(X, 'ward')` to 1e-9 relative
(f64) or 1e-4 (f32 input). Data with exact ties (rounded values, small integer grids with
duplicates) has more than one valid dendrogram, and scipy (which updates unsquared distances)
breaks ties by rounding noise, so there every merge the crate reports is replayed on a naive
Lance-Williams matrix and must be a global minimum (fastcluster's test method). Exits 1 on failure.
"""
import subprocess
import sys

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist, squareform

BINARY = "target/release/examples/linkage"


def replay(X, Z, tol=1e-12):
    """Every merge (scipy format, heights = sqrt(distance)) must be a current global minimum."""
    m = X.shape[0]
    D = np.full((2 * m, 2 * m), np.inf)
    D[:m, :m] = squareform(pdist(X, "sqeuclidean"))
    np.fill_diagonal(D, np.inf)
    size = np.zeros(2 * m)
    size[:m] = 1
    active = list(range(m))
    scale = max(D[:m, :m][np.isfinite(D[:m, :m])].max(initial=0.0), 1e-300)
    for step, (a, b, h, s) in enumerate(Z):
        a, b = int(a), int(b)
        idx = np.array(active)
        cur = D[np.ix_(idx, idx)].min()
        dab = D[a, b]
        if dab > cur * (1 + tol) + scale * tol:
            return f"step {step}: merged ({a},{b}) at {dab} but the minimum is {cur}"
        if abs(h * h - dab) > tol * dab + scale * tol:
            return f"step {step}: height² {h * h} but replayed {dab}"
        new = m + step
        active = [c for c in active if c not in (a, b)]
        k = np.array(active, dtype=int)
        if len(k):
            sa, sb, sk = size[a], size[b], size[k]
            v = ((sa + sk) * D[a, k] + (sb + sk) * D[b, k] - sk * dab) / (sa + sb + sk)
            D[new, k] = v
            D[k, new] = v
        size[new] = size[a] + size[b]
        if int(s) != size[new]:
            return f"step {step}: size {s} != {size[new]}"
        active.append(new)
    return None


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 12345
    extra = [a for a in sys.argv[1:] if a.startswith("--")]
    rng = np.random.default_rng(seed)
    worst, failures = 0.0, 0
    for trial in range(40):
        m, d = int(rng.integers(2, 400)), int(rng.integers(1, 40))
        kind = ["real", "rounded", "grid", "real-f32"][trial % 4]
        if kind == "real":
            X = rng.normal(size=(m, d))
        elif kind == "rounded":
            X = np.round(rng.normal(size=(m, d)), 1)
        elif kind == "grid":
            X = rng.integers(0, 3, size=(m, d)).astype(float)
        else:
            X = rng.normal(size=(m, d)).astype(np.float32)
        np.save("/tmp/pinnersage_unseen.npy", X)
        out = subprocess.run([BINARY, "/tmp/pinnersage_unseen.npy", *extra],
                             capture_output=True, text=True, check=True).stdout
        Z = np.array([[float(v) for v in line.split(",")] for line in out.strip().split("\n")[1:]])
        X64 = X.astype(np.float64)
        if kind in ("rounded", "grid"):
            problem = replay(X64, Z)
            verdict = "replay ok" if problem is None else problem
            failures += problem is not None
        else:
            R = linkage(X64, "ward")
            err = np.max(np.abs(np.sort(Z[:, 2]) - R[:, 2]) / np.maximum(R[:, 2], 1e-12 * R[:, 2].max()))
            tol = 1e-4 if kind == "real-f32" else 1e-9
            failures += err > tol
            if kind == "real":
                worst = max(worst, err)
            verdict = f"max rel err vs scipy {err:.1e} (tol {tol:g})"
        print(f"trial {trial:2d} {kind:8s} m={m:3d} d={d:2d}: {verdict}")
    print(f"seed {seed}: worst f64 rel err {worst:.1e}; {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
