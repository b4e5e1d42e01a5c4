"""L-BFGS against torch.optim.LBFGS, iterate by iterate (float64).

The same closure code runs with ``lib`` bound to torchsorflow or to torch (only the imports
differ), on Rosenbrock's function and on small least-squares and logistic-regression models, with
the fixed-step rule and with the strong-Wolfe line search; after every ``step(closure)`` the
parameters, and at the end the whole optimizer state, must be PyTorch's.
"""
import itertools

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import optim
from torchsorflow.optim.lbfgs import cubic_interpolate, strong_wolfe

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
X = RNG.standard_normal((40, 5))
W_TRUE = RNG.standard_normal(5)
Y_REGRESSION = X @ W_TRUE + 0.1 * RNG.standard_normal(40)
Y_CLASSES = (X @ W_TRUE + 0.5 * RNG.standard_normal(40) > 0).astype(np.float64)
W0, B0 = 0.1 * RNG.standard_normal(5), np.array([0.2])


def rosenbrock(lib, F):
    x = lib.tensor(np.array([-1.2, 1.0]), requires_grad=True)

    def loss():
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    return [x], loss


def least_squares(lib, F):
    w, b = lib.tensor(W0.copy(), requires_grad=True), lib.tensor(B0.copy(), requires_grad=True)
    inputs, targets = lib.tensor(X), lib.tensor(Y_REGRESSION)

    def loss():
        return F.mse_loss(inputs @ w + b, targets)
    return [w, b], loss


def logistic_regression(lib, F):
    w, b = lib.tensor(W0.copy(), requires_grad=True), lib.tensor(B0.copy(), requires_grad=True)
    inputs, targets = lib.tensor(X), lib.tensor(Y_CLASSES)

    def loss():
        return F.binary_cross_entropy_with_logits(inputs @ w + b, targets) + 1e-3 * (w * w).sum()
    return [w, b], loss


PROBLEMS = {"rosenbrock": rosenbrock, "least_squares": least_squares,
            "logistic_regression": logistic_regression}
LIBRARIES = {"tsf": (tsf, tsf.nn.functional, optim),
             "torch": (torch, torch.nn.functional, torch.optim)}


def run(library, problem, options, steps, params_and_loss=None, state_dict=None):
    """``steps`` calls of ``opt.step(closure)``; returns the parameters after each and the
    optimizer."""
    lib, F, optim_module = LIBRARIES[library]
    params, loss_fn = params_and_loss or PROBLEMS[problem](lib, F)
    opt = optim_module.LBFGS(params, **options)
    if state_dict is not None:
        opt.load_state_dict(state_dict)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    trajectory = []
    for _ in range(steps):
        opt.step(closure)
        trajectory.append([np.array(p.detach().numpy()) for p in params])
    return trajectory, opt, params


OPTIONS = [
    dict(max_iter=4),
    dict(max_iter=4, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=6, history_size=3),
    dict(max_iter=8, max_eval=9, history_size=2, line_search_fn="strong_wolfe"),
    dict(max_iter=5, tolerance_grad=1e-5, tolerance_change=1e-6, line_search_fn="strong_wolfe"),
]
CASES = [(p, o) for p in PROBLEMS for o in OPTIONS]


def _as_numpy(value):
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    if value is None or isinstance(value, (int, float)):
        return value
    return np.asarray(value.detach().numpy() if hasattr(value, "detach") else value.numpy())


def assert_same_state(ours, theirs):
    assert set(ours) == set(theirs)
    for key, ref in theirs.items():
        mine = ours[key]
        if key in ("n_iter", "func_evals"):
            assert mine == ref, key
        elif isinstance(ref, list):
            assert len(mine) == len(ref), key
            for i, (a, b) in enumerate(zip(mine, ref)):
                assert (a is None) == (b is None), f"{key}[{i}]"
                if a is not None:
                    np.testing.assert_allclose(_as_numpy(a), _as_numpy(b), rtol=1e-9, atol=1e-12,
                                               err_msg=f"{key}[{i}]")
        else:
            np.testing.assert_allclose(_as_numpy(mine), _as_numpy(ref), rtol=1e-9, atol=1e-12,
                                       err_msg=key)


@pytest.mark.parametrize("problem, options", CASES, ids=[f"{p}-{o}" for p, o in CASES])
def test_iterates_and_state_match_torch(problem, options):
    ours, opt, _ = run("tsf", problem, options, steps=4)
    theirs, ref, _ = run("torch", problem, options, steps=4)
    start = [np.array(p.detach().numpy()) for p in PROBLEMS[problem](torch, None)[0]]
    assert np.abs(theirs[-1][0] - start[0]).max() > 0.1, "the problem must move the parameters"
    for step, (mine, reference) in enumerate(zip(ours, theirs)):
        for p, q in zip(mine, reference):
            np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12, err_msg=f"step {step + 1}")
    mine, reference = opt.state_dict(), ref.state_dict()
    assert mine["param_groups"] == reference["param_groups"]
    assert list(mine["state"]) == list(reference["state"]) == [0]
    assert_same_state(mine["state"][0], reference["state"][0])


