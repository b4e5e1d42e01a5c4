"""torchsorflow.distributions against torch.distributions: log_prob, entropy, moments, cdf/icdf,
KL divergences and their gradients (reverse mode against torch.autograd, forward mode against
finite differences) over random parameters and batch shapes in float64; sample moments with a
fixed seed; reparameterised gradients (unbiased, and the implicit Gamma/Dirichlet slopes against
an independent quantile-function oracle); argument validation with PyTorch's messages; expand,
Independent and enumerate_support; and the same classes fitted by torchsorflow.stats.fit."""
import re
import zlib

import numpy as np
import pytest
import scipy.special
import scipy.stats

import torchsorflow as tsf
import torchsorflow.distributions as D
from torchsorflow.autodiff import check_grads
from torchsorflow.func import grad, jvp
from torchsorflow.stats import fit

BATCHES = [(), (3,), (2, 3)]


def seed_of(*key):
    """A seed that is the same in every run (``hash`` of strings is not)."""
    return zlib.crc32(repr(key).encode())


def torch_or_skip():
    return pytest.importorskip("torch")


# --- the families: random parameters, values in the support ------------------------------------
def _positive(rng, shape, low=0.5, high=3.0):
    return rng.uniform(low, high, shape)


def _spd(rng, batch, d):
    a = rng.standard_normal(batch + (d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


def _simplex(rng, shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


# name -> (params(rng, batch) -> dict of float64 arrays, value(rng, params, batch, n) -> array,
#          names of the parameters that are differentiated, whether values are continuous)
FAMILIES = {
    "Normal": (lambda r, b: {"loc": r.standard_normal(b), "scale": _positive(r, b)},
               lambda r, p, b, n: r.standard_normal((n,) + b) * 2, True),
    "LogNormal": (lambda r, b: {"loc": r.standard_normal(b) * 0.5, "scale": _positive(r, b, 0.3, 1.5)},
                  lambda r, p, b, n: r.uniform(0.1, 5.0, (n,) + b), True),
    "Laplace": (lambda r, b: {"loc": r.standard_normal(b), "scale": _positive(r, b)},
                lambda r, p, b, n: r.standard_normal((n,) + b) * 2, True),
    "StudentT": (lambda r, b: {"df": _positive(r, b, 0.7, 6.0), "loc": r.standard_normal(b),
                               "scale": _positive(r, b)},
                 lambda r, p, b, n: r.standard_normal((n,) + b) * 3, True),
    "Exponential": (lambda r, b: {"rate": _positive(r, b)},
                    lambda r, p, b, n: r.uniform(0.01, 4.0, (n,) + b), True),
    "Gamma": (lambda r, b: {"concentration": _positive(r, b), "rate": _positive(r, b)},
              lambda r, p, b, n: r.uniform(0.05, 5.0, (n,) + b), True),
    "Beta": (lambda r, b: {"concentration1": _positive(r, b), "concentration0": _positive(r, b)},
             lambda r, p, b, n: r.uniform(0.02, 0.98, (n,) + b), True),
    "Uniform": (lambda r, b: (lambda low: {"low": low, "high": low + _positive(r, b)})(
        r.standard_normal(b)),
        lambda r, p, b, n: p["low"] + r.uniform(0.05, 0.95, (n,) + b) * (p["high"] - p["low"]),
        True),
    "Poisson": (lambda r, b: {"rate": _positive(r, b, 0.5, 6.0)},
                lambda r, p, b, n: r.integers(0, 9, (n,) + b).astype(float), False),
    "Bernoulli": (lambda r, b: {"probs": r.uniform(0.05, 0.95, b)},
                  lambda r, p, b, n: r.integers(0, 2, (n,) + b).astype(float), False),
    "BernoulliLogits": (lambda r, b: {"logits": r.standard_normal(b) * 2},
                        lambda r, p, b, n: r.integers(0, 2, (n,) + b).astype(float), False),
    "Binomial": (lambda r, b: {"total_count": np.full(b, 7.0), "probs": r.uniform(0.05, 0.95, b)},
                 lambda r, p, b, n: r.integers(0, 8, (n,) + b).astype(float), False),
    "BinomialLogits": (lambda r, b: {"total_count": np.full(b, 5.0),
                                     "logits": r.standard_normal(b)},
                       lambda r, p, b, n: r.integers(0, 6, (n,) + b).astype(float), False),
    "Categorical": (lambda r, b: {"probs": _simplex(r, b + (4,))},
                    lambda r, p, b, n: r.integers(0, 4, (n,) + b).astype(float), False),
    "CategoricalLogits": (lambda r, b: {"logits": r.standard_normal(b + (4,))},
                          lambda r, p, b, n: r.integers(0, 4, (n,) + b).astype(float), False),
    "OneHotCategorical": (lambda r, b: {"probs": _simplex(r, b + (3,))},
                          lambda r, p, b, n: np.eye(3)[r.integers(0, 3, (n,) + b)], False),
    "Dirichlet": (lambda r, b: {"concentration": _positive(r, b + (3,))},
                  lambda r, p, b, n: _simplex(r, (n,) + b + (3,)), True),
    "MultivariateNormal": (lambda r, b: {"loc": r.standard_normal(b + (3,)),
                                         "covariance_matrix": _spd(r, b, 3)},
                           lambda r, p, b, n: r.standard_normal((n,) + b + (3,)) * 2, True),
    "MultivariateNormalTril": (lambda r, b: {"loc": r.standard_normal(b + (2,)),
                                             "scale_tril": np.linalg.cholesky(_spd(r, b, 2))},
                               lambda r, p, b, n: r.standard_normal((n,) + b + (2,)), True),
    "MultivariateNormalPrecision": (lambda r, b: {"loc": r.standard_normal(b + (2,)),
                                                  "precision_matrix": _spd(r, b, 2)},
                                    lambda r, p, b, n: r.standard_normal((n,) + b + (2,)), True),
}
NOT_DIFFERENTIATED = {"total_count"}


def class_name(name):
    for suffix in ("Logits", "Tril", "Precision"):
        name = name.removesuffix(suffix)
    return name


def make(lib, name, params, requires_grad=False, frozen=()):
    """The distribution from ``lib`` (ours or torch.distributions) and its parameter tensors;
    with ``requires_grad`` every parameter but ``frozen`` ones requires a gradient."""
    new = tsf.tensor if lib is D else __import__("torch").tensor
    tensors = {k: new(v, requires_grad=requires_grad and k not in NOT_DIFFERENTIATED
                      and k not in frozen) for k, v in params.items()}
    return getattr(lib, class_name(name))(**tensors), tensors


def numpy_of(x):
    return x.detach().numpy() if hasattr(x, "detach") else x.numpy()


CASES = [(name, batch) for name in FAMILIES for batch in BATCHES]
CASE_IDS = [f"{name}-{batch}" for name, batch in CASES]


def _torch_has(torch_dist, method, *args):
    try:
        getattr(torch_dist, method)(*args) if args or callable(getattr(type(torch_dist), method,
                                                                       None)) else \
            getattr(torch_dist, method)
    except NotImplementedError:
        return False
    return True


@pytest.mark.parametrize("name, batch", CASES, ids=CASE_IDS)
def test_densities_moments_and_entropy_match_torch(name, batch):
    torch = torch_or_skip()
    rng = np.random.default_rng(seed_of(name, batch))
    params_of, value_of, continuous = FAMILIES[name]
    params = params_of(rng, batch)
    ours, _ = make(D, name, params)
    theirs, _ = make(torch.distributions, name, params)
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    value = value_of(rng, params, batch, 5)
    np.testing.assert_allclose(ours.log_prob(value).numpy(),
                               theirs.log_prob(torch.tensor(value)).numpy(), rtol=1e-10, atol=1e-12)
    checked = ["log_prob"]
    for prop in ("mean", "variance", "stddev", "mode"):
        if class_name(name) == "Categorical" and prop in ("mean", "variance", "stddev"):
            continue  # PyTorch returns NaN; ours gives the moments of the label (tested below)
        expected = getattr(theirs, prop)
        np.testing.assert_allclose(getattr(ours, prop).numpy(), expected.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=prop)
        checked.append(prop)
    for method, argument in (("entropy", None), ("cdf", value), ("icdf", None)):
        if method == "icdf":
            argument = theirs.cdf(torch.tensor(value)).numpy() if _torch_has(
                theirs, "cdf", torch.tensor(value)) else rng.uniform(0.05, 0.95, (5,) + batch)
        args = () if argument is None else (torch.tensor(argument),)
        if not _torch_has(theirs, method, *args):
            with pytest.raises(NotImplementedError):
                getattr(ours, method)(*(() if argument is None else (argument,)))
            continue
        expected = getattr(theirs, method)(*args).numpy()
        got = getattr(ours, method)(*(() if argument is None else (argument,))).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=method)
        checked.append(method)
    assert "log_prob" in checked and len(checked) >= 3, checked


@pytest.mark.parametrize("name, batch", CASES, ids=CASE_IDS)
def test_reverse_mode_gradients_match_torch(name, batch):
    """∂/∂(parameters, value) of log_prob, and ∂/∂parameters of entropy, mean, variance and
    cdf, for a random cotangent, against torch.autograd."""
    torch = torch_or_skip()
    rng = np.random.default_rng(seed_of(name, batch, 1))
    params_of, value_of, continuous = FAMILIES[name]
    params = params_of(rng, batch)
    value = value_of(rng, params, batch, 4)
    for method in ("log_prob", "entropy", "mean", "variance", "cdf"):
        if class_name(name) == "Categorical" and method in ("mean", "variance"):
            continue
        # the derivative of Gamma's cdf in the concentration is not implemented (nor in PyTorch)
        frozen = {"concentration"} if method == "cdf" else set()
        theirs, t_params = make(torch.distributions, name, params, True, frozen)
        t_value = torch.tensor(value, requires_grad=continuous and method in ("log_prob", "cdf"))
        try:
            t_out = getattr(theirs, method)
            t_out = t_out(t_value) if method in ("log_prob", "cdf") else (
                t_out() if callable(t_out) else t_out)
        except NotImplementedError:
            continue
        ours, o_params = make(D, name, params, True, frozen)
        o_value = tsf.tensor(value, requires_grad=continuous and method in ("log_prob", "cdf"))
        o_out = getattr(ours, method)
        o_out = o_out(o_value) if method in ("log_prob", "cdf") else (
            o_out() if callable(o_out) else o_out)
        cotangent = rng.standard_normal(t_out.shape)
        inputs = [t for k, t in t_params.items() if t.requires_grad] + (
            [t_value] if t_value.requires_grad else [])
        if not t_out.requires_grad:
            continue
        expected = torch.autograd.grad(t_out, inputs, torch.tensor(cotangent), allow_unused=True)
        o_out.backward(tsf.tensor(cotangent))
        mine = [t for k, t in o_params.items() if t.requires_grad] + (
            [o_value] if o_value.requires_grad else [])
        for i, (ours_t, g) in enumerate(zip(mine, expected)):
            want = np.zeros(ours_t.shape) if g is None else g.numpy()
            got = np.zeros(ours_t.shape) if ours_t.grad is None else ours_t.grad.numpy()
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9,
                                       err_msg=f"{name}.{method}: gradient of input {i}")


FORWARD_MODE = ["Normal", "LogNormal", "Laplace", "StudentT", "Exponential", "Gamma", "Beta",
                "Uniform", "Poisson", "Bernoulli", "BernoulliLogits", "Binomial", "Categorical",
                "CategoricalLogits", "Dirichlet", "MultivariateNormal", "MultivariateNormalTril",
                "MultivariateNormalPrecision"]


@pytest.mark.parametrize("name", FORWARD_MODE)
def test_log_prob_and_entropy_derivatives_in_both_modes_against_finite_differences(name):
    rng = np.random.default_rng(7)
    params_of, value_of, continuous = FAMILIES[name]
    params = params_of(rng, (2,))
    value = value_of(rng, params, (2,), 3)
    names = [k for k in params if k not in NOT_DIFFERENTIATED]
    fixed = {k: v for k, v in params.items() if k in NOT_DIFFERENTIATED}
    cls = getattr(D, class_name(name))

    def log_prob(*args):
        dist = cls(**dict(zip(names, args)), **fixed, validate_args=False)
        return dist.log_prob(value)

    check_grads(log_prob, [params[k] for k in names], order=2, rtol=1e-5, atol=1e-6)
    if name not in ("Poisson",):
        check_grads(lambda *a: cls(**dict(zip(names, a)), **fixed, validate_args=False).entropy(),
                    [params[k] for k in names], order=1, rtol=1e-5, atol=1e-6)
    if continuous and name not in ("Dirichlet",) and not name.startswith("Multivariate"):
        dist = cls(**params)
        check_grads(lambda v: dist.log_prob(v, validate_args=False), [value], order=2)


@pytest.mark.parametrize("name", ["Normal", "LogNormal", "Laplace", "Exponential", "Uniform"])
def test_cdf_and_icdf_derivatives_and_inverse(name):
    rng = np.random.default_rng(3)
    params_of, value_of, _ = FAMILIES[name]
    params = params_of(rng, (3,))
    names = list(params)
    cls = getattr(D, name)
    value = value_of(rng, params, (3,), 1)[0]
    probability = rng.uniform(0.1, 0.9, 3)
    check_grads(lambda *a: cls(*a[:-1], validate_args=False).cdf(a[-1]),
                [params[k] for k in names] + [value], order=2)
    check_grads(lambda *a: cls(*a[:-1], validate_args=False).icdf(a[-1]),
                [params[k] for k in names] + [probability], order=2)
    dist = cls(**params)
    np.testing.assert_allclose(dist.cdf(dist.icdf(probability)).numpy(), probability, rtol=1e-10)


# --- samples -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in FAMILIES if "Logits" not in n])
def test_sample_moments_shapes_dtypes_and_repeatability(name):
    rng = np.random.default_rng(11)
    params_of, _, _ = FAMILIES[name]
    params = params_of(rng, (2,))
    if name == "StudentT":
        params["df"] = np.array([5.0, 7.0])  # a finite fourth moment for the variance check
    dist = getattr(D, class_name(name))(**params)
    n = 40000
    draws = dist.sample((n,), seed=5)
    assert draws.shape == (n,) + dist.batch_shape + dist.event_shape
    assert draws.dtype == (np.int64 if class_name(name) == "Categorical" else np.float64)
    np.testing.assert_array_equal(draws.numpy(), dist.sample((n,), seed=5).numpy())
    x = draws.numpy().astype(np.float64)
    if class_name(name) != "Categorical":
        mean, var = dist.mean.numpy(), dist.variance.numpy()
        assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n)), (x.mean(0), mean)
        # the sample variance's standard error, from the fourth central moment
        m4 = ((x - x.mean(0)) ** 4).mean(0)
        assert np.all(np.abs(x.var(0) - var) < 6 * np.sqrt((m4 - var ** 2) / n) + 1e-12)
    else:
        counts = np.stack([np.bincount(x[:, j].astype(int), minlength=4) / n for j in range(2)])
        np.testing.assert_allclose(counts, params["probs"], atol=0.015)
    assert np.all(np.isfinite(dist.log_prob(draws).numpy()))  # inside the support
    if dist.has_rsample:
        np.testing.assert_array_equal(dist.rsample((n,), seed=5).numpy(), draws.numpy())


