"""Random sampling with torch's signatures: ``multinomial``, ``bernoulli``, ``normal`` (its four
forms), ``poisson``, and the in-place fills ``geometric_``, ``log_normal_`` and ``cauchy_``.

Draws come from a :class:`torchsorflow.Generator` (the default one unless ``generator=`` is
given), so ``manual_seed`` makes them reproducible. Like torch's, these samples are constants
for autograd (torch gives them zero gradients; reparameterised sampling is
:meth:`torchsorflow.distributions.Normal.rsample`).

``multinomial`` without replacement draws with the Gumbel-top-k trick: the k largest of
log pᵢ + Gumbel noise are distributed as k draws without replacement with probabilities ∝ p.
"""
from __future__ import annotations

import numbers

from .. import backend
from ..autodiff.tracer import Box, to_box, wrap
from ..backend import to_dtype, xp
from .creation import _make, _rng, size_args

__all__ = ["multinomial", "bernoulli", "normal", "poisson", "geometric_", "log_normal_",
           "cauchy_"]


def _probabilities(input):
    rows = input._array.astype(xp.float64).reshape(-1, input.shape[-1])
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    return rows


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices per row of ``input`` (non-negative weights, 1-D or
    2-D), drawn with probabilities proportional to the weights."""
    input = to_box(input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or \
            num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (got {num_samples!r})")
    rows = _probabilities(input)
    n = rows.shape[-1]
    rng = _rng(generator)
    if replacement:
        cdf = xp.cumsum(rows / rows.sum(-1, keepdims=True), -1)
        offsets = xp.arange(rows.shape[0])[:, None]
        draws = rng.random((rows.shape[0], num_samples)) + offsets
        picked = xp.searchsorted((cdf + offsets).reshape(-1), draws.reshape(-1), side="right")
        picked = picked.reshape(draws.shape) - offsets * n
        last = n - 1 - xp.argmax(xp.flip(rows > 0, -1), -1)[:, None]  # rounding at the top
        picked = xp.minimum(picked, last)
    else:
        if num_samples > n:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        if ((rows > 0).sum(-1) < num_samples).any():
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not "
                               "enough non-negative category to sample)")
        with xp.errstate(divide="ignore"):
            keys = xp.log(rows) + rng.gumbel(size=rows.shape)
        picked = xp.argsort(-keys, -1, kind="stable")[:, :num_samples]
    picked = picked.astype(xp.int64)
    return wrap(picked.reshape(num_samples) if input.ndim == 1 else picked)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``, for every entry), else 0, in ``input``'s dtype."""
    input = to_box(input)
    probability = input._array if p is None else p
    if xp.any((xp.asarray(probability) < 0) | (xp.asarray(probability) > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    dtype = input.dtype if backend.is_floating(input.dtype) else backend.default_float
    draws = _rng(generator).random(input.shape) < probability
    return wrap(draws.astype(dtype))


def _check_std(std):
    values = std._array if isinstance(std, Box) else xp.asarray(std)
    if (values < 0).any():
        raise RuntimeError(f"normal expects std >= 0.0, but found std {values.min()}")


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False):
    """Normal samples: ``normal(mean, std)`` with Tensor mean and/or std (broadcast), or
    ``normal(mean, std, size)`` with numbers."""
    _check_std(std)
    rng = _rng(generator)
    if isinstance(mean, Box) or isinstance(std, Box):
        if size is not None:
            raise RuntimeError("normal(): size is only accepted with a number mean and std")
        tensors = [t for t in (mean, std) if isinstance(t, Box)]
        shape = xp.broadcast_shapes(*(t.shape for t in tensors))
        dtype = tensors[0].dtype
        m = mean._array if isinstance(mean, Box) else mean
        s = std._array if isinstance(std, Box) else std
        draws = m + s * rng.standard_normal(shape)
        return wrap(xp.asarray(draws).astype(dtype, copy=False))
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: with a number "
                        "mean and std, give the size")
    dtype = to_dtype(dtype) or backend.default_float
    draws = mean + std * rng.standard_normal(size_args((size,), "normal"))
    return _make(draws.astype(dtype), device=device, requires_grad=requires_grad, op="normal")


def poisson(input, generator=None):
    """Poisson samples with the rates in ``input`` (in its dtype)."""
    input = to_box(input)
    rates = input._array
    if (rates < 0).any() or not xp.isfinite(rates).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative and finite")
    return wrap(_rng(generator).poisson(rates).astype(input.dtype))


# --- in-place fills (Tensor methods) ------------------------------------------------------------
def _fill(tensor, name, draw, generator):
    return tensor._write(name, lambda array: array.__setitem__(
        ..., draw(_rng(generator), array.shape)))


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p <= 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1], but got p={p}")
    return _fill(self, "geometric_", lambda rng, shape: rng.geometric(p, shape), generator)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp of Normal(mean, std) samples."""
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, "log_normal_", lambda rng, shape: rng.lognormal(mean, std, shape),
                 generator)


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy(median, sigma) samples."""
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(self, "cauchy_", lambda rng, shape: median + sigma * rng.standard_cauchy(shape),
                 generator)
