//! The evaluation loop: every method on every evaluated (user, day), for
//! every seed, in both variants (nothing excluded / history excluded).

use std::collections::HashMap;

use ndarray::{Array2, Axis};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

use super::baselines::{self, Weighted};
use super::diagnostic::spread;
use super::error::{EvalError, EvalResult};
use super::metrics::{per_embedding_budget, ranking, relevance_from_best, Scored};
use super::protocol::{user_days, Log, UserDay};
use super::space::{top_k, ItemSpace};
use crate::ward::linkage_weighted;

/// A way to represent a user for retrieval: a baseline or a PinnerSage
/// variant. Ward-based methods cut at the protocol's α unless they carry
/// their own.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Method {
    /// The most recent item (the paper's "last pin").
    LastItem,
    /// The most engaged items of all users over the window before the day
    /// (non-personal).
    Popular,
    /// Decay-weighted average of the history's embeddings, λ per day.
    DecayAverage(f64),
    /// k-means (k-means++ seeded) on the history, the top centroids by
    /// action count.
    KMeans,
    /// Complete linkage cut into as many clusters as Ward at α, medoids,
    /// sampled by importance (λ = 0.01).
    CompleteLinkage,
    /// Ward at α, the sampled clusters' action-weighted centroids instead of
    /// their medoids.
    Centroid,
    /// Ward at α, medoids sampled by importance with this λ per day.
    Importance(f64),
    /// Ward at α, one medoid sampled by importance (λ = 0.01).
    SampleOne,
    /// PinnerSage as published: Ward cut at this α, medoids, importance
    /// λ = 0.01, `top` medoids sampled ∝ importance without replacement.
    PinnerSage(f64),
    /// Ward cut at this α, the `top` medoids of highest importance.
    TopMedoids(f64),
    /// Ward cut into this many clusters (the k-cut), the `top` medoids of
    /// highest importance.
    TopMedoidsK(usize),
    /// Ward cut at `α = c · (history actions)` for this `c` (α scaled with
    /// the history's length, since Ward distances grow with cluster sizes),
    /// the `top` medoids of highest importance.
    TopMedoidsScaled(f64),
}

impl Method {
    /// A short name for tables.
    pub fn name(&self) -> String {
        match self {
            Method::LastItem => "last item".into(),
            Method::Popular => "popular (non-personal)".into(),
            Method::DecayAverage(l) => format!("decay average λ={l}"),
            Method::KMeans => "k-means (k=5) top-3 centroids".into(),
            Method::CompleteLinkage => "complete linkage".into(),
            Method::Centroid => "centroid instead of medoid".into(),
            Method::Importance(l) => format!("importance λ={l}"),
            Method::SampleOne => "sample 1 medoid".into(),
            Method::PinnerSage(a) => format!("PinnerSage α={a}"),
            Method::TopMedoids(a) => format!("top-3 medoids α={a}"),
            Method::TopMedoidsK(k) => format!("top-3 medoids, Ward k={k}"),
            Method::TopMedoidsScaled(c) => format!("top-3 medoids, α={c}·actions"),
        }
    }

    /// `true` if the method draws at random (evaluated once per seed).
    pub fn sampled(&self) -> bool {
        matches!(
            self,
            Method::KMeans
                | Method::CompleteLinkage
                | Method::Centroid
                | Method::Importance(_)
                | Method::SampleOne
                | Method::PinnerSage(_)
        )
    }
}

/// Unchecked protocol parameters; [`build`](Self::build) validates them.
///
/// ```
/// use pinnersage::eval::Protocol;
/// let p = Protocol::builder().window_days(30).seeds(2).alphas(vec![4.0, 8.0]).build()?;
/// assert_eq!(p.window_days(), 30);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolBuilder {
    p: Protocol,
}

/// Validated protocol of the offline evaluation (see the
/// [module docs](crate::eval) for the definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    window_days: u32,
    eval_days: usize,
    min_history: usize,
    budget: usize,
    negatives: usize,
    taus: [f64; 3],
    lift_tau: usize,
    seeds: usize,
    seed: u64,
    alpha: f64,
    alphas: Vec<f64>,
    k_cuts: Vec<usize>,
    alpha_per_action: Vec<f64>,
    decay_lambdas: Vec<f64>,
    kmeans_k: usize,
    top: usize,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            window_days: 90,
            eval_days: 5,
            min_history: 5,
            budget: 400,
            negatives: 20,
            taus: [0.6, 0.7, 0.8],
            lift_tau: 2,
            seeds: 5,
            seed: 2020,
            alpha: crate::DEFAULT_ALPHA,
            alphas: Vec::new(),
            k_cuts: vec![3, 5],
            alpha_per_action: Vec::new(),
            decay_lambdas: vec![0.0, 0.01, 0.1, 0.25],
            kmeans_k: 5,
            top: 3,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $t:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, v: $t) -> Self {
            self.p.$name = v;
            self
        }
    };
}

