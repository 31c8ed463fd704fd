//! An [`AnnIndex`] over the `hnsw_rs` crate (feature `hnsw`): the
//! hierarchical navigable small-world graph of Malkov & Yashunin, *Efficient
//! and robust approximate nearest neighbor search using Hierarchical
//! Navigable Small World graphs*, IEEE TPAMI 42(4), 2020 (arXiv:1603.09320,
//! 2016/2018).
//!
//! `hnsw_rs` 0.3 has a few sharp edges that this adapter keeps away from
//! callers:
//!
//! * `Hnsw::new` prints a message and calls `std::process::exit(1)` when
//!   `max_nb_connection > 256`, and its insertion code reads the value back as
//!   a `u8`, so 256 silently becomes 0. [`HnswParamsBuilder::build`](super::HnswParamsBuilder::build) refuses
//!   anything outside `2..=255` before `hnsw_rs` is called.
//! * Its search asserts that distances are non-negative and compares them with
//!   `partial_cmp`, so a negative or NaN distance panics. Its `DistDot`
//!   asserts `⟨q, x⟩ ≤ 1`, which rounding can break even for unit vectors. The
//!   adapter therefore uses its own distance: `max(0, 1 − ⟨q̂, x̂⟩)` over
//!   vectors it L2-normalises itself for [`Metric::Cosine`], `‖q − x‖²` for
//!   [`Metric::SquaredEuclidean`], NaN mapped to `+∞`. Inner-product search
//!   has no non-negative distance and is refused.
//! * Its file dump panics when it cannot create a file and its reload panics
//!   (asserts, `unwrap`) on a corrupt file. [`HnswIndex::save`] checks that
//!   the files can be created first, and [`HnswIndex::load`] checks the files
//!   against checksums written by `save` before `hnsw_rs` reads them, and
//!   the data file's layout against the metadata (`hnsw_rs` allocates by the
//!   value lengths stored there and reads `dim` values whatever the length).
//!   The checksums guard against accidental damage, not against a hostile
//!   writer: the graph file's counts are still trusted by `hnsw_rs` (a forged
//!   one can make it allocate without bound), so load only files you wrote.
//! * Distances come back as `f32`. They only rank the candidates: the
//!   reported distances are summed again directly in the element type
//!   (squared Euclidean `Σ (q_i − x_i)²`, cosine `‖q̂ − x̂‖²/2`), so they are
//!   accurate relative to the distance and 0 for an identical vector. For
//!   [`Metric::SquaredEuclidean`] items and queries must lie within
//!   `√(f32::MAX / (4·d))` in magnitude, `f64` indexes included
//!   ([`Error::ItemMagnitude`], [`Error::QueryMagnitude`]): beyond it the
//!   graph's `f32` distances overflow and the ranking is arbitrary. Within
//!   it, `f64` items closer than `f32` resolves relative to their distances
//!   from the query may still be ranked in either order by the graph.
//!
//! Serial construction is deterministic: `hnsw_rs` draws node levels from an
//! internal generator with a fixed seed. Parallel construction
//! ([`HnswParamsBuilder::parallel_build`](super::HnswParamsBuilder::parallel_build)) is faster but its graph depends on
//! thread timing.

use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo, Point};
use ndarray::{Array2, ArrayView1, Axis};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    check_item_magnitudes, check_query, check_query_magnitude, direct_distance, finite_norms,
    magnitude_limit, normalise, AnnIndex, Metric, Neighbour,
};
use crate::embedding::{catalogue_from_pairs, sorted_pairs, EmbeddingSource, RowMap};
use crate::error::{Error, ExternalError, Result};
use crate::scalar::Scalar;
use crate::InMemoryEmbeddings;

use super::graph::HnswParams;

/// Upper bound on the layers of the graph (`hnsw_rs`'s own maximum).
const MAX_LAYERS: usize = 16;

/// The most items `hnsw_rs` can address (it ranks points with `i32`).
const MAX_ITEMS: usize = i32::MAX as usize;

/// Refuses more items than `hnsw_rs` can address.
fn check_item_count(items: usize) -> Result<()> {
    if items > MAX_ITEMS {
        return Err(Error::TooManyItems {
            items,
            limit: MAX_ITEMS,
        });
    }
    Ok(())
}

/// The distance handed to `hnsw_rs`: non-negative, never NaN.
///
/// This is the inner loop of both the build and the search (about three
/// quarters of their time goes to `hnsw_rs`'s layer search, which calls it
/// once per visited node), so it uses the crate's vector kernels: the
/// eight-lane [`dot`](crate::linalg::dot) for cosine and the AVX2+FMA
/// squared distance (eight-lane portable loop elsewhere) for squared
/// Euclidean. A serial fold here made the build and the queries several times
/// slower.
#[derive(Debug, Clone, Copy)]
struct HnswDistance {
    metric: Metric,
}

impl<F: Scalar> Distance<F> for HnswDistance {
    #[inline]
    fn eval(&self, a: &[F], b: &[F]) -> f32 {
        let d = match self.metric {
            // vectors are unit (or zero) on both sides: cosine = dot
            Metric::Cosine => (F::one() - crate::linalg::dot(a, b)).max(F::zero()),
            _ => F::squared_distance_simd(a, b, crate::linalg::squared_distance),
        };
        let d = d.to_f64_lossless() as f32;
        if d.is_nan() {
            f32::INFINITY
        } else {
            d
        }
    }
}

