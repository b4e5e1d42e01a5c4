"""Influence functions on scikit-learn's digits: multiclass logistic regression with L2.

The claims checked: per-example gradients (both paths) equal a naive per-example loop; the dense
Hessian equals ``tsf.func.hessian`` and finite differences of the gradient; exact, CG and LiSSA
give the same H⁻¹v; predicted leave-one-out changes match actual retraining (Pearson R ≥ 0.99,
Koh & Liang's near-perfect logistic-regression result); the seed's Taylor expansion has an ε²
error; indefinite Hessians and diverging LiSSA are reported, not returned as NaN.
"""
import warnings

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.data import datasets
from torchsorflow.func import grad, hessian
from torchsorflow.influence import (InfluenceModel, InfluenceWarning, LissaDivergenceError,
                                    NotPositiveDefiniteError)
from torchsorflow.influence.objective import Objective, as_arrays

L2 = 1e-3


@pytest.fixture(scope="module")
def digits():
    X, y = as_arrays(datasets.digits("train"))
    Xt, yt = as_arrays(datasets.digits("test"))
    return X.reshape(len(X), 64), y, Xt.reshape(len(Xt), 64), yt


def logistic_regression():
    tsf.manual_seed(0)
    return nn.Linear(64, 10)


@pytest.fixture(scope="module")
def fitted(digits):
    """Multiclass logistic regression trained to the exact optimum (chord Newton, float64)."""
    X, y, Xt, yt = digits
    influence = InfluenceModel(logistic_regression(), None, (X, y), l2=L2, progress=False).fit()
    wrong = np.flatnonzero(influence.outputs(Xt).argmax(1) != yt)
    return influence, wrong


def test_fit_reaches_a_minimum_and_a_sensible_accuracy(digits, fitted):
    influence, wrong = fitted
    assert influence.fit_info.converged
    assert influence.gradient_norm < 1e-9
    accuracy = 1 - len(wrong) / len(digits[3])
    assert 0.92 < accuracy < 0.99   # logistic regression on 8x8 digits: about 95 %


def naive_per_example_grads(objective, theta, inputs, targets):
    """The reference: one gradient per example, batch size 1, in a Python loop."""
    rows = []
    for x, t in zip(inputs, targets):
        loss = lambda th, x=x, t=t: objective._losses(th, x[None], np.array([t])).sum()  # noqa: E731
        rows.append(grad(loss)(tsf.tensor(theta)).numpy())
    return np.array(rows)


def test_per_example_gradients_both_paths_match_a_naive_loop(digits):
    X, y, _, _ = digits
    tsf.manual_seed(1)
    mlp = nn.Sequential(nn.Linear(64, 12), nn.Tanh(), nn.Linear(12, 10))
    objective = Objective(mlp, None, X[:40], y[:40], l2=L2)
    reference = naive_per_example_grads(objective, objective.theta, X[:40], y[:40])
    general = objective.per_example_grads(objective.theta, method="general", chunk=16)
    fast = objective.per_example_grads(objective.theta, method="linear")
    np.testing.assert_allclose(general, reference, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-14)
    v = np.random.default_rng(0).normal(size=objective.size)
    np.testing.assert_allclose(objective.loss_jvp(objective.theta, v), reference @ v, rtol=1e-10)


def test_linear_fast_path_is_refused_for_other_layers():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    X, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 0, 1, 1])
    objective = Objective(model, None, X, y, params=["0.weight"])
    assert objective._linear_owner   # the weight of a Linear: allowed
    with pytest.raises(ValueError, match="do not all belong to nn.Linear"):
        Objective(nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2)), None, X, y
                  ).per_example_grads(objective.theta, method="linear")


