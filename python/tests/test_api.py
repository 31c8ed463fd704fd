"""The public surface: documented, typed, doctests that run."""

import doctest
import inspect

import numpy as np

import pinnersage


def test_every_public_name_has_a_docstring():
    for name in pinnersage.__all__:
        obj = getattr(pinnersage, name)
        if isinstance(obj, float):
            continue
        assert inspect.getdoc(obj) and len(inspect.getdoc(obj)) > 80, name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"


def test_docstring_examples_run():
    result = doctest.testmod(pinnersage, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0


def test_ward_is_linkage():
    x = np.random.default_rng(0).standard_normal((30, 4))
    np.testing.assert_array_equal(pinnersage.ward(x), pinnersage.linkage(x))


def test_type_information_ships():
    from pathlib import Path

    pkg = Path(pinnersage.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_pinnersage.pyi").exists()


def _max_gap_while(call):
    """Runs ``call`` in a thread while this thread ticks; returns (longest gap
    between ticks, duration of the call). A call holding the GIL stalls the
    ticks for its whole duration."""
    import threading
    import time

    done = threading.Event()
    span = []

    def work():
        t0 = time.perf_counter()
        call()
        span.append(time.perf_counter() - t0)
        done.set()

    worker = threading.Thread(target=work)
    last = time.perf_counter()
    gap = 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
    worker.join()
    return gap, span[0]


def test_gil_is_released_during_linkage_and_profiles():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 64))
    gap, took = _max_gap_while(lambda: pinnersage.linkage(x))
    assert took > 0.05 and gap < took / 2, (gap, took)
    emb = x.astype(np.float32)
    users = np.repeat(np.arange(100), 400)  # long enough to see a stall (about 0.2 s)
    items = rng.integers(0, 3000, size=len(users))
    ts = np.full(len(users), 1_000)
    gap, took = _max_gap_while(lambda: pinnersage.PinnerSage().profiles(users, items, ts, emb, 1_000, threads=1))
    assert took > 0.05 and gap < took / 2, (gap, took)


def test_product_kernel_names_the_kernel_and_honours_the_override():
    import os
    import subprocess
    import sys
    import tempfile

    name = pinnersage.product_kernel()
    kernel, isa = name.split("/")
    assert kernel in ("avx512-tiles", "gemm", "matrixmultiply") and isa
    code = "import pinnersage; print(pinnersage.product_kernel())"
    for forced in ("gemm", "matrixmultiply"):
        env = dict(os.environ, PINNERSAGE_KERNEL=forced)
        # from another folder: `-c` puts the working directory on sys.path,
        # and the source folder `python/pinnersage` would shadow the install
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip().startswith(forced + "/"), out.stdout
