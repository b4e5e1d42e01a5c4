"""Maximum-likelihood fitting: the seeds' two estimators, closed form against Newton, point
estimates against scipy.stats, standard errors against the analytic Fisher information, interval
coverage over repeated samples, and the errors for bad and degenerate data."""
import math

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats

from torchsorflow.stats import (Bernoulli, Beta, Categorical, Exponential, Gamma, Laplace,
                                LogNormal, MultivariateNormal, Normal, Poisson, StudentT, fit,
                                newton_minimize)

COV = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 0.5]])


def sample(dist, n=500, seed=3):
    return dist.sample(n, seed=seed).numpy()


# --- the seeds ---------------------------------------------------------------------------------
@pytest.mark.parametrize("d", [1, 2, 5])
def test_seed_000_gaussian_mean_mle_is_the_sample_mean_in_n_dimensions(d):
    x = np.random.default_rng(d).normal(size=(40, d)) * np.arange(1, d + 1) + 3.0
    result = fit(MultivariateNormal, x)
    np.testing.assert_array_equal(result.params["loc"], x.mean(axis=0))
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(result.params["covariance_matrix"], centred.T @ centred / len(x),
                               rtol=1e-14)
    numeric = fit(MultivariateNormal, x, method="numeric",
                  start=MultivariateNormal(np.zeros(d), np.eye(d)))
    assert numeric.converged
    np.testing.assert_allclose(numeric.params["loc"], x.mean(axis=0), rtol=1e-9)


def test_seed_002_exponential_rate_mle_is_n_over_the_sum():
    x = np.random.default_rng(0).exponential(scale=0.4, size=250)
    result = fit(Exponential, x)
    assert result.params["rate"] == len(x) / x.sum()
    assert result.method == "closed_form" and result.converged
    # Observed information N/λ̂² gives the standard error λ̂/√N.
    assert result.stderr["rate"] == pytest.approx(result.params["rate"] / math.sqrt(len(x)),
                                                  rel=1e-12)
    numeric = fit(Exponential, x, method="numeric", start=Exponential(1.0))
    assert numeric.params["rate"] == pytest.approx(len(x) / x.sum(), rel=1e-10)


# --- closed form and Newton agree -------------------------------------------------------------
CLOSED = [
    (Normal(1.0, 2.0), Normal(0.0, 1.0)),
    (Exponential(2.0), Exponential(1.0)),
    (Poisson(3.5), Poisson(1.0)),
    (Bernoulli(0.3), Bernoulli(0.5)),
    (Categorical(np.array([0.2, 0.3, 0.5])), Categorical(np.ones(3))),
    (Laplace(1.0, 2.0), Laplace(0.0, 1.0)),
    (LogNormal(0.5, 0.7), LogNormal(0.0, 1.0)),
    (MultivariateNormal(np.array([1.0, 2.0, 3.0]), COV),
     MultivariateNormal(np.zeros(3), np.eye(3))),
]


@pytest.mark.parametrize("truth, start", CLOSED, ids=[type(t).__name__ for t, _ in CLOSED])
@pytest.mark.parametrize("n", [101, 500])  # odd and even N (the Laplace median differs)
@pytest.mark.parametrize("default_start", [False, True], ids=["given-start", "default-start"])
def test_numeric_fit_agrees_with_the_closed_form(truth, start, n, default_start):
    x = sample(truth, n)
    closed = fit(type(truth), x, method="closed_form")
    numeric = fit(type(truth), x, method="numeric", start=None if default_start else start)
    assert numeric.method == "numeric" and numeric.converged and numeric.iterations > 1
    for name in closed.params:
        np.testing.assert_allclose(numeric.params[name], closed.params[name], rtol=1e-6)
        np.testing.assert_allclose(numeric.stderr[name], closed.stderr[name], rtol=1e-6)
    assert numeric.loglik == pytest.approx(closed.loglik, rel=1e-10)