macro_rules! getter {
    ($(#[$doc:meta])* $name:ident: $t:ty) => {
        $(#[$doc])*
        pub fn $name(&self) -> $t {
            self.$name.clone()
        }
    };
}

impl ProtocolBuilder {
    setter!(/// History window in days; 0 = unlimited. Default 90.
        window_days: u32);
    setter!(/// Last distinct active days per user considered. Default 5.
        eval_days: usize);
    setter!(/// Minimum history actions for a day to be evaluated (≥ 1: a day
        /// without history gives no method anything to query with). Default 5.
        min_history: usize);
    setter!(/// Candidates per user (⌊budget/e⌋ per embedding). Default 400.
        budget: usize);
    setter!(/// Negative impressions per (user, day) for the ranking metrics. Default 20.
        negatives: usize);
    setter!(/// Relevance thresholds τ reported. Default 0.6, 0.7, 0.8.
        taus: [f64; 3]);
    setter!(/// Which of the three τ the lifts use (0..3). Default 2 (τ = 0.8).
        lift_tau: usize);
    setter!(/// Seeds for the sampling methods. Default 5.
        seeds: usize);
    setter!(/// The base seed. Default 2020.
        seed: u64);
    setter!(/// The Ward threshold α of the paper's variants. Default [`DEFAULT_ALPHA`](crate::DEFAULT_ALPHA).
        alpha: f64);
    setter!(/// Extra α values swept for PinnerSage and top-3 medoids. Default none.
        alphas: Vec<f64>);
    setter!(/// Ward k-cuts evaluated (top-3 medoids). Default 3 and 5.
        k_cuts: Vec<usize>);
    setter!(/// Factors `c` of the α-scaled rule `α = c · history actions` (top-3 medoids). Default none.
        alpha_per_action: Vec<f64>);
    setter!(/// λ per day of the decay-weighted averages. Default 0, 0.01, 0.1, 0.25.
        decay_lambdas: Vec<f64>);
    setter!(/// k of the k-means baseline. Default 5.
        kmeans_k: usize);
    setter!(/// Embeddings selected by the multi-embedding methods. Default 3.
        top: usize);

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] naming the parameter: `eval_days`,
    /// `min_history`, `budget`, `seeds`, `kmeans_k`, `top` or a `k_cuts`
    /// entry of 0; an α
    /// or λ negative or not finite; a τ outside [−1, 1]; `lift_tau ≥ 3`.
    pub fn build(self) -> EvalResult<Protocol> {
        let p = self.p;
        let bad =
            |name: &'static str, reason: String| Err(EvalError::InvalidParameter { name, reason });
        for (name, v) in [
            ("eval_days", p.eval_days),
            ("min_history", p.min_history),
            ("budget", p.budget),
            ("seeds", p.seeds),
            ("kmeans_k", p.kmeans_k),
            ("top", p.top),
        ] {
            if v == 0 {
                return bad(name, "must be at least 1".into());
            }
        }
        if p.k_cuts.contains(&0) {
            return bad("k_cuts", "a cut into 0 clusters".into());
        }
        for &a in p.alphas.iter().chain(&p.alpha_per_action).chain([&p.alpha]) {
            if !(a.is_finite() && a >= 0.0) {
                return bad("alpha", format!("{a} is not a finite number >= 0"));
            }
        }
        for &l in &p.decay_lambdas {
            if !(l.is_finite() && l >= 0.0) {
                return bad("decay_lambdas", format!("{l} is not a finite number >= 0"));
            }
        }
        for &t in &p.taus {
            if !(t.is_finite() && (-1.0..=1.0).contains(&t)) {
                return bad("taus", format!("{t} is not in [-1, 1]"));
            }
        }
        if p.lift_tau >= 3 {
            return bad("lift_tau", format!("{} is not 0, 1 or 2", p.lift_tau));
        }
        Ok(p)
    }
}

impl Protocol {
    /// A builder holding the defaults (the issue's protocol).
    pub fn builder() -> ProtocolBuilder {
        ProtocolBuilder {
            p: Protocol::default(),
        }
    }

    getter!(/// History window in days (0 = unlimited).
        window_days: u32);
    getter!(/// Candidates per user.
        budget: usize);
    getter!(/// Relevance thresholds.
        taus: [f64; 3]);
    getter!(/// Index of the τ used for lifts.
        lift_tau: usize);
    getter!(/// Number of seeds of the sampling methods.
        seeds: usize);
    getter!(/// The main α.
        alpha: f64);
    getter!(/// The Ward k-cuts evaluated.
        k_cuts: Vec<usize>);

    /// A builder holding this protocol, to change some parameters.
    pub fn to_builder(&self) -> ProtocolBuilder {
        ProtocolBuilder { p: self.clone() }
    }

    /// The methods evaluated, in table order.
    pub fn methods(&self) -> Vec<Method> {
        let mut m = vec![Method::LastItem, Method::Popular];
        m.extend(self.decay_lambdas.iter().map(|&l| Method::DecayAverage(l)));
        m.extend([
            Method::KMeans,
            Method::CompleteLinkage,
            Method::Centroid,
            Method::Importance(0.0),
            Method::Importance(0.1),
            Method::SampleOne,
            Method::PinnerSage(self.alpha),
            Method::TopMedoids(self.alpha),
        ]);
        for &a in &self.alphas {
            if a != self.alpha {
                m.push(Method::PinnerSage(a));
                m.push(Method::TopMedoids(a));
            }
        }
        m.extend(self.k_cuts.iter().map(|&k| Method::TopMedoidsK(k)));
        m.extend(
            self.alpha_per_action
                .iter()
                .map(|&c| Method::TopMedoidsScaled(c)),
        );
        m
    }
}

/// The metrics of one (user, day, method, seed, variant).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// User id.
    pub user: u64,
    /// Evaluation day.
    pub day: i64,
    /// Index into [`Evaluation::methods`].
    pub method: usize,
    /// Seed index (0 for deterministic methods).
    pub seed: usize,
    /// `true` in the variant where history items are excluded.
    pub excluded: bool,
    /// Relevance at the protocol's three τ.
    pub relevance: [f64; 3],
    /// Recall.
    pub recall: f64,
    /// R-Precision.
    pub r_precision: f64,
    /// Reciprocal rank.
    pub reciprocal_rank: f64,
    /// Embeddings that queried.
    pub embeddings: usize,
    /// Clusters the method chose its embeddings from (Ward, complete
    /// linkage, k-means); 0 for the other methods.
    pub method_clusters: usize,
    /// Diagnostic: Ward clusters of the history at the main α.
    pub clusters: usize,
    /// Diagnostic: [`diagnostic::spread`](super::diagnostic::spread) of the history.
    pub spread: f64,
}

