//! The validated configuration of a profile: [`PinnerSage`] and its builder.

use core::time::Duration;

use crate::error::{Error, Result};
use crate::history::TimestampUnit;
use crate::importance::{Decay, DecayRate, TimeUnit};

/// The default merge threshold α for L2-normalised embeddings, in the paper's
/// distance convention (`scipy_height²`, see the [crate docs](crate#distances)).
///
/// The paper does not publish its α. This value was chosen with
/// `cargo run --release --example alpha_sweep [users] [spread] [actions] [interests]`,
/// which profiles seeded synthetic users ([`synthetic`](crate::synthetic): 64-d
/// unit vectors, 50 topics) for α from 0.25 to 32 and scores each cut against
/// the users' true interests with the adjusted Rand index (ARI, 1 = exact):
///
/// | users × actions, interests | spread | α = 2 | 4 | 6 | **8** | 12 | 16 | 32 |
/// |---|---|---|---|---|---|---|---|---|
/// | 200 × 200, 4 (the default user) | 0.5 | 0.994 | 1.000 | 1.000 | **1.000** | 1.000 | 1.000 | 0.996 |
/// | 200 × 200, 4 | 1.0 | 0.363 | 0.951 | 0.999 | **1.000** | 1.000 | 1.000 | 0.892 |
/// | 200 × 200, 4 | 1.5 | 0.144 | 0.677 | 0.958 | **0.975** | 0.976 | 0.946 | 0.602 |
/// | 100 × 50, 4 | 1.0 | 0.833 | 0.993 | 0.980 | **0.926** | 0.749 | 0.568 | 0.000 |
/// | 100 × 400, 8 | 1.0 | 0.336 | 0.860 | 0.996 | **1.000** | 1.000 | 0.995 | 0.848 |
/// | 100 × 1000, 4 | 1.0 | 0.078 | 0.383 | 0.653 | **0.784** | 0.987 | 1.000 | 1.000 |
///
/// Below the plateau interests split, above it they merge. 8 is at or near
/// the best ARI for the default user at every noise level and for 8 interests.
/// Ward merge distances grow with cluster sizes, so heavy histories (1 000
/// actions) prefer a larger α (they are split into about 9 clusters at α = 8)
/// and very short ones a smaller α; cap the history
/// ([`PinnerSageBuilder::max_history`]), tune α on your own data, or fix the
/// number of clusters with [`CutRule::Clusters`]. For embeddings of norm `r`
/// instead of 1, scale α by `r²`.
///
/// **At this α a new interest needs at least 2 actions.** The Ward distance
/// between one action's item `x` (weight 1) and any cluster of `n` actions
/// with centroid `μ` is `2·1·n/(1+n)·‖x − μ‖²`. For unit vectors `‖μ‖ ≤ 1`
/// (a mean of unit vectors), so `‖x − μ‖ ≤ 2` and
///
/// ```text
/// d({x}, C) = 2·n/(n+1)·‖x − μ‖² ≤ 2·n/(n+1)·4 < 8 = α.
/// ```
///
/// Merge distances are monotone, so after every merge `≤ α` no two clusters
/// are within α; a lone action always is, so it never stays alone. For users
/// this means: in a profile with two or more clusters every cluster holds at
/// least 2 actions (the same item twice, or two items close to each other);
/// a single click on something new is absorbed into the nearest interest,
/// in a batch profile and in an [online update](crate::UserProfile::update)
/// alike, and becomes its own interest only once a second action
/// joins it. A pair can stand alone only if far enough from every other
/// cluster: two antipodal actions against `n` others need
/// `2·2n/(2+n)·4 > 8`, that is `n ≥ 3`. To let single actions form
/// interests, lower α (below `2·n/(n+1)·‖x − μ‖²` for the separation you
/// want) or fix the number of clusters ([`CutRule::Clusters`]).
pub const DEFAULT_ALPHA: f64 = 8.0;

/// Seconds in the default window.
const DEFAULT_WINDOW_SECONDS: u64 = 90 * 86_400;

/// The default history window: 90 days, the paper's.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(DEFAULT_WINDOW_SECONDS);