# --- against scipy.stats ----------------------------------------------------------------------
def test_point_estimates_agree_with_scipy_fit():
    x = sample(Normal(1.0, 2.0))
    assert fit(Normal, x).params == pytest.approx(dict(zip(["loc", "scale"],
                                                           scipy.stats.norm.fit(x))), rel=1e-10)
    x = sample(Exponential(2.0))
    _, scale = scipy.stats.expon.fit(x, floc=0)
    assert fit(Exponential, x).params["rate"] == pytest.approx(1 / scale, rel=1e-10)
    x = sample(Laplace(1.0, 2.0))
    loc, scale = scipy.stats.laplace.fit(x)
    assert fit(Laplace, x).params == pytest.approx({"loc": loc, "scale": scale}, rel=1e-10)
    x = sample(LogNormal(0.5, 0.7))
    s, _, scale = scipy.stats.lognorm.fit(x, floc=0)
    assert fit(LogNormal, x).params == pytest.approx({"loc": np.log(scale), "scale": s},
                                                     rel=1e-6)


def test_numeric_families_agree_with_scipy_fit():
    x = sample(Gamma(2.5, 1.5), 2000)
    a, _, scale = scipy.stats.gamma.fit(x, floc=0)
    assert fit(Gamma, x).params == pytest.approx({"concentration": a, "rate": 1 / scale}, rel=1e-6)
    x = sample(Beta(2.0, 5.0), 2000)
    a, b, _, _ = scipy.stats.beta.fit(x, floc=0, fscale=1)
    assert fit(Beta, x).params == pytest.approx({"concentration1": a, "concentration0": b},
                                                rel=1e-6)
    x = sample(StudentT(4.0, 1.0, 2.0), 2000)
    ours = fit(StudentT, x)
    df, loc, scale = scipy.stats.t.fit(x)  # a general-purpose simplex search: looser agreement
    assert ours.params == pytest.approx({"df": df, "loc": loc, "scale": scale}, rel=1e-3)
    assert ours.loglik >= scipy.stats.t.logpdf(x, df, loc, scale).sum() - 1e-9


@pytest.mark.parametrize("truth, logpdf", [
    (Normal(1.0, 2.0), lambda x, p: scipy.stats.norm.logpdf(x, p["loc"], p["scale"])),
    (Exponential(2.0), lambda x, p: scipy.stats.expon.logpdf(x, scale=1 / p["rate"])),
    (Poisson(3.5), lambda x, p: scipy.stats.poisson.logpmf(x, p["rate"])),
    (Bernoulli(0.3), lambda x, p: scipy.stats.bernoulli.logpmf(x, p["probs"])),
    (Categorical(np.array([0.2, 0.3, 0.5])), lambda x, p: np.log(p["probs"][x.astype(int)])),
    (Gamma(2.5, 1.5), lambda x, p: scipy.stats.gamma.logpdf(x, p["concentration"],
                                                            scale=1 / p["rate"])),
    (Beta(2.0, 5.0), lambda x, p: scipy.stats.beta.logpdf(x, p["concentration1"],
                                                          p["concentration0"])),
    (Laplace(1.0, 2.0), lambda x, p: scipy.stats.laplace.logpdf(x, p["loc"], p["scale"])),
    (LogNormal(0.5, 0.7), lambda x, p: scipy.stats.lognorm.logpdf(x, p["scale"],
                                                                  scale=np.exp(p["loc"]))),
    (StudentT(4.0, 1.0, 2.0), lambda x, p: scipy.stats.t.logpdf(x, p["df"], p["loc"], p["scale"])),
    (MultivariateNormal(np.array([1.0, 2.0, 3.0]), COV),
     lambda x, p: scipy.stats.multivariate_normal.logpdf(x, p["loc"], p["covariance_matrix"])),
], ids=lambda v: type(v).__name__ if not callable(v) else "")
def test_sufficient_statistic_loglik_equals_the_sum_of_scipy_log_densities(truth, logpdf):
    x = sample(truth)
    result = fit(type(truth), x)
    assert result.loglik == pytest.approx(logpdf(x, result.params).sum(), rel=1e-11)
    k = len(result.free_names)
    assert result.aic == pytest.approx(2 * k - 2 * result.loglik)
    assert result.bic == pytest.approx(k * math.log(len(x)) - 2 * result.loglik)


# --- standard errors against the analytic Fisher information ----------------------------------
def test_standard_errors_of_one_parameter_families():
    for truth, formula in [
        (Exponential(2.0), lambda p, n: p["rate"] / math.sqrt(n)),
        (Poisson(3.5), lambda p, n: math.sqrt(p["rate"] / n)),
        (Bernoulli(0.3), lambda p, n: math.sqrt(p["probs"] * (1 - p["probs"]) / n)),
    ]:
        x = sample(truth)
        result = fit(type(truth), x)
        assert result.stderr[next(iter(result.params))] == pytest.approx(
            formula(result.params, len(x)), rel=1e-10)


