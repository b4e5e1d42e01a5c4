"""Learning-rate schedulers against torch.optim.lr_scheduler: the same scheduler code runs with
``lib`` bound to torchsorflow or to torch, and the lrs (``get_last_lr()`` and every param
group's), the cycled momenta and the state dicts must be identical, epoch by epoch, also after a
checkpoint is loaded mid-run."""
import inspect
import math
import warnings

import numpy as np
import pytest

import torchsorflow as tsf

torch = pytest.importorskip("torch")

STEPS = 30
pytestmark = pytest.mark.filterwarnings(
    "ignore:Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`")


class Scale:
    """A callable object as lr_lambda / scale_fn: its attributes travel in the state dict."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base ** x


SCHEDULERS = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda epoch: 0.95 ** epoch),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), Scale(0.9)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.9),
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=5),
    "LinearLR-down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=6),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                                    step_size_up=2, step_size_down=5,
                                                    mode="triangular2", base_momentum=0.7),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                  mode="exp_range", gamma=0.95,
                                                  cycle_momentum=False),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                 scale_fn=Scale(0.8), scale_mode="iterations"),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=STEPS),
    "OneCycleLR-linear": lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=5, steps_per_epoch=6,
                                                   anneal_strategy="linear", pct_start=0.4),
    "OneCycleLR-three_phase": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 3,
                                                        three_phase=True, div_factor=10.0,
                                                        final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS,
                                                        cycle_momentum=False),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=6)],
        milestones=[5]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=2), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=3)], milestones=[3, 10]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
}
MOMENTUM_OPTIMIZERS = {"SGD": dict(lr=0.05, momentum=0.9), "Adam": dict(lr=0.05)}


def drive(lib, name, steps=STEPS, optimizer="SGD", saved=None, before=0):
    """Build an optimizer with two param groups and the scheduler, optionally load ``saved``
    state dicts, step ``steps`` times; record lrs and momenta after every step."""
    params = [lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.02}]
    opt = getattr(lib.optim, optimizer)(groups, **MOMENTUM_OPTIMIZERS[optimizer])
    scheduler = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
    if saved is not None:
        opt.load_state_dict(saved[0])
        scheduler.load_state_dict(saved[1])
    record = []
    for _ in range(steps):
        opt.step()
        scheduler.step()
        record.append((scheduler.get_last_lr(), [g["lr"] for g in opt.param_groups],
                       [(g.get("momentum"), g.get("betas")) for g in opt.param_groups]))
    return record, opt, scheduler


def torch_state(scheduler):
    state = scheduler.state_dict()
    state.pop("_get_lr_called_within_step", None)
    for inner in state.get("_schedulers", []):
        inner.pop("_get_lr_called_within_step", None)
    return state


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_lrs_momenta_and_state_dict_match_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch warns about sub-schedulers' step order
        ours, _, scheduler = drive(tsf, name)
        theirs, _, reference = drive(torch, name)
    assert len({tuple(lrs) for lrs, _, _ in theirs}) > 1, "the schedule must change the lr"
    for epoch, (mine, ref) in enumerate(zip(ours, theirs)):
        assert mine == ref, f"epoch {epoch + 1}"
    assert scheduler.state_dict() == torch_state(reference)


@pytest.mark.parametrize("name", ["CyclicLR", "OneCycleLR", "OneCycleLR-three_phase"])
def test_betas_are_cycled_for_adam_like_torch(name):
    ours, _, _ = drive(tsf, name, optimizer="Adam")
    theirs, _, _ = drive(torch, name, optimizer="Adam")
    assert ours == theirs
    assert len({momenta[0][1][0] for _, _, momenta in ours}) > 5


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_resuming_mid_run_from_our_and_torchs_checkpoints_matches_torch(name):
    """Save the optimizer and scheduler after 11 steps, load both into fresh ones (the usual
    checkpoint code: construct, then load_state_dict) and continue: the lrs are those of torch's
    uninterrupted run, whether the checkpoint came from TorchsorFlow or from PyTorch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full, _, _ = drive(torch, name)
        _, opt, scheduler = drive(tsf, name, steps=11)
        _, torch_opt, torch_scheduler = drive(torch, name, steps=11)
        torch_saved = torch_opt.state_dict()
        torch_saved["state"] = {i: {k: v.numpy() for k, v in s.items()}
                                for i, s in torch_saved["state"].items()}
        for saved in [(opt.state_dict(), scheduler.state_dict()),
                      (torch_saved, torch_state(torch_scheduler))]:
            resumed, _, _ = drive(tsf, name, steps=STEPS - 11, saved=saved)
            assert resumed == full[11:]


