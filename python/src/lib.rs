//! The native part of the `pinnersage` Python package (`pinnersage._pinnersage`).
//!
//! The public Python API, its argument normalisation (array-likes, pandas
//! columns) and its docstrings live in `python/pinnersage/__init__.py`; this
//! module takes numpy arrays of the exact dtypes and shapes the wrapper
//! checked, releases the GIL around every computation and turns the crate's
//! errors into `ValueError` with the crate's message.

use std::collections::HashMap;
use std::time::Duration;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::retrieval::Selection;
use pinnersage::ward::{Dendrogram, Strategy, Ward};
use pinnersage::{
    Action, EmbeddingSource, PinnerSage, Scalar, TimeUnit, TimestampUnit, UnknownItems, UserProfile,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A count or index as a numpy `int64` (saturating; counts of real data
/// never come near `i64::MAX`).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The crate's error as a Python `ValueError` carrying its message.
fn value_error(e: pinnersage::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

// ---------------------------------------------------------------- linkage

fn ward_for(lean: Option<bool>) -> Ward {
    match lean {
        None => Ward::new(),
        Some(true) => Ward::new().strategy(Strategy::Lean),
        Some(false) => Ward::new().strategy(Strategy::Matrix),
    }
}

/// The power of two `2^e` that brings the largest magnitude of `x` into
/// `[0.5, 2)`, if it lies outside `[2^-16, 2^16]` (else 1). Ward linkage
/// commutes with scaling by it exactly (heights scale by `2^e`), and
/// clustering `x / 2^e` keeps the squared distances clear of overflow (rows
/// of 1e154 in f64, 1e19 in f32) and underflow (1e-30 in f32).
fn exact_scale<F: Scalar>(x: ArrayView2<'_, F>) -> f64 {
    let max = x
        .iter()
        .map(|v| v.to_f64_lossless().abs())
        .fold(0.0_f64, f64::max);
    if !(max > 0.0 && max.is_finite()) || (2f64.powi(-16)..=2f64.powi(16)).contains(&max) {
        return 1.0;
    }
    // max / scale ends in [0.5, 2); scale <= max / 2 before each doubling,
    // so it never overflows (a max near f64::MAX gave an infinite scale)
    let mut scale = 1.0_f64;
    while max / scale >= 2.0 {
        scale *= 2.0;
    }
    while max / scale < 0.5 {
        scale /= 2.0;
    }
    scale
}

fn linkage_of<F: Scalar>(
    py: Python<'_>,
    x: ArrayView2<'_, F>,
    weights: Option<ArrayView1<'_, F>>,
    ward: Ward,
) -> PyResult<Array2<f64>> {
    let scale = exact_scale(x);
    let scaled =
        (scale != 1.0).then(|| x.mapv(|v| F::from_f64_rounded(v.to_f64_lossless() / scale)));
    let x = scaled.as_ref().map_or(x, |s| s.view());
    let tree: Dendrogram<F> = py
        .detach(|| match weights {
            None => ward.linkage(x),
            Some(w) => ward.linkage_weighted(x, w),
        })
        .map_err(value_error)?;
    let mut z = tree.to_scipy();
    z.column_mut(2).mapv_inplace(|h| h * scale);
    if let Some((t, h)) = z.column(2).iter().enumerate().find(|(_, h)| !h.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "merge {t} has height {h}: the Ward distance overflows the data type \
             (rows too large, or weights too large); rescale X or the weights"
        )));
    }
    Ok(z)
}

/// `linkage(x, weights, lean)`: Ward linkage of a float32/float64 matrix in
/// scipy's format (heights = sqrt of the paper's distances). `weights`, if
/// given, has the dtype of `x` (the wrapper converts it).
#[pyfunction]
#[pyo3(signature = (x, weights=None, lean=None))]
fn linkage<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    weights: Option<&Bound<'py, PyAny>>,
    lean: Option<bool>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let ward = ward_for(lean);
    let z = if let Ok(x) = x.extract::<PyReadonlyArray2<'py, f64>>() {
        let w = weights
            .map(|w| w.extract::<PyReadonlyArray1<'py, f64>>())
            .transpose()?;
        linkage_of(py, x.as_array(), w.as_ref().map(|w| w.as_array()), ward)?
    } else if let Ok(x) = x.extract::<PyReadonlyArray2<'py, f32>>() {
        let w = weights
            .map(|w| w.extract::<PyReadonlyArray1<'py, f32>>())
            .transpose()?;
        linkage_of(py, x.as_array(), w.as_ref().map(|w| w.as_array()), ward)?
    } else {
        return Err(PyTypeError::new_err(
            "x must be a 2-D numpy array of float32 or float64",
        ));
    };
    Ok(z.into_pyarray(py))
}

