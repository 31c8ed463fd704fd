//! The pictures: they parse as XML, draw one label per drawn leaf and one cut
//! line where α says, truncate large trees, and refuse mismatched inputs.
#![cfg(feature = "plot")]

use std::time::{Duration, Instant};

use pinnersage::plot::{ClusterMap, DendrogramPlot, LabelledTree, UserView};
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, Error, InMemoryEmbeddings, PinnerSage};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;
const CUT_STROKE: &str = "#D62728";

struct Fixture {
    source: InMemoryEmbeddings<usize, f64>,
    actions: Vec<Action<usize>>,
    topics: Vec<usize>,
}

fn user(actions: usize, seed: u64) -> Fixture {
    let items = if actions > 500 { 40_000 } else { 4_000 };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let config = CatalogConfig::builder()
        .items(items)
        .dim(16)
        .topics(20)
        .spread(0.7)
        .build()
        .unwrap();
    let catalog = Catalog::<f64>::generate(&config, &mut rng);
    let user_config = UserConfig::builder().actions(actions).build().unwrap();
    let user = catalog.user(&user_config, NOW, &mut rng).unwrap();
    let topics = (0..items).map(|i| catalog.topic_of(i)).collect();
    Fixture {
        source: InMemoryEmbeddings::with_row_ids(catalog.into_embeddings()).unwrap(),
        actions: user.actions,
        topics,
    }
}

fn name(item: &usize) -> String {
    format!("item-{item}")
}

/// Texts of the document, in order.
fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// Points of the polylines with stroke `stroke`.
fn polylines(doc: &roxmltree::Document<'_>, stroke: Option<&str>) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| stroke.is_none_or(|s| n.attribute("stroke") == Some(s)))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn dendrogram_has_one_label_per_leaf_and_one_cut_line_where_alpha_says() {
    let f = user(60, 1);
    let config = PinnerSage::builder().alpha(4.0).build().unwrap();
    let view = UserView::compute(&config, &f.actions, &f.source, NOW).unwrap();
    let m = view.items().len();
    assert!(m > 20 && m < 60, "{m}");
    let svg = DendrogramPlot::default()
        .render(&view.labelled_tree(name))
        .unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = texts(&doc);
    for item in view.items() {
        let label = name(&item.item);
        assert_eq!(texts.iter().filter(|t| **t == label).count(), 1, "{label}");
    }
    let cut = polylines(&doc, Some(CUT_STROKE));
    assert_eq!(cut.len(), 1, "one cut line");
    assert_eq!(texts.iter().filter(|t| t.starts_with("α = 4 (")).count(), 1);
    // brackets (4-point polylines) in merge order: merges at or below α lie
    // left of the cut line, the others right of it
    let x_cut = cut[0][0].0;
    let brackets: Vec<_> = polylines(&doc, None)
        .into_iter()
        .filter(|p| p.len() == 4)
        .collect();
    assert_eq!(brackets.len(), m - 1);
    let merges = view.tree().merges();
    let (mut below, mut above) = (0, 0);
    for (s, b) in merges.iter().zip(&brackets) {
        let x = b[1].0;
        if s.distance <= 4.0 {
            assert!(
                x <= x_cut,
                "merge at {} drawn at {x}, right of the cut {x_cut}",
                s.distance
            );
            below += 1;
        } else {
            assert!(
                x > x_cut,
                "merge at {} drawn at {x}, left of the cut {x_cut}",
                s.distance
            );
            above += 1;
        }
    }
    assert!(below > 0 && above > 0);
    assert_eq!(above + 1, view.profile().len());
    // one dot per medoid (r = 4, filled)
    let dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("r") == Some("4"))
        .count();
    assert_eq!(dots, view.profile().len());
}

#[test]
fn a_cut_at_another_alpha_moves_the_line_and_the_clusters() {
    let f = user(60, 1);
    let x_cut = |alpha: f64| {
        let config = PinnerSage::builder().alpha(alpha).build().unwrap();
        let view = UserView::compute(&config, &f.actions, &f.source, NOW).unwrap();
        let svg = DendrogramPlot::default()
            .render(&view.labelled_tree(name))
            .unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        (
            polylines(&doc, Some(CUT_STROKE))[0][0].0,
            view.profile().len(),
        )
    };
    let (x2, k2) = x_cut(2.0);
    let (x8, k8) = x_cut(8.0);
    assert!(x2 < x8);
    assert!(k2 >= k8);
    // the number-of-clusters rule draws its line between two merges
    let config = PinnerSage::builder().target_clusters(3).build().unwrap();
    let view = UserView::compute(&config, &f.actions, &f.source, NOW).unwrap();
    let merges = view.tree().merges();
    let n = merges.len();
    assert!(
        merges[n - 3].distance < view.cut_height() && view.cut_height() < merges[n - 2].distance
    );
}

