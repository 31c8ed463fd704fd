//! `dendrogram.svg`: the Ward tree of a user's items, leaves named, cut at α.

use std::fmt::Debug;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{DendrogramFault, Error, Result};
use crate::scalar::Scalar;
use crate::ward::Dendrogram;

use super::order::TreeLayout;
use super::style::{clean, colour, number, render_error, shorten, text_width, write_file, CUT};
use super::view::UserView;

/// A dendrogram with what a picture of it shows: a name per observation,
/// and optionally flat clusters (colours), marked leaves (medoids) and a cut
/// line.
///
/// Build it from any [`Dendrogram`] with [`new`](Self::new), or from a
/// [`UserView`] with [`UserView::labelled_tree`]. Each setter checks its
/// input against the tree (lengths, indices), so names, colours and marks
/// cannot silently belong to another tree.
#[derive(Debug, Clone)]
pub struct LabelledTree<'a, F> {
    tree: &'a Dendrogram<F>,
    names: Vec<String>,
    clusters: Vec<Option<usize>>,
    medoids: Vec<bool>,
    cut: Option<f64>,
}

impl<'a, F: Scalar> LabelledTree<'a, F> {
    /// `tree` with `names[i]` as the label of observation `i`; no colours,
    /// marks or cut yet.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if there is not one name per observation.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::{DendrogramPlot, LabelledTree};
    ///
    /// let x = array![[0.0, 0.0], [0.0, 1.0], [10.0, 0.0]];
    /// let tree = pinnersage::ward::linkage(x.view())?;
    /// let names = vec!["tea".to_string(), "coffee".into(), "hammer".into()];
    /// let labelled = LabelledTree::new(&tree, names)?.cut_at(4.0)?.medoids(&[0, 2])?;
    /// let svg = DendrogramPlot::default().render(&labelled)?;
    /// assert!(svg.contains("hammer") && svg.contains("α = 4"));
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn new(tree: &'a Dendrogram<F>, names: Vec<String>) -> Result<Self> {
        let m = tree.observations();
        if names.len() != m {
            return Err(Error::LengthMismatch {
                what: "leaf names vs observations of the dendrogram",
                expected: m,
                got: names.len(),
            });
        }
        Ok(LabelledTree {
            tree,
            names,
            clusters: vec![None; m],
            medoids: vec![false; m],
            cut: None,
        })
    }

    /// `tree` labelled by observation index (`0`, `1`, …).
    pub fn by_index(tree: &'a Dendrogram<F>) -> Self {
        let m = tree.observations();
        LabelledTree {
            tree,
            names: (0..m).map(|i| i.to_string()).collect(),
            clusters: vec![None; m],
            medoids: vec![false; m],
            cut: None,
        }
    }

    /// Cut at `alpha` (paper convention): the line drawn there, and the flat
    /// clusters of [`Dendrogram::cut`] as colours.
    ///
    /// # Errors
    /// [`Error::InvalidThreshold`] if `alpha` is negative or not finite.
    pub fn cut_at(mut self, alpha: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::InvalidThreshold { value: alpha });
        }
        let m = self.tree.observations();
        let applied = self
            .tree
            .merges()
            .partition_point(|s| s.distance.to_f64_lossless() <= alpha);
        self.clusters = self
            .tree
            .cut_k(m - applied)?
            .into_iter()
            .map(Some)
            .collect();
        self.cut = Some(alpha);
        Ok(self)
    }

    /// Colours by flat cluster, `clusters[i]` for observation `i` (`None`:
    /// grey), replacing those of [`cut_at`](Self::cut_at).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if there is not one entry per observation.
    pub fn clusters(mut self, clusters: Vec<Option<usize>>) -> Result<Self> {
        if clusters.len() != self.tree.observations() {
            return Err(Error::LengthMismatch {
                what: "cluster labels vs observations of the dendrogram",
                expected: self.tree.observations(),
                got: clusters.len(),
            });
        }
        self.clusters = clusters;
        Ok(self)
    }

    /// The cut line at merge distance `height` (paper convention), without
    /// changing the colours.
    ///
    /// # Errors
    /// [`Error::InvalidThreshold`] if `height` is negative or not finite.
    pub fn cut_line(mut self, height: f64) -> Result<Self> {
        if !(height.is_finite() && height >= 0.0) {
            return Err(Error::InvalidThreshold { value: height });
        }
        self.cut = Some(height);
        Ok(self)
    }

    /// Marks observations `leaves` (the medoids) with a dot.
    ///
    /// # Errors
    /// [`Error::PlotLeafOutOfRange`] for an index `>= m`.
    pub fn medoids(mut self, leaves: &[usize]) -> Result<Self> {
        let m = self.tree.observations();
        for &leaf in leaves {
            if leaf >= m {
                return Err(Error::PlotLeafOutOfRange {
                    leaf,
                    observations: m,
                });
            }
            self.medoids[leaf] = true;
        }
        Ok(self)
    }

    /// The tree.
    pub fn tree(&self) -> &Dendrogram<F> {
        self.tree
    }

    /// The leaf names, one per observation.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Where the cut line is drawn, if anywhere.
    pub fn cut(&self) -> Option<f64> {
        self.cut
    }
}

