//! A user's actions: which item, and when; and the unit the "when" is in.

#![warn(clippy::arithmetic_side_effects)]

use core::fmt;
use core::time::Duration;

use crate::error::{Error, Result};

/// One engagement of a user with an item (a save, a click, ...).
///
/// `I` is the caller's item id type (an integer, a string, a newtype):
/// [`PinnerSage::profile`](crate::PinnerSage::profile) and
/// [`UserProfile::update`](crate::UserProfile::update) need
/// `Clone + Ord + Debug` (ids are sorted, so results do not depend on hashing
/// or input order; errors name them), and
/// [`InMemoryEmbeddings`](crate::InMemoryEmbeddings) needs
/// `Clone + Eq + Hash`. Timestamps are the caller's integers, in the
/// [`TimestampUnit`] of the configuration (seconds unless configured
/// otherwise, see [`PinnerSageBuilder::timestamps`](crate::PinnerSageBuilder::timestamps)).
///
/// ```
/// use pinnersage::Action;
/// let a = Action::new("pin:42", 1_700_000_000);
/// assert_eq!(a.item, "pin:42");
/// // or from a pair, as rows of an event log come
/// let b: Action<&str> = ("pin:42", 1_700_000_000).into();
/// assert_eq!(a, b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Action<I> {
    /// The item acted on.
    pub item: I,
    /// When, in the configuration's [`TimestampUnit`] (Unix seconds by
    /// default).
    pub timestamp: i64,
}

impl<I> Action<I> {
    /// An action on `item` at `timestamp`.
    pub fn new(item: I, timestamp: i64) -> Self {
        Action { item, timestamp }
    }
}

impl<I> From<(I, i64)> for Action<I> {
    /// `(item, timestamp)` as an action.
    fn from((item, timestamp): (I, i64)) -> Self {
        Action { item, timestamp }
    }
}

/// The unit of action timestamps (and of `now`): how long one tick is.
///
/// Part of the configuration
/// ([`PinnerSageBuilder::timestamps`](crate::PinnerSageBuilder::timestamps)),
/// so the history window and the decay rate λ, both given in real time, mean
/// the same thing whatever unit the event log uses. The default is
/// [`Seconds`](Self::Seconds) (Unix seconds); event logs often carry
/// milliseconds.
///
/// A custom unit is an integer number of seconds per tick
/// ([`SecondsPerUnit`](Self::SecondsPerUnit): 60 for minutes, 86 400 for days)
/// or of ticks per second ([`UnitsPerSecond`](Self::UnitsPerSecond): 10 for
/// deciseconds), so windows convert to ticks exactly; 0 is refused by
/// [`build`](crate::PinnerSageBuilder::build)
/// ([`Error::InvalidTimestampUnit`]).
///
/// ```
/// use core::time::Duration;
/// use pinnersage::TimestampUnit;
///
/// let day = Duration::from_secs(86_400);
/// assert_eq!(TimestampUnit::Seconds.ticks_in(day)?, 86_400);
/// assert_eq!(TimestampUnit::Milliseconds.ticks_in(day)?, 86_400_000);
/// assert_eq!(TimestampUnit::SecondsPerUnit(3_600).ticks_in(day)?, 24);
/// assert_eq!(TimestampUnit::Milliseconds.seconds_per_tick(), 1e-3);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TimestampUnit {
    /// One tick is a second (Unix time). The default.
    #[default]
    Seconds,
    /// One tick is 10⁻³ s.
    Milliseconds,
    /// One tick is 10⁻⁶ s.
    Microseconds,
    /// One tick is 10⁻⁹ s.
    Nanoseconds,
    /// One tick is this many seconds (`> 0`).
    SecondsPerUnit(u64),
    /// This many ticks make a second (`> 0`).
    UnitsPerSecond(u64),
}

impl TimestampUnit {
    /// `(seconds, ticks)`: `ticks` ticks last `seconds` seconds.
    fn ratio(self) -> (u64, u64) {
        match self {
            TimestampUnit::Seconds => (1, 1),
            TimestampUnit::Milliseconds => (1, 1_000),
            TimestampUnit::Microseconds => (1, 1_000_000),
            TimestampUnit::Nanoseconds => (1, 1_000_000_000),
            TimestampUnit::SecondsPerUnit(s) => (s, 1),
            TimestampUnit::UnitsPerSecond(t) => (1, t),
        }
    }

