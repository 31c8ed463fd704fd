//! An indexed binary min-heap: keys for the items `0..n`, with the minimum on
//! top and O(log n) update and removal of any item.

use crate::scalar::Scalar;

/// Min-heap over items `0..n` keyed by `F`; ties are broken by the smaller item,
/// so the order is deterministic.
///
/// Each heap slot holds its key beside its item (one load per comparison,
/// no indirection), and the sifts move a hole rather than swapping: one
/// write per level instead of three.
#[derive(Debug, Clone)]
pub(crate) struct IndexedMinHeap<F> {
    /// Heap-ordered `(key, item)` pairs.
    heap: Vec<(F, usize)>,
    /// `pos[item]` is the item's position in `heap`, `usize::MAX` if absent.
    pos: Vec<usize>,
}

/// `a` goes above `b`: a smaller key, or the same key and a smaller item.
#[inline(always)]
fn before<F: Scalar>(a: (F, usize), b: (F, usize)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl<F: Scalar> IndexedMinHeap<F> {
    /// A heap holding every item `i` with key `keys[i]`.
    ///
    /// # Complexity
    /// O(n).
    pub(crate) fn from_keys(keys: Vec<F>) -> Self {
        let n = keys.len();
        let mut h = IndexedMinHeap {
            heap: keys.into_iter().zip(0..n).collect(),
            pos: (0..n).collect(),
        };
        for p in (0..n / 2).rev() {
            h.sift_down(p);
        }
        h
    }

    /// The item with the smallest key, if any.
    #[inline]
    pub(crate) fn top(&self) -> Option<usize> {
        self.heap.first().map(|&(_, item)| item)
    }

    /// `true` if `item` is in the heap.
    #[cfg(test)]
    pub(crate) fn contains(&self, item: usize) -> bool {
        self.pos[item] != usize::MAX
    }

    /// Sets the key of an item, inserting it if it was removed.
    ///
    /// # Complexity
    /// O(log n).
    #[inline]
    pub(crate) fn update(&mut self, item: usize, key: F) {
        let p = self.pos[item];
        if p == usize::MAX {
            self.pos[item] = self.heap.len();
            self.heap.push((key, item));
            self.sift_up(self.heap.len() - 1);
            return;
        }
        let old = self.heap[p].0;
        self.heap[p].0 = key;
        if key < old {
            self.sift_up(p);
        } else if old < key {
            self.sift_down(p);
        }
    }

    /// Removes an item if present.
    ///
    /// # Complexity
    /// O(log n).
    pub(crate) fn remove(&mut self, item: usize) {
        let p = self.pos[item];
        if p == usize::MAX {
            return;
        }
        self.pos[item] = usize::MAX;
        let Some(last) = self.heap.pop() else {
            return;
        };
        if p < self.heap.len() {
            // the last entry fills the hole, then moves whichever way it must
            self.heap[p] = last;
            self.pos[last.1] = p;
            self.sift_down(p);
            self.sift_up(self.pos[last.1]);
        }
    }

    /// Moves the entry at `p` up to its place.
    fn sift_up(&mut self, mut p: usize) {
        let moving = self.heap[p];
        while p > 0 {
            let parent = (p - 1) / 2;
            let above = self.heap[parent];
            if !before(moving, above) {
                break;
            }
            self.heap[p] = above;
            self.pos[above.1] = p;
            p = parent;
        }
        self.heap[p] = moving;
        self.pos[moving.1] = p;
    }

    /// Moves the entry at `p` down to its place.
    fn sift_down(&mut self, mut p: usize) {
        let n = self.heap.len();
        let moving = self.heap[p];
        loop {
            let l = 2 * p + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && before(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            let below = self.heap[c];
            if !before(below, moving) {
                break;
            }
            self.heap[p] = below;
            self.pos[below.1] = p;
            p = c;
        }
        self.heap[p] = moving;
        self.pos[moving.1] = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_reinserts_a_removed_item() {
        let mut heap = IndexedMinHeap::from_keys(vec![3.0, 1.0, 2.0]);
        heap.remove(1);
        assert_eq!(heap.top(), Some(2));
        heap.update(1, 0.5);
        assert!(heap.contains(1));
        assert_eq!(heap.top(), Some(1));
    }
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_sorted_list(
            keys in proptest::collection::vec(0u8..20, 1..40),
            ops in proptest::collection::vec((any::<usize>(), 0u8..20, any::<bool>()), 0..60),
        ) {
            let mut heap = IndexedMinHeap::from_keys(keys.iter().map(|&k| f64::from(k)).collect());
            let mut model: Vec<Option<f64>> = keys.iter().map(|&k| Some(f64::from(k))).collect();
            for (item, key, remove) in ops {
                let item = item % keys.len();
                // removing an absent item does nothing; updating one inserts it
                if remove {
                    heap.remove(item);
                    model[item] = None;
                } else {
                    heap.update(item, f64::from(key));
                    model[item] = Some(f64::from(key));
                }
                let expected = model
                    .iter()
                    .enumerate()
                    .filter_map(|(i, k)| k.map(|k| (k, i)))
                    .min_by(|a, b| a.partial_cmp(b).unwrap())
                    .map(|(_, i)| i);
                prop_assert_eq!(heap.top(), expected);
                for (i, k) in model.iter().enumerate() {
                    prop_assert_eq!(heap.contains(i), k.is_some());
                }
            }
            // the whole order, not just the top: drained, the items come out
            // by key, ties by the smaller item
            let mut expected: Vec<(f64, usize)> = model
                .iter()
                .enumerate()
                .filter_map(|(i, k)| k.map(|k| (k, i)))
                .collect();
            expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assert_eq!(drain(&mut heap), expected.iter().map(|&(_, i)| i).collect::<Vec<_>>());
        }

        /// Keys among -0, +0, 1 and +∞ (a retired pair's key): -0 and +0
        /// are one key, so their items come out by item; an update to an
        /// equal key of the other sign moves nothing.
        #[test]
        fn signed_zeros_and_infinity_are_ordered_keys(
            keys in proptest::collection::vec(0usize..4, 1..30),
            updates in proptest::collection::vec((any::<usize>(), 0usize..4), 0..30),
        ) {
            const KEYS: [f64; 4] = [-0.0, 0.0, 1.0, f64::INFINITY];
            let mut heap = IndexedMinHeap::from_keys(keys.iter().map(|&k| KEYS[k]).collect());
            let mut model: Vec<f64> = keys.iter().map(|&k| KEYS[k]).collect();
            for (item, k) in updates {
                let item = item % model.len();
                heap.update(item, KEYS[k]);
                model[item] = KEYS[k];
            }
            let mut expected: Vec<(f64, usize)> = model.iter().copied().zip(0..).collect();
            expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assert_eq!(drain(&mut heap), expected.iter().map(|&(_, i)| i).collect::<Vec<_>>());
        }
    }

    /// Removes the top item until the heap is empty; returns them in order.
    fn drain(heap: &mut IndexedMinHeap<f64>) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(top) = heap.top() {
            heap.remove(top);
            out.push(top);
        }
        out
    }
}
