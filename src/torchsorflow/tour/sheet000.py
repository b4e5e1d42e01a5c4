"""Seed sheet 000: Gaussian MLE, BatchNormalization, autodiff modes, GloVe embeddings."""
from __future__ import annotations

import math

import numpy as np


def gaussian_mean_mle(report):
    """000/1: maximise the log-likelihood numerically; the optimum is the sample mean for any Σ."""
    import torchsorflow as tsf
    from torchsorflow.func import grad, hessian

    rng = np.random.default_rng(0)
    n, dims = 500, 3
    a = rng.standard_normal((dims, dims))
    true_cov = a @ a.T + np.eye(dims)
    data = rng.multivariate_normal([1.0, -2.0, 0.5], true_cov, size=n)
    x = tsf.tensor(data)
    sample_mean = data.mean(axis=0)
    report.say(f"{n} points in R^{dims} from N(μ, Σ); sample mean = {np.round(sample_mean, 4)}")
    for label, cov in (("true Σ", true_cov), ("Σ = I", np.eye(dims)),
                       ("a wrong Σ", np.diag([5.0, 0.1, 2.0]))):
        sigma = tsf.tensor(cov)

        def negative_loglik(mu, sigma=sigma):
            centered = x - mu
            quad = (centered * tsf.solve(sigma, centered.T).T).sum()
            return 0.5 * quad + 0.5 * n * (tsf.logdet(sigma) + dims * math.log(2 * math.pi))

        mu = tsf.tensor(np.zeros(dims))
        for _ in range(3):  # Newton's method with the framework's gradient and Hessian
            step = np.linalg.solve(hessian(negative_loglik)(mu).numpy(),
                                   grad(negative_loglik)(mu).numpy())
            mu = tsf.tensor(mu.numpy() - step)
        gap = np.abs(mu.numpy() - sample_mean).max()
        report.check(f"argmax of the log-likelihood with {label} = sample mean", gap < 1e-9,
                     f"max |μ̂ − x̄| = {gap:.1e}")
    try:
        from torchsorflow.stats import MultivariateNormal, fit
    except ImportError:
        return
    result = fit(MultivariateNormal, data, method="numeric")
    mean = np.asarray(result.params["loc"] if "loc" in result.params else result.params["mean"])
    report.check("stats.fit(MultivariateNormal, method='numeric') mean = sample mean",
                 np.allclose(mean, sample_mean, rtol=1e-6, atol=1e-8))


def _batchnorm_backward_by_hand(a, gamma, dl_dy, eps):
    """The seed's hand-derived formulas, transcribed literally (per column j of a batch M × N)."""
    m = a.shape[0]
    mu = a.mean(axis=0)
    var = ((a - mu) ** 2).mean(axis=0)
    a_hat = (a - mu) / np.sqrt(var + eps)
    dl_dahat = dl_dy * gamma
    dl_dvar = np.sum(dl_dahat * (a - mu) * -0.5 * (var + eps) ** -1.5, axis=0)
    dl_dmu = (np.sum(dl_dahat * -1 / np.sqrt(var + eps), axis=0)
              + dl_dvar * np.sum(-2 * (a - mu), axis=0) / m)
    dl_da = dl_dahat / np.sqrt(var + eps) + dl_dvar * 2 * (a - mu) / m + dl_dmu / m
    return dl_da, np.sum(dl_dy * a_hat, axis=0), np.sum(dl_dy, axis=0)


def batch_normalization(report):
    """000/2: the layer, its learnable parameters, the seed's gradients, and test-time
    statistics."""
    import torchsorflow as tsf
    from torchsorflow import nn

    rng = np.random.default_rng(1)
    m, n, eps = 16, 4, 1e-5
    layer = nn.BatchNorm1d(n).double()
    names = [name for name, _ in layer.named_parameters()]
    report.say("y_i = γ·(a_i − μ_B)/√(σ²_B + ε) + β per feature; μ_B, σ²_B over the batch")
    report.check("learnable parameters are γ (weight) and β (bias), one per feature",
                 names == ["weight", "bias"] and layer.weight.shape == (n,))
    a = rng.standard_normal((m, n)) * 3 + 1
    gamma, beta = rng.standard_normal(n), rng.standard_normal(n)
    upstream = rng.standard_normal((m, n))
    with tsf.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    x = tsf.tensor(a, requires_grad=True)
    (layer(x) * tsf.tensor(upstream)).sum().backward()
    seed_da, seed_dgamma, seed_dbeta = _batchnorm_backward_by_hand(a, gamma, upstream, eps)
    report.check("fused backward = seed's ∂L/∂a_i",
                 np.allclose(x.grad.numpy(), seed_da, atol=1e-10))
    report.check("∂L/∂γ = Σ ∂L/∂y_i · â_i and ∂L/∂β = Σ ∂L/∂y_i",
                 np.allclose(layer.weight.grad.numpy(), seed_dgamma, atol=1e-10)
                 and np.allclose(layer.bias.grad.numpy(), seed_dbeta, atol=1e-10))

    def composed(v):
        mu = v.mean(axis=0)
        var = ((v - mu) ** 2).mean(axis=0)
        y = ((v - mu) / tsf.sqrt(var + eps)) * tsf.tensor(gamma) + tsf.tensor(beta)
        return y * tsf.tensor(upstream)

    autodiff = tsf.func.grad(lambda v: composed(v).sum())(tsf.tensor(a)).numpy()
    report.check("seed's ∂L/∂a_i = autodiff through mean, var, sqrt",
                 np.allclose(autodiff, seed_da, atol=1e-10))

    layer.train()
    try:
        layer(tsf.tensor(a[:1]))
        report.check("training on a batch of 1 is refused", False)
    except ValueError as error:
        report.check("training on a batch of 1 is refused",
                     "Expected more than 1 value" in str(error), str(error))
    for _ in range(20):
        layer(tsf.tensor(rng.standard_normal((m, n)) * 3 + 1))
    layer.eval()
    single = rng.standard_normal((1, n))
    mean, var = layer.running_mean.numpy(), layer.running_var.numpy()
    expected = (single - mean) / np.sqrt(var + eps) * gamma + beta
    report.check("test time (batch size 1) uses running statistics",
                 np.allclose(layer(tsf.tensor(single)).numpy(), expected, atol=1e-10),
                 f"running_mean ≈ {np.round(layer.running_mean.numpy(), 2)}")


