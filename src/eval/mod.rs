//! The paper's offline evaluation (Pal et al., KDD 2020, §5.1): metrics,
//! baselines and a walk-forward protocol, for synthetic users or any real
//! log of `(user, item, timestamp)` actions with item embeddings.
//!
//! # Protocol
//! * Embeddings in `f64`, each row re-normalised, so cosine = dot product;
//!   exact k-nearest neighbours over the whole catalogue ranked by
//!   `(−cosine, item index)` ([`ItemSpace`]).
//! * Day `= ⌊ts / 86400⌋`, `now = t·86400`; history = actions in
//!   `[now − window, now)` (window 90 days, 0 = unlimited); targets = the
//!   distinct items of day `t`; evaluated days: the user's last 5 distinct
//!   active days whose history has ≥ 5 actions ([`user_days`]).
//! * Each method turns the history into `e` query embeddings; each retrieves
//!   its `⌊400/e⌋` nearest items; their union is the candidate set
//!   ([metrics] defines relevance@τ, recall, R-Precision, reciprocal rank).
//! * Ranking: the targets and 20 negatives, drawn uniformly without
//!   replacement (seeded per user and day) from the items that are neither
//!   targets nor in the history, the same for every method, scored by the
//!   maximum cosine to the method's query embeddings (the popularity baseline
//!   scores by its counts).
//! * Two variants: nothing excluded; history items excluded from the
//!   candidates *and* the targets (days without a new item are skipped).
//! * Metrics are averaged over a user's evaluated days, then over users;
//!   sampling methods run with 5 seeds and report mean ± standard deviation
//!   over seeds. Same input and seed → the same records, bit for bit.
//!
//! # Methods
//! [`Method`] lists them; the baselines are in [`baselines`]. PinnerSage's
//! variants cluster the history's distinct items (weights = action counts)
//! with [`ward::linkage_weighted`](crate::ward::linkage_weighted), cut at α,
//! take each cluster's action-weighted [`medoid`](crate::medoid::medoid) and
//! importance `Σ exp(−λ·age in days)`, as [`PinnerSage::profile`](crate::PinnerSage::profile) does (a
//! test checks they agree), but one dendrogram serves every α.
//!
//! # Example
//! ```
//! use pinnersage::ndarray::array;
//! use pinnersage::eval::{evaluate, summarise, ItemSpace, Log, Protocol};
//!
//! let x = array![[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]];
//! let mut space = ItemSpace::new(x.view(), 4)?;
//! let d = 86_400;
//! let mut t: Vec<(u64, usize, i64)> = (0..6).map(|k| (1, k % 4, k as i64 * 60)).collect();
//! t.push((1, 1, d + 5));
//! let log = Log::from_triples(t, 4)?;
//! let p = Protocol::builder().budget(2).negatives(1).seeds(2).build()?;
//! let ev = evaluate(&log, &mut space, &p, |_, _| {})?;
//! assert_eq!(ev.user_days, 1);
//! let rows = summarise(&ev, false, |_| true);
//! assert_eq!(rows[0].method, "last item");
//! # Ok::<(), pinnersage::eval::EvalError>(())
//! ```

pub mod baselines;
pub mod diagnostic;
mod error;
pub mod metrics;
mod profiles;
mod protocol;
mod report;
mod run;
mod space;

pub use error::{EvalError, EvalResult};
pub use profiles::{score_profile, ProfileScores};
pub use protocol::{day_of, day_start, user_days, Log, UserDay, DAY};
pub use report::{csv, lift, markdown, summarise, Row};
pub use run::{
    evaluate, sample_by_weight, ward_interests, Evaluation, Interest, Method, Protocol,
    ProtocolBuilder, Record,
};
pub use space::{top_k, ItemSpace};