impl<I: Clone + Ord + Debug, F: Scalar> UserView<I, F> {
    /// The view's dendrogram labelled with `name(item)` per row, coloured by
    /// the profile's clusters (palette index = importance rank), its medoids
    /// marked and the cut line at [`cut_height`](UserView::cut_height).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::{DendrogramPlot, UserView};
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![[1.0_f32, 0.0], [0.0, 1.0]])?;
    /// let actions = vec![Action::new(0_usize, 100), Action::new(1, 100)];
    /// let view = UserView::compute(&PinnerSage::default(), &actions, &source, 100)?;
    /// let svg = DendrogramPlot::default().render(&view.labelled_tree(|id| format!("item {id}")))?;
    /// assert!(svg.contains("item 1"));
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn labelled_tree(&self, name: impl Fn(&I) -> String) -> LabelledTree<'_, F> {
        let m = self.tree().observations();
        let mut medoids = vec![false; m];
        for &r in self.medoid_rows() {
            medoids[r] = true;
        }
        LabelledTree {
            tree: self.tree(),
            names: self.items().iter().map(|i| name(&i.item)).collect(),
            clusters: self.cluster_of().to_vec(),
            medoids,
            cut: Some(self.cut_height()),
        }
    }
}

/// Unchecked options of [`DendrogramPlot`]; [`build`](Self::build)
/// validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct DendrogramPlotBuilder {
    max_leaves: usize,
    width: u32,
    label_chars: usize,
    title: Option<String>,
}

impl Default for DendrogramPlotBuilder {
    fn default() -> Self {
        DendrogramPlotBuilder {
            max_leaves: 60,
            width: 1000,
            label_chars: 44,
            title: None,
        }
    }
}

impl DendrogramPlotBuilder {
    /// At most this many leaves are drawn: a larger tree shows only its last
    /// `max_leaves − 1` merges, each subtree below them one leaf labelled
    /// with its size (scipy's `truncate_mode="lastp"`). Default 60.
    pub fn max_leaves(mut self, p: usize) -> Self {
        self.max_leaves = p;
        self
    }

    /// Width in pixels (the height follows from the number of leaves).
    /// Default 1000.
    pub fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    /// Leaf labels longer than this many characters are shortened with an
    /// ellipsis. Default 44.
    pub fn label_chars(mut self, n: usize) -> Self {
        self.label_chars = n;
        self
    }

    /// A title above the tree. Default none.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The validated options.
    ///
    /// # Errors
    /// [`Error::PlotMaxLeaves`] if `max_leaves < 2`; [`Error::PlotSize`] if
    /// the width is under 400 pixels.
    pub fn build(self) -> Result<DendrogramPlot> {
        if self.max_leaves < 2 {
            return Err(Error::PlotMaxLeaves {
                value: self.max_leaves,
            });
        }
        if self.width < MIN_WIDTH {
            return Err(Error::PlotSize {
                width: self.width,
                height: 0,
                min_width: MIN_WIDTH,
                min_height: 0,
            });
        }
        Ok(DendrogramPlot {
            max_leaves: self.max_leaves,
            width: self.width,
            label_chars: self.label_chars.max(4),
            title: self.title,
        })
    }
}

const MIN_WIDTH: u32 = 400;

/// Draws a [`LabelledTree`] as an SVG dendrogram (validated options).
///
/// Leaves run top to bottom in [`leaf_order`](super::leaf_order) (scipy's),
/// each labelled on the left and coloured by its flat cluster; merge
/// distances (paper convention) grow to the right on a labelled axis;
/// links within one cluster take its colour, links joining clusters are
/// grey; the cut is one red vertical line labelled `α = …`; marked leaves
/// (medoids) carry a dot. The first ten clusters (by importance, for a
/// [`UserView`]) have colours of their own, later ones are light grey. A tree
/// with more leaves than
/// [`max_leaves`](DendrogramPlotBuilder::max_leaves) is truncated to its top
/// (see [`TreeLayout`]); a collapsed subtree is labelled `(n) name` with the
/// name of the one medoid it holds (and a dot), `(n) name +j medoids` when
/// it holds several (the name of the first cluster's medoid: the most
/// important one, for a view), or `(n items)`. Label colours: a leaf inside
/// one cluster takes its colour (light grey past the tenth cluster); a
/// collapsed leaf spanning several clusters is black.
#[derive(Debug, Clone, PartialEq)]
pub struct DendrogramPlot {
    max_leaves: usize,
    width: u32,
    label_chars: usize,
    title: Option<String>,
}

