"""Statistics: distributions with differentiable log-densities, and maximum-likelihood fitting
with standard errors.

Users of ``scipy.stats.<dist>.fit`` get point estimates only. :func:`fit` also returns standard
errors from the observed Fisher information — the Hessian of the negative log-likelihood at the
optimum, computed by the framework's autodiff — with AIC, BIC and Wald intervals.

>>> import numpy as np
>>> from torchsorflow.stats import Gamma, fit
>>> x = Gamma(concentration=3.0, rate=2.0).sample(2000, seed=0)
>>> result = fit(Gamma, x)
>>> result.method, result.converged
('numeric', True)
>>> {k: round(v, 2) for k, v in result.params.items()}
{'concentration': 2.98, 'rate': 1.98}

The families are the classes of :mod:`torchsorflow.distributions` (PyTorch's interface: ``rsample``,
``log_prob``, ``entropy``, ``kl_divergence`` ...), re-exported here; each also carries the hooks
``fit`` uses (sufficient statistics, closed forms, parametrisations). ``lgamma``, ``digamma`` and
``polygamma`` (differentiable to any order) are re-exported from :mod:`torchsorflow.ops.special`.
"""
from ..distributions import (Bernoulli, Beta, Categorical, Distribution, Exponential, Gamma,
                             Laplace, LogNormal, MultivariateNormal, Normal, Poisson, StudentT)
from ..ops.special import digamma, lgamma, polygamma
from .fitting import FAMILIES, FitResult, fit, get_family
from .optimize import NewtonResult, newton_minimize

__all__ = ["Bernoulli", "Beta", "Categorical", "Distribution", "Exponential", "FAMILIES",
           "FitResult", "Gamma", "Laplace", "LogNormal", "MultivariateNormal", "NewtonResult",
           "Normal", "Poisson", "StudentT", "digamma", "fit", "get_family", "lgamma",
           "newton_minimize", "polygamma"]