/// Approximate nearest-neighbour search with a hierarchical navigable
/// small-world graph (Malkov & Yashunin 2018), through the `hnsw_rs` crate.
///
/// Supports [`Metric::Cosine`] and [`Metric::SquaredEuclidean`].
///
/// # Catalogue
/// Constructors take the same arguments as
/// [`InMemoryEmbeddings`]'s plus the metric and
/// the parameters: [`new(ids, matrix, metric, params)`](Self::new),
/// [`with_row_ids`](Self::with_row_ids), [`from_pairs`](Self::from_pairs),
/// [`from_map`](Self::from_map), [`from_embeddings`](Self::from_embeddings).
/// The matrix is moved in (any memory order) and the graph keeps the **only
/// copy** of the catalogue: for [`Metric::Cosine`] the unit-length rows plus
/// one norm per row, otherwise the rows as given. The index is an
/// [`EmbeddingSource`], so profiles can read their items' embeddings from it:
/// rows come back exactly as given for [`Metric::SquaredEuclidean`], and as
/// `unit row × norm` for [`Metric::Cosine`], i.e. within a few units in the
/// last place of the row as given (exact for rows that were already of unit
/// length up to rounding of the norm to 1).
///
/// # Persistence
/// [`save`](Self::save) writes the graph so that a serving process can
/// [`load`](Self::load) it instead of rebuilding it; searches on the loaded
/// index return exactly what the saved one returned.
///
/// The index is `Send + Sync` but not
/// [`RefUnwindSafe`](std::panic::RefUnwindSafe): `hnsw_rs` keeps its graph
/// behind `parking_lot` locks. To use `&HnswIndex` inside
/// [`catch_unwind`](std::panic::catch_unwind), wrap the closure in
/// [`AssertUnwindSafe`](std::panic::AssertUnwindSafe).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams, Metric};
/// use pinnersage::EmbeddingSource;
///
/// let x = array![[1.0_f32, 0.0], [0.0, 1.0], [0.6, 0.8]];
/// let index = HnswIndex::new(vec![10_u64, 11, 12], x, Metric::Cosine, HnswParams::default())?;
/// assert_eq!(index.search(array![0.1, 1.0].view(), 1)?[0].id, 11);
/// // the index is also the catalogue's embedding source
/// let batch = index.embeddings(&[12])?;
/// assert!((batch.matrix[[0, 1]] - 0.8).abs() < 1e-6);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub struct HnswIndex<I, F: Scalar> {
    graph: Hnsw<'static, F, HnswDistance>,
    /// The graph's point of each row (its data is the row, unit length for
    /// cosine).
    points: Vec<Arc<Point<'static, F>>>,
    /// Cosine: the Euclidean norm of each row as given; otherwise empty.
    norms: Vec<F>,
    ids: Vec<I>,
    rows: RowMap<I>,
    dim: usize,
    metric: Metric,
    params: HnswParams,
}

/// hnsw_rs drops its graph with a rayon parallel iterator, which panics
/// where rayon's global pool cannot start its threads: the dropping thread
/// gets a pool of its own first (`thread_pool::make_usable_here`; nothing
/// happens where rayon runs).
impl<I, F: Scalar> Drop for HnswIndex<I, F> {
    fn drop(&mut self) {
        crate::thread_pool::make_usable_here();
    }
}

