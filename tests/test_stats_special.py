"""lgamma / digamma / polygamma: values against SciPy and PyTorch, derivatives against finite
differences to third order, and the Hessian identity ∇² Σ lgamma(x) = diag(ψ′(x))."""
import numpy as np
import pytest
import scipy.special

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
