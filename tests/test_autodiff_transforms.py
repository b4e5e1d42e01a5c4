"""Functional transforms compose; eager backward follows PyTorch; errors name the problem."""
import math

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.func import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

rng = np.random.default_rng(7)


def mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    hidden = tsf.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    return -(tsf.log_softmax(logits, axis=1) * y).sum() / x.shape[0]


def random_mlp(n_in=4, n_hidden=5, n_out=3, batch=6):
    params = tuple(tsf.tensor(rng.standard_normal(s) * 0.5)
                   for s in [(n_in, n_hidden), (n_hidden,), (n_hidden, n_out), (n_out,)])
    x = tsf.tensor(rng.standard_normal((batch, n_in)))
    y = tsf.tensor(np.eye(n_out)[rng.integers(0, n_out, batch)])
    return params, x, y


def test_grad_of_grad_matches_analytic_second_derivatives():
    x = tsf.tensor(np.float64(0.7))
    assert grad(grad(tsf.sin))(x).item() == pytest.approx(-math.sin(0.7), rel=1e-12)
    assert grad(grad(grad(tsf.exp)))(x).item() == pytest.approx(math.exp(0.7), rel=1e-12)
    f = lambda v: v ** 3 * tsf.tanh(v)  # noqa: E731
    t = math.tanh(0.7)
    second = 6 * 0.7 * t + 6 * 0.49 * (1 - t * t) + 0.343 * (-2 * t * (1 - t * t))
    assert grad(grad(f))(x).item() == pytest.approx(second, rel=1e-10)


def test_all_four_nestings_of_second_derivatives_agree():
    params, x, y = random_mlp()
    w1 = params[0]
    f = lambda w: mlp_loss((w,) + params[1:], x, y)  # noqa: E731
    flat = lambda w: f(w.reshape(4, 5))  # noqa: E731
    v = w1.reshape(-1)
    h_ff = jacfwd(jacfwd(flat))(v).numpy()
    h_fr = jacfwd(jacrev(flat))(v).numpy()
    h_rf = jacrev(jacfwd(flat))(v).numpy()
    h_rr = jacrev(jacrev(flat))(v).numpy()
    for h in (h_fr, h_rf, h_rr):
        np.testing.assert_allclose(h, h_ff, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h_ff, h_ff.T, atol=1e-12)


def test_hvp_equals_hessian_times_vector():
    params, x, y = random_mlp()
    flat_sizes = [p.numel() for p in params]

    def f(theta):
        pieces, start = [], 0
        for p, n in zip(params, flat_sizes):
            pieces.append(theta[start:start + n].reshape(p.shape))
            start += n
        return mlp_loss(tuple(pieces), x, y)

    theta = tsf.cat([p.reshape(-1) for p in params])
    v = tsf.tensor(rng.standard_normal(theta.shape))
    np.testing.assert_allclose(hvp(f, theta, v).numpy(), hessian(f)(theta).numpy() @ v.numpy(),
                               rtol=1e-9, atol=1e-12)


def test_hvp_on_pytrees_matches_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad, jvp as tjvp
    params, x, y = random_mlp()
    tangents = tuple(tsf.tensor(rng.standard_normal(p.shape)) for p in params)
    ours = hvp(lambda *p: mlp_loss(p, x, y), params, tangents)

    def torch_loss(*p):
        w1, b1, w2, b2 = p
        tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())
        logits = torch.tanh(tx @ w1 + b1) @ w2 + b2
        return -(torch.log_softmax(logits, 1) * ty).sum() / tx.shape[0]

    tp = tuple(torch.tensor(p.numpy()) for p in params)
    tt = tuple(torch.tensor(t.numpy()) for t in tangents)
    _, theirs = tjvp(tgrad(torch_loss, argnums=(0, 1, 2, 3)), tp, tt)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_eager_backward_matches_functional_grad_and_torch():
    params, x, y = random_mlp()
    leaves = [tsf.tensor(p.numpy(), requires_grad=True) for p in params]
    mlp_loss(tuple(leaves), x, y).backward()
    functional = grad(lambda *p: mlp_loss(p, x, y), argnums=(0, 1, 2, 3))(*params)
    for leaf, g in zip(leaves, functional):
        np.testing.assert_allclose(leaf.grad.numpy(), g.numpy(), rtol=1e-12)
    torch = pytest.importorskip("torch")
    tp = [torch.tensor(p.numpy(), requires_grad=True) for p in params]
    tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())
    logits = torch.tanh(tx @ tp[0] + tp[1]) @ tp[2] + tp[3]
    (-(torch.log_softmax(logits, 1) * ty).sum() / 6).backward()
    for leaf, t in zip(leaves, tp):
        np.testing.assert_allclose(leaf.grad.numpy(), t.grad.numpy(), rtol=1e-10)


