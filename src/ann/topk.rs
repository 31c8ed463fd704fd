//! Bounded selection of the `k` smallest `(distance, row)` pairs.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::scalar::Scalar;

/// A candidate ordered by `(distance, row)`; NaN distances are stored as
/// `+∞` so the order is total.
#[derive(Debug, Clone, Copy)]
struct Entry<F> {
    distance: F,
    row: usize,
}

impl<F: Scalar> PartialEq for Entry<F> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<F: Scalar> Eq for Entry<F> {}
impl<F: Scalar> PartialOrd for Entry<F> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<F: Scalar> Ord for Entry<F> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .partial_cmp(&other.distance)
            .unwrap_or(Ordering::Equal)
            .then(self.row.cmp(&other.row))
    }
}

/// Keeps the `k` smallest pairs seen so far (ties broken by the smaller row).
///
/// # Complexity
/// O(log k) per [`push`](TopK::push) that enters the selection, O(1) for one
/// that does not; O(k log k) for [`into_sorted`](TopK::into_sorted).
#[derive(Debug)]
pub(crate) struct TopK<F> {
    k: usize,
    heap: BinaryHeap<Entry<F>>,
}

impl<F: Scalar> TopK<F> {
    /// An empty selection of capacity `k`.
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    /// Offers a candidate.
    #[inline]
    pub(crate) fn push(&mut self, distance: F, row: usize) {
        if self.k == 0 {
            return;
        }
        let distance = if distance.is_nan() {
            F::infinity()
        } else {
            distance
        };
        let entry = Entry { distance, row };
        if self.heap.len() < self.k {
            self.heap.push(entry);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if entry < *worst {
                *worst = entry;
            }
        }
    }

    /// The selection, nearest first, as `(distance, row)` pairs.
    pub(crate) fn into_sorted(self) -> Vec<(F, usize)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.distance, e.row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nan_sorts_last_and_ties_by_row() {
        let mut t = TopK::new(3);
        t.push(f64::NAN, 0);
        t.push(1.0, 5);
        t.push(1.0, 2);
        t.push(3.0, 1);
        assert_eq!(t.into_sorted(), vec![(1.0, 2), (1.0, 5), (3.0, 1)]);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut t = TopK::<f32>::new(0);
        t.push(1.0, 0);
        assert!(t.into_sorted().is_empty());
    }

    proptest! {
        #[test]
        fn equals_full_sort(values in proptest::collection::vec(-100i32..100, 0..60), k in 0usize..70) {
            let mut t = TopK::new(k);
            for (row, v) in values.iter().enumerate() {
                t.push(f64::from(*v), row);
            }
            let mut all: Vec<(f64, usize)> =
                values.iter().enumerate().map(|(r, v)| (f64::from(*v), r)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.truncate(k);
            prop_assert_eq!(t.into_sorted(), all);
        }
    }
}
