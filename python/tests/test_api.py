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
