//! Time-decayed importance of an interest.
//!
//! PinnerSage weighs a cluster `C` of a user's actions by
//!
//! ```text
//! importance(C) = Σ_{i ∈ C} exp(−λ·(T_now − T_i))
//! ```
//!
//! summed over every action (an item engaged with three times counts three
//! times), with the paper's λ = 0.01 per day: an action loses half its weight
//! in about 69 days. The rate carries its time unit ([`DecayRate`]), so the
//! same number means the same thing whatever unit it was given in.
//!
//! Timestamps are in the configuration's [`TimestampUnit`]; [`Decay`] is the
//! rate resolved to that unit (λ per tick) and is the one place a weight is
//! computed. Importances are computed and stored in `f64` whatever the
//! embedding element type, so that rolling a profile forward in time
//! ([`Decay::roll_forward`]) agrees with a recomputation to within a few
//! ulps.

use crate::error::{Error, Result};
use crate::history::{age, TimestampUnit};

/// Seconds in a day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// The unit a decay rate λ is expressed per (real time, whatever the unit of
/// the timestamps: that one is [`TimestampUnit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TimeUnit {
    /// One second.
    Second,
    /// 60 seconds.
    Minute,
    /// 3 600 seconds.
    Hour,
    /// 86 400 seconds.
    Day,
    /// 604 800 seconds.
    Week,
}

impl TimeUnit {
    /// The length of the unit in seconds.
    pub const fn seconds(self) -> i64 {
        match self {
            TimeUnit::Second => 1,
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3_600,
            TimeUnit::Day => SECONDS_PER_DAY,
            TimeUnit::Week => 7 * SECONDS_PER_DAY,
        }
    }
}

/// The decay rate λ of importance, with its time unit.
///
/// The default is the paper's: λ = 0.01 per day ([`DecayRate::PAPER`]).
/// λ = 0 disables decay (importance is then the number of actions).
///
/// ```
/// use pinnersage::{DecayRate, TimeUnit};
///
/// let rate = DecayRate::new(0.01, TimeUnit::Day)?;
/// assert_eq!(rate, DecayRate::PAPER);
/// assert_eq!(rate.per_second(), 0.01 / 86_400.0);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RawDecayRate", into = "RawDecayRate")
)]
pub struct DecayRate {
    lambda: f64,
    unit: TimeUnit,
}

/// The serialized form of a [`DecayRate`], validated on load.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawDecayRate {
    #[serde(with = "crate::profile::exact_float::scalar")]
    lambda: f64,
    unit: TimeUnit,
}

#[cfg(feature = "serde")]
impl TryFrom<RawDecayRate> for DecayRate {
    type Error = Error;
    fn try_from(raw: RawDecayRate) -> Result<Self> {
        DecayRate::new(raw.lambda, raw.unit)
    }
}

#[cfg(feature = "serde")]
impl From<DecayRate> for RawDecayRate {
    fn from(rate: DecayRate) -> Self {
        RawDecayRate {
            lambda: rate.lambda,
            unit: rate.unit,
        }
    }
}

impl Default for DecayRate {
    fn default() -> Self {
        DecayRate::PAPER
    }
}

impl DecayRate {
    /// The paper's rate: λ = 0.01 per day (Pal et al. 2020, §3.3).
    pub const PAPER: DecayRate = DecayRate {
        lambda: 0.01,
        unit: TimeUnit::Day,
    };

    /// No decay: every action weighs 1 whatever its age.
    pub const NONE: DecayRate = DecayRate {
        lambda: 0.0,
        unit: TimeUnit::Day,
    };

    /// λ per `unit`.
    ///
    /// # Errors
    /// [`Error::InvalidDecayRate`] if `lambda` is negative or not finite.
    pub fn new(lambda: f64, unit: TimeUnit) -> Result<Self> {
        if !lambda.is_finite() || lambda < 0.0 {
            return Err(Error::InvalidDecayRate { value: lambda });
        }
        Ok(DecayRate { lambda, unit })
    }

