//! Where item embeddings come from: the [`EmbeddingSource`] trait, the batch
//! it returns ([`EmbeddingBatch`]) and an in-memory catalogue,
//! [`InMemoryEmbeddings`].
//!
//! The crate never needs the whole catalogue: a profile looks up only the
//! items a user acted on, through a source the caller provides (a matrix in
//! memory, a memory-mapped file, a feature-store client, ...). The indexes of
//! [`crate::ann`] are sources too, so one copy of the catalogue serves both
//! profiles and retrieval.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Looks up item embeddings by item id.
///
/// Every embedding of a source has the same length, [`dim`](Self::dim).
/// Embeddings are **copied into the caller's memory**
/// ([`fill`](Self::fill) writes one into a buffer,
/// [`embeddings`](Self::embeddings) returns an owned matrix), so a source may
/// hold its embeddings in memory, decode them on demand, or fetch them from a
/// remote store. A lookup can fail: a source reports its own failures as
/// [`Error::Source`] wrapping its error
/// ([`ExternalError::new`](crate::ExternalError::new)). An unknown item is
/// not a failure: what a profile does with it is configured by
/// [`UnknownItems`](crate::UnknownItems).
///
/// A profile calls [`embeddings`](Self::embeddings) once per user with the
/// user's distinct items; its default implementation calls
/// [`fill`](Self::fill) per id, and a remote store overrides it to make one
/// request per batch.
///
/// `&S` is a source whenever `S` is, so a shared source can be passed by
/// reference to code that takes a source by value.
///
/// # Example: in memory
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::{EmbeddingSource, InMemoryEmbeddings};
///
/// let source = InMemoryEmbeddings::new(vec!["a", "b"], array![[1.0_f32, 0.0], [0.0, 1.0]])?;
/// let mut buf = [0.0_f32; 2];
/// assert!(source.fill(&"b", &mut buf)?);
/// assert_eq!(buf, [0.0, 1.0]);
/// assert!(!source.fill(&"c", &mut buf)?); // unknown: not an error
/// let batch = source.embeddings(&["c", "a"])?;
/// assert_eq!(batch.found, vec![false, true]);
/// assert_eq!(batch.matrix.row(1).to_vec(), vec![1.0, 0.0]);
/// # Ok::<(), pinnersage::Error>(())
/// ```
///
/// # Example: a store that decodes or fetches on demand
/// A `HashMap` keyed by sparse `u64` ids holding encoded records, decoded
/// per lookup; [`embeddings`](Self::embeddings) is overridden to make one
/// (counted) request per batch, as a remote store would, and a record that
/// does not decode is reported as [`Error::Source`].
/// ```
/// use std::cell::Cell;
/// use std::collections::HashMap;
/// use pinnersage::ndarray::Array2;
/// use pinnersage::{EmbeddingBatch, EmbeddingSource, Error, ExternalError};
///
/// struct Store {
///     records: HashMap<u64, Vec<u8>>, // little-endian f32s
///     dim: usize,
///     requests: Cell<usize>,
/// }
///
/// impl Store {
///     fn decode(&self, bytes: &[u8], out: &mut [f32]) -> pinnersage::Result<()> {
///         if bytes.len() != 4 * out.len() {
///             return Err(Error::Source(ExternalError::new("truncated record")));
///         }
///         for (x, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
///             *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
///         }
///         Ok(())
///     }
/// }
///
/// impl EmbeddingSource for Store {
///     type Id = u64;
///     type Elem = f32;
///     fn dim(&self) -> usize {
///         self.dim
///     }
///     fn fill(&self, id: &u64, out: &mut [f32]) -> pinnersage::Result<bool> {
///         self.requests.set(self.requests.get() + 1);
///         match self.records.get(id) {
///             Some(bytes) => self.decode(bytes, out).map(|()| true),
///             None => Ok(false),
///         }
///     }
///     fn embeddings(&self, ids: &[u64]) -> pinnersage::Result<EmbeddingBatch<f32>> {
///         self.requests.set(self.requests.get() + 1); // one round trip
///         let mut batch = EmbeddingBatch::unknown(ids.len(), self.dim);
///         for (k, id) in ids.iter().enumerate() {
///             if let Some(bytes) = self.records.get(id) {
///                 let row = batch.matrix.row_mut(k).into_slice().expect("standard layout");
///                 self.decode(bytes, row)?;
///                 batch.found[k] = true;
///             }
///         }
///         Ok(batch)
///     }
/// }
///
/// let encode = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
/// let store = Store {
///     records: HashMap::from([
///         (9_000_000_123, encode(&[1.0, 0.0])),
///         (42, encode(&[0.0, 1.0])),
///         (7, vec![0, 1, 2]), // corrupt
///     ]),
///     dim: 2,
///     requests: Cell::new(0),
/// };
/// let batch = store.embeddings(&[42, 5, 9_000_000_123])?;
/// assert_eq!(batch.found, vec![true, false, true]);
/// assert_eq!(batch.matrix, Array2::from_shape_vec((3, 2), vec![0., 1., 0., 0., 1., 0.]).unwrap());
/// assert_eq!(store.requests.get(), 1);
/// assert!(matches!(store.embeddings(&[7]), Err(Error::Source(_))));
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub trait EmbeddingSource {
    /// The item id type.
    type Id;
    /// The element type of the embeddings.
    type Elem: Scalar;

    /// The length of every embedding.
    fn dim(&self) -> usize;

    /// Copies the embedding of `id` into `out` (of length [`dim`](Self::dim))
    /// and returns `true`, or returns `false` (leaving `out` unspecified) if
    /// the source does not know the item.
    ///
    /// # Errors
    /// Whatever the source reports, normally [`Error::Source`]; callers
    /// within the crate always pass `out.len() == dim()`.
    fn fill(&self, id: &Self::Id, out: &mut [Self::Elem]) -> Result<bool>;

    /// The embeddings of `ids`, row `k` for `ids[k]`, with a mask of the ids
    /// the source knows (rows of unknown ids are zeros).
    ///
    /// The default implementation calls [`fill`](Self::fill) once per id;
    /// sources backed by a remote store override it to batch requests.
    ///
    /// # Errors
    /// The first error of [`fill`](Self::fill);
    /// [`Error::EmbeddingBatchTooLarge`] if the batch cannot exist
    /// (`ids.len() × dim()` values over `isize::MAX` bytes).
    ///
    /// # Complexity
    /// `ids.len()` calls of `fill`; O(`ids.len()`·d) space.
    fn embeddings(&self, ids: &[Self::Id]) -> Result<EmbeddingBatch<Self::Elem>> {
        let mut batch = EmbeddingBatch::try_unknown(ids.len(), self.dim())?;
        for (k, id) in ids.iter().enumerate() {
            let mut row = batch.matrix.row_mut(k);
            // a fresh `zeros` matrix is in standard layout: rows are contiguous
            let known = match row.as_slice_mut() {
                Some(out) => self.fill(id, out)?,
                None => {
                    let mut out = vec![<Self::Elem as num_traits::Zero>::zero(); row.len()];
                    let known = self.fill(id, &mut out)?;
                    row.assign(&ArrayView1::from(&out[..]));
                    known
                }
            };
            batch.found[k] = known;
        }
        Ok(batch)
    }
}