/// Where the Ward dendrogram of a user's actions is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CutRule {
    /// Apply every merge whose distance is `<= α` (the paper's rule; paper
    /// distance convention). The number of interests adapts to the user.
    Threshold(#[cfg_attr(feature = "serde", serde(with = "super::exact_float::scalar"))] f64),
    /// At most this many clusters: `min(k, distinct items)`.
    Clusters(usize),
}

/// What a profile does with an action whose item the
/// [`EmbeddingSource`](crate::EmbeddingSource) does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum UnknownItems {
    /// Leave the action out and count it in
    /// [`HistorySummary`](crate::HistorySummary)
    /// (the default: catalogues churn, a deleted item should not fail a user).
    #[default]
    Skip,
    /// Fail with [`Error::UnknownItem`] naming the item and the first action
    /// on it.
    Error,
}

/// Unchecked parameters of [`PinnerSage`]; [`build`](Self::build) validates
/// them and converts every duration to timestamp ticks once.
///
/// ```
/// use pinnersage::{PinnerSage, TimestampUnit, UnknownItems};
///
/// let config = PinnerSage::builder()
///     .alpha(2.5)
///     .lambda(0.02, pinnersage::TimeUnit::Day)
///     .timestamps(TimestampUnit::Milliseconds) // the event log's unit
///     .window_days(30)
///     .max_history(Some(1_000))
///     .max_clusters(Some(10))
///     .unknown_items(UnknownItems::Error)
///     .build()?;
/// assert_eq!(config.max_clusters(), Some(10));
/// assert_eq!(config.window_ticks(), Some(30 * 86_400_000));
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PinnerSageBuilder {
    cut: CutRule,
    #[cfg_attr(feature = "serde", serde(with = "super::exact_float::scalar"))]
    lambda: f64,
    unit: TimeUnit,
    #[cfg_attr(feature = "serde", serde(default))]
    timestamps: TimestampUnit,
    window: Option<Duration>,
    max_history: Option<usize>,
    unknown_items: UnknownItems,
    max_clusters: Option<usize>,
}

impl Default for PinnerSageBuilder {
    fn default() -> Self {
        PinnerSageBuilder {
            cut: CutRule::Threshold(DEFAULT_ALPHA),
            lambda: DecayRate::PAPER.lambda(),
            unit: DecayRate::PAPER.unit(),
            timestamps: TimestampUnit::Seconds,
            window: Some(DEFAULT_WINDOW),
            max_history: None,
            unknown_items: UnknownItems::Skip,
            max_clusters: None,
        }
    }
}

impl PinnerSageBuilder {
    /// The unit of action timestamps and of `now`. Default
    /// [`TimestampUnit::Seconds`] (Unix seconds). The window and λ are real
    /// durations and are converted to this unit by [`build`](Self::build).
    pub fn timestamps(mut self, unit: TimestampUnit) -> Self {
        self.timestamps = unit;
        self
    }

