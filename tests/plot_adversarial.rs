//! The pictures on degenerate and extreme inputs: one item, identical items,
//! one or two dimensions, extreme magnitudes, hostile names, extreme sizes
//! and cuts. Each picture either renders as a well-formed SVG without a NaN
//! or infinite coordinate, or is refused with a typed error.
#![cfg(feature = "plot")]

use ndarray::{Array2, Axis};
use pinnersage::plot::{ClusterMap, DendrogramPlot, LabelledTree, Pca, UserView};
use pinnersage::{Action, Error, InMemoryEmbeddings, PinnerSage, Scalar};

const NOW: i64 = 1_000_000;

/// The SVG parses as XML and no attribute holds a NaN or an infinity.
fn assert_clean(svg: &str) {
    let doc = roxmltree::Document::parse(svg).expect("the SVG parses as XML");
    for node in doc.descendants() {
        for a in node.attributes() {
            let v = a.value().to_ascii_lowercase();
            assert!(
                !v.contains("nan") && !v.contains("inf"),
                "attribute {}={:?} of <{}>",
                a.name(),
                a.value(),
                node.tag_name().name()
            );
        }
        if node.is_text() {
            let t = node.text().unwrap_or("");
            assert!(
                !t.contains("NaN") && !t.split_whitespace().any(|w| w == "inf" || w == "-inf"),
                "text {t:?}"
            );
        }
    }
}

/// Both pictures of the user acting once on each row of `x`, under `config`.
fn both<F: Scalar>(x: Array2<F>, config: &PinnerSage) -> (String, String) {
    let m = x.nrows();
    let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
    let actions: Vec<Action<usize>> = (0..m).map(|i| Action::new(i, NOW - i as i64)).collect();
    let view = UserView::compute(config, &actions, &source, NOW).unwrap();
    let name = |i: &usize| format!("item {i}");
    let d = DendrogramPlot::default()
        .render(&view.labelled_tree(name))
        .unwrap();
    let c = ClusterMap::default().render(&view, name).unwrap();
    assert_clean(&d);
    assert_clean(&c);
    (d, c)
}

fn spread(m: usize, d: usize, scale: f64) -> Array2<f64> {
    Array2::from_shape_fn((m, d), |(i, j)| {
        scale * (((i * 7 + j * 13) % 11) as f64 - 5.0 + (i / 4) as f64 * 10.0)
    })
}

#[test]
fn one_item_draws() {
    both(Array2::from_elem((1, 3), 0.5_f64), &PinnerSage::default());
}

#[test]
fn identical_items_draw() {
    both(Array2::from_elem((2, 3), 0.5_f64), &PinnerSage::default());
    both(Array2::from_elem((7, 3), -2.0_f32), &PinnerSage::default());
}

#[test]
fn one_and_two_dimensions_draw() {
    let config = PinnerSage::builder().alpha(20.0).build().unwrap();
    both(spread(12, 1, 1.0), &config);
    both(spread(12, 2, 1.0), &config);
}

#[test]
fn many_dimensions_draw() {
    both(spread(9, 3000, 0.01), &PinnerSage::default());
}

#[test]
fn huge_and_tiny_f32_rows_give_finite_coordinates() {
    for scale in [1e30_f64, 1e-30, 1e18, 1e-18] {
        let x = spread(16, 4, scale).mapv(|v| v as f32);
        let alpha = 20.0 * scale * scale;
        let config = PinnerSage::builder()
            .alpha(if alpha.is_finite() { alpha } else { f64::MAX })
            .build()
            .unwrap();
        let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
        let actions: Vec<Action<usize>> = (0..16).map(|i| Action::new(i, NOW)).collect();
        match UserView::compute(&config, &actions, &source, NOW) {
            Ok(view) => {
                let svg = ClusterMap::default()
                    .render(&view, |i| i.to_string())
                    .unwrap();
                assert_clean(&svg);
                let svg = DendrogramPlot::default()
                    .render(&view.labelled_tree(|i| i.to_string()))
                    .unwrap();
                assert_clean(&svg);
            }
            // f32 rows of 1e30 have squared distances past f32::MAX, rows
            // of 1e-30 below its range: refused with the merge named
            Err(Error::HeightOverflow { .. }) if scale >= 1e18 => {}
            Err(Error::HeightUnderflow { .. }) if scale <= 1e-18 => {}
            Err(e) => panic!("scale {scale}: {e}"),
        }
    }
}