impl<S: EmbeddingSource + ?Sized> EmbeddingSource for &S {
    type Id = S::Id;
    type Elem = S::Elem;

    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn fill(&self, id: &Self::Id, out: &mut [Self::Elem]) -> Result<bool> {
        (**self).fill(id, out)
    }

    fn embeddings(&self, ids: &[Self::Id]) -> Result<EmbeddingBatch<Self::Elem>> {
        (**self).embeddings(ids)
    }
}

/// The answer of [`EmbeddingSource::embeddings`]: row `k` of `matrix` is the
/// embedding of the `k`-th id asked for if `found[k]`.
///
/// A source that builds one itself must return `ids.len()` rows of
/// [`dim`](EmbeddingSource::dim) columns and a mask of `ids.len()` flags; a
/// profile refuses anything else
/// ([`Error::LengthMismatch`] / [`Error::DimensionMismatch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingBatch<F> {
    /// One row per id asked for; zeros where the id is unknown.
    pub matrix: Array2<F>,
    /// `found[k]`: the source knows the `k`-th id.
    pub found: Vec<bool>,
}

impl<F: Scalar> EmbeddingBatch<F> {
    /// A batch of `ids` rows of `dim` zeros, every id marked unknown: the
    /// starting point of a source that fills rows as it finds them.
    ///
    /// # Panics
    /// If `ids × dim` elements exceed `isize::MAX` bytes (ndarray's limit);
    /// [`try_unknown`](Self::try_unknown) returns an error instead.
    pub fn unknown(ids: usize, dim: usize) -> Self {
        EmbeddingBatch {
            matrix: Array2::zeros((ids, dim)),
            found: vec![false; ids],
        }
    }

