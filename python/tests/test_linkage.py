"""pinnersage.linkage against scipy.cluster.hierarchy.linkage(X, 'ward')."""

import numpy as np
import pytest
from scipy.cluster import hierarchy as sch

import pinnersage

# scipy's own reference (hierarchy_test_data.py), as in DESIGN.md
SCIPY_X = np.array(
    [
        [1.43054825, -7.5693489],
        [6.95887839, 6.82293382],
        [2.87137846, -9.68248579],
        [7.87974764, -6.05485803],
        [8.24018364, -6.09495602],
        [7.39020262, 8.54004355],
    ]
)
SCIPY_Z = np.array(
    [
        [3, 4, 0.36265956, 2],
        [1, 5, 1.77045373, 2],
        [0, 2, 2.55760419, 2],
        [6, 8, 9.10208346, 4],
        [7, 9, 24.7784379, 6],
    ]
)


def same_partition(a, b):
    """Two flat labelings describe the same partition (labels may be renamed)."""
    a, b = np.asarray(a), np.asarray(b)
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def cut_levels(heights, rtol):
    """Thresholds halfway between consecutive distinct heights (ties grouped by rtol)."""
    h = np.sort(heights)
    levels = []
    for lo, hi in zip(h[:-1], h[1:]):
        if hi - lo > rtol * max(abs(hi), 1e-300):
            levels.append((lo + hi) / 2)
    return levels


def test_scipy_reference_point():
    z = pinnersage.linkage(SCIPY_X)
    assert z.dtype == np.float64 and z.shape == (5, 4)
    np.testing.assert_array_equal(z[:, [0, 1, 3]], SCIPY_Z[:, [0, 1, 3]])
    np.testing.assert_allclose(z[:, 2], SCIPY_Z[:, 2], rtol=1e-8)
    np.testing.assert_allclose(z, sch.linkage(SCIPY_X, "ward"), rtol=1e-12)


