//! Repeated rows collapsed into weighted rows, exactly.
//!
//! Two identical rows are at Ward distance 0, so they are merged first, at
//! height 0; after that the pair acts as one row of twice the weight (the
//! Lance–Williams update of a zero-distance merge is exactly the weighted
//! dissimilarity: `((1+w)·d + (1+w)·d − w·0)/(2+w) = 2·(2w/(2+w))·‖·‖²` for
//! unit rows). So a linkage of `m` rows with `u` distinct ones is computed on
//! the `u` distinct rows, weighted by their multiplicities, and the
//! `m − u` zero-height merges are put in front: O(u²) memory and time for
//! the clustering instead of O(m²), the same dendrogram (up to rounding and the
//! order of exactly tied merges, as always with ties).
//!
//! Rows are equal when every coordinate compares equal (`0.0 == -0.0`).

use ndarray::ArrayView2;

use crate::scalar::Scalar;

use super::dendrogram::Dendrogram;

/// The groups of identical rows of a matrix that has at least one repeated
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicates {
    /// Rows group by group, ascending within a group; groups in order of
    /// their first row.
    members: Vec<usize>,
    /// `members[starts[g]..starts[g + 1]]` is group `g`.
    starts: Vec<usize>,
}

impl Duplicates {
    /// Groups the identical rows of `x`, or `None` when all rows are distinct.
    ///
    /// # Complexity
    /// O(m·d + m log m) time (one hash per row, a sort, then exact comparisons
    /// within equal hashes), O(m) space.
    pub(crate) fn find<F: Scalar>(x: ArrayView2<'_, F>) -> Option<Self> {
        let m = x.nrows();
        if m < 2 {
            return None;
        }
        let standard = x.as_standard_layout();
        let flat: &[F] = standard.as_slice().unwrap_or(&[]);
        let d = x.ncols();
        let hashes: Vec<u64> = (0..m)
            .map(|i| row_hash(&flat[i * d..(i + 1) * d]))
            .collect();
        let mut by_hash: Vec<usize> = (0..m).collect();
        by_hash.sort_unstable_by_key(|&i| (hashes[i], i));
        if by_hash.windows(2).all(|w| hashes[w[0]] != hashes[w[1]]) {
            return None;
        }
        // representative (first row) of each row's group
        let mut rep: Vec<usize> = (0..m).collect();
        let mut run_reps: Vec<usize> = Vec::new();
        let mut start = 0;
        while start < m {
            let h = hashes[by_hash[start]];
            let mut end = start + 1;
            while end < m && hashes[by_hash[end]] == h {
                end += 1;
            }
            if end - start > 1 {
                run_reps.clear();
                // ascending row order within the run: the first row of a
                // group is met first and becomes its representative
                for &i in &by_hash[start..end] {
                    match run_reps.iter().find(|&&r| x.row(r) == x.row(i)) {
                        Some(&r) => rep[i] = r,
                        None => run_reps.push(i),
                    }
                }
            }
            start = end;
        }
        Self::from_representatives(&rep)
    }