// ---------------------------------------------------------------- configuration

fn timestamp_unit(name: &str) -> PyResult<TimestampUnit> {
    Ok(match name {
        "s" | "seconds" => TimestampUnit::Seconds,
        "ms" | "milliseconds" => TimestampUnit::Milliseconds,
        "us" | "microseconds" => TimestampUnit::Microseconds,
        "ns" | "nanoseconds" => TimestampUnit::Nanoseconds,
        other => {
            return Err(PyValueError::new_err(format!(
                "time_unit {other:?} is not one of 's', 'ms', 'us', 'ns'"
            )))
        }
    })
}

fn decay_unit(name: &str) -> PyResult<TimeUnit> {
    Ok(match name {
        "second" => TimeUnit::Second,
        "minute" => TimeUnit::Minute,
        "hour" => TimeUnit::Hour,
        "day" => TimeUnit::Day,
        "week" => TimeUnit::Week,
        other => {
            return Err(PyValueError::new_err(format!(
                "lambda_unit {other:?} is not one of 'second', 'minute', 'hour', 'day', 'week'"
            )))
        }
    })
}

/// A validated PinnerSage configuration (the core's `PinnerSage`).
#[pyclass(frozen, module = "pinnersage._pinnersage")]
struct Config {
    inner: PinnerSage,
}

#[pymethods]
impl Config {
    #[new]
    #[pyo3(signature = (alpha, n_clusters, lambda_, lambda_unit, window_seconds, time_unit,
                        max_history, max_clusters, unknown_items))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        alpha: f64,
        n_clusters: Option<usize>,
        lambda_: f64,
        lambda_unit: &str,
        window_seconds: Option<f64>,
        time_unit: &str,
        max_history: Option<usize>,
        max_clusters: Option<usize>,
        unknown_items: &str,
    ) -> PyResult<Self> {
        let window = match window_seconds {
            None => None,
            Some(s) => Some(Duration::try_from_secs_f64(s).map_err(|_| {
                PyValueError::new_err(format!(
                    "window of {s} seconds is invalid: it must be finite and >= 0"
                ))
            })?),
        };
        let unknown = match unknown_items {
            "skip" => UnknownItems::Skip,
            "raise" | "error" => UnknownItems::Error,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown_items {other:?} is not 'skip' or 'raise'"
                )))
            }
        };
        let mut builder = PinnerSage::builder()
            .alpha(alpha)
            .lambda(lambda_, decay_unit(lambda_unit)?)
            .timestamps(timestamp_unit(time_unit)?)
            .window(window)
            .max_history(max_history)
            .max_clusters(max_clusters)
            .unknown_items(unknown);
        if let Some(k) = n_clusters {
            builder = builder.target_clusters(k);
        }
        Ok(Config {
            inner: builder.build().map_err(value_error)?,
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

// ---------------------------------------------------------------- embeddings

/// A catalogue matrix borrowed from numpy: row `r` is the item `r`, or the
/// item `ids[r]` when ids are given. Unknown ids (out of range, negative,
/// not in `ids`) are unknown items, handled by the configuration's policy.
struct Catalog<'a, F> {
    x: ArrayView2<'a, F>,
    rows: Option<HashMap<i64, usize>>,
}

impl<'a, F: Scalar> Catalog<'a, F> {
    fn new(x: ArrayView2<'a, F>, ids: Option<ArrayView1<'_, i64>>) -> PyResult<Self> {
        let rows = match ids {
            None => None,
            Some(ids) => {
                if ids.len() != x.nrows() {
                    return Err(PyValueError::new_err(format!(
                        "item_ids has {} entries for {} embedding rows",
                        ids.len(),
                        x.nrows()
                    )));
                }
                let mut rows = HashMap::with_capacity(ids.len());
                for (r, &id) in ids.iter().enumerate() {
                    if rows.insert(id, r).is_some() {
                        return Err(PyValueError::new_err(format!(
                            "duplicate item id {id} at row {r} of item_ids"
                        )));
                    }
                }
                Some(rows)
            }
        };
        Ok(Catalog { x, rows })
    }
}

impl<F: Scalar> EmbeddingSource for Catalog<'_, F> {
    type Id = i64;
    type Elem = F;

    fn dim(&self) -> usize {
        self.x.ncols()
    }

    fn fill(&self, id: &i64, out: &mut [F]) -> pinnersage::Result<bool> {
        let row = match &self.rows {
            Some(rows) => rows.get(id).copied(),
            None => usize::try_from(*id).ok().filter(|&r| r < self.x.nrows()),
        };
        let Some(row) = row else {
            return Ok(false);
        };
        for (o, &v) in out.iter_mut().zip(self.x.row(row)) {
            *o = v;
        }
        Ok(true)
    }
}

