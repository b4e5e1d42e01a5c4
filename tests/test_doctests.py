"""Every runnable example in the public API's docstrings is checked by doctest."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import torchsorflow

MODULES = sorted(m.name for m in pkgutil.walk_packages(torchsorflow.__path__, "torchsorflow.")
                 if ".commands." not in m.name and not m.name.endswith("__main__"))


def test_the_public_api_has_examples():
    finder = doctest.DocTestFinder()
    with_examples = [name for name in MODULES
                     if any(t.examples for t in finder.find(importlib.import_module(name)))]
    assert len(with_examples) >= 10, with_examples


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    np.set_printoptions(legacy=False)
    torchsorflow.manual_seed(0)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"
