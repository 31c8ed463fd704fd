//! Leaf order and truncated layout of drawn dendrograms: scipy's order on a
//! committed fixture (scripts/make_plot_fixtures.py), and the invariants of a
//! drawing (every leaf once, no crossing branches) on random and tied data.
#![cfg(feature = "plot")]

use ndarray::Array2;
use pinnersage::plot::{leaf_order, TreeLayout};
use pinnersage::ward::{self, Dendrogram};
use proptest::prelude::*;

struct Case {
    name: String,
    x: Array2<f64>,
    z: Vec<(usize, usize, f64, usize)>,
    leaves: Vec<usize>,
    lastp: Vec<(usize, Vec<usize>, Vec<usize>)>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/plot/dendrogram_order.json"
    ))
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let as_usize = |v: &serde_json::Value| v.as_u64().unwrap() as usize;
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rows: Vec<Vec<f64>> = c["x"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect()
                })
                .collect();
            let (m, d) = (rows.len(), rows[0].len());
            let x = Array2::from_shape_fn((m, d), |(i, j)| rows[i][j]);
            let z = c["z"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let r = r.as_array().unwrap();
                    (
                        as_usize(&r[0]),
                        as_usize(&r[1]),
                        r[2].as_f64().unwrap(),
                        as_usize(&r[3]),
                    )
                })
                .collect();
            let leaves = c["leaves"]
                .as_array()
                .unwrap()
                .iter()
                .map(as_usize)
                .collect();
            let lastp = c["lastp"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(p, t)| {
                    let leaves = t["leaves"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(as_usize)
                        .collect();
                    // scipy labels a collapsed leaf "(n)", an observation by its id
                    let sizes = t["ivl"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| {
                            let s = s.as_str().unwrap();
                            s.strip_prefix('(')
                                .and_then(|s| s.strip_suffix(')'))
                                .map_or(1, |n| n.parse().unwrap())
                        })
                        .collect();
                    (p.parse().unwrap(), leaves, sizes)
                })
                .collect();
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                x,
                z,
                leaves,
                lastp,
            }
        })
        .collect()
}

#[test]
fn leaf_order_is_scipys_on_tie_free_data() {
    let cases = cases();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let tree = ward::linkage(case.x.view()).unwrap();
        // the same tree as scipy's (so the order below is a fair comparison)
        for (s, &(a, b, h, size)) in tree.merges().iter().zip(&case.z) {
            assert_eq!((s.a, s.b, s.size), (a, b, size), "{}", case.name);
            assert!(
                (s.distance.sqrt() - h).abs() <= 1e-9 * h.max(1.0),
                "{}",
                case.name
            );
        }
        assert_eq!(leaf_order(&tree), case.leaves, "{}", case.name);
        assert_eq!(
            TreeLayout::new(&tree, usize::MAX).leaves,
            case.leaves,
            "{}",
            case.name
        );
        assert!(!case.lastp.is_empty());
        for (p, leaves, sizes) in &case.lastp {
            let layout = TreeLayout::new(&tree, *p);
            assert_eq!(&layout.leaves, leaves, "{} p={p}", case.name);
            assert_eq!(&layout.leaf_sizes, sizes, "{} p={p}", case.name);
        }
    }
}

/// Every observation once; every subtree's observations contiguous in the
/// order (what makes brackets drawn over them never cross).
fn check_order(tree: &Dendrogram<f64>) {
    let m = tree.observations();
    let order = leaf_order(tree);
    let mut seen = vec![false; m];
    for &o in &order {
        assert!(!seen[o], "leaf {o} twice");
        seen[o] = true;
    }
    assert!(seen.iter().all(|&s| s), "a leaf is missing");
    let mut pos = vec![0; m];
    for (i, &o) in order.iter().enumerate() {
        pos[o] = i;
    }
    // interval of positions under every node
    let mut span: Vec<(usize, usize)> = (0..m).map(|o| (pos[o], pos[o])).collect();
    for s in tree.merges() {
        let (a, b) = (span[s.a], span[s.b]);
        // a drawn left of b, adjacent: one bracket over two touching intervals
        assert_eq!(a.1 + 1, b.0, "children of a merge are not adjacent");
        span.push((a.0, b.1));
        assert_eq!(b.1 - a.0 + 1, s.size);
    }
}

/// A truncated layout: `min(p, m)` leaves covering every observation once;
/// each drawn bracket's centre between its children, children adjacent.
fn check_layout(tree: &Dendrogram<f64>, p: usize) {
    let m = tree.observations();
    let layout = TreeLayout::new(tree, p);
    let n = p.clamp(1, m);
    assert_eq!(layout.leaves.len(), n);
    assert_eq!(layout.leaf_sizes.iter().sum::<usize>(), m);
    assert_eq!(layout.brackets.len(), n - 1);
    assert_eq!(layout.first_drawn, m - n);
    let mut distinct = layout.leaves.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), n);
    for &(centre, a, b) in &layout.brackets {
        assert!(a < b && a < centre && centre < b, "{a} {centre} {b}");
        assert!((centre - (a + b) / 2.0).abs() < 1e-12);
    }
}

#[test]
fn a_single_observation_draws_one_leaf() {
    let x = ndarray::array![[1.0, 2.0]];
    let tree = ward::linkage(x.view()).unwrap();
    assert_eq!(leaf_order(&tree), vec![0]);
    let layout = TreeLayout::new(&tree, 10);
    assert_eq!((layout.leaves, layout.brackets.len()), (vec![0], 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn orders_and_layouts_hold_their_invariants(
        m in 2usize..60,
        seed in 0u64..1000,
        rounded in any::<bool>(),
        p in 1usize..70,
    ) {
        // a cheap deterministic generator; `rounded` puts data on a grid full of ties
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let x = Array2::from_shape_fn((m, 3), |_| {
            let v = next() * 10.0;
            if rounded { v.round() } else { v }
        });
        let tree = ward::linkage(x.view()).unwrap();
        check_order(&tree);
        check_layout(&tree, p);
        check_layout(&tree, usize::MAX);
    }
}
