"""The in-place float32 fills behind nn.init draw from the right distributions."""
import numpy as np
import pytest
from scipy import stats

import torchsorflow as tsf
from torchsorflow.nn import init


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_fill_is_normal(dtype):
    tsf.manual_seed(3)
    t = tsf.zeros(300, 401, dtype=dtype)  # odd total size exercises the Box-Muller tail
    init.normal_(t, mean=0.5, std=2.0)
    values = t.numpy().ravel()
    assert t.dtype == np.dtype(dtype)
    assert stats.kstest(values, "norm", args=(0.5, 2.0)).pvalue > 1e-3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_fill_is_uniform(dtype):
    tsf.manual_seed(4)
    t = tsf.zeros(500, 200, dtype=dtype)
    init.uniform_(t, -1.0, 3.0)
    values = t.numpy().ravel()
    assert values.min() >= -1.0 and values.max() < 3.0
    assert stats.kstest(values, "uniform", args=(-1.0, 4.0)).pvalue > 1e-3


def test_fills_are_seeded():
    a, b = tsf.zeros(1000), tsf.zeros(1000)
    tsf.manual_seed(5)
    init.normal_(a)
    tsf.manual_seed(5)
    init.normal_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