    /// [`unknown`](Self::unknown), checking the size first: what the default
    /// [`EmbeddingSource::embeddings`] uses, so a source reporting an absurd
    /// [`dim`](EmbeddingSource::dim) gives an error rather than a panic.
    ///
    /// # Errors
    /// [`Error::EmbeddingBatchTooLarge`] if `ids × dim` elements of `F`
    /// exceed `isize::MAX` bytes.
    ///
    /// # Example
    /// ```
    /// use pinnersage::{EmbeddingBatch, Error};
    ///
    /// let batch = EmbeddingBatch::<f32>::try_unknown(2, 3)?;
    /// assert_eq!((batch.matrix.dim(), batch.found), ((2, 3), vec![false, false]));
    /// assert_eq!(
    ///     EmbeddingBatch::<f32>::try_unknown(2, usize::MAX),
    ///     Err(Error::EmbeddingBatchTooLarge { ids: 2, dim: usize::MAX })
    /// );
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn try_unknown(ids: usize, dim: usize) -> Result<Self> {
        Self::check_size(ids, dim)?;
        Ok(Self::unknown(ids, dim))
    }

    /// [`Error::EmbeddingBatchTooLarge`] unless `ids × dim` values of `F` fit
    /// in `isize::MAX` bytes (ndarray's limit).
    fn check_size(ids: usize, dim: usize) -> Result<()> {
        let fits = ids
            .checked_mul(dim)
            .and_then(|n| n.checked_mul(core::mem::size_of::<F>()))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if fits {
            Ok(())
        } else {
            Err(Error::EmbeddingBatchTooLarge { ids, dim })
        }
    }
}

/// Embeddings held in memory: item ids plus an `m × d` matrix whose row `r` is
/// the embedding of `ids[r]`.
///
/// The catalogue constructors are shared by every catalogue type of the crate
/// ([`ExactIndex`](crate::ann::ExactIndex) and, with the `hnsw` feature,
/// `HnswIndex` take the same arguments, plus their metric and parameters):
///
/// | constructor | ids | rows |
/// |---|---|---|
/// | [`new(ids, matrix)`](Self::new) | `ids[r]` | row `r` of `matrix` |
/// | [`with_row_ids(matrix)`](Self::with_row_ids) | `0..m` | row `r` of `matrix` |
/// | [`from_pairs(iter)`](Self::from_pairs) | in iteration order | in iteration order |
/// | [`from_map(map)`](Self::from_map) | ascending id | in id order |
///
/// Construction validates the input once, so lookups never fail.
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use pinnersage::{EmbeddingSource, InMemoryEmbeddings};
///
/// let map = HashMap::from([(30_u64, vec![0.0_f32, 1.0]), (10, vec![1.0, 0.0])]);
/// let source = InMemoryEmbeddings::from_map(map)?;
/// assert_eq!(source.ids(), &[10, 30]); // ascending id
/// assert_eq!(source.embedding(&30).unwrap().to_vec(), vec![0.0, 1.0]);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryEmbeddings<I, F> {
    ids: Vec<I>,
    rows: RowMap<I>,
    matrix: Array2<F>,
}