// ---------------------------------------------------------------- profiles

fn actions_of(
    items: ArrayView1<'_, i64>,
    timestamps: ArrayView1<'_, i64>,
) -> PyResult<Vec<Action<i64>>> {
    if items.len() != timestamps.len() {
        return Err(PyValueError::new_err(format!(
            "items has {} entries but timestamps has {}",
            items.len(),
            timestamps.len()
        )));
    }
    Ok(items
        .iter()
        .zip(timestamps)
        .map(|(&i, &t)| Action::new(i, t))
        .collect())
}

fn profile_dict<'py, F: Scalar + numpy::Element>(
    py: Python<'py>,
    p: &UserProfile<i64, F>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("as_of", p.as_of())?;
    d.set_item("threshold", p.threshold())?;
    d.set_item("dim", p.dim())?;
    let h = p.history();
    let hist = PyDict::new(py);
    hist.set_item("actions", h.actions)?;
    hist.set_item("outside_window", h.outside_window)?;
    hist.set_item("unknown_actions", h.unknown_actions)?;
    hist.set_item("unknown_items", h.unknown_items)?;
    hist.set_item("over_cap", h.over_cap)?;
    hist.set_item("used_actions", h.used_actions)?;
    hist.set_item("dropped_clusters", h.dropped_clusters)?;
    hist.set_item("dropped_actions", h.dropped_actions)?;
    d.set_item("history", hist)?;
    let clusters = PyList::empty(py);
    for c in p.clusters() {
        let cd = PyDict::new(py);
        cd.set_item("medoid", *c.medoid())?;
        cd.set_item("importance", c.importance())?;
        cd.set_item("size", c.size())?;
        cd.set_item("actions", c.action_count())?;
        cd.set_item("last_action", c.last_action())?;
        let members: Array1<i64> = c.members().iter().map(|m| m.item).collect();
        let counts: Array1<u64> = c.members().iter().map(|m| m.actions).collect();
        cd.set_item("members", members.into_pyarray(py))?;
        cd.set_item("member_actions", counts.into_pyarray(py))?;
        cd.set_item(
            "medoid_embedding",
            c.medoid_embedding().to_owned().into_pyarray(py),
        )?;
        cd.set_item("centroid", c.centroid().to_owned().into_pyarray(py))?;
        clusters.append(cd)?;
    }
    d.set_item("clusters", clusters)?;
    Ok(d)
}

fn profile_of<'py, F: Scalar + numpy::Element>(
    py: Python<'py>,
    config: &PinnerSage,
    actions: &[Action<i64>],
    catalog: &Catalog<'_, F>,
    now: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let p = py
        .detach(|| config.profile(actions, catalog, now))
        .map_err(value_error)?;
    profile_dict(py, &p)
}

/// `profile(config, items, timestamps, embeddings, item_ids, now)`: one
/// user's profile as a dict (the wrapper turns it into a `Profile`).
#[pyfunction]
#[pyo3(signature = (config, items, timestamps, embeddings, item_ids, now))]
fn profile<'py>(
    py: Python<'py>,
    config: &Config,
    items: PyReadonlyArray1<'py, i64>,
    timestamps: PyReadonlyArray1<'py, i64>,
    embeddings: &Bound<'py, PyAny>,
    item_ids: Option<PyReadonlyArray1<'py, i64>>,
    now: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let actions = actions_of(items.as_array(), timestamps.as_array())?;
    let ids = item_ids.as_ref().map(|i| i.as_array());
    if let Ok(e) = embeddings.extract::<PyReadonlyArray2<'py, f64>>() {
        let catalog = Catalog::new(e.as_array(), ids)?;
        profile_of(py, &config.inner, &actions, &catalog, now)
    } else if let Ok(e) = embeddings.extract::<PyReadonlyArray2<'py, f32>>() {
        let catalog = Catalog::new(e.as_array(), ids)?;
        profile_of(py, &config.inner, &actions, &catalog, now)
    } else {
        Err(PyTypeError::new_err(
            "embeddings must be a 2-D numpy array of float32 or float64",
        ))
    }
}

