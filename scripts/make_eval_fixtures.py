#!/usr/bin/env python3
"""Generate the complete-linkage fixtures in tests/fixtures/eval/ from scipy.

Run from the repository root (versions pinned in scripts/requirements.txt):

    python3 scripts/make_eval_fixtures.py

For each case NAME it writes
  NAME.x.csv   m x d input, no header, repr(float) values (seeded numpy data)
  NAME.z.csv   scipy.cluster.hierarchy.linkage(X, 'complete') (Euclidean), header a,b,height,size
  NAME.k.csv   header k,labels; "k,l0 l1 ..." flat clusters from fcluster(Z, k, 'maxclust'),
               relabelled densely by first appearance (row 0 -> 0), for k in 1..=min(m, 8)

tests/eval_complete_linkage.rs checks the crate's complete linkage (through kodama) against them:
heights equal to 1e-12, and the same partition for every k (robust to the order of tied merges).
"""

from __future__ import annotations

import pathlib

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "eval"


def dense(labels):
    seen: dict[int, int] = {}
    return [seen.setdefault(int(v), len(seen)) for v in labels]


def case(name: str, x: np.ndarray) -> None:
    z = linkage(x, "complete")
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{name}.x.csv", "w") as f:
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    with open(OUT / f"{name}.z.csv", "w") as f:
        f.write("a,b,height,size\n")
        for a, b, h, s in z:
            f.write(f"{int(a)},{int(b)},{float(h)!r},{int(s)}\n")
    with open(OUT / f"{name}.k.csv", "w") as f:
        f.write("k,labels\n")
        m = x.shape[0]
        heights = z[:, 2]
        for k in range(1, min(m, 8) + 1):
            # skip k whose boundary merge is tied: the partition is then ambiguous
            if 0 < m - k < m - 1 and heights[m - k - 1] == heights[m - k]:
                continue
            lab = dense(fcluster(z, k, "maxclust"))
            if len(set(lab)) != k:
                continue
            f.write(f"{k}," + " ".join(map(str, lab)) + "\n")


def main() -> None:
    rng = np.random.default_rng(20200823)
    # three blobs of unit vectors in 8-d, like a user's interests
    centres = rng.normal(size=(3, 8))
    x = np.concatenate([c + 0.3 * rng.normal(size=(7, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    case("blobs", x)
    # uniform points in the plane
    case("uniform", rng.uniform(size=(15, 2)))
    # the DESIGN.md reference matrix (scipy's own test data)
    ref = np.array([[1.43054825, -7.5693489], [6.95887839, 6.82293382], [2.87137846, -9.68248579],
                    [7.87974764, -6.05485803], [8.24018364, -6.09495602], [7.39020262, 8.54004355]])
    case("scipy_ref", ref)


if __name__ == "__main__":
    main()
