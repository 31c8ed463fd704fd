//! Parameters of a hierarchical navigable small-world graph (Malkov &
//! Yashunin, IEEE TPAMI 42(4), 2020): one validated type for both graph
//! backends, `HnswIndex` (feature `hnsw`) and `UsearchIndex` (feature
//! `usearch`).

use crate::error::{Error, Result};

/// Validated build and search parameters of a hierarchical navigable
/// small-world graph (Malkov & Yashunin 2018), shared by both graph backends
/// (`HnswIndex`, feature `hnsw`; `UsearchIndex`, feature `usearch`), so a
/// configuration carries over between them; built by
/// [`HnswParams::builder`] (or [`Default`]). USearch calls `M`
/// *connectivity*, `ef_construction` *expansion_add* and `ef_search`
/// *expansion_search*.
///
/// The defaults reach recall@10 ≥ 0.99 against
/// [`ExactIndex`](super::ExactIndex) on a seeded clustered catalogue of
/// 100 000 × 64 items (100 topics); raise `ef_search` for recall, lower it for
/// speed. Measured figures: `cargo run --release --features hnsw --example
/// retrieval` and `DESIGN.md`.
///
/// With the `serde` feature it serializes as its builder and is validated
/// again when deserialized.
///
/// ```
/// use pinnersage::ann::HnswParams;
///
/// let params = HnswParams::builder().max_connections(16).ef_search(64).build()?;
/// assert_eq!((params.max_connections(), params.ef_search()), (16, 64));
/// assert_eq!(params.ef_construction(), HnswParams::default().ef_construction());
/// assert!(HnswParams::builder().ef_search(0).build().is_err());
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "HnswParamsBuilder", into = "HnswParamsBuilder")
)]
pub struct HnswParams {
    pub(super) max_connections: usize,
    pub(super) ef_construction: usize,
    pub(super) ef_search: usize,
    pub(super) parallel_build: bool,
}

/// Unchecked parameters of a graph index; [`build`](Self::build)
/// validates them into [`HnswParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HnswParamsBuilder {
    pub(super) max_connections: usize,
    pub(super) ef_construction: usize,
    pub(super) ef_search: usize,
    pub(super) parallel_build: bool,
}

impl Default for HnswParamsBuilder {
    fn default() -> Self {
        HnswParams::default().into()
    }
}

impl Default for HnswParams {
    /// `M` 32, `ef_construction` 100, `ef_search` 48, serial build.
    fn default() -> Self {
        HnswParams {
            max_connections: 32,
            ef_construction: 100,
            ef_search: 48,
            parallel_build: false,
        }
    }
}

impl From<HnswParams> for HnswParamsBuilder {
    fn from(p: HnswParams) -> Self {
        HnswParamsBuilder {
            max_connections: p.max_connections,
            ef_construction: p.ef_construction,
            ef_search: p.ef_search,
            parallel_build: p.parallel_build,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<HnswParamsBuilder> for HnswParams {
    type Error = Error;
    fn try_from(builder: HnswParamsBuilder) -> Result<Self> {
        builder.build()
    }
}

impl HnswParamsBuilder {
    /// `M`: links kept per node and layer (twice as many on the bottom
    /// layer). Must be in `2..=255`. Default 32.
    pub fn max_connections(mut self, m: usize) -> Self {
        self.max_connections = m;
        self
    }

    /// Candidate list size while inserting. Must be ≥ 1; any larger value is
    /// accepted, and the build uses `min(ef_construction, n)` for `n` items
    /// (a longer list than the index cannot help). Default 100.
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Candidate list size while searching. Must be ≥ 1; any larger value is
    /// accepted, and a search for `k` uses `min(max(ef_search, k), n)`, with
    /// `k` itself clamped to `n`. Default 48.
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }

    /// Insert in parallel through rayon (inside `hnsw_rs`; from rayon's
    /// threads into USearch's thread-safe insertion). Faster on several cores,
    /// but the graph then depends on thread timing. Default `false`.
    pub fn parallel_build(mut self, parallel: bool) -> Self {
        self.parallel_build = parallel;
        self
    }

    /// Validates the parameters, so that neither backend is ever handed a
    /// value it would abort the process on.
    ///
    /// # Errors
    /// One variant per rule:
    /// * [`Error::HnswMaxConnections`] — `M` outside `2..=255`;
    /// * [`Error::ZeroEfConstruction`] — `ef_construction` of 0;
    /// * [`Error::ZeroEfSearch`] — `ef_search` of 0.
    pub fn build(self) -> Result<HnswParams> {
        if !(2..=255).contains(&self.max_connections) {
            return Err(Error::HnswMaxConnections {
                value: self.max_connections,
            });
        }
        if self.ef_construction == 0 {
            return Err(Error::ZeroEfConstruction);
        }
        if self.ef_search == 0 {
            return Err(Error::ZeroEfSearch);
        }
        Ok(HnswParams {
            max_connections: self.max_connections,
            ef_construction: self.ef_construction,
            ef_search: self.ef_search,
            parallel_build: self.parallel_build,
        })
    }
}

impl HnswParams {
    /// A builder holding the defaults.
    pub fn builder() -> HnswParamsBuilder {
        HnswParamsBuilder::default()
    }

    /// A builder holding these parameters, to change some of them.
    pub fn to_builder(&self) -> HnswParamsBuilder {
        (*self).into()
    }

    /// `M`, links per node and layer.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Candidate list size while inserting.
    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }

    /// Candidate list size while searching.
    pub fn ef_search(&self) -> usize {
        self.ef_search
    }

    /// Whether the graph is built in parallel.
    pub fn parallel_build(&self) -> bool {
        self.parallel_build
    }
}