def test_sample_shapes_follow_torch():
    torch = torch_or_skip()
    for shape in [(), (4,), (2, 3)]:
        ours = D.Normal(np.zeros((5, 1)), np.ones(2))
        theirs = torch.distributions.Normal(torch.zeros(5, 1), torch.ones(2))
        assert ours.sample(shape).shape == tuple(theirs.sample(shape).shape)
    assert D.Normal(0.0, 1.0).sample().shape == ()
    assert D.Normal(0.0, 1.0).sample(3).shape == (3,)  # an int means (n,)
    for bad in ((2, -1), 1.5, (2.0,)):
        with pytest.raises(ValueError, match=r"Normal.sample: sample_shape must be a tuple of "
                                             r"non-negative ints, got"):
            D.Normal(0.0, 1.0).sample(bad)
    tsf.manual_seed(3)
    first = D.Gamma(2.0, 1.0).sample((4,))
    tsf.manual_seed(3)
    np.testing.assert_array_equal(first.numpy(), D.Gamma(2.0, 1.0).sample((4,)).numpy())
    assert not D.Normal(tsf.tensor(0.0, requires_grad=True), 1.0).sample().requires_grad
    with pytest.raises(NotImplementedError, match="Poisson has no rsample"):
        D.Poisson(1.0).rsample()


