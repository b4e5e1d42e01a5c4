"""Differential fuzzing of every optimizer step against torch.optim: random hyper-parameters,
parameter shapes and gradient sequences (some parameters without a gradient at some steps), two
parameter groups; the parameters and the optimizer state must match PyTorch's after every step,
and a learning-rate scheduler must drive both the same way."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import F64, assert_close, fuzz, seeds  # noqa: E402
from torchsorflow import optim  # noqa: E402

lrs = st.sampled_from([1e-3, 0.01, 0.1, 0.5])
decays = st.sampled_from([0.0, 0.0, 1e-2, 0.3])


@st.composite
def sgd(draw):
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3]))
    return "SGD", dict(lr=draw(lrs), momentum=momentum, dampening=dampening, nesterov=nesterov,
                       weight_decay=draw(decays), maximize=draw(st.booleans()))


@st.composite
def adam(draw):
    name = draw(st.sampled_from(["Adam", "AdamW"]))
    betas = (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.9, 0.999])))
    return name, dict(lr=draw(lrs), betas=betas, eps=draw(st.sampled_from([1e-8, 1e-3])),
                      weight_decay=draw(decays), amsgrad=draw(st.booleans()),
                      maximize=draw(st.booleans()))


@st.composite
def adagrad(draw):
    return "Adagrad", dict(lr=draw(lrs), lr_decay=draw(st.sampled_from([0.0, 0.1])),
                           weight_decay=draw(decays),
                           initial_accumulator_value=draw(st.sampled_from([0.0, 0.5])),
                           eps=draw(st.sampled_from([1e-10, 1e-3])), maximize=draw(st.booleans()))


@st.composite
def rmsprop(draw):
    return "RMSprop", dict(lr=draw(lrs), alpha=draw(st.sampled_from([0.9, 0.99])),
                           eps=draw(st.sampled_from([1e-8, 1e-3])), weight_decay=draw(decays),
                           momentum=draw(st.sampled_from([0.0, 0.5])),
                           centered=draw(st.booleans()), maximize=draw(st.booleans()))


@st.composite
def adadelta(draw):
    return "Adadelta", dict(lr=draw(st.sampled_from([0.1, 1.0])),
                            rho=draw(st.sampled_from([0.5, 0.9])),
                            eps=draw(st.sampled_from([1e-6, 1e-3])), weight_decay=draw(decays),
                            maximize=draw(st.booleans()))


@st.composite
def adam_variants(draw):
    name = draw(st.sampled_from(["Adamax", "NAdam", "RAdam"]))
    options = dict(lr=draw(lrs), betas=(draw(st.sampled_from([0.0, 0.5, 0.9])),
                                        draw(st.sampled_from([0.5, 0.9, 0.999]))),
                   eps=draw(st.sampled_from([1e-8, 1e-3])), weight_decay=draw(decays),
                   maximize=draw(st.booleans()))
    if name != "Adamax":
        options["decoupled_weight_decay"] = draw(st.booleans())
    if name == "NAdam":
        options["momentum_decay"] = draw(st.sampled_from([4e-3, 0.1]))
    return name, options


@st.composite
def asgd(draw):
    return "ASGD", dict(lr=draw(lrs), lambd=draw(st.sampled_from([1e-4, 0.1])),
                        alpha=draw(st.sampled_from([0.5, 0.75])), t0=draw(st.sampled_from([0, 2, 1e6])),
                        weight_decay=draw(decays), maximize=draw(st.booleans()))


@st.composite
def rprop(draw):
    return "Rprop", dict(lr=draw(lrs), etas=draw(st.sampled_from([(0.5, 1.2), (0.3, 2.0)])),
                         step_sizes=draw(st.sampled_from([(1e-6, 50), (0.01, 0.2)])),
                         maximize=draw(st.booleans()))


param_shapes = st.lists(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), min_size=1,
                        max_size=3)


def _state_arrays(state):
    """The tensors of one parameter's optimizer state, by name (the step count included)."""
    out = {}
    for key, value in state.items():
        if hasattr(value, "numpy"):
            out[key] = np.asarray(value.numpy(), dtype=np.float64)
        elif isinstance(value, (int, float)):
            out[key] = np.float64(value)
    return out