def test_dense_hessian_matches_framework_hessian_and_finite_differences(digits):
    X, y, _, _ = digits
    objective = Objective(nn.Linear(64, 3), None, X[:60], y[:60] % 3, l2=0.01)
    theta = objective.theta
    dense = objective.hessian(theta)
    risk = lambda th: objective._chunk_risk(slice(None), None)(th) + 0.005 * (th * th).sum()  # noqa
    np.testing.assert_allclose(dense, hessian(risk)(tsf.tensor(theta)).numpy(), atol=1e-13)
    h, v = 1e-5, np.random.default_rng(2).normal(size=objective.size)
    central = (objective.value_and_grad(theta + h * v)[1]
               - objective.value_and_grad(theta - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(dense @ v, central, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(objective.hvp(theta, v), dense @ v, atol=1e-13)


@pytest.fixture(scope="module")
def loo_exact(fitted, digits, tmp_path_factory):
    """Leave-one-out retraining for the 50 most influential points of a misclassified digit."""
    influence, wrong = fitted
    _, _, Xt, yt = digits
    png = tmp_path_factory.mktemp("loo") / "loo.png"
    return influence.validate_loo((Xt[wrong[0]], yt[wrong[0]]), k=50, png=png), png


def test_loo_retraining_matches_prediction_exact(fitted, digits, loo_exact):
    """Koh & Liang, Fig. 2 (left), for a misclassified test digit: R >= 0.99 over 50 points."""
    influence, wrong = fitted
    _, _, Xt, yt = digits
    result, png = loo_exact
    assert len(result.indices) == 50
    assert result.pearson >= 0.99, str(result)
    assert result.spearman >= 0.95, str(result)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    top = influence.top_k((Xt[wrong[0]], yt[wrong[0]]), k=50)
    predicted = dict(top.helpful + top.harmful)
    np.testing.assert_allclose([predicted.get(i, np.nan) for i in result.indices[:5]],
                               result.predicted[:5])


def test_cg_matches_exact_and_the_retraining(fitted, digits, loo_exact):
    """CG on forward-over-reverse HVPs: the same scores as the Cholesky solve, hence the same
    agreement with the (method-independent) leave-one-out retraining."""
    import scipy.stats
    influence, wrong = fitted
    X, y, Xt, yt = digits
    cg = InfluenceModel(influence.model, None, (X, y), l2=L2, method="cg", progress=False)
    test = (Xt[wrong[0]], yt[wrong[0]])
    exact_change = influence.predicted_loss_change(test)
    cg_change = cg.predicted_loss_change(test)
    np.testing.assert_allclose(cg_change, exact_change, rtol=1e-6,
                               atol=1e-9 * np.abs(exact_change).max())
    result, _ = loo_exact
    assert scipy.stats.pearsonr(cg_change[result.indices], result.actual)[0] >= 0.99
    # another damping, sharing the dense Hessian: (H + 0.1 I)⁻¹ in the formula, nothing else
    damped = influence.with_damping(0.1).predicted_loss_change(test)
    assert influence.solver.damping == 0.0
    H = influence.solver.hessian
    s_test = np.linalg.solve(H + 0.1 * np.eye(len(H)), influence.test_gradients(test)[0])
    grads = influence.objective.per_example_grads(influence.theta)
    np.testing.assert_allclose(damped, grads @ s_test / len(X), rtol=1e-8, atol=1e-14)
    assert cg.solver.products < 200   # CG iterations (HVPs) for one s_test


def test_influence_quantities_are_consistent(fitted, digits):
    influence, wrong = fitted
    X, y, Xt, yt = digits
    idx = np.array([3, 50, 700])
    params = influence.influence_on_params(idx)
    grads = influence.objective.per_example_grads(influence.theta, (X[idx], y[idx]))
    np.testing.assert_allclose(influence.solver.hessian @ params[0] + influence.solver.damping
                               * params[0], -grads[0], atol=1e-10)
    test = (Xt[wrong[0]], yt[wrong[0]])
    assert influence.losses(test)[0] > np.log(2)   # misclassified: p(label) < 1/2
    test_grad = influence.test_gradients(test)[0]
    on_loss = influence.influence_on_loss(test, train_idx=idx)
    np.testing.assert_allclose(on_loss, params @ test_grad, rtol=1e-9)
    np.testing.assert_allclose(influence.predicted_loss_change(test)[idx], -on_loss / len(y))
    # self-influence is −I_up,loss(z, z), non-negative for a positive definite Hessian
    self_values = influence.self_influence(idx)
    own = [influence.influence_on_loss((X[i], y[i]), train_idx=i)[0] for i in idx]
    np.testing.assert_allclose(self_values, -np.array(own), rtol=1e-9)
    assert np.all(self_values > 0)
    several = influence.influence_on_loss((Xt[wrong[:3]], yt[wrong[:3]]))
    np.testing.assert_allclose(several[0], influence.influence_on_loss(test), rtol=1e-10)


def test_top_k_ordering(fitted, digits):
    influence, wrong = fitted
    _, _, Xt, yt = digits
    top = influence.top_k((Xt[wrong[0]], yt[wrong[0]]), k=8)
    helpful, harmful = [s for _, s in top.helpful], [s for _, s in top.harmful]
    assert helpful == sorted(helpful, reverse=True) and helpful[0] == top.scores.max() > 0
    assert harmful == sorted(harmful) and harmful[0] == top.scores.min() < 0
    assert "helpful" in str(top)


def test_taylor_expansion_error_is_second_order(fitted, tmp_path):
    """Seed 002, exercise 4: θ̂(ε) = θ̂ + ε dθ̂/dε + O(ε²), checked by re-optimisation."""
    influence, _ = fitted
    check = influence.check_taylor(11, png=tmp_path / "taylor.png")
    assert 0.9 < check.order_zeroth < 1.1, str(check)
    assert 1.85 < check.order_first < 2.15, str(check)
    assert np.all(check.first_order < check.zeroth_order)
    assert (tmp_path / "taylor.png").exists()


def test_lissa_matches_exact_with_damping(digits):
    X, y, _, _ = digits
    X, y = X[:150], y[:150]
    tsf.manual_seed(0)
    exact = InfluenceModel(nn.Linear(64, 10), None, (X, y), l2=L2, damping=0.1,
                           progress=False).fit()
    lissa = InfluenceModel(exact.model, None, (X, y), l2=L2, damping=0.1, method="lissa",
                           depth=250, progress=False)
    v = exact.test_gradients((X[:2], (y[:2] + 1) % 10)).T
    np.testing.assert_allclose(lissa.inverse_hvp(v), exact.inverse_hvp(v), rtol=1e-6, atol=1e-9)
    stochastic = InfluenceModel(exact.model, None, (X, y), l2=L2, damping=0.1, method="lissa",
                                depth=150, repeats=3, lissa_batch_size=50, progress=False)
    estimate, reference = stochastic.inverse_hvp(v[:, 0]), exact.inverse_hvp(v[:, 0])
    assert np.corrcoef(estimate, reference)[0, 1] > 0.9


def test_lissa_divergence_is_reported_with_a_suggestion(digits):
    X, y, _, _ = digits
    lissa = InfluenceModel(nn.Linear(64, 10), None, (X[:200], y[:200]), l2=L2, method="lissa",
                           scale=0.05, depth=500, progress=False).fit()
    with pytest.raises(LissaDivergenceError, match=r"LiSSA diverged at step \d+ .* Use scale > "):
        lissa.inverse_hvp(np.ones(lissa.objective.size))


def tanh_mlp_at_init():
    tsf.manual_seed(3)
    return nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 10))


def test_indefinite_hessian_is_reported_with_a_damping(digits):
    """A tanh network at its random initialisation is no minimum: its Hessian has negative
    eigenvalues. Both exact and CG say so, with the smallest eigenvalue and a damping."""
    X, y, _, _ = digits
    data = (X[:200], y[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfluenceWarning)   # "θ̂ is not a minimum": expected
        exact = InfluenceModel(tanh_mlp_at_init(), None, data, progress=False)
        low, high = np.linalg.eigvalsh(exact.objective.hessian(exact.theta))[[0, -1]]
        assert low < 0
        with pytest.raises(NotPositiveDefiniteError) as caught:
            exact.inverse_hvp(np.ones(exact.objective.size))
        assert caught.value.smallest == pytest.approx(low, rel=1e-8)
        assert caught.value.suggested_damping > -low
        assert f"smallest eigenvalue {low:.3g}" in str(caught.value)
        cg = InfluenceModel(tanh_mlp_at_init(), None, data, method="cg", progress=False)
        with pytest.raises(NotPositiveDefiniteError, match="CG met curvature"):
            cg.inverse_hvp(cg.test_gradients((X[0], 0))[0])
        damped = InfluenceModel(tanh_mlp_at_init(), None, data,
                                damping=caught.value.suggested_damping, progress=False)
        assert np.all(np.isfinite(damped.inverse_hvp(np.ones(damped.objective.size))))


def test_warns_when_theta_is_not_a_minimum(digits):
    X, y, _, _ = digits
    influence = InfluenceModel(nn.Linear(64, 10), None, (X[:100], y[:100]), l2=L2,
                               progress=False)
    with pytest.warns(InfluenceWarning, match="θ̂ is not a minimum"):
        influence.predicted_loss_change((X[0], y[0]))


def test_bad_input_is_named(digits):
    X, y, _, _ = digits
    model = nn.Linear(64, 10)
    with pytest.raises(ValueError, match="method must be one of"):
        InfluenceModel(model, None, (X, y), method="newton")
    with pytest.raises(ValueError, match="'fc' names no parameter of the model; available: "
                                         r"\['weight', 'bias'\]"):
        InfluenceModel(model, None, (X, y), params=["fc"])
    with pytest.raises(ValueError, match="1437 inputs but 3 targets"):
        InfluenceModel(model, None, (X, y[:3]))
    influence = InfluenceModel(model, None, (X[:50], y[:50]), l2=L2, progress=False)
    with pytest.raises(IndexError, match="train index 50 is out of range for 50 training points"):
        influence.influence_on_params(50)
    with pytest.raises(TypeError, match="loss_fn must accept reduction='none'"):
        InfluenceModel(model, lambda out, target: out.sum(), (X[:5], y[:5]))
    with pytest.raises(ValueError, match="ε must be >= −1/N"):
        influence.check_taylor(0, eps_list=[0.1, -0.5])


def test_loss_modules_and_parameter_subsets(digits):
    X, y, _, _ = digits
    tsf.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    full = InfluenceModel(model, nn.CrossEntropyLoss(), (X[:80], y[:80]), params=["2"], l2=0.01,
                          progress=False)
    assert full.objective.names == ["2.weight", "2.bias"] and full.objective.size == 170
    functional = InfluenceModel(model, nn.functional.cross_entropy, (X[:80], y[:80]),
                                params=["2.weight", "2.bias"], l2=0.01, progress=False)
    np.testing.assert_allclose(full.objective.value_and_grad(full.theta)[1],
                               functional.objective.value_and_grad(functional.theta)[1])
    assert model[2].weight.dtype == np.float32   # the caller's model is left alone


def test_agrees_with_pytorch_reference(fitted, digits):
    """The same influence computed independently in PyTorch, in closed form: per-example
    gradients (pᵢ − onehot(yᵢ)) ⊗ [xᵢ, 1], the Hessian Σᵢ (diag pᵢ − pᵢpᵢᵀ) ⊗ [xᵢ,1][xᵢ,1]ᵀ / N
    + l2·I, and torch.func.grad for the test point."""
    torch = pytest.importorskip("torch")
    influence, wrong = fitted
    X, y, Xt, yt = digits
    theta = torch.tensor(influence.theta)
    Xtr, ytr = torch.tensor(X), torch.tensor(y)

    def per_example(th, inputs, targets):
        W, b = th[:640].reshape(10, 64), th[640:]
        return torch.nn.functional.cross_entropy(inputs @ W.T + b, targets, reduction="none")

    p = torch.softmax(Xtr @ theta[:640].reshape(10, 64).T + theta[640:], dim=1)
    curvature = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]          # (N, 10, 10)
    x1 = torch.cat([Xtr, torch.ones(len(X), 1, dtype=Xtr.dtype)], dim=1)     # (N, 65)
    blocks = torch.einsum("icd,ij,ik->cjdk", curvature, x1, x1) / len(X)     # (10, 65, 10, 65)
    order = [c * 64 + j if j < 64 else 640 + c for c in range(10) for j in range(65)]
    H = torch.zeros(650, 650, dtype=torch.float64)
    H[np.ix_(order, order)] = blocks.reshape(650, 650)
    H += L2 * torch.eye(650, dtype=torch.float64)
    i = wrong[0]
    x_test, y_test = torch.tensor(Xt[i:i + 1]), torch.tensor(yt[i:i + 1])
    g_test = torch.func.grad(lambda th: per_example(th, x_test, y_test).sum())(theta)
    s_test = torch.linalg.solve(H, g_test)
    residual = p - torch.nn.functional.one_hot(ytr, 10).double()             # ∂Lᵢ/∂logits
    train_grads = torch.cat([(residual[:, :, None] * Xtr[:, None, :]).reshape(len(X), 640),
                             residual], dim=1)
    np.testing.assert_allclose(influence.objective.per_example_grads(influence.theta)[:50],
                               train_grads[:50].numpy(), atol=1e-13)
    reference = (train_grads @ s_test / len(X)).numpy()
    np.testing.assert_allclose(influence.predicted_loss_change((Xt[i], yt[i])), reference,
                               rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(influence.solver.hessian, H.numpy(), atol=1e-12)