    /// Groups the observations of a condensed dissimilarity matrix that are
    /// interchangeable — `d(i, j) = 0` and `d(i, k) = d(j, k)` for every other
    /// `k` — or `None` when there are none. For squared Euclidean distances of
    /// finite rows these are exactly the identical rows, grouped as
    /// [`find`](Self::find) groups them.
    ///
    /// # Complexity
    /// O(m²) time for the scan plus O(m) per zero entry checked (a zero entry
    /// between two observations that are not interchangeable is checked at
    /// most `8·m` times in all, then the search stops), O(m) space.
    pub(crate) fn find_in_condensed<F: Scalar>(m: usize, d: &[F]) -> Option<Self> {
        if m < 2 || !d.iter().any(|&v| v == F::zero()) {
            return None;
        }
        let at = |i: usize, j: usize| -> F {
            match i.cmp(&j) {
                core::cmp::Ordering::Less => {
                    d[super::condensed::condensed_index_unchecked(m, i, j)]
                }
                core::cmp::Ordering::Greater => {
                    d[super::condensed::condensed_index_unchecked(m, j, i)]
                }
                core::cmp::Ordering::Equal => F::zero(),
            }
        };
        let interchangeable =
            |i: usize, j: usize| (0..m).all(|k| k == i || k == j || at(i, k) == at(j, k));
        let mut rep: Vec<usize> = (0..m).collect();
        let mut failures_left = 8 * m;
        'rows: for i in 0..m - 1 {
            if rep[i] != i {
                continue;
            }
            let start = super::condensed::condensed_index_unchecked(m, i, i + 1);
            for (k, &v) in d[start..start + (m - i - 1)].iter().enumerate() {
                let j = i + 1 + k;
                if v != F::zero() || rep[j] != j {
                    continue;
                }
                if interchangeable(i, j) {
                    rep[j] = i;
                } else {
                    failures_left -= 1;
                    if failures_left == 0 {
                        break 'rows;
                    }
                }
            }
        }
        Self::from_representatives(&rep)
    }

    /// The groups from each observation's representative (the first
    /// observation of its group, `rep[i] ≤ i`, `rep[rep[i]] = rep[i]`), or
    /// `None` when every group is a single observation.
    fn from_representatives(rep: &[usize]) -> Option<Self> {
        let m = rep.len();
        let mut group_of = vec![usize::MAX; m];
        let mut sizes: Vec<usize> = Vec::new();
        for i in 0..m {
            if rep[i] == i {
                group_of[i] = sizes.len();
                sizes.push(0);
            }
            let g = group_of[rep[i]];
            group_of[i] = g;
            sizes[g] += 1;
        }
        if sizes.len() == m {
            return None; // all distinct
        }
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        starts.push(0);
        for s in &sizes {
            starts.push(starts[starts.len() - 1] + s);
        }
        let mut fill = starts.clone();
        let mut members = vec![0; m];
        for (i, &g) in group_of.iter().enumerate() {
            members[fill[g]] = i;
            fill[g] += 1;
        }
        Some(Duplicates { members, starts })
    }

    /// Number of groups (distinct rows).
    pub(crate) fn groups(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rows of group `g`, ascending.
    pub(crate) fn members(&self, g: usize) -> &[usize] {
        &self.members[self.starts[g]..self.starts[g + 1]]
    }

    /// The first row of every group, in group order.
    pub(crate) fn representatives(&self) -> Vec<usize> {
        (0..self.groups()).map(|g| self.members(g)[0]).collect()
    }

    /// The weight of every group: the sum of its rows' weights, or `None` if
    /// a sum overflows the element type.
    pub(crate) fn group_weights<F: Scalar>(&self, weights: &[F]) -> Option<Vec<F>> {
        let sums: Vec<F> = (0..self.groups())
            .map(|g| self.members(g).iter().map(|&i| weights[i]).sum())
            .collect();
        sums.iter().all(|w| w.is_finite()).then_some(sums)
    }

    /// The dendrogram of all `m` rows from the dendrogram of the groups
    /// (leaf `g` is group `g`): the members of each group merged first, at
    /// distance 0, in row order, then the groups' merges.
    pub(crate) fn expand<F: Scalar>(&self, groups: &Dendrogram<F>) -> Dendrogram<F> {
        let m = self.members.len();
        let u = self.groups();
        debug_assert_eq!(groups.observations(), u);
        let mut found: Vec<(usize, usize, F)> = Vec::with_capacity(m - 1);
        let mut node_of_group = Vec::with_capacity(u);
        for g in 0..u {
            let rows = self.members(g);
            let mut node = rows[0];
            for &r in &rows[1..] {
                found.push((node, r, F::zero()));
                node = m + found.len() - 1;
            }
            node_of_group.push(node);
        }
        let zero_merges = found.len();
        let map = |id: usize| {
            if id < u {
                node_of_group[id]
            } else {
                m + zero_merges + (id - u)
            }
        };
        for merge in groups.merges() {
            found.push((map(merge.a), map(merge.b), merge.distance));
        }
        Dendrogram::from_unsorted(m, &found)
    }
}