    /// Cut at merge threshold `alpha` (paper convention). Replaces any
    /// [`target_clusters`](Self::target_clusters) setting. Default [`DEFAULT_ALPHA`].
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.cut = CutRule::Threshold(alpha);
        self
    }

    /// Cut into at most `k` clusters (`min(k, distinct items)`) instead of at
    /// a threshold: [`CutRule::Clusters`]. Replaces any
    /// [`alpha`](Self::alpha) setting. Not to be confused with
    /// [`max_clusters`](Self::max_clusters), which keeps the most important
    /// clusters after the cut.
    pub fn target_clusters(mut self, k: usize) -> Self {
        self.cut = CutRule::Clusters(k);
        self
    }

    /// Set the cut rule directly.
    pub fn cut(mut self, cut: CutRule) -> Self {
        self.cut = cut;
        self
    }

    /// Importance decay rate λ per `unit`. Default 0.01 per day (the paper's).
    pub fn lambda(mut self, lambda: f64, unit: TimeUnit) -> Self {
        self.lambda = lambda;
        self.unit = unit;
        self
    }

    /// Importance decay rate, already validated.
    pub fn decay(mut self, rate: DecayRate) -> Self {
        self.lambda = rate.lambda();
        self.unit = rate.unit();
        self
    }

    /// Keep only actions at most `window` older than `now` (inclusive;
    /// converted to whole timestamp ticks, rounded down); `None` keeps all.
    /// Default 90 days ([`DEFAULT_WINDOW`], the paper's).
    pub fn window(mut self, window: Option<Duration>) -> Self {
        self.window = window;
        self
    }

    /// [`window`](Self::window) of `days` days of 86 400 s.
    pub fn window_days(self, days: u32) -> Self {
        self.window(Some(Duration::from_secs(u64::from(days) * 86_400)))
    }

    /// Keep only the `n` most recent known actions (after the window, and
    /// after actions on unknown items are dropped, so these never use up the
    /// cap); `None` keeps all (the default). Ward costs O(m²) memory in the
    /// number of distinct items, so a cap bounds the cost of heavy users.
    pub fn max_history(mut self, n: Option<usize>) -> Self {
        self.max_history = n;
        self
    }

    /// What to do with actions on unknown items. Default
    /// [`UnknownItems::Skip`].
    pub fn unknown_items(mut self, policy: UnknownItems) -> Self {
        self.unknown_items = policy;
        self
    }

    /// Keep only the `n` most important clusters; `None` keeps all (the
    /// default). What is dropped is counted in
    /// [`HistorySummary::dropped_clusters`](crate::HistorySummary::dropped_clusters). Not a
    /// cut rule: see [`target_clusters`](Self::target_clusters).
    pub fn max_clusters(mut self, n: Option<usize>) -> Self {
        self.max_clusters = n;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// One variant per rule:
    /// * [`Error::InvalidThreshold`] — α negative or not finite;
    /// * [`Error::ZeroClusterTarget`] — a cluster target of 0;
    /// * [`Error::InvalidDecayRate`] — λ negative or not finite;
    /// * [`Error::InvalidTimestampUnit`] — a custom timestamp unit of 0;
    /// * [`Error::InvalidWindow`] — a window shorter than one timestamp tick
    ///   (0 included);
    /// * [`Error::ZeroHistoryCap`] — a history cap of 0;
    /// * [`Error::ZeroMaxClusters`] — a maximum of 0 clusters.
    pub fn build(self) -> Result<PinnerSage> {
        match self.cut {
            CutRule::Threshold(alpha) if !alpha.is_finite() || alpha < 0.0 => {
                return Err(Error::InvalidThreshold { value: alpha });
            }
            CutRule::Clusters(0) => return Err(Error::ZeroClusterTarget),
            _ => {}
        }
        let decay = DecayRate::new(self.lambda, self.unit)?;
        let timestamps = self.timestamps.validate()?;
        let window_ticks = match self.window {
            None => None,
            Some(window) => match timestamps.ticks_in(window)? {
                0 => {
                    return Err(Error::InvalidWindow {
                        window,
                        unit: timestamps,
                    })
                }
                ticks => Some(ticks),
            },
        };
        if self.max_history == Some(0) {
            return Err(Error::ZeroHistoryCap);
        }
        if self.max_clusters == Some(0) {
            return Err(Error::ZeroMaxClusters);
        }
        Ok(PinnerSage {
            cut: self.cut,
            decay,
            timestamps,
            time_decay: Decay::new(decay, timestamps),
            window: self.window,
            window_ticks,
            max_history: self.max_history,
            unknown_items: self.unknown_items,
            max_clusters: self.max_clusters,
        })
    }
}

/// The PinnerSage method, configured: a validated configuration whose
/// [`profile`](PinnerSage::profile) turns a user's actions into a
/// [`UserProfile`](crate::UserProfile).
///
/// Built by [`PinnerSage::builder`] (or [`Default`]: α = [`DEFAULT_ALPHA`],
/// λ = 0.01 per day, timestamps in seconds, a 90-day window, no history cap,
/// unknown items skipped, no cluster cap). The value is small, `Copy`,
/// immutable and `Send + Sync`: share one across threads to profile millions
/// of users.
///
/// With the `serde` feature it serializes as its builder and is validated
/// again when deserialized.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "PinnerSageBuilder", into = "PinnerSageBuilder")
)]
pub struct PinnerSage {
    cut: CutRule,
    decay: DecayRate,
    timestamps: TimestampUnit,
    /// `decay` per timestamp tick (derived in `build`).
    time_decay: Decay,
    window: Option<Duration>,
    /// `window` in timestamp ticks (derived in `build`).
    window_ticks: Option<u64>,
    max_history: Option<usize>,
    unknown_items: UnknownItems,
    max_clusters: Option<usize>,
}