impl Default for DendrogramPlot {
    /// At most 60 leaves, 1000 pixels wide, labels of up to 44 characters.
    fn default() -> Self {
        DendrogramPlot {
            max_leaves: 60,
            width: 1000,
            label_chars: 44,
            title: None,
        }
    }
}

/// Leaf label font size, pixels.
const LABEL_SIZE: f64 = 14.0;

impl DendrogramPlot {
    /// Unchecked options to validate with [`DendrogramPlotBuilder::build`].
    pub fn builder() -> DendrogramPlotBuilder {
        DendrogramPlotBuilder::default()
    }

    /// The SVG document of `tree`.
    ///
    /// # Errors
    /// [`Error::EmptyPlot`] for a tree without observations (a
    /// [`Dendrogram`] always has one, so only a hand-made empty one);
    /// [`Error::InvalidDendrogram`] ([`DendrogramFault::InvalidDistance`]) if
    /// a merge distance is not finite (a distance that overflowed its type);
    /// [`Error::PlotRender`] if the drawing backend fails.
    ///
    /// # Complexity
    /// O(m) for `m` observations, plus O(p) SVG elements for `p` drawn leaves.
    pub fn render<F: Scalar>(&self, tree: &LabelledTree<'_, F>) -> Result<String> {
        let m = tree.tree.observations();
        if m == 0 {
            return Err(Error::EmptyPlot);
        }
        let merges = tree.tree.merges();
        if let Some((merge, s)) = merges
            .iter()
            .enumerate()
            .find(|(_, s)| !s.distance.to_f64_lossless().is_finite())
        {
            return Err(Error::InvalidDendrogram(DendrogramFault::InvalidDistance {
                merge,
                value: s.distance.to_f64_lossless(),
            }));
        }
        let layout = TreeLayout::new(tree.tree, self.max_leaves);
        let n = layout.leaves.len();
        // cluster colour of every node: one cluster below it, or none
        let mut node_cluster: Vec<Option<usize>> = tree.clusters.clone();
        let mut node_medoids: Vec<Vec<usize>> = Vec::new(); // only for collapsed leaves
        node_cluster.reserve(merges.len());
        for s in merges {
            let (a, b) = (node_cluster[s.a], node_cluster[s.b]);
            node_cluster.push(if a.is_some() && a == b { a } else { None });
        }
        let height_of = |node: usize| {
            if node < m || node - m < layout.first_drawn {
                0.0
            } else {
                merges[node - m].distance.to_f64_lossless()
            }
        };
        // the medoids under each drawn leaf
        for &leaf in &layout.leaves {
            node_medoids.push(if leaf < m {
                if tree.medoids[leaf] {
                    vec![leaf]
                } else {
                    Vec::new()
                }
            } else {
                observations_under(tree.tree, leaf)
                    .into_iter()
                    .filter(|&o| tree.medoids[o])
                    .collect()
            });
        }
        let labels: Vec<String> = layout
            .leaves
            .iter()
            .zip(&layout.leaf_sizes)
            .zip(&node_medoids)
            .map(|((&leaf, &size), meds)| {
                if leaf < m {
                    shorten(&tree.names[leaf], self.label_chars)
                } else if meds.len() == 1 {
                    let name = shorten(&tree.names[meds[0]], self.label_chars);
                    format!("({size}) {name}")
                } else if meds.is_empty() {
                    format!("({size} items)")
                } else {
                    // name the medoid of the first cluster (the most
                    // important one, for a view)
                    let lead = meds
                        .iter()
                        .copied()
                        .min_by_key(|&o| (tree.clusters[o].unwrap_or(usize::MAX), o))
                        .unwrap_or(meds[0]);
                    let name = shorten(&tree.names[lead], self.label_chars);
                    format!("({size}) {name} +{} medoids", meds.len() - 1)
                }
            })
            .collect();
        let label_px = labels
            .iter()
            .map(|l| text_width(l, LABEL_SIZE))
            .fold(0.0_f64, f64::max)
            .ceil() as u32
            + 30;
        let row = if n <= 30 { 20 } else { 16 };
        let top = if self.title.is_some() { 64 } else { 36 };
        let height = top + row * n as u32 + 70;
        let top_height = merges.last().map_or(0.0, |s| s.distance.to_f64_lossless());
        let x_max = {
            let hi = top_height.max(tree.cut.unwrap_or(0.0));
            if hi > 0.0 {
                (hi * 1.06).min(f64::MAX)
            } else {
                1.0
            }
        };
        // drawn on [0, 1] and labelled in merge distance: plotters' ticks
        // stay sane for any magnitude (1e-300 as 1e300)
        let x_of = |h: f64| h / x_max;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (self.width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(render_error)?;
            if let Some(title) = &self.title {
                root.draw(&Text::new(
                    clean(title),
                    (12, 12),
                    ("sans-serif", 20).into_font().color(&BLACK),
                ))
                .map_err(render_error)?;
            }
            let area = root.margin(top, 10, 10, 24);
            let mut chart = ChartBuilder::on(&area)
                .x_label_area_size(50)
                .y_label_area_size(label_px.min(self.width / 2))
                .build_cartesian_2d(0.0..1.0, -0.5..(n as f64 - 0.5))
                .map_err(render_error)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .disable_y_axis()
                .x_labels(8)
                .x_label_formatter(&|v| number(*v * x_max))
                .x_desc("Ward merge distance (paper convention: scipy height²)")
                .axis_desc_style(("sans-serif", 15))
                .label_style(("sans-serif", 14))
                .max_light_lines(0)
                .bold_line_style(RGBColor(225, 225, 225))
                .draw()
                .map_err(render_error)?;
            let y = |slot: f64| n as f64 - 1.0 - slot;
            // links: ⊐-shaped brackets from each child's height to the merge's
            for (t, &(_, pa, pb)) in (layout.first_drawn..merges.len()).zip(&layout.brackets) {
                let s = &merges[t];
                let h = s.distance.to_f64_lossless();
                let style = colour(node_cluster[m + t]).stroke_width(2);
                let path = vec![
                    (x_of(height_of(s.a)), y(pa)),
                    (x_of(h), y(pa)),
                    (x_of(h), y(pb)),
                    (x_of(height_of(s.b)), y(pb)),
                ];
                chart
                    .draw_series(std::iter::once(PathElement::new(path, style)))
                    .map_err(render_error)?;
            }
            // leaves: label, and a dot for a medoid
            let label_style = |c: RGBColor| {
                ("sans-serif", LABEL_SIZE)
                    .into_font()
                    .color(&c)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            };
            for (slot, ((&leaf, label), meds)) in layout
                .leaves
                .iter()
                .zip(&labels)
                .zip(&node_medoids)
                .enumerate()
            {
                let (px, py) = chart.backend_coord(&(0.0, y(slot as f64)));
                let c = colour(node_cluster[leaf]);
                let c = if c == super::style::NEUTRAL { BLACK } else { c };
                root.draw(&Text::new(label.clone(), (px - 16, py), label_style(c)))
                    .map_err(render_error)?;
                if meds.len() == 1 {
                    root.draw(&Circle::new((px - 6, py), 4, c.filled()))
                        .map_err(render_error)?;
                }
            }
            if let Some(cut) = tree.cut {
                let (x0, y0) = chart.backend_coord(&(x_of(cut), n as f64 - 0.5));
                let (_, y1) = chart.backend_coord(&(x_of(cut), -0.5));
                root.draw(&PathElement::new(
                    vec![(x0, y0 - 6), (x0, y1)],
                    CUT.stroke_width(2),
                ))
                .map_err(render_error)?;
                let k = node_cluster_count(tree.tree, cut);
                let text = format!(
                    "α = {} ({k} cluster{})",
                    number(cut),
                    if k == 1 { "" } else { "s" }
                );
                let right = x0 > (self.width as i32) * 3 / 4;
                let anchor = if right { HPos::Right } else { HPos::Left };
                root.draw(&Text::new(
                    text,
                    (x0 + if right { -4 } else { 4 }, y0 - 12),
                    ("sans-serif", 15)
                        .into_font()
                        .color(&CUT)
                        .pos(Pos::new(anchor, VPos::Center)),
                ))
                .map_err(render_error)?;
            }
            root.present().map_err(render_error)?;
        }
        Ok(svg)
    }

    /// [`render`](Self::render) into the file `path`.
    ///
    /// # Errors
    /// As [`render`](Self::render), and [`Error::PlotWrite`] if the file
    /// cannot be written.
    pub fn write<F: Scalar>(&self, tree: &LabelledTree<'_, F>, path: &Path) -> Result<()> {
        write_file(path, &self.render(tree)?)
    }
}

/// Number of flat clusters the cut at `height` leaves.
fn node_cluster_count<F: Scalar>(tree: &Dendrogram<F>, height: f64) -> usize {
    let applied = tree
        .merges()
        .partition_point(|s| s.distance.to_f64_lossless() <= height);
    tree.observations() - applied
}

/// The observations under `node` (node ids as in [`Dendrogram`]).
fn observations_under<F: Scalar>(tree: &Dendrogram<F>, node: usize) -> Vec<usize> {
    let m = tree.observations();
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(v) = stack.pop() {
        if v < m {
            out.push(v);
        } else {
            let s = &tree.merges()[v - m];
            stack.push(s.a);
            stack.push(s.b);
        }
    }
    out
}
