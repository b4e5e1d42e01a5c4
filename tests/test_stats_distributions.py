"""Distributions: log densities and moments against scipy.stats, sampling, parameter validation,
and gradients of log_prob (finite differences, second order, eager backward)."""
import numpy as np
import pytest
import scipy.stats

import torchsorflow as tsf
from torchsorflow.autodiff import check_grads
from torchsorflow.func import grad
from torchsorflow.stats import (Bernoulli, Beta, Categorical, Exponential, Gamma, Laplace,
                                LogNormal, MultivariateNormal, Normal, Poisson, StudentT)

COV = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.3], [0.1, -0.3, 0.8]])
LOC = np.array([1.0, -2.0, 0.5])

# (our distribution, the frozen scipy distribution, points to evaluate at)
CASES = [
    (Normal(1.5, 2.0), scipy.stats.norm(1.5, 2.0), [-3.0, 0.0, 1.5, 4.2]),
    (Exponential(2.5), scipy.stats.expon(scale=1 / 2.5), [0.0, 0.1, 1.0, 3.0]),
    (Gamma(2.5, 1.5), scipy.stats.gamma(2.5, scale=1 / 1.5), [0.05, 0.9, 2.0, 7.5]),
    (Beta(2.0, 5.0), scipy.stats.beta(2.0, 5.0), [0.01, 0.2, 0.5, 0.99]),
    (Laplace(-1.0, 0.7), scipy.stats.laplace(-1.0, 0.7), [-3.0, -1.0, 0.4, 2.0]),
    (LogNormal(0.3, 0.8), scipy.stats.lognorm(0.8, scale=np.exp(0.3)), [0.1, 1.0, 2.5, 9.0]),
    (StudentT(4.5, 1.0, 2.0), scipy.stats.t(4.5, 1.0, 2.0), [-10.0, 0.0, 1.0, 3.3]),
    (Poisson(3.2), scipy.stats.poisson(3.2), [0.0, 1.0, 3.0, 11.0]),
    (Bernoulli(0.3), scipy.stats.bernoulli(0.3), [0.0, 1.0]),
]
IDS = [type(d).__name__ for d, _, _ in CASES]


@pytest.mark.parametrize("dist, reference, points", CASES, ids=IDS)
def test_log_prob_matches_scipy(dist, reference, points):
    points = np.array(points)
    ours = dist.log_prob(points).numpy()
    theirs = (reference.logpmf(points) if hasattr(reference.dist, "pmf") else
              reference.logpdf(points))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dist, reference, points", CASES, ids=IDS)
def test_mean_and_variance_match_scipy(dist, reference, points):
    np.testing.assert_allclose(dist.mean.item(), reference.mean(), rtol=1e-12)
    np.testing.assert_allclose(dist.variance.item(), reference.var(), rtol=1e-12)


@pytest.mark.parametrize("dist, reference, points", CASES, ids=IDS)
def test_samples_are_repeatable_and_have_the_right_moments(dist, reference, points):
    first, again = dist.sample(20000, seed=7), dist.sample(20000, seed=7)
    assert first.shape == (20000,) and first.dtype == np.float64
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.array_equal(first.numpy(), dist.sample(20000, seed=8).numpy())
    x = first.numpy()
    se = np.sqrt(reference.var() / len(x))
    assert abs(x.mean() - reference.mean()) < 5 * se
    # The support is respected (log_prob validates its argument).
    assert np.all(np.isfinite(dist.log_prob(x).numpy()))