/// All records of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The methods, in table order.
    pub methods: Vec<Method>,
    /// The protocol used.
    pub protocol: Protocol,
    /// One per (user, day, method, seed, variant), in that order of loops.
    pub records: Vec<Record>,
    /// Number of evaluated (user, day) pairs (variant without exclusion).
    pub user_days: usize,
}

/// Relevance at three τ, recall, R-Precision, reciprocal rank.
type Metrics = ([f64; 3], f64, f64, f64);

/// (method, seed, queries (`None`: popularity), clusters the method chose from).
type Plan = (usize, usize, Option<Vec<Query>>, usize);

/// A query embedding of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Query {
    /// An item's own embedding (cached neighbours).
    Item(usize),
    /// Row of the per-(user, day) vector query matrix.
    Vector(usize),
}

/// A cluster of a user-day's clustering.
struct Cluster {
    medoid: usize,
    rows: Vec<usize>,
}

/// SplitMix64 finaliser: the per-(seed, user, day, stream) seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn rng_for(seed: u64, user: u64, day: i64, stream: u64) -> Xoshiro256PlusPlus {
    let s = mix(mix(mix(mix(seed) ^ user) ^ (day as u64)) ^ stream);
    Xoshiro256PlusPlus::seed_from_u64(s)
}

/// Draws `n` distinct indices with probability ∝ `w` without replacement
/// (sequentially: each draw ∝ the remaining weights); all of them, by
/// descending weight, when `n ≥ len`.
///
/// # Example
/// ```
/// use pinnersage::rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use pinnersage::eval::sample_by_weight;
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
/// let s = sample_by_weight(&[0.0, 5.0, 1e-300, 2.0], 2, &mut rng);
/// assert_eq!(s.len(), 2);
/// assert!(!s.contains(&0)); // weight 0 is never drawn while others remain
/// ```
pub fn sample_by_weight<R: Rng + ?Sized>(w: &[f64], n: usize, rng: &mut R) -> Vec<usize> {
    if n >= w.len() {
        return top_k(w, w.len(), |_| false);
    }
    // weights whose sum overflows are divided by the largest first, so they
    // keep their proportions (two weights of f64::MAX are drawn 50/50, not
    // always the first); other weights are used as given
    let max = w
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let scaled: Vec<f64>;
    let w = if w.iter().sum::<f64>() == f64::INFINITY && max.is_finite() && max > 0.0 {
        scaled = w.iter().map(|v| v / max).collect();
        &scaled[..]
    } else {
        w
    };
    let mut left: Vec<usize> = (0..w.len()).collect();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let total: f64 = left.iter().map(|&i| w[i]).sum();
        let mut pick = left.len() - 1;
        if total > 0.0 && total.is_finite() {
            let mut u = rng.random::<f64>() * total;
            for (p, &i) in left.iter().enumerate() {
                if u < w[i] {
                    pick = p;
                    break;
                }
                u -= w[i];
            }
            // rounding can leave u ≥ the last weight: take the last positive one
            if pick == left.len() - 1 && w[left[pick]] <= 0.0 {
                pick = left.iter().rposition(|&i| w[i] > 0.0).unwrap_or(pick);
            }
        } else {
            pick = 0;
        }
        out.push(left.remove(pick));
    }
    out
}

