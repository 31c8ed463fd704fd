//! Seeded synthetic data: a catalogue of items grouped in topics and users with a
//! few interests among them.
//!
//! Tests, benchmarks and examples share this module, and later evaluation work
//! builds on it; everything is a pure function of its configuration and the
//! caller's random number generator, so a fixed seed gives the same data on every
//! machine when the generator is value-stable (for instance
//! `rand::rngs::Xoshiro256PlusPlus`).
//!
//! Item embeddings are L2-normalised, like the PinSage embeddings of the paper:
//! each topic has a random unit centre and its items are `centre + noise`,
//! normalised, where the noise is Gaussian with norm about `spread`.
//!
//! ```
//! use pinnersage::rand::SeedableRng;
//! use pinnersage::rand::rngs::Xoshiro256PlusPlus;
//! use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
//! let user = catalog.user(&UserConfig::default(), 90 * 86_400, &mut rng)?;
//! assert_eq!(user.actions.len(), UserConfig::default().actions());
//! # Ok::<(), pinnersage::Error>(())
//! ```

use ndarray::{Array2, ArrayView2};
use rand::{Rng, RngExt};

pub use crate::error::SyntheticFault;
use crate::error::{Error, Result};
use crate::history::Action;
use crate::scalar::Scalar;

/// The validated shape of a synthetic catalogue: built by
/// [`CatalogConfig::builder`] → [`CatalogConfigBuilder::build`], or
/// [`CatalogConfig::default`].
///
/// # Example
/// ```
/// use pinnersage::synthetic::CatalogConfig;
///
/// let config = CatalogConfig::builder().items(500).dim(8).topics(10).build()?;
/// assert_eq!((config.items(), config.dim(), config.topics()), (500, 8, 10));
/// assert_eq!(config.spread(), 0.5); // the default
/// assert!(CatalogConfig::builder().topics(0).build().is_err());
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogConfig {
    items: usize,
    dim: usize,
    topics: usize,
    spread: f64,
}

/// The unchecked parameters of a [`CatalogConfig`]; [`build`](Self::build)
/// validates them. Starts from the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogConfigBuilder {
    config: CatalogConfig,
}

impl Default for CatalogConfig {
    /// 10 000 items of dimension 64 in 50 topics, spread 0.5.
    fn default() -> Self {
        CatalogConfig {
            items: 10_000,
            dim: 64,
            topics: 50,
            spread: 0.5,
        }
    }
}

impl CatalogConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> CatalogConfigBuilder {
        CatalogConfigBuilder::default()
    }

    /// Number of items (rows of the embedding matrix).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of topics; items are assigned to topics round-robin.
    pub fn topics(&self) -> usize {
        self.topics
    }

    /// Norm of the within-topic noise relative to the unit topic centre.
    pub fn spread(&self) -> f64 {
        self.spread
    }
}

impl CatalogConfigBuilder {
    /// Number of items (rows of the embedding matrix), at least 1. Default
    /// 10 000.
    pub fn items(mut self, items: usize) -> Self {
        self.config.items = items;
        self
    }

    /// Embedding dimension, at least 1. Default 64.
    pub fn dim(mut self, dim: usize) -> Self {
        self.config.dim = dim;
        self
    }

    /// Number of topics, in `1..=items`; items are assigned to topics
    /// round-robin. Default 50.
    pub fn topics(mut self, topics: usize) -> Self {
        self.config.topics = topics;
        self
    }