    /// λ per day (the paper's unit).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn per_day(lambda: f64) -> Result<Self> {
        Self::new(lambda, TimeUnit::Day)
    }

    /// λ as given.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The unit λ is expressed per.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// λ per second.
    pub fn per_second(&self) -> f64 {
        self.lambda / self.unit.seconds() as f64
    }
}

/// A decay rate resolved to the timestamp unit: λ per tick. **The one place
/// the crate computes a decay weight** (batch profiles, online updates and
/// [`importance`] all call it).
///
/// Built from a [`DecayRate`] and the [`TimestampUnit`] of the actions
/// ([`Decay::new`]), once, by
/// [`PinnerSageBuilder::build`](crate::PinnerSageBuilder::build)
/// ([`PinnerSage::time_decay`](crate::PinnerSage::time_decay)).
///
/// ```
/// use pinnersage::importance::Decay;
/// use pinnersage::{DecayRate, TimestampUnit};
///
/// let day_ms = 86_400_000;
/// let decay = Decay::new(DecayRate::PAPER, TimestampUnit::Milliseconds);
/// // an action 100 days old weighs exp(−1)
/// assert!((decay.weight_at(0, 100 * day_ms)? - (-1.0_f64).exp()).abs() < 1e-15);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    per_tick: f64,
}

impl Decay {
    /// `rate` for timestamps in `unit`: λ per tick = λ per second × seconds
    /// per tick. λ = 0 is 0 per tick whatever the unit (also for a zero
    /// custom unit, which [`TimestampUnit::validate`] refuses, whose tick
    /// length 0 or ∞ would otherwise turn 0·∞ into a NaN weight).
    pub fn new(rate: DecayRate, unit: TimestampUnit) -> Self {
        let per_second = rate.per_second();
        let per_tick = if per_second == 0.0 {
            0.0
        } else {
            per_second * unit.seconds_per_tick()
        };
        Decay { per_tick }
    }

    /// λ per timestamp tick.
    pub fn per_tick(&self) -> f64 {
        self.per_tick
    }

    /// The weight `exp(−λ·age)` of an action `age` ticks old: in `(0, 1]`
    /// (or 0 after underflow), never NaN.
    ///
    /// Ages are converted to `f64` exactly up to 2⁵³ ticks.
    pub fn weight(&self, age: u64) -> f64 {
        if age == 0 {
            // also for a per-tick rate that overflowed to ∞ (λ near f64::MAX
            // and long ticks), where ∞·0 would be NaN
            return 1.0;
        }
        (-self.per_tick * age as f64).exp()
    }

    /// The weight of an action at `timestamp` seen from `now`, the age
    /// computed without overflow.
    ///
    /// # Errors
    /// [`Error::ActionInFuture`] (index 0) if `timestamp > now`: its weight
    /// would exceed 1 and could overflow to ∞.
    pub fn weight_at(&self, timestamp: i64, now: i64) -> Result<f64> {
        match u64::try_from(age(timestamp, now)) {
            Ok(a) => Ok(self.weight(a)),
            Err(_) => Err(Error::ActionInFuture {
                index: 0,
                timestamp,
                now,
            }),
        }
    }

    /// An importance computed at `from`, as seen from `to`:
    /// `importance · exp(−λ·(to − from))`.
    ///
    /// Exponential decay is multiplicative, so this equals recomputing the sum
    /// at `to` up to rounding (a few ulps): this is how an
    /// [online update](crate::UserProfile::update) moves a stored profile in
    /// time without its history.
    ///
    /// # Errors
    /// [`Error::InvalidImportance`] (index 0) if `importance` is negative,
    /// NaN or infinite (the result would be too); [`Error::NowBeforeProfile`]
    /// if `to < from`. The result is finite and `≤ importance`.
    pub fn roll_forward(&self, importance: f64, from: i64, to: i64) -> Result<f64> {
        if !importance.is_finite() || importance < 0.0 {
            return Err(Error::InvalidImportance {
                index: 0,
                value: importance,
            });
        }
        match u64::try_from(age(from, to)) {
            Ok(a) => Ok(importance * self.weight(a)),
            Err(_) => Err(Error::NowBeforeProfile {
                now: to,
                as_of: from,
            }),
        }
    }
}