/// Clusters of rows `0..m` from labels, with medoids (action-weighted, ties
/// to the lower item index, as [`medoid`](crate::medoid::medoid) on rows in
/// item order).
fn clusters_from(labels: &[usize], x: &Array2<f64>, w: &Weighted) -> EvalResult<Vec<Cluster>> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (r, &l) in labels.iter().enumerate() {
        rows[l].push(r);
    }
    rows.into_iter()
        .map(|rows| {
            let sub = x.select(Axis(0), &rows);
            let wts: Vec<f64> = rows.iter().map(|&r| w.counts[r]).collect();
            let m = crate::medoid::medoid(sub.view(), Some(ndarray::ArrayView1::from(&wts[..])))?;
            Ok(Cluster {
                medoid: w.items[rows[m]],
                rows,
            })
        })
        .collect()
}

/// One interest found by [`ward_interests`].
#[derive(Debug, Clone, PartialEq)]
pub struct Interest {
    /// The medoid item.
    pub medoid: usize,
    /// `Σ exp(−λ·(now − T_i)/86400)` over the cluster's actions.
    pub importance: f64,
    /// The member items, ascending.
    pub items: Vec<usize>,
}

/// The interests the evaluation's PinnerSage variants use: the history's
/// distinct items (weights = action counts) clustered with Ward's method,
/// cut at `alpha`, each cluster with its action-weighted medoid (ties to
/// the lower item index) and importance with `lambda_per_day`; sorted by
/// importance, descending (ties by medoid). The same as
/// [`PinnerSage::profile`](crate::PinnerSage::profile) with no window.
///
/// # Errors
/// [`EvalError::Core`] with [`Error::InvalidThreshold`](crate::Error::InvalidThreshold)
/// for an `alpha` negative or not finite,
/// [`Error::InvalidDecayRate`](crate::Error::InvalidDecayRate) for a
/// `lambda_per_day` negative or not finite, or
/// [`Error::ActionInFuture`](crate::Error::ActionInFuture) for an action later
/// than `now` (its weight would exceed 1 and could overflow to ∞), whatever
/// the history's length;
/// [`EvalError::ItemOutOfRange`] for an item outside `space`; those of
/// [`linkage_weighted`] and [`medoid`](crate::medoid::medoid).
///
/// # Complexity
/// O(m²·d) for `m` distinct items.
pub fn ward_interests(
    space: &ItemSpace,
    history: &[crate::Action<usize>],
    now: i64,
    alpha: f64,
    lambda_per_day: f64,
) -> EvalResult<Vec<Interest>> {
    if !alpha.is_finite() || alpha < 0.0 {
        return Err(crate::Error::InvalidThreshold { value: alpha }.into());
    }
    crate::DecayRate::per_day(lambda_per_day)?;
    if let Some((index, a)) = history.iter().enumerate().find(|(_, a)| a.timestamp > now) {
        return Err(crate::Error::ActionInFuture {
            index,
            timestamp: a.timestamp,
            now,
        }
        .into());
    }
    let w = Weighted::new(history);
    let x = w.matrix(space)?;
    let labels = super::diagnostic::ward_labels(x.view(), &w.counts, alpha)?;
    let mut out: Vec<Interest> = clusters_from(&labels, &x, &w)?
        .iter()
        .map(|c| Interest {
            medoid: c.medoid,
            importance: importance(c, &w, now, lambda_per_day),
            items: c.rows.iter().map(|&r| w.items[r]).collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then(a.medoid.cmp(&b.medoid))
    });
    Ok(out)
}

