"""Random sampling with torch's signatures (ops/random.py): the distributions drawn are the
ones asked for (chi-square and moment tests at fixed seeds), shapes and dtypes follow torch, and
a seeded generator reproduces its draws."""
import numpy as np
import pytest
import scipy.stats

import torchsorflow as tsf


def _generator(seed=0):
    return tsf.Generator().manual_seed(seed)


def _chi_square_p(counts, probabilities):
    expected = probabilities / probabilities.sum() * counts.sum()
    keep = expected > 0
    return scipy.stats.chisquare(counts[keep], expected[keep]).pvalue


def test_multinomial_with_replacement_follows_the_weights():
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    draws = tsf.multinomial(tsf.tensor(weights), 20000, replacement=True,
                            generator=_generator(1)).numpy()
    counts = np.bincount(draws, minlength=4)
    assert counts[1] == 0 and _chi_square_p(counts, weights) > 1e-3


def test_multinomial_without_replacement_draws_distinct_categories_in_order_of_weight():
    weights = np.array([[5.0, 1.0, 0.0, 3.0], [0.2, 0.2, 0.2, 0.4]])
    draws = tsf.multinomial(tsf.tensor(weights), 3, generator=_generator(2))
    assert draws.shape == (2, 3) and draws.dtype == tsf.int64
    for row in draws.tolist():
        assert len(set(row)) == 3
    assert 2 not in draws[0].tolist()  # a zero weight is never drawn
    # the first draw without replacement is distributed like a draw with replacement
    firsts = np.array([tsf.multinomial(tsf.tensor(weights[0]), 2, generator=_generator(s))[0]
                       .item() for s in range(3000)])
    assert _chi_square_p(np.bincount(firsts, minlength=4), weights[0]) > 1e-3


def test_bernoulli_normal_poisson_moments_shapes_and_dtypes():
    g = _generator(3)
    p = tsf.full((40000,), 0.3, dtype=tsf.float64)
    b = tsf.bernoulli(p, generator=g)
    assert b.dtype == tsf.float64 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.01
    assert abs(tsf.bernoulli(tsf.zeros(40000), 0.7, generator=g).mean().item() - 0.7) < 0.01
    mean, std = tsf.tensor([0.0, 10.0]), tsf.tensor([1.0, 0.1])
    x = tsf.stack([tsf.normal(mean, std, generator=g) for _ in range(4000)])
    np.testing.assert_allclose(x.mean(0).numpy(), [0.0, 10.0], atol=0.05)
    np.testing.assert_allclose(x.std(0).numpy(), [1.0, 0.1], rtol=0.05)
    assert tsf.normal(2.0, tsf.ones(3)).shape == (3,) and tsf.normal(mean).shape == (2,)
    fixed = tsf.normal(1.0, 2.0, (5000,), generator=g)
    assert fixed.dtype == tsf.float32 and abs(fixed.mean().item() - 1.0) < 0.1
    rates = tsf.tensor([0.5, 4.0], dtype=tsf.float64)
    counts = tsf.stack([tsf.poisson(rates, g) for _ in range(5000)])
    np.testing.assert_allclose(counts.mean(0).numpy(), [0.5, 4.0], rtol=0.05)


def test_a_seeded_generator_reproduces_its_draws():
    def draws(seed):
        g = _generator(seed)
        return (tsf.multinomial(tsf.ones(5), 3, generator=g).tolist(),
                tsf.normal(0.0, 1.0, (3,), generator=g).tolist(),
                tsf.bernoulli(tsf.full((4,), 0.5), generator=g).tolist())
    assert draws(7) == draws(7) and draws(7) != draws(8)


def test_samples_are_constants_for_autograd():
    mean = tsf.zeros(3, requires_grad=True)
    assert not tsf.normal(mean, 1.0).requires_grad
    assert not tsf.bernoulli(tsf.full((3,), 0.5, requires_grad=True)).requires_grad


def test_bad_probabilities_are_named():
    with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan` or "
                                           "element < 0"):
        tsf.multinomial(tsf.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        tsf.multinomial(tsf.zeros(3), 1)
    with pytest.raises(RuntimeError, match="not enough non-negative category to sample"):
        tsf.multinomial(tsf.tensor([1.0, 0.0, 0.0]), 2)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        tsf.multinomial(tsf.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="invalid Poisson rate"):
        tsf.poisson(tsf.tensor([-1.0]))
    with pytest.raises(TypeError, match="give the size"):
        tsf.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="geometric_ expects p to be in \\(0, 1\\]"):
        tsf.empty(2).geometric_(0.0)