def test_a_pytorch_style_subclass_works():
    """A user distribution written against torch's base class: it stores its parameters, calls
    ``super().__init__(batch_shape)``, and overrides ``log_prob`` and ``rsample`` directly."""

    class Shifted(D.Distribution):
        arg_constraints = {"shift": D.constraints.real}
        support = D.constraints.real
        has_rsample = True

        def __init__(self, shift, validate_args=None):
            self.shift = shift
            super().__init__(batch_shape=shift.shape, validate_args=validate_args)

        def rsample(self, sample_shape=()):
            return self.shift + tsf.randn(*(tuple(sample_shape) + self.batch_shape),
                                          dtype=tsf.float64)

        def log_prob(self, value):
            if self._validate_args:
                self._validate_sample(value)
            return D.Normal(self.shift, 1.0).log_prob(value)

    shift = tsf.tensor(np.array([0.0, 5.0]), requires_grad=True)
    d = Shifted(shift)
    assert d.sample((1000,)).numpy().mean(0) == pytest.approx([0.0, 5.0], abs=0.2)
    d.log_prob(tsf.tensor(np.array([1.0, 4.0]))).sum().backward()
    np.testing.assert_allclose(shift.grad.numpy(), [1.0, -1.0])
    assert repr(d) == "Shifted(shift: (2,))"
    with pytest.raises(ValueError, match=r"(?s)Expected parameter shift .*\nShifted: shift\[0\] = nan"):
        Shifted(tsf.tensor(np.array([np.nan, 1.0])))
    with pytest.raises(NotImplementedError, match="Shifted does not implement entropy"):
        d.entropy()


