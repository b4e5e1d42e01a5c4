"""Differential fuzzing of the convolution family against torch.nn.functional: transposed
convolutions over all their arguments (1-, 2-, 3-D; stride, padding, output_padding, groups,
dilation, bias, batched or not), 1-D and 3-D convolutions, interpolation in every mode, the padding
modes, unfold/fold, pixel shuffling, 1-D / adaptive / LP pooling and unpooling. Forward values in
float32, gradients in float64 by reverse and forward mode (see tests/fuzz_support.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import assume, strategies as st  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from torchsorflow.autodiff import check_grads  # noqa: E402
from fuzz_support import F32, assert_close, compare, fuzz, seeds, values  # noqa: E402
from torchsorflow import nn  # noqa: E402

F = nn.functional
TF = torch.nn.functional


def _ints(draw, n, low, high):
    return tuple(draw(st.integers(low, high)) for _ in range(n))


def _maybe_scalar(draw, values):
    """One int for every dimension when they agree and hypothesis says so, else the tuple."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return values


# --- transposed convolutions --------------------------------------------------------------------
@st.composite
def transposed_cases(draw, spatial=None):
    n = spatial or draw(st.sampled_from([1, 2, 2, 3]))
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = _ints(draw, n, 1, 3 if n < 3 else 2)
    stride, dilation = _ints(draw, n, 1, 3), _ints(draw, n, 1, 2)
    padding = tuple(draw(st.integers(0, d * (k - 1))) for k, d in zip(kernel, dilation))
    # PyTorch requires output_padding < stride or < dilation
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = tuple(draw(st.integers(1, 4 if n < 3 else 2)) for _ in range(n))
    out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, s, p, d, k, op in
           zip(size, stride, padding, dilation, kernel, output_padding)]
    assume(min(out) >= 1)
    return dict(spatial=n, groups=groups, cin=cin, cout=cout, kernel=kernel,
                stride=_maybe_scalar(draw, stride), padding=_maybe_scalar(draw, padding),
                output_padding=_maybe_scalar(draw, output_padding),
                dilation=_maybe_scalar(draw, dilation), size=size,
                batch=draw(st.sampled_from([None, 1, 2])), bias=draw(st.booleans()))


def _transposed_arrays(c, rng):
    x_shape = ((c["batch"],) if c["batch"] else ()) + (c["cin"],) + c["size"]
    arrays = [values("normal", x_shape, rng),
              values("normal", (c["cin"], c["cout"] // c["groups"]) + c["kernel"], rng)]
    if c["bias"]:
        arrays.append(values("normal", (c["cout"],), rng))
    return arrays


@fuzz(300, case=transposed_cases(), seed=seeds)
def test_conv_transpose_over_all_arguments(case, seed):
    rng = np.random.default_rng(seed)
    kw = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    name = f"conv_transpose{case['spatial']}d"
    compare(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw),
            _transposed_arrays(case, rng), rng)


@fuzz(60, case=transposed_cases(), seed=seeds, data=st.data())
def test_conv_transpose_module_with_output_size_matches_torch(case, seed, data):
    c = case
    n = c["spatial"]
    kw = {k: c[k] for k in ("stride", "padding", "groups", "dilation")}
    cls = f"ConvTranspose{n}d"
    ours = getattr(nn, cls)(c["cin"], c["cout"], c["kernel"], bias=c["bias"], **kw)
    theirs = getattr(torch.nn, cls)(c["cin"], c["cout"], c["kernel"], bias=c["bias"], **kw)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = _transposed_arrays(c, np.random.default_rng(seed))[0].astype(np.float32)
    stride, padding, dilation = (v if isinstance(v, tuple) else (v,) * n for v in
                                 (c["stride"], c["padding"], c["dilation"]))
    smallest = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
                zip(c["size"], stride, padding, dilation, c["kernel"])]
    size = [low + data.draw(st.integers(0, s - 1)) for low, s in zip(smallest, stride)]
    assume(min(size) >= 1)
    out = ours(tsf.tensor(x, requires_grad=True), output_size=size)
    ref = theirs(torch.from_numpy(x), output_size=size)
    assert_close(out, ref, f"{cls} output", **F32)
    out.sum().backward()
    ref.sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, f"{cls} weight.grad", rtol=1e-4, atol=1e-5)


