//! `clusters.svg`: a user's items in two dimensions, coloured by interest.

use std::fmt::Debug;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

use super::pca::{Pca, Projection};
use super::style::{
    clean, colour, number, render_error, shorten, text_width, tick, write_file, PALETTE,
};
use super::view::UserView;

/// The plane a [`ClusterMap`] projects the items on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapPlane {
    /// The first two principal components of the items themselves: the
    /// plane of largest spread of the items. With high-dimensional
    /// embeddings it often holds little of the variance, and clusters that
    /// the dendrogram separates may overlap in it.
    Items,
    /// The first two principal components of the clusters' centroids (the
    /// plane in which the interests lie furthest apart), every item projected
    /// on it. Needs at least 3 clusters; with fewer, [`Items`](Self::Items)
    /// is used. The default.
    #[default]
    Centroids,
}

/// Unchecked options of [`ClusterMap`]; [`build`](Self::build) validates
/// them.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMapBuilder {
    width: u32,
    height: u32,
    label_chars: usize,
    legend_rows: usize,
    title: Option<String>,
    pca: Pca,
    plane: MapPlane,
}

impl Default for ClusterMapBuilder {
    fn default() -> Self {
        ClusterMapBuilder {
            width: 1100,
            height: 700,
            label_chars: 40,
            legend_rows: 10,
            title: None,
            pca: Pca::default(),
            plane: MapPlane::default(),
        }
    }
}

impl ClusterMapBuilder {
    /// Size in pixels. Default 1100 × 700.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Medoid names in the legend longer than this many characters are
    /// shortened with an ellipsis. Default 40.
    pub fn label_chars(mut self, n: usize) -> Self {
        self.label_chars = n;
        self
    }

    /// At most this many clusters are listed in the legend (the most
    /// important; a last line counts the rest). Default 10, the number of
    /// cluster colours.
    pub fn legend_rows(mut self, n: usize) -> Self {
        self.legend_rows = n;
        self
    }

    /// A title above the map. Default none.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The projection's options (its first two components are drawn; more
    /// are computed and ignored). Default [`Pca::default`].
    pub fn pca(mut self, pca: Pca) -> Self {
        self.pca = pca;
        self
    }

    /// The plane the items are projected on. Default
    /// [`MapPlane::Centroids`].
    pub fn plane(mut self, plane: MapPlane) -> Self {
        self.plane = plane;
        self
    }

    /// The validated options.
    ///
    /// # Errors
    /// [`Error::PlotSize`] if the picture is smaller than 500 × 300 pixels.
    pub fn build(self) -> Result<ClusterMap> {
        if self.width < MIN.0 || self.height < MIN.1 {
            return Err(Error::PlotSize {
                width: self.width,
                height: self.height,
                min_width: MIN.0,
                min_height: MIN.1,
            });
        }
        Ok(ClusterMap {
            width: self.width,
            height: self.height,
            label_chars: self.label_chars.max(4),
            legend_rows: self.legend_rows,
            title: self.title,
            pca: self.pca,
            plane: self.plane,
        })
    }
}

const MIN: (u32, u32) = (500, 300);

/// The legend's first line.
const LEGEND_HEADING: &str = "interests (medoid — importance, size)";

/// Draws a user's items on their first two principal components
/// ([`Pca`] of the distinct items' embeddings), coloured by cluster, as SVG
/// (validated options).
///
/// Each item is a dot (a little larger for more actions on it); the medoids
/// of the ten most important clusters are large dots holding their rank
/// (1 = most important), labelled with their importance and named in a
/// legend with importance and size; later clusters are light grey, their
/// medoids drawn as their items are. Items of clusters dropped by
/// [`max_clusters`](crate::PinnerSage::max_clusters) are dark grey.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMap {
    width: u32,
    height: u32,
    label_chars: usize,
    legend_rows: usize,
    title: Option<String>,
    pca: Pca,
    plane: MapPlane,
}

impl Default for ClusterMap {
    /// 1100 × 700 pixels, names of up to 40 characters, 10 legend rows,
    /// the centroids' plane.
    fn default() -> Self {
        ClusterMapBuilder::default().into_map()
    }
}

impl ClusterMapBuilder {
    /// The options as they are (the defaults are valid).
    fn into_map(self) -> ClusterMap {
        ClusterMap {
            width: self.width,
            height: self.height,
            label_chars: self.label_chars,
            legend_rows: self.legend_rows,
            title: self.title,
            pca: self.pca,
            plane: self.plane,
        }
    }
}

impl ClusterMap {
    /// Unchecked options to validate with [`ClusterMapBuilder::build`].
    pub fn builder() -> ClusterMapBuilder {
        ClusterMapBuilder::default()
    }

