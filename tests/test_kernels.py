"""The NumPy conv/pool kernels (torchsorflow.ops.kernels), without autodiff: the exercise sheet's
worked convolution examples, the adjoint identities that let the autodiff layer differentiate
them to any order, every tuned engine (channels first/last im2col, row blocks, worker lanes, 1×1,
depthwise, flat shifts, tiled pooling) against the plain reference engine, the reference engine
against torch.nn.functional, and the error messages."""
import numpy as np
import pytest

from torchsorflow.ops.kernels import (conv, conv_shift, im2col, pool, reference, runtime,
                                      shapes)
from torchsorflow.ops.kernels.geometry import conv_geometry

# Exercise sheet 002, exercise 2: X (4x4) and K (2x2), outputs for (stride, padding) as solved.
SEED_X = np.array([[1, 2, -1, 1], [1, 0, 1, 0], [0, 1, 0, 2], [2, 1, 0, -1]], np.float32)
SEED_K = np.array([[1, 0], [2, 1]], np.float32)
SEED_OUTPUTS = {(1, 0): [[3, 3, 1], [2, 2, 3], [5, 3, -1]],
                (2, 0): [[3, 1], [5, -1]],
                (2, 1): [[1, 3, 2], [0, 2, 4], [0, 1, -1]]}


@pytest.mark.parametrize("engine", [conv.conv2d, reference.conv2d], ids=["tuned", "reference"])
def test_sheet_worked_examples_exactly(engine):
    for (stride, padding), expected in SEED_OUTPUTS.items():
        y = engine(SEED_X[None, None], SEED_K[None, None], (stride, stride), (padding, padding),
                   (1, 1), 1)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y[0, 0], np.array(expected, np.float32),
                                      err_msg=f"stride {stride}, padding {padding}")


# --- random geometries ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_engines():
    """Engines are cached per geometry; tests that change chunk sizes need new ones."""
    conv._engine.cache_clear()
    yield
    conv._engine.cache_clear()


def _conv_cases(count, seed):
    """Random (x shape, w shape, stride, padding, dilation, groups) that fit, small and fast."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        groups = int(rng.choice([1, 1, 2, 3]))
        cin_g, cout_g = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        kind = len(cases) % 6
        if kind == 4:  # depthwise (with a channel multiplier)
            groups, cin_g = int(rng.integers(2, 5)), 1
        kernel = (1, 1) if kind == 5 else tuple(int(k) for k in rng.integers(1, 4, 2))
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        padding = (0, 0) if kind == 5 else tuple(int(p) for p in rng.integers(0, 3, 2))
        hw = tuple(int(n) for n in rng.integers(1, 10, 2))
        if any(n + 2 * p < d * (k - 1) + 1 for n, p, d, k in zip(hw, padding, dilation, kernel)):
            continue
        batch = int(rng.integers(1, 4))
        cases.append(((batch, groups * cin_g) + hw, (groups * cout_g, cin_g) + kernel, stride,
                      padding, dilation, groups))
    return cases


CASES = _conv_cases(36, seed=0)


def _arrays(case, rng, dtype=np.float64):
    x_shape, w_shape, *geometry = case
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    y_shape = conv_geometry("t", x_shape, w_shape, *geometry).output_shape
    return x, w, rng.standard_normal(y_shape).astype(dtype)


def _adjoint_gaps(x, w, gy, stride, padding, dilation, groups, engine=None):
    """|<conv(x,w), gy> - <x, grad_input(gy,w)>| and the same for the weight, relative."""
    if engine is None:
        y = conv.conv2d(x, w, stride, padding, dilation, groups)
        gx = conv.conv2d_grad_input(gy, w, x.shape[2:], stride, padding, dilation, groups)
        gw = conv.conv2d_grad_weight(gy, x, w.shape[2:], stride, padding, dilation, groups)
    else:
        y, gx, gw = engine.forward(x, w), engine.input_grad(gy, w), engine.weight_grad(gy, x)
    assert gx.shape == x.shape and gw.shape == w.shape and y.shape == gy.shape
    inner = np.vdot(y, gy)
    scale = np.abs(y).sum() * np.abs(gy).max() + 1e-300
    return abs(inner - np.vdot(x, gx)) / scale, abs(inner - np.vdot(w, gw)) / scale


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_conv_maps_are_adjoint(case):
    x, w, gy = _arrays(case, np.random.default_rng(1))
    gap_x, gap_w = _adjoint_gaps(x, w, gy, *case[2:])
    assert gap_x < 1e-13 and gap_w < 1e-13


def _reference_maps(x, w, gy, case):
    return (reference.conv2d(x, w, *case[2:]),
            reference.conv2d_grad_input(gy, w, x.shape[2:], *case[2:]),
            reference.conv2d_grad_weight(gy, x, w.shape[2:], *case[2:]))


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("chunk_bytes", [64, 2 << 20], ids=["row-blocks", "whole-images"])
def test_both_im2col_layouts_and_row_blocks_equal_the_reference(layout, chunk_bytes, monkeypatch):
    monkeypatch.setattr(runtime, "IM2COL_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(2)
    for case in CASES[:18]:
        x, w, gy = _arrays(case, rng)
        engine = im2col.Im2col(conv_geometry("t", x.shape, w.shape, *case[2:]), x.dtype, layout)
        for ours, expected in zip((engine.forward(x, w), engine.input_grad(gy, w),
                                   engine.weight_grad(gy, x)), _reference_maps(x, w, gy, case)):
            np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_tuned_engines_equal_the_reference_engine(case):
    """Whatever engine conv.py picks for a geometry gives the reference's three maps."""
    x, w, gy = _arrays(case, np.random.default_rng(7))
    tuned = (conv.conv2d(x, w, *case[2:]), conv.conv2d_grad_input(gy, w, x.shape[2:], *case[2:]),
             conv.conv2d_grad_weight(gy, x, w.shape[2:], *case[2:]))
    for ours, expected in zip(tuned, _reference_maps(x, w, gy, case)):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