fn importance(c: &Cluster, w: &Weighted, now: i64, lambda: f64) -> f64 {
    c.rows
        .iter()
        .flat_map(|&r| w.times[r].iter())
        .map(|&t| baselines::decay_weight(lambda, t, now))
        .sum()
}

/// Evaluates every method of `protocol` on `log`; `progress(done, total)` is
/// called after each (user, day).
///
/// Deterministic: the same log, embeddings and protocol give the same records,
/// bit for bit (randomness comes from Xoshiro256++ streams seeded by
/// `(seed, seed index, user, day, method)`).
///
/// # Errors
/// [`EvalError::ItemOutOfRange`] if the log names more items than the space
/// holds; the errors of [`user_days`] and of Ward's linkage.
///
/// # Complexity
/// Per (user, day) with `m` distinct history items: one Ward linkage and one
/// complete linkage (O(m²·d)), k-means (O(iter·m·k·d)), one matrix product for
/// the vector queries against the catalogue (O(q·n·d)), and O(n·d) once per
/// item ever used as a query or target (the medoid cache).
pub fn evaluate(
    log: &Log,
    space: &mut ItemSpace,
    protocol: &Protocol,
    mut progress: impl FnMut(usize, usize),
) -> EvalResult<Evaluation> {
    if log.items() > space.len() {
        return Err(EvalError::ItemOutOfRange {
            item: log.items() - 1,
            items: space.len(),
        });
    }
    let p = protocol;
    let methods = p.methods();
    let days = user_days(log, p.window_days, p.eval_days, p.min_history)?;
    // all actions by time for the popularity baseline
    let mut all: Vec<crate::Action<usize>> = log
        .users()
        .iter()
        .flat_map(|(_, a)| a.iter().copied())
        .collect();
    all.sort_unstable_by_key(|a| (a.timestamp, a.item));
    let mut popular_cache: HashMap<i64, (Vec<f64>, Vec<usize>)> = HashMap::new();
    let mut records = Vec::new();
    let total = days.len();
    for (done, ud) in days.iter().enumerate() {
        let pop = popular_cache.entry(ud.day).or_insert_with(|| {
            let lo = if p.window_days == 0 {
                i64::MIN
            } else {
                ud.now
                    .saturating_sub(i64::from(p.window_days) * super::protocol::DAY)
            };
            let a = all.partition_point(|a| a.timestamp < lo);
            let b = all.partition_point(|a| a.timestamp < ud.now);
            baselines::popular(&all[a..b], space.len(), lo, ud.now, p.budget)
        });
        let pop = pop.clone();
        evaluate_day(ud, space, p, &methods, &pop, &mut records)?;
        progress(done + 1, total);
    }
    Ok(Evaluation {
        methods,
        protocol: p.clone(),
        records,
        user_days: total,
    })
}

/// Which clustering of a (user, day) history a method uses: a Ward cut at
/// an α (its bits), a Ward cut into `k` clusters, or the complete-linkage
/// baseline. One key space per kind, so no α, `k` or baseline can collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CutKey {
    Alpha(u64),
    K(usize),
    Complete,
}