impl<I: Clone + Eq + Hash, F: Scalar> InMemoryEmbeddings<I, F> {
    /// Builds a source from `ids` and the matrix of their embeddings (row `r`
    /// belongs to `ids[r]`). An empty catalogue (zero rows) is allowed. The
    /// matrix may be in any memory order.
    ///
    /// # Errors
    /// In this order:
    /// * [`Error::LengthMismatch`] if `ids.len()` differs from the number of rows;
    /// * [`Error::ZeroDimension`] if the matrix has zero columns;
    /// * [`Error::NonFiniteValue`] naming the first NaN or infinite value;
    /// * [`Error::DuplicateId`] naming the row of the second occurrence of an id.
    ///
    /// # Complexity
    /// O(m·d) time; the matrix is moved, the ids are stored twice (a vector and
    /// a hash map).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::{Error, InMemoryEmbeddings};
    ///
    /// let dup = InMemoryEmbeddings::new(vec![7, 7], array![[1.0_f64], [2.0]]);
    /// assert_eq!(dup.unwrap_err(), Error::DuplicateId { row: 1 });
    /// ```
    pub fn new(ids: Vec<I>, matrix: Array2<F>) -> Result<Self> {
        let rows = index_catalogue(&ids, matrix.view())?;
        Ok(InMemoryEmbeddings { ids, rows, matrix })
    }

    /// Builds a source from `(id, vector)` pairs: row `r` is the `r`-th pair.
    /// Every vector must have the length of the first.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no pairs (the dimension is unknown; use
    /// [`new`](Self::new) with a `0 × d` matrix for an empty catalogue);
    /// [`Error::VectorLength`] naming the first vector of another length;
    /// then the errors of [`new`](Self::new).
    ///
    /// # Complexity
    /// O(m·d) time and space.
    ///
    /// # Example
    /// ```
    /// use pinnersage::{EmbeddingSource, InMemoryEmbeddings};
    ///
    /// let pairs = vec![("pin:1", vec![1.0_f32, 0.0]), ("pin:2", vec![0.6, 0.8])];
    /// let source = InMemoryEmbeddings::from_pairs(pairs)?;
    /// assert_eq!(source.row_of(&"pin:2"), Some(1));
    /// assert_eq!(source.dim(), 2);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn from_pairs<V, It>(pairs: It) -> Result<Self>
    where
        V: AsRef<[F]>,
        It: IntoIterator<Item = (I, V)>,
    {
        let (ids, matrix) = catalogue_from_pairs(pairs)?;
        Self::new(ids, matrix)
    }

