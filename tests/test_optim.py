"""Optimizers and schedulers against PyTorch's own implementations (float64, several steps).

Both frameworks get the *same* gradients, computed in NumPy from the current parameters, so any
difference in the trajectories comes from the update rules alone.
"""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((6, 12))
Y = RNG.standard_normal(6)
INITIAL = [RNG.standard_normal((3, 4)), RNG.standard_normal(5) * 2]
STEPS = 8


def numpy_gradients(params):
    """Gradient of 0.5 * |A p - y|^2 + sum(cos(p)) over the concatenation p of all parameters."""
    flat = np.concatenate([p.ravel() for p in params])
    grad = A.T @ (A @ flat[:12] - Y)
    full = np.concatenate([grad, np.zeros(flat.size - 12)]) - np.sin(flat)
    return [part.reshape(p.shape) for p, part in zip(params, np.split(full, [12]))]


def run_ours(name, options, steps=STEPS, group_lrs=None):
    params = [tsf.tensor(p.copy(), requires_grad=True) for p in INITIAL]
    groups = _groups(params, group_lrs)
    opt = getattr(optim, name)(groups, **options)
    trajectory = []
    for _ in range(steps):
        for p, g in zip(params, numpy_gradients([p.numpy() for p in params])):
            p.grad = tsf.tensor(g)
        opt.step()
        trajectory.append([p.numpy().copy() for p in params])
    return trajectory, opt


def run_torch(name, options, steps=STEPS, group_lrs=None):
    params = [torch.tensor(p.copy(), requires_grad=True) for p in INITIAL]
    opt = getattr(torch.optim, name)(_groups(params, group_lrs), **options)
    trajectory = []
    for _ in range(steps):
        grads = numpy_gradients([p.detach().numpy() for p in params])
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, opt


