//! From raw actions to distinct weighted items with embeddings: the shared
//! first step of a batch profile and of an online update.

use ndarray::Array2;
use num_traits::Float;

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::scalar::Scalar;

use super::config::{PinnerSage, UnknownItems};

/// What a profile computation left out, and how much it used.
///
/// Actions are selected in this order: the window, then unknown items, then
/// the history cap (over the remaining known actions), and after clustering
/// [`max_clusters`](crate::PinnerSage::max_clusters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Skipped {
    /// Actions older than `now − window`.
    pub outside_window: usize,
    /// Actions in the window on items the embedding source does not know
    /// (with [`UnknownItems::Skip`]).
    pub unknown_actions: usize,
    /// Distinct unknown items among those actions.
    pub unknown_items: usize,
    /// Known actions in the window dropped by the history cap (the oldest
    /// ones).
    pub over_cap: usize,
    /// Actions that made it into the clustering.
    pub used_actions: usize,
    /// Clusters dropped by [`max_clusters`](crate::PinnerSage::max_clusters)
    /// (the least important ones).
    #[cfg_attr(feature = "serde", serde(default))]
    pub dropped_clusters: usize,
    /// Actions in those dropped clusters (for an
    /// [update](crate::UserProfile::update), stored actions included).
    #[cfg_attr(feature = "serde", serde(default))]
    pub dropped_actions: u64,
}

/// One distinct item of the selected actions.
#[derive(Debug, Clone)]
pub(crate) struct ItemGroup<I> {
    pub item: I,
    /// Number of actions on the item.
    pub count: u64,
    /// Latest timestamp.
    pub last: i64,
    /// `Σ exp(−λ(now − T))` over the item's actions, summed oldest first.
    pub decayed: f64,
}

/// Distinct items sorted by id, with row `r` of `x` the embedding of
/// `items[r]`.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<I, F> {
    pub items: Vec<ItemGroup<I>>,
    pub x: Array2<F>,
    pub skipped: Skipped,
}

impl<I: Clone, F: Scalar> Prepared<I, F> {
    /// Ward weights (action counts) as `f64`.
    pub fn weights(&self) -> Vec<f64> {
        self.items.iter().map(|g| g.count as f64).collect()
    }

    /// The rows `rows` (ascending) only.
    pub fn subset(&self, rows: &[usize]) -> Self {
        Prepared {
            items: rows.iter().map(|&r| self.items[r].clone()).collect(),
            x: self.x.select(ndarray::Axis(0), rows),
            skipped: self.skipped,
        }
    }
}

/// Checks, selects, groups and looks up `actions` as `config` says: the
/// window, then unknown items, then the history cap over the known actions.
///
/// Deterministic and independent of the order of `actions` except for the
/// indices named in errors: actions are sorted by `(item, timestamp)` before
/// anything is summed.
pub(crate) fn prepare<S>(
    config: &PinnerSage,
    actions: &[Action<S::Id>],
    source: &S,
    now: i64,
) -> Result<Prepared<S::Id, S::Elem>>
where
    S: EmbeddingSource + ?Sized,
    S::Id: Clone + Ord,
{
    if let Some((index, a)) = actions.iter().enumerate().find(|(_, a)| a.timestamp > now) {
        return Err(Error::ActionInFuture {
            index,
            timestamp: a.timestamp,
            now,
        });
    }
    let mut skipped = Skipped::default();
    // the window: age = now − T <= window, computed without overflow
    let mut in_window: Vec<usize> = match config.window() {
        None => (0..actions.len()).collect(),
        Some(w) => (0..actions.len())
            .filter(|&i| i128::from(now) - i128::from(actions[i].timestamp) <= i128::from(w))
            .collect(),
    };
    skipped.outside_window = actions.len() - in_window.len();

    // distinct items in the window, each looked up once; `distinct_of[i]` is
    // the distinct item of action `i`, `first[k]` the first action on item `k`
    in_window.sort_by(|&i, &j| actions[i].item.cmp(&actions[j].item).then(i.cmp(&j)));
    let mut ids: Vec<S::Id> = Vec::new();
    let mut first: Vec<usize> = Vec::new();
    let mut distinct_of = vec![usize::MAX; actions.len()];
    for &i in &in_window {
        if ids.last() != Some(&actions[i].item) {
            ids.push(actions[i].item.clone());
            first.push(i);
        }
        distinct_of[i] = ids.len() - 1;
    }
    let d = source.dim();
    let batch = source.embeddings(&ids)?;
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
    if batch.matrix.ncols() != d {
        return Err(Error::DimensionMismatch {
            expected: d,
            got: batch.matrix.ncols(),
        });
    }
    // the error naming the smallest action index, if any
    let mut first_error: Option<(usize, Error)> = None;
    let mut known = vec![false; ids.len()];
    for (k, (&found, v)) in batch.found.iter().zip(batch.matrix.rows()).enumerate() {
        let index = first[k];
        let error = if !found {
            match config.unknown_items() {
                UnknownItems::Skip => {
                    skipped.unknown_items += 1;
                    None
                }
                UnknownItems::Error => Some(Error::UnknownItem { index }),
            }
        } else if v.iter().any(|x| !x.is_finite()) {
            Some(Error::InvalidEmbedding { index })
        } else {
            known[k] = true;
            None
        };
        if let Some(e) = error {
            if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                first_error = Some((index, e));
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    let mut kept: Vec<usize> = in_window
        .into_iter()
        .filter(|&i| known[distinct_of[i]])
        .collect();
    skipped.unknown_actions = actions.len() - skipped.outside_window - kept.len();

    // the cap over known actions: most recent first, ties by item id then index
    if let Some(cap) = config.max_history() {
        if kept.len() > cap {
            kept.sort_by(|&i, &j| {
                let (a, b) = (&actions[i], &actions[j]);
                b.timestamp
                    .cmp(&a.timestamp)
                    .then_with(|| a.item.cmp(&b.item))
                    .then(i.cmp(&j))
            });
            skipped.over_cap = kept.len() - cap;
            kept.truncate(cap);
        }
    }
    // canonical order: by item, then time (oldest first)
    kept.sort_by(|&i, &j| {
        let (a, b) = (&actions[i], &actions[j]);
        a.item
            .cmp(&b.item)
            .then(a.timestamp.cmp(&b.timestamp))
            .then(i.cmp(&j))
    });
    let decay = config.decay();
    let mut groups: Vec<ItemGroup<S::Id>> = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    for &i in &kept {
        let a = &actions[i];
        let w = decay.weight_at(a.timestamp, now);
        match groups.last_mut() {
            Some(g) if g.item == a.item => {
                g.count += 1;
                g.last = g.last.max(a.timestamp);
                g.decayed += w;
            }
            _ => {
                groups.push(ItemGroup {
                    item: a.item.clone(),
                    count: 1,
                    last: a.timestamp,
                    decayed: w,
                });
                rows.push(distinct_of[i]);
            }
        }
    }
    let mut x = Array2::<S::Elem>::zeros((rows.len(), d));
    for (mut dst, &k) in x.rows_mut().into_iter().zip(&rows) {
        dst.assign(&batch.matrix.row(k));
    }
    skipped.used_actions = kept.len();
    Ok(Prepared {
        items: groups,
        x,
        skipped,
    })
}
