//! The result of a hierarchical clustering: merge steps, flat cuts, scipy export.

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// One merge step of a [`Dendrogram`].
///
/// Clusters are numbered as scipy numbers them: observations are `0..m`, and the
/// cluster created by step `i` is `m + i`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Merge<F> {
    /// The smaller of the two cluster ids merged.
    pub a: usize,
    /// The larger of the two cluster ids merged.
    pub b: usize,
    /// Ward merge distance in the paper's convention (see the [crate docs](crate#distances)):
    /// `2·|A||B|/(|A|+|B|)·‖μ_A − μ_B‖²`, which is `‖x_a − x_b‖²` for two single observations.
    pub distance: F,
    /// Number of observations (rows) in the new cluster.
    pub size: usize,
}

/// A full agglomerative clustering of `m` observations: `m − 1` merges sorted by
/// distance (non-decreasing).
///
/// Built by [`linkage`](fn@crate::ward::linkage) and friends. Cut it into flat
/// clusters with [`cut`](Dendrogram::cut) (distance threshold, the paper's rule)
/// or [`cut_k`](Dendrogram::cut_k) (fixed number of clusters).
///
/// With the `serde` feature it serializes as `{observations, merges}` and is
/// validated when deserialized ([`Error::InvalidDendrogram`], one
/// [`DendrogramFault`](crate::ward::DendrogramFault) per invariant), so a
/// loaded dendrogram cuts like a computed one.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "RawDendrogram<F>",
        bound(deserialize = "F: Scalar + serde::Deserialize<'de>")
    )
)]
pub struct Dendrogram<F> {
    observations: usize,
    merges: Vec<Merge<F>>,
}

/// The serialized form of a [`Dendrogram`], validated on load.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RawDendrogram<F> {
    observations: usize,
    merges: Vec<Merge<F>>,
}

#[cfg(feature = "serde")]
impl<F: Scalar> TryFrom<RawDendrogram<F>> for Dendrogram<F> {
    type Error = Error;
    fn try_from(raw: RawDendrogram<F>) -> Result<Self> {
        validate_merges(raw.observations, &raw.merges).map_err(Error::InvalidDendrogram)?;
        Ok(Dendrogram {
            observations: raw.observations,
            merges: raw.merges,
        })
    }
}

/// The invariants of a dendrogram of `m` observations: `m − 1` merges, each
/// of two distinct existing clusters `a < b < m + t` not merged before, with a
/// finite, non-negative, non-decreasing distance and the size of its two
/// clusters together. O(m) time and memory (bounded by the merges given).
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn validate_merges<F: Scalar>(
    m: usize,
    merges: &[Merge<F>],
) -> core::result::Result<(), crate::error::DendrogramFault> {
    use crate::error::DendrogramFault as Fault;
    if m == 0 {
        return Err(Fault::NoObservations);
    }
    if merges.len() != m - 1 {
        return Err(Fault::MergeCount {
            observations: m,
            merges: merges.len(),
        });
    }
    // m − 1 merges exist in memory, so 2m − 1 flags are bounded by the input
    let mut used = vec![false; m + merges.len()];
    let mut sizes = vec![0usize; merges.len()];
    let mut previous = F::zero();
    for (t, merge) in merges.iter().enumerate() {
        let (a, b) = (merge.a, merge.b);
        if a >= b || b >= m + t {
            return Err(Fault::NodeOutOfRange { merge: t, a, b });
        }
        for node in [a, b] {
            if used[node] {
                return Err(Fault::NodeReused { merge: t, node });
            }
            used[node] = true;
        }
        let d = merge.distance;
        if !d.is_finite() || d < F::zero() || d < previous {
            return Err(Fault::InvalidDistance {
                merge: t,
                value: d.to_f64().unwrap_or(f64::NAN),
            });
        }
        previous = d;
        let size_of = |node: usize| if node < m { 1 } else { sizes[node - m] };
        let expected = size_of(a).saturating_add(size_of(b));
        if merge.size != expected {
            return Err(Fault::WrongSize {
                merge: t,
                size: merge.size,
                expected,
            });
        }
        sizes[t] = expected;
    }
    Ok(())
}

