"""Seed sheet 002: exponential MLE, convolution outputs, VGG11 parameters, influence functions."""
from __future__ import annotations

import math

import numpy as np


def exponential_mle(report):
    """002/1: λ̂ = N / Σxᵢ, numerically and in closed form, with its standard error."""
    from torchsorflow.stats import Exponential, fit

    rng = np.random.default_rng(2)
    data = rng.exponential(scale=1 / 2.5, size=400)
    closed = len(data) / data.sum()
    report.say(f"N = {len(data)} draws with λ = 2.5; closed form λ̂ = N/Σx = {closed:.6f}")
    numeric = fit(Exponential, data, method="numeric")
    formula = fit(Exponential, data, method="closed_form")
    lam = float(np.asarray(numeric.params["rate"]))
    report.check(f"numeric MLE λ̂ = {lam:.6f} = N/Σx", math.isclose(lam, closed, rel_tol=1e-6))
    report.check("closed-form fit = N/Σx",
                 math.isclose(float(np.asarray(formula.params["rate"])), closed, rel_tol=1e-12))
    stderr = float(np.asarray(numeric.stderr["rate"]))
    report.check(f"standard error {stderr:.5f} = λ̂/√N (observed Fisher information)",
                 math.isclose(stderr, closed / math.sqrt(len(data)), rel_tol=1e-4))


SEED_X = [[1, 2, -1, 1], [1, 0, 1, 0], [0, 1, 0, 2], [2, 1, 0, -1]]
SEED_K = [[1, 0], [2, 1]]
SEED_OUTPUTS = {
    "stride 1, no padding": (1, 0, [[3, 3, 1], [2, 2, 3], [5, 3, -1]]),
    "stride 2, no padding": (2, 0, [[3, 1], [5, -1]]),
    "stride 2, zero padding 1": (2, 1, [[1, 3, 2], [0, 2, 4], [0, 1, -1]]),
}


def convolution_outputs(report):
    """002/2: the three worked convolution outputs."""
    import torchsorflow as tsf
    from torchsorflow.nn import functional as F

    x = tsf.tensor(np.array(SEED_X, dtype=np.float32)[None, None])
    k = tsf.tensor(np.array(SEED_K, dtype=np.float32)[None, None])
    for label, (stride, padding, expected) in SEED_OUTPUTS.items():
        y = F.conv2d(x, k, stride=stride, padding=padding).numpy()[0, 0]
        report.check(f"{label}: Y = {y.astype(int).tolist()}",
                     np.array_equal(y, np.array(expected)))


def vgg11_parameters(report):
    """002/3: VGG11's parameters per layer of ``features`` and ``classifier``, and the total."""
    from torchsorflow.models import vgg11

    model = vgg11()
    expected_total = 132_863_336
    ok = True
    for part in ("features", "classifier"):
        for index, layer in enumerate(getattr(model, part)):
            count = sum(p.numel() for p in layer.parameters())
            if hasattr(layer, "kernel_size") and hasattr(layer, "out_channels"):
                kh, kw = layer.kernel_size
                formula = layer.out_channels * layer.in_channels * kh * kw + layer.out_channels
            elif hasattr(layer, "in_features"):
                formula = layer.out_features * layer.in_features + layer.out_features
            else:
                formula = 0
            ok &= count == formula
            if count:
                report.say(f"{part}.{index:<3} {type(layer).__name__:<8} {count:>12,}")
    total = sum(p.numel() for p in model.parameters())
    report.check("each layer's count = C_out·C_in·k² + C_out (conv) or out·in + out (linear)", ok)
    report.check(f"total = {total:,} (torchvision: {expected_total:,})", total == expected_total)


def influence_functions(report):
    """002/4: θ̂(ε) ≈ θ̂ + ε dθ̂/dε (error shrinking like ε²), and influence verified by retraining."""
    import torchsorflow as tsf
    from torchsorflow import nn
    from torchsorflow.data import datasets
    from torchsorflow.influence import InfluenceModel
    from torchsorflow.influence.objective import as_arrays

    x, y = as_arrays(datasets.digits("train"))
    x_test, y_test = as_arrays(datasets.digits("test"))
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    tsf.manual_seed(0)
    influence = InfluenceModel(nn.Linear(64, 10), None, (x, y), l2=1e-3, progress=False).fit()
    predictions = influence.outputs(x_test).argmax(1)
    wrong = int(np.flatnonzero(predictions != y_test)[0])
    report.say(f"multiclass logistic regression on digits (L2 1e-3), θ̂ by Newton; "
               f"test digit #{wrong}: true {y_test[wrong]}, predicted {predictions[wrong]}")
    test_point = (x_test[wrong], y_test[wrong])
    top = influence.top_k(test_point, k=3)
    report.say(f"most harmful training points (index, predicted Δ test loss): {top.harmful}")
    index = top.harmful[0][0]
    taylor = influence.check_taylor(index)
    for line in str(taylor).splitlines():
        report.say("    " + line)
    report.check("θ̂(ε) − θ̂ shrinks like ε (first order)", 0.9 < taylor.order_zeroth < 1.1,
                 f"fitted order {taylor.order_zeroth:.2f}")
    report.check("θ̂(ε) − (θ̂ + ε·dθ̂/dε) shrinks like ε², so the expansion holds to first order",
                 1.85 < taylor.order_first < 2.15, f"fitted order {taylor.order_first:.2f}")
    loo = influence.validate_loo(test_point, k=10)
    report.check("predicted leave-one-out loss changes = actual retraining (10 most influential)",
                 loo.pearson > 0.99,
                 f"Pearson R = {loo.pearson:.4f}, Spearman ρ = {loo.spearman:.3f}")


EXERCISES = {
    "002/1": ("MLE of the exponential rate", exponential_mle),
    "002/2": ("Convolutional layers: stride and padding", convolution_outputs),
    "002/3": ("VGG11 parameter counting", vgg11_parameters),
    "002/4": ("Influence functions: Taylor expansion of θ̂(ε)", influence_functions),
}
