"""PinnerSage from Python: exact Ward linkage and multi-interest user profiles.

A thin layer over the Rust crate ``pinnersage`` (Pal et al., *PinnerSage:
Multi-Modal User Embedding Framework for Recommendations at Pinterest*,
KDD 2020). numpy in, numpy out; the GIL is released during every computation.

* :func:`linkage` -- Ward agglomerative clustering of the rows of a matrix, a
  drop-in for ``scipy.cluster.hierarchy.linkage(X, 'ward')`` and
  ``fastcluster.linkage(X, 'ward')`` (same format, same heights).
* :class:`PinnerSage` -- a validated configuration; :meth:`PinnerSage.profile`
  turns one user's actions into a :class:`Profile` (interest clusters with a
  medoid item and a time-decayed importance); :meth:`PinnerSage.profiles`
  does a whole action log at once, in parallel, and returns columns.
* :func:`select_interests` / :meth:`Profile.sample_medoids` -- the retrieval
  step's medoid sampling (proportional to importance, seeded).

Distances. Ward merge heights here are scipy's: the square root of the
paper's (and the Rust crate's) merge distance
``2*|A||B|/(|A|+|B|) * ||mu_A - mu_B||**2``. The threshold ``alpha`` of
:class:`PinnerSage` is in the paper's convention, so it corresponds to
``sqrt(alpha)`` in ``fcluster(Z, t, 'distance')``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _pinnersage as _native

__all__ = [
    "linkage",
    "ward",
    "PinnerSage",
    "Profile",
    "Cluster",
    "select_interests",
    "product_kernel",
    "DEFAULT_ALPHA",
]

__version__ = "0.1.0"

#: The default merge threshold alpha (paper convention) for L2-normalised embeddings.
DEFAULT_ALPHA: float = float(_native.DEFAULT_ALPHA)

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _float_matrix(x: Any, name: str) -> np.ndarray:
    """``x`` as a 2-D float32/float64 array, without copying a numpy array."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.dtype.newbyteorder("=") in _FLOATS:
        # non-native byte order (e.g. '>f8' read from a file): a native copy
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
    if arr.dtype not in _FLOATS:
        raise TypeError(
            f"{name} must be float32 or float64, got dtype {arr.dtype} "
            f"(convert with .astype(numpy.float64))"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x dimensions), got {arr.ndim}-D")
    return arr


def _int_column(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D int64 array (integer dtypes only; pandas columns accepted)."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {arr.ndim}-D")
    if arr.size == 0 and arr.dtype.kind in "fiub":
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} has a value above the int64 range")
    return np.ascontiguousarray(arr, dtype=np.int64)


_I64 = (-(2**63), 2**63 - 1)


def _now(now: Any) -> int:
    if isinstance(now, (bool, np.bool_)) or not isinstance(now, (int, np.integer)):
        raise TypeError(f"now must be an integer timestamp, got {type(now).__name__}")
    if not _I64[0] <= int(now) <= _I64[1]:
        raise ValueError(f"now = {int(now)} is outside the int64 range of timestamps")
    return int(now)


def _count(v: Any, name: str, none_ok: bool = True) -> Optional[int]:
    """``v`` as an int in [1, 2**63) (or None): a ValueError otherwise, never an OverflowError."""
    if v is None and none_ok:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not 0 <= v < 2**63:
        allowed = "None or an integer" if none_ok else "an integer"
        raise ValueError(f"{name} must be {allowed} in [1, 2**63), got {v!r}")
    return int(v)


