"""Optimizers and schedulers against PyTorch's own implementations (float64, several steps).

Both frameworks get the *same* gradients, computed in NumPy from the current parameters, so any
difference in the trajectories comes from the update rules alone.
"""
import inspect

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
    ("RMSprop", dict(lr=0.02, maximize=True, foreach=None)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("AdamW", dict(lr=0.1, weight_decay=0.1, maximize=True, foreach=False)),
    ("Adagrad", dict(lr=0.3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-3, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
    ("Adamax", dict(lr=0.1)),
    ("Adamax", dict(lr=0.1, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.1, maximize=True)),
    ("NAdam", dict(lr=0.1)),
    ("NAdam", dict(lr=0.1, betas=(0.8, 0.9), momentum_decay=0.1, weight_decay=0.1, eps=1e-3)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.1)),                           # rectified from step 6 on
    ("RAdam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    ("RAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=3, weight_decay=0.1)),  # averaging from step 4
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
    ("Rprop", dict(lr=0.05)),
    ("Rprop", dict(lr=0.5, etas=(0.3, 1.5), step_sizes=(0.01, 0.8))),  # sign flips and both clips
    ("Rprop", dict(lr=0.05, maximize=True)),
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


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
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
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"]):
        assert group == ref_group


RESUME_CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                ("Adam", dict(lr=0.1, amsgrad=True)),
                ("AdamW", dict(lr=0.1, amsgrad=True)),
                ("RMSprop", dict(lr=0.02, momentum=0.5, centered=True)),
                ("Adagrad", dict(lr=0.3, lr_decay=0.1)),
                ("Adadelta", dict(lr=0.5, weight_decay=0.1)),
                ("Adamax", dict(lr=0.1)),
                ("NAdam", dict(lr=0.1, momentum_decay=0.1)),
                ("RAdam", dict(lr=0.1, betas=(0.8, 0.9))),
                ("ASGD", dict(lr=0.05, lambd=0.1, t0=2)),
                ("Rprop", dict(lr=0.5, step_sizes=(0.01, 0.8)))]


def _continue(name, options, params, saved, steps=3):
    """A fresh optimizer on ``params`` loads ``saved`` and takes ``steps`` more steps."""
    resumed = getattr(optim, name)(params, **options)
    resumed.load_state_dict(saved)
    for _ in range(steps):
        for p, g in zip(params, numpy_gradients([p.numpy() for p in params])):
            p.grad = tsf.tensor(g)
        resumed.step()
    return [p.numpy() for p in params]


@pytest.mark.parametrize("name, options", RESUME_CASES, ids=[n for n, _ in RESUME_CASES])
def test_resuming_from_a_state_dict_continues_the_same_trajectory(name, options):
    full, _ = run_ours(name, options, steps=6)
    _, first_half = run_ours(name, options, steps=3)
    params = [tsf.tensor(p.numpy().copy(), requires_grad=True)
              for p in first_half.param_groups[0]["params"]]
    for p, q in zip(_continue(name, options, params, first_half.state_dict()), full[-1]):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("name, options", RESUME_CASES, ids=[n for n, _ in RESUME_CASES])
