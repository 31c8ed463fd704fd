//! Ward agglomerative clustering by the nearest-neighbour chain.
//!
//! * [`linkage`] — rows of an embedding matrix;
//! * [`linkage_weighted`] — rows with multiplicities (repeated items collapsed);
//! * [`linkage_condensed`] — your own precomputed dissimilarities.
//!
//! All return a [`Dendrogram`], which [`cut`](Dendrogram::cut)s at a distance
//! threshold α (the paper's rule) or into `k` clusters
//! ([`cut_k`](Dendrogram::cut_k)), and exports scipy's linkage format
//! ([`to_scipy`](Dendrogram::to_scipy)).
//!
//! Distances follow the paper's convention (`scipy_height²`); see the
//! [crate docs](crate#distances).

mod condensed;
mod dendrogram;
mod gram;
mod kernels;
mod lean;
mod linkage;
mod matrix;
mod min_heap;
mod options;
mod ordering;

pub use condensed::{condensed_index, observations_for_len};
pub use dendrogram::{Dendrogram, Merge};
pub use linkage::{linkage, linkage_condensed, linkage_weighted};
pub use options::{Strategy, Ward};