/// The columns of a batch result, filled user by user in ascending user id.
#[derive(Default)]
struct Columns {
    user: Vec<i64>,
    rank: Vec<i64>,
    medoid: Vec<i64>,
    importance: Vec<f64>,
    size: Vec<i64>,
    actions: Vec<i64>,
    last_action: Vec<i64>,
    member_offsets: Vec<i64>,
    members: Vec<i64>,
    member_actions: Vec<i64>,
}

/// A log grouped by user: `histories[k]` are the actions of `users[k]`
/// (users ascending).
struct Grouped {
    users: Vec<i64>,
    histories: Vec<Vec<Action<i64>>>,
}

fn profiles_of<'py, F: Scalar + numpy::Element>(
    py: Python<'py>,
    config: &PinnerSage,
    log: &Grouped,
    catalog: &Catalog<'_, F>,
    now: i64,
    opts: BatchOptions,
) -> PyResult<Bound<'py, PyDict>> {
    let BatchOptions {
        threads,
        members,
        skip_errors,
    } = opts;
    let results = py.detach(|| -> PyResult<_> {
        let run = || config.profiles(&log.histories, catalog, now);
        match threads {
            None => Ok(run()),
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| PyValueError::new_err(format!("thread pool: {e}")))?;
                Ok(pool.install(run))
            }
        }
    })?;
    let mut cols = Columns::default();
    cols.member_offsets.push(0);
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut failed_user: Vec<i64> = Vec::new();
    let mut failed_reason: Vec<String> = Vec::new();
    for (&user, result) in log.users.iter().zip(results) {
        let p = match result {
            Ok(p) => p,
            Err(e) if skip_errors => {
                failed_user.push(user);
                failed_reason.push(e.to_string());
                continue;
            }
            Err(e) => {
                return Err(PyValueError::new_err(format!(
                    "user {user}: {e} (errors=\"skip\" profiles the other users and lists \
                     the failures in failed_user / failed_reason)"
                )))
            }
        };
        for (rank, c) in p.clusters().iter().enumerate() {
            cols.user.push(user);
            cols.rank.push(count(rank));
            cols.medoid.push(*c.medoid());
            cols.importance.push(c.importance());
            cols.size.push(count(c.size()));
            cols.actions.push(as_i64(c.action_count()));
            cols.last_action.push(c.last_action());
            if members {
                cols.members.extend(c.members().iter().map(|m| m.item));
                cols.member_actions
                    .extend(c.members().iter().map(|m| as_i64(m.actions)));
                cols.member_offsets.push(count(cols.members.len()));
            }
        }
    }
    let d = PyDict::new(py);
    d.set_item("user", cols.user.into_pyarray(py))?;
    d.set_item("rank", cols.rank.into_pyarray(py))?;
    d.set_item("medoid", cols.medoid.into_pyarray(py))?;
    d.set_item("importance", cols.importance.into_pyarray(py))?;
    d.set_item("size", cols.size.into_pyarray(py))?;
    d.set_item("actions", cols.actions.into_pyarray(py))?;
    d.set_item("last_action", cols.last_action.into_pyarray(py))?;
    if members {
        d.set_item("member_offsets", cols.member_offsets.into_pyarray(py))?;
        d.set_item("members", cols.members.into_pyarray(py))?;
        d.set_item("member_actions", cols.member_actions.into_pyarray(py))?;
    }
    if skip_errors {
        d.set_item("failed_user", failed_user.into_pyarray(py))?;
        d.set_item("failed_reason", failed_reason)?;
    }
    Ok(d)
}

/// How `profiles` runs and what it returns besides the clusters.
#[derive(Clone, Copy)]
struct BatchOptions {
    /// Threads of the pool (`None`: rayon's global pool).
    threads: Option<usize>,
    /// Also return the member columns.
    members: bool,
    /// List failing users instead of raising on the first.
    skip_errors: bool,
}

/// The largest `threads` a batch accepts.
const MAX_THREADS: usize = 1024;