impl Default for PinnerSage {
    fn default() -> Self {
        PinnerSage {
            cut: CutRule::Threshold(DEFAULT_ALPHA),
            decay: DecayRate::PAPER,
            timestamps: TimestampUnit::Seconds,
            time_decay: Decay::new(DecayRate::PAPER, TimestampUnit::Seconds),
            window: Some(DEFAULT_WINDOW),
            window_ticks: Some(DEFAULT_WINDOW_SECONDS),
            max_history: None,
            unknown_items: UnknownItems::Skip,
            max_clusters: None,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<PinnerSageBuilder> for PinnerSage {
    type Error = Error;
    fn try_from(builder: PinnerSageBuilder) -> Result<Self> {
        builder.build()
    }
}

impl From<PinnerSage> for PinnerSageBuilder {
    fn from(config: PinnerSage) -> Self {
        config.to_builder()
    }
}

impl PinnerSage {
    /// A builder holding the defaults.
    pub fn builder() -> PinnerSageBuilder {
        PinnerSageBuilder::default()
    }

    /// A builder holding this configuration, to change some parameters.
    pub fn to_builder(&self) -> PinnerSageBuilder {
        PinnerSageBuilder {
            cut: self.cut,
            lambda: self.decay.lambda(),
            unit: self.decay.unit(),
            timestamps: self.timestamps,
            window: self.window,
            max_history: self.max_history,
            unknown_items: self.unknown_items,
            max_clusters: self.max_clusters,
        }
    }

    /// The cut rule.
    pub fn cut(&self) -> CutRule {
        self.cut
    }

    /// The importance decay rate, as configured (per real time unit).
    pub fn decay(&self) -> DecayRate {
        self.decay
    }

    /// The decay rate per timestamp tick: what profiles compute weights with.
    pub fn time_decay(&self) -> Decay {
        self.time_decay
    }

    /// The unit of action timestamps.
    pub fn timestamps(&self) -> TimestampUnit {
        self.timestamps
    }

    /// The history window, if any.
    pub fn window(&self) -> Option<Duration> {
        self.window
    }

    /// The history window in timestamp ticks (rounded down), if any: an
    /// action is kept when `now − timestamp <= window_ticks`.
    pub fn window_ticks(&self) -> Option<u64> {
        self.window_ticks
    }

    /// The cap on the number of known actions kept, if any.
    pub fn max_history(&self) -> Option<usize> {
        self.max_history
    }

    /// The policy for unknown items.
    pub fn unknown_items(&self) -> UnknownItems {
        self.unknown_items
    }

    /// The cap on the number of clusters kept, if any.
    pub fn max_clusters(&self) -> Option<usize> {
        self.max_clusters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let c = PinnerSage::default();
        assert_eq!(PinnerSage::builder().build().unwrap(), c);
        assert_eq!(c.cut(), CutRule::Threshold(DEFAULT_ALPHA));
        assert_eq!(c.decay(), DecayRate::PAPER);
        assert_eq!(c.window(), Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(c.window_ticks(), Some(90 * 86_400));
        assert_eq!(c.timestamps(), TimestampUnit::Seconds);
        assert_eq!(c.time_decay(), Decay::from(DecayRate::PAPER));
        assert_eq!(c.max_history(), None);
        assert_eq!(c.unknown_items(), UnknownItems::Skip);
        assert_eq!(c.max_clusters(), None);
        assert_eq!(PinnerSageBuilder::from(c), PinnerSage::builder());
    }

    #[test]
    fn setters_and_round_trip_through_builder() {
        let c = PinnerSage::builder()
            .target_clusters(5)
            .decay(DecayRate::NONE)
            .window(None)
            .max_history(Some(10))
            .unknown_items(UnknownItems::Error)
            .max_clusters(Some(3))
            .build()
            .unwrap();
        assert_eq!(c.cut(), CutRule::Clusters(5));
        assert_eq!(c.decay(), DecayRate::NONE);
        assert_eq!(c.to_builder().build().unwrap(), c);
        let c2 = c.to_builder().cut(CutRule::Threshold(1.5)).build().unwrap();
        assert_eq!(c2.cut(), CutRule::Threshold(1.5));
        // the last of alpha / target_clusters wins
        let c3 = PinnerSage::builder()
            .target_clusters(2)
            .alpha(0.0)
            .build()
            .unwrap();
        assert_eq!(c3.cut(), CutRule::Threshold(0.0));
    }

    #[test]
    fn error_invalid_threshold() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            match PinnerSage::builder().alpha(bad).build() {
                Err(Error::InvalidThreshold { .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn error_zero_cluster_target() {
        assert_eq!(
            PinnerSage::builder().target_clusters(0).build(),
            Err(Error::ZeroClusterTarget)
        );
    }

    #[test]
    fn error_invalid_decay_rate() {
        assert_eq!(
            PinnerSage::builder().lambda(-0.5, TimeUnit::Hour).build(),
            Err(Error::InvalidDecayRate { value: -0.5 })
        );
    }

    #[test]
    fn error_invalid_window() {
        let cases = [
            (Duration::ZERO, TimestampUnit::Seconds),
            (Duration::from_millis(999), TimestampUnit::Seconds),
            (Duration::from_secs(59), TimestampUnit::SecondsPerUnit(60)),
            (Duration::from_nanos(999), TimestampUnit::Microseconds),
        ];
        for (window, unit) in cases {
            assert_eq!(
                PinnerSage::builder()
                    .timestamps(unit)
                    .window(Some(window))
                    .build(),
                Err(Error::InvalidWindow { window, unit })
            );
        }
        // one tick is enough
        let c = PinnerSage::builder()
            .timestamps(TimestampUnit::Milliseconds)
            .window(Some(Duration::from_millis(1)))
            .build()
            .unwrap();
        assert_eq!(c.window_ticks(), Some(1));
    }

    #[test]
    fn error_invalid_timestamp_unit() {
        let unit = TimestampUnit::UnitsPerSecond(0);
        assert_eq!(
            PinnerSage::builder().timestamps(unit).build(),
            Err(Error::InvalidTimestampUnit { unit })
        );
        // also without a window
        let unit = TimestampUnit::SecondsPerUnit(0);
        assert_eq!(
            PinnerSage::builder().timestamps(unit).window(None).build(),
            Err(Error::InvalidTimestampUnit { unit })
        );
    }

    #[test]
    fn window_and_lambda_follow_the_timestamp_unit() {
        let ms = PinnerSage::builder()
            .timestamps(TimestampUnit::Milliseconds)
            .window_days(90)
            .build()
            .unwrap();
        assert_eq!(ms.window_ticks(), Some(90 * 86_400 * 1_000));
        assert_eq!(ms.decay(), DecayRate::PAPER);
        let per_ms = ms.time_decay().per_tick();
        let per_s = PinnerSage::default().time_decay().per_tick();
        assert!((per_ms * 1_000.0 - per_s).abs() <= 4.0 * f64::EPSILON * per_s);
        assert_eq!(ms.to_builder().build(), Ok(ms));
        let huge = PinnerSage::builder()
            .timestamps(TimestampUnit::Nanoseconds)
            .window(Some(Duration::MAX))
            .build()
            .unwrap();
        assert_eq!(huge.window_ticks(), Some(u64::MAX));
    }

    #[test]
    fn error_zero_history_cap() {
        assert_eq!(
            PinnerSage::builder().max_history(Some(0)).build(),
            Err(Error::ZeroHistoryCap)
        );
    }

    #[test]
    fn error_zero_max_clusters() {
        assert_eq!(
            PinnerSage::builder().max_clusters(Some(0)).build(),
            Err(Error::ZeroMaxClusters)
        );
    }
}
