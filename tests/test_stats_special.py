"""lgamma / digamma / polygamma: values against SciPy and PyTorch, derivatives against finite
differences to third order, and the Hessian identity ∇² Σ lgamma(x) = diag(ψ′(x))."""
import numpy as np
import pytest
import scipy.special
import scipy.stats

import torchsorflow as tsf
from torchsorflow.autodiff import check_grads
from torchsorflow.func import grad, hessian
from torchsorflow.ops.special import digamma, lgamma, polygamma

POINTS = np.array([-2.5, -0.3, 0.05, 0.7, 1.0, 2.3, 7.9, 45.0])


def test_values_match_scipy():
    x = tsf.tensor(POINTS)
    np.testing.assert_allclose(lgamma(x).numpy(), scipy.special.gammaln(POINTS), rtol=1e-14)
    np.testing.assert_allclose(digamma(x).numpy(), scipy.special.psi(POINTS), rtol=1e-14)
    for n in (0, 1, 2, 3):
        np.testing.assert_allclose(polygamma(n, x).numpy(), scipy.special.polygamma(n, POINTS),
                                   rtol=1e-13)


def test_values_match_torch():
    torch = pytest.importorskip("torch")
    t = torch.tensor(POINTS, dtype=torch.float64)
    x = tsf.tensor(POINTS)
    np.testing.assert_allclose(lgamma(x).numpy(), torch.lgamma(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(digamma(x).numpy(), torch.digamma(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(polygamma(2, x).numpy(), torch.polygamma(2, t).numpy(), rtol=1e-12)


def test_derivatives_agree_with_finite_differences_to_third_order():
    x = np.array([0.6, 1.7, 4.2])
    check_grads(lgamma, [x], order=3)
    check_grads(digamma, [x], order=2)
    check_grads(lambda v: polygamma(2, v), [x], order=2, rtol=1e-4)


def test_gradient_is_digamma_and_hessian_is_diagonal_trigamma():
    x = tsf.tensor(np.array([0.5, 3.0, 10.0]))
    g = grad(lambda v: lgamma(v).sum())(x)
    np.testing.assert_allclose(g.numpy(), scipy.special.psi(x.numpy()), rtol=1e-14)
    h = hessian(lambda v: lgamma(v).sum())(x)
    np.testing.assert_allclose(h.numpy(), np.diag(scipy.special.polygamma(1, x.numpy())),
                               rtol=1e-14)


def test_eager_backward_and_dtypes():
    x = tsf.tensor([2.0, 5.0], requires_grad=True)
    lgamma(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), scipy.special.psi([2.0, 5.0]), rtol=1e-6)
    assert lgamma(tsf.tensor([1, 2, 4])).dtype == np.float32  # ints give floats, as in torch
    np.testing.assert_allclose(lgamma(tsf.tensor([1, 2, 4])).numpy(), [0, 0, np.log(6)],
                               atol=1e-6)


def test_polygamma_rejects_a_bad_order():
    with pytest.raises(ValueError, match=r"polygamma: the order n must be a non-negative int, "
                                         r"got -1"):
        polygamma(-1, tsf.tensor([1.0]))


# --- the primitives the distributions added: erfinv, gammainc, cholesky, implicit samples ---------
def test_erfinv_values_and_derivatives():
    from torchsorflow.ops.special import erfinv
    x = np.array([-0.99, -0.5, 0.0, 0.3, 0.9])
    np.testing.assert_allclose(erfinv(tsf.tensor(x)).numpy(), scipy.special.erfinv(x), rtol=1e-14)
    check_grads(erfinv, [x], order=3)
    assert erfinv(tsf.tensor([0.5])).dtype == np.float32


def test_gammainc_values_derivative_in_x_and_none_in_a():
    from torchsorflow.ops.special import gammainc
    a, x = np.array([0.5, 2.0, 7.0]), np.array([0.3, 2.5, 4.0])
    np.testing.assert_allclose(gammainc(tsf.tensor(a), tsf.tensor(x)).numpy(),
                               scipy.special.gammainc(a, x), rtol=1e-14)
    check_grads(lambda v: gammainc(tsf.tensor(a), v), [x], order=2)
    with pytest.raises(NotImplementedError, match=r"derivative of gammainc\(a, x\) with respect "
                                                  r"to a is not implemented \(PyTorch does not"):
        grad(lambda s: gammainc(s, tsf.tensor(x)).sum())(tsf.tensor(a))


def test_cholesky_values_gradients_and_torch():
    from torchsorflow.ops.special import cholesky
    rng = np.random.default_rng(0)
    m = rng.standard_normal((2, 3, 3))
    a = m @ np.swapaxes(m, -1, -2) + 3 * np.eye(3)
    np.testing.assert_allclose(cholesky(tsf.tensor(a)).numpy(), np.linalg.cholesky(a), rtol=1e-13)
    check_grads(cholesky, [a], order=2)
    with pytest.raises(ValueError, match="cholesky: the input is not positive-definite"):
        cholesky(tsf.tensor(-np.eye(2)))
    with pytest.raises(ValueError, match=r"cholesky: expected square matrices, got shape \(2, 3\)"):
        cholesky(tsf.tensor(np.ones((2, 3))))
    torch = pytest.importorskip("torch")
    g = rng.standard_normal((2, 3, 3))
    t = torch.tensor(a, requires_grad=True)
    (torch.linalg.cholesky(t) * torch.tensor(g)).sum().backward()
    ours = grad(lambda v: (cholesky(v) * tsf.tensor(g)).sum())(tsf.tensor(a))
    np.testing.assert_allclose(ours.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_implicit_samples_have_the_right_distribution_and_slopes_in_both_modes():
    from torchsorflow.func import jvp
    from torchsorflow.ops.special import sample_dirichlet, standard_gamma, standard_gamma_grad
    alpha = tsf.tensor(np.full(50000, 2.5))
    x = standard_gamma(alpha, np.random.default_rng(0))
    assert scipy.stats.kstest(x.numpy(), "gamma", args=(2.5,)).pvalue > 1e-3
    tangent = jvp(lambda a: standard_gamma(a, np.random.default_rng(0)), (alpha,),
                  (tsf.tensor(np.ones(50000)),))[1]
    np.testing.assert_allclose(tangent.numpy(), standard_gamma_grad(alpha, x).numpy())
    d = sample_dirichlet(tsf.tensor(np.tile([1.0, 2.0, 3.0], (20000, 1))),
                         np.random.default_rng(1)).numpy()
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-12)
    assert scipy.stats.kstest(d[:, 0], "beta", args=(1.0, 5.0)).pvalue > 1e-3