def test_rosenbrock_converges_to_the_minimum_like_torch():
    options = dict(max_iter=100, line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                   tolerance_change=1e-14)
    ours, opt, _ = run("tsf", "rosenbrock", options, steps=1)
    theirs, ref, _ = run("torch", "rosenbrock", options, steps=1)
    np.testing.assert_allclose(ours[-1][0], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-9)
    assert opt.state_dict()["state"][0]["func_evals"] == ref.state_dict()["state"][0]["func_evals"]


@pytest.mark.parametrize("problem, options", [("rosenbrock", OPTIONS[1]),
                                              ("logistic_regression", OPTIONS[3]),
                                              ("least_squares", OPTIONS[2])])
def test_state_dict_mid_run_continues_like_torch(problem, options, tmp_path):
    """Save after 2 steps, load into a fresh LBFGS (ours from ours, through a checkpoint file,
    and from PyTorch's), continue 2 steps: the iterates are those of PyTorch's uninterrupted
    run."""
    theirs, _, _ = run("torch", problem, options, steps=4)
    _, first_half, params = run("tsf", problem, options, steps=2)
    _, torch_half, torch_params = run("torch", problem, options, steps=2)
    saved_by_torch = torch_half.state_dict()
    saved_by_torch["state"] = {i: {k: _as_numpy(v) for k, v in s.items()}
                               for i, s in saved_by_torch["state"].items()}
    tsf.io.save(first_half.state_dict(), tmp_path / "lbfgs.safetensors")
    from_file = tsf.io.load(tmp_path / "lbfgs.safetensors")
    for saved, start in [(first_half.state_dict(), params), (from_file, params),
                         (saved_by_torch, torch_params)]:
        fresh = [tsf.tensor(np.array(p.detach().numpy()), requires_grad=True) for p in start]
        bound = _rebind(problem, fresh)
        resumed, _, _ = run("tsf", problem, options, steps=2, params_and_loss=(fresh, bound),
                            state_dict=saved)
        for p, q in zip(resumed[-1], theirs[-1]):
            np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def _rebind(problem, params):
    """The problem's loss as a function of the given tensors (a model restored from a checkpoint)."""
    lib, F = tsf, tsf.nn.functional
    if problem == "rosenbrock":
        (x,) = params
        return lambda: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    w, b = params
    inputs = lib.tensor(X)
    if problem == "least_squares":
        return lambda: F.mse_loss(inputs @ w + b, lib.tensor(Y_REGRESSION))
    return lambda: (F.binary_cross_entropy_with_logits(inputs @ w + b, lib.tensor(Y_CLASSES))
                    + 1e-3 * (w * w).sum())


def test_float32_parameters_follow_torch():
    def make(lib, F):
        w = lib.tensor(W0.astype(np.float32), requires_grad=True)
        inputs, targets = lib.tensor(X.astype(np.float32)), lib.tensor(Y_CLASSES.astype(np.float32))
        return [w], lambda: F.binary_cross_entropy_with_logits(inputs @ w, targets)

    options = dict(max_iter=10, line_search_fn="strong_wolfe")
    ours, _, params = run("tsf", None, options, 2, params_and_loss=make(tsf, tsf.nn.functional))
    theirs, _, _ = run("torch", None, options, 2, params_and_loss=make(torch, torch.nn.functional))
    assert params[0].dtype == np.float32
    np.testing.assert_allclose(ours[-1][0], theirs[-1][0], rtol=1e-4, atol=1e-5)


def test_step_needs_a_closure_and_runs_it_with_gradients_enabled():
    w = tsf.tensor([3.0, -1.0], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([w], max_iter=3)
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tsf.no_grad():
        first = opt.step(closure)
    # one evaluation per iteration: a first step of 1/8 (|g|_1 = 8), then the two-loop direction,
    # which is exact for the quadratic w.w, so the zero gradient stops the iterations
    assert first.item() == 10.0 and len(calls) == 3
    assert opt.state[w]["func_evals"] == 3 and opt.state[w]["n_iter"] == 2
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


def test_a_stationary_start_returns_at_once():
    w = tsf.tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    opt = optim.LBFGS([w])

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.0
    assert opt.state[w] == {"func_evals": 1, "n_iter": 0}


def test_bad_arguments_are_named():
    w = tsf.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn='armijo' is not supported"):
        optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [tsf.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid lr: -1"):
        optim.LBFGS([w], lr=-1)
    assert optim.LBFGS([w], max_iter=8).param_groups[0]["max_eval"] == 10   # max_iter * 5 // 4


def test_cubic_interpolation_finds_a_cubics_minimum():
    # f(x) = x^3 - 3x has its local minimum at x = 1; slopes f'(x) = 3x^2 - 3
    f, df = (lambda x: x ** 3 - 3 * x), (lambda x: 3 * x ** 2 - 3)
    assert cubic_interpolate(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0)) == pytest.approx(1.0)
    assert cubic_interpolate(2.0, f(2.0), df(2.0), 0.0, f(0.0), df(0.0)) == pytest.approx(1.0)
    # clipped to the bounds, and the midpoint when the cubic has no minimum (d2^2 < 0)
    assert cubic_interpolate(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0), bounds=(1.5, 3)) == 1.5
    assert cubic_interpolate(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0) == 0.5


