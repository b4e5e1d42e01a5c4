"""Influence of every training point on one test point: multiclass logistic regression on digits.

Run: ``tsf bench influence`` or ``python -m torchsorflow.benchmarks.bench_influence [--quick]``.

The workload, end to end from a trained model: build the influence object, compute the test
gradient, solve H s = ∇L(z_test) by CG (relative residual 1e-8) and score all 1437 training
points (predicted change of the test loss when each is removed). Target: under 1 s on 2 cores.

Beside it, in the same run:

* **torch-influence (CG)** when the ``torch-influence`` package is installed: its
  ``CGInfluenceModule`` with the same model, data, L2 and CG tolerance;
* otherwise **the same algorithm in plain PyTorch**: ``torch.autograd.functional.hvp`` inside
  SciPy's ``cg`` (as torch-influence's CG module does), then one gradient per training point at
  batch size 1 (as its ``influences`` does). torch-influence is not on PyPI in every environment,
  so the algorithm is reproduced, not imported;
* **PyTorch, vectorised**: the same CG, then all per-example gradients with ``torch.func.vmap``
  -- the fastest way a PyTorch user would write it today.

Each row also checks that the scores agree with TorchsorFlow's (max relative difference).

Two more rows time the built-in verification, Koh & Liang's Figure 2: leave-one-out retraining of
the 50 most influential points for the logistic regression (target Pearson R ≥ 0.99) and for a
small tanh CNN with damping trained on all 1437 digits (target R ≥ 0.9); ``--quick`` uses 10
points and 400 training digits for the CNN.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from .harness import import_torch, measure, row, script_main

L2 = 1e-3
RTOL = 1e-8


def problem():
    """Digits (flattened, float64), a logistic regression fitted to the optimum, a misclassified
    test point."""
    import torchsorflow as tsf
    from torchsorflow import nn
    from torchsorflow.data import datasets
    from torchsorflow.influence import InfluenceModel
    from torchsorflow.influence.objective import as_arrays

    X, y = as_arrays(datasets.digits("train"))
    Xt, yt = as_arrays(datasets.digits("test"))
    X, Xt = X.reshape(len(X), 64), Xt.reshape(len(Xt), 64)
    tsf.manual_seed(0)
    fitted = InfluenceModel(nn.Linear(64, 10), None, (X, y), l2=L2, progress=False).fit()
    wrong = np.flatnonzero(fitted.objective.outputs(fitted.theta, Xt).argmax(1) != yt)
    return fitted.model, X, y, Xt, yt, int(wrong[0])


def ours(model, X, y, x_test, y_test, method="cg"):
    from torchsorflow.influence import InfluenceModel
    influence = InfluenceModel(model, None, (X, y), l2=L2, method=method, rtol=RTOL,
                               progress=False)
    return influence.predicted_loss_change((x_test, y_test))


def _torch_setup(torch, model, X, y):
    weight = torch.tensor(model.weight.numpy()).reshape(-1)
    theta = torch.cat([weight, torch.tensor(model.bias.numpy())])
    return theta, torch.tensor(X), torch.tensor(y)


def _per_example(torch, theta, inputs, targets):
    logits = inputs @ theta[:640].reshape(10, 64).T + theta[640:]
    return torch.nn.functional.cross_entropy(logits, targets, reduction="none")


def _torch_cg(torch, theta, Xtr, ytr, g_test):
    """s_test by SciPy's cg on torch.autograd.functional.hvp (torch-influence's CG module)."""
    import scipy.sparse.linalg as sparse_linalg

    def risk(th):
        return _per_example(torch, th, Xtr, ytr).mean() + 0.5 * L2 * (th * th).sum()

    def matvec(v):
        return torch.autograd.functional.hvp(risk, theta, torch.tensor(v))[1].numpy()

    op = sparse_linalg.LinearOperator((len(theta), len(theta)), matvec=matvec, dtype=np.float64)
    return torch.tensor(sparse_linalg.cg(op, g_test.numpy(), rtol=RTOL, atol=0.0)[0])


def torch_loop(torch, model, X, y, x_test, y_test):
    """torch-influence's algorithm in plain PyTorch: CG, then gradients at batch size 1."""
    theta, Xtr, ytr = _torch_setup(torch, model, X, y)
    theta.requires_grad_(True)
    test_loss = _per_example(torch, theta, torch.tensor(x_test[None]),
                             torch.tensor(np.atleast_1d(y_test))).sum()
    g_test = torch.autograd.grad(test_loss, theta)[0]
    s_test = _torch_cg(torch, theta.detach(), Xtr, ytr, g_test)
    scores = []
    for i in range(len(Xtr)):
        loss = _per_example(torch, theta, Xtr[i:i + 1], ytr[i:i + 1]).sum()
        scores.append(torch.autograd.grad(loss, theta)[0] @ s_test)
    return (torch.stack(scores) / len(Xtr)).numpy()