    /// The SVG document of `view`'s items, medoids named by `name`.
    ///
    /// # Errors
    /// Those of [`Pca::fit`] (with fewer embedding dimensions than the PCA's
    /// components, only as many are computed: 1-D embeddings are drawn on
    /// the first axis); [`Error::PlotRender`] if the drawing backend fails.
    ///
    /// # Complexity
    /// The PCA (O(m·d·min(m, d)) plus its iterations) and O(m) elements.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::{ClusterMap, UserView};
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![[1.0_f32, 0.0], [0.0, 1.0]])?;
    /// let actions = vec![Action::new(0_usize, 100), Action::new(1, 100)];
    /// let view = UserView::compute(&PinnerSage::default(), &actions, &source, 100)?;
    /// let svg = ClusterMap::default().render(&view, |id| format!("item {id}"))?;
    /// assert!(svg.starts_with("<svg"));
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn render<I, F>(&self, view: &UserView<I, F>, name: impl Fn(&I) -> String) -> Result<String>
    where
        I: Clone + Ord + Debug,
        F: Scalar,
    {
        let clusters = view.profile().clusters();
        let on_centroids = self.plane == MapPlane::Centroids && clusters.len() >= 3;
        // one-dimensional embeddings are drawn on one axis (the other 0)
        let pca = self.pca.at_most(view.embeddings().ncols());
        let mut p = if on_centroids {
            let d = view.embeddings().ncols();
            let centroids = ndarray::Array2::from_shape_fn((clusters.len(), d), |(c, j)| {
                clusters[c].centroid()[j].to_f64_lossless()
            });
            pca.fit(centroids.view())?
        } else {
            pca.fit(view.embeddings().view())?
        };
        if on_centroids {
            // scaled by a power of two (exact) so that the sum cannot overflow
            let scale = super::pca::power_of_two_scale(
                view.embeddings()
                    .iter()
                    .map(|v| v.to_f64_lossless().abs())
                    .chain(p.mean.iter().map(|v| v.abs())),
            );
            let x = view.embeddings().mapv(|v| v.to_f64_lossless() / scale);
            p.coordinates = (&x - &(&p.mean / scale)).dot(&p.components.t()) * scale;
        }
        self.draw(view, &p, on_centroids, &name)
    }

    /// [`render`](Self::render) into the file `path`.
    ///
    /// # Errors
    /// As [`render`](Self::render), and [`Error::PlotWrite`] if the file
    /// cannot be written.
    pub fn write<I, F>(
        &self,
        view: &UserView<I, F>,
        name: impl Fn(&I) -> String,
        path: &Path,
    ) -> Result<()>
    where
        I: Clone + Ord + Debug,
        F: Scalar,
    {
        write_file(path, &self.render(view, name)?)
    }

    fn draw<I, F>(
        &self,
        view: &UserView<I, F>,
        p: &Projection,
        on_centroids: bool,
        name: &dyn Fn(&I) -> String,
    ) -> Result<String>
    where
        I: Clone + Ord + Debug,
        F: Scalar,
    {
        let m = view.items().len();
        // drawn divided by a power of two (exact) that brings them into
        // [-1, 1], labelled in the projection's units: plotters' ranges and
        // ticks stay sane for any magnitude (1e-30 as 1e300)
        let unit = super::pca::power_of_two_scale(p.coordinates.iter().map(|v| v.abs()));
        let xy: Vec<(f64, f64)> = (0..m)
            .map(|r| {
                let c = p.coordinates.row(r);
                (c[0] / unit, if c.len() > 1 { c[1] / unit } else { 0.0 })
            })
            .collect();
        let range = |f: fn(&(f64, f64)) -> f64| {
            let lo = xy.iter().map(f).fold(f64::INFINITY, f64::min);
            let hi = xy.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
            let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.5 };
            (lo - pad)..(hi + pad)
        };
        let (xr, yr) = (range(|p| p.0), range(|p| p.1));
        let in_units = |v: f64| (v * unit).clamp(f64::MIN, f64::MAX);
        let (xspan, yspan) = (in_units(xr.end - xr.start), in_units(yr.end - yr.start));
        let clusters = view.profile().clusters();
        let legend: Vec<String> = clusters
            .iter()
            .enumerate()
            .take(self.legend_rows)
            .map(|(rank, c)| {
                format!(
                    "{}. {} — importance {}, {} item{}",
                    rank + 1,
                    shorten(&name(c.medoid()), self.label_chars),
                    number(c.importance()),
                    c.size(),
                    if c.size() == 1 { "" } else { "s" }
                )
            })
            .collect();
        let legend_px = legend
            .iter()
            .map(|l| text_width(l, 14.0))
            .fold(text_width(LEGEND_HEADING, 15.0), f64::max)
            .ceil() as u32
            + 40;
        let legend_px = legend_px.min(self.width / 2);
        let mut svg = String::new();
        {
            let root =
                SVGBackend::with_string(&mut svg, (self.width, self.height)).into_drawing_area();
            root.fill(&WHITE).map_err(render_error)?;
            let top = if let Some(title) = &self.title {
                root.draw(&Text::new(
                    clean(title),
                    (12, 12),
                    ("sans-serif", 20).into_font().color(&BLACK),
                ))
                .map_err(render_error)?;
                44
            } else {
                14
            };
            let (plot_area, legend_area) = root
                .margin(top, 10, 10, 10)
                .split_horizontally(self.width.saturating_sub(legend_px + 20));
            let mut chart = ChartBuilder::on(&plot_area)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(xr, yr)
                .map_err(render_error)?;
            let of = if on_centroids {
                "of the cluster centroids"
            } else {
                "of the items"
            };
            let pct = |j: usize| format!("{:.0}%", 100.0 * p.variance_ratio(j));
            chart
                .configure_mesh()
                .x_desc(format!(
                    "principal component 1 {of} ({} of their variance)",
                    pct(0)
                ))
                .y_desc(format!(
                    "principal component 2 {of} ({} of their variance)",
                    pct(1)
                ))
                .x_label_formatter(&|v| tick(in_units(*v), xspan))
                .y_label_formatter(&|v| tick(in_units(*v), yspan))
                .axis_desc_style(("sans-serif", 15))
                .label_style(("sans-serif", 14))
                .max_light_lines(0)
                .bold_line_style(RGBColor(225, 225, 225))
                .draw()
                .map_err(render_error)?;
            // items: dropped, then grey, then coloured clusters on top
            let layer = |r: usize| match view.cluster_of()[r] {
                None => 0,
                Some(c) if c >= PALETTE.len() => 1,
                Some(_) => 2,
            };
            let mut rows: Vec<usize> = (0..m).collect();
            rows.sort_by_key(|&r| (layer(r), r));
            chart
                .draw_series(rows.iter().map(|&r| {
                    let c = colour(view.cluster_of()[r]);
                    let extra = (view.items()[r].actions.min(5) as i32 - 1).max(0);
                    Circle::new(xy[r], 3 + extra, c.mix(0.75).filled())
                }))
                .map_err(render_error)?;
            // medoids: large dots with the rank inside, importance beside
            for (rank, (&r, c)) in view.medoid_rows().iter().zip(clusters).enumerate().rev() {
                let (px, py) = chart.backend_coord(&xy[r]);
                if rank >= PALETTE.len() {
                    continue; // past the palette: drawn as the items are
                }
                let fill = colour(Some(rank));
                root.draw(&Circle::new((px, py), 11, fill.filled()))
                    .map_err(render_error)?;
                root.draw(&Circle::new((px, py), 11, BLACK.stroke_width(1)))
                    .map_err(render_error)?;
                root.draw(&Text::new(
                    (rank + 1).to_string(),
                    (px, py),
                    ("sans-serif", 13)
                        .into_font()
                        .color(&WHITE)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(render_error)?;
                let label = number(c.importance());
                // a light box keeps the label legible over other dots
                let w = text_width(&label, 13.0).ceil() as i32 + 4;
                root.draw(&Rectangle::new(
                    [(px + 12, py - 17), (px + 12 + w, py - 3)],
                    WHITE.mix(0.85).filled(),
                ))
                .map_err(render_error)?;
                root.draw(&Text::new(
                    label,
                    (px + 14, py - 10),
                    ("sans-serif", 13)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(render_error)?;
            }
            // the legend
            legend_area
                .draw(&Text::new(
                    LEGEND_HEADING,
                    (8, 10),
                    ("sans-serif", 15).into_font().color(&BLACK),
                ))
                .map_err(render_error)?;
            for (i, line) in legend.iter().enumerate() {
                let y = 36 + 20 * i as i32;
                legend_area
                    .draw(&Circle::new((14, y), 6, colour(Some(i)).filled()))
                    .map_err(render_error)?;
                legend_area
                    .draw(&Text::new(
                        line.clone(),
                        (26, y),
                        ("sans-serif", 14)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ))
                    .map_err(render_error)?;
            }
            if clusters.len() > legend.len() {
                let y = 36 + 20 * legend.len() as i32;
                legend_area
                    .draw(&Text::new(
                        format!("… and {} more", clusters.len() - legend.len()),
                        (26, y),
                        ("sans-serif", 14)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ))
                    .map_err(render_error)?;
            }
            root.present().map_err(render_error)?;
        }
        Ok(svg)
    }
}
