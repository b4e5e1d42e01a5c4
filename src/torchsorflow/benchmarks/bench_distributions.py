"""Probability distributions: ``torchsorflow.distributions`` beside ``torch.distributions``.

Run: ``tsf bench distributions`` or ``python -m torchsorflow.benchmarks.bench_distributions
[--quick] [--json out.json]``.

The workloads are the steps model code takes with a distribution, in float32 and eager mode with
a backward pass, each the same code with only the library changed: a Normal likelihood, a
REINFORCE step (Categorical from logits, sample, log_prob), a VAE's reparameterised sample and its
KL to the prior, a multivariate normal's log density (through the Cholesky factor of its
covariance), and a Gamma ``rsample`` (implicit reparameterisation). The sizes are small, so the
ratios measure per-op overhead; the target is the issue's 2× PyTorch.
"""
from __future__ import annotations

import sys

import numpy as np

from .harness import import_torch, measure_pair, row, script_main


def _workloads(lib, distributions):
    """name -> a step written once against ``lib`` (torchsorflow or torch)."""
    rng = np.random.default_rng(0)

    def t(a, requires_grad=False):
        return lib.tensor(np.asarray(a, dtype=np.float32), requires_grad=requires_grad)

    loc, scale = t(rng.standard_normal(64), True), t(rng.uniform(0.5, 2.0, 64), True)
    x = t(rng.standard_normal(64))
    logits = t(rng.standard_normal((32, 6)), True)
    mu, log_var = t(rng.standard_normal((64, 16)), True), t(0.1 * rng.standard_normal((64, 16)), True)
    m = rng.standard_normal((4, 4))
    cov, mean = t(m @ m.T + 4 * np.eye(4), True), t(np.zeros(4), True)
    points = t(rng.standard_normal((256, 4)))
    alpha = t(rng.uniform(0.5, 3.0, 1000), True)
    D = distributions

    def normal():
        D.Normal(loc, scale).log_prob(x).sum().backward()

    def reinforce():
        policy = D.Categorical(logits=logits)
        action = policy.sample()
        (-policy.log_prob(action).sum()).backward()

    def vae():
        q = D.Normal(mu, (0.5 * log_var).exp())
        z = q.rsample()
        prior = D.Normal(lib.zeros_like(mu), lib.ones_like(mu))
        (z.sum() + D.kl_divergence(q, prior).sum()).backward()

    def mvn():
        D.MultivariateNormal(mean, cov).log_prob(points).sum().backward()

    def gamma():
        D.Gamma(alpha, 1.0).rsample().sum().backward()

    return {"Normal(64).log_prob + backward": normal,
            "REINFORCE step, Categorical(logits 32×6)": reinforce,
            "VAE rsample + KL to N(0, 1), 64×16, + backward": vae,
            "MultivariateNormal d=4, log_prob of 256 points + backward": mvn,
            "Gamma(1000).rsample + backward (implicit gradient)": gamma}


def run(quick=False):
    import torchsorflow as tsf
    import torchsorflow.distributions as ours_distributions

    torch = import_torch()
    ours = _workloads(tsf, ours_distributions)
    theirs = _workloads(torch, torch.distributions) if torch else {}
    rows = []
    for name, fn in ours.items():
        if torch:
            (tsf_s, tsf_mb), (ref_s, ref_mb) = measure_pair(fn, theirs[name], quick)
        else:
            (tsf_s, tsf_mb), ref_s, ref_mb = measure_pair(fn, fn, quick)[0], None, None
        rows.append(row(name, tsf_s, ref_s, "PyTorch" if torch else None, tsf_mb=tsf_mb,
                        ref_mb=ref_mb, target=2.0))
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
