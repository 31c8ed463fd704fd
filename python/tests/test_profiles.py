"""PinnerSage profiles from Python against the Rust crate's (a fixture made by
`cargo run --release -p pinnersage-python --example make_fixture -- python/tests/fixtures`)."""

import csv
import datetime as dt
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import pinnersage
from pinnersage import PinnerSage

FIX = Path(__file__).parent / "fixtures"
NOW = 1_700_000_000
DAY = 86_400

CONFIGS = {
    "default": PinnerSage(),
    "k3": PinnerSage(n_clusters=3, lambda_=0.05, lambda_unit="hour", window=None),
    "alpha1": PinnerSage(alpha=1.0, window=61, max_history=40, max_clusters=4),
}


@pytest.fixture(scope="module")
def log():
    emb = np.loadtxt(FIX / "embeddings.txt", dtype=np.float64)
    a = np.loadtxt(FIX / "actions.csv", delimiter=",", skiprows=1, dtype=np.int64)
    return emb, a[:, 0], a[:, 1], a[:, 2]


def expected(name, dtype):
    rows = []
    with open(FIX / f"expected_{name}_{dtype}.csv") as f:
        for r in csv.DictReader(f):
            members = [tuple(map(int, m.split(":"))) for m in r["members"].split()]
            rows.append(
                (
                    int(r["user"]), int(r["rank"]), int(r["medoid"]), float(r["importance"]),
                    int(r["size"]), int(r["actions"]), int(r["last_action"]), members,
                )
            )
    return rows


def flatten(user, profile):
    return [
        (user, rank, c.medoid, c.importance, c.size, c.actions, c.last_action,
         list(zip(c.members.tolist(), c.member_actions.tolist())))
        for rank, c in enumerate(profile)
    ]


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_profiles_equal_the_rust_crates(log, name, dtype):
    emb, users, items, ts = log
    emb = emb.astype(np.float32) if dtype == "f32" else emb
    config = CONFIGS[name]
    got = []
    for u in np.unique(users):
        sel = users == u
        p = config.profile(items[sel], ts[sel], emb, NOW)
        assert p.as_of == NOW and p.dim == emb.shape[1]
        for c in p:
            assert c.medoid_embedding.dtype == emb.dtype
            np.testing.assert_array_equal(c.medoid_embedding, emb[c.medoid])
        got += flatten(int(u), p)
    want = expected(name, dtype)
    assert len(want) > 100
    # the same code runs on the same numbers: equal, importances to the bit
    assert got == want


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_columnar_batch_equals_per_user_calls(log, name, threads):
    emb, users, items, ts = log
    config = CONFIGS[name]
    perm = np.random.default_rng(0).permutation(len(users))  # the log needs no sorting
    cols = config.profiles(users[perm], items[perm], ts[perm], emb, NOW, threads=threads, members=True)
    assert set(cols) == {
        "user", "rank", "medoid", "importance", "size", "actions", "last_action",
        "member_offsets", "members", "member_actions",
    }
    n = len(cols["user"])
    assert all(len(cols[k]) == n for k in ("rank", "medoid", "importance", "size"))
    assert len(cols["member_offsets"]) == n + 1
    assert cols["importance"].dtype == np.float64 and cols["user"].dtype == np.int64
    rows = []
    for i in range(n):
        lo, hi = cols["member_offsets"][i], cols["member_offsets"][i + 1]
        rows.append(
            (int(cols["user"][i]), int(cols["rank"][i]), int(cols["medoid"][i]),
             float(cols["importance"][i]), int(cols["size"][i]), int(cols["actions"][i]),
             int(cols["last_action"][i]),
             list(zip(cols["members"][lo:hi].tolist(), cols["member_actions"][lo:hi].tolist())))
        )
    assert rows == expected(name, "f64")
    plain = config.profiles(users, items, ts, emb, NOW)
    assert "members" not in plain
    np.testing.assert_array_equal(plain["medoid"], cols["medoid"])


def test_batch_accepts_pandas_columns(log):
    pd = pytest.importorskip("pandas")
    emb, users, items, ts = log
    df = pd.DataFrame({"user": users, "item": items, "ts": ts})
    cols = PinnerSage().profiles(df.user, df.item, df.ts, emb, NOW)
    frame = pd.DataFrame(cols)
    ref = PinnerSage().profiles(users, items, ts, emb, NOW)
    np.testing.assert_array_equal(frame["importance"].to_numpy(), ref["importance"])