def test_standard_errors_of_location_scale_families():
    for family in (Normal, LogNormal, Laplace):
        x = sample(family(0.5, 0.7))
        result = fit(family, x)
        n, scale = len(x), result.params["scale"]
        assert result.stderr["loc"] == pytest.approx(scale / math.sqrt(n), rel=1e-10)
        # Normal: I(σ) = 2N/σ²; Laplace (expected information): N/b².
        factor = 1.0 if family is Laplace else math.sqrt(2.0)
        assert result.stderr["scale"] == pytest.approx(scale / math.sqrt(n) / factor, rel=1e-10)
        assert result.information == ("expected" if family is Laplace else "observed")


def test_categorical_standard_errors_include_the_dependent_last_probability():
    x = sample(Categorical(np.array([0.2, 0.3, 0.5])), 800)
    result = fit(Categorical, x)
    p = result.params["probs"]
    np.testing.assert_allclose(result.stderr["probs"], np.sqrt(p * (1 - p) / len(x)), rtol=1e-10)
    assert result.free_names == ["probs[0]", "probs[1]"]


def test_gamma_and_beta_standard_errors_match_the_trigamma_fisher_information():
    x = sample(Gamma(2.5, 1.5), 3000)
    result = fit(Gamma, x)
    a, b = result.params["concentration"], result.params["rate"]
    info = len(x) * np.array([[scipy.special.polygamma(1, a), -1 / b], [-1 / b, a / b ** 2]])
    np.testing.assert_allclose(result.covariance, np.linalg.inv(info), rtol=1e-9)
    x = sample(Beta(2.0, 5.0), 3000)
    result = fit(Beta, x)
    a, b = result.params["concentration1"], result.params["concentration0"]
    t = lambda v: scipy.special.polygamma(1, v)  # noqa: E731
    info = len(x) * np.array([[t(a) - t(a + b), -t(a + b)], [-t(a + b), t(b) - t(a + b)]])
    np.testing.assert_allclose(result.covariance, np.linalg.inv(info), rtol=1e-9)


def test_multivariate_normal_standard_errors():
    x = sample(MultivariateNormal(np.array([1.0, 2.0, 3.0]), COV), 600)
    result = fit(MultivariateNormal, x)
    n, cov = len(x), result.params["covariance_matrix"]
    variances = np.diag(cov)
    np.testing.assert_allclose(result.stderr["loc"], np.sqrt(variances / n), rtol=1e-9)
    expected = np.sqrt((np.outer(variances, variances) + cov ** 2) / n)  # Var Σ̂ᵢⱼ
    np.testing.assert_allclose(result.stderr["covariance_matrix"], expected, rtol=1e-9)


def test_nominal_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    hits = {"rate": 0, "loc": 0}
    repeats = 400
    for _ in range(repeats):
        low, high = fit(Exponential, rng.exponential(0.5, 100)).confidence_intervals()["rate"]
        hits["rate"] += low <= 2.0 <= high
        low, high = fit(Normal, rng.normal(1.0, 2.0, 100)).confidence_intervals()["loc"]
        hits["loc"] += low <= 1.0 <= high
    for name, count in hits.items():
        assert 0.92 <= count / repeats <= 0.98, (name, count / repeats)


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("family, data, message", [
    (Exponential, [], r"Exponential: cannot fit to empty data \(shape \(0,\)\)"),
    (Normal, [1.0, np.nan, 2.0], r"Normal: data\[1\] = nan is not a finite number"),
    (Gamma, [1.0, 2.0, np.inf], r"Gamma: data\[2\] = inf is not a finite number"),
    (Normal, [[1.0, 2.0], [3.0, 4.0]], r"Normal: expected a 1-D array \(one observation per "
                                       r"entry\), got an array of shape \(2, 2\)"),
    (MultivariateNormal, [1.0, 2.0], r"MultivariateNormal: expected a 2-D array of shape \(N, d\)"),
    (MultivariateNormal, [[1.0, 2.0], [3.0, np.nan]], r"data\[1, 1\] = nan is not a finite"),
    (Exponential, [1.0, 2.0, -0.5, -1.0], r"Exponential: data\[2\] = -0.5 is outside the support "
                                          r"\(values must be ≥ 0\)"),
    (Poisson, [1.0, 2.5, 3.0], r"Poisson: data\[1\] = 2.5 is outside the support \(values must be "
                               r"a non-negative integer\)"),
    (Bernoulli, [0, 1, 2], r"Bernoulli: data\[2\] = 2.0 is outside the support"),
    (Beta, [0.5, 1.0], r"Beta: data\[1\] = 1.0 is outside the support \(values must be in the "
                       r"open interval \(0, 1\)\)"),
    (Gamma, [1.0, 0.0], r"Gamma: data\[1\] = 0.0 is outside the support \(values must be > 0\)"),
    (Normal, ["a", "b"], r"Normal: data must be numbers"),
])
def test_bad_data_raise_value_errors_naming_the_first_offending_entry(family, data, message):
    with pytest.raises(ValueError, match=message):
        fit(family, data)