@pytest.mark.parametrize("m,d", [(2, 1), (3, 2), (10, 3), (100, 8), (500, 32), (300, 256)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_random_f64_equals_scipy(m, d, order):
    rng = np.random.default_rng(m * 1000 + d)
    x = np.asarray(rng.standard_normal((m, d)), order=order)
    z = pinnersage.linkage(x)
    ref = sch.linkage(x, "ward")
    assert sch.is_valid_linkage(z)
    np.testing.assert_allclose(z[:, 2], ref[:, 2], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(z[:, 3], ref[:, 3])
    # no ties in real-valued data: the same merges with the same ids
    np.testing.assert_array_equal(z[:, :2], ref[:, :2])


@pytest.mark.parametrize("m,d", [(10, 3), (200, 16), (500, 64)])
def test_random_f32_close_to_scipy(m, d):
    rng = np.random.default_rng(m + d)
    x = rng.standard_normal((m, d)).astype(np.float32)
    z = pinnersage.linkage(x)
    ref = sch.linkage(x.astype(np.float64), "ward")
    assert sch.is_valid_linkage(z)
    np.testing.assert_allclose(z[:, 2], ref[:, 2], rtol=1e-4)


def replay_is_ward(x, z, rtol):
    """Replays the merges of ``z`` on a naive Lance-Williams Ward matrix: every
    merge must join two current clusters at a global minimum of the current
    dissimilarities (relative tolerance ``rtol``), at that height, with the
    sizes adding up. The tie-independent check of DESIGN.md."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)  # paper convention
    big = np.full((2 * n - 1, 2 * n - 1), np.inf)
    big[:n, :n] = d
    np.fill_diagonal(big, np.inf)
    size = np.zeros(2 * n - 1)
    size[:n] = 1
    active = np.zeros(2 * n - 1, dtype=bool)
    active[:n] = True
    for i, (a, b, h, s) in enumerate(z):
        a, b = int(a), int(b)
        assert active[a] and active[b] and a < b
        idx = np.flatnonzero(active)
        current = big[np.ix_(idx, idx)].min()
        assert abs(big[a, b] - current) <= rtol * max(current, 1e-300), (i, big[a, b], current)
        assert abs(h * h - big[a, b]) <= rtol * max(big[a, b], 1e-300) + 1e-300, (i, h, big[a, b])
        assert s == size[a] + size[b]
        new = n + i
        others = idx[(idx != a) & (idx != b)]
        na, nb, nk = size[a], size[b], size[others]
        big[new, others] = ((na + nk) * big[a, others] + (nb + nk) * big[b, others] - nk * big[a, b]) / (na + nb + nk)
        big[others, new] = big[new, others]
        active[a] = active[b] = False
        active[new] = True
        size[new] = s


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ambiguous_ids_same_partitions_as_scipy(seed, dtype):
    # ties that make merge ids ambiguous but the partitions unique: repeated
    # rows (zero-height merges in any order) and two translated copies of one
    # configuration (each merge in one copy ties with its twin in the other)
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((30, 6))
    copies = np.vstack([base, base + 100.0])
    x = np.repeat(copies, rng.integers(1, 4, size=len(copies)), axis=0)
    x = x[rng.permutation(len(x))].astype(dtype)
    z = pinnersage.linkage(x)
    ref = sch.linkage(x.astype(np.float64), "ward")
    assert sch.is_valid_linkage(z)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(z[:, 2], ref[:, 2], rtol=rtol, atol=1e-12)
    levels = cut_levels(ref[:, 2], 1e-9 if dtype == np.float64 else 1e-3)
    assert len(levels) > 20
    for t in levels:
        assert same_partition(sch.fcluster(z, t, "distance"), sch.fcluster(ref, t, "distance")), t


@pytest.mark.parametrize("seed", range(4))
def test_grid_data_full_of_ties_is_a_valid_ward_dendrogram(seed):
    # rounded data: different tie-breaking gives different (equally correct)
    # dendrograms, so check each merge against a naive replay instead
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(80, 4)).astype(np.float64)
    z = pinnersage.linkage(x)
    assert sch.is_valid_linkage(z)
    replay_is_ward(x, z, 1e-12)
    replay_is_ward(x, sch.linkage(x, "ward"), 1e-12)  # the check accepts scipy's too


def test_works_with_scipy_tools():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 5))
    z = pinnersage.linkage(x)
    c, _ = sch.cophenet(z, __import__("scipy.spatial.distance").spatial.distance.pdist(x))
    assert 0 < c <= 1
    tree = sch.dendrogram(z, no_plot=True)
    assert sorted(tree["leaves"]) == list(range(40))
    assert same_partition(sch.fcluster(z, 4, "maxclust"), sch.fcluster(sch.linkage(x, "ward"), 4, "maxclust"))


def test_non_contiguous_and_readonly_input():
    rng = np.random.default_rng(4)
    big = rng.standard_normal((60, 10))
    x = big[::2, 1:8]  # strided view
    assert not x.flags.c_contiguous and not x.flags.f_contiguous
    np.testing.assert_allclose(pinnersage.linkage(x), sch.linkage(x, "ward"), rtol=1e-12)
    ro = np.ascontiguousarray(x)
    ro.setflags(write=False)
    before = ro.copy()
    np.testing.assert_allclose(pinnersage.linkage(ro), sch.linkage(x, "ward"), rtol=1e-12)
    np.testing.assert_array_equal(ro, before)
    # plain lists are accepted (float64)
    np.testing.assert_allclose(pinnersage.linkage(SCIPY_X.tolist()), pinnersage.linkage(SCIPY_X))


def test_weights_equal_repeated_rows():
    distinct = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    expanded = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    zw = pinnersage.linkage(distinct, weights=[2, 1, 1])
    ze = pinnersage.linkage(expanded)
    np.testing.assert_allclose(zw[:, 2], ze[1:, 2], rtol=1e-15)
    np.testing.assert_allclose(ze, sch.linkage(expanded, "ward"), rtol=1e-12)


def test_lean_and_matrix_paths_agree():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((150, 12))
    np.testing.assert_allclose(
        pinnersage.linkage(x, lean=True)[:, 2], pinnersage.linkage(x, lean=False)[:, 2], rtol=1e-12
    )


def test_single_row_gives_empty_linkage():
    z = pinnersage.linkage(np.ones((1, 3)))
    assert z.shape == (0, 4) and z.dtype == np.float64


@pytest.mark.parametrize(
    "x",
    [
        np.ones((4, 2), dtype=np.int64),
        np.ones((4, 2), dtype=np.int32),
        np.ones((4, 2), dtype=np.complex128),
        np.ones((4, 2), dtype=np.float16),
        np.array([["a", "b"], ["c", "d"]]),
        np.array([[1.0, None]], dtype=object),
        np.ones((4, 2), dtype=bool),
    ],
    ids=["int64", "int32", "complex", "float16", "str", "object", "bool"],
)
def test_wrong_dtype_is_type_error(x):
    with pytest.raises(TypeError, match="float32 or float64"):
        pinnersage.linkage(x)


@pytest.mark.parametrize(
    "x,match",
    [
        (np.ones(4), "2-D"),
        (np.ones((2, 2, 2)), "2-D"),
        (np.ones((0, 3)), "no rows"),
        (np.ones((3, 0)), "zero columns"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]]), "row 1, column 0"),
        (np.array([[0.0, np.inf], [1.0, 2.0]], dtype=np.float32), "row 0, column 1"),
        (np.array([[0.0, 1.0], [1.0, -np.inf]]), "non-finite"),
    ],
    ids=["1d", "3d", "no-rows", "no-cols", "nan", "inf-f32", "-inf"],
)
def test_bad_matrix_is_value_error(x, match):
    with pytest.raises(ValueError, match=match):
        pinnersage.linkage(x)


@pytest.mark.parametrize(
    "weights,exc,match",
    [
        ([1.0, 1.0], ValueError, "2 weights were given for 3 rows"),
        ([1.0, 0.0, 1.0], ValueError, "weight of row 1"),
        ([1.0, 1.0, -2.0], ValueError, "weight of row 2"),
        ([1.0, np.nan, 1.0], ValueError, "weight of row 1"),
        ([[1.0, 1.0, 1.0]], ValueError, "1-D"),
        (["a", "b", "c"], TypeError, "numbers"),
    ],
)
def test_bad_weights(weights, exc, match):
    with pytest.raises(exc, match=match):
        pinnersage.linkage(SCIPY_X[:3], weights=weights)


def test_bad_options():
    with pytest.raises(ValueError, match="only 'ward'"):
        pinnersage.linkage(SCIPY_X, method="single")
    with pytest.raises(TypeError, match="lean"):
        pinnersage.linkage(SCIPY_X, lean="yes")


def test_forced_matrix_over_budget_is_value_error():
    x = np.random.default_rng(6).standard_normal((8193, 2))
    with pytest.raises(ValueError, match="memory budget"):
        pinnersage.linkage(x, lean=False)


def test_replay_check_rejects_a_wrong_dendrogram():
    x = np.random.default_rng(9).standard_normal((20, 3))
    z = pinnersage.linkage(x)
    bad = z.copy()
    bad[0, 2] *= 1.01  # wrong height
    with pytest.raises(AssertionError):
        replay_is_ward(x, bad, 1e-12)
    single = sch.linkage(x, "single")  # valid linkage, not Ward's
    with pytest.raises(AssertionError):
        replay_is_ward(x, single, 1e-12)