#[test]
fn large_histories_are_truncated_and_render_fast() {
    let f = user(1_500, 2);
    let view = UserView::compute(&PinnerSage::default(), &f.actions, &f.source, NOW).unwrap();
    let m = view.items().len();
    assert!(m >= 1_000, "{m} distinct items");
    let plot = DendrogramPlot::builder().max_leaves(40).build().unwrap();
    let t = Instant::now();
    let svg = plot.render(&view.labelled_tree(name)).unwrap();
    let map = ClusterMap::default().render(&view, name).unwrap();
    let elapsed = t.elapsed();
    // generous for an unoptimised build on a shared machine; the release
    // figures are in the explain_user example's output
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = texts(&doc);
    let leaves = texts
        .iter()
        .filter(|t| t.starts_with("item-") || t.starts_with('('))
        .count();
    assert_eq!(leaves, 40);
    assert_eq!(polylines(&doc, Some(CUT_STROKE)).len(), 1);
    roxmltree::Document::parse(&map).unwrap();
}

#[test]
fn cluster_map_draws_every_item_and_marks_the_medoids() {
    let f = user(80, 3);
    let view = UserView::compute(&PinnerSage::default(), &f.actions, &f.source, NOW).unwrap();
    let svg = ClusterMap::default().render(&view, name).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let circles: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .collect();
    let medoids = circles
        .iter()
        .filter(|n| n.attribute("r") == Some("11") && n.attribute("stroke") == Some("none"))
        .count();
    assert_eq!(medoids, view.profile().len().min(10));
    let points = circles
        .iter()
        .filter(|n| {
            n.attribute("r")
                .is_some_and(|r| r.parse::<i32>().unwrap() <= 7)
        })
        .count();
    // every item, plus one legend dot per cluster (r = 6)
    assert_eq!(points, view.items().len() + view.profile().len());
    let texts = texts(&doc);
    for (rank, c) in view.profile().clusters().iter().enumerate() {
        let line = format!("{}. {} —", rank + 1, name(c.medoid()));
        assert_eq!(
            texts.iter().filter(|t| t.starts_with(&line)).count(),
            1,
            "{line}"
        );
    }
    // medoids are real members of their own topic
    for c in view.profile().clusters() {
        let topic = f.topics[*c.medoid()];
        assert!(c.members().iter().all(|m| f.topics[m.item] == topic));
    }
}

#[test]
fn names_with_markup_are_escaped() {
    let f = user(30, 4);
    let view = UserView::compute(&PinnerSage::default(), &f.actions, &f.source, NOW).unwrap();
    let odd = |item: &usize| format!("<b>&\"{item}\"</b>");
    let svg = DendrogramPlot::default()
        .render(&view.labelled_tree(odd))
        .unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let first = odd(&view.items()[0].item);
    assert_eq!(texts(&doc).iter().filter(|t| **t == first).count(), 1);
    roxmltree::Document::parse(&ClusterMap::default().render(&view, odd).unwrap()).unwrap();
}

#[test]
fn from_profile_refuses_a_profile_of_other_data() {
    let f = user(60, 5);
    let config = PinnerSage::default();
    let profile = config.profile(&f.actions, &f.source, NOW).unwrap();
    let view = UserView::from_profile(&profile, &f.actions, &f.source).unwrap();
    assert_eq!(view.profile(), &profile);
    let fewer = &f.actions[..f.actions.len() / 2];
    assert!(matches!(
        UserView::from_profile(&profile, fewer, &f.source),
        Err(Error::PlotProfileMismatch { .. })
    ));
    // a profile changed by an online update since
    let later = [Action::new(f.actions[0].item, NOW + 10)];
    let mut updated = profile.clone();
    updated.update(&later, &f.source, NOW + 10).unwrap();
    assert!(matches!(
        UserView::from_profile(&updated, &f.actions, &f.source),
        Err(Error::PlotProfileMismatch { .. })
    ));
}

#[test]
fn max_clusters_leaves_dropped_rows_grey() {
    let f = user(80, 3);
    let config = PinnerSage::builder()
        .alpha(2.0)
        .max_clusters(Some(2))
        .build()
        .unwrap();
    let view = UserView::compute(&config, &f.actions, &f.source, NOW).unwrap();
    assert_eq!(view.profile().len(), 2);
    assert!(view.cluster_of().iter().any(Option::is_none));
    assert!(view.cluster_of().iter().flatten().all(|&c| c < 2));
    DendrogramPlot::default()
        .render(&view.labelled_tree(name))
        .unwrap();
}

