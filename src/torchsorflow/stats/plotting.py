"""Pictures of a fit: the data's histogram with the fitted density (or mass function) on top.

A histogram next to the fitted curve shows at a glance what a log-likelihood number cannot: a
Normal fitted to skewed data, a Poisson fitted to over-dispersed counts. Written atomically (a
temporary file, then ``os.replace``), so an interrupted run never leaves half a PNG.
"""
from __future__ import annotations

import numpy as np

from .._optional import require
from ..ops.creation import as_tensor


def _density(dist, grid):
    return np.exp(dist.log_prob(as_tensor(grid), validate_args=False)._array)


def _draw_discrete(axes, dist, x, support):
    values, counts = np.unique(x, return_counts=True)
    axes.bar(values, counts / x.shape[0], width=0.8, alpha=0.5, label="data (frequency)")
    axes.plot(support, _density(dist, support), "o", color="C3", label="fitted probability")
    axes.set_xlabel("value")


def _draw_continuous(axes, dist, x, label="x"):
    axes.hist(x, bins=min(60, max(10, int(np.sqrt(x.shape[0])))), density=True, alpha=0.5,
              label="data (density)")
    low, high = float(x.min()), float(x.max())
    pad = 0.05 * (high - low or 1.0)
    grid = np.linspace(low - pad, high + pad, 400)
    support = type(dist).fit_support or type(dist).support
    grid = grid[support.contains(grid)]
    axes.plot(grid, _density(dist, grid), color="C3", label="fitted density")
    axes.set_xlabel(label)


def plot_fit(result, data, path):
    """Draw ``data`` with the density of ``result.distribution``; save a PNG at ``path``."""
    Figure = require("matplotlib.figure", "plot_fit").Figure  # no pyplot: no global backend state

    from ..distributions import Bernoulli, Categorical, MultivariateNormal, Normal, Poisson

    dist, x = result.distribution, np.asarray(data, dtype=np.float64)
    if isinstance(dist, MultivariateNormal):
        d = min(dist.dim, 6)
        figure = Figure(figsize=(3.2 * d, 3.4))
        panels = figure.subplots(1, d, squeeze=False)
        cov = dist.covariance_matrix._array
        for i, axes in enumerate(panels[0]):  # each marginal of a Gaussian is a Gaussian
            marginal = Normal(dist.loc._array[i], np.sqrt(cov[i, i]))
            _draw_continuous(axes, marginal, x[:, i], label=f"coordinate {i}")
    else:
        figure = Figure(figsize=(6, 4))
        axes = figure.subplots()
        if isinstance(dist, (Bernoulli, Categorical, Poisson)):
            if isinstance(dist, Categorical):
                top = dist.num_categories - 1
            else:  # Bernoulli: 0 and 1; Poisson: a little of the tail past the data
                top = 1 if isinstance(dist, Bernoulli) else int(x.max() * 1.2) + 2
            _draw_discrete(axes, dist, x, np.arange(top + 1, dtype=np.float64))
        else:
            _draw_continuous(axes, dist, x)
        axes.legend()
    shown = ", ".join(f"{k}={np.round(v, 4)}" for k, v in result.params.items()
                      if np.ndim(v) == 0)
    figure.suptitle(f"{result.family} fit, N = {result.n}" + (f": {shown}" if shown else ""))
    figure.tight_layout()
    from ..io.atomic import atomic_write
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=100))
    return path
