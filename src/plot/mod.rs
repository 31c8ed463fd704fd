//! Pictures of a user's interests (feature `plot`): the Ward dendrogram cut
//! at α, and the items on a 2-D map coloured by cluster, as SVG.
//!
//! The threshold α decides how many interests a user gets, and the paper
//! does not report its value: it is tuned by looking. A [`UserView`] holds
//! what a picture needs and a [`UserProfile`](crate::UserProfile) does not
//! keep (the rows' embeddings and the dendrogram), recomputed from the
//! history and the embedding source so that they cannot disagree with the
//! profile. Then:
//!
//! * [`DendrogramPlot`] draws a [`LabelledTree`] (a [`Dendrogram`](crate::ward::Dendrogram)
//!   with names, colours, medoid marks and a cut line; from a view by
//!   [`UserView::labelled_tree`], or from any dendrogram): leaves in
//!   [`leaf_order`] (scipy's), heights in the paper's convention, large trees
//!   truncated to their top ([`TreeLayout`], scipy's `truncate_mode="lastp"`);
//! * [`ClusterMap`] draws the items on their first two principal components
//!   ([`Pca`]: power iteration with deflation, in the crate), medoids large
//!   and labelled with their importance.
//!
//! Rendering goes through `plotters`' SVG backend only: no system library,
//! no font file (text is left to the SVG viewer's sans-serif font).
//!
//! ```
//! use pinnersage::plot::{ClusterMap, DendrogramPlot, UserView};
//! use pinnersage::rand::SeedableRng;
//! use pinnersage::rand::rngs::Xoshiro256PlusPlus;
//! use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
//! use pinnersage::{InMemoryEmbeddings, PinnerSage};
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
//! let now = 1_700_000_000;
//! let user = catalog.user(&UserConfig::default(), now, &mut rng)?;
//! let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned())?;
//!
//! let view = UserView::compute(&PinnerSage::default(), &user.actions, &source, now)?;
//! let name = |item: &usize| format!("item {item} (topic {})", catalog.topic_of(*item));
//! let dendrogram = DendrogramPlot::builder().title("one user").build()?
//!     .render(&view.labelled_tree(name))?;
//! let map = ClusterMap::default().render(&view, name)?;
//! assert!(dendrogram.starts_with("<svg") && map.starts_with("<svg"));
//! # Ok::<(), pinnersage::Error>(())
//! ```

// One file per concept:
// * `order`      — leaf order and the (truncated) layout of a drawn tree;
// * `pca`        — the 2-D projection;
// * `view`       — one user's profile, rows and dendrogram, consistent;
// * `dendrogram` — `dendrogram.svg`;
// * `clusters`   — `clusters.svg`;
// * `style`      — colours, text and file helpers.
mod clusters;
mod dendrogram;
mod order;
mod pca;
mod style;
mod view;

pub use clusters::{ClusterMap, ClusterMapBuilder, MapPlane};
pub use dendrogram::{DendrogramPlot, DendrogramPlotBuilder, LabelledTree};
pub use order::{leaf_order, TreeLayout};
pub use pca::{Pca, PcaBuilder, Projection};
pub use view::UserView;
