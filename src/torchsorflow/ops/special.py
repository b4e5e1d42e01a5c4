"""Special functions: ``lgamma``, ``digamma`` and ``polygamma``.

Likelihoods of the Gamma, Beta, Poisson and Student-t families contain ``log Γ``. Its derivatives
form a ladder: d/dx lgamma = digamma (ψ), d/dx ψ = ψ⁽¹⁾ (trigamma), d/dx ψ⁽ⁿ⁾ = ψ⁽ⁿ⁺¹⁾. So the three
primitives below only need SciPy for their *forward* values; each derivative rule calls the next
rung of the ladder, which is itself a primitive, so Hessians (and any higher derivative) of a
log-likelihood come out exact rather than by finite differences.

>>> import numpy as np
>>> import torchsorflow as tsf
>>> from torchsorflow.func import grad
>>> from torchsorflow.ops.special import lgamma, digamma
>>> x = tsf.tensor(np.array([1.0, 5.0]))
>>> lgamma(x)  # log 0! and log 4!
tensor([0.        , 3.17805383], dtype=float64)
>>> bool(np.allclose(grad(lambda x: lgamma(x).sum())(x).numpy(), digamma(x).numpy()))
True
"""
from __future__ import annotations

import scipy.special

from .. import backend
from ..autodiff.tracer import to_box
from ..backend import xp
from .elementwise import elementwise
from .shape import astype

__all__ = ["lgamma", "digamma", "polygamma"]


def _same_dtype(impl):
    """SciPy may compute in float64; hand back the input's dtype like every other primitive."""
    def forward(x, **params):
        return xp.asarray(impl(x, **params)).astype(x.dtype, copy=False)
    return forward


def _polygamma_impl(x, n):
    return scipy.special.polygamma(n, x)


_polygamma = elementwise("polygamma", _same_dtype(_polygamma_impl),
                         lambda ans, x, n: _polygamma(x, n=n + 1))
_digamma = elementwise("digamma", _same_dtype(scipy.special.psi),
                       lambda ans, x: _polygamma(x, n=1))
_lgamma = elementwise("lgamma", _same_dtype(scipy.special.gammaln), lambda ans, x: _digamma(x))


def _floating(x):
    """Integer input gives a floating result, as in ``torch.lgamma(torch.tensor([3]))``."""
    x = to_box(x)
    if not backend.is_floating(x.dtype):
        x = astype(x, backend.default_float)
    return x


def lgamma(x):
    """log |Γ(x)|, element-wise (``torch.lgamma``, ``scipy.special.gammaln``); derivative ψ(x)."""
    return _lgamma(_floating(x))


def digamma(x):
    """ψ(x) = d/dx log Γ(x), element-wise (``torch.digamma``); derivative ψ⁽¹⁾(x)."""
    return _digamma(_floating(x))


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of ψ, element-wise (``torch.polygamma(n, x)``).

    >>> import torchsorflow as tsf
    >>> from torchsorflow.ops.special import polygamma
    >>> round(polygamma(1, tsf.tensor(1.0)).item(), 6)  # trigamma(1) = π²/6
    1.644934
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: the order n must be a non-negative int, got {n!r}")
    x = _floating(x)
    return _digamma(x) if n == 0 else _polygamma(x, n=n)