/// A 64-bit hash of a row's values (`-0.0` hashed as `0.0`, so that equal
/// rows hash equally), in eight independent lanes so that it runs at memory
/// speed rather than at the latency of one multiply per value.
fn row_hash<F: Scalar>(row: &[F]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let bits = |v: F| {
        let v = v.to_f64_lossless();
        if v == 0.0 {
            0
        } else {
            v.to_bits()
        }
    };
    let mut h = [1u64, 2, 3, 4, 5, 6, 7, 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (lane, &v) in h.iter_mut().zip(c) {
            *lane = (lane.rotate_left(5) ^ bits(v)).wrapping_mul(K);
        }
    }
    for (lane, &v) in h.iter_mut().zip(tail) {
        *lane = (lane.rotate_left(5) ^ bits(v)).wrapping_mul(K);
    }
    let mut x = h
        .iter()
        .enumerate()
        .fold(0u64, |acc, (k, &lane)| acc ^ lane.rotate_left(8 * k as u32));
    // final avalanche (splitmix64's)
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn distinct_rows_give_none() {
        let x = array![[0.0_f64, 1.0], [1.0, 0.0], [1.0, 1.0]];
        assert_eq!(Duplicates::find(x.view()), None);
        assert_eq!(Duplicates::find(array![[3.0_f32]].view()), None);
    }

    /// Rows {0, 2, 5}, {1, 3} (`0.0` and `-0.0`) and {4}.
    fn three_groups() -> ndarray::Array2<f64> {
        array![
            [1.0_f64, 2.0],
            [0.0, 0.0],
            [1.0, 2.0],
            [-0.0, 0.0],
            [5.0, 5.0],
            [1.0, 2.0]
        ]
    }

    #[test]
    fn groups_in_order_of_first_row() {
        let x = three_groups();
        let dup = Duplicates::find(x.view()).expect("rows repeat");
        assert_eq!(dup.groups(), 3);
        assert_eq!(dup.members(0), &[0, 2, 5]);
        assert_eq!(dup.members(1), &[1, 3]);
        assert_eq!(dup.members(2), &[4]);
        assert_eq!(dup.representatives(), vec![0, 1, 4]);
        assert_eq!(
            dup.group_weights(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            Some(vec![10.0, 6.0, 5.0])
        );
        assert_eq!(dup.group_weights(&[f64::MAX; 6]), None);
    }

    fn squared_condensed(x: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
        let m = x.nrows();
        let mut d = Vec::new();
        for i in 0..m {
            for j in i + 1..m {
                let diff = &x.row(i) - &x.row(j);
                d.push(diff.dot(&diff));
            }
        }
        d
    }

    #[test]
    fn condensed_groups_equal_row_groups() {
        let x = three_groups();
        let d = squared_condensed(x.view());
        assert_eq!(
            Duplicates::find_in_condensed(6, &d),
            Duplicates::find(x.view())
        );
        let distinct = array![[0.0_f64], [1.0], [3.0]];
        assert_eq!(
            Duplicates::find_in_condensed(3, &squared_condensed(distinct.view())),
            None
        );
        assert_eq!(Duplicates::find_in_condensed::<f64>(1, &[]), None);
    }

    #[test]
    fn zero_dissimilarity_alone_is_not_a_duplicate() {
        // d(0, 1) = 0 but 0 and 1 differ from 2: not interchangeable
        assert_eq!(Duplicates::find_in_condensed(3, &[0.0_f64, 1.0, 2.0]), None);
        // d(0, 1) = 0 and equal rows: grouped
        let dup = Duplicates::find_in_condensed(3, &[0.0_f64, 2.0, 2.0]).expect("0 ~ 1");
        assert_eq!(dup.members(0), &[0, 1]);
        assert_eq!(dup.members(1), &[2]);
    }

    #[test]
    fn expand_puts_zero_merges_first() {
        // rows 0 and 2 identical; groups: {0, 2}, {1}
        let x = array![[0.0_f64], [3.0], [0.0]];
        let dup = Duplicates::find(x.view()).expect("rows repeat");
        let groups = Dendrogram::from_unsorted(2, &[(0, 1, 6.0)]);
        let full = dup.expand(&groups);
        assert_eq!(full.observations(), 3);
        let merges: Vec<(usize, usize, f64, usize)> = full
            .iter()
            .map(|s| (s.a, s.b, s.distance, s.size))
            .collect();
        assert_eq!(merges, vec![(0, 2, 0.0, 2), (1, 3, 6.0, 3)]);
    }
}