@fuzz(300, config=st.one_of(sgd(), adam(), adagrad(), rmsprop(), adadelta(), adam_variants(),
                            asgd(), rprop()), shapes=param_shapes,
      steps=st.integers(1, 5), seed=seeds, two_groups=st.booleans())
def test_optimizer_steps_match_pytorch(config, shapes, steps, seed, two_groups):
    name, kwargs = config
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(s) for s in shapes]
    ours = [tsf.nn.Parameter(tsf.tensor(a.copy())) for a in initial]
    theirs = [torch.nn.Parameter(torch.tensor(a.copy())) for a in initial]

    def groups(params):
        if not two_groups or len(params) < 2:
            return params
        return [{"params": params[:1]}, {"params": params[1:], "lr": kwargs["lr"] * 0.5}]

    opt = getattr(optim, name)(groups(ours), **kwargs)
    ref = getattr(torch.optim, name)(groups(theirs), **kwargs)
    for step in range(steps):
        for p, q in zip(ours, theirs):
            if step > 0 and rng.random() < 0.2:  # no gradient this step: the parameter is skipped
                p.grad, q.grad = None, None
                continue
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = tsf.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            assert_close(p, q.detach(), f"{name} step {step + 1}: parameter {i}", **F64)
            ours_state, ref_state = _state_arrays(opt.state[p]) if p in opt.state else {}, \
                _state_arrays(ref.state[q]) if q in ref.state else {}
            for key, value in ref_state.items():
                assert key in ours_state, (f"{name}: state {key!r} missing (has "
                                           f"{sorted(ours_state)})")
                assert_close(ours_state[key], value, f"{name} step {step + 1}: state {key}", **F64)


SCHEDULERS = {
    "StepLR": dict(step_size=2, gamma=0.5),
    "MultiStepLR": dict(milestones=[1, 3, 4], gamma=0.3),
    "ExponentialLR": dict(gamma=0.8),
    "CosineAnnealingLR": dict(T_max=4, eta_min=0.01),
    "ConstantLR": dict(factor=0.5, total_iters=3),
    "LinearLR": dict(start_factor=0.2, total_iters=4),
    "PolynomialLR": dict(total_iters=6, power=1.5),
    "CosineAnnealingWarmRestarts": dict(T_0=2, T_mult=2, eta_min=0.01),
    "CyclicLR": dict(base_lr=0.05, max_lr=0.5, step_size_up=2, mode="triangular2"),
    "OneCycleLR": dict(max_lr=0.5, total_steps=10),
}


@fuzz(60, scheduler=st.sampled_from(sorted(SCHEDULERS)), epochs=st.integers(1, 9), seed=seeds)
def test_lr_schedulers_drive_sgd_like_pytorch(scheduler, epochs, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(3)
    p, q = tsf.nn.Parameter(tsf.tensor(a.copy())), torch.nn.Parameter(torch.tensor(a.copy()))
    opt, ref = optim.SGD([p], lr=0.2, momentum=0.5), torch.optim.SGD([q], lr=0.2, momentum=0.5)
    ours = getattr(optim.lr_scheduler, scheduler)(opt, **SCHEDULERS[scheduler])
    theirs = getattr(torch.optim.lr_scheduler, scheduler)(ref, **SCHEDULERS[scheduler])
    for epoch in range(epochs):
        g = rng.standard_normal(3)
        p.grad, q.grad = tsf.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        ref.step()
        ours.step()
        theirs.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(ref.param_groups[0]["lr"], rel=1e-12)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        assert_close(p, q.detach(), f"{scheduler} epoch {epoch + 1}", **F64)