def test_float32_parameters_give_float32_values_and_numbers_follow_the_tensor():
    loc = tsf.tensor([0.0, 1.0])
    d = D.Normal(loc, 2.0)
    assert d.scale.dtype == np.float32 and d.sample((3,), seed=0).dtype == np.float32
    assert d.log_prob(tsf.tensor([0.5, 0.5])).dtype == np.float32
    assert D.Normal(0.0, 1.0).loc.dtype == np.float64  # no Tensor among the arguments


@pytest.mark.parametrize("name, make_dist, mean_of, second_moment_of", [
    ("Normal", lambda a, b: D.Normal(a, b), lambda a, b: a, lambda a, b: a * a + b * b),
    ("LogNormal", lambda a, b: D.LogNormal(a, b), lambda a, b: tsf.exp(a + b * b / 2),
     lambda a, b: tsf.exp(2 * a + 2 * b * b)),
    ("Laplace", lambda a, b: D.Laplace(a, b), lambda a, b: a, lambda a, b: a * a + 2 * b * b),
    ("Gamma", lambda a, b: D.Gamma(a, b), lambda a, b: a / b, lambda a, b: a * (a + 1) / (b * b)),
    ("Beta", lambda a, b: D.Beta(a, b), lambda a, b: a / (a + b),
     lambda a, b: a * (a + 1) / ((a + b) * (a + b + 1))),
    ("Uniform", lambda a, b: D.Uniform(a, a + b), lambda a, b: a + b / 2,
     lambda a, b: (a * a + a * (a + b) + (a + b) ** 2) / 3),
    ("StudentT", lambda a, b: D.StudentT(a + 4.0, 0.5, b), lambda a, b: 0.5 + 0 * a,
     lambda a, b: 0.25 + b * b * (a + 4) / (a + 2)),
])
def test_rsample_gradients_are_unbiased(name, make_dist, mean_of, second_moment_of):
    """d/dθ of the sample mean of x and x² (pathwise, through rsample) matches d/dθ of E[x]
    and E[x²] within Monte Carlo error: the reparameterisation (implicit for Gamma, Beta and the
    chi-square inside Student's t) is right on average."""
    theta = [tsf.tensor(1.3, dtype="float64"), tsf.tensor(0.8, dtype="float64")]
    n = 200000
    for moment, exact in ((lambda x: x, mean_of), (lambda x: x * x, second_moment_of)):
        estimate = grad(lambda a, b: moment(make_dist(a, b).rsample((n,), seed=1)).mean(),
                        argnums=(0, 1))(*theta)
        want = grad(lambda a, b: exact(a, b), argnums=(0, 1))(*theta)
        per_draw = jvp(lambda a, b: moment(make_dist(a, b).rsample((n,), seed=1)), tuple(theta),
                       (tsf.tensor(1.0, dtype="float64"), tsf.tensor(0.0, dtype="float64")))[1]
        se = per_draw.numpy().std() / np.sqrt(n)
        # forward mode gives the same per-draw derivatives as reverse mode
        assert per_draw.numpy().mean() == pytest.approx(estimate[0].item(), rel=1e-9, abs=1e-12)
        assert abs(estimate[0].item() - want[0].item()) < 5 * se + 1e-9, (name, estimate, want)
        assert estimate[1].item() == pytest.approx(want[1].item(), rel=0.05, abs=0.02)


def test_dirichlet_and_multivariate_normal_rsample_gradients_are_unbiased():
    alpha = tsf.tensor(np.array([0.7, 2.0, 3.5]))
    n = 100000
    g = grad(lambda a: (D.Dirichlet(a).rsample((n,), seed=2)[:, 0]).mean())(alpha).numpy()
    total = 0.7 + 2.0 + 3.5
    exact = np.array([1 / total - 0.7 / total ** 2, -0.7 / total ** 2, -0.7 / total ** 2])
    np.testing.assert_allclose(g, exact, atol=3e-3)
    cov = _spd(np.random.default_rng(0), (), 3)
    g = grad(lambda c: (D.MultivariateNormal(np.zeros(3), c).rsample((n,), seed=3) ** 2)
             .mean(0).sum())(tsf.tensor(cov)).numpy()
    np.testing.assert_allclose(g, np.eye(3), atol=0.03)  # d tr(Σ) / dΣ = I


def _quantile_slope(inverse_cdf, a, probability, step=1e-6):
    """dx/da at fixed probability, by central differences of SciPy's inverse CDF."""
    h = step * max(a, 1e-3)
    return (inverse_cdf(a + h, probability) - inverse_cdf(a - h, probability)) / (2 * h)


@pytest.mark.parametrize("alpha", [0.05, 0.4, 1.0, 3.0, 25.0, 400.0])
def test_gamma_implicit_slopes_match_the_quantile_function_and_torch(alpha):
    from torchsorflow.ops.special import standard_gamma_grad
    rng = np.random.default_rng(int(alpha * 100))
    x = np.maximum(rng.standard_gamma(alpha, 8), 1e-300)
    ours = standard_gamma_grad(tsf.tensor(np.full(8, alpha)), tsf.tensor(x)).numpy()
    u = scipy.special.gammainc(alpha, x)
    oracle = np.array([_quantile_slope(scipy.special.gammaincinv, alpha, ui) for ui in u])
    ok = (u > 1e-12) & (u < 1 - 1e-12)  # where the inverse is well conditioned
    np.testing.assert_allclose(ours[ok], oracle[ok], rtol=2e-6)
    torch = pytest.importorskip("torch")
    theirs = torch._standard_gamma_grad(torch.tensor(np.full(8, alpha)), torch.tensor(x))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=2e-4)  # PyTorch approximates


