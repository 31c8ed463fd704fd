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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Skipped {
    /// Actions older than `now − window`.
    pub outside_window: usize,
    /// Actions in the window dropped by the history cap (the oldest ones).
    pub over_cap: usize,
    /// Actions on items the embedding source does not know
    /// (with [`UnknownItems::Skip`]).
    pub unknown_actions: usize,
    /// Distinct unknown items among those actions.
    pub unknown_items: usize,
    /// Actions that made it into the profile.
    pub used_actions: usize,
}

/// One distinct item of the selected actions.
#[derive(Debug, Clone)]
pub(crate) struct ItemGroup<I> {
    pub item: I,
    /// Smallest index (in the caller's slice) of an action on the item.
    pub first_index: usize,
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

/// Checks, selects, groups and looks up `actions` as `config` says.
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
    let mut kept: Vec<usize> = match config.window() {
        None => (0..actions.len()).collect(),
        Some(w) => (0..actions.len())
            .filter(|&i| i128::from(now) - i128::from(actions[i].timestamp) <= i128::from(w))
            .collect(),
    };
    skipped.outside_window = actions.len() - kept.len();
    // the cap: most recent first, ties by item id then index
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
    for &i in &kept {
        let a = &actions[i];
        let w = decay.weight_at(a.timestamp, now);
        match groups.last_mut() {
            Some(g) if g.item == a.item => {
                g.first_index = g.first_index.min(i);
                g.count += 1;
                g.last = g.last.max(a.timestamp);
                g.decayed += w;
            }
            _ => groups.push(ItemGroup {
                item: a.item.clone(),
                first_index: i,
                count: 1,
                last: a.timestamp,
                decayed: w,
            }),
        }
    }
    // look up embeddings
    let d = source.dim();
    let ids: Vec<S::Id> = groups.iter().map(|g| g.item.clone()).collect();
    let found = source.embeddings(&ids);
    if found.len() != ids.len() {
        return Err(Error::LengthMismatch {
            what: "embeddings returned by the source vs items asked for",
            expected: ids.len(),
            got: found.len(),
        });
    }
    let mut first_error: Option<Error> = None;
    let mut error_index = usize::MAX;
    let mut note = |e: Error, index: usize| {
        if index < error_index {
            error_index = index;
            first_error = Some(e);
        }
    };
    let mut rows: Vec<usize> = Vec::with_capacity(groups.len());
    for (r, (g, e)) in groups.iter().zip(&found).enumerate() {
        match e {
            None => match config.unknown_items() {
                UnknownItems::Skip => {
                    skipped.unknown_actions += g.count as usize;
                    skipped.unknown_items += 1;
                }
                UnknownItems::Error => note(
                    Error::UnknownItem {
                        index: g.first_index,
                    },
                    g.first_index,
                ),
            },
            Some(v) if v.len() != d || v.iter().any(|x| !x.is_finite()) => note(
                Error::InvalidEmbedding {
                    index: g.first_index,
                },
                g.first_index,
            ),
            Some(_) => rows.push(r),
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut x = Array2::<S::Elem>::zeros((rows.len(), d));
    for (mut dst, &r) in x.rows_mut().into_iter().zip(&rows) {
        if let Some(v) = &found[r] {
            dst.assign(v);
        }
    }
    drop(found);
    let mut keep = vec![false; groups.len()];
    rows.iter().for_each(|&r| keep[r] = true);
    let mut flags = keep.into_iter();
    groups.retain(|_| flags.next().unwrap_or(false));
    skipped.used_actions = groups.iter().map(|g| g.count as usize).sum();
    Ok(Prepared {
        items: groups,
        x,
        skipped,
    })
}