    /// Norm of the within-topic noise relative to the unit topic centre,
    /// finite and `>= 0`. Default 0.5 (topics are well separated but not
    /// points).
    pub fn spread(mut self, spread: f64) -> Self {
        self.config.spread = spread;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidSyntheticConfig`] with the rule broken:
    /// [`SyntheticFault::ZeroItems`], [`SyntheticFault::ZeroDimension`],
    /// [`SyntheticFault::ZeroTopics`], [`SyntheticFault::TopicsExceedItems`],
    /// [`SyntheticFault::InvalidSpread`], [`SyntheticFault::CatalogTooLarge`]
    /// (the `items × dim` matrix of `f64` would exceed `isize::MAX` bytes).
    pub fn build(self) -> Result<CatalogConfig> {
        let c = self.config;
        let fault = if c.items == 0 {
            Some(SyntheticFault::ZeroItems)
        } else if c.dim == 0 {
            Some(SyntheticFault::ZeroDimension)
        } else if c.topics == 0 {
            Some(SyntheticFault::ZeroTopics)
        } else if c.topics > c.items {
            Some(SyntheticFault::TopicsExceedItems {
                topics: c.topics,
                items: c.items,
            })
        } else if !c.spread.is_finite() || c.spread < 0.0 {
            Some(SyntheticFault::InvalidSpread { value: c.spread })
        } else if c
            .items
            .checked_mul(c.dim)
            .and_then(|n| n.checked_mul(core::mem::size_of::<f64>()))
            .is_none_or(|bytes| bytes > isize::MAX as usize)
        {
            Some(SyntheticFault::CatalogTooLarge {
                items: c.items,
                dim: c.dim,
            })
        } else {
            None
        };
        match fault {
            Some(fault) => Err(Error::InvalidSyntheticConfig(fault)),
            None => Ok(c),
        }
    }
}

/// A synthetic catalogue: item `i` is row `i` of the embedding matrix and
/// belongs to topic `i % topics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog<F> {
    embeddings: Array2<F>,
    topics: usize,
}

/// The validated behaviour of a synthetic user: built by
/// [`UserConfig::builder`] → [`UserConfigBuilder::build`], or
/// [`UserConfig::default`].
///
/// # Example
/// ```
/// use pinnersage::synthetic::UserConfig;
///
/// let config = UserConfig::builder().interests(2).actions(50).build()?;
/// assert_eq!((config.interests(), config.actions()), (2, 50));
/// assert!(UserConfig::builder().repeat_probability(1.5).build().is_err());
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    interests: usize,
    actions: usize,
    window: i64,
    repeat_probability: f64,
}

/// The unchecked parameters of a [`UserConfig`]; [`build`](Self::build)
/// validates them. Starts from the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserConfigBuilder {
    config: UserConfig,
}

impl Default for UserConfig {
    /// 4 interests, 200 actions over 90 days (in seconds), repeat probability
    /// 0.1.
    fn default() -> Self {
        UserConfig {
            interests: 4,
            actions: 200,
            window: 90 * 86_400,
            repeat_probability: 0.1,
        }
    }
}

impl UserConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> UserConfigBuilder {
        UserConfigBuilder::default()
    }

    /// Number of distinct topics the user engages with.
    pub fn interests(&self) -> usize {
        self.interests
    }

    /// Number of actions.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// Actions are spread over `[now − window, now]` (timestamp units).
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Probability that an action repeats an item the user already engaged
    /// with.
    pub fn repeat_probability(&self) -> f64 {
        self.repeat_probability
    }
}

impl UserConfigBuilder {
    /// Number of distinct topics the user engages with, at least 1 (and at
    /// most the catalogue's topics, checked by [`Catalog::user`]). Default 4.
    pub fn interests(mut self, interests: usize) -> Self {
        self.config.interests = interests;
        self
    }

    /// Number of actions (0 gives an empty history). Default 200.
    pub fn actions(mut self, actions: usize) -> Self {
        self.config.actions = actions;
        self
    }

    /// Actions are spread over `[now − window, now]`; `>= 0`. Default 90
    /// days in seconds.
    pub fn window(mut self, window: i64) -> Self {
        self.config.window = window;
        self
    }