    /// Builds a source from a map of id → vector, rows in **ascending id
    /// order** (deterministic whatever the map's iteration order).
    ///
    /// # Errors
    /// As [`from_pairs`](Self::from_pairs) (rows counted in id order).
    ///
    /// # Complexity
    /// O(m·log m + m·d) time.
    pub fn from_map<V, S>(map: HashMap<I, V, S>) -> Result<Self>
    where
        I: Ord,
        V: AsRef<[F]>,
        S: BuildHasher,
    {
        Self::from_pairs(sorted_pairs(map))
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` if the source holds no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The item ids, in row order.
    pub fn ids(&self) -> &[I] {
        &self.ids
    }

    /// The `m × d` embedding matrix.
    pub fn matrix(&self) -> ArrayView2<'_, F> {
        self.matrix.view()
    }

    /// The row of `id`, if known.
    pub fn row_of(&self, id: &I) -> Option<usize> {
        self.rows.get(id).copied()
    }

    /// The embedding of `id`, borrowed (no copy), if known.
    ///
    /// # Complexity
    /// One hash lookup; O(1) expected.
    pub fn embedding(&self, id: &I) -> Option<ArrayView1<'_, F>> {
        self.rows.get(id).map(|&r| self.matrix.row(r))
    }

    /// The parts: ids, id → row map, matrix (for the indexes, which take a
    /// validated catalogue without copying it).
    pub(crate) fn into_parts(self) -> (Vec<I>, RowMap<I>, Array2<F>) {
        (self.ids, self.rows, self.matrix)
    }
}

impl<F: Scalar> InMemoryEmbeddings<usize, F> {
    /// A source whose ids are the row numbers `0..m` of `matrix` (as in
    /// [`synthetic::Catalog`](crate::synthetic::Catalog)).
    ///
    /// # Errors
    /// As [`new`](Self::new) (duplicates cannot occur).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::InMemoryEmbeddings;
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![[1.0_f32], [2.0]])?;
    /// assert_eq!(source.embedding(&1).unwrap()[0], 2.0);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn with_row_ids(matrix: Array2<F>) -> Result<Self> {
        let ids = (0..matrix.nrows()).collect();
        Self::new(ids, matrix)
    }
}

/// The id → row map of every catalogue: `foldhash`'s fast hasher (seeded per
/// process) instead of the standard library's SipHash, whose hashing was 2%
/// of a batch of profiles (one look-up per distinct item of every user).
pub(crate) type RowMap<I> = HashMap<I, usize, foldhash::fast::RandomState>;

/// Validates a catalogue, `ids[r]` naming row `r` of `matrix`, and returns the
/// id → row map. The one validator behind every catalogue constructor
/// ([`InMemoryEmbeddings`] and the indexes of [`crate::ann`]); zero rows are
/// allowed here (indexes refuse them first).
///
/// # Errors
/// In this order: [`Error::LengthMismatch`] if `ids.len()` is not the number
/// of rows; [`Error::ZeroDimension`] for zero columns; [`Error::NonFiniteValue`]
/// naming the first NaN or infinite value (row-major); [`Error::DuplicateId`]
/// naming the row of an id's second occurrence.
///
/// # Complexity
/// O(m·d) time, O(m) space for the map.
pub(crate) fn index_catalogue<I: Clone + Eq + Hash, F: Scalar>(
    ids: &[I],
    matrix: ArrayView2<'_, F>,
) -> Result<RowMap<I>> {
    if ids.len() != matrix.nrows() {
        return Err(Error::LengthMismatch {
            what: "item ids vs embedding rows",
            expected: matrix.nrows(),
            got: ids.len(),
        });
    }
    if matrix.ncols() == 0 {
        return Err(Error::ZeroDimension {
            rows: matrix.nrows(),
        });
    }
    for (row, values) in matrix.rows().into_iter().enumerate() {
        if let Some(column) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteValue { row, column });
        }
    }
    let mut rows = RowMap::with_capacity_and_hasher(ids.len(), Default::default());
    for (row, id) in ids.iter().enumerate() {
        if rows.insert(id.clone(), row).is_some() {
            return Err(Error::DuplicateId { row });
        }
    }
    Ok(rows)
}

/// Stacks `(id, vector)` pairs into ids and a matrix (the `from_pairs`
/// constructors).
///
/// # Errors
/// [`Error::EmptyInput`] for no pairs; [`Error::VectorLength`] for a vector
/// whose length differs from the first's.
pub(crate) fn catalogue_from_pairs<I, F, V, It>(pairs: It) -> Result<(Vec<I>, Array2<F>)>
where
    F: Scalar,
    V: AsRef<[F]>,
    It: IntoIterator<Item = (I, V)>,
{
    let mut ids = Vec::new();
    let mut values: Vec<F> = Vec::new();
    let mut dim = None;
    for (row, (id, v)) in pairs.into_iter().enumerate() {
        let v = v.as_ref();
        let expected = *dim.get_or_insert(v.len());
        if v.len() != expected {
            return Err(Error::VectorLength {
                row,
                expected,
                got: v.len(),
            });
        }
        ids.push(id);
        values.extend_from_slice(v);
    }
    let dim = dim.ok_or(Error::EmptyInput)?;
    let matrix = Array2::from_shape_vec((ids.len(), dim), values).map_err(|_| {
        // unreachable: every vector has `dim` values
        Error::LengthMismatch {
            what: "catalogue values vs rows × dim",
            expected: ids.len().saturating_mul(dim),
            got: 0,
        }
    })?;
    Ok((ids, matrix))
}

/// The pairs of a map in ascending id order (the `from_map` constructors).
pub(crate) fn sorted_pairs<I: Ord, V, S>(map: HashMap<I, V, S>) -> Vec<(I, V)> {
    let mut pairs: Vec<(I, V)> = map.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

impl<I: Clone + Eq + Hash, F: Scalar> EmbeddingSource for InMemoryEmbeddings<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.matrix.ncols()
    }

    /// # Complexity
    /// One hash lookup and a copy of `d` values.
    fn fill(&self, id: &I, out: &mut [F]) -> Result<bool> {
        Ok(copy_row(self.embedding(id), out))
    }

    /// All rows at once: the hash lookups first, then one pass of row
    /// copies straight into the batch (no zero-filling first), so the copies
    /// stream from the catalogue without lookups in between.
    ///
    /// # Errors
    /// [`Error::EmbeddingBatchTooLarge`] if the batch cannot exist.
    ///
    /// # Complexity
    /// `ids.len()` hash lookups and copies of `d` values.
    fn embeddings(&self, ids: &[I]) -> Result<EmbeddingBatch<F>> {
        let d = self.matrix.ncols();
        let rows: Vec<Option<usize>> = ids.iter().map(|id| self.rows.get(id).copied()).collect();
        EmbeddingBatch::<F>::check_size(ids.len(), d)?;
        let mut values: Vec<F> = Vec::with_capacity(ids.len() * d);
        let source = self.matrix.as_slice();
        for row in &rows {
            match (*row, source) {
                (Some(r), Some(all)) => values.extend_from_slice(&all[r * d..(r + 1) * d]),
                (Some(r), None) => values.extend(self.matrix.row(r).iter().copied()),
                (None, _) => values.resize(values.len() + d, F::zero()),
            }
        }
        let found = rows.iter().map(Option::is_some).collect();
        match Array2::from_shape_vec((ids.len(), d), values) {
            Ok(matrix) => Ok(EmbeddingBatch { matrix, found }),
            Err(_) => Err(Error::EmbeddingBatchTooLarge {
                ids: ids.len(),
                dim: d,
            }),
        }
    }
}

/// `source.embeddings(ids)`, checked: a batch of `ids.len()` rows of
/// `source.dim()` columns and `ids.len()` flags, as the trait promises. The
/// one lookup of profiles, updates and pictures, so a source that breaks the
/// promise gets the same error everywhere.
///
/// # Errors
/// The source's own error; [`Error::LengthMismatch`] for a wrong row or flag
/// count; [`Error::DimensionMismatch`] for a wrong column count.
pub(crate) fn checked_embeddings<S>(source: &S, ids: &[S::Id]) -> Result<EmbeddingBatch<S::Elem>>
where
    S: EmbeddingSource + ?Sized,
{
    let batch = source.embeddings(ids)?;
    if batch.matrix.nrows() != ids.len() || batch.found.len() != ids.len() {
        return Err(Error::LengthMismatch {
            what: "embeddings returned by the source vs items asked for",
            expected: ids.len(),
            got: if batch.found.len() == ids.len() {
                batch.matrix.nrows()
            } else {
                batch.found.len()
            },
        });
    }
    let d = source.dim();
    if batch.matrix.ncols() != d {
        return Err(Error::DimensionMismatch {
            expected: d,
            got: batch.matrix.ncols(),
        });
    }
    Ok(batch)
}

/// Copies `row` (if any) into `out`; `true` if there was a row. Lengths are
/// the caller's contract: the shorter of the two is copied.
pub(crate) fn copy_row<F: Scalar>(row: Option<ArrayView1<'_, F>>, out: &mut [F]) -> bool {
    match row {
        Some(row) => {
            let n = out.len().min(row.len());
            match row.as_slice() {
                // contiguous rows (every owned catalogue): one memcpy
                Some(values) => out[..n].copy_from_slice(&values[..n]),
                None => {
                    for (o, &v) in out.iter_mut().zip(row.iter()) {
                        *o = v;
                    }
                }
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use std::cell::Cell;

    #[test]
    fn lookup_known_and_unknown() {
        let s =
            InMemoryEmbeddings::new(vec!["x", "y"], array![[1.0_f64, 2.0], [3.0, 4.0]]).unwrap();
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert_eq!(EmbeddingSource::dim(&s), 2);
        let mut buf = [0.0; 2];
        assert!(s.fill(&"y", &mut buf).unwrap());
        assert_eq!(buf, [3.0, 4.0]);
        assert!(!s.fill(&"z", &mut buf).unwrap());
        let batch = s.embeddings(&["z", "x"]).unwrap();
        assert_eq!(batch.found, vec![false, true]);
        assert_eq!(batch.matrix, array![[0.0, 0.0], [1.0, 2.0]]);
        assert_eq!(s.row_of(&"y"), Some(1));
        assert_eq!(s.ids(), &["x", "y"]);
        // through a reference
        let r = &s;
        assert_eq!(EmbeddingSource::dim(&r), 2);
        assert_eq!(r.embeddings(&["y"]).unwrap().matrix[[0, 0]], 3.0);
        // a column-major catalogue gives the same rows, repeats included
        let f = InMemoryEmbeddings::new(
            vec!["x", "y"],
            array![[1.0_f64, 3.0], [2.0, 4.0]].reversed_axes(),
        )
        .unwrap();
        let batch = f.embeddings(&["y", "z", "x", "y"]).unwrap();
        assert_eq!(batch.found, vec![true, false, true, true]);
        assert_eq!(
            batch.matrix,
            array![[3.0, 4.0], [0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]
        );
    }

    #[test]
    fn with_row_ids_uses_row_numbers() {
        let s = InMemoryEmbeddings::with_row_ids(array![[1.0_f32], [2.0]]).unwrap();
        assert_eq!(s.embedding(&1).unwrap()[0], 2.0);
        assert!(s.embedding(&2).is_none());
    }

    /// The three constructors agree; `from_map` sorts by id whatever the
    /// map's order, and a column-major matrix is read by rows.
    #[test]
    fn constructors_agree() {
        let m = array![[1.0_f64, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let a = InMemoryEmbeddings::new(vec![5_u64, 1, 3], m.clone()).unwrap();
        let b = InMemoryEmbeddings::from_pairs(vec![
            (5_u64, vec![1.0, 2.0]),
            (1, vec![3.0, 4.0]),
            (3, vec![5.0, 6.0]),
        ])
        .unwrap();
        assert_eq!((a.ids(), a.matrix()), (b.ids(), b.matrix()));
        let map: HashMap<u64, Vec<f64>> = a
            .ids()
            .iter()
            .map(|id| (*id, a.embedding(id).unwrap().to_vec()))
            .collect();
        let c = InMemoryEmbeddings::from_map(map).unwrap();
        assert_eq!(c.ids(), &[1, 3, 5]);
        assert_eq!(c.matrix(), array![[3.0, 4.0], [5.0, 6.0], [1.0, 2.0]]);
        // column-major storage: the same rows
        let f = m.t().as_standard_layout().into_owned().reversed_axes();
        assert!(!f.is_standard_layout());
        let d = InMemoryEmbeddings::new(vec![5_u64, 1, 3], f).unwrap();
        let batch = d.embeddings(&[1, 5]).unwrap();
        assert_eq!(batch.matrix, array![[3.0, 4.0], [1.0, 2.0]]);
    }

    #[test]
    fn empty_catalogue_is_allowed() {
        let s = InMemoryEmbeddings::<u32, f32>::new(vec![], Array2::zeros((0, 3))).unwrap();
        assert!(s.is_empty());
        assert_eq!(EmbeddingSource::dim(&s), 3);
    }

    #[test]
    fn error_no_pairs() {
        let none: Vec<(u8, Vec<f32>)> = Vec::new();
        assert_eq!(
            InMemoryEmbeddings::from_pairs(none).unwrap_err(),
            Error::EmptyInput
        );
    }

    #[test]
    fn error_vector_length() {
        let e = InMemoryEmbeddings::from_pairs(vec![(1, vec![1.0_f32, 2.0]), (2, vec![3.0])])
            .unwrap_err();
        assert_eq!(
            e,
            Error::VectorLength {
                row: 1,
                expected: 2,
                got: 1
            }
        );
        let map = HashMap::from([(1, vec![1.0_f32]), (0, vec![1.0, 2.0])]);
        // id order: row 0 is id 0 (length 2), row 1 is id 1
        assert_eq!(
            InMemoryEmbeddings::from_map(map).unwrap_err(),
            Error::VectorLength {
                row: 1,
                expected: 2,
                got: 1
            }
        );
    }

    #[test]
    fn error_length_mismatch() {
        let e = InMemoryEmbeddings::new(vec![1, 2, 3], array![[1.0_f64], [2.0]]).unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                what: "item ids vs embedding rows",
                expected: 2,
                got: 3
            }
        );
    }

    #[test]
    fn error_zero_dimension() {
        let e = InMemoryEmbeddings::<u8, f64>::new(vec![1, 2], Array2::zeros((2, 0))).unwrap_err();
        assert_eq!(e, Error::ZeroDimension { rows: 2 });
        let e = InMemoryEmbeddings::from_pairs(vec![(1_u8, Vec::<f32>::new())]).unwrap_err();
        assert_eq!(e, Error::ZeroDimension { rows: 1 });
    }

    #[test]
    fn error_duplicate_id() {
        let e =
            InMemoryEmbeddings::new(vec![5, 6, 5], array![[1.0_f64], [2.0], [3.0]]).unwrap_err();
        assert_eq!(e, Error::DuplicateId { row: 2 });
    }

    #[test]
    fn error_non_finite() {
        let e = InMemoryEmbeddings::new(vec![1, 2], array![[1.0_f64, 0.0], [2.0, f64::NAN]])
            .unwrap_err();
        assert_eq!(e, Error::NonFiniteValue { row: 1, column: 1 });
        let e = InMemoryEmbeddings::new(vec![1], array![[f32::INFINITY]]).unwrap_err();
        assert_eq!(e, Error::NonFiniteValue { row: 0, column: 0 });
    }

    /// A source that fetches on demand and fails on one id: the default batch
    /// method stops at the failure and reports the source's own error.
    struct Flaky {
        calls: Cell<usize>,
    }

    impl EmbeddingSource for Flaky {
        type Id = u64;
        type Elem = f32;
        fn dim(&self) -> usize {
            3
        }
        fn fill(&self, id: &u64, out: &mut [f32]) -> Result<bool> {
            self.calls.set(self.calls.get() + 1);
            match id {
                13 => Err(Error::Source(crate::ExternalError::new(
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "store timed out"),
                ))),
                id if id % 2 == 0 => {
                    out.fill(*id as f32);
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
    }

    #[test]
    fn a_fetching_source_reports_its_errors() {
        let s = Flaky {
            calls: Cell::new(0),
        };
        let ok = s.embeddings(&[2, 3, 4]).unwrap();
        assert_eq!(ok.found, vec![true, false, true]);
        assert_eq!(ok.matrix.row(2).to_vec(), vec![4.0; 3]);
        assert_eq!(ok.matrix.row(1).to_vec(), vec![0.0; 3]);
        let err = s.embeddings(&[2, 13, 4]).unwrap_err();
        assert_eq!(s.calls.get(), 5, "stops at the failing id");
        match &err {
            Error::Source(inner) => {
                let io = inner.downcast_ref::<std::io::Error>().unwrap();
                assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
                assert_eq!(err, err.clone(), "clones are equal");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "the embedding source failed: store timed out"
        );
    }
}