# --- 1-D and 3-D convolutions, padding modes ----------------------------------------------------
@st.composite
def conv_cases(draw):
    n = draw(st.sampled_from([1, 3]))
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = _ints(draw, n, 1, 3 if n == 1 else 2)
    dilation = _ints(draw, n, 1, 2)
    stride = _ints(draw, n, 1, 3)
    padding = draw(st.sampled_from(["ints", "same", "valid"]))
    if padding == "same":
        stride = (1,) * n
    else:
        padding = _ints(draw, n, 0, 2) if padding == "ints" else padding
    pad = (0,) * n if isinstance(padding, str) else padding
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(max(draw(st.integers(1, 5 if n == 1 else 3)), s - 2 * p)
                 for s, p in zip(span, pad))
    return dict(spatial=n, groups=groups, cin=cin, cout=cout, kernel=kernel,
                stride=_maybe_scalar(draw, stride), dilation=_maybe_scalar(draw, dilation),
                padding=padding if isinstance(padding, str) else _maybe_scalar(draw, padding),
                size=size, batch=draw(st.sampled_from([None, 2])), bias=draw(st.booleans()))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # PyTorch's
@fuzz(150, case=conv_cases(), seed=seeds)
def test_conv1d_and_conv3d(case, seed):
    rng = np.random.default_rng(seed)
    c = case
    x_shape = ((c["batch"],) if c["batch"] else ()) + (c["cin"],) + c["size"]
    arrays = [values("normal", x_shape, rng),
              values("normal", (c["cout"], c["cin"] // c["groups"]) + c["kernel"], rng)]
    if c["bias"]:
        arrays.append(values("normal", (c["cout"],), rng))
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    name = f"conv{c['spatial']}d"
    compare(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw),
            arrays, rng)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@fuzz(60, case=conv_cases(), seed=seeds,
      mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
def test_conv_modules_with_padding_modes_match_torch(case, seed, mode):
    c = case
    n = c["spatial"]
    pads = (0,) * n if c["padding"] == "valid" else c["padding"]
    if mode == "reflect" and pads != "same":  # reflection needs padding < the input size
        pads = pads if isinstance(pads, tuple) else (pads,) * n
        assume(all(p < s for p, s in zip(pads, c["size"])))
    kw = {k: c[k] for k in ("stride", "padding", "dilation", "groups")}
    cls = f"Conv{n}d"
    ours = getattr(nn, cls)(c["cin"], c["cout"], c["kernel"], bias=c["bias"], padding_mode=mode,
                            **kw)
    theirs = getattr(torch.nn, cls)(c["cin"], c["cout"], c["kernel"], bias=c["bias"],
                                    padding_mode=mode, **kw)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = values("normal", (2, c["cin"]) + c["size"], np.random.default_rng(seed))
    try:
        ref = theirs(torch.from_numpy(x.astype(np.float32)))
    except RuntimeError as error:  # reflect 'same' padding wider than the input, say
        with pytest.raises(ValueError) as caught:
            ours(tsf.tensor(x.astype(np.float32)))
        assert str(caught.value).split(":")[0] in str(error)
        return
    out = ours(tsf.tensor(x.astype(np.float32), requires_grad=True))
    assert_close(out, ref, f"{cls}(padding_mode={mode!r})", **F32)
    out.sum().backward()
    ref.sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, "weight.grad", rtol=1e-4, atol=1e-5)


# --- interpolation ------------------------------------------------------------------------------
_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@st.composite
def interpolation_cases(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic",
                                 "trilinear", "area"]))
    n = _DIMS.get(mode) or draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 6 if n < 3 else 3)) for _ in range(n))
    kw = {}
    if draw(st.booleans()):
        out = tuple(draw(st.integers(1, 9 if n < 3 else 4)) for _ in range(n))
        kw["size"] = _maybe_scalar(draw, out)
    else:
        factors = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 4 / 3, 1.5, 2.0, 2.5, 3.0]))
                        for _ in range(n))
        assume(all(int(s * f) >= 1 for s, f in zip(size, factors)))
        kw["scale_factor"] = _maybe_scalar(draw, factors)
        if mode != "area":
            kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if mode in _DIMS:
        kw["align_corners"] = draw(st.booleans())
        if mode in ("bilinear", "bicubic"):
            kw["antialias"] = draw(st.booleans())
    return mode, (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size, kw


def _output_width(shape, kw):
    if "size" in kw:
        return kw["size"] if isinstance(kw["size"], int) else kw["size"][-1]
    factor = kw["scale_factor"]
    return int(shape[-1] * (factor if not isinstance(factor, tuple) else factor[-1]))


def _torchs_antialias_backward_is_wrong(shape, kw):
    """PyTorch's antialiased forward leaves an axis whose size does not change alone, but its
    backward resamples that axis with the scale factor anyway (torch.autograd.gradcheck fails)."""
    factors = kw.get("scale_factor")
    if not kw.get("antialias") or factors is None or kw.get("recompute_scale_factor"):
        return False
    factors = factors if isinstance(factors, tuple) else (factors,) * (len(shape) - 2)
    return any(int(n * f) == n and f != 1 for n, f in zip(shape[2:], factors))


@fuzz(300, case=interpolation_cases(), seed=seeds)
def test_interpolate(case, seed):
    mode, shape, kw = case
    assume(not (kw.get("antialias") and _output_width(shape, kw) == 1))  # PyTorch is wrong
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    ours, theirs = (lambda a: F.interpolate(a, mode=mode, **kw),
                    lambda a: TF.interpolate(a, mode=mode, **kw))
    if _torchs_antialias_backward_is_wrong(shape, kw):  # ours against finite differences
        check_grads(ours, [x], modes=("rev",), order=1)
        compare(ours, theirs, [x], rng, modes=("fwd",))
        return
    compare(ours, theirs, [x], rng)


def test_torchs_antialias_backward_disagrees_with_its_forward_but_ours_does_not():
    shape, kw = (1, 1, 4, 2), dict(scale_factor=(0.5, 4 / 3), mode="bilinear", antialias=True)
    assert _torchs_antialias_backward_is_wrong(shape, kw)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(lambda a: TF.interpolate(a, **kw), (x,),
                                        raise_exception=False)
    check_grads(lambda a: F.interpolate(a, **kw), [x.detach().numpy()], modes=("fwd", "rev"),
                order=2)
    assert_close(F.interpolate(tsf.tensor(x.detach().numpy()), **kw), TF.interpolate(x, **kw),
                 "forward", **F32)


@fuzz(80, seed=seeds, size=st.integers(1, 40), out=st.integers(1, 97),
      mode=st.sampled_from(["nearest", "nearest-exact"]),
      dtype=st.sampled_from([np.float32, np.float64]), scale=st.none() | st.floats(0.3, 4.0))
def test_nearest_indices_follow_pytorch_arithmetic(seed, size, out, mode, dtype, scale):
    """The source index of each output, floor(o · in/out), in the input's precision as PyTorch's
    CPU kernel computes it: the sizes where the other precision rounds the other way agree."""
    x = np.arange(size, dtype=dtype).reshape(1, 1, size)
    kw = dict(size=out) if scale is None else dict(scale_factor=scale)
    assume(scale is None or int(size * scale) >= 1)
    ours = F.interpolate(tsf.tensor(x), mode=mode, **kw).numpy()
    theirs = TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
    np.testing.assert_array_equal(ours, theirs)


# --- padding ------------------------------------------------------------------------------------
@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    padded = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    shape = ((2,) if batched else ()) + (draw(st.integers(1, 2)),) + tuple(
        draw(st.integers(1, 4)) for _ in range(padded))
    if mode == "constant":  # any number of dimensions, amounts may cut
        padded = draw(st.integers(1, len(shape)))
    pad = []
    for axis in reversed(range(len(shape) - padded, len(shape))):
        n = shape[axis]
        low, high = {"constant": (-n // 2, 3), "reflect": (-(n // 2), n - 1),
                     "replicate": (-(n // 2), 4), "circular": (-(n // 2), n // 2)}[mode]
        pad += [draw(st.integers(low, high)), draw(st.integers(low, high))]
        assume(n + pad[-1] + pad[-2] >= 1)
    value = draw(st.floats(-2, 2)) if mode == "constant" else None
    return mode, shape, tuple(pad), value


@fuzz(250, case=pad_cases(), seed=seeds)
def test_pad(case, seed):
    mode, shape, pad, value = case
    rng = np.random.default_rng(seed)
    kw = {} if value is None else {"value": value}
    compare(lambda x: F.pad(x, pad, mode, **kw), lambda x: TF.pad(x, pad, mode, **kw),
            [values("normal", shape, rng)], rng)


# --- sliding windows and pixel shuffling --------------------------------------------------------
@st.composite
def window_cases(draw):
    kernel, dilation = _ints(draw, 2, 1, 3), _ints(draw, 2, 1, 2)
    padding, stride = _ints(draw, 2, 0, 2), _ints(draw, 2, 1, 3)
    size = tuple(max(draw(st.integers(1, 6)), d * (k - 1) + 1 - 2 * p)
                 for k, d, p in zip(kernel, dilation, padding))
    return dict(kernel_size=_maybe_scalar(draw, kernel), dilation=_maybe_scalar(draw, dilation),
                padding=_maybe_scalar(draw, padding), stride=_maybe_scalar(draw, stride)), size


@fuzz(120, case=window_cases(), seed=seeds, channels=st.integers(1, 3),
      batch=st.sampled_from([None, 2]))
def test_unfold_and_fold(case, seed, channels, batch):
    kw, size = case
    rng = np.random.default_rng(seed)
    lead = (batch,) if batch else ()
    x = values("normal", lead + (channels,) + size, rng)
    compare(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x], rng)
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    compare(lambda a: F.fold(a, size, **kw), lambda a: TF.fold(a, size, **kw),
            [values("normal", cols.shape, rng)], rng)


@fuzz(60, seed=seeds, r=st.integers(1, 3), lead=st.lists(st.integers(1, 2), max_size=2),
      c=st.integers(1, 2), hw=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_pixel_shuffle_and_unshuffle(seed, r, lead, c, hw):
    rng = np.random.default_rng(seed)
    x = values("normal", tuple(lead) + (c * r * r,) + hw, rng)
    compare(lambda a: F.pixel_shuffle(a, r), lambda a: TF.pixel_shuffle(a, r), [x], rng)
    y = values("normal", tuple(lead) + (c, hw[0] * r, hw[1] * r), rng)
    compare(lambda a: F.pixel_unshuffle(a, r), lambda a: TF.pixel_unshuffle(a, r), [y], rng)
    np.testing.assert_array_equal(
        F.pixel_unshuffle(F.pixel_shuffle(tsf.tensor(x), r), r).numpy(), x)


# --- pooling ------------------------------------------------------------------------------------
@st.composite
def pool1d_cases(draw):
    kernel = draw(st.integers(1, 4))
    stride = draw(st.none() | st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    length = max(draw(st.integers(1, 9)), kernel - 2 * padding)
    shape = ((2,) if draw(st.booleans()) else ()) + (draw(st.integers(1, 3)), length)
    return dict(kernel_size=kernel, stride=stride, padding=padding,
                ceil_mode=draw(st.booleans())), shape


@fuzz(150, case=pool1d_cases(), seed=seeds, include=st.booleans())
def test_max_and_avg_pool1d(case, seed, include):
    kw, shape = case
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    compare(lambda a: F.max_pool1d(a, **kw), lambda a: TF.max_pool1d(a, **kw), [x], rng)
    ours, index = F.max_pool1d(tsf.tensor(x), return_indices=True, **kw)
    _, theirs = TF.max_pool1d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(index.numpy(), theirs.numpy())
    compare(lambda a: F.avg_pool1d(a, count_include_pad=include, **kw),
            lambda a: TF.avg_pool1d(a, count_include_pad=include, **kw), [x], rng)


@fuzz(120, seed=seeds, hw=st.tuples(st.integers(1, 9), st.integers(1, 9)), data=st.data(),
      batched=st.booleans())
def test_adaptive_max_pool2d_values_indices_and_gradients(seed, hw, data, batched):
    size = (data.draw(st.integers(1, hw[0] + 2)), data.draw(st.none() | st.integers(1, hw[1])))
    rng = np.random.default_rng(seed)
    x = values("normal", ((2,) if batched else ()) + (3,) + hw, rng)
    compare(lambda a: F.adaptive_max_pool2d(a, size), lambda a: TF.adaptive_max_pool2d(a, size),
            [x], rng)
    _, ours = F.adaptive_max_pool2d(tsf.tensor(x), size, return_indices=True)
    _, theirs = TF.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@fuzz(60, seed=seeds, length=st.integers(1, 12), out=st.integers(1, 8))
def test_adaptive_pool1d(seed, length, out):
    rng = np.random.default_rng(seed)
    x = values("normal", (2, 3, length), rng)
    compare(lambda a: F.adaptive_avg_pool1d(a, out), lambda a: TF.adaptive_avg_pool1d(a, out),
            [x], rng)
    compare(lambda a: F.adaptive_max_pool1d(a, out), lambda a: TF.adaptive_max_pool1d(a, out),
            [x], rng)


@fuzz(60, seed=seeds, hw=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
      data=st.data())
def test_adaptive_avg_pool3d(seed, hw, data):
    size = tuple(data.draw(st.none() | st.integers(1, n + 1)) for n in hw)
    rng = np.random.default_rng(seed)
    compare(lambda a: F.adaptive_avg_pool3d(a, size), lambda a: TF.adaptive_avg_pool3d(a, size),
            [values("normal", (2, 2) + hw, rng)], rng)


@fuzz(100, seed=seeds, kernel=st.integers(1, 3), spatial=st.sampled_from([1, 2]),
      hw=st.tuples(st.integers(1, 6), st.integers(1, 6)), give_size=st.booleans())
def test_max_unpool_inverts_max_pool_like_torch(seed, kernel, spatial, hw, give_size):
    """Non-overlapping windows (stride = kernel), so every index is written once; the original
    size may be given as output_size (it is within a stride of the default)."""
    rng = np.random.default_rng(seed)
    hw = hw[:spatial]
    assume(min(hw) >= kernel)
    name = f"{spatial}d"
    x = values("normal", (2, 2) + hw, rng)
    pooled, index = getattr(TF, "max_pool" + name)(torch.tensor(x), kernel, return_indices=True)
    size = list(hw) if give_size else None
    assume(give_size or all(n % kernel == 0 for n in hw))  # else indices point past the default
    compare(lambda a: getattr(F, "max_unpool" + name)(a, index.numpy(), kernel, output_size=size),
            lambda a: getattr(TF, "max_unpool" + name)(a, index, kernel, output_size=size),
            [pooled.numpy()], rng)


@fuzz(60, seed=seeds, p=st.sampled_from([1.0, 2.0, 3.0]), kernel=st.integers(1, 3),
      stride=st.none() | st.integers(1, 2), spatial=st.sampled_from([1, 2]),
      ceil=st.booleans())
def test_lp_pool(seed, p, kernel, stride, spatial, ceil):
    rng = np.random.default_rng(seed)
    x = values("positive", (2, 2) + (5,) * spatial, rng)  # away from the kink of |x|ᵖ at 0
    name = f"lp_pool{spatial}d"
    compare(lambda a: getattr(F, name)(a, p, kernel, stride, ceil),
            lambda a: getattr(TF, name)(a, p, kernel, stride, ceil), [x], rng)


def test_antialiased_resizing_to_one_pixel_wide_is_column_by_column():
    """PyTorch's antialiased kernel, when the output is one pixel wide, copies the first row into
    every output row (``[1, 3]`` upsampled to ``[1, 1, 1]``); with two columns it interpolates
    (``[1, 2, 3]``). Columns are resized independently, so one column must come out as it does
    beside another: ours does."""
    column = np.array([[[[1.0], [3.0]]]])
    kw = dict(size=(3, 1), mode="bilinear", antialias=True)
    ours = F.interpolate(tsf.tensor(column), **kw).numpy()
    beside_another = TF.interpolate(torch.tensor(np.repeat(column, 2, axis=-1)), size=(3, 2),
                                    mode="bilinear", antialias=True).numpy()[..., :1]
    np.testing.assert_allclose(ours, beside_another)
    assert ours.ravel().tolist() == [1.0, 2.0, 3.0]
    assert TF.interpolate(torch.tensor(column), **kw).numpy().ravel().tolist() == [1.0, 1.0, 1.0]
