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
//! use rand::SeedableRng;
//! use rand::rngs::Xoshiro256PlusPlus;
//! use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
//! let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng)?;
//! let user = catalog.user(&UserConfig::default(), 90 * 86_400, &mut rng)?;
//! assert_eq!(user.actions.len(), UserConfig::default().actions);
//! # Ok::<(), pinnersage::Error>(())
//! ```

use ndarray::{Array2, ArrayView2};
use rand::{Rng, RngExt};

use crate::error::{Error, Result};
use crate::history::Action;
use crate::scalar::Scalar;

/// Shape of a synthetic catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogConfig {
    /// Number of items (rows of the embedding matrix). Default 10 000.
    pub items: usize,
    /// Embedding dimension. Default 64.
    pub dim: usize,
    /// Number of topics; items are assigned to topics round-robin. Default 50.
    pub topics: usize,
    /// Norm of the within-topic noise relative to the unit topic centre.
    /// Default 0.5 (topics are well separated but not points).
    pub spread: f64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            items: 10_000,
            dim: 64,
            topics: 50,
            spread: 0.5,
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

/// How a synthetic user behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    /// Number of distinct topics the user engages with. Default 4.
    pub interests: usize,
    /// Number of actions. Default 200.
    pub actions: usize,
    /// Actions are spread over `[now − window, now]`. Default 90 days in seconds.
    pub window: i64,
    /// Probability that an action repeats an item the user already engaged
    /// with. Default 0.1.
    pub repeat_probability: f64,
}

impl Default for UserConfig {
    fn default() -> Self {
        UserConfig {
            interests: 4,
            actions: 200,
            window: 90 * 86_400,
            repeat_probability: 0.1,
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
    /// Generates a catalogue.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `items`, `dim` or `topics` is zero, if
    /// there are more topics than items, or if `spread` is negative or not finite.
    ///
    /// # Complexity
    /// O(items·dim) time and space.
    pub fn generate<R: Rng + ?Sized>(config: &CatalogConfig, rng: &mut R) -> Result<Self> {
        let invalid = |name, reason: String| Err(Error::InvalidParameter { name, reason });
        if config.items == 0 {
            return invalid("items", "must be at least 1".into());
        }
        if config.dim == 0 {
            return invalid("dim", "must be at least 1".into());
        }
        if config.topics == 0 || config.topics > config.items {
            return invalid(
                "topics",
                format!("{} is not in 1..={}", config.topics, config.items),
            );
        }
        if !config.spread.is_finite() || config.spread < 0.0 {
            return invalid(
                "spread",
                format!("{} is not finite and >= 0", config.spread),
            );
        }
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
        Ok(Catalog {
            embeddings,
            topics: config.topics,
        })
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
    /// [`Error::InvalidParameter`] if `interests` is zero or exceeds the number
    /// of topics, `window` is negative, or `repeat_probability` is not in `[0, 1]`.
    ///
    /// # Complexity
    /// O(actions·log(actions)) time.
    pub fn user<R: Rng + ?Sized>(
        &self,
        config: &UserConfig,
        now: i64,
        rng: &mut R,
    ) -> Result<SyntheticUser> {
        let invalid = |name, reason: String| Err(Error::InvalidParameter { name, reason });
        if config.interests == 0 || config.interests > self.topics {
            return invalid(
                "interests",
                format!("{} is not in 1..={}", config.interests, self.topics),
            );
        }
        if config.window < 0 {
            return invalid("window", format!("{} is negative", config.window));
        }
        if !(0.0..=1.0).contains(&config.repeat_probability) {
            return invalid(
                "repeat_probability",
                format!("{} is not in [0, 1]", config.repeat_probability),
            );
        }
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
        let start_of = now - config.window;
        let spans: Vec<(i64, i64)> = (0..config.interests)
            .map(|_| {
                let a = rng.random_range(0..=config.window);
                let b = rng.random_range(0..=config.window);
                (start_of + a.min(b), start_of + a.max(b))
            })
            .collect();
        let per_topic = self.len() / self.topics;
        let mut seen: Vec<Vec<usize>> = vec![Vec::new(); config.interests];
        let mut actions = Vec::with_capacity(config.actions);
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

fn normalise(v: Option<&mut [f64]>) {
    if let Some(v) = v {
        let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|a| *a /= n);
        }
    }
}