#[test]
fn pca_of_extreme_magnitudes_is_finite_and_scale_free() {
    let base = spread(10, 5, 1.0);
    let reference = Pca::default().fit(base.view()).unwrap();
    for scale in [1e-300_f64, 1e-150, 1e150, 1e300, 5e306] {
        let x = &base * scale;
        let p = Pca::default().fit(x.view()).unwrap();
        assert!(p.coordinates.iter().all(|v| v.is_finite()), "scale {scale}");
        assert!(p.components.iter().all(|v| v.is_finite()), "scale {scale}");
        assert!(p.mean.iter().all(|v| v.is_finite()), "scale {scale}");
        assert!(
            p.explained_variance.iter().all(|v| v.is_finite()) && p.total_variance.is_finite(),
            "scale {scale}: {:?} {}",
            p.explained_variance,
            p.total_variance
        );
        // same directions and ratios as at scale 1
        for j in 0..2 {
            let dot = p.components.row(j).dot(&reference.components.row(j));
            assert!(
                (dot - 1.0).abs() < 1e-6,
                "scale {scale} component {j}: {dot}"
            );
            assert!(
                (p.variance_ratio(j) - reference.variance_ratio(j)).abs() < 1e-9,
                "scale {scale}"
            );
        }
        let c = p.coordinates.index_axis(Axis(1), 0).to_owned() / scale;
        let r = reference.coordinates.index_axis(Axis(1), 0);
        for (a, b) in c.iter().zip(r) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "scale {scale}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn hostile_names_are_escaped_and_shortened() {
    let x = spread(6, 3, 1.0);
    let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
    let actions: Vec<Action<usize>> = (0..6).map(|i| Action::new(i, NOW)).collect();
    let view = UserView::compute(&PinnerSage::default(), &actions, &source, NOW).unwrap();
    let names = [
        "<script>alert(1)</script>".to_string(),
        "a & b \"quoted\" 'single' ]]> <!-- x -->".to_string(),
        "ÉLÉPHANT 象 🐘 \u{202e}rtl".to_string(),
        "x".repeat(100_000),
        String::new(),
        "tab\tnew\nline\r\u{0}\u{1b}".to_string(),
    ];
    let name = |i: &usize| names[*i].clone();
    let d = DendrogramPlot::builder()
        .title("<b>title & \"x\"</b>\u{0}")
        .build()
        .unwrap()
        .render(&view.labelled_tree(name))
        .unwrap();
    let c = ClusterMap::builder()
        .title("<b>title & \"x\"</b>\u{0}")
        .build()
        .unwrap()
        .render(&view, name)
        .unwrap();
    for svg in [&d, &c] {
        assert_clean(svg);
        assert!(!svg.contains("<script>"));
        assert!(svg.len() < 200_000, "a long name is shortened");
    }
}

#[test]
fn max_leaves_extremes() {
    let x = spread(40, 3, 1.0);
    let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
    let actions: Vec<Action<usize>> = (0..40).map(|i| Action::new(i, NOW)).collect();
    let view = UserView::compute(&PinnerSage::default(), &actions, &source, NOW).unwrap();
    assert!(matches!(
        DendrogramPlot::builder().max_leaves(1).build(),
        Err(Error::PlotMaxLeaves { value: 1 })
    ));
    for p in [2, 3, usize::MAX] {
        let svg = DendrogramPlot::builder()
            .max_leaves(p)
            .build()
            .unwrap()
            .render(&view.labelled_tree(|i| i.to_string()))
            .unwrap();
        assert_clean(&svg);
    }
}

#[test]
fn alpha_extremes() {
    for alpha in [0.0, 1e-300, 1e300, f64::MAX] {
        let config = PinnerSage::builder().alpha(alpha).build().unwrap();
        both(spread(12, 3, 1.0), &config);
    }
    let x = spread(5, 2, 1.0);
    let tree = pinnersage::ward::linkage(x.view()).unwrap();
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            LabelledTree::by_index(&tree).cut_at(bad),
            Err(Error::InvalidThreshold { .. })
        ));
        assert!(matches!(
            LabelledTree::by_index(&tree).cut_line(bad),
            Err(Error::InvalidThreshold { .. })
        ));
    }
    for alpha in [0.0, 1e300, f64::MAX] {
        let svg = DendrogramPlot::default()
            .render(&LabelledTree::by_index(&tree).cut_at(alpha).unwrap())
            .unwrap();
        assert_clean(&svg);
    }
}

#[test]
fn image_size_extremes() {
    let x = spread(12, 3, 1.0);
    let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
    let actions: Vec<Action<usize>> = (0..12).map(|i| Action::new(i, NOW)).collect();
    let view = UserView::compute(&PinnerSage::default(), &actions, &source, NOW).unwrap();
    assert!(matches!(
        ClusterMap::builder().size(0, 0).build(),
        Err(Error::PlotSize { .. })
    ));
    assert!(matches!(
        DendrogramPlot::builder().width(0).build(),
        Err(Error::PlotSize { .. })
    ));
    for (w, h) in [(500, 300), (100_000, 100_000), (u32::MAX, u32::MAX)] {
        match ClusterMap::builder().size(w, h).build() {
            Ok(map) => assert_clean(&map.render(&view, |i| i.to_string()).unwrap()),
            Err(e) => assert!(matches!(e, Error::PlotSize { .. }), "{e}"),
        }
    }
    for w in [400, 100_000, u32::MAX] {
        match DendrogramPlot::builder().width(w).build() {
            Ok(plot) => assert_clean(&plot.render(&view.labelled_tree(|i| i.to_string())).unwrap()),
            Err(e) => assert!(matches!(e, Error::PlotSize { .. }), "{e}"),
        }
    }
}

#[test]
fn a_profile_of_another_history_is_refused() {
    let x = spread(12, 3, 1.0);
    let source = InMemoryEmbeddings::with_row_ids(x).unwrap();
    let a: Vec<Action<usize>> = (0..12).map(|i| Action::new(i, NOW)).collect();
    let b: Vec<Action<usize>> = (0..12).map(|i| Action::new(i, NOW - 5)).collect();
    let profile = PinnerSage::default().profile(&a, &source, NOW).unwrap();
    assert!(matches!(
        UserView::from_profile(&profile, &b, &source),
        Err(Error::PlotProfileMismatch { .. })
    ));
    let c: Vec<Action<usize>> = (0..11).map(|i| Action::new(i, NOW)).collect();
    assert!(matches!(
        UserView::from_profile(&profile, &c, &source),
        Err(Error::PlotProfileMismatch { .. })
    ));
}
