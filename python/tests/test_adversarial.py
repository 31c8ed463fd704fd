"""Bad and extreme inputs: every failure is a TypeError/ValueError with a
clear message, never a crash, an OverflowError, a hang or a NaN/inf result."""

import pickle

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage as scipy_linkage

import pinnersage as ps


def rows(scale=1.0, dtype=np.float64, m=20, d=4):
    rng = np.random.default_rng(3)
    return (rng.normal(size=(m, d)) * scale).astype(dtype)


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e-160, 1e-300])
@pytest.mark.parametrize("lean", [None, True])
def test_f64_extreme_magnitudes_match_scipy(scale, lean):
    # scipy itself overflows (1e154) or loses digits (1e-160) there: compare
    # with scipy on the unscaled rows, heights scaled
    z = ps.linkage(rows(scale), lean=lean)
    ref = scipy_linkage(rows(), "ward")
    assert z.shape == ref.shape and np.isfinite(z).all()
    np.testing.assert_array_equal(z[:, :2], ref[:, :2])
    np.testing.assert_allclose(z[:, 2] / scale, ref[:, 2], rtol=1e-9)


@pytest.mark.parametrize("scale", [1e30, 1e19, 1e-19, 1e-30])
def test_f32_extreme_magnitudes_are_scaled_exactly(scale):
    x = rows(scale, np.float32)
    z = ps.linkage(x)
    unit = ps.linkage(rows(1.0, np.float32))
    assert np.isfinite(z).all()
    np.testing.assert_array_equal(z[:, :2], unit[:, :2])
    np.testing.assert_allclose(z[:, 2] / scale, unit[:, 2], rtol=1e-5)


def test_heights_past_float64_are_refused():
    big = rows(4e307, m=200)  # rows near f64::MAX: heights past it
    assert np.isfinite(big).all()
    with pytest.raises(ValueError, match="overflows"):
        ps.linkage(big)
    # huge weights alone do not overflow: the true heights (sqrt(1e300) times
    # the unit-weight ones) are finite, and come out exactly scaled
    z = ps.linkage(rows(), weights=np.full(20, 1e300))
    unit = ps.linkage(rows())
    np.testing.assert_array_equal(z[:, :2], unit[:, :2])
    np.testing.assert_allclose(z[:, 2] / 1e150, unit[:, 2], rtol=1e-12)


@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_big_endian_is_accepted(dtype):
    x = rows()
    np.testing.assert_array_equal(ps.linkage(x.astype(dtype)), ps.linkage(x.astype("<" + dtype[1:])))
    p = ps.PinnerSage().profile(np.arange(5), np.zeros(5, int), x.astype(dtype), 0)
    assert len(p) >= 1


@pytest.mark.parametrize("dtype", [int, bool, object, complex, np.float16])
def test_other_dtypes_are_type_errors(dtype):
    with pytest.raises(TypeError, match="astype"):
        ps.linkage(rows().astype(dtype))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_clusters=2**70),
        dict(max_history=2**64),
        dict(max_clusters=2**64),
        dict(n_clusters=True),
        dict(window="90"),
        dict(window=True),
        dict(alpha="4"),
        dict(alpha=None),
        dict(time_unit=None),
    ],
)
def test_bad_parameters_are_value_or_type_errors(kwargs):
    with pytest.raises((ValueError, TypeError)):
        ps.PinnerSage(**kwargs)


def test_huge_now_and_threads_are_value_errors():
    x = rows()
    items, ts = np.arange(5), np.zeros(5, int)
    with pytest.raises(ValueError, match="int64"):
        ps.PinnerSage().profile(items, ts, x, 2**70)
    for threads in [2**70, 100_000, True]:
        with pytest.raises(ValueError, match="threads"):
            ps.PinnerSage().profiles(items, items, ts, x, 0, threads=threads)
    with pytest.raises(ValueError):
        ps.select_interests([1.0, 2.0], n=2**70)


def test_threads_above_users_run():
    x = rows()
    items, ts = np.arange(5), np.zeros(5, int)
    out = ps.PinnerSage().profiles(np.zeros(5, int), items, ts, x, 0, threads=1024)
    assert set(out["user"]) == {0}


def test_everything_pickles():
    x = rows()
    config = ps.PinnerSage(alpha=2.0, window=None, n_clusters=3)
    p = config.profile(np.arange(10), np.arange(10), x, 100)
    for obj in [config, p, p[0]]:
        back = pickle.loads(pickle.dumps(obj))
        assert repr(back) == repr(obj)
    assert pickle.loads(pickle.dumps(p)).to_dict() == p.to_dict()
