//! Shared test support: fixture reading, the replay checker and the naive Ward oracle.
#![allow(dead_code)]

use std::path::PathBuf;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use pinnersage::ward::{self, Dendrogram, Strategy, Ward};
use pinnersage::Scalar;

/// Every way the crate can compute a Ward linkage of (optionally weighted) rows,
/// by name: the free functions (matrix path at these sizes), both forced
/// strategies, and `Auto` under a budget too small for the matrix (which must
/// fall back to the lean path). Conformance tests run on all of them.
pub fn all_linkages<F: Scalar>(
    x: ArrayView2<'_, F>,
    weights: Option<ArrayView1<'_, F>>,
) -> Vec<(&'static str, Dendrogram<F>)> {
    let matrix = Ward::new().strategy(Strategy::Matrix);
    let lean = Ward::new().strategy(Strategy::Lean);
    let over_budget = Ward::new().memory_budget(0);
    let mut out = Vec::new();
    match weights {
        None => {
            out.push(("linkage", ward::linkage(x).unwrap()));
            let ones = Array1::from_elem(x.nrows(), F::one());
            out.push((
                "linkage_weighted(1)",
                ward::linkage_weighted(x, ones.view()).unwrap(),
            ));
            out.push(("Matrix", matrix.linkage(x).unwrap()));
            out.push(("Lean", lean.linkage(x).unwrap()));
            out.push((
                "Lean weighted(1)",
                lean.linkage_weighted(x, ones.view()).unwrap(),
            ));
            out.push(("Auto over budget", over_budget.linkage(x).unwrap()));
        }
        Some(w) => {
            out.push(("linkage_weighted", ward::linkage_weighted(x, w).unwrap()));
            out.push(("Matrix weighted", matrix.linkage_weighted(x, w).unwrap()));
            out.push(("Lean weighted", lean.linkage_weighted(x, w).unwrap()));
            out.push((
                "Auto over budget weighted",
                over_budget.linkage_weighted(x, w).unwrap(),
            ));
        }
    }
    out
}

/// A scipy-generated fixture case (see tests/fixtures/ward/README.md).
pub struct Fixture {
    pub name: String,
    pub x: Array2<f64>,
    pub weights: Option<Array1<f64>>,
    /// scipy's linkage rows (a, b, height, size) on the expanded data.
    pub z: Vec<(usize, usize, f64, usize)>,
    /// Sorted paper-convention distances to compare against (zeros of
    /// duplicated copies dropped for weighted cases).
    pub heights: Vec<f64>,
    /// (k, labels per row) for unambiguous cuts.
    pub labels: Vec<(usize, Vec<usize>)>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ward")
}

fn read(name: &str, ext: &str) -> Option<String> {
    std::fs::read_to_string(fixture_dir().join(format!("{name}.{ext}"))).ok()
}

fn parse_f64(s: &str) -> f64 {
    s.trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad float {s:?}: {e}"))
}

/// Names of all fixture cases (every `*.x.csv`).
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".x.csv").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

pub fn load_fixture(name: &str) -> Fixture {
    let xs = read(name, "x.csv").expect("x.csv");
    let rows: Vec<Vec<f64>> = xs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(parse_f64).collect())
        .collect();
    let d = rows[0].len();
    let x = Array2::from_shape_vec((rows.len(), d), rows.concat()).expect("rectangular x");
    let weights = read(name, "w.csv").map(|s| {
        s.lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_f64)
            .collect::<Array1<f64>>()
    });
    let z = read(name, "z.csv")
        .expect("z.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].trim().parse().unwrap(),
                f[1].trim().parse().unwrap(),
                parse_f64(f[2]),
                f[3].trim().parse().unwrap(),
            )
        })
        .collect();
    let heights = read(name, "heights.csv")
        .expect("heights.csv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_f64)
        .collect();
    let labels = read(name, "labels.csv")
        .expect("labels.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, rest) = l.split_once(',').expect("k,labels");
            let labels = rest
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            (k.trim().parse().unwrap(), labels)
        })
        .collect();
    Fixture {
        name: name.to_owned(),
        x,
        weights,
        z,
        heights,
        labels,
    }
}