def test_backward_accumulates_and_create_graph_gives_double_backward():
    x = tsf.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    x.grad = None
    (g,) = tsf.autograd.grad((x ** 3).sum(), x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_second_backward_needs_retain_graph():
    x = tsf.tensor([1.0], requires_grad=True)
    y = tsf.exp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_error_messages_follow_pytorch():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        tsf.tensor([1.0, 2.0]).sum().backward()
    x = tsf.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError,
                       match=r"grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(tsf.tensor([1.0, 1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError,
                       match="only Tensors of floating point dtype can require gradients"):
        tsf.tensor([1, 2], requires_grad=True)


def test_shape_mismatch_names_operation_and_both_shapes():
    a, b = tsf.ones(2, 3), tsf.ones(4)
    with pytest.raises(ValueError, match=r"add: cannot apply to shapes \(2, 3\) and \(4,\)"):
        a + b
    with pytest.raises(ValueError,
                       match=r"matmul: shapes \(2, 3\) and \(4,\) cannot be multiplied"):
        a @ b


def test_no_grad_and_detach_stop_recording():
    x = tsf.tensor([1.0], requires_grad=True)
    with tsf.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad


def test_jvp_is_one_pass_and_records_no_graph():
    x = tsf.tensor(rng.standard_normal(5), requires_grad=True)
    out, tangent = jvp(lambda v: tsf.sin(v).sum(), (x.detach(),), (tsf.ones_like(x.detach()),))
    assert out.grad_fn is None and tangent.grad_fn is None
    assert tangent.item() == pytest.approx(np.cos(x.numpy()).sum())


def test_vjp_value_and_grad_jacobians_and_argnums():
    a, b = tsf.tensor(rng.standard_normal(3)), tsf.tensor(rng.standard_normal(3))
    out, pullback = vjp(lambda u, v: u * v, a, b)
    ga, gb = pullback(tsf.ones_like(out))
    np.testing.assert_allclose(ga.numpy(), b.numpy())
    np.testing.assert_allclose(gb.numpy(), a.numpy())
    value, g = value_and_grad(lambda u, v: (u * v).sum(), argnums=1)(a, b)
    assert value.item() == pytest.approx(float(a.numpy() @ b.numpy()))
    np.testing.assert_allclose(g.numpy(), a.numpy())
    jf = jacfwd(lambda u: tsf.tanh(u) * 3)(a).numpy()
    np.testing.assert_allclose(jf, np.diag(3 * (1 - np.tanh(a.numpy()) ** 2)), atol=1e-12)
    (g_aux, aux) = grad(lambda u: ((u * u).sum(), u * 2), has_aux=True)(a)
    np.testing.assert_allclose(aux.numpy(), 2 * a.numpy())
    np.testing.assert_allclose(g_aux.numpy(), 2 * a.numpy())


def test_grad_accepts_numpy_and_python_inputs_and_dicts():
    g = grad(lambda p: (p["w"] ** 2).sum() + p["b"])({"w": np.array([1.0, 3.0]), "b": 2.0})
    np.testing.assert_allclose(g["w"].numpy(), [2.0, 6.0])
    assert g["b"].item() == pytest.approx(1.0)


def test_grad_requires_scalar_output_and_detects_leaked_tracers():
    with pytest.raises(RuntimeError, match="scalar"):
        grad(lambda v: v * 2)(tsf.tensor([1.0, 2.0]))
    leaked = []
    grad(lambda v: leaked.append(v) or v.sum())(tsf.tensor([1.0]))
    with pytest.raises(RuntimeError, match="escape"):
        leaked[0] * 2


def test_perturbation_confusion_is_avoided():
    # d/dx [x · d/dy (x + y)] at y = 1 is 1: the inner derivative must not see the outer x.
    f = lambda x: x * grad(lambda y: x + y)(tsf.tensor(1.0))  # noqa: E731
    assert grad(f)(tsf.tensor(1.0)).item() == pytest.approx(1.0)
    g = lambda x: jvp(lambda y: x * y, (tsf.tensor(2.0),), (tsf.tensor(1.0),))[1]  # noqa: E731
    assert jvp(g, (tsf.tensor(3.0),), (tsf.tensor(1.0),))[1].item() == pytest.approx(1.0)