    /// Probability that an action repeats an item the user already engaged
    /// with, in `[0, 1]`. Default 0.1.
    pub fn repeat_probability(mut self, p: f64) -> Self {
        self.config.repeat_probability = p;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidSyntheticConfig`] with the rule broken:
    /// [`SyntheticFault::ZeroInterests`], [`SyntheticFault::NegativeWindow`],
    /// [`SyntheticFault::InvalidRepeatProbability`],
    /// [`SyntheticFault::TooManyActions`] (the actions, and the item each
    /// interest remembers for repeats, would exceed `isize::MAX` bytes).
    pub fn build(self) -> Result<UserConfig> {
        let c = self.config;
        let bytes_per_action =
            core::mem::size_of::<Action<usize>>() + core::mem::size_of::<usize>();
        let fault = if c.interests == 0 {
            Some(SyntheticFault::ZeroInterests)
        } else if c
            .actions
            .checked_mul(bytes_per_action)
            .is_none_or(|bytes| bytes > isize::MAX as usize)
        {
            Some(SyntheticFault::TooManyActions { actions: c.actions })
        } else if c.window < 0 {
            Some(SyntheticFault::NegativeWindow { value: c.window })
        } else if !(0.0..=1.0).contains(&c.repeat_probability) {
            Some(SyntheticFault::InvalidRepeatProbability {
                value: c.repeat_probability,
            })
        } else {
            None
        };
        match fault {
            Some(fault) => Err(Error::InvalidSyntheticConfig(fault)),
            None => Ok(c),
        }
    }
}

/// A synthetic user's history and the ground truth behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticUser {
    /// Actions on catalogue item ids (row indices), oldest first.
    pub actions: Vec<Action<usize>>,
    /// The topics the user was given, most engaged first.
    pub interests: Vec<usize>,
}

impl<F: Scalar> Catalog<F> {
    /// Generates a catalogue: `topics` random unit centres (Gaussian
    /// directions), then item `i` at `centre[i % topics] + noise`, normalised,
    /// the noise Gaussian with per-coordinate deviation `spread/√dim`.
    ///
    /// The configuration is validated when it is built, so generation cannot
    /// fail.
    ///
    /// # Complexity
    /// O(items·dim) time and space.
    ///
    /// # Example
    /// ```
    /// use pinnersage::rand::SeedableRng;
    /// use pinnersage::rand::rngs::Xoshiro256PlusPlus;
    /// use pinnersage::synthetic::{Catalog, CatalogConfig};
    ///
    /// let config = CatalogConfig::builder().items(100).dim(4).topics(5).build()?;
    /// let catalog = Catalog::<f64>::generate(&config, &mut Xoshiro256PlusPlus::seed_from_u64(1));
    /// assert_eq!((catalog.len(), catalog.dim()), (100, 4));
    /// assert_eq!(catalog.topic_of(7), 2);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn generate<R: Rng + ?Sized>(config: &CatalogConfig, rng: &mut R) -> Self {
        let d = config.dim;
        let mut centres = Array2::<f64>::zeros((config.topics, d));
        for mut c in centres.rows_mut() {
            c.iter_mut().for_each(|v| *v = gaussian(rng));
            normalise(c.as_slice_mut());
        }
        let noise = config.spread / (d as f64).sqrt();
        let mut embeddings = Array2::<F>::zeros((config.items, d));
        let mut row = vec![0.0f64; d];
        for (i, mut e) in embeddings.rows_mut().into_iter().enumerate() {
            let c = centres.row(i % config.topics);
            for (r, &cv) in row.iter_mut().zip(c.iter()) {
                *r = cv + noise * gaussian(rng);
            }
            normalise(Some(&mut row[..]));
            for (ev, &r) in e.iter_mut().zip(&row) {
                *ev = F::from_f64_rounded(r);
            }
        }
        Catalog {
            embeddings,
            topics: config.topics,
        }
    }