#[test]
fn each_rule_has_its_error() {
    let f = user(30, 6);
    let view = UserView::compute(&PinnerSage::default(), &f.actions, &f.source, NOW).unwrap();
    let tree = view.tree();
    let m = tree.observations();
    assert!(matches!(
        LabelledTree::new(tree, vec![String::new(); m + 1]),
        Err(Error::LengthMismatch { expected, got, .. }) if expected == m && got == m + 1
    ));
    let labelled = LabelledTree::by_index(tree);
    assert!(matches!(
        labelled.clone().clusters(vec![None; m - 1]),
        Err(Error::LengthMismatch { .. })
    ));
    assert_eq!(
        labelled.clone().medoids(&[0, m]).unwrap_err(),
        Error::PlotLeafOutOfRange {
            leaf: m,
            observations: m
        }
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            labelled.clone().cut_at(bad),
            Err(Error::InvalidThreshold { .. })
        ));
        assert!(matches!(
            labelled.clone().cut_line(bad),
            Err(Error::InvalidThreshold { .. })
        ));
    }
    assert_eq!(
        DendrogramPlot::builder().max_leaves(1).build(),
        Err(Error::PlotMaxLeaves { value: 1 })
    );
    assert!(matches!(
        DendrogramPlot::builder().width(100).build(),
        Err(Error::PlotSize { width: 100, .. })
    ));
    assert!(matches!(
        ClusterMap::builder().size(800, 100).build(),
        Err(Error::PlotSize { height: 100, .. })
    ));
    assert_eq!(
        UserView::compute(&PinnerSage::default(), &[], &f.source, NOW).unwrap_err(),
        Error::EmptyPlot
    );
    let missing = std::path::Path::new("/nonexistent-dir/for/sure/dendrogram.svg");
    assert!(matches!(
        DendrogramPlot::default().write(&labelled, missing),
        Err(Error::PlotWrite { .. })
    ));
    // one-dimensional embeddings are mapped on one axis (the other 0)
    let flat = InMemoryEmbeddings::with_row_ids(ndarray::array![[0.0], [1.0], [5.0]]).unwrap();
    let actions: Vec<Action<usize>> = (0..3).map(|i| Action::new(i, NOW)).collect();
    let view1 = UserView::compute(&PinnerSage::default(), &actions, &flat, NOW).unwrap();
    let svg = ClusterMap::default().render(&view1, name).unwrap();
    assert!(roxmltree::Document::parse(&svg).is_ok());
}

#[test]
fn one_or_two_items_still_draw() {
    let source =
        InMemoryEmbeddings::with_row_ids(ndarray::array![[1.0_f32, 0.0, 0.0], [0.0, 1.0, 0.0]])
            .unwrap();
    for actions in [
        vec![Action::new(0, NOW)],
        vec![Action::new(0, NOW), Action::new(1, NOW)],
    ] {
        let view = UserView::compute(&PinnerSage::default(), &actions, &source, NOW).unwrap();
        let svg = DendrogramPlot::default()
            .render(&view.labelled_tree(name))
            .unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(polylines(&doc, Some(CUT_STROKE)).len(), 1);
        let labels = texts(&doc)
            .iter()
            .filter(|t| t.starts_with("item-"))
            .count();
        assert_eq!(labels, actions.len());
        let map = ClusterMap::default().render(&view, name).unwrap();
        roxmltree::Document::parse(&map).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any tree, any cut, any truncation: valid XML, one label per drawn
    /// leaf, one cut line, and the cut line right of every merge at or below
    /// the cut and left of every merge above it.
    #[test]
    fn any_tree_draws_one_label_per_leaf_and_one_cut_line(
        m in 1usize..120,
        seed in 0u64..1000,
        alpha in 0.0f64..40.0,
        max_leaves in 2usize..80,
    ) {
        let mut state = seed.wrapping_add(17);
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64) / ((1u64 << 53) as f64) * 4.0
        };
        let x = ndarray::Array2::from_shape_fn((m, 2), |_| next());
        let tree = pinnersage::ward::linkage(x.view()).unwrap();
        let names: Vec<String> = (0..m).map(|i| format!("leaf-{i}")).collect();
        let labelled = LabelledTree::new(&tree, names).unwrap().cut_at(alpha).unwrap();
        let svg = DendrogramPlot::builder().max_leaves(max_leaves).build().unwrap()
            .render(&labelled).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let drawn = m.min(max_leaves);
        let labels = texts(&doc)
            .iter()
            .filter(|t| t.starts_with("leaf-") || t.starts_with('('))
            .count();
        prop_assert_eq!(labels, drawn);
        let cut = polylines(&doc, Some(CUT_STROKE));
        prop_assert_eq!(cut.len(), 1);
        let x_cut = cut[0][0].0;
        let brackets: Vec<_> = polylines(&doc, None).into_iter().filter(|p| p.len() == 4).collect();
        prop_assert_eq!(brackets.len(), drawn - 1);
        let first = m - drawn;
        for (s, b) in tree.merges()[first..].iter().zip(&brackets) {
            // pixels are rounded: allow one pixel at equality
            if s.distance <= alpha {
                prop_assert!(b[1].0 <= x_cut + 1.0);
            } else {
                prop_assert!(b[1].0 >= x_cut - 1.0);
            }
        }
    }
}