impl From<DecayRate> for Decay {
    /// `rate` for timestamps in seconds ([`TimestampUnit::Seconds`]).
    fn from(rate: DecayRate) -> Self {
        Decay::new(rate, TimestampUnit::Seconds)
    }
}

/// `Σ_i exp(−λ·(now − T_i))` over `timestamps`, summed in iteration order.
///
/// The importance of a cluster whose actions happened at `timestamps`
/// (Pal et al. 2020, §3.3). A profile sums the same weights
/// ([`Decay::weight_at`]) per item and per cluster in a canonical order.
///
/// # Errors
/// [`Error::ActionInFuture`] naming the first timestamp later than `now`
/// (its position in `timestamps`): its weight would exceed 1.
///
/// # Complexity
/// O(n) time, O(1) space.
///
/// # Example
/// ```
/// use pinnersage::importance::importance;
/// use pinnersage::DecayRate;
///
/// let day = 86_400;
/// let now = 100 * day;
/// let i = importance([now, now - 50 * day], now, DecayRate::PAPER.into())?;
/// assert!((i - (1.0 + (-0.5_f64).exp())).abs() < 1e-15);
/// # Ok::<(), pinnersage::Error>(())
/// ```
pub fn importance(
    timestamps: impl IntoIterator<Item = i64>,
    now: i64,
    decay: Decay,
) -> Result<f64> {
    let mut sum = 0.0;
    for (index, t) in timestamps.into_iter().enumerate() {
        sum += decay.weight_at(t, now).map_err(|_| Error::ActionInFuture {
            index,
            timestamp: t,
            now,
        })?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_agree() {
        let day = DecayRate::new(0.01, TimeUnit::Day).unwrap();
        let hour = DecayRate::new(0.01 / 24.0, TimeUnit::Hour).unwrap();
        let (day, hour) = (Decay::from(day), Decay::from(hour));
        for age in [
            0,
            1,
            3_600,
            SECONDS_PER_DAY as u64,
            90 * SECONDS_PER_DAY as u64,
        ] {
            let (a, b) = (day.weight(age), hour.weight(age));
            assert!((a - b).abs() <= 4.0 * f64::EPSILON * a, "{age}: {a} vs {b}");
        }
        assert_eq!(TimeUnit::Week.seconds(), 604_800);
        assert_eq!(TimeUnit::Minute.seconds(), 60);
        assert_eq!(TimeUnit::Second.seconds(), 1);
        assert_eq!(DecayRate::default(), DecayRate::PAPER);
        assert_eq!(DecayRate::PAPER.unit(), TimeUnit::Day);
        assert_eq!(DecayRate::PAPER.lambda(), 0.01);
    }

    #[test]
    fn no_decay_counts_actions() {
        assert_eq!(
            importance([0, 5, -1_000_000, 7], 10, DecayRate::NONE.into()),
            Ok(4.0)
        );
    }

    #[test]
    fn half_life_of_the_paper_rate() {
        let half_life = (2.0_f64.ln() / 0.01 * SECONDS_PER_DAY as f64).round() as u64;
        assert!((Decay::from(DecayRate::PAPER).weight(half_life) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let paper = Decay::from(DecayRate::PAPER);
        assert_eq!(paper.weight_at(i64::MIN, i64::MAX), Ok(0.0));
        assert_eq!(
            Decay::from(DecayRate::NONE).weight_at(i64::MIN, i64::MAX),
            Ok(1.0)
        );
        assert_eq!(paper.roll_forward(3.0, i64::MIN, i64::MAX), Ok(0.0));
        let ms = Decay::new(DecayRate::PAPER, TimestampUnit::Milliseconds);
        assert_eq!(ms.weight(u64::MAX), 0.0);
    }

    #[test]
    fn an_overflowing_rate_gives_no_nan() {
        let rate = DecayRate::new(f64::MAX, TimeUnit::Second).unwrap();
        let decay = Decay::new(rate, TimestampUnit::SecondsPerUnit(u64::MAX));
        assert_eq!(decay.per_tick(), f64::INFINITY);
        assert_eq!(decay.weight(0), 1.0);
        assert_eq!(decay.weight(1), 0.0);
        assert_eq!(importance([5, 5, 4], 5, decay), Ok(2.0));
    }

    #[test]
    fn units_of_timestamps_agree() {
        let s = Decay::new(DecayRate::PAPER, TimestampUnit::Seconds);
        let ms = Decay::new(DecayRate::PAPER, TimestampUnit::Milliseconds);
        let days = Decay::new(DecayRate::PAPER, TimestampUnit::SecondsPerUnit(86_400));
        let a = s.weight(50 * 86_400);
        assert!((ms.weight(50 * 86_400_000) - a).abs() <= 4.0 * f64::EPSILON * a);
        assert!((days.weight(50) - a).abs() <= 4.0 * f64::EPSILON * a);
    }

    #[test]
    fn future_timestamps_are_errors() {
        let decay = Decay::from(DecayRate::PAPER);
        assert_eq!(
            importance([1, 2, 12, 13], 10, decay),
            Err(Error::ActionInFuture {
                index: 2,
                timestamp: 12,
                now: 10
            })
        );
        assert_eq!(
            decay.weight_at(i64::MAX, i64::MIN),
            Err(Error::ActionInFuture {
                index: 0,
                timestamp: i64::MAX,
                now: i64::MIN
            })
        );
    }

    #[test]
    fn error_roll_backward() {
        assert_eq!(
            Decay::from(DecayRate::PAPER).roll_forward(1.0, 10, 9),
            Err(Error::NowBeforeProfile { now: 9, as_of: 10 })
        );
    }

    #[test]
    fn error_invalid_decay_rate() {
        for bad in [-0.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            match DecayRate::new(bad, TimeUnit::Day) {
                Err(Error::InvalidDecayRate { value }) => {
                    assert!(value.is_nan() || value == bad)
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            DecayRate::per_day(-1.0),
            Err(Error::InvalidDecayRate { .. })
        ));
    }

    proptest! {
        /// importance is the direct sum of the weights, and rolling it forward
        /// agrees with recomputing it to within `(n + 4)·(1 + x)` ulps relative,
        /// `x = max λ·age`: the forward error bound of summing n positive terms,
        /// each an `exp` whose argument was rounded once (absolute error `x·ε`).
        #[test]
        fn roll_forward_matches_recompute(
            ts in proptest::collection::vec(0i64..100 * SECONDS_PER_DAY, 1..60),
            extra in 0i64..30 * SECONDS_PER_DAY,
            lambda in 0.0f64..0.2,
        ) {
            let rate = DecayRate::per_day(lambda).unwrap();
            let now = 100 * SECONDS_PER_DAY;
            let direct: f64 = ts.iter().map(|&t| (-(lambda / 86_400.0) * (now - t) as f64).exp()).sum();
            let decay = Decay::from(rate);
            let i = importance(ts.iter().copied(), now, decay).unwrap();
            prop_assert!((i - direct).abs() <= (ts.len() as f64 + 2.0) * f64::EPSILON * direct);
            let later = now + extra;
            let rolled = decay.roll_forward(i, now, later).unwrap();
            let recomputed = importance(ts.iter().copied(), later, decay).unwrap();
            let x = rate.per_second() * (later - ts.iter().copied().min().unwrap()) as f64;
            let tol = (ts.len() as f64 + 4.0) * (1.0 + x) * f64::EPSILON * recomputed;
            prop_assert!((rolled - recomputed).abs() <= tol, "{rolled} vs {recomputed}");
        }
    }
}