#[allow(clippy::too_many_lines)]
fn evaluate_day(
    ud: &UserDay,
    space: &mut ItemSpace,
    p: &Protocol,
    methods: &[Method],
    popular: &(Vec<f64>, Vec<usize>),
    records: &mut Vec<Record>,
) -> EvalResult<()> {
    let w = Weighted::new(&ud.history);
    let x = w.matrix(space)?;
    let m = w.items.len();
    let tree = if m > 1 {
        Some(linkage_weighted(
            x.view(),
            ndarray::ArrayView1::from(&w.counts[..]),
        )?)
    } else {
        None
    };
    let ward_at = |alpha: f64| -> EvalResult<Vec<usize>> {
        Ok(match &tree {
            Some(t) => t.cut(alpha)?,
            None => vec![0; m],
        })
    };
    let ward_k = |k: usize| -> EvalResult<Vec<usize>> {
        Ok(match &tree {
            Some(t) => t.cut_k(k.min(m))?,
            None => vec![0; m],
        })
    };
    let mut clusterings: HashMap<CutKey, Vec<Cluster>> = HashMap::new();
    let main_labels = ward_at(p.alpha)?;
    let main_k = main_labels.iter().max().map_or(0, |v| v + 1);
    clusterings.insert(
        CutKey::Alpha(p.alpha.to_bits()),
        clusters_from(&main_labels, &x, &w)?,
    );
    let diag_spread = spread(x.view(), &w.counts);
    let history_set: Vec<usize> = w.items.clone(); // ascending
    let in_history = |i: usize| history_set.binary_search(&i).is_ok();

    // negatives: distinct items outside targets and history, same for all methods
    let mut neg_rng = rng_for(p.seed, ud.user, ud.day, u64::MAX);
    let outside_targets = history_set
        .iter()
        .filter(|i| ud.targets.binary_search(i).is_err())
        .count();
    let eligible = space
        .len()
        .saturating_sub(ud.targets.len())
        .saturating_sub(outside_targets);
    let want = p.negatives.min(eligible);
    let mut negatives: Vec<usize> = Vec::with_capacity(want);
    while negatives.len() < want {
        let c = neg_rng.random_range(0..space.len());
        if ud.targets.binary_search(&c).is_err() && !in_history(c) && !negatives.contains(&c) {
            negatives.push(c);
        }
    }

    // vector queries of this (user, day), stacked for one matrix product
    let mut vectors: Vec<Vec<f64>> = Vec::new();
    // per (method, seed): its queries (None for the popularity baseline)
    let mut plans: Vec<Plan> = Vec::new();
    for (mi, method) in methods.iter().enumerate() {
        let seeds = if method.sampled() { p.seeds } else { 1 };
        for s in 0..seeds {
            let stream = match method {
                // centroid and published PinnerSage sample the same clusters
                Method::Centroid => 0,
                _ => mi as u64,
            };
            let mut rng = rng_for(p.seed ^ mix(s as u64), ud.user, ud.day, stream);
            let mut n_clusters = 0;
            let queries: Option<Vec<Query>> = match *method {
                Method::LastItem => Some(
                    baselines::last_item(&ud.history)
                        .map(Query::Item)
                        .into_iter()
                        .collect(),
                ),
                Method::Popular => None,
                Method::DecayAverage(l) => Some(
                    baselines::decay_average(space, &ud.history, ud.now, l)?
                        .map(|q| {
                            vectors.push(q);
                            Query::Vector(vectors.len() - 1)
                        })
                        .into_iter()
                        .collect(),
                ),
                Method::KMeans => {
                    let (c, labels) =
                        baselines::kmeans(x.view(), &w.counts, p.kmeans_k, 100, &mut rng)?;
                    n_clusters = c.nrows();
                    let mut mass = vec![0.0; c.nrows()];
                    for (r, &l) in labels.iter().enumerate() {
                        mass[l] += w.counts[r];
                    }
                    let order = top_k(&mass, p.top, |i| mass[i] <= 0.0);
                    Some(
                        order
                            .into_iter()
                            .filter_map(|i| baselines::normalised(c.row(i).to_vec()))
                            .map(|q| {
                                vectors.push(q);
                                Query::Vector(vectors.len() - 1)
                            })
                            .collect(),
                    )
                }
                Method::CompleteLinkage => {
                    let key = CutKey::Complete;
                    if let std::collections::hash_map::Entry::Vacant(e) = clusterings.entry(key) {
                        let (labels, _) = baselines::complete_linkage(x.view(), main_k.max(1))?;
                        e.insert(clusters_from(&labels, &x, &w)?);
                    }
                    let cl = &clusterings[&key];
                    n_clusters = cl.len();
                    let imp: Vec<f64> =
                        cl.iter().map(|c| importance(c, &w, ud.now, 0.01)).collect();
                    Some(
                        sample_by_weight(&imp, p.top, &mut rng)
                            .into_iter()
                            .map(|i| Query::Item(cl[i].medoid))
                            .collect(),
                    )
                }
                Method::Centroid
                | Method::Importance(_)
                | Method::SampleOne
                | Method::PinnerSage(_)
                | Method::TopMedoids(_)
                | Method::TopMedoidsK(_)
                | Method::TopMedoidsScaled(_) => {
                    let key = match *method {
                        Method::PinnerSage(a) | Method::TopMedoids(a) => CutKey::Alpha(a.to_bits()),
                        Method::TopMedoidsK(k) => CutKey::K(k),
                        // c·actions can overflow for a huge finite c: cutting
                        // at f64::MAX merges everything, as ∞ would
                        Method::TopMedoidsScaled(c) => {
                            CutKey::Alpha((c * ud.history.len() as f64).min(f64::MAX).to_bits())
                        }
                        _ => CutKey::Alpha(p.alpha.to_bits()),
                    };
                    if let std::collections::hash_map::Entry::Vacant(e) = clusterings.entry(key) {
                        let labels = match key {
                            CutKey::Alpha(bits) => ward_at(f64::from_bits(bits))?,
                            CutKey::K(k) => ward_k(k)?,
                            CutKey::Complete => {
                                baselines::complete_linkage(x.view(), main_k.max(1))?.0
                            }
                        };
                        e.insert(clusters_from(&labels, &x, &w)?);
                    }
                    let cl = &clusterings[&key];
                    n_clusters = cl.len();
                    let lambda = match *method {
                        Method::Importance(l) => l,
                        _ => 0.01,
                    };
                    let imp: Vec<f64> = cl
                        .iter()
                        .map(|c| importance(c, &w, ud.now, lambda))
                        .collect();
                    let chosen = match *method {
                        Method::TopMedoids(_)
                        | Method::TopMedoidsK(_)
                        | Method::TopMedoidsScaled(_) => top_k(&imp, p.top, |_| false),
                        Method::SampleOne => sample_by_weight(&imp, 1, &mut rng),
                        _ => sample_by_weight(&imp, p.top, &mut rng),
                    };
                    Some(
                        chosen
                            .into_iter()
                            .filter_map(|i| {
                                if *method == Method::Centroid {
                                    let mut q = vec![0.0; x.ncols()];
                                    for &r in &cl[i].rows {
                                        for (o, v) in q.iter_mut().zip(x.row(r)) {
                                            *o += w.counts[r] * v;
                                        }
                                    }
                                    baselines::normalised(q).map(|q| {
                                        vectors.push(q);
                                        Query::Vector(vectors.len() - 1)
                                    })
                                } else {
                                    Some(Query::Item(cl[i].medoid))
                                }
                            })
                            .collect(),
                    )
                }
            };
            plans.push((mi, s, queries, n_clusters));
        }
    }
    let scores: Option<Array2<f64>> = if vectors.is_empty() {
        None
    } else {
        let d = space.embeddings().ncols();
        let flat: Vec<f64> = vectors.iter().flatten().copied().collect();
        let q = Array2::from_shape_vec((vectors.len(), d), flat).map_err(|e| {
            EvalError::InvalidParameter {
                name: "queries",
                reason: e.to_string(),
            }
        })?;
        Some(space.scores(q.view()))
    };

    // memo: identical query sets give identical metrics
    let mut memo: HashMap<(Vec<Query>, bool), Metrics> = HashMap::new();
    let novel: Vec<usize> = ud
        .targets
        .iter()
        .copied()
        .filter(|&t| !in_history(t))
        .collect();
    for excluded in [false, true] {
        let targets = if excluded { &novel } else { &ud.targets };
        if targets.is_empty() {
            continue;
        }
        for (mi, s, queries, n_clusters) in &plans {
            let metrics = match queries {
                None => {
                    let (counts, top) = popular;
                    let cands: Vec<usize> = if excluded {
                        top_k(counts, p.budget, in_history)
                    } else {
                        top.clone()
                    };
                    let sc = |i: usize| counts[i];
                    score_candidates(space, targets, &negatives, cands, sc, p)?
                }
                Some(qs) => {
                    let mut key = qs.clone();
                    key.sort_unstable();
                    key.dedup();
                    if let Some(v) = memo.get(&(key.clone(), excluded)) {
                        *v
                    } else {
                        let k = per_embedding_budget(p.budget, key.len());
                        let mut cands = Vec::new();
                        for q in &key {
                            let list = match *q {
                                Query::Item(i) if excluded => {
                                    space.neighbours_excluding(i, k, in_history)
                                }
                                Query::Item(i) => space.nbrs(i, k),
                                Query::Vector(v) => match &scores {
                                    Some(sc) => {
                                        let row = sc.row(v);
                                        let row = row.as_slice().unwrap_or(&[]);
                                        if excluded {
                                            top_k(row, k, in_history)
                                        } else {
                                            top_k(row, k, |_| false)
                                        }
                                    }
                                    None => Vec::new(),
                                },
                            };
                            cands.extend(list);
                        }
                        // ranking score: max cosine to any query, for targets then negatives
                        let listed: Vec<usize> =
                            targets.iter().chain(&negatives).copied().collect();
                        let mut best = vec![f64::NEG_INFINITY; listed.len()];
                        for q in &key {
                            match *q {
                                Query::Item(i) => {
                                    let cos = space.cosines(i, &listed);
                                    for (b, c) in best.iter_mut().zip(cos) {
                                        *b = b.max(c);
                                    }
                                }
                                Query::Vector(v) => {
                                    if let Some(sc) = &scores {
                                        for (b, &t) in best.iter_mut().zip(&listed) {
                                            *b = b.max(sc[[v, t]]);
                                        }
                                    }
                                }
                            }
                        }
                        // no query (an empty method): every item scores −1
                        let best: Vec<f64> = best
                            .into_iter()
                            .map(|b| if b.is_finite() { b } else { -1.0 })
                            .collect();
                        let sc = |t: usize| -> f64 {
                            listed
                                .iter()
                                .position(|&l| l == t)
                                .map_or(-1.0, |pos| best[pos])
                        };
                        let v = score_candidates(space, targets, &negatives, cands, sc, p)?;
                        memo.insert((key, excluded), v);
                        v
                    }
                }
            };
            let n_emb = queries.as_ref().map_or(0, |q| q.len());
            records.push(Record {
                user: ud.user,
                day: ud.day,
                method: *mi,
                seed: *s,
                excluded,
                relevance: metrics.0,
                recall: metrics.1,
                r_precision: metrics.2,
                reciprocal_rank: metrics.3,
                embeddings: n_emb,
                method_clusters: *n_clusters,
                clusters: main_k,
                spread: diag_spread,
            });
        }
    }
    Ok(())
}