def torch_vmap(torch, model, X, y, x_test, y_test):
    """The same CG, then every per-example gradient at once with torch.func.vmap."""
    from torch.func import grad, vmap
    theta, Xtr, ytr = _torch_setup(torch, model, X, y)

    def one(th, x, t):
        return _per_example(torch, th, x[None], t[None]).sum()

    g_test = grad(one)(theta, torch.tensor(x_test), torch.tensor(y_test))
    s_test = _torch_cg(torch, theta, Xtr, ytr, g_test)
    grads = vmap(grad(one), in_dims=(None, 0, 0))(theta, Xtr, ytr)
    return (grads @ s_test / len(Xtr)).numpy()


def torch_influence_package(torch, model, X, y, x_test, y_test):
    """torch-influence's own CGInfluenceModule (used only when the package is installed)."""
    import torch_influence
    from torch.utils.data import DataLoader, TensorDataset

    linear = torch.nn.Linear(64, 10).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(model.weight.numpy()))
        linear.bias.copy_(torch.tensor(model.bias.numpy()))

    class Objective(torch_influence.BaseObjective):
        def train_outputs(self, model, batch):
            return model(batch[0])

        def train_loss_on_outputs(self, outputs, batch):
            return torch.nn.functional.cross_entropy(outputs, batch[1])

        def train_regularization(self, params):
            return 0.5 * L2 * torch.square(params.norm())

        def test_loss(self, model, params, batch):
            return torch.nn.functional.cross_entropy(model(batch[0]), batch[1])

    train = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=len(X))
    test = DataLoader(TensorDataset(torch.tensor(x_test[None]),
                                    torch.tensor(np.atleast_1d(y_test))), batch_size=1)
    module = torch_influence.CGInfluenceModule(linear, Objective(), train, test, "cpu", damp=0.0,
                                               rtol=RTOL, atol=0.0)
    return module.influences(list(range(len(X))), [0]).numpy()


def tanh_cnn():
    """The smooth CNN of the influence tests (tests/test_influence_cnn.py): conv 3x3 (3
    channels), tanh, 2x2 average pooling, linear; 310 parameters, all of them studied."""
    import torchsorflow as tsf
    from torchsorflow import nn
    tsf.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(27, 10))