@pytest.mark.parametrize("a, b", [(0.3, 0.6), (1.0, 1.0), (2.0, 5.0), (30.0, 7.0), (300.0, 500.0)])
def test_dirichlet_implicit_slopes_match_the_beta_quantile_function_and_torch(a, b):
    from torchsorflow.ops.special import dirichlet_grad
    rng = np.random.default_rng(int(a * 10 + b))
    x = rng.beta(a, b, 8)
    ours = dirichlet_grad(tsf.tensor(x), tsf.tensor(np.full(8, a)), tsf.tensor(np.full(8, a + b)))
    u = scipy.special.betainc(a, b, x)
    oracle = np.array([_quantile_slope(lambda s, p: scipy.special.betaincinv(s, b, p), a, ui)
                       for ui in u]) / (1 - x)
    np.testing.assert_allclose(ours.numpy(), oracle, rtol=2e-6)
    torch = pytest.importorskip("torch")
    theirs = torch._dirichlet_grad(torch.tensor(x), torch.tensor(np.full(8, a)),
                                   torch.tensor(np.full(8, a + b)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=5e-3)  # PyTorch approximates


def test_gamma_rsample_gradient_in_both_modes_is_the_implicit_slope_and_second_order_says_so():
    a = tsf.tensor(np.array([0.5, 2.0, 9.0]))
    draws = D.Gamma(a, 2.0).rsample((4,), seed=8)
    from torchsorflow.ops.special import standard_gamma_grad
    slope = standard_gamma_grad(np.broadcast_to(a.numpy(), (4, 3)), draws.numpy() * 2).numpy() / 2
    rev = grad(lambda c: (D.Gamma(c, 2.0).rsample((4,), seed=8) * np.arange(12).reshape(4, 3))
               .sum())(a).numpy()
    np.testing.assert_allclose(rev, (slope * np.arange(12).reshape(4, 3)).sum(0), rtol=1e-12)
    tangent = jvp(lambda c: D.Gamma(c, 2.0).rsample((4,), seed=8), (a,),
                  (tsf.tensor(np.ones(3)),))[1].numpy()
    np.testing.assert_allclose(tangent, slope, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="second derivative of a Gamma sample"):
        tsf.func.hessian(lambda c: D.Gamma(c, 1.0).rsample((2,), seed=0).sum())(a)


def test_reparameterised_samples_of_location_scale_families_in_both_modes():
    """At a fixed seed loc + scale·ε is a smooth function of the parameters: finite differences
    apply directly."""
    for cls in (D.Normal, D.LogNormal, D.Laplace):
        check_grads(lambda m, s: cls(m, s).rsample((5,), seed=4), [np.array([0.2, -0.4]),
                                                                    np.array([0.7, 1.3])], order=2)
    check_grads(lambda r: D.Exponential(r).rsample((5,), seed=4), [np.array([0.5, 2.0])])
    check_grads(lambda lo, w: D.Uniform(lo, lo + w).rsample((5,), seed=4),
                [np.array([0.0, -1.0]), np.array([1.0, 3.0])])
    check_grads(lambda m, c: D.MultivariateNormal(m, c).rsample((4,), seed=4),
                [np.zeros(3), _spd(np.random.default_rng(1), (), 3)], order=2)
    check_grads(lambda m, t: D.MultivariateNormal(m, scale_tril=t, validate_args=False).rsample(
        (4,), seed=4),
                [np.zeros(2), np.array([[1.0, 0.0], [0.3, 0.8]])], order=2)


# --- KL divergence -----------------------------------------------------------------------------
KL_PAIRS = [("Normal", "Normal"), ("LogNormal", "LogNormal"), ("Laplace", "Laplace"),
            ("Exponential", "Exponential"), ("Gamma", "Gamma"), ("Beta", "Beta"),
            ("Uniform", "Uniform"), ("Poisson", "Poisson"), ("Bernoulli", "Bernoulli"),
            ("BernoulliLogits", "Bernoulli"), ("Binomial", "Binomial"),
            ("Categorical", "Categorical"), ("CategoricalLogits", "Categorical"),
            ("OneHotCategorical", "OneHotCategorical"), ("Dirichlet", "Dirichlet"),
            ("MultivariateNormal", "MultivariateNormal"),
            ("MultivariateNormalTril", "MultivariateNormalPrecision"),
            ("Bernoulli", "Poisson"), ("Beta", "Exponential"), ("Beta", "Gamma"),
            ("Beta", "Normal"), ("Beta", "Uniform"), ("Exponential", "Gamma"),
            ("Exponential", "Normal"), ("Gamma", "Exponential"), ("Gamma", "Normal"),
            ("Laplace", "Normal"), ("Normal", "Laplace"), ("Uniform", "Beta"),
            ("Uniform", "Exponential"), ("Uniform", "Gamma"), ("Uniform", "Normal"),
            ("Normal", "Gamma"), ("Exponential", "Uniform"), ("Laplace", "Beta"),
            ("Poisson", "Bernoulli"), ("Gamma", "Beta")]


def _kl_params(name, rng, batch):
    params = FAMILIES[name][0](rng, batch)
    if name == "Uniform":  # inside (0, 1) so that the pairs with Beta are finite
        params = {"low": rng.uniform(0.05, 0.3, batch), "high": rng.uniform(0.6, 0.95, batch)}
    return params


@pytest.mark.parametrize("p_name, q_name", KL_PAIRS, ids=[f"{p}-{q}" for p, q in KL_PAIRS])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_kl_divergence_and_its_gradients_match_torch(p_name, q_name, batch):
    torch = torch_or_skip()
    rng = np.random.default_rng(seed_of(p_name, q_name, batch))
    p_params, q_params = _kl_params(p_name, rng, batch), _kl_params(q_name, rng, batch)
    if q_name == "Uniform" and p_name == "Uniform":  # q must cover p for a finite value
        q_params = {"low": p_params["low"] - 0.1, "high": p_params["high"] + 0.2}
    p_ours, p_o = make(D, p_name, p_params, requires_grad=True)
    q_ours, q_o = make(D, q_name, q_params, requires_grad=True)
    p_theirs, p_t = make(torch.distributions, p_name, p_params, requires_grad=True)
    q_theirs, q_t = make(torch.distributions, q_name, q_params, requires_grad=True)
    ours = D.kl_divergence(p_ours, q_ours)
    theirs = torch.distributions.kl_divergence(p_theirs, q_theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
    if not np.all(np.isfinite(theirs.detach().numpy())) or not theirs.requires_grad:
        return
    cotangent = rng.standard_normal(theirs.shape)
    t_inputs = [t for t in list(p_t.values()) + list(q_t.values()) if t.requires_grad]
    expected = torch.autograd.grad(theirs, t_inputs, torch.tensor(cotangent), allow_unused=True)
    ours.backward(tsf.tensor(cotangent))
    o_inputs = [t for t in list(p_o.values()) + list(q_o.values()) if t.requires_grad]
    for got, want in zip(o_inputs, expected):
        want = np.zeros(got.shape) if want is None else want.numpy()
        got = np.zeros(got.shape) if got.grad is None else got.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


def test_kl_is_the_expected_log_ratio_and_forward_mode_agrees():
    """KL(p‖q) = E_p[log p − log q] (Monte Carlo), and forward-mode derivatives of the closed
    forms agree with finite differences."""
    pairs = [(D.Gamma(2.0, 3.0), D.Normal(0.5, 1.0)), (D.Beta(2.0, 3.0), D.Gamma(1.5, 2.0)),
             (D.Normal(0.3, 0.7), D.Laplace(-0.2, 1.1)), (D.Uniform(0.2, 0.7), D.Beta(2.0, 2.0))]
    for p, q in pairs:
        x = p.sample((200000,), seed=0)
        ratio = p.log_prob(x).numpy() - q.log_prob(x).numpy()
        assert abs(ratio.mean() - D.kl_divergence(p, q).item()) < 5 * ratio.std() / np.sqrt(len(x))
    check_grads(lambda a, b, m, s: D.kl_divergence(D.Gamma(a, b), D.Normal(m, s)),
                [np.array([2.0, 0.7]), np.array([3.0, 1.0]), np.array([0.5, -1.0]),
                 np.array([1.0, 2.0])], order=2)
    check_grads(lambda m1, c1, m2, c2: D.kl_divergence(D.MultivariateNormal(m1, c1),
                                                       D.MultivariateNormal(m2, c2)),
                [np.zeros(3), _spd(np.random.default_rng(2), (), 3), np.ones(3),
                 _spd(np.random.default_rng(3), (), 3)], order=2)


def test_every_pair_torch_registers_among_these_families_is_registered():
    torch = torch_or_skip()
    from torch.distributions import kl as torch_kl
    from torchsorflow.distributions.kl import _KL_REGISTRY
    ours = {(p.__name__, q.__name__) for p, q in _KL_REGISTRY}
    theirs = {(p.__name__, q.__name__) for p, q in torch_kl._KL_REGISTRY
              if hasattr(D, p.__name__) and hasattr(D, q.__name__)}
    assert theirs <= ours, theirs - ours
    assert ("LogNormal", "LogNormal") in ours  # PyTorch's TransformedDistribution pair
    assert torch.distributions.kl_divergence is not None


def test_kl_registry_dispatch_errors_and_independent():
    class MyNormal(D.Normal):
        pass

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == pytest.approx(0.5)
    calls = []

    @D.register_kl(MyNormal, MyNormal)
    def _mine(p, q):
        calls.append(1)
        return D.kl_divergence(D.Normal(p.loc, p.scale), D.Normal(q.loc, q.scale))

    D.kl_divergence(MyNormal(0.0, 1.0), MyNormal(0.0, 2.0))
    assert calls == [1]
    with pytest.raises(NotImplementedError,
                       match=r"No KL\(p \|\| q\) is implemented for p type Poisson and q type "
                             r"Normal"):
        D.kl_divergence(D.Poisson(1.0), D.Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        D.register_kl(int, D.Normal)
    p = D.Independent(D.Normal(np.zeros((2, 3)), np.ones(3)), 1)
    q = D.Independent(D.Normal(np.ones((2, 3)), 2 * np.ones(3)), 1)
    np.testing.assert_allclose(D.kl_divergence(p, q).numpy(),
                               D.kl_divergence(p.base_dist, q.base_dist).numpy().sum(-1))


# --- validation ------------------------------------------------------------------------------
def _torch_message(make_torch):
    torch = torch_or_skip()  # noqa: F841 - the oracle must be importable
    with pytest.raises(ValueError) as caught:
        make_torch()
    return str(caught.value)


@pytest.mark.parametrize("ours, theirs, pinpoint", [
    (lambda: D.Normal(0.0, -1.0), lambda t: t.distributions.Normal(0.0, -1.0),
     "Normal: scale = -1.0 must be > 0"),
    (lambda: D.Gamma(np.array([1.0, 0.0]), np.array([1.0, 1.0])),
     lambda t: t.distributions.Gamma(t.tensor([1.0, 0.0]), t.tensor([1.0, 1.0])),
     "Gamma: concentration[1] = 0.0 must be > 0"),
    (lambda: D.Bernoulli(np.array([0.2, 1.5])), lambda t: t.distributions.Bernoulli(
        t.tensor([0.2, 1.5])), "Bernoulli: probs[1] = 1.5 must be in [0, 1]"),
    (lambda: D.Uniform(np.array([0.0, 2.0]), np.array([1.0, 1.0])),
     lambda t: t.distributions.Uniform(t.tensor([0.0, 2.0]), t.tensor([1.0, 1.0])),
     "Uniform: low[1] = 2.0 must be < 1"),
    (lambda: D.MultivariateNormal(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]])),
     lambda t: t.distributions.MultivariateNormal(t.zeros(2), t.tensor([[1.0, 2.0], [2.0, 1.0]])),
     "MultivariateNormal: covariance_matrix must be positive definite (smallest eigenvalue -1)"),
    (lambda: D.Dirichlet(np.array([[1.0, 2.0], [1.0, -1.0]])),
     lambda t: t.distributions.Dirichlet(t.tensor([[1.0, 2.0], [1.0, -1.0]])),
     "Dirichlet: concentration[1, 1] = -1.0 must be > 0"),
    (lambda: D.Categorical(logits=np.array([0.0, np.nan])),
     lambda t: t.distributions.Categorical(logits=t.tensor([0.0, float("nan")])),
     None),
], ids=["Normal", "Gamma", "Bernoulli", "Uniform", "MultivariateNormal", "Dirichlet",
        "Categorical"])
