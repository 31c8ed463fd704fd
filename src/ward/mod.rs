//! Exact Ward agglomerative clustering.
//!
//! * [`linkage`](fn@linkage) — rows of an embedding matrix;
//! * [`linkage_weighted`] — rows with multiplicities (repeated items collapsed);
//! * [`linkage_condensed`] — your own precomputed dissimilarities;
//! * [`Ward`] — the same with a choice of [`Strategy`], a memory budget and
//!   (with the `parallel` feature) a parallel distance pass (the free
//!   functions are `Ward::new()`).
//!
//! Two exact paths compute the same dendrogram:
//!
//! * the **matrix path** computes all squared distances at once through the
//!   Gram matrix (register-tiled AVX-512 kernels where the CPU has them,
//!   detected at run time, ndarray's `matrixmultiply` GEMM elsewhere; small
//!   distances, where the Gram form loses digits, are recomputed directly),
//!   then runs Müllner's generic algorithm (2011, arXiv:1109.2378): cached
//!   nearest neighbours in a heap and lazily replayed Lance–Williams updates
//!   over one condensed matrix of the element type;
//! * the **memory-lean path** runs the nearest-neighbour chain on cluster
//!   centroids and weights, in O(m·d) memory.
//!
//! [`Strategy::Auto`] (the default) takes the matrix path while its condensed
//! matrix fits the memory budget ([`Ward::DEFAULT_MEMORY_BUDGET`], 256 MiB),
//! the lean path above it.
//!
//! With exactly tied dissimilarities (duplicated rows, data on a grid) several
//! dendrograms are correct; the order of tied merges may then differ from
//! scipy's, but every merge is a global minimum of the dissimilarities at its
//! step.
//!
//! All return a [`Dendrogram`], which [`cut`](Dendrogram::cut)s at a distance
//! threshold α (the paper's rule) or into `k` clusters
//! ([`cut_k`](Dendrogram::cut_k)), and exports scipy's linkage format
//! ([`to_scipy`](Dendrogram::to_scipy)).
//!
//! Distances follow the paper's convention (`scipy_height²`); see the
//! [crate docs](crate#distances).

// One file per concept (DESIGN.md, "Ward"):
// * `linkage`    — the public entry points and the driver;
// * `options`    — the configuration (`Ward`, `Strategy`);
// * `method`     — Ward's formulas (Lance–Williams), used by every path;
// * `distances`  — the distance pass of the matrix path (Gram form);
// * `generic`    — Müllner's generic algorithm on the condensed matrix;
// * `nn_chain`   — the nearest-neighbour chain on centroids (lean path);
// * `storage`    — where the condensed matrix lives (huge pages on Linux);
// * `duplicates`, `ordering`, `min_heap`, `condensed`, `dendrogram`.
pub(crate) mod condensed;
mod dendrogram;
pub(crate) mod distances;
mod duplicates;
mod generic;
mod linkage;
mod method;
mod min_heap;
mod nn_chain;
mod options;
mod ordering;
mod rescale;
mod storage;
pub(crate) use rescale::times_pow2;

pub use crate::error::DendrogramFault;
pub use condensed::{condensed_index, observations_for_len};
pub use dendrogram::{Dendrogram, Merge};
pub use linkage::{linkage, linkage_condensed, linkage_weighted};
pub use options::{Strategy, Ward};

/// The product kernel of the matrix path's distance pass on this CPU, with
/// the instruction set it runs: `"avx512-tiles/avx512f"` (the crate's
/// AVX-512 register tiles), `"gemm/avx2+fma"`, `"gemm/neon"` or
/// `"gemm/portable"` (the `gemm` crate), or `"matrixmultiply/…"`. For
/// reports and benchmark tables: results do not depend on it beyond
/// rounding (every kernel keeps the documented accuracy).
///
/// The choice is made once per process, at the first linkage (or the
/// first call of this function): the kernel named by the
/// `PINNERSAGE_KERNEL` environment variable (`avx512-tiles`, `gemm`,
/// `matrixmultiply`; any case) if this CPU runs it, otherwise the fastest
/// this CPU runs. An unknown name, or a kernel this CPU lacks, is ignored
/// without an error (the variable is a benchmarking switch, not
/// configuration): this function tells which kernel really runs. Setting
/// `PINNERSAGE_KERNEL=gemm` on an AVX-512 machine times the AVX2 kernel
/// there.
///
/// # Example
/// ```
/// let kernel = pinnersage::ward::product_kernel();
/// assert!(["avx512-tiles/", "gemm/", "matrixmultiply/"]
///     .iter()
///     .any(|prefix| kernel.starts_with(prefix)));
/// ```
pub fn product_kernel() -> String {
    crate::scalar::simd::ProductKernel::detect().describe()
}
