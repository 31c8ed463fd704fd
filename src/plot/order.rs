//! Leaf order and layout for drawing a dendrogram: every leaf once, no
//! crossing branches, and scipy's order.

use crate::scalar::Scalar;
use crate::ward::Dendrogram;

/// The order in which a drawn dendrogram shows its observations:
/// scipy's `dendrogram(Z)['leaves']`.
///
/// A depth-first walk from the root (the last merge) that visits, at every
/// merge `(a, b)`, the subtree of `a` (the smaller id) before that of `b`.
/// Each subtree's leaves are therefore contiguous in the order, which is what
/// lets every merge be drawn as one bracket over its two children without any
/// branch crossing another. On tie-free data the crate's dendrogram is
/// scipy's, so the order is the one `scipy.cluster.hierarchy.dendrogram`
/// draws (checked against a scipy fixture).
///
/// # Returns
/// A permutation of `0..m` (for `m` observations).
///
/// # Complexity
/// O(m) time and space (an explicit stack: no recursion depth limit).
///
/// # Example
/// ```
/// use pinnersage::ndarray::array;
/// use pinnersage::plot::leaf_order;
///
/// let x = array![[0.0, 0.0], [10.0, 0.0], [0.0, 1.0], [10.0, 1.5]];
/// let tree = pinnersage::ward::linkage(x.view())?;
/// assert_eq!(leaf_order(&tree), vec![0, 2, 1, 3]); // merges: (0, 2), (1, 3), then both
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn leaf_order<F: Scalar>(tree: &Dendrogram<F>) -> Vec<usize> {
    let m = tree.observations();
    let mut order = Vec::with_capacity(m);
    if m == 0 {
        return order;
    }
    let merges = tree.merges();
    let mut stack = vec![m - 1 + merges.len()]; // the root: the last node
    while let Some(node) = stack.pop() {
        if node < m {
            order.push(node);
        } else {
            let s = &merges[node - m];
            stack.push(s.b); // popped second
            stack.push(s.a);
        }
    }
    order
}

/// The top of a dendrogram as it is drawn, like scipy's
/// `dendrogram(Z, p=p, truncate_mode="lastp")`: only the last `p − 1`
/// merges are drawn, and every subtree below them is one drawn leaf.
///
/// Node ids are scipy's: observation `i` is node `i`, the cluster made by
/// merge `t` is node `m + t`.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLayout {
    /// The drawn leaves, left to right: node ids (an id `>= m` is a collapsed
    /// cluster). scipy's `dendrogram(..)['leaves']`.
    pub leaves: Vec<usize>,
    /// Observations under each drawn leaf (1 for an observation).
    pub leaf_sizes: Vec<usize>,
    /// The drawn merges, one per merge `t >= first_drawn`, in merge order:
    /// `(position of the bracket's centre, position of child a, position of
    /// child b)`, positions in leaf slots (`0.0` is the first drawn leaf).
    pub brackets: Vec<(f64, f64, f64)>,
    /// Index of the first drawn merge (`m − p` when truncated, else 0).
    pub first_drawn: usize,
}

impl TreeLayout {
    /// The layout of `tree` with at most `max_leaves` drawn leaves (at least
    /// 1; `usize::MAX` draws the whole tree).
    ///
    /// # Complexity
    /// O(m) time and space.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::TreeLayout;
    ///
    /// let x = array![[0.0, 0.0], [10.0, 0.0], [0.0, 1.0], [10.0, 1.5]];
    /// let tree = pinnersage::ward::linkage(x.view())?;
    /// let top = TreeLayout::new(&tree, 2);
    /// assert_eq!(top.leaves, vec![4, 5]); // the two clusters, collapsed
    /// assert_eq!(top.leaf_sizes, vec![2, 2]);
    /// assert_eq!(top.brackets, vec![(0.5, 0.0, 1.0)]);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn new<F: Scalar>(tree: &Dendrogram<F>, max_leaves: usize) -> Self {
        let m = tree.observations();
        let merges = tree.merges();
        let p = max_leaves.clamp(1, m.max(1));
        let first_drawn = m.saturating_sub(p);
        let size_of = |node: usize| if node < m { 1 } else { merges[node - m].size };
        let mut leaves = Vec::new();
        let mut leaf_sizes = Vec::new();
        if m == 0 {
            return TreeLayout {
                leaves,
                leaf_sizes,
                brackets: Vec::new(),
                first_drawn,
            };
        }
        // position of every node in leaf slots, set when the walk reaches it
        let mut slot = vec![f64::NAN; m + merges.len()];
        // iterative post-order walk: a node is drawn as a leaf when it is an
        // observation or a merge below the drawn ones
        let drawn = |node: usize| node >= m && node - m >= first_drawn;
        let root = m - 1 + merges.len();
        let mut stack = vec![(root, false)];
        while let Some((node, expanded)) = stack.pop() {
            if !drawn(node) {
                slot[node] = leaves.len() as f64;
                leaves.push(node);
                leaf_sizes.push(size_of(node));
                continue;
            }
            let s = &merges[node - m];
            if expanded {
                slot[node] = (slot[s.a] + slot[s.b]) / 2.0;
            } else {
                stack.push((node, true));
                stack.push((s.b, false));
                stack.push((s.a, false));
            }
        }
        let brackets = (first_drawn..merges.len())
            .map(|t| {
                let s = &merges[t];
                (slot[m + t], slot[s.a], slot[s.b])
            })
            .collect();
        TreeLayout {
            leaves,
            leaf_sizes,
            brackets,
            first_drawn,
        }
    }
}