@pytest.mark.parametrize("name", ["MultiStepLR", "LambdaLR-per-group", "OneCycleLR",
                                  "CyclicLR-scale_fn", "SequentialLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts-mult"])
def test_checkpoint_files_resume_the_schedule(name, tmp_path):
    """The optimizer and scheduler state dicts saved with tsf.io.save (safetensors, no pickle)
    and loaded back resume the schedule exactly, and the closed form still works afterwards."""
    full, _, _ = drive(torch, name)
    _, opt, scheduler = drive(tsf, name, steps=11)
    tsf.io.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()},
                tmp_path / "ckpt.safetensors")
    saved = tsf.io.load(tmp_path / "ckpt.safetensors")
    resumed, _, scheduler = drive(tsf, name, steps=STEPS - 11,
                                  saved=(saved["optimizer"], saved["scheduler"]))
    assert resumed == full[11:]
    if hasattr(scheduler, "_get_closed_form_lr"):
        with pytest.warns(UserWarning, match="epoch parameter"):
            scheduler.step(5)


CLOSED_FORMS = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                "PolynomialLR", "CosineAnnealingLR", "LambdaLR", "CosineAnnealingWarmRestarts-mult"]


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_step_with_an_epoch_jumps_like_torch_and_warns(name):
    epochs = [3, 9, 4, 0, 17, 7.5] if name.startswith("CosineAnnealingWarm") else [3, 9, 4, 0, 17]

    def jumps(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        lrs = []
        for epoch in epochs:
            with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`") \
                    if not name.startswith("CosineAnnealingWarm") else warnings.catch_warnings():
                scheduler.step(epoch)
            lrs.append((scheduler.last_epoch, scheduler.get_last_lr()))
        return lrs

    assert jumps(tsf) == jumps(torch)


def test_warm_restarts_anneal_within_an_epoch_by_fractional_steps():
    def run(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        lrs = []
        for epoch in range(7):
            for batch in range(4):
                scheduler.step(epoch + batch / 4)
                lrs.append(scheduler.get_last_lr()[0])
        return lrs

    ours = run(tsf)
    assert ours == run(torch)
    assert ours[0] == 0.1 and ours[8] == 0.1   # restarts at epochs 0 and 2


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(mode="max", patience=1, factor=0.5, threshold=0.1),
    dict(patience=1, threshold_mode="abs", threshold=0.05, cooldown=2, factor=0.3),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.004, 0.01], factor=0.5),
    dict(patience=0, factor=0.5, eps=0.01),
]


@pytest.mark.parametrize("options", PLATEAU, ids=[str(o) for o in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(options):
    rng = np.random.default_rng(7)
    metrics = np.round(1 + np.cumsum(rng.normal(0.0, 0.1, 40)) * 0.2, 2)   # with ties

    def run(lib, saved=None, metrics=metrics):
        opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)]},
                             {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.05}], lr=0.1)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
        if saved is not None:
            opt.load_state_dict(saved[0])
            scheduler.load_state_dict(saved[1])
        record = []
        for metric in metrics:
            scheduler.step(metric)
            record.append((scheduler.get_last_lr(), scheduler.num_bad_epochs,
                           scheduler.cooldown_counter, scheduler.best))
        return record, opt, scheduler

    ours, _, scheduler = run(tsf)
    theirs, _, reference = run(torch)
    assert ours == theirs
    assert len({tuple(lrs) for lrs, _, _, _ in ours}) > 1 or options == {}
    assert scheduler.state_dict() == torch_state(reference)
    _, opt, half = run(tsf, metrics=metrics[:20])
    resumed, _, _ = run(tsf, saved=(opt.state_dict(), half.state_dict()), metrics=metrics[20:])
    assert resumed == theirs[20:]


def test_stepping_the_scheduler_before_the_optimizer_warns_like_torch():
    for lib in (tsf, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
            scheduler.step()
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            scheduler.step()


def test_plateau_accepts_a_tensor_metric():
    opt = tsf.optim.SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = tsf.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    scheduler.step(tsf.tensor(1.0))
    scheduler.step(tsf.tensor(2.0))
    assert scheduler.get_last_lr() == [0.1]


def test_lambda_objects_keep_their_attributes_through_the_state_dict():
    opt = tsf.optim.SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    scale = Scale(0.5)
    scheduler = tsf.optim.lr_scheduler.LambdaLR(opt, scale)
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"base": 0.5}]
    other = Scale(0.9)
    fresh = tsf.optim.lr_scheduler.LambdaLR(opt, other)
    fresh.load_state_dict(saved)
    assert other.base == 0.5 and "lr_lambdas" in saved


def test_schedulers_reach_the_optimizer_module_like_torch():
    from torchsorflow.optim import lr_scheduler
    assert set(torch.optim.lr_scheduler.__all__) <= set(dir(lr_scheduler))
    assert issubclass(lr_scheduler.ReduceLROnPlateau, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler is lr_scheduler.LRScheduler


def test_bad_arguments_are_named():
    m = tsf.optim.lr_scheduler
    opt = tsf.optim.SGD([tsf.zeros(1, requires_grad=True)], lr=1.0)
    adagrad = tsf.optim.Adagrad([tsf.zeros(1, requires_grad=True)])
    cases = [
        (TypeError, "int is not an Optimizer", lambda: m.StepLR(3, step_size=1)),
        (ValueError, "Expected 1 lr_lambdas, but got 2", lambda: m.LambdaLR(opt, [abs, abs])),
        (TypeError, "lr_lambda should be a function, but got float",
         lambda: m.MultiplicativeLR(opt, 0.9)),
        (ValueError, "between 0 and 1, got 2", lambda: m.ConstantLR(opt, factor=2)),
        (ValueError, "Starting multiplicative factor", lambda: m.LinearLR(opt, start_factor=0)),
        (ValueError, "Factor should be < 1.0, got 1.5", lambda: m.ReduceLROnPlateau(opt, factor=1.5)),
        (ValueError, "mode maximum is unknown", lambda: m.ReduceLROnPlateau(opt, mode="maximum")),
        (ValueError, "expected 1 min_lrs|min_lr must have the same length",
         lambda: m.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])),
        (ValueError, "Expected positive integer T_0, but got 0",
         lambda: m.CosineAnnealingWarmRestarts(opt, T_0=0)),
        (ValueError, "Expected integer T_mult >= 1, but got 1.5",
         lambda: m.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)),
        (ValueError, "mode 'sawtooth' is invalid and scale_fn is None",
         lambda: m.CyclicLR(opt, 0.1, 1.0, mode="sawtooth")),
        (ValueError, "optimizer must support momentum or beta1",
         lambda: m.CyclicLR(adagrad, 0.1, 1.0)),
        (ValueError, "base_lr must have the same length as optimizer.param_groups",
         lambda: m.CyclicLR(opt, [0.1, 0.2], 1.0)),
        (ValueError, "You must define either total_steps OR",
         lambda: m.OneCycleLR(opt, max_lr=1.0)),
        (ValueError, "Expected float between 0 and 1 pct_start, but got 2",
         lambda: m.OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=2)),
        (ValueError, "anneal_strategy must be one of 'cos' or 'linear', instead got step",
         lambda: m.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="step")),
        (ValueError, "expects number of schedulers provided to be one more",
         lambda: m.SequentialLR(opt, [m.StepLR(opt, 2)], milestones=[3])),
        (ValueError, "does not support `ReduceLROnPlateau`",
         lambda: m.ChainedScheduler([m.ReduceLROnPlateau(opt)])),
        (ValueError, "expects at least one scheduler", lambda: m.ChainedScheduler([])),
        (ValueError, "same optimizer", lambda: m.SequentialLR(opt, [m.StepLR(adagrad, 2)], [])),
    ]
    for error, message, make in cases:
        with pytest.raises(error, match=message):
            make()
    scheduler = m.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total "
                                         "steps is 2"):
        scheduler.step()
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        m.StepLR(tsf.optim.SGD([tsf.zeros(1, requires_grad=True)]), 2, last_epoch=3)
    assert math.isinf(m.ReduceLROnPlateau(opt).best)


@pytest.mark.parametrize("name", sorted(set(torch.optim.lr_scheduler.__all__) - {"LRScheduler"}))
def test_constructors_take_torchs_arguments_in_torchs_order(name):
    def signature(function):
        return [(p.name, p.kind, p.default)
                for p in inspect.signature(function).parameters.values()]
    ours, theirs = getattr(tsf.optim.lr_scheduler, name), getattr(torch.optim.lr_scheduler, name)
    assert signature(ours) == signature(theirs)
    assert signature(ours.step) == signature(theirs.step)