impl<I: fmt::Debug, F: Scalar> fmt::Debug for HnswIndex<I, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HnswIndex")
            .field("len", &self.ids.len())
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<F: Scalar> HnswIndex<usize, F> {
    /// An index whose item ids are the row numbers `0..n`.
    ///
    /// # Errors
    /// As [`HnswIndex::new`].
    ///
    /// # Complexity
    /// As [`HnswIndex::new`].
    pub fn with_row_ids(matrix: Array2<F>, metric: Metric, params: HnswParams) -> Result<Self> {
        let ids = (0..matrix.nrows()).collect();
        HnswIndex::new(ids, matrix, metric, params)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> HnswIndex<I, F> {
    /// Builds the graph over `matrix` (one row per item, any memory order),
    /// row `r` named `ids[r]`.
    ///
    /// # Errors
    /// In this order: [`Error::UnsupportedMetric`] for
    /// [`Metric::InnerProduct`]; [`Error::EmptyInput`] without rows; the
    /// rules of [`InMemoryEmbeddings::new`](crate::InMemoryEmbeddings::new);
    /// [`Error::TooManyItems`] beyond `i32::MAX` items; for
    /// [`Metric::Cosine`], [`Error::NormOverflow`].
    ///
    /// # Complexity
    /// About O(n·log n·ef_construction·d) time (Malkov & Yashunin), O(n·(d +
    /// M)) space.
    pub fn new(ids: Vec<I>, matrix: Array2<F>, metric: Metric, params: HnswParams) -> Result<Self> {
        if metric == Metric::InnerProduct {
            return Err(Error::UnsupportedMetric { metric });
        }
        if matrix.nrows() == 0 {
            return Err(Error::EmptyInput);
        }
        Self::from_embeddings(InMemoryEmbeddings::new(ids, matrix)?, metric, params)
    }

    /// Builds the graph over `(id, vector)` pairs, row `r` the `r`-th pair.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no pairs, [`Error::VectorLength`] for a
    /// vector of another length than the first; then as [`new`](Self::new).
    ///
    /// # Complexity
    /// As [`new`](Self::new).
    pub fn from_pairs<V, It>(pairs: It, metric: Metric, params: HnswParams) -> Result<Self>
    where
        V: AsRef<[F]>,
        It: IntoIterator<Item = (I, V)>,
    {
        let (ids, matrix) = catalogue_from_pairs(pairs)?;
        Self::new(ids, matrix, metric, params)
    }

    /// Builds the graph over a map of id → vector, rows in ascending id order.
    ///
    /// # Errors
    /// As [`from_pairs`](Self::from_pairs).
    ///
    /// # Complexity
    /// As [`new`](Self::new).
    pub fn from_map<V, S>(map: HashMap<I, V, S>, metric: Metric, params: HnswParams) -> Result<Self>
    where
        I: Ord,
        V: AsRef<[F]>,
        S: BuildHasher,
    {
        Self::from_pairs(sorted_pairs(map), metric, params)
    }

    /// Builds the graph over an already validated catalogue (whose matrix
    /// it consumes).
    ///
    /// # Errors
    /// [`Error::UnsupportedMetric`], [`Error::EmptyInput`],
    /// [`Error::TooManyItems`], [`Error::NormOverflow`] as for
    /// [`new`](Self::new).
    ///
    /// # Complexity
    /// As [`new`](Self::new).
    pub fn from_embeddings(
        source: InMemoryEmbeddings<I, F>,
        metric: Metric,
        params: HnswParams,
    ) -> Result<Self> {
        if metric == Metric::InnerProduct {
            return Err(Error::UnsupportedMetric { metric });
        }
        if source.is_empty() {
            return Err(Error::EmptyInput);
        }
        check_item_count(source.len())?;
        let (ids, rows, matrix) = source.into_parts();
        let (n, dim) = matrix.dim();
        // hnsw_rs carries distances as f32: refuse values whose squared
        // distances would overflow f32 (they came back as ∞ and ranked
        // arbitrarily, f64 items included)
        check_item_magnitudes(matrix.view(), magnitude_limit::<f32>(metric, dim))?;
        let norms = match metric {
            Metric::Cosine => finite_norms(matrix.view())?,
            _ => Vec::new(),
        };
        // one contiguous row-major buffer whatever the input's memory order,
        // so that every row is inserted (a column-major matrix used to lose
        // them all)
        let mut data = if matrix.is_standard_layout() {
            matrix
        } else {
            matrix.as_standard_layout().into_owned()
        };
        if metric == Metric::Cosine {
            for row in data.axis_iter_mut(Axis(0)) {
                normalise(row);
            }
        }
        // hnsw_rs sizes buffers by ef: more candidates than items is pointless
        // and `usize::MAX` would overflow an allocation
        // hnsw_rs drops a graph with a rayon parallel iterator: where rayon's
        // global pool cannot start, this thread gets a pool of its own first
        crate::thread_pool::make_usable_here();
        let graph = Hnsw::new(
            params.max_connections,
            n,
            MAX_LAYERS,
            params.ef_construction.min(n),
            HnswDistance { metric },
        );
        {
            let flat: &[F] = data.as_slice().ok_or(Error::LengthMismatch {
                what: "contiguous catalogue values vs rows × dim",
                expected: n.saturating_mul(dim),
                got: 0,
            })?;
            let slices: Vec<(&[F], usize)> = flat.chunks_exact(dim).zip(0..n).collect();
            if params.parallel_build {
                graph.parallel_insert_slice(&slices);
            } else {
                for &item in &slices {
                    graph.insert_slice(item);
                }
            }
        }
        drop(data);
        Self::assemble(graph, ids, rows, norms, dim, metric, params)
    }

    /// The index around a built or loaded graph: indexes its points by row
    /// and checks that every row is there.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        mut graph: Hnsw<'static, F, HnswDistance>,
        ids: Vec<I>,
        rows: RowMap<I>,
        norms: Vec<F>,
        dim: usize,
        metric: Metric,
        params: HnswParams,
    ) -> Result<Self> {
        graph.set_searching_mode(true);
        let n = ids.len();
        let limit = magnitude_limit::<f32>(metric, dim);
        let mut by_row: Vec<Option<Arc<Point<'static, F>>>> = vec![None; n];
        for point in graph.get_point_indexation() {
            let row = point.get_origin_id();
            if row >= n || point.get_v().len() != dim {
                return Err(Error::IndexFileMismatch {
                    what: "the graph's points",
                });
            }
            if let Some(limit) = limit {
                if point
                    .get_v()
                    .iter()
                    .any(|v| v.abs().to_f64_lossless() > limit)
                {
                    return Err(Error::ItemMagnitude { row, limit });
                }
            }
            by_row[row] = Some(point);
        }
        let points =
            by_row
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or(Error::IndexFileMismatch {
                    what: "the graph's number of points",
                })?;
        Ok(HnswIndex {
            graph,
            points,
            norms,
            ids,
            rows,
            dim,
            metric,
            params,
        })
    }

    /// The parameters the index was built with (and its current
    /// `ef_search`).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Changes the search-time candidate list size (used as
    /// `min(max(ef_search, k), len)`).
    ///
    /// # Errors
    /// [`Error::ZeroEfSearch`] if `ef_search` is 0.
    pub fn set_ef_search(&mut self, ef_search: usize) -> Result<()> {
        self.params = self.params.to_builder().ef_search(ef_search).build()?;
        Ok(())
    }

    /// Item ids in row order.
    pub fn ids(&self) -> &[I] {
        &self.ids
    }

    /// `true` if `id` is indexed.
    pub fn contains(&self, id: &I) -> bool {
        self.rows.contains_key(id)
    }

    /// Embedding dimension (as [`AnnIndex::dim`] and
    /// [`EmbeddingSource::dim`]; inherent so that calls are unambiguous when
    /// both traits are in scope).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of indexed items (as [`AnnIndex::len`]).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` if the index holds no item; never, as construction refuses an
    /// empty catalogue.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// File names of a saved index.
fn file_names(dir: &Path, name: &str) -> [PathBuf; 3] {
    [
        dir.join(format!("{name}.hnsw.graph")),
        dir.join(format!("{name}.hnsw.data")),
        dir.join(format!("{name}.hnsw.meta")),
    ]
}

/// An I/O failure on `path`, as a backend error naming the file.
fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Backend(ExternalError::new(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    )))
}

/// Length and 64-bit FNV-1a hash of a file's bytes.
fn fingerprint(path: &Path) -> Result<(u64, u64)> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let (mut len, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325_u64);
    loop {
        let buf = reader.fill_buf().map_err(|e| io_error(path, e))?;
        if buf.is_empty() {
            return Ok((len, hash));
        }
        for &b in buf {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let read = buf.len();
        len = len.wrapping_add(read as u64);
        reader.consume(read);
    }
}

/// The magic number `hnsw_rs` 0.3 writes at the start of its data file and of
/// every point in it (native endian).
const HNSW_DATA_MAGIC: u32 = 0xa67f_0000;

