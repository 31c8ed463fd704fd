//! From raw actions to distinct weighted items with embeddings: the shared
//! first step of a batch profile and of an online update.

use core::fmt::Debug;

use ndarray::Array2;
use num_traits::Float;

use crate::embedding::EmbeddingSource;
use crate::error::{Error, Result};
use crate::history::{age, Action};
use crate::scalar::Scalar;

use super::config::{PinnerSage, UnknownItems};

/// A summary of the history a profile computation (or update) used: how
/// many actions it was given, how many it used, and what it left out why.
///
/// Actions are selected in this order: the window, then unknown items, then
/// the history cap (over the remaining known actions), and after clustering
/// [`max_clusters`](crate::PinnerSage::max_clusters). So
/// `actions = outside_window + unknown_actions + over_cap + used_actions`.
///
/// ```
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let source = InMemoryEmbeddings::with_row_ids(pinnersage::ndarray::array![[1.0_f32, 0.0]])?;
/// let actions = [Action::new(0, 100), Action::new(7, 100)]; // 7 is unknown
/// let profile = PinnerSage::default().profile(&actions, &source, 100)?;
/// let h = profile.history();
/// assert_eq!((h.actions, h.used_actions, h.unknown_actions), (2, 1, 1));
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HistorySummary {
    /// Actions given.
    #[cfg_attr(feature = "serde", serde(default))]
    pub actions: usize,
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
    /// The actions' timestamps, oldest first.
    pub times: Vec<i64>,
}

/// Distinct items sorted by id, with row `r` of `x` the embedding of
/// `items[r]`.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<I, F> {
    pub items: Vec<ItemGroup<I>>,
    pub x: Array2<F>,
    pub history: HistorySummary,
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
            history: self.history,
        }
    }
}

/// Checks, selects, groups and looks up `actions` as `config` says: the
/// window, then unknown items, then the history cap over the known actions.
///
/// Deterministic and independent of the order of `actions` except for the
/// indices named in errors: actions are sorted by `(item, timestamp)` before
/// anything is summed. Every decay weight comes from
/// [`Decay::weight_at`](crate::importance::Decay::weight_at).
///
/// Errors: `ActionInFuture`, `NoActionsInWindow` (a non-empty history with
/// nothing in the window), `UnknownItem`, `InvalidEmbedding`,
/// `LengthMismatch`.
pub(crate) fn prepare<S>(
    config: &PinnerSage,
    actions: &[Action<S::Id>],
    source: &S,
    now: i64,
) -> Result<Prepared<S::Id, S::Elem>>
where
    S: EmbeddingSource + ?Sized,
    S::Id: Clone + Ord + Debug,
{
    if let Some((index, a)) = actions.iter().enumerate().find(|(_, a)| a.timestamp > now) {
        return Err(Error::ActionInFuture {
            index,
            timestamp: a.timestamp,
            now,
        });
    }
    let mut summary = HistorySummary {
        actions: actions.len(),
        ..HistorySummary::default()
    };
    // the window: age = now − T <= window (in ticks), computed without overflow
    let mut in_window: Vec<usize> = match config.window_ticks() {
        None => (0..actions.len()).collect(),
        Some(w) => (0..actions.len())
            .filter(|&i| age(actions[i].timestamp, now) <= i128::from(w))
            .collect(),
    };
    summary.outside_window = actions.len() - in_window.len();
    if let (Some(window_ticks), Some(newest), true) = (
        config.window_ticks(),
        actions.iter().map(|a| a.timestamp).max(),
        in_window.is_empty(),
    ) {
        return Err(Error::NoActionsInWindow {
            actions: actions.len(),
            newest,
            now,
            window_ticks,
            unit: config.timestamps(),
        });
    }

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
    let batch = crate::embedding::checked_embeddings(source, &ids)?;
    // the error naming the smallest action index, if any
    let mut first_error: Option<(usize, Error)> = None;
    let mut known = vec![false; ids.len()];
    // one vectorised pass over the whole batch (missing rows are zeros); the
    // row-by-row search only when it finds something
    let all_finite = batch
        .matrix
        .as_slice()
        .is_some_and(|s| crate::linalg::finite_max_abs(s).is_some());
    for (k, (&found, v)) in batch.found.iter().zip(batch.matrix.rows()).enumerate() {
        let index = first[k];
        let error = if !found {
            match config.unknown_items() {
                UnknownItems::Skip => {
                    summary.unknown_items += 1;
                    None
                }
                UnknownItems::Error => Some(Error::UnknownItem {
                    item: format!("{:?}", ids[k]),
                    index,
                }),
            }
        } else if !all_finite && v.iter().any(|x| !x.is_finite()) {
            Some(Error::InvalidEmbedding {
                item: format!("{:?}", ids[k]),
                index,
            })
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
    summary.unknown_actions = actions.len() - summary.outside_window - kept.len();

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
            summary.over_cap = kept.len() - cap;
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
    let decay = config.time_decay();
    let mut groups: Vec<ItemGroup<S::Id>> = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    for &i in &kept {
        let a = &actions[i];
        // no action is later than `now` (checked above)
        let w = decay.weight_at(a.timestamp, now)?;
        match groups.last_mut() {
            Some(g) if g.item == a.item => {
                g.count += 1;
                g.last = g.last.max(a.timestamp);
                g.decayed += w;
                g.times.push(a.timestamp);
            }
            _ => {
                groups.push(ItemGroup {
                    item: a.item.clone(),
                    count: 1,
                    last: a.timestamp,
                    decayed: w,
                    times: vec![a.timestamp],
                });
                rows.push(distinct_of[i]);
            }
        }
    }
    // every looked-up row kept, in order (the usual case): the batch is the
    // matrix, no second copy
    let x = if rows.len() == batch.matrix.nrows() && rows.iter().enumerate().all(|(a, &b)| a == b) {
        batch.matrix
    } else {
        let mut x = Array2::<S::Elem>::zeros((rows.len(), d));
        for (mut dst, &k) in x.rows_mut().into_iter().zip(&rows) {
            dst.assign(&batch.matrix.row(k));
        }
        x
    };
    summary.used_actions = kept.len();
    Ok(Prepared {
        items: groups,
        x,
        history: summary,
    })
}