def linkage(
    X: Any,
    method: str = "ward",
    weights: Optional[Any] = None,
    lean: Optional[bool] = None,
) -> np.ndarray:
    """Ward agglomerative clustering of the rows of ``X``, in scipy's format.

    A drop-in for ``scipy.cluster.hierarchy.linkage(X, 'ward')`` and
    ``fastcluster.linkage(X, 'ward')``: the result works with ``fcluster``,
    ``dendrogram``, ``cophenet``. Computed exactly (Lance-Williams Ward
    update) by the Rust crate: Gram-matrix distances, then Muellner's generic
    algorithm; repeated rows are collapsed into weighted rows first.

    Parameters
    ----------
    X : array_like, shape (n, d)
        One observation per row, float32 or float64, C or Fortran order (a
        contiguous numpy array is read in place, never copied), all finite.
        float32 input is clustered in float32.
    method : str
        Only ``"ward"``.
    weights : array_like, shape (n,), optional
        Multiplicities: a row of weight ``w`` behaves as ``w`` coincident rows
        (finite, > 0; need not be integers). Converted to the dtype of ``X``.
    lean : bool, optional
        ``None`` (default): the matrix path while its condensed matrix fits
        256 MiB (8192 rows in float64, 11585 in float32), the memory-lean
        nearest-neighbour chain (O(n*d) memory) above. ``True``: always the
        lean path. ``False``: always the matrix path (an error over the budget).

    Returns
    -------
    numpy.ndarray, shape (n - 1, 4), float64
        Rows ``[a, b, height, size]``: clusters ``a < b`` merge at ``height``
        (scipy's: the square root of the paper's Ward distance) into cluster
        ``n + i`` of ``size`` observations; heights non-decreasing. With one
        row, an empty (0, 4) array. With exactly tied distances the order of
        tied merges may differ from scipy's (every merge is still a minimum).

    Raises
    ------
    TypeError
        ``X`` (or ``weights``) is not a float32/float64 array.
    ValueError
        Wrong number of dimensions, no rows, no columns, a NaN or infinite
        value (the message names its row and column), a bad weight, a
        ``method`` other than ``"ward"``, a forced matrix path over budget.

    Examples
    --------
    >>> import numpy as np, pinnersage
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 2.0]])
    >>> pinnersage.linkage(X)[:, 2].round(4).tolist()   # heights: sqrt(1), sqrt(4), sqrt(50.5)
    [1.0, 2.0, 7.1063]
    """
    if method != "ward":
        raise ValueError(f"method {method!r} is not supported: only 'ward'")
    if lean is not None and not isinstance(lean, (bool, np.bool_)):
        raise TypeError("lean must be None, True or False")
    arr = _float_matrix(X, "X")
    w = None
    if weights is not None:
        w = np.asarray(weights)
        if w.dtype.kind not in "fiu":
            raise TypeError(f"weights must be numbers, got dtype {w.dtype}")
        if w.ndim != 1:
            raise ValueError(f"weights must be 1-D, got {w.ndim}-D")
        w = w.astype(arr.dtype, copy=False)
    return _native.linkage(arr, w, None if lean is None else bool(lean))


def product_kernel() -> str:
    """The product kernel of :func:`linkage`'s distance pass on this CPU.

    For reports and benchmark tables: ``"avx512-tiles/avx512f"`` (the crate's
    AVX-512 register tiles), ``"gemm/avx2+fma"``, ``"gemm/neon"`` or
    ``"gemm/portable"`` (the ``gemm`` crate), or ``"matrixmultiply/..."``
    (the portable reference). Chosen once per process, at the first
    :func:`linkage` or call of this function: the kernel named by the
    environment variable ``PINNERSAGE_KERNEL`` (``avx512-tiles``, ``gemm``,
    ``matrixmultiply``; any case) if this CPU runs it, otherwise the fastest
    this CPU runs. An unknown name, or a kernel this CPU lacks, is ignored
    without an error: this function tells which kernel really runs. Results
    do not depend on it beyond rounding.

    >>> import pinnersage
    >>> pinnersage.product_kernel().split("/")[0] in ("avx512-tiles", "gemm", "matrixmultiply")
    True
    """
    return str(_native.product_kernel())


def ward(X: Any, weights: Optional[Any] = None, lean: Optional[bool] = None) -> np.ndarray:
    """Ward linkage of the rows of ``X``: ``linkage(X, "ward", weights, lean)``.

    Named like ``scipy.cluster.hierarchy.ward``, but it takes the observation
    matrix (``n x d``), not a condensed distance matrix. See :func:`linkage`
    for the arguments, the result (scipy's format and heights) and the errors.

    Examples
    --------
    >>> import numpy as np, pinnersage
    >>> pinnersage.ward(np.array([[0.0], [1.0], [5.0]]))[:, 2].round(4).tolist()
    [1.0, 5.1962]
    """
    return linkage(X, "ward", weights=weights, lean=lean)