def test_reference_kernels_switch_runs_the_reference():
    x, w, gy = _arrays(CASES[0], np.random.default_rng(8))
    with runtime.reference_kernels():
        assert runtime.using_reference_kernels()
        y = conv.conv2d(x, w, *CASES[0][2:])
    assert not runtime.using_reference_kernels()
    np.testing.assert_array_equal(y, reference.conv2d(x, w, *CASES[0][2:]))


def test_stride_one_input_gradient_as_transposed_convolution_equals_the_reference(monkeypatch):
    """grad_input of a stride-1 layer runs as a forward convolution of gy with the flipped,
    channel-swapped kernel; force that path on every stride-1 case (it normally needs 16+
    channels per group)."""
    monkeypatch.setattr(runtime, "TRANSPOSED_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_shift, "eligible", lambda g: False)  # that path has its own test
    conv._as_transposed_convolution.cache_clear()
    rng = np.random.default_rng(11)
    used = 0
    for x_shape, w_shape, _, padding, dilation, groups in CASES:
        case = (x_shape, w_shape, (1, 1), padding, dilation, groups)
        x, w, gy = _arrays(case, rng)
        geometry = conv_geometry("t", x_shape, w_shape, *case[2:])
        used += conv._as_transposed_convolution(geometry) is not None
        expected = reference.conv2d_grad_input(gy, w, x_shape[2:], *case[2:])
        np.testing.assert_allclose(conv.conv2d_grad_input(gy, w, x_shape[2:], *case[2:]),
                                   expected, rtol=1e-10, atol=1e-12)
    conv._as_transposed_convolution.cache_clear()
    assert used >= 15  # the others have padding beyond the kernel span, or are 1×1/depthwise


# Stride 1, output as large as the input: 3×3/pad 1, 5×5/pad 2, 1×1, 3×3 dilated by 2 with pad 2,
# a 2×2 kernel dilated by 2 with pad 1 (even kernel), and kernels wider than a tiny map.
SAME_SIZE = [((3, 16, 4, 4), (8, 16, 3, 3), 1, 1), ((2, 17, 5, 7), (6, 17, 5, 5), 2, 1),
             ((2, 16, 3, 5), (4, 16, 1, 1), 0, 1), ((2, 20, 6, 6), (5, 20, 3, 3), 2, 2),
             ((3, 16, 5, 4), (7, 16, 2, 2), 1, 2), ((2, 16, 2, 2), (3, 16, 5, 5), 2, 1),
             ((4, 16, 1, 3), (2, 16, 3, 3), 1, 1)]


@pytest.mark.parametrize("chunk_bytes", [1, 40 << 10, 4 << 20],
                         ids=["image-by-image", "two-images-of-three", "whole-batch"])
def test_same_size_input_gradient_by_flat_shifts_equals_the_reference(chunk_bytes, monkeypatch):
    """conv_shift's one product plus a shift per tap gives the reference input gradient,
    including taps that read only padding and batches cut into chunks (float64, tight)."""
    monkeypatch.setattr(runtime, "SHIFT_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(5)
    for x_shape, w_shape, pad, dil in SAME_SIZE:
        geometry = conv_geometry("t", x_shape, w_shape, (1, 1), (pad, pad), (dil, dil), 1)
        assert conv_shift.eligible(geometry) and geometry.out_hw == x_shape[2:]
        w = rng.standard_normal(w_shape)
        gy = rng.standard_normal(geometry.output_shape)
        expected = reference.conv2d_grad_input(gy, w, x_shape[2:], (1, 1), (pad, pad),
                                               (dil, dil), 1)
        np.testing.assert_allclose(conv_shift.input_grad(gy, w, geometry, np.float64), expected,
                                   rtol=1e-12, atol=1e-12)


def test_conv2d_grad_input_takes_the_shift_path_on_small_same_size_maps(monkeypatch):
    calls = []
    real = conv_shift.input_grad
    monkeypatch.setattr(conv_shift, "input_grad", lambda *a: calls.append(a[2]) or real(*a))
    rng = np.random.default_rng(6)
    gy, w = rng.standard_normal((8, 64, 4, 4)), rng.standard_normal((64, 32, 3, 3))
    gx = conv.conv2d_grad_input(gy, w, (4, 4), (1, 1), (1, 1), (1, 1), 1)
    assert len(calls) == 1 and gx.shape == (8, 32, 4, 4)
    conv.conv2d_grad_input(gy, w[:, :3], (4, 4), (1, 1), (1, 1), (1, 1), 1)  # 3 channels: col2im
    conv.conv2d_grad_input(gy, w, (8, 8), (2, 2), (1, 1), (1, 1), 1)  # stride 2
    assert len(calls) == 1


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("module", [conv, reference], ids=["tuned", "reference"])
def test_conv_matches_pytorch_in_float32(case, module):
    torch = pytest.importorskip("torch")
    x, w, gy = _arrays(case, np.random.default_rng(3), np.float32)
    stride, padding, dilation, groups = case[2:]
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    xt, wt, gyt = torch.tensor(x), torch.tensor(w), torch.tensor(gy)
    y = module.conv2d(x, w, stride, padding, dilation, groups)
    gx = module.conv2d_grad_input(gy, w, x.shape[2:], stride, padding, dilation, groups)
    gw = module.conv2d_grad_weight(gy, x, w.shape[2:], stride, padding, dilation, groups)
    assert y.dtype == gx.dtype == gw.dtype == np.float32
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, torch.nn.functional.conv2d(xt, wt, **kw), **tol)
    np.testing.assert_allclose(gx, torch.nn.grad.conv2d_input(x.shape, wt, gyt, **kw), **tol)
    np.testing.assert_allclose(gw, torch.nn.grad.conv2d_weight(xt, w.shape, gyt, **kw), **tol)


@pytest.mark.parametrize("shape,weight,geometry", [
    ((5, 16, 12, 12), (24, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # channels last
    ((5, 3, 14, 14), (8, 3, 3, 3), ((2, 2), (1, 1), (1, 1), 1)),      # channels first, stride
    ((4, 12, 10, 10), (12, 1, 3, 3), ((1, 1), (2, 2), (2, 2), 12)),   # depthwise, dilated
    ((4, 12, 11, 10), (24, 1, 3, 3), ((2, 2), (1, 1), (1, 1), 12)),   # depthwise x2, stride
    ((4, 12, 10, 10), (18, 4, 1, 1), ((2, 2), (0, 0), (1, 1), 3)),    # grouped 1×1, stride
], ids=["channels-last", "channels-first", "depthwise", "depthwise-strided", "pointwise"])
def test_worker_threads_give_the_same_numbers_as_one_thread(shape, weight, geometry,
                                                            monkeypatch):
    """The threaded path splits the batch over workers; results must not depend on it, and the
    weight gradient (a sum over the batch) must come out bit for bit the same whether the lanes
    ran on workers or, because the cores were busy, one after the other."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(shape), rng.standard_normal(weight)
    monkeypatch.setattr(runtime, "IM2COL_CHUNK_BYTES", 4096)  # many chunks
    monkeypatch.setattr(runtime, "POINTWISE_CHUNK_BYTES", 4096)
    monkeypatch.setattr(runtime, "blas_threads", lambda: 1)
    y1 = conv.conv2d(x, w, *geometry)
    gy = rng.standard_normal(y1.shape)
    one = [y1, conv.conv2d_grad_input(gy, w, shape[2:], *geometry),
           conv.conv2d_grad_weight(gy, x, weight[2:], *geometry)]
    monkeypatch.setattr(runtime, "blas_threads", lambda: 2)
    monkeypatch.setattr(runtime, "MIN_PARALLEL_WORK", 0)
    results = {}
    for busy in (False, True):  # two workers, or both lanes in this thread (cores taken)
        monkeypatch.setattr(runtime, "others_running", lambda busy=busy: busy)
        two = [conv.conv2d(x, w, *geometry), conv.conv2d_grad_input(gy, w, shape[2:], *geometry),
               conv.conv2d_grad_weight(gy, x, weight[2:], *geometry)]
        for ours, single in zip(two, one):
            np.testing.assert_allclose(ours, single, rtol=1e-12, atol=1e-12)
        results[busy] = two
    for threaded, inline in zip(results[False], results[True]):
        np.testing.assert_array_equal(threaded, inline)  # same sums in the same order


def test_results_never_alias_the_kept_workspaces(monkeypatch):
    """Scratch buffers are kept between calls (runtime.Workspace); what a kernel returns must be
    its own memory, or the next call would overwrite it."""
    monkeypatch.setattr(runtime, "MIN_PARALLEL_WORK", 0)
    rng = np.random.default_rng(12)
    results = []
    for case in CASES[:12] + [((2, 4, 5, 5), (1, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1),
                              ((2, 1, 5, 5), (3, 1, 2, 2), (2, 1), (0, 1), (1, 1), 1)]:
        x, w, gy = _arrays(case, rng)
        out = (conv.conv2d(x, w, *case[2:]), conv.conv2d_grad_input(gy, w, x.shape[2:], *case[2:]),
               conv.conv2d_grad_weight(gy, x, w.shape[2:], *case[2:]))
        results.append((out, [a.copy() for a in out]))
    kept = [b for b in runtime._workspaces() if b is not None]
    assert kept
    for out, snapshot in results:
        for array, copy in zip(out, snapshot):
            assert not any(np.shares_memory(array, buffer) for buffer in kept)
            np.testing.assert_array_equal(array, copy)
    runtime.release_workspaces()
    assert runtime._workspaces() == []


def test_conv_accepts_strided_inputs_and_integer_arrays():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 6, 4))
    w = rng.standard_normal((3, 4, 3, 3))
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    expected = conv.conv2d(np.ascontiguousarray(x[:, :4]), w, *geometry)
    np.testing.assert_allclose(conv.conv2d(channels_last[:, :4], w, *geometry), expected,
                               rtol=1e-13)
    y = conv.conv2d(np.ones((1, 1, 3, 3), np.int64), np.ones((1, 1, 2, 2), np.int32),
                    (1, 1), (0, 0), (1, 1), 1)
    assert y.dtype == np.float64 and y.tolist() == [[[[4.0, 4.0], [4.0, 4.0]]]]


def test_conv_error_messages_name_the_shapes():
    x, w = np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError) as err:
        conv.conv2d(x, w, (1, 1), (0, 0), (1, 1), 1)
    assert str(err.value) == "conv2d: kernel 3x3 (dilation 1) does not fit input 2x2 with padding 0"
    with pytest.raises(ValueError, match=r"input \(1, 5, 4, 4\) has 5 channels but weight "
                                         r"\(4, 2, 3, 3\) with groups=2 expects 4"):
        conv.conv2d(np.zeros((1, 5, 4, 4)), np.zeros((4, 2, 3, 3)), (1, 1), (1, 1), (1, 1), 2)
    with pytest.raises(ValueError, match="5 output channels, not divisible by groups=2"):
        conv.conv2d(np.zeros((1, 4, 4, 4)), np.zeros((5, 2, 3, 3)), (1, 1), (1, 1), (1, 1), 2)
    with pytest.raises(ValueError, match=r"conv2d_grad_input: gy has shape \(1, 1, 3, 3\) but "
                                         r"weight \(1, 1, 2, 2\) on a 5x5 input needs "
                                         r"\(1, 1, 2, 2\)"):
        conv.conv2d_grad_input(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), (5, 5), (2, 2),
                               (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1, got 0x1"):
        conv.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), (0, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"kernel 3x2 \(dilation 2x1\) does not fit input 4x4 "
                                         r"with padding 0"):
        conv.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 2)), (1, 1), (0, 0), (2, 1), 1)


# --- pooling -------------------------------------------------------------------------------------
def _pool_cases(count, seed, dilation=True):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        dil = tuple(int(d) for d in rng.integers(1, 3, 2)) if dilation else (1, 1)
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        hw = tuple(int(n) for n in rng.integers(1, 9, 2))
        ceil_mode = bool(rng.integers(0, 2))
        if all(shapes.pool_output_size(n, k, s, p, d, ceil_mode) >= 1
               for n, k, s, p, d in zip(hw, kernel, stride, padding, dil)):
            cases.append((hw, kernel, stride, padding, dil, ceil_mode))
    return cases


@pytest.mark.parametrize("case", _pool_cases(30, seed=6))
def test_max_pool_values_indices_and_backward_match_pytorch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    hw, kernel, stride, padding, dilation, ceil_mode = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3) + hw)
    x[0, 0, 0, 0] = np.nan  # NaN propagates (and wins its windows) as in PyTorch
    x[1, 1] = -np.inf       # all -inf: the index of the first in-bounds tap
    x[1, 2, ::2] = 0.5      # ties: the first maximum in row-major window order
    try:
        y, idx = pool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    except ValueError as error:  # a window sees only padding: PyTorch's answer is -inf there
        assert "covers only padding" in str(error)
        ref = F.max_pool2d(torch.tensor(np.nan_to_num(x)), kernel, stride, padding, dilation,
                           ceil_mode)
        assert torch.isinf(ref).any()
        return
    xt = torch.tensor(x, requires_grad=True)
    ref, ref_idx = F.max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode,
                                return_indices=True)
    np.testing.assert_array_equal(y, ref.detach().numpy())
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    gy = rng.standard_normal(y.shape)
    ref.backward(torch.tensor(gy))
    np.testing.assert_allclose(pool.max_pool2d_backward(gy, idx, x.shape), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", _pool_cases(30, seed=6))
def test_tuned_max_pool_equals_the_reference(case):
    hw, kernel, stride, padding, dilation, ceil_mode = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3) + hw)
    x[0, 0, 0, 0] = np.nan
    x[1, 1] = -np.inf
    x[1, 2, ::2] = 0.5
    try:
        y, idx = pool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    except ValueError:  # a window that sees only padding: refused (see the PyTorch test)
        return
    ref_y, ref_idx = reference.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(idx, ref_idx)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(pool.max_pool2d_backward(gy, idx, x.shape),
                               reference.max_pool2d_backward(gy, idx, x.shape), rtol=1e-13)


@pytest.mark.parametrize("case", _pool_cases(24, seed=8, dilation=False))
@pytest.mark.parametrize("count_include_pad,divisor", [(True, None), (False, None), (True, 3)])
@pytest.mark.parametrize("module", [pool, reference], ids=["tuned", "reference"])
def test_avg_pool_matches_pytorch_and_backward_is_its_adjoint(case, count_include_pad, divisor,
                                                              module):
    torch = pytest.importorskip("torch")
    hw, kernel, stride, padding, _, ceil_mode = case
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3) + hw)
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    y = module.avg_pool2d(x, *args)
    ref = torch.nn.functional.avg_pool2d(torch.tensor(x), *args)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx = module.avg_pool2d_backward(gy, x.shape, *args)
    assert np.vdot(y, gy) == pytest.approx(np.vdot(x, gx), rel=1e-12, abs=1e-12)
    if module is pool:
        np.testing.assert_allclose(gx, reference.avg_pool2d_backward(gy, x.shape, *args),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hw,out", [((7, 7), (1, 1)), ((8, 6), (4, 3)), ((5, 7), (3, 2)),
                                    ((3, 4), (5, 6)), ((9, 2), (4, 2))])
@pytest.mark.parametrize("module", [pool, reference], ids=["tuned", "reference"])
def test_adaptive_avg_pool_matches_pytorch_and_backward_is_its_adjoint(hw, out, module):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3) + hw).astype(np.float32)
    y = module.adaptive_avg_pool2d(x, out)
    assert y.dtype == np.float32
    ref = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), out)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-6)
    x64, gy = x.astype(np.float64), rng.standard_normal(y.shape)
    gx = module.adaptive_avg_pool2d_backward(gy, x.shape, out)
    assert np.vdot(module.adaptive_avg_pool2d(x64, out), gy) == pytest.approx(np.vdot(x64, gx),
                                                                               rel=1e-12)
    np.testing.assert_allclose(gx, reference.adaptive_avg_pool2d_backward(gy, x.shape, out),
                               rtol=1e-12, atol=1e-12)


def test_pools_on_worker_threads_match_one_thread(monkeypatch):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 3, 9, 8))
    avg = ((3, 2), (2, 2), (1, 1), True, False, None)

    def run():
        y, idx = pool.max_pool2d(x, (3, 3), (2, 1), (1, 1), (1, 2), True)
        a = pool.avg_pool2d(x, *avg)
        return [y, idx, pool.max_pool2d_backward(y, idx, x.shape), a,
                pool.avg_pool2d_backward(a, x.shape, *avg)]

    monkeypatch.setattr(runtime, "blas_threads", lambda: 1)
    one = run()
    monkeypatch.setattr(runtime, "blas_threads", lambda: 2)
    monkeypatch.setattr(runtime, "MIN_PARALLEL_WORK", 0)
    monkeypatch.setattr(runtime, "others_running", lambda: False)
    for ours, expected in zip(run(), one):
        np.testing.assert_array_equal(ours, expected)


def test_pool_output_sizes_follow_pytorch_ceil_mode_rule():
    # 3 rows, kernel 2, stride 2, padding 1: ceil gives 3 windows, but the third would start at
    # padded row 4, past the input and its left padding, so PyTorch drops it.
    assert shapes.pool_output_size(3, 2, 2, 1, 1, ceil_mode=True) == 2
    assert shapes.pool_output_size(5, 2, 2, 0, 1, ceil_mode=True) == 3
    assert shapes.pool_output_size(5, 2, 2, 0, 1, ceil_mode=False) == 2
    y, _ = pool.max_pool2d(np.arange(9.0).reshape(1, 1, 3, 3), (2, 2), (2, 2), (1, 1), (1, 1),
                           True)
    assert y[0, 0].tolist() == [[0.0, 2.0], [6.0, 8.0]]


def test_pool_error_messages():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: padding 2 must be at most half the kernel "
                                         r"size 3x3 \(padding 2 > 3 // 2 along H\)"):
        pool.max_pool2d(x, (3, 3), (1, 1), (2, 2), (1, 1), False)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel 5x5 \(dilation 1\) does not fit "
                                         r"input 4x4 with padding 0"):
        pool.avg_pool2d(x, (5, 5), (1, 1), (0, 0), False, True)
    with pytest.raises(ValueError, match="max_pool2d: the window at output column 0 covers only "
                                         "padding"):
        pool.max_pool2d(np.zeros((1, 1, 8, 1)), (1, 2), (1, 3), (0, 1), (1, 2), False)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: gy has shape \(1, 1, 2, 2\) but "
                                         r"indices have shape \(1, 1, 1, 2\)"):
        pool.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 2), int), x.shape)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output size must be positive"):
        pool.adaptive_avg_pool2d(x, (0, 2))


# --- multi-axis sums (bias and BatchNorm gradients) ----------------------------------------------
@pytest.mark.parametrize("shape,axes", [
    ((4, 3, 5, 6), (0, 2, 3)), ((4, 3, 5, 6), (2, 3)), ((4, 3, 5), (0, 2)), ((4, 3, 5, 6), (0, 3)),
    ((4, 3, 5, 6), (0, 1)), ((2, 3, 4, 5, 6), (0, 1, 4)), ((4, 3, 5, 6), (0, 1, 2, 3)),
    ((4, 3, 5, 6), None), ((0, 3, 2, 2), (0, 2, 3)), ((4, 3, 70, 70), (0, 2, 3)),
    ((5000, 3, 4), (0, 2)),   # a batch longer than SUM_MAX_RUN: products per row, pairwise sum
    ((64, 128), (0,)), ((64, 128), (1,)), ((16, 8, 12), (0, 1)), ((16, 8, 12), (1, 2)),
    ((5000, 3), (0,)), ((3, 5000), (1,))])  # leading or trailing axes only; runs past the limit
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_axes_equals_the_exact_sum(shape, axes, dtype, keepdims, monkeypatch):
    """Against the float64 sum, with an error bound relative to Σ|x| (a sum that cancels to
    near zero has no small *relative* error in float32, whichever order adds it). The size
    threshold is lifted so that these small arrays take the BLAS products too."""
    from torchsorflow.ops.kernels.reduce import sum_axes
    monkeypatch.setattr(runtime, "SUM_BLAS_MIN_SIZE", 0)
    x = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    eps = np.finfo(np.float32).eps * 16 if dtype == np.float32 else 1e-13
    for a in (x, np.swapaxes(x, 0, 1)):  # contiguous, and not (NumPy's own path)
        got = sum_axes(a, axes, keepdims)
        exact = np.add.reduce(a.astype(np.float64), axis=axes, keepdims=keepdims)
        scale = np.add.reduce(np.abs(a).astype(np.float64), axis=axes, keepdims=keepdims)
        assert got.shape == exact.shape and got.dtype == np.add.reduce(a, axis=axes).dtype
        assert np.all(np.abs(got - exact) <= eps * scale + (0 if dtype == np.int64 else 1e-30))


@pytest.mark.parametrize("shape,kernel", [((3, 4, 8, 8), (2, 2)), ((2, 3, 9, 7), (2, 2)),
                                          ((2, 2, 9, 9), (3, 3)), ((2, 2, 8, 8), (2, 4)),
                                          ((2, 3, 5, 5), (1, 1)), ((5, 3, 4, 4), (2, 2)),
                                          ((2, 2, 12, 6), (3, 2)), ((2, 2, 32, 32), (2, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiling_max_pool_keeps_the_first_maximum_like_pytorch(shape, kernel, dtype):
    """Windows that tile the input take a faster path; on data full of ties it must still pick
    the first maximum in row-major order, as a window-by-window argmax does."""
    x = np.random.default_rng(3).integers(-2, 3, shape).astype(dtype)
    y, index = pool.max_pool2d(x, kernel, kernel, (0, 0), (1, 1), False)
    (kh, kw), w = kernel, shape[3]
    for b, ch, i, j in np.ndindex(*y.shape):
        window = x[b, ch, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw]
        first = np.argmax(window)
        assert y[b, ch, i, j] == window.max()
        assert index[b, ch, i, j] == (i * kh + first // kw) * w + j * kw + first % kw
    strided = np.swapaxes(np.swapaxes(x, 0, 1).copy(), 0, 1)  # same values, not C-contiguous
    for got, want in zip(pool.max_pool2d(strided, kernel, kernel, (0, 0), (1, 1), False),
                         (y, index)):
        np.testing.assert_array_equal(got, want)
    with_nan = x.copy()
    with_nan[0, 0, 0, 0] = np.nan  # NaN takes the general path, which must agree elsewhere
    y2, index2 = pool.max_pool2d(with_nan, kernel, kernel, (0, 0), (1, 1), False)
    assert np.isnan(y2[0, 0, 0, 0]) and index2[0, 0, 0, 0] == 0
    np.testing.assert_array_equal(y2.ravel()[1:], y.ravel()[1:])
    np.testing.assert_array_equal(index2.ravel()[1:], index.ravel()[1:])


def test_broadcast_gradients_are_materialized_once_for_blas():
    """The gradient of ``y.sum()`` arrives as a zero-stride view; the adjoints copy it once (NumPy's
    matmul cannot give such an operand to BLAS) and give the same numbers as with a real array."""
    ones = np.broadcast_to(np.float32(1), (2, 4, 5, 5))
    assert conv._materialized(ones).flags.c_contiguous
    dense = np.ones((2, 4, 5, 5), np.float32)
    assert conv._materialized(dense) is dense
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_array_equal(conv.conv2d_grad_input(ones, w, (5, 5), *geometry),
                                  conv.conv2d_grad_input(dense, w, (5, 5), *geometry))
    np.testing.assert_array_equal(conv.conv2d_grad_weight(ones, x, (3, 3), *geometry),
                                  conv.conv2d_grad_weight(dense, x, (3, 3), *geometry))