def _groups(params, group_lrs):
    if group_lrs is None:
        return params
    return [{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, weight_decay=0.2, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.5, 0.9), eps=1e-3)),
    ("Adam", dict(lr=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.3, amsgrad=True)),
    ("Adagrad", dict(lr=0.3)),
    ("Adagrad", dict(lr=0.3, lr_decay=0.1, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.3, initial_accumulator_value=0.5, eps=1e-4)),
    ("RMSprop", dict(lr=0.02)),
    ("RMSprop", dict(lr=0.02, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.02, momentum=0.7)),
    ("RMSprop", dict(lr=0.02, momentum=0.7, centered=True, weight_decay=0.1, eps=1e-4)),
]


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_trajectory_matches_torch(name, options):
    ours, _ = run_ours(name, options)
    theirs, _ = run_torch(name, options)
    moved = np.abs(ours[-1][0] - INITIAL[0]).max()
    assert moved > 1e-3, "the problem must actually move the parameters"
    for step, (mine, ref) in enumerate(zip(ours, theirs)):
        for p, q in zip(mine, ref):
            np.testing.assert_allclose(p, q, rtol=1e-13, atol=1e-14, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("name, options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                           ("Adam", dict(lr=0.01, amsgrad=True))])
def test_param_groups_with_their_own_lr_match_torch(name, options):
    ours, _ = run_ours(name, options, group_lrs=[0.01, 0.2])
    theirs, _ = run_torch(name, options, group_lrs=[0.01, 0.2])
    for p, q in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name, options", CASES[::3], ids=[n for n, _ in CASES[::3]])
def test_state_dict_has_torchs_structure(name, options):
    _, ours = run_ours(name, options, steps=3)
    _, theirs = run_torch(name, options, steps=3)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert set(mine) == {"state", "param_groups"}
    assert sorted(mine["state"]) == sorted(ref["state"])
    for index, state in ref["state"].items():
        assert set(mine["state"][index]) == set(state)
        for key, value in state.items():
            np.testing.assert_allclose(np.asarray(mine["state"][index][key]), value.numpy(),
                                       rtol=1e-13, atol=1e-14, err_msg=key)
    torch_group_keys = set(ref["param_groups"][0]) - {"foreach", "differentiable", "fused",
                                                       "capturable", "decoupled_weight_decay"}
    assert torch_group_keys <= set(mine["param_groups"][0])
    assert mine["param_groups"][0]["params"] == ref["param_groups"][0]["params"]


@pytest.mark.parametrize("name, options", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                           ("Adam", dict(lr=0.1, amsgrad=True)),
                                           ("RMSprop", dict(lr=0.02, momentum=0.5, centered=True))])
def test_resuming_from_a_state_dict_continues_the_same_trajectory(name, options):
    full, _ = run_ours(name, options, steps=6)
    _, first_half = run_ours(name, options, steps=3)
    saved = first_half.state_dict()
    params = [tsf.tensor(p.numpy().copy(), requires_grad=True)
              for p in first_half.param_groups[0]["params"]]
    resumed = getattr(optim, name)(params, **options)
    resumed.load_state_dict(saved)
    for _ in range(3):
        for p, g in zip(params, numpy_gradients([p.numpy() for p in params])):
            p.grad = tsf.tensor(g)
        resumed.step()
    for p, q in zip(params, full[-1]):
        np.testing.assert_array_equal(p.numpy(), q)


def test_state_dict_is_a_snapshot():
    _, opt = run_ours("Adam", dict(lr=0.1), steps=2)
    saved = opt.state_dict()
    before = saved["state"][0]["exp_avg"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"].numpy(), before)
    assert saved["state"][0]["step"] == 2


def test_load_state_dict_names_the_mismatch():
    _, opt = run_ours("Adam", dict(lr=0.1), steps=1)
    saved = opt.state_dict()
    saved["state"][1]["exp_avg"] = tsf.zeros(4)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(4,\) but the "
                                         r"parameter has shape \(5,\)"):
        opt.load_state_dict(saved)
    other = optim.Adam([tsf.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match=r"param_groups\[0\] has 2 parameters in the loaded state "
                                         r"dict but 1 in the optimizer"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="has no 'param_groups' entry"):
        opt.load_state_dict({"state": {}})


def test_bad_arguments_are_named():
    w = tsf.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid lr: -1"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="params\\[0\\] has dtype int64"):
        optim.SGD([tsf.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="appears in more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


def test_zero_grad_and_parameters_without_grad():
    used, unused = tsf.ones(2, requires_grad=True), tsf.ones(2, requires_grad=True)
    opt = optim.SGD([used, unused], lr=0.5, momentum=0.9)
    (used * used).sum().backward()
    opt.step()
    np.testing.assert_array_equal(unused.numpy(), [1, 1])
    assert unused not in opt.state and "momentum_buffer" in opt.state[used]
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(used.grad.numpy(), [0, 0])
    opt.zero_grad()
    assert used.grad is None


def test_closure_is_evaluated_with_gradients_enabled():
    w = tsf.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tsf.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.item() == pytest.approx(3.0 - 0.1 * 6.0)


# --- learning-rate schedulers --------------------------------------------------------------------
SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
]


@pytest.mark.parametrize("name, options", SCHEDULES, ids=[n for n, _ in SCHEDULES])
def test_scheduler_lr_sequence_matches_torch(name, options):
    def sequence(lib, params):
        opt = lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1)
        scheduler = getattr(lib.optim.lr_scheduler, name)(opt, **options)
        lrs = []
        for _ in range(24):
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr() + [g["lr"] for g in opt.param_groups])
        return lrs

    ours = sequence(tsf, [tsf.zeros(1, requires_grad=True), tsf.zeros(1, requires_grad=True)])
    theirs = sequence(torch, [torch.zeros(1, requires_grad=True),
                              torch.zeros(1, requires_grad=True)])
    assert ours == theirs


def test_scheduler_state_dict_resumes():
    opt = optim.SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        scheduler.step()
    saved_sched, saved_opt = scheduler.state_dict(), opt.state_dict()
    expected = []
    for _ in range(3):
        scheduler.step()
        expected.append(scheduler.get_last_lr())
    fresh = optim.SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    fresh.load_state_dict(saved_opt)
    resumed = optim.lr_scheduler.CosineAnnealingLR(fresh, T_max=10)
    resumed.load_state_dict(saved_sched)
    got = []
    for _ in range(3):
        resumed.step()
        got.append(resumed.get_last_lr())
    assert got == expected