def select_interests(
    importances: Any, n: int = 3, strategy: str = "sample", seed: int = 0
) -> np.ndarray:
    """Indices of the interests that query the nearest-neighbour index.

    Parameters
    ----------
    importances : array_like, shape (k,)
        Each finite and >= 0 (e.g. ``profile.importances``).
    n : int
        How many to pick (>= 1; ignored by ``"all"``).
    strategy : {"sample", "top", "all"}
        ``"sample"`` (the paper's): ``n`` distinct indices drawn without
        replacement with probability proportional to importance
        (Efraimidis-Spirakis keys), in draw order; zero importances are never
        drawn while some is positive, and if all are zero the first ``n``
        indices are returned. ``"top"``: the ``n`` most important (ties: lower
        index). ``"all"``: every index, most important first.
    seed : int
        Seed of the generator (Xoshiro256++): the same seed gives the same draw,
        on every platform and in Rust.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        ``n`` is 0, an importance is negative or not finite, an unknown strategy.
    """
    w = np.ascontiguousarray(np.asarray(importances, dtype=np.float64))
    if w.ndim != 1:
        raise ValueError(f"importances must be 1-D, got {w.ndim}-D")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if not 0 <= n < 2**63:
        raise ValueError(f"n is {n}: it must be >= 1")
    if not 0 <= seed < 2**64:
        raise ValueError("seed must be in [0, 2**64)")
    return _native.select(w, int(n), strategy, int(seed))