def autodiff_modes(report):
    """000/3: chain rule, forward and reverse pseudocode, naive vs cached evaluation counts."""
    import torchsorflow as tsf
    from torchsorflow.autodiff import explain

    chain, x = [lambda v: v * v, tsf.sin, tsf.exp], 1.5
    exact = 2 * x * math.cos(x * x) * math.exp(math.sin(x * x))
    report.say("F(x) = f3(f2(f1(x))), f1 = x², f2 = sin, f3 = exp;  "
               "F'(x) = f1'(x)·f2'(f1(x))·f3'(f2(f1(x)))")
    for mode in ("forward", "reverse", "naive"):
        result = explain(chain, x, mode=mode)
        for line in result.lines:
            report.say("    " + line)
        report.check(f"{mode}: F'({x}) = {result.derivative:.10g}",
                     math.isclose(result.derivative, exact, rel_tol=1e-9))
        if mode == "naive":
            report.check("naive evaluation computes f1 twice, once with caching",
                         result.counts["uncached"]["f1"] == 2
                         and result.counts["cached"]["f1"] == 1)


def glove_embeddings(report):
    """000/4: explore the real GloVe vectors: analogies, capitals, comparatives, accuracy."""
    from torchsorflow.embeddings import load_default

    kv = load_default()
    report.say(f"GloVe 6B 50d: {len(kv):,} words")
    for a, b, c, want in (("man", "king", "woman", "queen"), ("france", "paris", "italy", "rome"),
                          ("big", "bigger", "small", "smaller")):
        answers = [w for w, _ in kv.most_similar(positive=[b, c], negative=[a], topn=5)]
        rank = answers.index(want) + 1 if want in answers else None
        report.check(f"{a} : {b} :: {c} : {want}   (rank {rank}; top 5: {', '.join(answers)})",
                     rank is not None and rank <= 3)
    score, sections = kv.evaluate_word_analogies(restrict_vocab=30000)
    total = sections[-1]
    report.check(f"Google analogy accuracy over the 30,000 most frequent words = {score:.1%} "
                 f"({len(total['correct'])} of {len(total['correct']) + len(total['incorrect'])})",
                 sum(len(s["correct"]) for s in sections[:-1]) == len(total["correct"]))
    _compare_with_gensim(report, kv)


def _compare_with_gensim(report, kv, restrict=30000):
    """Same vectors, same questions (the first section, to keep the tour quick): same counts."""
    try:
        from gensim.models import KeyedVectors as GensimKeyedVectors
    except ImportError:
        report.say("(gensim not installed: skipping the side-by-side count check)")
        return
    import os
    import tempfile

    from torchsorflow.embeddings.evaluation import datapath

    lines = open(datapath("questions-words.txt"), encoding="utf8").read().splitlines()
    second = next(i for i, line in enumerate(lines) if line.startswith(":") and i > 0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "first-section.txt")
        with open(path, "w", encoding="utf8") as fh:
            fh.write("\n".join(lines[:second]) + "\n")
        ours = kv.evaluate_word_analogies(path, restrict_vocab=restrict)
        reference = GensimKeyedVectors(kv.vector_size)
        reference.add_vectors(list(kv.index_to_key[:restrict]), np.asarray(kv.vectors[:restrict]))
        theirs = reference.evaluate_word_analogies(path, restrict_vocab=restrict)
    same = ours[0] == theirs[0] and all(
        a["correct"] == b["correct"] and a["incorrect"] == b["incorrect"]
        for a, b in zip(ours[1], theirs[1]))
    report.check(f"{lines[0][2:]}: {ours[0]:.1%}, identical answers to gensim's", same)


EXERCISES = {
    "000/1": ("MLE of a multivariate Gaussian mean", gaussian_mean_mle),
    "000/2": ("BatchNormalization: expression, gradients, test time", batch_normalization),
    "000/3": ("Autodiff modes", autodiff_modes),
    "000/4": ("GloVe embeddings", glove_embeddings),
}
