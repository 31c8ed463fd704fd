//! An indexed binary min-heap: keys for the items `0..n`, with the minimum on
//! top and O(log n) update and removal of any item.

use crate::scalar::Scalar;

/// Min-heap over items `0..n` keyed by `F`; ties are broken by the smaller item,
/// so the order is deterministic.
#[derive(Debug, Clone)]
pub(crate) struct IndexedMinHeap<F> {
    /// Heap-ordered items.
    heap: Vec<usize>,
    /// `pos[item]` is the item's position in `heap`, `usize::MAX` if absent.
    pos: Vec<usize>,
    key: Vec<F>,
}

impl<F: Scalar> IndexedMinHeap<F> {
    /// A heap holding every item `i` with key `keys[i]`.
    ///
    /// # Complexity
    /// O(n).
    pub(crate) fn from_keys(keys: Vec<F>) -> Self {
        let n = keys.len();
        let mut h = IndexedMinHeap {
            heap: (0..n).collect(),
            pos: (0..n).collect(),
            key: keys,
        };
        for p in (0..n / 2).rev() {
            h.sift_down(p);
        }
        h
    }

    /// The item with the smallest key, if any.
    #[inline]
    pub(crate) fn top(&self) -> Option<usize> {
        self.heap.first().copied()
    }

    /// `true` if `item` is in the heap.
    #[inline]
    pub(crate) fn contains(&self, item: usize) -> bool {
        self.pos[item] != usize::MAX
    }

    /// Sets the key of an item, inserting it if it was removed.
    ///
    /// # Complexity
    /// O(log n).
    #[inline]
    pub(crate) fn update(&mut self, item: usize, key: F) {
        if !self.contains(item) {
            self.key[item] = key;
            self.pos[item] = self.heap.len();
            self.heap.push(item);
            self.sift_up(self.heap.len() - 1);
            return;
        }
        let old = self.key[item];
        self.key[item] = key;
        let p = self.pos[item];
        if key < old {
            self.sift_up(p);
        } else {
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
        let last = self.heap.len() - 1;
        self.swap(p, last);
        self.heap.pop();
        self.pos[item] = usize::MAX;
        if p < self.heap.len() {
            self.sift_down(p);
            self.sift_up(p);
        }
    }

    #[inline]
    fn less(&self, a: usize, b: usize) -> bool {
        let (ka, kb) = (self.key[a], self.key[b]);
        ka < kb || (ka == kb && a < b)
    }

    #[inline]
    fn swap(&mut self, p: usize, q: usize) {
        self.heap.swap(p, q);
        self.pos[self.heap[p]] = p;
        self.pos[self.heap[q]] = q;
    }

    fn sift_up(&mut self, mut p: usize) {
        while p > 0 {
            let parent = (p - 1) / 2;
            if self.less(self.heap[p], self.heap[parent]) {
                self.swap(p, parent);
                p = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut p: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * p + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && self.less(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            if self.less(self.heap[c], self.heap[p]) {
                self.swap(p, c);
                p = c;
            } else {
                break;
            }
        }
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
                if model[item].is_none() {
                    continue;
                }
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
        }
    }
}