@dataclass(frozen=True)
class Cluster:
    """One interest of a user: a cluster of the items the user acted on.

    Attributes
    ----------
    medoid : int
        The member item nearest the action-weighted centroid (the medoid;
        ties: smallest id): the query for retrieval.
    importance : float
        ``sum(exp(-lambda * (now - t)))`` over the cluster's actions.
    size : int
        Number of distinct member items.
    actions : int
        Number of actions in the cluster (repeats counted).
    last_action : int
        Timestamp of the most recent action.
    members : numpy.ndarray of int64
        Member items, ascending.
    member_actions : numpy.ndarray of uint64
        Number of actions on each member.
    medoid_embedding : numpy.ndarray
        The medoid's embedding (dtype of the catalogue).
    centroid : numpy.ndarray
        The action-weighted centroid of the members' embeddings.
    """

    medoid: int
    importance: float
    size: int
    actions: int
    last_action: int
    members: np.ndarray = field(repr=False)
    member_actions: np.ndarray = field(repr=False)
    medoid_embedding: np.ndarray = field(repr=False)
    centroid: np.ndarray = field(repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """The cluster as a dict of plain Python values (lists for arrays)."""
        return {
            "medoid": self.medoid,
            "importance": self.importance,
            "size": self.size,
            "actions": self.actions,
            "last_action": self.last_action,
            "members": self.members.tolist(),
            "member_actions": self.member_actions.tolist(),
            "medoid_embedding": self.medoid_embedding.tolist(),
            "centroid": self.centroid.tolist(),
        }


@dataclass(frozen=True)
class Profile:
    """A user's interests as of ``as_of``: the result of :meth:`PinnerSage.profile`.

    Iterable and indexable over its :class:`Cluster` s, most important first
    (ties: most recent action, then smallest medoid). Picklable.

    Attributes
    ----------
    clusters : list of Cluster
    as_of : int
        The ``now`` the importances refer to.
    threshold : float or None
        The cut threshold (paper convention): alpha, or with ``n_clusters`` the
        largest merge distance applied (None if none).
    dim : int
        Embedding dimension.
    history : dict
        What was used and left out: ``actions``, ``outside_window``,
        ``unknown_actions``, ``unknown_items``, ``over_cap``, ``used_actions``,
        ``dropped_clusters``, ``dropped_actions``.
    """

    clusters: List[Cluster]
    as_of: int
    threshold: Optional[float]
    dim: int
    history: Dict[str, int]

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "Profile":
        return cls(
            clusters=[Cluster(**c) for c in d["clusters"]],
            as_of=d["as_of"],
            threshold=d["threshold"],
            dim=d["dim"],
            history=dict(d["history"]),
        )

    def __len__(self) -> int:
        return len(self.clusters)

    def __iter__(self):
        return iter(self.clusters)

    def __getitem__(self, i: int) -> Cluster:
        return self.clusters[i]

    @property
    def medoids(self) -> np.ndarray:
        """The medoid of each cluster (int64), most important first."""
        return np.array([c.medoid for c in self.clusters], dtype=np.int64)

    @property
    def importances(self) -> np.ndarray:
        """The importance of each cluster (float64), descending."""
        return np.array([c.importance for c in self.clusters], dtype=np.float64)

    @property
    def medoid_embeddings(self) -> np.ndarray:
        """The medoids' embeddings stacked, shape (clusters, dim): retrieval queries."""
        if not self.clusters:
            return np.zeros((0, self.dim))
        return np.stack([c.medoid_embedding for c in self.clusters])

    def sample_medoids(self, n: int = 3, seed: int = 0, strategy: str = "sample") -> np.ndarray:
        """Medoids to query the index with: ``n`` drawn in proportion to importance.

        See :func:`select_interests` for the strategies; returns the medoid item
        ids (int64) in draw order. Same seed, same draw.
        """
        if not self.clusters:
            return np.zeros(0, dtype=np.int64)
        picked = select_interests(self.importances, n=n, strategy=strategy, seed=seed)
        return self.medoids[picked]

    def to_dict(self) -> Dict[str, Any]:
        """The profile as a dict of plain Python values (JSON-serialisable)."""
        return {
            "as_of": self.as_of,
            "threshold": self.threshold,
            "dim": self.dim,
            "history": dict(self.history),
            "clusters": [c.to_dict() for c in self.clusters],
        }


_TimeLike = Union[None, float, int, _dt.timedelta]


class PinnerSage:
    """The PinnerSage method, configured (validated on construction).

    Parameters
    ----------
    alpha : float
        Merge threshold in the paper's convention (``scipy_height**2``): merges
        at distance <= alpha are applied. Default 4.0, chosen for
        L2-normalised embeddings (scale by ``r**2`` for norm ``r``).
    n_clusters : int, optional
        Cut into at most this many clusters instead of at ``alpha``.
    lambda_ : float
        Importance decay rate per ``lambda_unit`` (default 0.01 per day, the paper's).
    lambda_unit : {"second", "minute", "hour", "day", "week"}
    window : float (days), datetime.timedelta or None
        Keep actions at most this old (default 90 days); None keeps all.
    time_unit : {"s", "ms", "us", "ns"}
        Unit of the timestamps and of ``now`` (default Unix seconds).
    max_history : int, optional
        Keep only the most recent known actions.
    max_clusters : int, optional
        Keep only the most important clusters.
    unknown_items : {"skip", "raise"}
        An action on an item the catalogue lacks is skipped and counted
        (default) or an error.

    Raises
    ------
    ValueError
        A parameter breaks its rule (negative or non-finite alpha or lambda,
        zero cluster counts, a window shorter than one timestamp tick, ...).
    """

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        *,
        n_clusters: Optional[int] = None,
        lambda_: float = 0.01,
        lambda_unit: str = "day",
        window: _TimeLike = 90,
        time_unit: str = "s",
        max_history: Optional[int] = None,
        max_clusters: Optional[int] = None,
        unknown_items: str = "skip",
    ) -> None:
        self._params = dict(
            alpha=alpha,
            n_clusters=n_clusters,
            lambda_=lambda_,
            lambda_unit=lambda_unit,
            window=window,
            time_unit=time_unit,
            max_history=max_history,
            max_clusters=max_clusters,
            unknown_items=unknown_items,
        )
        if window is None:
            seconds = None
        elif isinstance(window, _dt.timedelta):
            seconds = window.total_seconds()
        elif isinstance(window, (bool, np.bool_)) or not isinstance(
            window, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"window must be a number of days, a datetime.timedelta or None, "
                f"got {type(window).__name__}"
            )
        else:
            seconds = float(window) * 86400.0
        counts = {
            name: _count(self._params[name], name)
            for name in ("n_clusters", "max_history", "max_clusters")
        }
        for name in ("alpha", "lambda_"):
            v = self._params[name]
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        for name in ("lambda_unit", "time_unit", "unknown_items"):
            if not isinstance(self._params[name], str):
                raise TypeError(f"{name} must be a str, got {type(self._params[name]).__name__}")
        self._config = _native.Config(
            float(alpha),
            counts["n_clusters"],
            float(lambda_),
            lambda_unit,
            seconds,
            time_unit,
            counts["max_history"],
            counts["max_clusters"],
            unknown_items,
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"PinnerSage({args})"

    def __reduce__(self):
        return (_rebuild_pinnersage, (dict(self._params),))

    def get_params(self) -> Dict[str, Any]:
        """The constructor's arguments."""
        return dict(self._params)

    def profile(
        self,
        items: Any,
        timestamps: Any,
        embeddings: Any,
        now: int,
        *,
        item_ids: Optional[Any] = None,
    ) -> Profile:
        """One user's interest profile as of ``now``.

        Parameters
        ----------
        items : array_like of int, shape (n,)
            The item of each action (any order; repeats count).
        timestamps : array_like of int, shape (n,)
            Each action's time in ``time_unit``; none later than ``now``.
        embeddings : numpy.ndarray, shape (items, d), float32 or float64
            The catalogue: row ``r`` is item ``r`` (or item ``item_ids[r]``).
            Read in place; only the user's items are looked up.
        now : int
            The time importances refer to (no clock is read).
        item_ids : array_like of int, shape (items,), optional
            The item id of each catalogue row, for sparse ids.

        Returns
        -------
        Profile
            Clusters sorted by importance; empty for an empty history or one
            of unknown items only.

        Raises
        ------
        ValueError
            An action later than ``now``; a non-empty history entirely outside
            the window; an unknown item with ``unknown_items="raise"``; a NaN
            in a used embedding; mismatched lengths.
        TypeError
            Non-integer items/timestamps, non-float embeddings.
        """
        it = _int_column(items, "items")
        ts = _int_column(timestamps, "timestamps")
        emb = _float_matrix(embeddings, "embeddings")
        ids = None if item_ids is None else _int_column(item_ids, "item_ids")
        d = _native.profile(self._config, it, ts, emb, ids, _now(now))
        return Profile._from_native(d)

    def profiles(
        self,
        users: Any,
        items: Any,
        timestamps: Any,
        embeddings: Any,
        now: int,
        *,
        item_ids: Optional[Any] = None,
        threads: Optional[int] = None,
        members: bool = False,
        errors: str = "raise",
    ) -> Dict[str, Any]:
        """Profiles of every user of a flat action log, in parallel, as columns.

        Each user's clusters are exactly :meth:`profile` of that user's
        actions. The log needs no sorting. Runs on Rust threads (rayon) with
        the GIL released.

        Parameters
        ----------
        users, items, timestamps : array_like of int, shape (n,)
            One row per action (numpy arrays or pandas columns).
        embeddings, now, item_ids
            As in :meth:`profile`.
        threads : int, optional
            Number of threads, 1 to 1024 (default: all cores; 1 for a Spark/Dask task
            that already owns one core).
        members : bool
            Also return the members: ``members`` and ``member_actions`` (flat)
            with ``member_offsets`` (length rows + 1): the members of row ``i``
            are ``members[member_offsets[i]:member_offsets[i + 1]]``.
        errors : {"raise", "skip"}
            ``"raise"`` (default): the first failing user raises ``ValueError``
            and nothing is returned. ``"skip"``: failing users get no rows and
            are listed in ``failed_user`` (int64) and ``failed_reason`` (a list
            of messages, the same order) -- e.g. users with no action in the
            window, common in a real log; use it in Spark/Ray/Dask maps.

        Returns
        -------
        dict of str to numpy.ndarray
            One row per (user, cluster), users ascending, clusters by rank:
            ``user``, ``rank`` (0 = most important), ``medoid``, ``importance``
            (float64), ``size`` (distinct items), ``actions``, ``last_action``
            (int64). ``pandas.DataFrame(result)`` makes a frame (without the
            member and ``failed_*`` entries, whose lengths differ).

        Raises
        ------
        ValueError
            As :meth:`profile`, the message naming the user (with
            ``errors="raise"``); mismatched lengths; an unknown ``errors``.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
        us = _int_column(users, "users")
        it = _int_column(items, "items")
        ts = _int_column(timestamps, "timestamps")
        emb = _float_matrix(embeddings, "embeddings")
        ids = None if item_ids is None else _int_column(item_ids, "item_ids")
        if threads is not None and (
            isinstance(threads, (bool, np.bool_))
            or not isinstance(threads, (int, np.integer))
            or not 1 <= threads <= 1024
        ):
            raise ValueError(f"threads must be None or an integer in [1, 1024], got {threads!r}")
        return _native.profiles(
            self._config, us, it, ts, emb, ids, _now(now), threads, bool(members),
            errors == "skip",
        )


def _rebuild_pinnersage(params: Dict[str, Any]) -> PinnerSage:
    return PinnerSage(**params)