/// Relevance, recall and ranking for one candidate list and ranking score.
fn score_candidates(
    space: &mut ItemSpace,
    targets: &[usize],
    negatives: &[usize],
    mut cands: Vec<usize>,
    score: impl Fn(usize) -> f64,
    p: &Protocol,
) -> EvalResult<([f64; 3], f64, f64, f64)> {
    cands.sort_unstable();
    cands.dedup();
    let mut best = Vec::with_capacity(targets.len());
    let mut hits = 0usize;
    for &t in targets {
        if cands.binary_search(&t).is_ok() {
            hits += 1;
        }
        let cos = space.cosines(t, &cands);
        best.push(cos.into_iter().fold(f64::NEG_INFINITY, f64::max));
    }
    let rel = relevance_from_best(&best, &p.taus)?;
    let recall = hits as f64 / targets.len() as f64;
    let list: Vec<Scored> = targets
        .iter()
        .map(|&t| (t, true))
        .chain(negatives.iter().map(|&n| (n, false)))
        .map(|(item, positive)| Scored {
            item,
            score: score(item),
            positive,
        })
        .collect();
    let (rp, rr) = ranking(&list)?;
    Ok(([rel[0], rel[1], rel[2]], recall, rp, rr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_by_weight_follows_the_weights() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let n = 20_000;
        let ones = (0..n)
            .filter(|_| sample_by_weight(&[1.0, 3.0], 1, &mut rng) == vec![1])
            .count();
        let f = ones as f64 / n as f64;
        assert!((f - 0.75).abs() < 0.015, "{f}");
        // without replacement: all distinct; n ≥ len gives all by weight
        let s = sample_by_weight(&[1.0, 2.0, 3.0, 4.0], 3, &mut rng);
        let mut d = s.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 3);
        assert_eq!(
            sample_by_weight(&[1.0, 5.0, 2.0], 3, &mut rng),
            vec![1, 2, 0]
        );
    }

    #[test]
    fn methods_follow_the_protocol() {
        let p = Protocol::builder()
            .alphas(vec![2.0, 8.0])
            .alpha_per_action(vec![0.1])
            .build()
            .unwrap();
        let m = p.methods();
        assert_eq!(m[0], Method::LastItem);
        // the main α is not repeated by the sweep
        assert_eq!(
            m.iter().filter(|x| **x == Method::PinnerSage(8.0)).count(),
            1
        );
        assert!(m.contains(&Method::PinnerSage(2.0)));
        assert!(m.contains(&Method::TopMedoidsScaled(0.1)));
        assert!(Method::PinnerSage(8.0).sampled() && !Method::TopMedoids(8.0).sampled());
    }
}