impl<F: Scalar> Dendrogram<F> {
    /// Assembles a dendrogram from merges recorded in the order an algorithm found
    /// them, as `(node_a, node_b, distance)` with node ids in that same order
    /// (observation `i` is node `i`, the merge recorded at position `t` creates
    /// node `m + t`).
    ///
    /// Sorts the merges by distance (stable; a merge never sorts before the
    /// merges that created its inputs, because its distance is first raised to at
    /// least theirs: Ward is monotone, so that only absorbs rounding), renumbers
    /// the nodes scipy's way and computes the sizes.
    pub(crate) fn from_unsorted(observations: usize, found: &[(usize, usize, F)]) -> Self {
        debug_assert_eq!(found.len(), observations.saturating_sub(1));
        let m = observations;
        // Enforce monotonicity along the tree: parent >= children.
        let mut dist: Vec<F> = Vec::with_capacity(found.len());
        for &(x, y, d) in found {
            let mut d = d;
            for node in [x, y] {
                if node >= m {
                    d = d.max(dist[node - m]);
                }
            }
            dist.push(d);
        }
        let mut order: Vec<usize> = (0..found.len()).collect();
        order.sort_by(|&i, &j| {
            dist[i]
                .partial_cmp(&dist[j])
                .unwrap_or(core::cmp::Ordering::Equal)
        });
        let mut rank = vec![0usize; found.len()];
        for (r, &t) in order.iter().enumerate() {
            rank[t] = r;
        }
        let renumber = |node: usize| if node < m { node } else { m + rank[node - m] };
        let mut sizes = vec![0usize; found.len()];
        let mut merges = Vec::with_capacity(found.len());
        for (r, &t) in order.iter().enumerate() {
            let (x, y, _) = found[t];
            let (x, y) = (renumber(x), renumber(y));
            let (a, b) = if x < y { (x, y) } else { (y, x) };
            let size_of = |node: usize| if node < m { 1 } else { sizes[node - m] };
            let size = size_of(a) + size_of(b);
            sizes[r] = size;
            merges.push(Merge {
                a,
                b,
                distance: dist[t],
                size,
            });
        }
        Dendrogram {
            observations,
            merges,
        }
    }

    /// Number of observations (leaves).
    pub fn observations(&self) -> usize {
        self.observations
    }

    /// The merges, sorted by distance.
    pub fn merges(&self) -> &[Merge<F>] {
        &self.merges
    }