@pytest.mark.parametrize("family, data, message", [
    (Normal, [2.0] * 5, r"Normal: degenerate data: all 5 observations equal 2.0, so the "
                        r"maximum-likelihood spread is 0"),
    (Normal, [3.0], r"all 1 observations equal 3.0"),
    (Gamma, [1.5, 1.5], r"Gamma: degenerate data: all 2 observations equal 1.5"),
    (Exponential, [0.0, 0.0], r"all 2 observations are 0, so the maximum-likelihood rate N/Σx is "
                              r"infinite"),
    (Poisson, [0, 0, 0], r"Poisson: degenerate data: all 3 observations are 0"),
    (Bernoulli, [1, 1, 1], r"all 3 observations are 1, so the maximum-likelihood probability is "
                           r"exactly 1"),
    (Categorical, [0, 2, 2, 0], r"category 1 never occurs among the 4 observations"),
    (MultivariateNormal, [[1.0, 2.0, 3.0], [2.0, 1.0, 0.0]], r"sample covariance of 2 points in 3 "
                                                             r"dimensions is singular, rank 1"),
])
def test_degenerate_data_get_a_clear_error_not_nan(family, data, message):
    with pytest.raises(ValueError, match=message):
        fit(family, data)


def test_instances_fix_the_number_of_categories_and_dimensions():
    with pytest.raises(ValueError, match=r"Categorical: data\[2\] = 3.0 is outside the support "
                                         r"\(values must be an integer in \[0, 3\)\)"):
        fit(Categorical(np.ones(3)), [0, 1, 3, 2])
    with pytest.raises(ValueError, match=r"observations have 2 coordinates but the distribution "
                                         r"has 3"):
        fit(MultivariateNormal(np.zeros(3), np.eye(3)), np.ones((5, 2)))
    result = fit(Categorical(np.ones(4)), [0, 1, 3, 2, 3])
    np.testing.assert_allclose(result.params["probs"], [0.2, 0.2, 0.2, 0.4])


def test_method_and_family_errors():
    x = sample(Gamma(2.0, 1.0), 50)
    with pytest.raises(ValueError, match=r"Gamma has no closed-form maximum-likelihood estimate; "
                                         r"use method='numeric'"):
        fit(Gamma, x, method="closed_form")
    with pytest.raises(ValueError, match=r"method must be 'auto', 'closed_form' or 'numeric', "
                                         r"got 'newton'"):
        fit(Gamma, x, method="newton")
    with pytest.raises(ValueError, match=r"unknown distribution 'weibull'; choose one of: "):
        fit("weibull", x)
    with pytest.raises(TypeError, match=r"dist must be a distribution class, instance or name"):
        fit(42, x)
    with pytest.raises(ValueError, match=r"start has 3 free values, Categorical fitted to these "
                                         r"data needs 1"):
        fit(Categorical, [0, 1, 1], method="numeric", start=Categorical(np.ones(4)))


def test_names_results_and_summary():
    x = sample(Gamma(2.0, 1.0), 300)
    by_name = fit("gamma", x)
    by_class = fit(Gamma, x)
    assert by_name.params == by_class.params and by_name.family == "Gamma"
    z = scipy.stats.norm.ppf(0.975)
    low, high = by_class.confidence_intervals()["rate"]
    assert (low, high) == pytest.approx((by_class.params["rate"] - z * by_class.stderr["rate"],
                                         by_class.params["rate"] + z * by_class.stderr["rate"]))
    text = by_class.summary()
    assert "concentration" in text and "95% interval" in text and "observed Fisher" in text
    assert by_class.distribution.concentration.item() == by_class.params["concentration"]
    assert fit("student_t", sample(StudentT(4.0), 200)).family == "StudentT"
    assert fit("mvn", np.random.default_rng(0).normal(size=(20, 2))).family == "MultivariateNormal"