def test_parameter_errors_start_with_torchs_message_and_name_the_entry(ours, theirs, pinpoint):
    torch = torch_or_skip()
    with pytest.raises(ValueError) as caught:
        ours()
    mine = str(caught.value)
    expected_head = _torch_message(lambda: theirs(torch)).split(" of distribution ")[0]
    assert mine.startswith(expected_head), (mine, expected_head)
    constraint = re.search(r"to satisfy the constraint (.*), but found",
                           _torch_message(lambda: theirs(torch))).group(1)
    # the same constraint (a bound that is a Tensor prints with its dtype)
    assert re.search(r"to satisfy the constraint (.*), but found", mine).group(1).split("(")[0] \
        == constraint.split("(")[0]
    assert "but found invalid values:" in mine
    if pinpoint:
        assert mine.splitlines()[-1] == pinpoint


def test_value_errors_follow_torch():
    torch = torch_or_skip()
    ours = D.Exponential(1.0)
    with pytest.raises(ValueError) as caught:
        ours.log_prob(np.array([0.5, 1.0, -1.0]))
    expected = _torch_message(lambda: torch.distributions.Exponential(1.0).log_prob(
        torch.tensor([0.5, 1.0, -1.0])))
    assert str(caught.value).startswith(expected.split("\n")[0].split(" of the distribution")[0])
    assert "to be within the support (GreaterThanEq(lower_bound=0.0)) of the distribution " \
           "Exponential(rate: 1.0), but found invalid values:" in str(caught.value)
    assert str(caught.value).endswith("Exponential: value[2] = -1.0 must be ≥ 0")
    with pytest.raises(ValueError, match=r"Value is not broadcastable with "
                                         r"batch_shape\+event_shape: \(2,\) vs \(3,\)\."):
        D.Normal(np.zeros(3), 1.0).log_prob(np.zeros(2))
    with pytest.raises(ValueError, match=r"The right-most size of value must match event_shape: "
                                         r"\(2,\) vs \(3,\)\."):
        D.MultivariateNormal(np.zeros(3), np.eye(3)).log_prob(np.zeros(2))
    with pytest.raises(ValueError, match=r"Categorical: value\[1\] = 3.0 must be an integer in "
                                         r"\[0, 3\)"):
        D.Categorical(np.ones(3)).log_prob(np.array([0.0, 3.0]))
    with pytest.raises(ValueError, match=r"Binomial: value\[0\] = 6.0 must be an integer in "
                                         r"\[0, 6\)"):
        D.Binomial(5, probs=0.5).log_prob(np.array([6.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not "
                                         "both."):
        D.Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or "
                                         "scale_tril may be specified."):
        D.MultivariateNormal(np.zeros(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
        D.MultivariateNormal(0.0, np.eye(1))
    with pytest.raises(ValueError, match=r"Expected reinterpreted_batch_ndims <= "
                                         r"len\(base_distribution.batch_shape\), actual 2 vs 1"):
        D.Independent(D.Normal(np.zeros(3), 1.0), 2)


def test_validation_can_be_switched_off():
    assert np.isnan(D.Normal(0.0, -1.0, validate_args=False).scale.item() * np.nan)
    d = D.Exponential(2.0, validate_args=False)
    assert d.log_prob(-1.0).item() == pytest.approx(np.log(2.0) + 2.0)  # the formula, as torch
    assert D.Exponential(2.0).log_prob([-1.0], validate_args=False).item() == pytest.approx(
        np.log(2.0) + 2.0)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
        assert D.Exponential(1.0).log_prob(-1.0).item() == pytest.approx(-1.0 * -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="set_default_validate_args: expected True or False"):
        D.Distribution.set_default_validate_args("yes")


def test_logits_may_be_minus_infinity_to_mask_categories():
    torch = torch_or_skip()
    logits = np.array([[0.5, -np.inf, 1.0], [-np.inf, 0.0, 0.0]])
    ours = D.Categorical(logits=tsf.tensor(logits, requires_grad=True))
    theirs = torch.distributions.Categorical(logits=torch.tensor(logits))
    np.testing.assert_allclose(ours.probs.numpy(), theirs.probs.numpy())
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy())
    draws = ours.sample((2000,), seed=1).numpy()
    assert not np.any(draws[:, 0] == 1) and not np.any(draws[:, 1] == 0)
    np.testing.assert_allclose(ours.log_prob(np.array([2.0, 1.0])).numpy(),
                               theirs.log_prob(torch.tensor([2.0, 1.0])).numpy())


# --- shapes: expand, Independent, enumerate_support ----------------------------------------------
@pytest.mark.parametrize("name", ["Normal", "Gamma", "Bernoulli", "Categorical", "Dirichlet",
                                  "MultivariateNormal", "Uniform", "OneHotCategorical",
                                  "Binomial", "StudentT"])
def test_expand_broadcasts_the_batch_like_torch(name):
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    params_of, value_of, _ = FAMILIES[name]
    params = params_of(rng, (3,))
    ours = make(D, name, params)[0].expand((2, 3))
    theirs = make(torch.distributions, name, params)[0].expand((2, 3))
    assert ours.batch_shape == (2, 3) and ours.event_shape == tuple(theirs.event_shape)
    value = value_of(rng, params, (2, 3), 1)[0]
    np.testing.assert_allclose(ours.log_prob(value).numpy(),
                               theirs.log_prob(torch.tensor(value)).numpy(), rtol=1e-10)
    assert ours.sample((4,), seed=0).shape == tuple(theirs.sample((4,)).shape)
    assert type(ours) is type(make(D, name, params)[0])


def test_independent_sums_over_reinterpreted_dimensions():
    torch = torch_or_skip()
    loc, scale = np.random.default_rng(0).standard_normal((2, 3)), np.full((2, 3), 1.5)
    ours = D.Independent(D.Normal(loc, scale), 1)
    theirs = torch.distributions.Independent(torch.distributions.Normal(torch.tensor(loc),
                                                                        torch.tensor(scale)), 1)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    assert (ours.batch_shape, ours.event_shape) == ((2,), (3,))
    np.testing.assert_allclose(ours.log_prob(x).numpy(), theirs.log_prob(torch.tensor(x)).numpy())
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy())
    assert ours.has_rsample and ours.rsample((5,), seed=0).shape == (5, 2, 3)
    assert repr(ours.support) == repr(theirs.support)
    assert ours.expand((4, 2)).batch_shape == (4, 2)


@pytest.mark.parametrize("name", ["Bernoulli", "Binomial", "Categorical", "OneHotCategorical"])
def test_enumerate_support_matches_torch(name):
    torch = torch_or_skip()
    params = FAMILIES[name][0](np.random.default_rng(0), (2,))
    ours, theirs = make(D, name, params)[0], make(torch.distributions, name, params)[0]
    for expand in (True, False):
        np.testing.assert_array_equal(ours.enumerate_support(expand).numpy(),
                                      theirs.enumerate_support(expand).numpy())


def test_multivariate_normal_parametrisations_agree():
    cov = _spd(np.random.default_rng(4), (2,), 3)
    loc = np.random.default_rng(5).standard_normal(3)  # broadcast against the batch of 2
    by_cov = D.MultivariateNormal(loc, cov)
    by_tril = D.MultivariateNormal(loc, scale_tril=np.linalg.cholesky(cov))
    by_precision = D.MultivariateNormal(loc, precision_matrix=np.linalg.inv(cov))
    x = np.random.default_rng(6).standard_normal((4, 2, 3))
    for other in (by_tril, by_precision):
        np.testing.assert_allclose(other.log_prob(x).numpy(), by_cov.log_prob(x).numpy(),
                                   rtol=1e-10)
        np.testing.assert_allclose(other.covariance_matrix.numpy(), cov, rtol=1e-10)
        np.testing.assert_allclose(other.precision_matrix.numpy(), np.linalg.inv(cov), rtol=1e-9)
    assert by_cov.batch_shape == (2,) and by_cov.loc.shape == (2, 3)
    np.testing.assert_allclose(by_cov.log_prob(x).numpy(),
                               scipy.stats.multivariate_normal(loc, cov[0]).logpdf(x[:, 0]).reshape(
                                   4, 1) * [1, 0] + by_cov.log_prob(x).numpy() * [0, 1],
                               rtol=1e-10)


# --- PyTorch-style code, imports changed ---------------------------------------------------------
def test_reinforce_and_vae_style_code_gives_torchs_gradients():
    """The idioms of policy-gradient and VAE examples: Categorical(logits=...).log_prob(action)
    weighted by returns, and Normal(mu, std).rsample() with an analytic KL to N(0, 1)."""
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    logits, returns = rng.standard_normal((5, 3)), rng.standard_normal(5)
    mu, log_var = rng.standard_normal((5, 2)), rng.standard_normal((5, 2)) * 0.3
    actions = rng.integers(0, 3, 5)
    results = {}
    for lib, tensor in ((tsf, lambda a, g=False: tsf.tensor(a, requires_grad=g)),
                        (torch, lambda a, g=False: torch.tensor(a, requires_grad=g))):
        distributions = D if lib is tsf else torch.distributions
        w, m, lv = tensor(logits, True), tensor(mu, True), tensor(log_var, True)
        m_dist = distributions.Categorical(logits=w)
        policy_loss = -(m_dist.log_prob(tensor(actions.astype(float))) * tensor(returns)).sum()
        std = (0.5 * lv).exp()
        q = distributions.Normal(m, std)
        prior = distributions.Normal(lib.zeros(5, 2, dtype=lib.float64),
                                     lib.ones(5, 2, dtype=lib.float64))
        kl = distributions.kl_divergence(q, prior).sum()
        loss = policy_loss + kl - m_dist.entropy().sum() * 0.01
        loss.backward()
        results[lib.__name__] = [loss.item()] + [t.grad.numpy() for t in (w, m, lv)]
    ours, theirs = results["torchsorflow"], results["torch"]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# --- one set of classes: fitting works on them -------------------------------------------------
def test_stats_and_distributions_are_the_same_classes_and_fit_returns_them():
    import torchsorflow.stats as stats
    for name in ("Normal", "Gamma", "Beta", "Bernoulli", "Categorical", "MultivariateNormal",
                 "Exponential", "Poisson", "Laplace", "LogNormal", "StudentT"):
        assert getattr(stats, name) is getattr(D, name)
    x = D.Gamma(3.0, 2.0).sample((3000,), seed=0).numpy()
    result = fit(D.Gamma, x)
    fitted = result.distribution
    assert isinstance(fitted, D.Gamma) and fitted.has_rsample
    a, _, scale = scipy.stats.gamma.fit(x, floc=0)
    assert result.params == pytest.approx({"concentration": a, "rate": 1 / scale}, rel=1e-6)
    # a torch-style instance (logits) fixes nothing but is a valid template and start
    y = (np.random.default_rng(1).random(500) < 0.3).astype(float)
    assert fit(D.Bernoulli(logits=0.0), y, method="numeric").params["probs"] == pytest.approx(
        y.mean(), rel=1e-9)
    with pytest.raises(ValueError, match="Uniform cannot be fitted by maximum likelihood here; "
                                         "the families that can: Normal, MultivariateNormal"):
        fit(D.Uniform, [0.1, 0.5])


def test_the_fitted_log_likelihood_is_the_sum_of_log_prob():
    """The sufficient-statistic formulas that fit uses and the torch-API log_prob agree, family by
    family, at the estimate."""
    rng = np.random.default_rng(2)
    data = {D.Normal: rng.normal(1.0, 2.0, 300), D.Exponential: rng.exponential(0.5, 300),
            D.Poisson: rng.poisson(3.0, 300).astype(float), D.Gamma: rng.gamma(2.0, 0.5, 300),
            D.Beta: rng.beta(2.0, 3.0, 300), D.LogNormal: rng.lognormal(0.0, 0.5, 300),
            D.Bernoulli: (rng.random(300) < 0.4).astype(float),
            D.Categorical: rng.integers(0, 3, 300).astype(float),
            D.MultivariateNormal: rng.normal(size=(300, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])}
    for cls, x in data.items():
        result = fit(cls, x)
        assert result.loglik == pytest.approx(result.distribution.log_prob(x).sum().item(),
                                              rel=1e-11), cls.__name__