def loo_rows(model, X, y, Xt, yt, i, quick):
    """Koh & Liang's Figure 2 check, timed: logistic regression, then the tanh CNN (damping)."""
    import time

    from torchsorflow.data import datasets
    from torchsorflow.influence import InfluenceModel
    from torchsorflow.influence.objective import as_arrays

    rows = []
    k = 10 if quick else 50
    start = time.perf_counter()
    lr = InfluenceModel(model, None, (X, y), l2=L2, progress=False)
    result = lr.validate_loo((Xt[i], yt[i]), k=k)
    rows.append(row(f"LOO check, logistic regression: {k} retrainings of a misclassified digit",
                    time.perf_counter() - start, None, None,
                    note=f"Pearson R = {result.pearson:.4f}, Spearman ρ = {result.spearman:.4f} "
                         "(target R ≥ 0.99)"))
    images, labels = as_arrays(datasets.digits("train"))
    test_images, test_labels = as_arrays(datasets.digits("test"))
    n = 400 if quick else len(labels)
    start = time.perf_counter()
    cnn = InfluenceModel(tanh_cnn(), None, (images[:n], labels[:n]), l2=L2, damping=1e-3,
                         progress=False).fit()
    wrong = np.flatnonzero(cnn.objective.outputs(cnn.theta, test_images).argmax(1)
                           != test_labels)
    point = (test_images[wrong[0]], test_labels[wrong[0]])
    result = cnn.validate_loo(point, k=k)
    seconds = time.perf_counter() - start
    # the retraining does not depend on the damping: the same actual changes judge both
    undamped = cnn.with_damping(0.0).predicted_loss_change(point)[result.indices]
    smallest = cnn.hessian_eigenvalues()[0]
    rows.append(row(f"LOO check, tanh CNN (310 weights, {n} digits, damping 1e-3): train to a "
                    f"minimum + {k} retrainings", seconds, None, None,
                    note=f"Pearson R = {result.pearson:.4f}, Spearman ρ = {result.spearman:.4f} "
                         f"(target R ≥ 0.9; Koh & Liang 0.86); undamped R = "
                         f"{np.corrcoef(undamped, result.actual)[0, 1]:.4f} "
                         f"(λ_min = {smallest:.1e})"))
    return rows


def _relative_difference(a, b):
    return float(np.abs(np.asarray(a) - b).max() / np.abs(b).max())


def run(quick=False):
    """Rows for ``tsf bench``: TorchsorFlow CG (target < 1 s) beside the PyTorch versions."""
    model, X, y, Xt, yt, i = problem()
    x_test, y_test = Xt[i], yt[i]
    reference = ours(model, X, y, x_test, y_test, "exact")
    cg_s, cg_mb = measure(lambda: ours(model, X, y, x_test, y_test, "cg"), quick)
    exact_s, exact_mb = measure(lambda: ours(model, X, y, x_test, y_test, "exact"), quick)
    cg_diff = _relative_difference(ours(model, X, y, x_test, y_test, "cg"), reference)
    torch = import_torch()
    rows = []
    incumbents = []
    if torch is not None:
        try:
            import torch_influence  # noqa: F401
            incumbents.append(("torch-influence CG", torch_influence_package))
        except ImportError:
            incumbents.append(("PyTorch: torch-influence's CG algorithm (batch-1 loop)",
                               torch_loop))
        incumbents.append(("PyTorch: CG + torch.func.vmap", torch_vmap))
    name = f"influence of {len(X)} train points on 1 test point (logistic regression, digits)"
    if not incumbents:
        rows.append(row(f"{name}, CG", cg_s, None, None, tsf_mb=cg_mb, note="torch not installed"))
    for label, fn in incumbents:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = fn(torch, model, X, y, x_test, y_test)
            ref_s, ref_mb = measure(lambda fn=fn: fn(torch, model, X, y, x_test, y_test), quick)
        rows.append(row(f"{name}, CG", cg_s, ref_s, label, tsf_mb=cg_mb, ref_mb=ref_mb,
                        target=1.0, note=f"tsf {cg_s:.2f} s (goal < 1 s); scores differ by "
                                         f"{_relative_difference(theirs, reference):.1e} relative"))
    rows.append(row(f"{name}, exact (dense Hessian + Cholesky) vs CG", exact_s, cg_s,
                    "TorchsorFlow CG", tsf_mb=exact_mb, ref_mb=cg_mb,
                    note=f"CG vs exact scores differ by {cg_diff:.1e} relative"))
    return rows + loo_rows(model, X, y, Xt, yt, i, quick)


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