    /// Iterates over the merges in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Merge<F>> {
        self.merges.iter()
    }

    /// Number of merges (`m − 1`, or 0 for a single observation).
    pub fn len(&self) -> usize {
        self.merges.len()
    }

    /// `true` when there are no merges (a single observation).
    pub fn is_empty(&self) -> bool {
        self.merges.is_empty()
    }

    /// Merge distances in order (paper convention).
    pub fn distances(&self) -> Vec<F> {
        self.merges.iter().map(|s| s.distance).collect()
    }

    /// The same tree with each merge distance replaced by `f(merge, distance)`
    /// (`f` must be non-decreasing, as an exact rescaling is).
    pub(crate) fn map_distances(mut self, mut f: impl FnMut(usize, F) -> F) -> Self {
        for (t, merge) in self.merges.iter_mut().enumerate() {
            merge.distance = f(t, merge.distance);
        }
        self
    }

    /// Flat clusters after applying exactly the merges whose distance is `<= alpha`
    /// (the paper's threshold rule).
    ///
    /// Labels are dense `0..k` and numbered in order of first appearance over the
    /// observations (observation 0 always has label 0), so the result is
    /// deterministic.
    ///
    /// # Errors
    /// [`Error::InvalidThreshold`] if `alpha` is negative or not finite.
    ///
    /// # Complexity
    /// O(m) time, O(m) space: a binary search for the number of merges at or
    /// below `alpha` (the merges are sorted), then one pass that points every
    /// node at its parent and one top-down pass that resolves roots (a node's
    /// parent always has a larger id, so no union–find is needed).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// let x = array![[0.0, 0.0], [0.0, 1.0], [10.0, 0.0]];
    /// let tree = pinnersage::ward::linkage(x.view())?;
    /// assert_eq!(tree.cut(1.0)?, vec![0, 0, 1]); // the first merge has distance 1.0
    /// assert_eq!(tree.cut(0.5)?, vec![0, 1, 2]);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn cut(&self, alpha: F) -> Result<Vec<usize>> {
        if !alpha.is_finite() || alpha < F::zero() {
            return Err(Error::InvalidThreshold {
                value: alpha.to_f64_lossless(),
            });
        }
        let applied = self.merges.partition_point(|s| s.distance <= alpha);
        Ok(self.labels_after(applied))
    }

    /// Flat clusters: exactly `k` of them, by applying the first `m − k` merges.
    ///
    /// With tied distances at the boundary, the merge order of this dendrogram
    /// decides (deterministically). Labels as in [`cut`](Self::cut).
    ///
    /// # Errors
    /// [`Error::InvalidClusterCount`] if `k == 0` or `k > m`.
    ///
    /// # Complexity
    /// O(m) time, O(m) space (as [`cut`](Self::cut), without the search).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// let x = array![[0.0, 0.0], [0.0, 1.0], [10.0, 0.0]];
    /// let tree = pinnersage::ward::linkage(x.view())?;
    /// assert_eq!(tree.cut_k(2)?, vec![0, 0, 1]);
    /// assert_eq!(tree.cut_k(3)?, vec![0, 1, 2]);
    /// assert!(tree.cut_k(0).is_err());
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn cut_k(&self, k: usize) -> Result<Vec<usize>> {
        if k == 0 || k > self.observations {
            return Err(Error::InvalidClusterCount {
                k,
                observations: self.observations,
            });
        }
        Ok(self.labels_after(self.observations - k))
    }

    /// The distance threshold at which the tree has `k` clusters: the largest
    /// distance among the first `m − k` merges (0 when `k == m`).
    ///
    /// # Errors
    /// [`Error::InvalidClusterCount`] if `k == 0` or `k > m`.
    pub fn threshold_for_k(&self, k: usize) -> Result<F> {
        if k == 0 || k > self.observations {
            return Err(Error::InvalidClusterCount {
                k,
                observations: self.observations,
            });
        }
        let applied = self.observations - k;
        Ok(if applied == 0 {
            F::zero()
        } else {
            self.merges[applied - 1].distance
        })
    }

    /// Labels after applying the first `applied` merges.
    fn labels_after(&self, applied: usize) -> Vec<usize> {
        let m = self.observations;
        // parent pointers over nodes 0..m+applied
        let mut parent: Vec<usize> = (0..m + applied).collect();
        for (i, s) in self.merges[..applied].iter().enumerate() {
            parent[s.a] = m + i;
            parent[s.b] = m + i;
        }
        // Resolve roots from the top down: a node's parent id is always larger.
        let mut root = parent.clone();
        for node in (0..m + applied).rev() {
            let p = parent[node];
            if p != node {
                root[node] = root[p];
            }
        }
        let mut label_of_root = vec![usize::MAX; m + applied];
        let mut next = 0;
        let mut labels = Vec::with_capacity(m);
        for &r in root.iter().take(m) {
            if label_of_root[r] == usize::MAX {
                label_of_root[r] = next;
                next += 1;
            }
            labels.push(label_of_root[r]);
        }
        labels
    }

    /// The dendrogram in scipy's linkage-matrix format: an `(m − 1) × 4` array of
    /// `[a, b, height, size]` rows with `height = sqrt(distance)`, as
    /// `scipy.cluster.hierarchy.linkage(X, 'ward')` reports it.
    pub fn to_scipy(&self) -> Array2<f64> {
        let mut z = Array2::zeros((self.merges.len(), 4));
        for (mut row, s) in z.rows_mut().into_iter().zip(&self.merges) {
            row[0] = s.a as f64;
            row[1] = s.b as f64;
            row[2] = s.distance.to_f64_lossless().sqrt();
            row[3] = s.size as f64;
        }
        z
    }
}