def test_sparse_item_ids(log):
    emb, users, items, ts = log
    sel = users == 7
    rng = np.random.default_rng(1)
    order = rng.permutation(len(emb))
    ids = (np.arange(len(emb)) * 7919 + 10**12)[order]  # row r of the shuffled catalogue
    shuffled = emb[order]
    mapped = (np.arange(len(emb)) * 7919 + 10**12)[items[sel]]
    p = PinnerSage().profile(mapped, ts[sel], shuffled, NOW, item_ids=ids)
    q = PinnerSage().profile(items[sel], ts[sel], emb, NOW)
    assert [c.medoid for c in p] == [int(m) * 7919 + 10**12 for m in q.medoids]
    assert [c.importance for c in p] == [c.importance for c in q]
    with pytest.raises(ValueError, match="duplicate item id"):
        PinnerSage().profile(mapped, ts[sel], shuffled, NOW, item_ids=np.zeros(len(emb), dtype=np.int64))
    with pytest.raises(ValueError, match="item_ids has 3 entries"):
        PinnerSage().profile(mapped, ts[sel], shuffled, NOW, item_ids=[1, 2, 3])


def small():
    emb = np.array([[1.0, 0.0], [0.995, 0.0998], [0.0, 1.0], [0.0998, 0.995]], dtype=np.float32)
    items = np.array([0, 1, 2, 3, 3])
    ts = np.array([NOW - 50 * DAY, NOW - 40 * DAY, NOW - DAY, NOW, NOW])
    return items, ts, emb


def test_the_crates_doc_example():
    items, ts, emb = small()
    p = PinnerSage(alpha=1.0).profile(items, ts, emb, NOW)
    assert len(p) == 2
    top = p[0]
    assert (top.medoid, top.size, top.actions) == (3, 2, 3)
    assert abs(top.importance - (2.0 + np.exp(-0.01))) < 1e-12
    assert p.history["used_actions"] == 5


def test_unknown_items_skip_or_raise():
    items, ts, emb = small()
    items = np.append(items, 99)
    ts = np.append(ts, NOW)
    p = PinnerSage(alpha=1.0).profile(items, ts, emb, NOW)
    assert (p.history["unknown_actions"], p.history["unknown_items"]) == (1, 1)
    with pytest.raises(ValueError, match="item 99 has no embedding"):
        PinnerSage(alpha=1.0, unknown_items="raise").profile(items, ts, emb, NOW)
    # negative ids are unknown too
    p = PinnerSage(alpha=1.0).profile(np.array([-1, 0]), np.array([NOW, NOW]), emb, NOW)
    assert p.history["unknown_actions"] == 1


def test_empty_history_gives_an_empty_profile():
    _, _, emb = small()
    p = PinnerSage().profile(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), emb, NOW)
    assert len(p) == 0 and p.medoid_embeddings.shape == (0, 2)
    assert p.sample_medoids().size == 0
    cols = PinnerSage().profiles([], [], [], emb, NOW)
    assert all(len(v) == 0 for v in cols.values())


@pytest.mark.parametrize(
    "change,exc,match",
    [
        (lambda i, t, e: (i, t + 10, e), ValueError, "later than now"),
        (lambda i, t, e: (i, t - 400 * DAY, e), ValueError, "outside the window"),
        (lambda i, t, e: (i, t, np.where(np.arange(4)[:, None] == 2, np.nan, e)), ValueError, "NaN or infinity"),
        (lambda i, t, e: (i[:-1], t, e), ValueError, "items has 4 entries but timestamps has 5"),
        (lambda i, t, e: (i.astype(float), t, e), TypeError, "items must hold integers"),
        (lambda i, t, e: (i, t.astype(float), e), TypeError, "timestamps must hold integers"),
        (lambda i, t, e: (i, t, e.astype(np.int64)), TypeError, "embeddings must be float32 or float64"),
        (lambda i, t, e: (i, t, e[0]), ValueError, "embeddings must be 2-D"),
        (lambda i, t, e: (i[:, None], t, e), ValueError, "items must be 1-D"),
    ],
    ids=["future", "window", "nan", "lengths", "float-items", "float-ts", "int-emb", "1d-emb", "2d-items"],
)
def test_profile_bad_input(change, exc, match):
    items, ts, emb = change(*small())
    with pytest.raises(exc, match=match):
        PinnerSage(alpha=1.0).profile(items, ts, emb, NOW)


def test_ids_beyond_int64_are_refused():
    items, ts, emb = small()
    huge = items.astype(np.uint64)
    huge[0] = np.iinfo(np.uint64).max
    with pytest.raises(ValueError, match="above the int64 range"):
        PinnerSage().profile(huge, ts, emb, NOW)
    # unsigned ids within range are accepted
    p = PinnerSage(alpha=1.0).profile(items.astype(np.uint32), ts, emb, NOW)
    assert len(p) == 2