    /// Checks a custom unit.
    ///
    /// # Errors
    /// [`Error::InvalidTimestampUnit`] for `SecondsPerUnit(0)` or
    /// `UnitsPerSecond(0)`.
    pub fn validate(self) -> Result<Self> {
        let (seconds, ticks) = self.ratio();
        if seconds == 0 || ticks == 0 {
            return Err(Error::InvalidTimestampUnit { unit: self });
        }
        Ok(self)
    }

    /// The length of one tick in seconds (`f64`; exact for the named units up
    /// to the rounding of 10⁻ᵏ).
    pub fn seconds_per_tick(self) -> f64 {
        let (seconds, ticks) = self.ratio();
        seconds as f64 / ticks as f64
    }

    /// The number of whole ticks in `duration` (rounded down), saturating at
    /// `u64::MAX`; exact integer arithmetic.
    ///
    /// # Errors
    /// [`Error::InvalidTimestampUnit`] for a zero custom unit.
    pub fn ticks_in(self, duration: Duration) -> Result<u64> {
        let (seconds, ticks) = self.validate()?.ratio();
        // ticks = nanos · ticks_per_second / (10⁹ · seconds_per_tick)
        let num = duration.as_nanos().checked_mul(u128::from(ticks));
        let den = 1_000_000_000u128 * u128::from(seconds);
        Ok(num
            .and_then(|n| n.checked_div(den))
            .map_or(u64::MAX, |q| u64::try_from(q).unwrap_or(u64::MAX)))
    }
}

impl fmt::Display for TimestampUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampUnit::Seconds => f.write_str("seconds"),
            TimestampUnit::Milliseconds => f.write_str("milliseconds"),
            TimestampUnit::Microseconds => f.write_str("microseconds"),
            TimestampUnit::Nanoseconds => f.write_str("nanoseconds"),
            TimestampUnit::SecondsPerUnit(s) => write!(f, "units of {s} s"),
            TimestampUnit::UnitsPerSecond(t) => write!(f, "units of 1/{t} s"),
        }
    }
}

/// `now − timestamp` in ticks, without overflow (`i128` holds any difference
/// of two `i64`).
pub(crate) fn age(timestamp: i64, now: i64) -> i128 {
    // cannot saturate: |now − timestamp| < 2^64
    i128::from(now).saturating_sub(i128::from(timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_exactly_and_saturate() {
        let d = Duration::from_secs(90 * 86_400);
        assert_eq!(TimestampUnit::Seconds.ticks_in(d), Ok(7_776_000));
        assert_eq!(TimestampUnit::Milliseconds.ticks_in(d), Ok(7_776_000_000));
        assert_eq!(
            TimestampUnit::Microseconds.ticks_in(d),
            Ok(7_776_000_000_000)
        );
        assert_eq!(
            TimestampUnit::Nanoseconds.ticks_in(d),
            Ok(7_776_000_000_000_000)
        );
        assert_eq!(TimestampUnit::SecondsPerUnit(86_400).ticks_in(d), Ok(90));
        assert_eq!(
            TimestampUnit::UnitsPerSecond(10).ticks_in(d),
            Ok(77_760_000)
        );
        // rounded down: 1.5 s is one tick of a second
        assert_eq!(
            TimestampUnit::Seconds.ticks_in(Duration::from_millis(1_500)),
            Ok(1)
        );
        assert_eq!(
            TimestampUnit::UnitsPerSecond(u64::MAX).ticks_in(Duration::MAX),
            Ok(u64::MAX)
        );
        assert_eq!(
            TimestampUnit::Nanoseconds.ticks_in(Duration::MAX),
            Ok(u64::MAX)
        );
        assert_eq!(TimestampUnit::SecondsPerUnit(60).seconds_per_tick(), 60.0);
        assert_eq!(TimestampUnit::default(), TimestampUnit::Seconds);
        assert_eq!(TimestampUnit::Milliseconds.to_string(), "milliseconds");
    }

    #[test]
    fn error_invalid_timestamp_unit() {
        for unit in [
            TimestampUnit::SecondsPerUnit(0),
            TimestampUnit::UnitsPerSecond(0),
        ] {
            assert_eq!(unit.validate(), Err(Error::InvalidTimestampUnit { unit }));
            assert_eq!(
                unit.ticks_in(Duration::from_secs(1)),
                Err(Error::InvalidTimestampUnit { unit })
            );
        }
    }

    #[test]
    fn ages_do_not_overflow() {
        assert_eq!(age(i64::MIN, i64::MAX), i128::from(u64::MAX));
        assert_eq!(age(5, 3), -2);
    }

    #[test]
    fn actions_from_pairs() {
        assert_eq!(Action::from((7u32, -3)), Action::new(7, -3));
    }
}