# One-dimensional slices through these functions send the line search down every branch:
# extrapolation, a turned slope, the zoom with its nudges away from the bracket's ends, the
# bracket-width stop and running out of evaluations.
LINE_FUNCTIONS = {
    "wiggly": (lambda x: np.sum(np.sin(3 * x) + 0.1 * x * x), lambda x: 3 * np.cos(3 * x) + 0.2 * x),
    "fast": (lambda x: np.sum(np.sin(20 * x) + x * x), lambda x: 20 * np.cos(20 * x) + 2 * x),
    "quartic": (lambda x: np.sum(x ** 4), lambda x: 4 * x ** 3),
    "exp": (lambda x: np.sum(np.exp(x) - 2 * x), lambda x: np.exp(x) - 2),
    "kink": (lambda x: np.sum(np.abs(x) ** 1.5), lambda x: 1.5 * np.sign(x) * np.abs(x) ** 0.5),
}


@pytest.mark.parametrize("name", sorted(LINE_FUNCTIONS))
def test_strong_wolfe_line_search_matches_torchs(name):
    from torch.optim.lbfgs import _strong_wolfe
    f, grad = LINE_FUNCTIONS[name]
    x = np.array([0.7, -1.3, 2.1])
    d = -grad(x)

    def ours(x, t, d):
        return float(f(x + t * d)), grad(x + t * d)

    def theirs(x, t, d):
        at = x.numpy() + float(t) * d.numpy()
        return float(f(at)), torch.tensor(grad(at))

    for t, c2, tolerance_change, max_ls in itertools.product([1e-3, 0.1, 1, 10, 100],
                                                             [0.9, 0.1, 0.01],
                                                             [1e-9, 1e-2, 1.0], [1, 2, 25]):
        where = f"t={t} c2={c2} tolerance_change={tolerance_change} max_ls={max_ls}"
        options = dict(c2=c2, tolerance_change=tolerance_change, max_ls=max_ls)
        loss, g, step, evals = strong_wolfe(ours, x, t, d, float(f(x)), grad(x), grad(x) @ d,
                                            **options)
        g0 = torch.tensor(grad(x))
        ref_loss, ref_g, ref_step, ref_evals = _strong_wolfe(
            theirs, torch.tensor(x), t, torch.tensor(d), float(f(x)), g0,
            g0.dot(torch.tensor(d)), **options)
        assert evals == ref_evals, where
        assert float(step) == pytest.approx(float(ref_step), rel=1e-12), where
        assert loss == pytest.approx(ref_loss, rel=1e-12), where
        np.testing.assert_allclose(g, ref_g.numpy(), rtol=1e-12, err_msg=where)


def train_sine_predictor(torch, nn, optim, initial_weights, steps=2):
    """Model code in the style of pytorch/examples' time_sequence_prediction (sine waves, a
    float64 model, LBFGS with lr=0.8 and a closure), with an MLP over a window of past values in
    place of the LSTMCells. Only the names torch, nn and optim differ between the two runs."""
    T, L, N, window = 20, 60, 12, 8
    rng = np.random.default_rng(2)
    x = np.arange(L) + rng.integers(-4 * T, 4 * T, N).reshape(N, 1)
    waves = np.sin(x / 1.0 / T)
    windows = np.stack([waves[:, i:i + window] for i in range(L - window)], 1).reshape(-1, window)
    nexts = waves[:, window:].reshape(-1, 1)

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(window, 16)
            self.out = nn.Linear(16, 1)

        def forward(self, input):
            return self.out(torch.tanh(self.hidden(input)))

    seq = Sequence()
    seq.double()
    seq.load_state_dict({k: torch.tensor(v) for k, v in initial_weights.items()})
    input, target = torch.tensor(windows), torch.tensor(nexts)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            loss.backward()
            return loss
        losses.append(optimizer.step(closure).item())
    return losses, {k: np.array(v.detach().numpy()) for k, v in seq.state_dict().items()}


def test_time_series_model_code_trains_with_lbfgs_like_torch():
    rng = np.random.default_rng(5)
    initial = {"hidden.weight": rng.uniform(-0.35, 0.35, (16, 8)),
               "hidden.bias": rng.uniform(-0.35, 0.35, 16),
               "out.weight": rng.uniform(-0.25, 0.25, (1, 16)), "out.bias": np.zeros(1)}
    ours, our_weights = train_sine_predictor(tsf, tsf.nn, optim, initial)
    theirs, their_weights = train_sine_predictor(torch, torch.nn, torch.optim, initial)
    assert theirs[-1] < 0.1 * theirs[0]
    # 40 L-BFGS iterations amplify the last-bit differences of the two autodiffs' gradients
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    for key, value in their_weights.items():
        np.testing.assert_allclose(our_weights[key], value, rtol=1e-6, atol=1e-8, err_msg=key)