def test_multivariate_normal_against_scipy():
    dist = MultivariateNormal(LOC, COV)
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [3.0, -1.0, -1.0]])
    np.testing.assert_allclose(dist.log_prob(x).numpy(),
                               scipy.stats.multivariate_normal(LOC, COV).logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(dist.variance.numpy(), np.diag(COV))
    draws = dist.sample(40000, seed=1).numpy()
    assert draws.shape == (40000, 3)
    np.testing.assert_allclose(np.cov(draws.T), COV, atol=0.05)
    np.testing.assert_allclose(draws.mean(axis=0), LOC, atol=0.03)


def test_categorical_log_prob_moments_and_samples():
    dist = Categorical(np.array([2.0, 1.0, 1.0]))  # normalised, as in PyTorch
    np.testing.assert_allclose(dist.probs.numpy(), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(dist.log_prob([0, 2, 1]).numpy(), np.log([0.5, 0.25, 0.25]))
    assert dist.mean.item() == pytest.approx(0.75)
    assert dist.variance.item() == pytest.approx(0.25 + 1.0 - 0.75 ** 2)
    draws = dist.sample(40000, seed=3).numpy()
    assert draws.dtype == np.int64
    np.testing.assert_allclose(np.bincount(draws) / len(draws), [0.5, 0.25, 0.25], atol=0.01)
    with pytest.raises(ValueError, match=r"value\[1\] = 3.0 must be an integer in \[0, 3\)"):
        dist.log_prob([0, 3])


def test_batched_parameters_broadcast_in_log_prob_and_sample():
    dist = Normal(np.array([0.0, 10.0]), 1.0)
    assert dist.sample(5, seed=0).shape == (5, 2)
    np.testing.assert_allclose(dist.log_prob(np.array([0.0, 10.0])).numpy(),
                               scipy.stats.norm.logpdf(0.0), rtol=1e-12)
    probs = np.array([[0.2, 0.8], [0.9, 0.1]])
    batched = Categorical(probs)
    np.testing.assert_allclose(batched.log_prob([1, 0]).numpy(), np.log([0.8, 0.9]))
    assert batched.sample(3, seed=0).shape == (3, 2)


@pytest.mark.parametrize("make, values", [
    (lambda a, b: Gamma(a, b), [2.0, 5.0, 0.7]),
    (lambda a, b: Beta(a, b), [0.2, 0.5, 0.9]),
    (lambda a, b: StudentT(a, 0.5, b), [-2.0, 0.1, 3.0]),
    (lambda a, b: LogNormal(a, b), [0.3, 1.0, 4.0]),
], ids=["Gamma", "Beta", "StudentT", "LogNormal"])
def test_log_prob_derivatives_in_the_parameters_to_second_order(make, values):
    x = np.array(values)
    check_grads(lambda a, b: make(a, b).log_prob(x, validate_args=False).sum(),
                [np.array(2.3), np.array(1.7)], order=2)


def test_multivariate_normal_gradients_in_mean_and_covariance():
    x = np.array([[0.0, 0.0, 0.0], [3.0, -1.0, -1.0]])
    check_grads(lambda m, c: MultivariateNormal(m, c, validate_args=False).log_prob(x).sum(),
                [LOC, COV], order=2)


def test_eager_backward_through_log_prob_matches_the_analytic_score():
    mu = tsf.tensor(np.array(0.5), requires_grad=True)
    sigma = tsf.tensor(np.array(2.0), requires_grad=True)
    x = np.array([1.0, -1.0, 4.0])
    Normal(mu, sigma).log_prob(x).sum().backward()
    assert mu.grad.item() == pytest.approx(np.sum(x - 0.5) / 4.0)
    assert sigma.grad.item() == pytest.approx(-3 / 2.0 + np.sum((x - 0.5) ** 2) / 8.0)


def test_seed_000_gradient_of_the_gaussian_log_likelihood_vanishes_at_the_sample_mean():
    """∇_μ Σ log N(xᵢ | μ, Σ) = Σ Σ⁻¹(xᵢ − μ) is zero at μ = x̄ for every covariance Σ."""
    x = np.random.default_rng(0).normal(size=(50, 3))
    for cov in (COV, np.eye(3), np.diag([0.1, 5.0, 2.0])):
        score = grad(lambda m, cov=cov: MultivariateNormal(m, cov).log_prob(x).sum())(
            x.mean(axis=0))
        np.testing.assert_allclose(score.numpy(), 0.0, atol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: Normal(0.0, -1.0), r"Normal: scale = -1.0 must be > 0"),
    (lambda: Normal(np.nan, 1.0), r"Normal: loc = nan must be a real number, not NaN"),
    (lambda: Gamma(np.array([1.0, 0.0]), 1.0), r"Gamma: concentration\[1\] = 0.0 must be > 0"),
    (lambda: Bernoulli(1.5), r"Bernoulli: probs = 1.5 must be in \[0, 1\]"),
    (lambda: Categorical(np.array([0.5, -0.1])), r"Categorical: probs\[1\] = -0.1 must be ≥ 0"),
    (lambda: MultivariateNormal(LOC, -COV), r"covariance_matrix must be positive definite"),
    (lambda: MultivariateNormal(LOC, COV + np.triu(np.ones((3, 3)), 1)), r"must be symmetric"),
    (lambda: MultivariateNormal(LOC, np.eye(2)), r"loc must have shape \(..., d\) and "
                                                  r"covariance_matrix \(..., d, d\)"),
])
def test_parameter_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_log_prob_outside_the_support():
    with pytest.raises(ValueError, match=r"Exponential: value\[2\] = -1.0 must be ≥ 0"):
        Exponential(1.0).log_prob([0.5, 1.0, -1.0])
    with pytest.raises(ValueError, match=r"Poisson: value\[0\] = 1.5 must be a non-negative int"):
        Poisson(1.0).log_prob([1.5])
    # Unvalidated, the formula's value comes back, as in PyTorch.
    assert Exponential(2.0).log_prob([-1.0], validate_args=False).item() == pytest.approx(
        np.log(2.0) + 2.0)


def test_student_t_moments_where_they_do_not_exist():
    assert np.isnan(StudentT(1.0).mean.item())
    assert np.isinf(StudentT(1.5).variance.item())
    assert np.isnan(StudentT(0.8).variance.item())


def test_repr_and_sample_argument_check():
    assert repr(Normal(0.0, 2.0)) == "Normal(loc: 0.0, scale: 2.0)"  # PyTorch's format
    with pytest.raises(ValueError, match=r"Normal.sample: n must be a non-negative int, got -2"):
        Normal().sample(-2)
