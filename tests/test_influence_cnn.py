"""Influence functions for a small non-convex model: a tanh CNN on digits (Koh & Liang's CNN
experiment, Fig. 2 middle, at a size that runs in seconds).

Every weight is studied (convolution included), so per-example gradients take the general
``jacrev`` path; the model is trained to a true local minimum (L-BFGS, then Newton to
max |∇R| ≤ 1e-11), where the Hessian is positive definite, and a little damping is added as Koh &
Liang do for networks. Target: Pearson R ≥ 0.9 between predicted and actual leave-one-out changes
of a misclassified test digit's loss (they report 0.86).
"""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.data import datasets
from torchsorflow.func import grad
from torchsorflow.influence import InfluenceModel
from torchsorflow.influence.objective import as_arrays

N_TRAIN = 400


def tanh_cnn():
    tsf.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(27, 10))


@pytest.fixture(scope="module")
def cnn():
    X, y = as_arrays(datasets.digits("train"))
    Xt, yt = as_arrays(datasets.digits("test"))
    influence = InfluenceModel(tanh_cnn(), None, (X[:N_TRAIN], y[:N_TRAIN]), l2=1e-3,
                               damping=1e-3, progress=False).fit()
    wrong = np.flatnonzero(influence.objective.outputs(influence.theta, Xt).argmax(1) != yt)
    return influence, Xt, yt, wrong


def test_trained_to_a_local_minimum(cnn):
    influence, Xt, yt, wrong = cnn
    assert influence.objective.size == 3 * 9 + 3 + 27 * 10 + 10
    assert influence.fit_info.converged and influence.gradient_norm < 1e-9
    smallest, largest = influence.hessian_eigenvalues()
    assert 0 < smallest < largest          # a minimum, not a saddle: influence theory applies
    assert len(wrong) < 0.2 * len(yt)      # and a classifier worth explaining


def test_conv_per_example_gradients_match_a_naive_loop(cnn):
    influence, Xt, yt, _ = cnn
    objective = influence.objective
    assert not objective._linear_owner     # the convolution forces the general path
    rows = objective.per_example_grads(influence.theta, (Xt[:6], yt[:6]), chunk=4)
    for x, t, row in zip(Xt[:6], yt[:6], rows):
        one = grad(lambda th, x=x, t=t: objective._losses(th, x[None], np.array([t])).sum())(
            tsf.tensor(influence.theta)).numpy()
        np.testing.assert_allclose(row, one, rtol=1e-10, atol=1e-13)


def test_tanh_cnn_leave_one_out_correlation(cnn):
    influence, Xt, yt, wrong = cnn
    result = influence.validate_loo((Xt[wrong[0]], yt[wrong[0]]), k=30)
    assert result.pearson >= 0.9, str(result)
    assert result.spearman >= 0.8, str(result)