def test_resuming_from_torchs_state_dict_mid_run_matches_torch(name, options):
    """PyTorch runs 3 steps and saves; TorchsorFlow loads that state dict (tensors as arrays)
    and runs 3 more: the parameters end where PyTorch's own 6-step run ends."""
    full, _ = run_torch(name, options, steps=6)
    half, first_half = run_torch(name, options, steps=3)
    saved = first_half.state_dict()
    saved["state"] = {i: {k: v.numpy() for k, v in s.items()} for i, s in saved["state"].items()}
    params = [tsf.tensor(p.copy(), requires_grad=True) for p in half[-1]]
    for p, q in zip(_continue(name, options, params, saved), full[-1]):
        np.testing.assert_allclose(p, q, rtol=1e-13, atol=1e-14)


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
    with pytest.raises(ValueError, match="Invalid eta values: 1.5, 1.2"):
        optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: -0.1"):
        optim.NAdam([w], betas=(-0.1, 0.9))
    with pytest.raises(ValueError, match="Invalid momentum_decay value: -1"):
        optim.NAdam([w], momentum_decay=-1)
    with pytest.raises(ValueError, match=r"Tensor lr must be 1-element, got shape \(2,\)"):
        optim.Adam([w], lr=tsf.ones(2))
    with pytest.raises(ValueError, match=r"can't optimize a non-leaf Tensor \(params\[1\]"):
        optim.SGD([w, w * 2], lr=0.1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nesterov'"):
        optim.Adam([w], nesterov=True)


OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam",
              "RAdam", "ASGD", "Rprop", "LBFGS"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_constructor_takes_torchs_arguments_in_torchs_order(name):
    """Same names, kinds (positional or keyword-only), order and defaults as torch.optim, so
    calls written for PyTorch, positional ones included, mean the same thing."""
    def signature(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert signature(getattr(optim, name)) == signature(getattr(torch.optim, name))


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "LBFGS"])
def test_implementation_switches_are_accepted_at_their_defaults_and_refused_when_set(name):
    w = tsf.zeros(2, requires_grad=True)
    switches = set(inspect.signature(getattr(torch.optim, name)).parameters) & {
        "foreach", "capturable", "differentiable", "fused"}
    assert "foreach" in switches
    opt = getattr(optim, name)([w], foreach=None)
    opt = getattr(optim, name)([w], foreach=True)      # torch's multi-tensor loop: same math
    assert opt.param_groups[0]["foreach"] is True
    for switch in switches - {"foreach"}:
        with pytest.raises(ValueError, match=rf"{name}\({switch}=True\) is not supported: "):
            getattr(optim, name)([w], **{switch: True})
        with pytest.raises(ValueError, match=rf"{name}\({switch}=True\) is not supported: "):
            opt.add_param_group({"params": [tsf.zeros(1, requires_grad=True)], switch: True})


def test_one_element_tensor_hyper_parameters_are_taken_as_their_values():
    w = tsf.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([w], lr=tsf.tensor(0.25, dtype="float64"), weight_decay=tsf.tensor(0.5))
    w.grad = tsf.tensor([2.0], dtype="float64")
    opt.step()
    assert opt.param_groups[0]["lr"] == 0.25 and w.item() == 1 - 0.25 * (2 + 0.5)
    adam = optim.Adam([w], betas=(tsf.tensor(0.5), tsf.tensor(0.75)))
    assert adam.param_groups[0]["betas"] == (0.5, 0.75)


def test_zero_grad_and_parameters_without_grad():
    used, unused = tsf.ones(2, requires_grad=True), tsf.ones(2, requires_grad=True)
    opt = optim.SGD([used, unused], lr=0.5, momentum=0.9)
    (used * used).sum().backward()
    opt.step()
    np.testing.assert_array_equal(unused.numpy(), [1, 1])
    assert unused not in opt.state and "momentum_buffer" in opt.state[used]
    assert opt.state[unused] == {}   # a defaultdict, as in PyTorch
    adam = optim.Adam([unused], lr=0.1)
    assert adam.state[unused] == {}
    unused.grad = tsf.ones(2)
    adam.step()
    assert adam.state[unused]["step"] == 1
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
        opt.step()
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
        fresh.step()
        resumed.step()
        got.append(resumed.get_last_lr())
    assert got == expected


def test_named_parameters_are_accepted_and_their_names_saved_like_torch():
    def groups(lib):
        model = lib.nn.Linear(3, 2)
        opt = lib.optim.Adam(model.named_parameters(), lr=0.1)
        opt.add_param_group({"params": [("extra", lib.nn.Parameter(lib.zeros(2)))], "lr": 0.5})
        with pytest.raises(ValueError, match="all optimizer param groups should be with/without "
                                             "names. cannot add param group without names"):
            opt.add_param_group({"params": [lib.nn.Parameter(lib.zeros(1))]})
        with pytest.raises(TypeError, match="ordering of tensors in sets will change"):
            opt.add_param_group({"params": {lib.nn.Parameter(lib.zeros(1))}})
        return [{k: v for k, v in g.items() if k != "params"}
                for g in opt.state_dict()["param_groups"]]

    assert groups(tsf) == groups(torch)
    assert groups(tsf)[0]["param_names"] == ["weight", "bias"]