def test_batch_errors_name_the_user():
    items, ts, emb = small()
    users = np.array([5, 5, 8, 8, 8])
    ts = ts.copy()
    ts[2] = NOW + 1
    with pytest.raises(ValueError, match="user 8: action .* later than now"):
        PinnerSage().profiles(users, items, ts, emb, NOW)
    with pytest.raises(ValueError, match="users has 2 entries but items has 5"):
        PinnerSage().profiles(users[:2], items, ts, emb, NOW)
    with pytest.raises(ValueError, match="threads"):
        PinnerSage().profiles(users, items, ts, emb, NOW, threads=0)
    with pytest.raises(TypeError, match="now"):
        PinnerSage().profile(items, ts, emb, float(NOW))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(alpha=-1.0), "merge threshold"),
        (dict(alpha=float("nan")), "merge threshold"),
        (dict(lambda_=-0.5), "decay rate"),
        (dict(n_clusters=0), "target number of clusters is 0"),
        (dict(max_history=0), "history cap is 0"),
        (dict(max_clusters=0), "maximum number of clusters is 0"),
        (dict(window=0), "shorter than one tick"),
        (dict(window=-1), "window"),
        (dict(time_unit="h"), "time_unit"),
        (dict(lambda_unit="year"), "lambda_unit"),
        (dict(unknown_items="ignore"), "unknown_items"),
        (dict(max_clusters=2.5), "max_clusters"),
    ],
)
def test_configuration_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PinnerSage(**kwargs)


def test_time_units_and_windows():
    items, ts, emb = small()
    p_s = PinnerSage(alpha=1.0).profile(items, ts, emb, NOW)
    p_ms = PinnerSage(alpha=1.0, time_unit="ms").profile(items, ts * 1000, emb, NOW * 1000)
    assert [c.importance for c in p_s] == pytest.approx([c.importance for c in p_ms], rel=1e-12)
    short = PinnerSage(alpha=1.0, window=dt.timedelta(days=45)).profile(items, ts, emb, NOW)
    assert short.history["outside_window"] == 1


def test_pickle_and_to_dict():
    items, ts, emb = small()
    config = PinnerSage(alpha=1.0, max_clusters=5)
    p = config.profile(items, ts, emb, NOW)
    q = pickle.loads(pickle.dumps(p))
    assert q.to_dict() == p.to_dict()
    assert json.loads(json.dumps(p.to_dict())) == p.to_dict()
    c2 = pickle.loads(pickle.dumps(config))
    assert c2.get_params() == config.get_params()
    assert c2.profile(items, ts, emb, NOW).to_dict() == p.to_dict()
    assert "alpha=1.0" in repr(config)


def test_sample_medoids_is_seeded_and_weighted():
    w = np.array([5.0, 0.0, 1.0, 3.0])
    a = pinnersage.select_interests(w, n=3, seed=42)
    assert a.tolist() == pinnersage.select_interests(w, n=3, seed=42).tolist()
    assert 1 not in a.tolist() and len(set(a.tolist())) == 3
    draws = [pinnersage.select_interests(w, n=1, seed=s)[0] for s in range(3000)]
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.03)
    assert pinnersage.select_interests(w, n=2, strategy="top").tolist() == [0, 3]
    assert pinnersage.select_interests(w, strategy="all").tolist() == [0, 3, 2, 1]
    assert pinnersage.select_interests([0.0, 0.0], n=1).tolist() == [0]
    for bad, match in [([1.0, -1.0], "importance of interest 1"), ([np.inf], "importance of interest 0")]:
        with pytest.raises(ValueError, match=match):
            pinnersage.select_interests(bad)
    with pytest.raises(ValueError, match="keeps 0 interests"):
        pinnersage.select_interests(w, n=0)
    with pytest.raises(ValueError, match="strategy"):
        pinnersage.select_interests(w, strategy="best")
    items, ts, emb = small()
    p = PinnerSage(alpha=1.0).profile(items, ts, emb, NOW)
    m = p.sample_medoids(n=2, seed=1)
    assert sorted(m.tolist()) == sorted(p.medoids.tolist())
    assert p.medoid_embeddings.shape == (2, 2)


def test_failing_users_raise_or_are_skipped_and_listed(log):
    """A user with no action in the window (common in a real log) stops the
    batch with errors="raise" (the message names the user and the way out) and
    is listed with its reason with errors="skip", the others profiled as usual."""
    emb, users, items, ts = log
    config = CONFIGS["default"]
    stale_user = int(users.max()) + 1
    u = np.concatenate([users, [stale_user, stale_user]])
    it = np.concatenate([items, [0, 1]])
    t = np.concatenate([ts, [NOW - 400 * 86_400, NOW - 399 * 86_400]])
    with pytest.raises(ValueError, match=rf"user {stale_user}: .*errors=\"skip\""):
        config.profiles(u, it, t, emb, NOW)
    got = config.profiles(u, it, t, emb, NOW, errors="skip")
    assert got["failed_user"].tolist() == [stale_user]
    assert len(got["failed_reason"]) == 1 and "window" in got["failed_reason"][0]
    plain = config.profiles(users, items, ts, emb, NOW, errors="skip")
    assert plain["failed_user"].tolist() == [] and plain["failed_reason"] == []
    for k in ("user", "rank", "medoid", "importance", "size", "actions", "last_action"):
        np.testing.assert_array_equal(got[k], plain[k])
    with pytest.raises(ValueError, match="errors must be"):
        config.profiles(users, items, ts, emb, NOW, errors="ignore")