def test_newton_minimize_on_the_rosenbrock_valley():
    def rosenbrock(u):
        return (1 - u[0]) ** 2 + 100 * (u[1] - u[0] ** 2) ** 2
    result = newton_minimize(rosenbrock, np.array([-1.2, 1.0]))
    assert result.converged
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-8)


# --- issue 20, item 5: data near the ends of float64 ---------------------------------------------
@pytest.mark.parametrize("family, x, scale", [
    (Normal, [1.0, 3.0, 2.0], 1e200),        # the input: 'scale inf, std. error nan'
    (Normal, [1.0, 3.0, 2.5], 1e-300),       # squares underflow to 0
    (Exponential, [0.3, 1.7, 1.0, 2.2], 1e307),   # 'rate 0, log-likelihood nan'
    (Gamma, [0.3, 1.7, 1.0, 2.2, 0.9], 1e250),
    (Laplace, [1.0, 3.0, 2.0, 7.0], 1e250),
    (StudentT, [-1.0, 0.5, 0.2, 3.0, 1.1, -0.4, 0.0, 9.0], 1e-250),
])
def test_huge_and_tiny_data_fit_like_data_near_one(family, x, scale):
    """The fit of c·x equals the fit of x mapped to c's units: location and scale parameters
    times c, rates over c, shapes unchanged, and log L shifted by −N·log c."""
    powers = {"loc": 1, "scale": 1, "rate": -1, "concentration": 0, "df": 0}
    x = np.array(x)
    plain, big = fit(family, x), fit(family, x * scale)
    for name, value in plain.params.items():
        factor = scale ** powers[name]
        assert big.params[name] == pytest.approx(value * factor, rel=1e-9), name
        assert big.stderr[name] == pytest.approx(plain.stderr[name] * factor, rel=1e-6), name
    assert big.loglik == pytest.approx(plain.loglik - len(x) * math.log(scale), rel=1e-12)
    assert big.converged


def test_ordinary_data_give_the_same_bits_after_rescaling():
    """Dividing by a power of two is exact: the closed forms are unchanged to the last bit."""
    x = np.random.default_rng(5).normal(3.0, 2.0, 1000)
    result = fit(Normal, x)
    assert result.params["loc"] == np.mean(x)
    assert result.params["scale"] == math.sqrt(np.sum((x - np.mean(x)) ** 2) / len(x))


def test_a_nearly_constant_sample_is_refused_for_a_gamma():
    """The issue's 1, 1, 1, 1.0000000001 printed 'concentration 2.5e110, log-likelihood 3.2e97'."""
    with pytest.raises(ValueError, match=r"Gamma: degenerate data: the 4 observations are nearly "
                                         r"constant .* the maximum-likelihood concentration "
                                         r"\(about 5.3\de\+20\) is beyond what float64 can fit"):
        fit(Gamma, [1, 1, 1, 1.0000000001])
    x = 1 + 1e-3 * np.random.default_rng(0).standard_normal(200)       # α ≈ 1e6 still fits
    spread = math.log(np.mean(x)) - np.mean(np.log(x))
    alpha = scipy.optimize.brentq(lambda a: math.log(a) - scipy.special.digamma(a) - spread,
                                  1e3, 1e9)
    result = fit(Gamma, x)
    assert result.converged and result.params["concentration"] == pytest.approx(alpha, rel=1e-6)


def test_an_estimate_beyond_float64_is_refused():
    x = np.random.default_rng(0).normal(size=(50, 2)) * 1e200
    with pytest.raises(ValueError, match="MultivariateNormal: the maximum-likelihood "
                                         "covariance_matrix is not finite in float64"):
        fit(MultivariateNormal, x)
    small = fit(MultivariateNormal, x / 1e200)
    assert fit(MultivariateNormal, x * 1e-100).params["covariance_matrix"] == \
        pytest.approx(small.params["covariance_matrix"] * 1e200, rel=1e-9)