    /// The `items × dim` embedding matrix.
    pub fn embeddings(&self) -> ArrayView2<'_, F> {
        self.embeddings.view()
    }

    /// Consumes the catalogue, returning its embedding matrix.
    pub fn into_embeddings(self) -> Array2<F> {
        self.embeddings
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.embeddings.nrows()
    }

    /// `true` if the catalogue has no items (never, for a generated one).
    pub fn is_empty(&self) -> bool {
        self.embeddings.nrows() == 0
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.embeddings.ncols()
    }

    /// Number of topics.
    pub fn topics(&self) -> usize {
        self.topics
    }

    /// The topic of `item` (`item % topics`).
    pub fn topic_of(&self, item: usize) -> usize {
        item % self.topics
    }

    /// Generates a user's history ending at `now`.
    ///
    /// The user picks `interests` distinct topics; interest `r` (0-based) gets a
    /// share of actions proportional to `1/(r+1)` and is active over a random
    /// sub-interval of the window, so interests differ both in volume and in
    /// recency. Each action either repeats an earlier item of the same interest
    /// (with `repeat_probability`) or picks a uniformly random item of the topic.
    /// Actions are returned oldest first.
    ///
    /// # Errors
    /// [`Error::InvalidSyntheticConfig`] with
    /// [`SyntheticFault::InterestsExceedTopics`] if the user has more
    /// interests than the catalogue has topics, or
    /// [`SyntheticFault::WindowStartOverflow`] if `now − window` is below
    /// `i64::MIN`.
    ///
    /// # Complexity
    /// O(actions·log(actions)) time.
    ///
    /// # Example
    /// ```
    /// use pinnersage::rand::SeedableRng;
    /// use pinnersage::rand::rngs::Xoshiro256PlusPlus;
    /// use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
    ///
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    /// let config = CatalogConfig::builder().items(200).dim(8).topics(10).build()?;
    /// let catalog = Catalog::<f32>::generate(&config, &mut rng);
    /// let user = catalog.user(&UserConfig::builder().interests(2).build()?, 1_000_000_000, &mut rng)?;
    /// assert_eq!(user.interests.len(), 2);
    /// assert!(user.actions.iter().all(|a| user.interests.contains(&catalog.topic_of(a.item))));
    /// // more interests than topics
    /// let greedy = UserConfig::builder().interests(11).build()?;
    /// assert!(catalog.user(&greedy, 0, &mut rng).is_err());
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn user<R: Rng + ?Sized>(
        &self,
        config: &UserConfig,
        now: i64,
        rng: &mut R,
    ) -> Result<SyntheticUser> {
        if config.interests > self.topics {
            return Err(Error::InvalidSyntheticConfig(
                SyntheticFault::InterestsExceedTopics {
                    interests: config.interests,
                    topics: self.topics,
                },
            ));
        }
        let Some(start_of) = now.checked_sub(config.window) else {
            return Err(Error::InvalidSyntheticConfig(
                SyntheticFault::WindowStartOverflow {
                    now,
                    window: config.window,
                },
            ));
        };
        // distinct topics by a partial Fisher–Yates shuffle
        let mut topics: Vec<usize> = (0..self.topics).collect();
        for i in 0..config.interests {
            let j = rng.random_range(i..self.topics);
            topics.swap(i, j);
        }
        topics.truncate(config.interests);
        let shares: Vec<f64> = (0..config.interests)
            .map(|r| 1.0 / (r + 1) as f64)
            .collect();
        let total: f64 = shares.iter().sum();
        // each interest is active over [start, end] within the window
        let spans: Vec<(i64, i64)> = (0..config.interests)
            .map(|_| {
                let a = rng.random_range(0..=config.window);
                let b = rng.random_range(0..=config.window);
                (start_of + a.min(b), start_of + a.max(b))
            })
            .collect();
        let per_topic = self.len() / self.topics;
        let mut seen: Vec<Vec<usize>> = vec![Vec::new(); config.interests];
        // grown as generated: a caller's large count is not allocated up front
        let mut actions = Vec::with_capacity(config.actions.min(1 << 16));
        for _ in 0..config.actions {
            let mut u = rng.random::<f64>() * total;
            let mut r = 0;
            while r + 1 < config.interests && u >= shares[r] {
                u -= shares[r];
                r += 1;
            }
            let item = if !seen[r].is_empty() && rng.random::<f64>() < config.repeat_probability {
                seen[r][rng.random_range(0..seen[r].len())]
            } else {
                // items of topic t are t, t + topics, t + 2·topics, ...
                let extra = usize::from(topics[r] < self.len() % self.topics);
                topics[r] + self.topics * rng.random_range(0..per_topic + extra)
            };
            seen[r].push(item);
            let (a, b) = spans[r];
            actions.push(Action::new(item, rng.random_range(a..=b)));
        }
        actions.sort_by_key(|a| a.timestamp);
        Ok(SyntheticUser {
            actions,
            interests: topics,
        })
    }
}

/// A standard normal draw (Box–Muller).
fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 − u is in (0, 1], so the logarithm is finite
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
}

/// Scales to unit length as `v / √(Σ v_k²)` (a plain sequential sum). Not
/// `crate::linalg::normalise`, which rounds differently: this expression is
/// part of the generator's definition, and the value-stability tests in
/// `tests/synthetic.rs` pin its output bit for bit.
///
/// When the squares overflow (a huge `spread`), the vector is first divided
/// by its largest value, so it keeps its direction instead of becoming zero;
/// that branch is never taken for the pinned configurations.
fn normalise(v: Option<&mut [f64]>) {
    if let Some(v) = v {
        let mut n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if n == f64::INFINITY {
            let scale = v.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
            if scale.is_finite() && scale > 0.0 {
                v.iter_mut().for_each(|a| *a /= scale);
                n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            }
        }
        if n > 0.0 && n.is_finite() {
            v.iter_mut().for_each(|a| *a /= n);
        }
    }
}