/// Relative difference with an absolute floor `floor`.
pub fn rel_err(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

/// Replays a dendrogram on a naive Lance–Williams matrix (fastcluster's test
/// method): every reported merge must be a global minimum of the current
/// dissimilarities, its distance must equal that minimum and sizes must add up.
///
/// Works in f64 from the f64 data; `tol` is the relative tolerance.
/// Returns Err with a description on the first violation.
pub fn replay_check<F: Scalar>(
    x: ArrayView2<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
    tree: &Dendrogram<F>,
    tol: f64,
) -> Result<(), String> {
    let m = x.nrows();
    if tree.len() != m.saturating_sub(1) {
        return Err(format!("{} merges for {m} observations", tree.len()));
    }
    let w: Vec<f64> = weights.map_or(vec![1.0; m], |w| w.to_vec());
    let n = 2 * m;
    let mut d = vec![f64::NAN; n * n];
    let mut weight = vec![0.0; n];
    let mut size = vec![0usize; n];
    let mut active: Vec<usize> = (0..m).collect();
    for i in 0..m {
        weight[i] = w[i];
        size[i] = 1;
        for j in 0..m {
            let s: f64 = x
                .row(i)
                .iter()
                .zip(x.row(j))
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            d[i * n + j] = s * 2.0 * w[i] * w[j] / (w[i] + w[j]);
        }
    }
    let scale = d
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, &b| a.max(b))
        .max(f64::MIN_POSITIVE);
    for (step, merge) in tree.iter().enumerate() {
        let (a, b) = (merge.a, merge.b);
        if a >= b || !active.contains(&a) || !active.contains(&b) {
            return Err(format!(
                "step {step}: ({a}, {b}) is not a pair of active clusters"
            ));
        }
        let mut min = f64::INFINITY;
        for (p, &i) in active.iter().enumerate() {
            for &j in &active[p + 1..] {
                min = min.min(d[i * n + j]);
            }
        }
        let dab = d[a * n + b];
        let reported = merge.distance.to_f64_lossless();
        // absolute floor: rounding of the initial distances is relative to the
        // data's scale, not to each (possibly tiny) distance
        let floor = scale * tol;
        if dab > min + tol * min.abs() + floor {
            return Err(format!(
                "step {step}: merged ({a}, {b}) at {dab} but the minimum is {min}"
            ));
        }
        if (reported - dab).abs() > tol * dab.abs() + floor {
            return Err(format!(
                "step {step}: reported distance {reported} but the replayed one is {dab}"
            ));
        }
        if merge.size != size[a] + size[b] {
            return Err(format!(
                "step {step}: size {} != {} + {}",
                merge.size, size[a], size[b]
            ));
        }
        let new = m + step;
        size[new] = merge.size;
        weight[new] = weight[a] + weight[b];
        active.retain(|&c| c != a && c != b);
        for &k in &active {
            let (wa, wb, wk) = (weight[a], weight[b], weight[k]);
            let v =
                ((wa + wk) * d[a * n + k] + (wb + wk) * d[b * n + k] - wk * dab) / (wa + wb + wk);
            d[new * n + k] = v;
            d[k * n + new] = v;
        }
        active.push(new);
    }
    Ok(())
}

/// Naive O(m³·d) Ward: at every step merge the pair of clusters with the
/// smallest `2·wA·wB/(wA+wB)·‖μA − μB‖²`, recomputed from centroids (no
/// Lance–Williams). Returns the sorted merge distances.
pub fn naive_ward_heights(
    x: ArrayView2<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Vec<f64> {
    naive_ward(x, weights).0
}

/// The naive oracle's sorted heights, or `None` where they are not unique:
/// where at some step a pair sharing a cluster with the chosen pair was
/// within `1e-9` (relative) of the smallest positive cost. Such near-ties
/// (exact ties in real arithmetic, rounded differently by two correct
/// implementations) can send the merge sequence, and so the later heights,
/// down different valid paths; the replay check (every merge a global
/// minimum) is then the test. Ties between disjoint pairs are harmless:
/// Ward is reducible, so both merges happen either way.
pub fn naive_ward_heights_if_unique(
    x: ArrayView2<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Option<Vec<f64>> {
    let (heights, tied) = naive_ward(x, weights);
    (!tied).then_some(heights)
}

fn naive_ward(x: ArrayView2<'_, f64>, weights: Option<ArrayView1<'_, f64>>) -> (Vec<f64>, bool) {
    let m = x.nrows();
    let mut centroids: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut w: Vec<f64> = weights.map_or(vec![1.0; m], |w| w.to_vec());
    let mut alive: Vec<bool> = vec![true; m];
    let mut heights = Vec::with_capacity(m.saturating_sub(1));
    let mut tied = false;
    for _ in 1..m {
        let mut best = (f64::INFINITY, 0, 0);
        let mut costs = Vec::new();
        for i in 0..m {
            if !alive[i] {
                continue;
            }
            for j in i + 1..m {
                if !alive[j] {
                    continue;
                }
                let sq: f64 = centroids[i]
                    .iter()
                    .zip(&centroids[j])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                let cost = 2.0 * w[i] * w[j] / (w[i] + w[j]) * sq;
                costs.push((cost, i, j));
                if cost < best.0 {
                    best = (cost, i, j);
                }
            }
        }
        let (cost, i, j) = best;
        if cost > 0.0 {
            tied |= costs.iter().any(|&(c, p, q)| {
                (p, q) != (i, j)
                    && (p == i || p == j || q == i || q == j)
                    && (c - cost).abs() <= 1e-9 * cost
            });
        }
        let total = w[i] + w[j];
        let merged: Vec<f64> = centroids[i]
            .iter()
            .zip(&centroids[j])
            .map(|(a, b)| (w[i] * a + w[j] * b) / total)
            .collect();
        centroids[i] = merged;
        w[i] = total;
        alive[j] = false;
        heights.push(cost);
    }
    heights.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (heights, tied)
}

/// Flat labels of `m` observations after applying the first `k` rows of a
/// scipy-format linkage `(a, b, ...)` (clusters numbered `m + row`).
pub fn scipy_labels_after(m: usize, z: &[(usize, usize)], k: usize) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..m + k).collect();
    for (row, &(a, b)) in z[..k].iter().enumerate() {
        parent[a] = m + row;
        parent[b] = m + row;
    }
    (0..m)
        .map(|mut i| {
            while parent[i] != i {
                i = parent[i];
            }
            i
        })
        .collect()
}

/// `true` if two labelings describe the same partition.
pub fn same_partition(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ab = std::collections::HashMap::new();
    let mut ba = std::collections::HashMap::new();
    a.iter()
        .zip(b)
        .all(|(x, y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
}

/// Makes rayon's global pool fail to start, as a limit on threads or on
/// address space does (a spawn handler refuses every thread). The failure is
/// process-wide: call it first, in a test binary of its own. Panics if the
/// global pool was built already.
#[cfg(feature = "parallel")]
pub fn refuse_rayon_threads() {
    let refused = rayon::ThreadPoolBuilder::new()
        .spawn_handler(|_| Err(std::io::Error::other("threads refused by the test")))
        .build_global();
    assert!(
        refused.is_err(),
        "the global pool was built before the test"
    );
}