impl<'a, F> IntoIterator for &'a Dendrogram<F> {
    type Item = &'a Merge<F>;
    type IntoIter = core::slice::Iter<'a, Merge<F>>;
    fn into_iter(self) -> Self::IntoIter {
        self.merges.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per [`DendrogramFault`](crate::ward::DendrogramFault), and a
    /// computed dendrogram passes.
    #[test]
    fn validate_merges_names_each_fault() {
        use crate::error::DendrogramFault as Fault;
        let mk = |a, b, distance: f64, size| Merge {
            a,
            b,
            distance,
            size,
        };
        let good = [mk(0, 1, 0.5, 2), mk(2, 3, 1.0, 3)];
        assert_eq!(validate_merges(3, &good), Ok(()));
        assert_eq!(validate_merges::<f64>(1, &[]), Ok(()));
        assert_eq!(validate_merges::<f64>(0, &[]), Err(Fault::NoObservations));
        assert_eq!(
            validate_merges::<f64>(usize::MAX, &[]),
            Err(Fault::MergeCount {
                observations: usize::MAX,
                merges: 0
            })
        );
        assert_eq!(
            validate_merges(3, &[mk(0, 3, 0.5, 2), mk(1, 2, 1.0, 2)]),
            Err(Fault::NodeOutOfRange {
                merge: 0,
                a: 0,
                b: 3
            })
        );
        assert_eq!(
            validate_merges(3, &[mk(1, 1, 0.5, 2), mk(0, 3, 1.0, 3)]),
            Err(Fault::NodeOutOfRange {
                merge: 0,
                a: 1,
                b: 1
            })
        );
        assert_eq!(
            validate_merges(3, &[mk(0, 1, 0.5, 2), mk(1, 3, 1.0, 3)]),
            Err(Fault::NodeReused { merge: 1, node: 1 })
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = validate_merges(3, &[mk(0, 1, bad, 2), mk(2, 3, 1.0, 3)]).unwrap_err();
            assert!(
                matches!(e, Fault::InvalidDistance { merge: 0, .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            validate_merges(3, &[mk(0, 1, 2.0, 2), mk(2, 3, 1.0, 3)]),
            Err(Fault::InvalidDistance { merge: 1, .. })
        ));
        assert_eq!(
            validate_merges(3, &[mk(0, 1, 0.5, 7), mk(2, 3, 1.0, 3)]),
            Err(Fault::WrongSize {
                merge: 0,
                size: 7,
                expected: 2
            })
        );
        let x = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 13) % 11) as f64);
        let tree = crate::ward::linkage(x.view()).unwrap();
        assert_eq!(validate_merges(tree.observations(), tree.merges()), Ok(()));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn deserialized_dendrograms_are_validated() {
        let x = ndarray::array![[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]];
        let tree = crate::ward::linkage(x.view()).unwrap();
        let json = serde_json::to_string(&tree).unwrap();
        let back: Dendrogram<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tree);
        let bad = r#"{"observations":2,"merges":[{"a":5,"b":9,"distance":0.5,"size":2}]}"#;
        let e = serde_json::from_str::<Dendrogram<f64>>(bad).unwrap_err();
        assert!(e.to_string().contains("invalid stored dendrogram"), "{e}");
    }
}