/// Checks the layout of `hnsw_rs`'s data file against the metadata before
/// `hnsw_rs` reads it: the header's dimension, and for each of the `len`
/// points a known magic, a row number `< len` seen once, and exactly
/// `dim × size_of::<F>()` bytes of values; nothing after the last point.
///
/// `hnsw_rs` trusts these fields: it allocates by the stored length and then
/// reads `dim` values from that buffer whatever its length (an over-read,
/// undefined behaviour, for a short one), so a file whose checksum was
/// rewritten along with its contents must be refused here.
///
/// # Errors
/// [`Error::IndexFileMismatch`] naming the data file's layout;
/// [`Error::Backend`] for an I/O failure.
fn check_data_file<F>(path: &Path, dim: usize, len: usize) -> Result<()> {
    let bad = || Error::IndexFileMismatch {
        what: "the data file's layout",
    };
    let elem = core::mem::size_of::<F>();
    let values = dim.checked_mul(elem).ok_or_else(bad)?;
    // header: magic (u32) + dimension (usize); each point: magic (u32),
    // row (u64), byte length (u64), values
    let header = 4 + core::mem::size_of::<usize>();
    let per_point = values.checked_add(20).ok_or_else(bad)?;
    let expected = per_point
        .checked_mul(len)
        .and_then(|b| b.checked_add(header))
        .ok_or_else(bad)?;
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    if u64::try_from(expected).ok() != Some(size) {
        return Err(bad());
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut u32_buf = [0u8; 4];
    let mut u64_buf = [0u8; 8];
    let mut usize_buf = [0u8; core::mem::size_of::<usize>()];
    let io = |e| io_error(path, e);
    reader.read_exact(&mut u32_buf).map_err(io)?;
    reader.read_exact(&mut usize_buf).map_err(io)?;
    if u32::from_ne_bytes(u32_buf) != HNSW_DATA_MAGIC || usize::from_ne_bytes(usize_buf) != dim {
        return Err(bad());
    }
    let mut seen = vec![false; len];
    let skip = i64::try_from(values).map_err(|_| bad())?;
    for _ in 0..len {
        reader.read_exact(&mut u32_buf).map_err(io)?;
        if u32::from_ne_bytes(u32_buf) != HNSW_DATA_MAGIC {
            return Err(bad());
        }
        reader.read_exact(&mut u64_buf).map_err(io)?;
        let row = usize::try_from(u64::from_ne_bytes(u64_buf)).map_err(|_| bad())?;
        match seen.get_mut(row) {
            Some(s) if !*s => *s = true,
            _ => return Err(bad()),
        }
        reader.read_exact(&mut u64_buf).map_err(io)?;
        if usize::try_from(u64::from_ne_bytes(u64_buf)).ok() != Some(values) {
            return Err(bad());
        }
        reader.seek_relative(skip).map_err(io)?;
    }
    Ok(())
}

const META_MAGIC: &str = "pinnersage-hnsw 1";

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "cosine",
        Metric::SquaredEuclidean => "squared_euclidean",
        Metric::InnerProduct => "inner_product",
    }
}

/// The metadata `save` writes next to `hnsw_rs`'s two files.
struct Meta<F> {
    elem: String,
    metric: Metric,
    dim: usize,
    len: usize,
    params: HnswParams,
    graph: (u64, u64),
    data: (u64, u64),
    norms: Vec<F>,
}

impl<F: Scalar> Meta<F> {
    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{META_MAGIC}")?;
        writeln!(out, "elem {}", self.elem)?;
        writeln!(out, "metric {}", metric_name(self.metric))?;
        writeln!(out, "dim {}", self.dim)?;
        writeln!(out, "len {}", self.len)?;
        let p = self.params;
        writeln!(out, "max_connections {}", p.max_connections)?;
        writeln!(out, "ef_construction {}", p.ef_construction)?;
        writeln!(out, "ef_search {}", p.ef_search)?;
        writeln!(out, "parallel_build {}", p.parallel_build)?;
        writeln!(out, "graph {} {:016x}", self.graph.0, self.graph.1)?;
        writeln!(out, "data {} {:016x}", self.data.0, self.data.1)?;
        writeln!(out, "norms {}", self.norms.len())?;
        for v in &self.norms {
            // the f64 bit pattern: exact for f32 and f64
            writeln!(out, "{:016x}", v.to_f64_lossless().to_bits())?;
        }
        Ok(())
    }

    fn parse(text: &str) -> Result<Self> {
        let bad = |what| Error::IndexFileMismatch { what };
        let mut lines = text.lines();
        if lines.next() != Some(META_MAGIC) {
            return Err(bad("the metadata format"));
        }
        let mut field = |key: &'static str| -> Result<&str> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or(bad("the metadata format"))
        };
        let number = |s: &str| s.parse::<usize>().map_err(|_| bad("the metadata format"));
        let pair = |s: &str| -> Result<(u64, u64)> {
            let (len, hash) = s.split_once(' ').ok_or(bad("the metadata format"))?;
            Ok((
                len.parse().map_err(|_| bad("the metadata format"))?,
                u64::from_str_radix(hash, 16).map_err(|_| bad("the metadata format"))?,
            ))
        };
        let elem = field("elem")?.to_string();
        let metric = match field("metric")? {
            "cosine" => Metric::Cosine,
            "squared_euclidean" => Metric::SquaredEuclidean,
            _ => return Err(bad("the metric")),
        };
        let dim = number(field("dim")?)?;
        let len = number(field("len")?)?;
        let params = HnswParams::builder()
            .max_connections(number(field("max_connections")?)?)
            .ef_construction(number(field("ef_construction")?)?)
            .ef_search(number(field("ef_search")?)?)
            .parallel_build(field("parallel_build")? == "true")
            .build()
            .map_err(|_| bad("the parameters"))?;
        let graph = pair(field("graph")?)?;
        let data = pair(field("data")?)?;
        let count = number(field("norms")?)?;
        let norms = lines
            .take(count)
            .map(|l| {
                u64::from_str_radix(l, 16)
                    .map(|b| F::from_f64_rounded(f64::from_bits(b)))
                    .map_err(|_| bad("the metadata format"))
            })
            .collect::<Result<Vec<F>>>()?;
        let expected = if metric == Metric::Cosine { len } else { 0 };
        if norms.len() != count || count != expected || norms.iter().any(|v| !v.is_finite()) {
            return Err(bad("the norms"));
        }
        Ok(Meta {
            elem,
            metric,
            dim,
            len,
            params,
            graph,
            data,
            norms,
        })
    }
}

