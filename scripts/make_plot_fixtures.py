#!/usr/bin/env python3
"""Generate tests/fixtures/plot/dendrogram_order.json: scipy's dendrogram leaf order.

Run from the repository root:

    python3 -m pip install -r scripts/requirements.txt
    python3 scripts/make_plot_fixtures.py

Each case is seeded, real-valued (tie-free) data: X (m x d), scipy's Ward linkage Z (heights in
scipy's convention: the crate's paper-convention distances are their squares), the order in which
`scipy.cluster.hierarchy.dendrogram(Z, no_plot=True)` draws the leaves, and for a few p the leaves of
`dendrogram(Z, p=p, truncate_mode="lastp", no_plot=True)` (an id >= m names a collapsed cluster,
numbered like scipy: the cluster made at merge step i is m + i) with the sizes scipy prints for them.
"""

from __future__ import annotations

import json

import numpy as np
from scipy.cluster.hierarchy import dendrogram, linkage


def case(name: str, m: int, d: int, seed: int, groups: int) -> dict:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(groups, d))
    x = centres[rng.integers(0, groups, size=m)] + rng.normal(size=(m, d))
    z = linkage(x, "ward")
    heights = z[:, 2]
    assert len(np.unique(heights)) == len(heights), "ties: pick another seed"
    full = dendrogram(z, no_plot=True)
    lastp = {}
    for p in (2, 5, 12):
        if p < m:
            t = dendrogram(z, p=p, truncate_mode="lastp", no_plot=True)
            lastp[str(p)] = {"leaves": [int(v) for v in t["leaves"]], "ivl": list(t["ivl"])}
    return {
        "name": name,
        "x": [[float(v) for v in row] for row in x],
        "z": [[int(r[0]), int(r[1]), float(r[2]), int(r[3])] for r in z],
        "leaves": [int(v) for v in full["leaves"]],
        "lastp": lastp,
    }


def main() -> None:
    cases = [
        case("small", 7, 2, 11, 2),
        case("groups", 30, 3, 12, 4),
        case("wide", 60, 8, 13, 5),
    ]
    with open("tests/fixtures/plot/dendrogram_order.json", "w") as f:
        json.dump({"scipy": __import__("scipy").__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
