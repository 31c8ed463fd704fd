//! Where item embeddings come from: the [`EmbeddingSource`] trait and an
//! in-memory implementation, [`InMemoryEmbeddings`].
//!
//! The crate never owns the catalogue's embeddings: a profile looks up only the
//! items a user acted on, through a source the caller provides (a matrix in
//! memory, a memory-mapped file, a feature store client, ...).

use std::collections::HashMap;
use std::hash::Hash;

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Looks up the embedding of an item by its id.
///
/// Every embedding of a source has the same length, [`dim`](Self::dim).
/// Unknown items give `None`; what a profile does with them is configured by
/// [`UnknownItems`](crate::UnknownItems).
///
/// Implementations should be cheap to call many times; a profile calls
/// [`embeddings`](Self::embeddings) once per user with the user's distinct
/// items, which a remote store can override to batch its requests.
///
/// `&S` is a source whenever `S` is, so a shared source can be passed by
/// reference to code that takes a source by value.
///
/// # Example
/// ```
/// use ndarray::array;
/// use pinnersage::{EmbeddingSource, InMemoryEmbeddings};
///
/// let source = InMemoryEmbeddings::new(vec!["a", "b"], array![[1.0_f32, 0.0], [0.0, 1.0]])?;
/// assert_eq!(source.dim(), 2);
/// assert_eq!(source.embedding(&"b").unwrap().to_vec(), vec![0.0, 1.0]);
/// assert!(source.embedding(&"c").is_none());
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub trait EmbeddingSource {
    /// The item id type.
    type Id;
    /// The element type of the embeddings.
    type Elem: Scalar;

    /// The length of every embedding.
    fn dim(&self) -> usize;

    /// The embedding of `id`, or `None` if the source does not know the item.
    fn embedding(&self, id: &Self::Id) -> Option<ArrayView1<'_, Self::Elem>>;

    /// The embeddings of several items, in the order of `ids`.
    ///
    /// The default implementation calls [`embedding`](Self::embedding) once per
    /// id; sources backed by a remote store can override it to batch requests.
    fn embeddings(&self, ids: &[Self::Id]) -> Vec<Option<ArrayView1<'_, Self::Elem>>> {
        ids.iter().map(|id| self.embedding(id)).collect()
    }
}

impl<S: EmbeddingSource + ?Sized> EmbeddingSource for &S {
    type Id = S::Id;
    type Elem = S::Elem;

    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn embedding(&self, id: &Self::Id) -> Option<ArrayView1<'_, Self::Elem>> {
        (**self).embedding(id)
    }

    fn embeddings(&self, ids: &[Self::Id]) -> Vec<Option<ArrayView1<'_, Self::Elem>>> {
        (**self).embeddings(ids)
    }
}

/// Embeddings held in memory: item ids plus an `m × d` matrix whose row `r` is
/// the embedding of `ids[r]`.
///
/// Construction validates the input once, so lookups never fail on bad data.
#[derive(Debug, Clone)]
pub struct InMemoryEmbeddings<I, F> {
    ids: Vec<I>,
    rows: HashMap<I, usize>,
    matrix: Array2<F>,
}

impl<I: Clone + Eq + Hash, F: Scalar> InMemoryEmbeddings<I, F> {
    /// Builds a source from `ids` and the matrix of their embeddings (row `r`
    /// belongs to `ids[r]`). An empty catalogue (zero rows) is allowed.
    ///
    /// # Errors
    /// * [`Error::LengthMismatch`] if `ids.len()` differs from the number of rows;
    /// * [`Error::ZeroDimension`] if the matrix has zero columns;
    /// * [`Error::DuplicateId`] naming the row of the second occurrence of an id;
    /// * [`Error::NonFiniteValue`] naming the first NaN or infinite value.
    ///
    /// # Complexity
    /// O(m·d) time; the matrix is moved, the ids are stored twice (a vector and
    /// a hash map).
    ///
    /// # Example
    /// ```
    /// use ndarray::array;
    /// use pinnersage::{Error, InMemoryEmbeddings};
    ///
    /// let dup = InMemoryEmbeddings::new(vec![7, 7], array![[1.0_f64], [2.0]]);
    /// assert_eq!(dup.unwrap_err(), Error::DuplicateId { row: 1 });
    /// ```
    pub fn new(ids: Vec<I>, matrix: Array2<F>) -> Result<Self> {
        let rows = index_catalogue(&ids, matrix.view())?;
        Ok(InMemoryEmbeddings { ids, rows, matrix })
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
}

/// Validates a catalogue, `ids[r]` naming row `r` of `matrix`, and returns the
/// id → row map. The one validator behind [`InMemoryEmbeddings::new`] and the
/// indexes of [`crate::ann`]; zero rows are allowed here (indexes refuse them
/// first).
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
) -> Result<HashMap<I, usize>> {
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
    let mut rows = HashMap::with_capacity(ids.len());
    for (row, id) in ids.iter().enumerate() {
        if rows.insert(id.clone(), row).is_some() {
            return Err(Error::DuplicateId { row });
        }
    }
    Ok(rows)
}

impl<F: Scalar> InMemoryEmbeddings<usize, F> {
    /// A source whose ids are the row numbers `0..m` of `matrix` (as in
    /// [`synthetic::Catalog`](crate::synthetic::Catalog)).
    ///
    /// # Errors
    /// As [`new`](Self::new) (duplicates cannot occur).
    pub fn from_matrix(matrix: Array2<F>) -> Result<Self> {
        let ids = (0..matrix.nrows()).collect();
        Self::new(ids, matrix)
    }
}

impl<I: Clone + Eq + Hash, F: Scalar> EmbeddingSource for InMemoryEmbeddings<I, F> {
    type Id = I;
    type Elem = F;

    fn dim(&self) -> usize {
        self.matrix.ncols()
    }

    /// # Complexity
    /// One hash lookup; O(1) expected, no copy.
    fn embedding(&self, id: &I) -> Option<ArrayView1<'_, F>> {
        self.rows.get(id).map(|&r| self.matrix.row(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn lookup_known_and_unknown() {
        let s =
            InMemoryEmbeddings::new(vec!["x", "y"], array![[1.0_f64, 2.0], [3.0, 4.0]]).unwrap();
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert_eq!(s.dim(), 2);
        assert_eq!(s.embedding(&"y").unwrap().to_vec(), vec![3.0, 4.0]);
        assert!(s.embedding(&"z").is_none());
        let batch = s.embeddings(&["z", "x"]);
        assert!(batch[0].is_none());
        assert_eq!(batch[1].unwrap().to_vec(), vec![1.0, 2.0]);
        assert_eq!(s.row_of(&"y"), Some(1));
        assert_eq!(s.ids(), &["x", "y"]);
        // through a reference
        let r = &s;
        assert_eq!(EmbeddingSource::dim(&r), 2);
        assert_eq!(r.embeddings(&["y"])[0].unwrap()[0], 3.0);
    }

    #[test]
    fn from_matrix_uses_row_numbers() {
        let s = InMemoryEmbeddings::from_matrix(array![[1.0_f32], [2.0]]).unwrap();
        assert_eq!(s.embedding(&1).unwrap()[0], 2.0);
        assert!(s.embedding(&2).is_none());
    }

    #[test]
    fn empty_catalogue_is_allowed() {
        let s = InMemoryEmbeddings::<u32, f32>::new(vec![], Array2::zeros((0, 3))).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.dim(), 3);
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
}