impl<I, F> HnswIndex<I, F>
where
    I: Clone + Eq + Hash,
    F: Scalar + Serialize + DeserializeOwned,
{
    /// Writes the index to `dir` (which must exist) as three files:
    /// `{name}.hnsw.graph` and `{name}.hnsw.data` (`hnsw_rs`'s dump format)
    /// and `{name}.hnsw.meta` (metric, parameters, norms and checksums of the
    /// other two). Existing files of that name are replaced. The item ids are
    /// not saved: [`load`](Self::load) takes them again, in the same order.
    ///
    /// # Errors
    /// [`Error::Backend`] wrapping the I/O error (naming the file) if a file
    /// cannot be written, or `hnsw_rs`'s error.
    ///
    /// # Complexity
    /// O(n·(d + M)) time and file size.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::ann::{AnnIndex, HnswIndex, HnswParams, Metric};
    ///
    /// let x = array![[1.0_f32, 0.0], [0.0, 1.0], [0.6, 0.8]];
    /// let index = HnswIndex::with_row_ids(x, Metric::Cosine, HnswParams::default())?;
    /// let dir = std::env::temp_dir().join(format!("pinnersage-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// index.save(&dir, "catalogue")?;
    /// let loaded = HnswIndex::<usize, f32>::load_with_row_ids(&dir, "catalogue")?;
    /// let q = array![0.5_f32, 0.9];
    /// assert_eq!(loaded.search(q.view(), 3)?, index.search(q.view(), 3)?);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let [graph_path, data_path, meta_path] = file_names(dir, name);
        // hnsw_rs panics if it cannot create its files: find out first
        for path in [&graph_path, &data_path, &meta_path] {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(path)
                .map_err(|e| io_error(path, e))?;
        }
        let dumped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.graph.file_dump(dir, name)
        }))
        .map_err(|_| Error::Backend(ExternalError::new("hnsw_rs panicked while dumping")))?
        .map_err(|e| Error::Backend(ExternalError::new(e.to_string())))?;
        if dumped != name {
            // hnsw_rs does not overwrite the files of a loaded graph: it
            // picked a fresh name, move its files over ours
            let [g, d, _] = file_names(dir, &dumped);
            std::fs::rename(&g, &graph_path).map_err(|e| io_error(&g, e))?;
            std::fs::rename(&d, &data_path).map_err(|e| io_error(&d, e))?;
        }
        let meta = Meta {
            elem: core::any::type_name::<F>().to_string(),
            metric: self.metric,
            dim: self.dim,
            len: self.ids.len(),
            params: self.params,
            graph: fingerprint(&graph_path)?,
            data: fingerprint(&data_path)?,
            norms: self.norms.clone(),
        };
        let file = std::fs::File::create(&meta_path).map_err(|e| io_error(&meta_path, e))?;
        let mut out = std::io::BufWriter::new(file);
        meta.write(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| io_error(&meta_path, e))
    }

    /// Reads an index written by [`save`](Self::save); `ids` are the item
    /// ids in the order of the saved rows (the order given when it was
    /// built). The graph is not rebuilt: searches return exactly what the
    /// saved index returned.
    ///
    /// Each load leaks a small `hnsw_rs` loader object (about 100 bytes:
    /// `hnsw_rs` ties the graph's lifetime to it); load once per process, not
    /// per request.
    ///
    /// # Errors
    /// * [`Error::Backend`] if a file cannot be read (naming it), or `hnsw_rs`
    ///   refuses it;
    /// * [`Error::IndexFileMismatch`] if the metadata is malformed, written
    ///   for another element type, or its checksums do not match the graph
    ///   and data files (files altered or from another save), or if the data
    ///   file's layout (dimension, rows, value lengths) does not match the
    ///   metadata;
    /// * [`Error::LengthMismatch`] if `ids.len()` is not the saved number of
    ///   rows; [`Error::DuplicateId`] for a repeated id.
    ///
    /// # Complexity
    /// O(n·(d + M)) time: reading and checksumming the files.
    pub fn load(dir: &Path, name: &str, ids: Vec<I>) -> Result<Self> {
        let [graph_path, data_path, meta_path] = file_names(dir, name);
        let mut text = String::new();
        std::fs::File::open(&meta_path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| io_error(&meta_path, e))?;
        let meta = Meta::<F>::parse(&text)?;
        if meta.elem != core::any::type_name::<F>() {
            return Err(Error::IndexFileMismatch {
                what: "the element type",
            });
        }
        if fingerprint(&graph_path)? != meta.graph {
            return Err(Error::IndexFileMismatch {
                what: "the graph file's checksum",
            });
        }
        if fingerprint(&data_path)? != meta.data {
            return Err(Error::IndexFileMismatch {
                what: "the data file's checksum",
            });
        }
        check_data_file::<F>(&data_path, meta.dim, meta.len)?;
        if ids.len() != meta.len {
            return Err(Error::LengthMismatch {
                what: "item ids vs saved index rows",
                expected: meta.len,
                got: ids.len(),
            });
        }
        let mut rows = RowMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (row, id) in ids.iter().enumerate() {
            if rows.insert(id.clone(), row).is_some() {
                return Err(Error::DuplicateId { row });
            }
        }
        // hnsw_rs borrows its loader for the graph's lifetime
        crate::thread_pool::make_usable_here(); // as in the build
        let loader: &'static HnswIo = Box::leak(Box::new(HnswIo::new(dir, name)));
        let distance = HnswDistance {
            metric: meta.metric,
        };
        let graph = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loader.load_hnsw_with_dist::<F, HnswDistance>(distance)
        }))
        .map_err(|_| Error::Backend(ExternalError::new("hnsw_rs panicked while loading")))?
        .map_err(|e| Error::Backend(ExternalError::new(e.to_string())))?;
        Self::assemble(
            graph,
            ids,
            rows,
            meta.norms,
            meta.dim,
            meta.metric,
            meta.params,
        )
    }
}

impl<F> HnswIndex<usize, F>
where
    F: Scalar + Serialize + DeserializeOwned,
{
    /// [`load`](Self::load) for an index whose ids are its row numbers.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    ///
    /// # Complexity
    /// As [`load`](Self::load).
    pub fn load_with_row_ids(dir: &Path, name: &str) -> Result<Self> {
        let [_, _, meta_path] = file_names(dir, name);
        let mut text = String::new();
        std::fs::File::open(&meta_path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| io_error(&meta_path, e))?;
        let len = Meta::<F>::parse(&text)?.len;
        Self::load(dir, name, (0..len).collect())
    }
}

