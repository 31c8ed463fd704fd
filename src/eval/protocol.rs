//! The walk-forward protocol: which (user, day) pairs are evaluated, with
//! which history and which targets.
//!
//! * day `= ⌊ts / 86400⌋` (UTC days of Unix seconds); `now` for day `t` is
//!   `t·86400`, the day's first second.
//! * history of (user, t) = the user's actions with `ts < now` and, when the
//!   window `W` days is not 0, `ts ≥ now − W·86400`;
//! * targets = the distinct items of the user's actions on day `t`;
//! * evaluated days: the user's last `eval_days` distinct active days, each
//!   kept iff its history has at least `min_history` actions.

use super::error::{EvalError, EvalResult};
use crate::Action;

/// Seconds per day of the protocol.
pub const DAY: i64 = 86_400;

/// An action log: per user, actions sorted by `(timestamp, item)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Log {
    users: Vec<(u64, Vec<Action<usize>>)>,
    items: usize,
}

impl Log {
    /// Groups `(user, item, timestamp)` triples by user (users ascending,
    /// actions by `(timestamp, item)`); exact duplicates are kept.
    ///
    /// # Errors
    /// [`EvalError::ItemOutOfRange`] for an item `≥ items`;
    /// [`EvalError::TimestampOverflow`] for a timestamp whose day start
    /// overflows.
    ///
    /// # Example
    /// ```
    /// use pinnersage::eval::Log;
    /// let log = Log::from_triples([(7, 1, 100), (3, 0, 5), (7, 0, 50)], 2)?;
    /// assert_eq!(log.users().len(), 2);
    /// assert_eq!(log.users()[1].0, 7);
    /// assert_eq!(log.users()[1].1[0].timestamp, 50);
    /// # Ok::<(), pinnersage::eval::EvalError>(())
    /// ```
    pub fn from_triples(
        triples: impl IntoIterator<Item = (u64, usize, i64)>,
        items: usize,
    ) -> EvalResult<Self> {
        let mut all: Vec<(u64, i64, usize)> = Vec::new();
        for (u, i, ts) in triples {
            if i >= items {
                return Err(EvalError::ItemOutOfRange { item: i, items });
            }
            day_start(day_of(ts)).ok_or(EvalError::TimestampOverflow { timestamp: ts })?;
            all.push((u, ts, i));
        }
        all.sort_unstable();
        let mut users: Vec<(u64, Vec<Action<usize>>)> = Vec::new();
        for (u, ts, i) in all {
            match users.last_mut() {
                Some((last, acts)) if *last == u => acts.push(Action::new(i, ts)),
                _ => users.push((u, vec![Action::new(i, ts)])),
            }
        }
        Ok(Log { users, items })
    }

    /// Users ascending, each with its actions sorted by `(timestamp, item)`.
    pub fn users(&self) -> &[(u64, Vec<Action<usize>>)] {
        &self.users
    }

    /// Number of catalogue items the log was checked against.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.users.iter().map(|(_, a)| a.len()).sum()
    }

    /// `true` without actions.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The day of a timestamp: `⌊ts / 86400⌋`.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

/// The first second of day `t` (`t·86400`), `None` on overflow.
pub fn day_start(t: i64) -> Option<i64> {
    t.checked_mul(DAY)
}

/// One evaluated (user, day).
#[derive(Debug, Clone, PartialEq)]
pub struct UserDay {
    /// Index of the user in [`Log::users`].
    pub user_index: usize,
    /// The user's id.
    pub user: u64,
    /// The evaluation day `t`.
    pub day: i64,
    /// `now = t·86400`.
    pub now: i64,
    /// The history: actions in `[now − window, now)`, oldest first.
    pub history: Vec<Action<usize>>,
    /// Distinct items of day `t`, ascending.
    pub targets: Vec<usize>,
}

/// The (user, day) pairs to evaluate, users ascending, days ascending.
///
/// `window_days = 0` means an unlimited history.
///
/// # Errors
/// [`EvalError::TimestampOverflow`] if `now − window` overflows.
///
/// # Complexity
/// O(total actions · log).
///
/// # Example
/// ```
/// use pinnersage::eval::{user_days, Log};
/// let d = 86_400;
/// // user 1: 5 actions on day 0, 2 on day 1 -> only day 1 has 5 history actions
/// let mut t: Vec<(u64, usize, i64)> = (0..5).map(|i| (1, i, 10 + i as i64)).collect();
/// t.extend([(1, 0, d + 1), (1, 9, d + 2)]);
/// let log = Log::from_triples(t, 10)?;
/// let days = user_days(&log, 90, 5, 5)?;
/// assert_eq!(days.len(), 1);
/// assert_eq!((days[0].day, days[0].targets.clone()), (1, vec![0, 9]));
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn user_days(
    log: &Log,
    window_days: u32,
    eval_days: usize,
    min_history: usize,
) -> EvalResult<Vec<UserDay>> {
    let window = i64::from(window_days) * DAY;
    let mut out = Vec::new();
    for (ui, (user, actions)) in log.users.iter().enumerate() {
        let mut days: Vec<i64> = actions.iter().map(|a| day_of(a.timestamp)).collect();
        days.dedup(); // actions are sorted by timestamp, so days are too
        let first = days.len().saturating_sub(eval_days);
        for &t in &days[first..] {
            let now = day_start(t).ok_or(EvalError::TimestampOverflow {
                timestamp: t.saturating_mul(DAY),
            })?;
            let lo = if window_days == 0 {
                i64::MIN
            } else {
                now.checked_sub(window)
                    .ok_or(EvalError::TimestampOverflow { timestamp: now })?
            };
            let start = actions.partition_point(|a| a.timestamp < lo);
            let end = actions.partition_point(|a| a.timestamp < now);
            if end - start < min_history {
                continue;
            }
            let day_end = actions.partition_point(|a| day_of(a.timestamp) <= t);
            let mut targets: Vec<usize> = actions[end..day_end].iter().map(|a| a.item).collect();
            targets.sort_unstable();
            targets.dedup();
            out.push(UserDay {
                user_index: ui,
                user: *user,
                day: t,
                now,
                history: actions[start..end].to_vec(),
                targets,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_timestamps_use_floor_days() {
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY - 1), 0);
        assert_eq!(day_start(i64::MAX / 2), None);
    }

    #[test]
    fn error_item_out_of_range() {
        assert_eq!(
            Log::from_triples([(1, 3, 0)], 3),
            Err(EvalError::ItemOutOfRange { item: 3, items: 3 })
        );
    }

    #[test]
    fn error_timestamp_overflow() {
        assert_eq!(
            Log::from_triples([(1, 0, i64::MIN)], 3),
            Err(EvalError::TimestampOverflow {
                timestamp: i64::MIN
            })
        );
    }
}
