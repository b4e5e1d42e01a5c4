"""Probability distributions with PyTorch's interface (``torch.distributions``), which are also
the families :func:`torchsorflow.stats.fit` fits by maximum likelihood.

Each class has ``batch_shape``/``event_shape``, ``sample``/``rsample``, ``log_prob``,
``entropy``, ``mean``, ``mode``, ``variance``, ``stddev``, ``cdf``/``icdf`` where PyTorch has
them, ``expand``, ``arg_constraints``/``support`` and argument validation with PyTorch's messages
(plus a line naming the first bad entry). ``log_prob`` and ``rsample`` are differentiable in the
parameters, in eager ``backward()`` and under ``torchsorflow.func`` transforms; Gamma, Beta,
Dirichlet and Student-t samples through implicit reparameterisation, as in PyTorch.

>>> import torchsorflow as tsf
>>> from torchsorflow.distributions import Normal, kl_divergence
>>> loc = tsf.tensor(0.5, dtype="float64", requires_grad=True)
>>> d = Normal(loc, 2.0)
>>> d.log_prob(tsf.tensor([1.0, -1.0, 4.0], dtype="float64")).sum().backward()
>>> loc.grad   # Σ(x − μ)/σ²
tensor(0.625, dtype=float64)
>>> round(kl_divergence(d, Normal(0.0, 2.0)).item(), 6)
0.03125
"""
from . import constraints
from .continuous import Exponential, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .heavy_tailed import Laplace, StudentT
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Dirichlet", "Distribution",
           "Exponential", "Gamma", "Independent", "Laplace", "LogNormal", "MultivariateNormal",
           "Normal", "OneHotCategorical", "Poisson", "StudentT", "Uniform", "constraints",
           "kl_divergence", "register_kl"]