/// `profiles(config, users, items, timestamps, embeddings, item_ids, now,
/// threads, members, skip_errors)`: every user of a flat action log,
/// profiled in parallel; a dict of columns, one row per (user, cluster),
/// plus `failed_user` / `failed_reason` with `skip_errors`.
#[pyfunction]
#[pyo3(signature = (config, users, items, timestamps, embeddings, item_ids, now, threads, members, skip_errors))]
#[allow(clippy::too_many_arguments)]
fn profiles<'py>(
    py: Python<'py>,
    config: &Config,
    users: PyReadonlyArray1<'py, i64>,
    items: PyReadonlyArray1<'py, i64>,
    timestamps: PyReadonlyArray1<'py, i64>,
    embeddings: &Bound<'py, PyAny>,
    item_ids: Option<PyReadonlyArray1<'py, i64>>,
    now: i64,
    threads: Option<usize>,
    members: bool,
    skip_errors: bool,
) -> PyResult<Bound<'py, PyDict>> {
    if threads == Some(0) {
        return Err(PyValueError::new_err(
            "threads is 0: use at least 1, or None for all",
        ));
    }
    if let Some(n) = threads.filter(|&n| n > MAX_THREADS) {
        return Err(PyValueError::new_err(format!(
            "threads is {n}: at most {MAX_THREADS}"
        )));
    }
    let users = users.as_array();
    let actions = actions_of(items.as_array(), timestamps.as_array())?;
    if users.len() != actions.len() {
        return Err(PyValueError::new_err(format!(
            "users has {} entries but items has {}",
            users.len(),
            actions.len()
        )));
    }
    // group by user (stable: a user's actions keep their order)
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.sort_by_key(|&i| users[i]);
    let mut log = Grouped {
        users: Vec::new(),
        histories: Vec::new(),
    };
    for &i in &order {
        if log.users.last() != Some(&users[i]) {
            log.users.push(users[i]);
            log.histories.push(Vec::new());
        }
        if let Some(h) = log.histories.last_mut() {
            h.push(actions[i]);
        }
    }
    // no more threads than users: a thread pool of idle threads is waste
    let threads = threads.map(|n| n.min(log.users.len()).max(1));
    let item_ids = item_ids.as_ref().map(|i| i.as_array());
    let opts = BatchOptions {
        threads,
        members,
        skip_errors,
    };
    if let Ok(e) = embeddings.extract::<PyReadonlyArray2<'py, f64>>() {
        let catalog = Catalog::new(e.as_array(), item_ids)?;
        profiles_of(py, &config.inner, &log, &catalog, now, opts)
    } else if let Ok(e) = embeddings.extract::<PyReadonlyArray2<'py, f32>>() {
        let catalog = Catalog::new(e.as_array(), item_ids)?;
        profiles_of(py, &config.inner, &log, &catalog, now, opts)
    } else {
        Err(PyTypeError::new_err(
            "embeddings must be a 2-D numpy array of float32 or float64",
        ))
    }
}

// ---------------------------------------------------------------- retrieval

/// `select(importances, n, strategy, seed)`: interest indices chosen by the
/// crate's `Selection` (sample: without replacement, proportional to
/// importance, Xoshiro256++ seeded with `seed`).
#[pyfunction]
#[pyo3(signature = (importances, n, strategy, seed))]
fn select<'py>(
    py: Python<'py>,
    importances: PyReadonlyArray1<'py, f64>,
    n: usize,
    strategy: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let selection = match strategy {
        "sample" => Selection::Sample { n },
        "top" => Selection::TopK { n },
        "all" => Selection::All,
        other => {
            return Err(PyValueError::new_err(format!(
                "strategy {other:?} is not 'sample', 'top' or 'all'"
            )))
        }
    };
    let w = importances.as_array().to_vec();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let picked = selection.select(&w, &mut rng).map_err(value_error)?;
    let picked: Vec<i64> = picked.into_iter().map(count).collect();
    Ok(picked.into_pyarray(py))
}

/// `product_kernel()`: the product kernel of the Ward matrix path on this
/// CPU and its instruction set (`pinnersage::ward::product_kernel`).
#[pyfunction]
fn product_kernel() -> String {
    pinnersage::ward::product_kernel()
}

/// The native module `pinnersage._pinnersage`.
#[pymodule]
fn _pinnersage(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Config>()?;
    m.add_function(wrap_pyfunction!(linkage, m)?)?;
    m.add_function(wrap_pyfunction!(profile, m)?)?;
    m.add_function(wrap_pyfunction!(profiles, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(product_kernel, m)?)?;
    m.add("DEFAULT_ALPHA", pinnersage::DEFAULT_ALPHA)?;
    Ok(())
}