/// The index is the catalogue's embedding source: one copy of the catalogue
/// (the graph's) serves profiles and retrieval.
impl<I: Clone + Eq + Hash, F: Scalar> EmbeddingSource for HnswIndex<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.dim
    }

    /// Rows as given for [`Metric::SquaredEuclidean`]; `unit row × norm`
    /// for [`Metric::Cosine`] (within a few ulps of the row as given).
    ///
    /// # Complexity
    /// One hash lookup and a copy of `d` values.
    fn fill(&self, id: &I, out: &mut [F]) -> Result<bool> {
        let Some(&row) = self.rows.get(id) else {
            return Ok(false);
        };
        let Some(point) = self.points.get(row) else {
            return Ok(false);
        };
        let v = point.get_v();
        match self.norms.get(row) {
            Some(&norm) => {
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = x * norm;
                }
            }
            None => {
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = x;
                }
            }
        }
        Ok(true)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> AnnIndex for HnswIndex<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    /// `k` is clamped to [`len`](AnnIndex::len) and the candidate list to
    /// `min(max(ef_search, k), len)`.
    ///
    /// # Complexity
    /// About O(log n·min(max(ef_search, k), n)·d) per query.
    fn search(&self, query: ArrayView1<'_, F>, k: usize) -> Result<Vec<Neighbour<I, F>>> {
        check_query(query, self.dim)?;
        check_query_magnitude(query, magnitude_limit::<f32>(self.metric, self.dim))?;
        // never ask hnsw_rs for more than the index holds: it allocates by k
        // and ef, and `usize::MAX` would overflow
        let k = k.min(self.ids.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        // one allocation, normalised in place as the rows were at build
        let mut q: Vec<F> = query.iter().copied().collect();
        if self.metric == Metric::Cosine {
            normalise(ndarray::ArrayViewMut1::from(&mut q[..]));
        }
        let ef = self.params.ef_search.max(k).min(self.ids.len());
        let mut hits: Vec<(usize, Neighbour<I, F>)> = self
            .graph
            .search(&q, k, ef)
            .into_iter()
            .filter_map(|n| {
                let point = self.points.get(n.d_id)?;
                self.ids.get(n.d_id).map(|id| {
                    // the graph's f32 distance only ranked the candidates:
                    // report the distance summed directly in F
                    let x = ndarray::ArrayView1::from(point.get_v());
                    let q = ndarray::ArrayView1::from(&q[..]);
                    (
                        n.d_id,
                        Neighbour {
                            id: id.clone(),
                            distance: direct_distance(self.metric, q, x, true),
                        },
                    )
                })
            })
            .collect();
        hits.sort_by(|(ra, a), (rb, b)| {
            a.distance
                .partial_cmp(&b.distance)
                .unwrap_or(core::cmp::Ordering::Equal)
                .then(ra.cmp(rb))
        });
        let hits: Vec<Neighbour<I, F>> = hits.into_iter().map(|(_, hit)| hit).collect();
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::ExactIndex;
    use std::collections::HashSet;
    use std::path::PathBuf;

    fn catalogue(items: usize, seed: u64) -> Array2<f32> {
        crate::ann::test_support::catalogue(items, 32, 20, 0.5, seed)
    }

    fn recall_at_10(metric: Metric) -> f64 {
        // 2000 indexed items and 100 held-out queries from the same topics
        let all = catalogue(2100, 5);
        let items = all.slice(ndarray::s![..2000, ..]).to_owned();
        let queries = all.slice(ndarray::s![2000.., ..]);
        let exact = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
        let hnsw = HnswIndex::with_row_ids(items.clone(), metric, HnswParams::default()).unwrap();
        let truth = exact.search_batch(queries, 10).unwrap();
        let mut found = 0;
        for (q, t) in queries.rows().into_iter().zip(&truth) {
            let got: HashSet<usize> = hnsw.search(q, 10).unwrap().iter().map(|n| n.id).collect();
            found += t.iter().filter(|n| got.contains(&n.id)).count();
        }
        found as f64 / (10 * truth.len()) as f64
    }

    #[test]
    fn recall_at_10_against_exact_cosine() {
        let r = recall_at_10(Metric::Cosine);
        assert!(r >= 0.95, "recall@10 = {r}");
    }

    #[test]
    fn recall_at_10_against_exact_squared_euclidean() {
        let r = recall_at_10(Metric::SquaredEuclidean);
        assert!(r >= 0.95, "recall@10 = {r}");
    }

    #[test]
    fn distances_follow_the_metric_convention() {
        let items = catalogue(500, 9);
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let exact = ExactIndex::with_row_ids(items.clone(), metric).unwrap();
            let hnsw =
                HnswIndex::with_row_ids(items.clone(), metric, HnswParams::default()).unwrap();
            let q = items.row(17);
            let e = exact.search(q, 5).unwrap();
            let h = hnsw.search(q, 5).unwrap();
            assert_eq!(h.len(), 5);
            assert_eq!(h[0].id, 17);
            let mut matched = 0;
            for n in &h {
                if let Some(m) = e.iter().find(|m| m.id == n.id) {
                    matched += 1;
                    assert!((n.distance - m.distance).abs() < 1e-4, "{metric:?}");
                }
            }
            assert!(matched >= 4, "{metric:?}: {matched} of 5 ids are exact");
            assert!(h.windows(2).all(|w| w[0].distance <= w[1].distance));
        }
    }

    #[test]
    fn serial_build_is_deterministic() {
        let items = catalogue(400, 2);
        let a =
            HnswIndex::with_row_ids(items.clone(), Metric::Cosine, HnswParams::default()).unwrap();
        let b =
            HnswIndex::with_row_ids(items.clone(), Metric::Cosine, HnswParams::default()).unwrap();
        for r in (0..400).step_by(37) {
            assert_eq!(
                a.search(items.row(r), 10).unwrap(),
                b.search(items.row(r), 10).unwrap()
            );
        }
    }

    #[test]
    fn ids_filtering_and_small_k() {
        let items = catalogue(300, 4);
        let ids: Vec<String> = (0..300).map(|i| format!("pin:{i}")).collect();
        let index =
            HnswIndex::new(ids, items.clone(), Metric::Cosine, HnswParams::default()).unwrap();
        assert!(index.contains(&"pin:3".to_string()));
        assert_eq!(index.ids().len(), 300);
        let q = items.row(3);
        assert!(index.search(q, 0).unwrap().is_empty());
        // the default over-fetching filtered search
        let hits = index
            .search_filtered(q, 5, &|id: &String| id == "pin:3")
            .unwrap();
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|h| h.id != "pin:3"));
    }

    #[test]
    fn error_hnsw_max_connections() {
        for m in [0, 1, 256, 300] {
            assert_eq!(
                HnswParams::builder().max_connections(m).build(),
                Err(Error::HnswMaxConnections { value: m })
            );
        }
        assert!(HnswParams::builder().max_connections(2).build().is_ok());
        assert!(HnswParams::builder().max_connections(255).build().is_ok());
    }

    #[test]
    fn error_zero_ef_construction() {
        assert_eq!(
            HnswParams::builder().ef_construction(0).build(),
            Err(Error::ZeroEfConstruction)
        );
    }

    #[test]
    fn error_zero_ef_search() {
        assert_eq!(
            HnswParams::builder().ef_search(0).build(),
            Err(Error::ZeroEfSearch)
        );
        let items = catalogue(50, 1);
        let mut index =
            HnswIndex::with_row_ids(items, Metric::Cosine, HnswParams::default()).unwrap();
        assert_eq!(index.set_ef_search(0), Err(Error::ZeroEfSearch));
        index.set_ef_search(10).unwrap();
        assert_eq!(index.params().ef_search(), 10);
    }

    #[test]
    fn error_unsupported_metric() {
        let items = catalogue(50, 1);
        assert_eq!(
            HnswIndex::with_row_ids(items, Metric::InnerProduct, HnswParams::default()).err(),
            Some(Error::UnsupportedMetric {
                metric: Metric::InnerProduct
            })
        );
    }

    /// The limit cannot be reached in a test (2³¹ rows): the rule itself.
    #[test]
    fn error_too_many_items() {
        assert_eq!(check_item_count(MAX_ITEMS), Ok(()));
        assert_eq!(
            check_item_count(MAX_ITEMS + 1),
            Err(Error::TooManyItems {
                items: MAX_ITEMS + 1,
                limit: MAX_ITEMS
            })
        );
    }

    #[test]
    fn params_builder_round_trip() {
        let p = HnswParams::builder()
            .max_connections(12)
            .ef_construction(40)
            .ef_search(20)
            .parallel_build(true)
            .build()
            .unwrap();
        assert_eq!(
            (
                p.max_connections(),
                p.ef_construction(),
                p.ef_search(),
                p.parallel_build()
            ),
            (12, 40, 20, true)
        );
        assert_eq!(p.to_builder().build(), Ok(p));
        assert_eq!(HnswParams::builder().build(), Ok(HnswParams::default()));
    }

    /// A column-major matrix (such as `a.t()` of a row-major one) is indexed
    /// by rows: every search used to return nothing, since the rows were not
    /// contiguous and were silently dropped.
    #[test]
    fn column_major_matrix_keeps_every_row() {
        let items = catalogue(200, 3);
        // the rows of a column-major matrix: what `a.t()` of a row-major one is
        let f_order = items.t().as_standard_layout().into_owned().reversed_axes();
        assert!(!f_order.is_standard_layout());
        assert_eq!(f_order, items);
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let a = HnswIndex::with_row_ids(items.clone(), metric, HnswParams::default()).unwrap();
            let b =
                HnswIndex::with_row_ids(f_order.clone(), metric, HnswParams::default()).unwrap();
            for r in (0..200).step_by(13) {
                let hits = b.search(items.row(r), 5).unwrap();
                assert_eq!(hits.len(), 5, "{metric:?}");
                assert_eq!(hits[0].id, r);
                assert_eq!(hits, a.search(items.row(r), 5).unwrap());
            }
        }
    }

    /// The index is the catalogue's source: exact rows for squared
    /// Euclidean, rows within a few ulps for cosine (unit row × norm).
    #[test]
    fn embedding_source_returns_the_rows() {
        let items = catalogue(100, 4) * 3.0;
        let ids: Vec<u64> = (0..100).map(|i| 1_000_000_007 * i).collect();
        let wanted = [ids[5], 42, ids[99]];
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let index =
                HnswIndex::new(ids.clone(), items.clone(), metric, HnswParams::default()).unwrap();
            let batch = index.embeddings(&wanted).unwrap();
            assert_eq!(batch.found, vec![true, false, true]);
            for (k, r) in [(0, 5), (2, 99)] {
                for (got, want) in batch.matrix.row(k).iter().zip(items.row(r)) {
                    let tol = if metric == Metric::Cosine {
                        4.0 * f32::EPSILON * 3.0
                    } else {
                        0.0
                    };
                    assert!((got - want).abs() <= tol, "{metric:?}: {got} vs {want}");
                }
            }
            assert_eq!(batch.matrix.row(1).to_vec(), vec![0.0; 32]);
        }
    }

    /// A unique scratch directory under the system's temp dir.
    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pinnersage-hnsw-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// save → load gives identical searches and embeddings, for both
    /// metrics; saving the loaded index again replaces the files in place.
    #[test]
    fn save_then_load_gives_identical_results() {
        let items = catalogue(600, 6);
        let ids: Vec<String> = (0..600).map(|i| format!("pin:{i}")).collect();
        let dir = scratch("roundtrip");
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let params = HnswParams::builder().ef_search(20).build().unwrap();
            let index = HnswIndex::new(ids.clone(), items.clone(), metric, params).unwrap();
            index.save(&dir, "idx").unwrap();
            let loaded = HnswIndex::<String, f32>::load(&dir, "idx", ids.clone()).unwrap();
            assert_eq!(
                (loaded.len(), loaded.dim(), loaded.metric()),
                (600, 32, metric)
            );
            assert_eq!(loaded.params(), params);
            for r in (0..600).step_by(17) {
                let q = items.row(r).mapv(|v| v * 0.9 + 0.01);
                assert_eq!(
                    loaded.search(q.view(), 10).unwrap(),
                    index.search(q.view(), 10).unwrap()
                );
            }
            let asked = [ids[3].clone(), ids[599].clone()];
            assert_eq!(
                loaded.embeddings(&asked).unwrap(),
                index.embeddings(&asked).unwrap()
            );
            // a loaded graph saved under the same name: same files, same results
            loaded.save(&dir, "idx").unwrap();
            let again = HnswIndex::<String, f32>::load(&dir, "idx", ids.clone()).unwrap();
            let q = items.row(8);
            assert_eq!(again.search(q, 10).unwrap(), index.search(q, 10).unwrap());
        }
        let rows = HnswIndex::<usize, f32>::load_with_row_ids(&dir, "idx").unwrap();
        assert_eq!(rows.search(items.row(4), 1).unwrap()[0].id, 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_errors() {
        let items = catalogue(50, 7);
        let dir = scratch("errors");
        let index = HnswIndex::with_row_ids(items, Metric::SquaredEuclidean, HnswParams::default())
            .unwrap();
        // missing files: a backend error naming the file, no panic
        match HnswIndex::<usize, f32>::load_with_row_ids(&dir, "absent") {
            Err(Error::Backend(e)) => assert!(e.to_string().contains("absent.hnsw.meta")),
            other => panic!("{other:?}"),
        }
        // a directory that does not exist: save refuses before hnsw_rs panics
        assert!(matches!(
            index.save(&dir.join("no/such/dir"), "x"),
            Err(Error::Backend(_))
        ));
        index.save(&dir, "ok").unwrap();
        assert_eq!(
            HnswIndex::<u32, f32>::load(&dir, "ok", vec![1, 2]).err(),
            Some(Error::LengthMismatch {
                what: "item ids vs saved index rows",
                expected: 50,
                got: 2
            })
        );
        assert_eq!(
            HnswIndex::<u32, f32>::load(&dir, "ok", vec![7; 50]).err(),
            Some(Error::DuplicateId { row: 1 })
        );
        assert_eq!(
            HnswIndex::<usize, f64>::load_with_row_ids(&dir, "ok").err(),
            Some(Error::IndexFileMismatch {
                what: "the element type"
            })
        );
        // altered data file: refused before hnsw_rs reads it
        let data = dir.join("ok.hnsw.data");
        let mut bytes = std::fs::read(&data).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&data, &bytes).unwrap();
        assert_eq!(
            HnswIndex::<usize, f32>::load_with_row_ids(&dir, "ok").err(),
            Some(Error::IndexFileMismatch {
                what: "the data file's checksum"
            })
        );
        let graph = dir.join("ok.hnsw.graph");
        std::fs::write(&graph, b"not a graph").unwrap();
        assert_eq!(
            HnswIndex::<usize, f32>::load_with_row_ids(&dir, "ok").err(),
            Some(Error::IndexFileMismatch {
                what: "the graph file's checksum"
            })
        );
        std::fs::write(dir.join("ok.hnsw.meta"), b"something else\n").unwrap();
        assert_eq!(
            HnswIndex::<usize, f32>::load_with_row_ids(&dir, "ok").err(),
            Some(Error::IndexFileMismatch {
                what: "the metadata format"
            })
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn input_errors() {
        let d = HnswParams::default();
        assert_eq!(
            HnswIndex::with_row_ids(Array2::<f32>::zeros((0, 3)), Metric::Cosine, d).err(),
            Some(Error::EmptyInput)
        );
        let items = catalogue(20, 1);
        assert_eq!(
            HnswIndex::new(vec![1; 20], items.clone(), Metric::Cosine, d).err(),
            Some(Error::DuplicateId { row: 1 })
        );
        let index = HnswIndex::with_row_ids(items.clone(), Metric::Cosine, d).unwrap();
        assert_eq!(
            index.search(ndarray::array![1.0_f32].view(), 1),
            Err(Error::DimensionMismatch {
                expected: 32,
                got: 1
            })
        );
        let mut q = items.row(0).to_owned();
        q[4] = f32::NAN;
        assert_eq!(
            index.search(q.view(), 1),
            Err(Error::NonFiniteQuery { position: 4 })
        );
    }

    /// `k`, `ef_search` and `ef_construction` far beyond the index size are
    /// clamped instead of overflowing an allocation inside `hnsw_rs`.
    #[test]
    fn huge_k_and_ef_are_clamped() {
        let items = catalogue(50, 1);
        let d = HnswParams::default();
        let index = HnswIndex::with_row_ids(items.clone(), Metric::Cosine, d).unwrap();
        let all = index.search(items.row(0), usize::MAX).unwrap();
        assert_eq!(all.len(), 50);
        assert_eq!(all[0].id, 0);
        let mut wide = HnswIndex::with_row_ids(items.clone(), Metric::Cosine, d).unwrap();
        wide.set_ef_search(usize::MAX).unwrap();
        assert_eq!(wide.search(items.row(3), 2).unwrap()[0].id, 3);
        let built = HnswIndex::with_row_ids(
            items.clone(),
            Metric::SquaredEuclidean,
            HnswParams::builder()
                .ef_construction(usize::MAX)
                .build()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(built.params().ef_construction(), usize::MAX);
        assert_eq!(built.search(items.row(7), 1).unwrap()[0].id, 7);
    }

    /// Cosine over vectors whose squared norm overflows or underflows `f32`:
    /// the adapter's own normalisation scales first.
    #[test]
    fn cosine_of_very_large_and_very_small_vectors() {
        for scale in [1e20_f32, 1e-25] {
            let x = ndarray::array![[scale, 0.0], [0.0, scale], [scale, scale]];
            let index =
                HnswIndex::with_row_ids(x.clone(), Metric::Cosine, HnswParams::default()).unwrap();
            let hits = index.search(ndarray::array![scale, 0.0].view(), 3).unwrap();
            let ids: Vec<usize> = hits.iter().map(|h| h.id).collect();
            assert_eq!(ids, vec![0, 2, 1], "scale {scale}");
            assert!(hits[0].distance < 1e-6);
        }
        assert_eq!(
            HnswIndex::with_row_ids(
                ndarray::array![[1.0_f32, 0.0], [3e38, 3e38]],
                Metric::Cosine,
                HnswParams::default()
            )
            .err(),
            Some(Error::NormOverflow { row: 1 })
        );
    }

    #[test]
    fn construction_input_rules() {
        let d = HnswParams::default();
        assert_eq!(
            HnswIndex::with_row_ids(Array2::<f32>::zeros((4, 0)), Metric::Cosine, d).err(),
            Some(Error::ZeroDimension { rows: 4 })
        );
        let mut items = catalogue(20, 1);
        assert_eq!(
            HnswIndex::new(vec![1_u32, 2, 3], items.clone(), Metric::Cosine, d).err(),
            Some(Error::LengthMismatch {
                what: "item ids vs embedding rows",
                expected: 20,
                got: 3
            })
        );
        items[[6, 2]] = f32::INFINITY;
        assert_eq!(
            HnswIndex::with_row_ids(items.clone(), Metric::SquaredEuclidean, d).err(),
            Some(Error::NonFiniteValue { row: 6, column: 2 })
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<HnswIndex<u64, f32>>();
        assert_send_sync::<HnswIndex<String, f64>>();
    }
}
