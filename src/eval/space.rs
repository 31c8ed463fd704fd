//! The item space of the evaluation: re-normalised `f64` embeddings, exact
//! k-nearest-neighbour lists ranked by `(−cosine, item)`, and the paper's
//! medoid cache (each item's similarity row and neighbour list are computed
//! once and shared by every user).

use ndarray::{Array1, Array2, ArrayView2};

use super::error::{EvalError, EvalResult};
use crate::Scalar;

/// Catalogue embeddings in `f64`, each row divided by its norm, so that
/// cosine = dot product; with a cache of per-item similarity rows and
/// neighbour lists.
#[derive(Debug, Clone)]
pub struct ItemSpace {
    x: Array2<f64>,
    rows: Vec<Option<Box<[f64]>>>,
    neighbours: Vec<Option<Box<[u32]>>>,
    depth: usize,
    scratch: Vec<f64>,
}

/// Catalogues up to this many items keep every similarity row they compute
/// (≤ 200 MB); larger ones recompute rows on demand.
const CACHE_ROWS_UP_TO: usize = 5_000;

impl ItemSpace {
    /// Normalises `matrix` (one row per item) in `f64`; neighbour lists are
    /// cached `depth` deep (the candidate budget).
    ///
    /// # Errors
    /// [`EvalError::EmptyEmbeddings`] without rows or columns;
    /// [`EvalError::BadEmbedding`] for a zero or non-finite row;
    /// [`EvalError::InvalidParameter`] for more than `u32::MAX` items.
    ///
    /// # Complexity
    /// O(n·d).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::eval::ItemSpace;
    /// let mut s = ItemSpace::new(array![[2.0_f32, 0.0], [1.0, 1.0], [0.0, 3.0]].view(), 2)?;
    /// assert!((s.cosine(0, 1).unwrap() - 0.5_f64.sqrt()).abs() < 1e-12);
    /// assert_eq!(s.neighbours(0, 2), Some(vec![0, 1]));
    /// assert_eq!(s.neighbours(3, 2), None);
    /// # Ok::<(), pinnersage::eval::EvalError>(())
    /// ```
    pub fn new<F: Scalar>(matrix: ArrayView2<'_, F>, depth: usize) -> EvalResult<Self> {
        let (n, d) = matrix.dim();
        if n == 0 || d == 0 {
            return Err(EvalError::EmptyEmbeddings { rows: n, cols: d });
        }
        if u32::try_from(n).is_err() {
            return Err(EvalError::InvalidParameter {
                name: "items",
                reason: format!("{n} items exceed u32::MAX"),
            });
        }
        let mut x = Array2::<f64>::zeros((n, d));
        for (i, row) in matrix.outer_iter().enumerate() {
            let v: Vec<f64> = row.iter().map(|a| a.to_f64_lossless()).collect();
            // divided by max|v| first, so that finite rows whose squared norm
            // overflows (1e200) or underflows (1e-200) keep their direction
            let scale = v.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
            if !scale.is_finite() || scale == 0.0 || v.iter().any(|a| !a.is_finite()) {
                return Err(EvalError::BadEmbedding { row: i });
            }
            let norm = v
                .iter()
                .map(|a| (a / scale) * (a / scale))
                .sum::<f64>()
                .sqrt();
            for (o, a) in x.row_mut(i).iter_mut().zip(&v) {
                *o = (a / scale) / norm;
            }
        }
        Ok(ItemSpace {
            x,
            rows: vec![None; n],
            neighbours: vec![None; n],
            depth: depth.min(n),
            scratch: Vec::new(),
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// `true` without items (never, once built).
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// The normalised embeddings.
    pub fn embeddings(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }

    /// `cos(a, b)`, `None` if an index is out of range.
    pub fn cosine(&mut self, a: usize, b: usize) -> Option<f64> {
        if a >= self.len() || b >= self.len() {
            return None;
        }
        Some(self.cosines(a, &[b])[0])
    }

    /// Cosines of item `i` to every item (cached for catalogues of up to
    /// 5 000 items: the medoid cache).
    ///
    /// # Complexity
    /// O(n·d) the first time, O(1) after when cached.
    pub(crate) fn row(&mut self, i: usize) -> &[f64] {
        if self.rows[i].is_none() {
            let r: Array1<f64> = self.x.dot(&self.x.row(i));
            if self.len() > CACHE_ROWS_UP_TO {
                self.scratch = r.to_vec();
                return &self.scratch;
            }
            self.rows[i] = Some(r.to_vec().into_boxed_slice());
        }
        self.rows[i].as_deref().unwrap_or(&[])
    }

    /// Cosines of item `i` to each of `items`: from the cached row when the
    /// catalogue is small enough to cache rows, else by direct dot products
    /// (O(|items|·d) instead of a whole row).
    pub(crate) fn cosines(&mut self, i: usize, items: &[usize]) -> Vec<f64> {
        if self.len() <= CACHE_ROWS_UP_TO {
            let row = self.row(i);
            return items.iter().map(|&j| row[j]).collect();
        }
        let a = self.x.row(i);
        items.iter().map(|&j| a.dot(&self.x.row(j))).collect()
    }

    /// Scores `x·q` of every item against each row of `queries` (m × d):
    /// an m × n matrix, computed as one matrix product.
    pub(crate) fn scores(&self, queries: ArrayView2<'_, f64>) -> Array2<f64> {
        queries.dot(&self.x.t())
    }

    /// The `k` nearest items to item `i` (itself first), ranked by
    /// `(−cosine, item)`; `k` is capped at the cache depth.
    ///
    /// # Complexity
    /// O(n·d + n log k) the first time, O(k) after.
    pub fn neighbours(&mut self, i: usize, k: usize) -> Option<Vec<usize>> {
        (i < self.len()).then(|| self.nbrs(i, k))
    }

    /// [`neighbours`](Self::neighbours) for a valid index.
    pub(crate) fn nbrs(&mut self, i: usize, k: usize) -> Vec<usize> {
        if self.neighbours[i].is_none() {
            let depth = self.depth;
            let list: Vec<u32> = top_k(self.row(i), depth, |_| false)
                .into_iter()
                .map(|j| j as u32)
                .collect();
            self.neighbours[i] = Some(list.into_boxed_slice());
        }
        let list = self.neighbours[i].as_deref().unwrap_or(&[]);
        list.iter().take(k).map(|&j| j as usize).collect()
    }

    /// The `k` nearest items to item `i` that `excluded` lets through: walks
    /// the cached list and falls back to a full scan of the row when the
    /// list runs out.
    pub(crate) fn neighbours_excluding(
        &mut self,
        i: usize,
        k: usize,
        excluded: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let cached = self.nbrs(i, self.depth);
        let out: Vec<usize> = cached
            .iter()
            .copied()
            .filter(|&j| !excluded(j))
            .take(k)
            .collect();
        if out.len() == k || cached.len() == self.len() {
            return out;
        }
        top_k(self.row(i), k, excluded)
    }
}

/// The `k` highest-scoring indices of `scores` that `excluded` lets through,
/// ranked by `(−score, index)` (NaN ranks last).
///
/// # Complexity
/// O(n + k log k).
pub fn top_k(scores: &[f64], k: usize, excluded: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&j| !excluded(j)).collect();
    let cmp = |a: &usize, b: &usize| {
        let (sa, sb) = (scores[*a], scores[*b]);
        let key = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
        key(sb).total_cmp(&key(sa)).then(a.cmp(b))
    };
    if k == 0 {
        return Vec::new();
    }
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, cmp);
        idx.truncate(k);
    }
    idx.sort_by(cmp);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn top_k_breaks_ties_by_index() {
        let s = [0.5, 0.9, 0.5, 0.1, 0.9];
        assert_eq!(top_k(&s, 3, |_| false), vec![1, 4, 0]);
        assert_eq!(top_k(&s, 3, |j| j == 4), vec![1, 0, 2]);
        assert_eq!(top_k(&s, 10, |_| false), vec![1, 4, 0, 2, 3]);
        assert!(top_k(&s, 0, |_| false).is_empty());
    }

    #[test]
    fn neighbours_excluding_falls_back_to_a_scan() {
        let x = array![[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0]];
        let mut s = ItemSpace::new(x.view(), 2).unwrap();
        assert_eq!(s.neighbours(0, 2), Some(vec![0, 1]));
        // both cached neighbours excluded: the scan finds 2 and 3
        assert_eq!(s.neighbours_excluding(0, 2, |j| j < 2), vec![2, 3]);
    }

    #[test]
    fn errors() {
        let z = Array2::<f64>::zeros((0, 3));
        assert_eq!(
            ItemSpace::new(z.view(), 1).unwrap_err(),
            EvalError::EmptyEmbeddings { rows: 0, cols: 3 }
        );
        let x = array![[1.0, 0.0], [0.0, 0.0]];
        assert_eq!(
            ItemSpace::new(x.view(), 1).unwrap_err(),
            EvalError::BadEmbedding { row: 1 }
        );
        let x = array![[1.0, f64::NAN]];
        assert_eq!(
            ItemSpace::new(x.view(), 1).unwrap_err(),
            EvalError::BadEmbedding { row: 0 }
        );
    }
}
