"""The convolution family's layers and kernels beyond the fuzz suite: state_dict keys, shapes,
initialisation and reprs against torch.nn; the 1-D, 3-D and transposed convolutions against the
plain reference kernels (no PyTorch needed); the adjoint identities every backward pass rests
on; adaptive max pooling's ties and NaNs; unpooling of repeated indices; integer inputs; error
messages."""
import math

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.nn.summary import summary
from torchsorflow.ops import convolution, resample
from torchsorflow.ops.kernels import adaptive, axis_maps, reference, runtime

F = nn.functional


def _torch():
    return pytest.importorskip("torch")


def _inner(a, b):
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


# --- layers: parameters, initialisation, repr -----------------------------------------------
LAYERS = [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, groups=2)),
    ("Conv2d", (4, 6, (3, 2)), dict(dilation=2, bias=False, padding="same")),
    ("Conv3d", (2, 4, 3), dict(padding=1, padding_mode="replicate")),
    ("ConvTranspose1d", (4, 6, 5), dict(stride=3, output_padding=2, groups=2)),
    ("ConvTranspose2d", (6, 3, 4), dict(stride=2, padding=1, bias=False)),
    ("ConvTranspose3d", (2, 4, (2, 3, 1)), dict(dilation=(1, 2, 1))),
]


@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_layers_have_torchs_parameters_repr_and_initialisation(name, args, kwargs):
    torch = _torch()
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    for attribute in ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
                      "padding_mode", "transposed", "_reversed_padding_repeated_twice"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    # kaiming-uniform(a=√5): uniform in ±1/√fan_in with fan_in = weight.shape[1] · kernel area,
    # the bias in the same bound
    bound = 1 / math.sqrt(math.prod(ours.weight.shape[1:]))
    w = ours.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.7 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.35 * bound
    if ours.bias is not None:
        assert np.abs(ours.bias.numpy()).max() <= bound


def test_other_layers_repr_like_torch():
    torch = _torch()
    for name, args in [
            ("ZeroPad1d", (2,)), ("ZeroPad2d", ((1, 2, 3, 4),)), ("ZeroPad3d", (1,)),
            ("ConstantPad1d", (2, 3.5)), ("ConstantPad2d", (1, 0.0)), ("ConstantPad3d", (1, 2)),
            ("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 1, 2, 0),)),
            ("ReflectionPad3d", (1,)), ("ReplicationPad1d", (1,)), ("ReplicationPad2d", (1,)),
            ("ReplicationPad3d", (1,)), ("CircularPad1d", (1,)), ("CircularPad2d", (1,)),
            ("CircularPad3d", (1,)), ("MaxPool1d", (3, 2, 1, 2, True, True)),
            ("AvgPool1d", (3, 2, 1, True, False)), ("AdaptiveAvgPool1d", (3,)),
            ("AdaptiveMaxPool1d", (3,)), ("AdaptiveMaxPool2d", ((2, None), True)),
            ("AdaptiveAvgPool3d", (2,)), ("MaxUnpool1d", (2,)), ("MaxUnpool2d", (2, 1, 1)),
            ("LPPool1d", (2, 3)), ("LPPool2d", (2.0, 3, 2)), ("PixelShuffle", (3,)),
            ("PixelUnshuffle", (2,)), ("ChannelShuffle", (2,)), ("Fold", ((4, 4), 2)),
            ("Unfold", (2, 1, 1)), ("UpsamplingNearest2d", (None, 2)),
            ("UpsamplingBilinear2d", (4,))]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args)), name
    assert repr(nn.Upsample(scale_factor=2)) == repr(torch.nn.Upsample(scale_factor=2))
    assert repr(nn.Upsample(size=(3, 4), mode="bilinear")) == \
           repr(torch.nn.Upsample(size=(3, 4), mode="bilinear"))


def test_model_summary_counts_transposed_convolutions():
    model = nn.Sequential(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.Conv1d(4, 4, 3))
    assert model[0](tsf.ones(1, 8, 5, 5)).shape == (1, 4, 10, 10)
    table = summary(nn.Sequential(model[0]), input_size=(1, 8, 5, 5))
    # every input element meets C_out/groups × kernel weights
    assert table.total_macs == 8 * 5 * 5 * 4 * 4 * 4


# --- the compositions against the plain reference kernels ------------------------------------
def _random_geometry(rng, spatial):
    groups = int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, spatial))
    return dict(groups=groups, cin=groups * int(rng.integers(1, 3)),
                cout=groups * int(rng.integers(1, 3)), kernel=kernel,
                stride=tuple(int(s) for s in rng.integers(1, 4, spatial)),
                dilation=tuple(int(d) for d in rng.integers(1, 3, spatial)),
                padding=tuple(int(p) for p in rng.integers(0, 3, spatial)))


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_transposed_convolutions_equal_the_reference_definition(spatial):
    rng = np.random.default_rng(spatial)
    checked = 0
    while checked < 15:
        g = _random_geometry(rng, spatial)
        out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(g["stride"],
                                                                          g["dilation"]))
        size = tuple(int(n) for n in rng.integers(1, 4, spatial))
        if min(convolution.transposed_size(*a) for a in zip(
                size, g["kernel"], g["stride"], g["padding"], g["dilation"], out_pad)) < 1:
            continue
        x = rng.standard_normal((2, g["cin"]) + size)
        w = rng.standard_normal((g["cin"], g["cout"] // g["groups"]) + g["kernel"])
        ours = convolution.conv_transpose_nd(tsf.tensor(x), tsf.tensor(w), None, g["stride"],
                                             g["padding"], out_pad, g["groups"], g["dilation"])
        expected = reference.conv_transpose(x, w, g["stride"], g["padding"], out_pad,
                                            g["dilation"], g["groups"])
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-10, atol=1e-10)
        checked += 1


def test_conv3d_equals_the_reference_im2col():
    rng = np.random.default_rng(3)
    for _ in range(30):
        g = _random_geometry(rng, 3)
        size = tuple(d * (k - 1) + 1 + int(rng.integers(0, 3)) for k, d in zip(g["kernel"],
                                                                              g["dilation"]))
        x = rng.standard_normal((2, g["cin"]) + size)
        w = rng.standard_normal((g["cout"], g["cin"] // g["groups"]) + g["kernel"])
        ours = convolution.conv_nd(tsf.tensor(x), tsf.tensor(w), None, g["stride"],
                                   g["padding"], g["dilation"], g["groups"])
        expected = reference.conv3d(x, w, g["stride"], g["padding"], g["dilation"], g["groups"])
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_transposed_convolution_is_the_adjoint_of_convolution():
    """<conv_transpose(x, w), z> = <x, conv(z, w)> for every output size output_padding allows:
    the property that makes conv2d_input_grad the layer and conv2d its input gradient."""
    rng = np.random.default_rng(0)
    for spatial in (1, 2, 3):
        stride, padding, dilation = (2,) * spatial, (1,) * spatial, (1,) * spatial
        w = rng.standard_normal((3, 2) + (3,) * spatial)
        x = rng.standard_normal((2, 3) + (3,) * spatial)
        for extra in (0, 1):
            y = F.__dict__[f"conv_transpose{spatial}d"](tsf.tensor(x), tsf.tensor(w), None,
                                                        stride, padding, extra)
            z = rng.standard_normal(y.shape)
            back = F.__dict__[f"conv{spatial}d"](tsf.tensor(z), tsf.tensor(w), None, stride,
                                                 padding, dilation)
            assert back.shape == x.shape
            assert _inner(y.numpy(), z) == pytest.approx(_inner(x, back.numpy()), rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda: axis_maps.window_map(7, 3, 2, 1, 2),
    lambda: axis_maps.pad_map(5, 3, -1, "reflect"),
    lambda: axis_maps.pad_map(4, 2, 3, "replicate"),
    lambda: axis_maps.pad_map(4, -1, 2, "circular"),
    lambda: axis_maps.nearest_map(5, 8, None, True, "float64"),
    lambda: axis_maps.linear_map(5, 3, False, None, "float64"),
    lambda: axis_maps.cubic_map(4, 9, True, None, "float64"),
    lambda: axis_maps.area_map(7, 3),
    lambda: axis_maps.antialias_map(9, 4, "cubic"),
], ids=["window", "reflect", "replicate", "circular", "nearest", "linear", "cubic", "area",
        "antialias"])
def test_each_axis_map_and_its_transpose_are_adjoint(make):
    m = make()
    rng = np.random.default_rng(1)
    for axis in (0, 1, 2):
        shape = [2, 3, 4]
        shape[axis] = m.shape[1]
        x = rng.standard_normal(shape)
        y = m.apply(x, axis)
        z = rng.standard_normal(y.shape)
        assert _inner(y, z) == pytest.approx(_inner(x, m.T.apply(z, axis)), rel=1e-12)
        np.testing.assert_allclose(y, np.moveaxis(np.tensordot(m.matrix.toarray(), x,
                                                               axes=(1, axis)), 0, axis))


def test_unfold_and_fold_are_adjoint():
    rng = np.random.default_rng(2)
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=(1, 1), stride=(2, 1))
    x = rng.standard_normal((2, 3, 5, 6))
    cols = F.unfold(tsf.tensor(x), **kw)
    y = rng.standard_normal(cols.shape)
    back = F.fold(tsf.tensor(y), (5, 6), **kw)
    assert _inner(cols.numpy(), y) == pytest.approx(_inner(x, back.numpy()), rel=1e-12)


def test_resample_differentiates_to_any_order():
    x = tsf.tensor(np.random.default_rng(3).standard_normal((2, 5)), requires_grad=True)
    m = axis_maps.cubic_map(5, 8, False, None, "float64")

    def f(a):
        return (resample.resample(a, m, 1) ** 3).sum()

    g = tsf.func.grad(f)
    h = tsf.func.grad(lambda a: (g(a) * a).sum())(x)  # Hessian-vector product H·x = 2·grad
    np.testing.assert_allclose(h.numpy(), 3 * g(x).numpy())


# --- adaptive max pooling and unpooling ------------------------------------------------------
def test_adaptive_max_pool_keeps_the_first_maximum_and_propagates_nan_like_torch():
    torch = _torch()
    x = np.array([[[[1.0, 3.0, 3.0, 0.0, 2.0],
                    [3.0, np.nan, 1.0, 2.0, 2.0],
                    [0.0, 0.0, 0.0, 5.0, np.nan]]]])
    for size in [(1, 2), (2, 3), (3, 5), (1, 1)]:
        ours, index = F.adaptive_max_pool2d(tsf.tensor(x), size, return_indices=True)
        theirs, their_index = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size,
                                                                      return_indices=True)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(index.numpy(), their_index.numpy())
        with runtime.reference_kernels():
            ref, ref_index = adaptive.adaptive_max_pool2d(x, size)
        np.testing.assert_array_equal(ref, theirs.numpy())
        np.testing.assert_array_equal(ref_index, their_index.numpy())


def test_adaptive_max_pool_kernel_equals_the_reference():
    rng = np.random.default_rng(4)
    for _ in range(20):
        h, w = (int(n) for n in rng.integers(1, 12, 2))
        size = (int(rng.integers(1, h + 3)), int(rng.integers(1, w + 3)))
        x = rng.integers(-3, 3, (2, 3, h, w)).astype(np.float32)  # many ties
        y, index = adaptive.adaptive_max_pool2d(x, size)
        ref_y, ref_index = reference.adaptive_max_pool2d(x, size)
        np.testing.assert_array_equal(y, ref_y)
        np.testing.assert_array_equal(index, ref_index)


def test_unpooling_repeated_indices_writes_the_last_like_torch_and_its_gradient_is_exact():
    torch = _torch()
    x = np.array([[[1.0, 5.0, 2.0, 4.0, 3.0]]])
    pooled, index = F.max_pool1d(tsf.tensor(x), 2, stride=1, return_indices=True)
    assert index.numpy().tolist() == [[[1, 1, 3, 3]]]  # overlapping windows pick 5 and 4 twice
    values = tsf.tensor([[[10.0, 20.0, 30.0, 40.0]]], requires_grad=True)
    ours = F.max_unpool1d(values, index, 2, stride=1, output_size=(5,))
    theirs = torch.nn.functional.max_unpool1d(torch.tensor(values.numpy()),
                                              torch.tensor(index.numpy()), 2, 1,
                                              output_size=(5,))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.numpy().tolist() == [[[0.0, 20.0, 0.0, 40.0, 0.0]]]
    ours.backward(tsf.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]))
    # the overwritten values reach nothing (PyTorch's gather would give them 2 and 4 as well)
    assert values.grad.numpy().tolist() == [[[0.0, 2.0, 0.0, 4.0]]]


def test_max_pool_then_unpool_round_trip():
    x = tsf.tensor(np.random.default_rng(5).uniform(0.1, 1.0, (2, 3, 6, 4)))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, index = pool(x)
    restored = unpool(y, index)
    np.testing.assert_array_equal(pool(restored)[0].numpy(), y.numpy())
    assert int((restored.numpy() != 0).sum()) == y.numel()


# --- dtypes -----------------------------------------------------------------------------------
def test_integer_images_resize_and_pad_exactly_like_torch():
    torch = _torch()
    image = np.random.default_rng(6).integers(0, 256, (1, 3, 5, 7)).astype(np.uint8)
    ours = F.interpolate(tsf.tensor(image), scale_factor=1.5, mode="nearest")
    theirs = torch.nn.functional.interpolate(torch.tensor(image), scale_factor=1.5)
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    labels = image.astype(np.int64)
    for mode in ("reflect", "replicate", "circular"):
        ours = F.pad(tsf.tensor(labels), (2, 1, 1, 3), mode=mode)
        theirs = torch.nn.functional.pad(torch.tensor(labels), (2, 1, 1, 3), mode=mode)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_float32_layers_stay_float32():
    x = tsf.ones(1, 2, 4, 4, dtype="float32")
    for layer in (nn.ConvTranspose2d(2, 2, 3, stride=2), nn.Upsample(scale_factor=2,
                                                                     mode="bicubic"),
                  nn.ReflectionPad2d(1), nn.PixelShuffle(1), nn.AdaptiveMaxPool2d(3),
                  nn.Unfold(2), nn.LPPool2d(2, 2)):
        assert layer(x).dtype == np.float32, type(layer).__name__
    assert nn.Conv3d(2, 2, 1)(tsf.ones(1, 2, 2, 2, 2, dtype="float32")).dtype == np.float32


# --- errors -----------------------------------------------------------------------------------
class _Zeros:
    """A placeholder for a zero tensor of this shape, made by whichever library is called."""

    def __init__(self, shape):
        self.shape = shape


def _z(*shape):
    return _Zeros(shape)


ERRORS = [  # (function name, args, kwargs): our message must equal PyTorch's
    ("conv_transpose2d", (_z(1, 3, 4, 4), _z(4, 2, 3, 3)), {}),
    ("conv_transpose2d", (_z(1, 4, 4, 4), _z(4, 2, 3, 3)), dict(stride=2, output_padding=2)),
    ("conv_transpose1d", (_z(1, 4, 4), _z(4, 2, 3)), dict(stride=2, output_padding=2)),
    ("conv_transpose3d", (_z(1, 4, 4, 4, 4), _z(4, 2, 3, 3, 3)),
     dict(stride=2, output_padding=2)),
    ("conv_transpose2d", (_z(1, 4, 1, 1), _z(4, 2, 1, 1)), dict(padding=1)),
    ("conv_transpose1d", (_z(1, 4, 1), _z(4, 2, 1)), dict(padding=1)),
    ("conv_transpose2d", (_z(4, 4), _z(4, 2, 1, 1)), {}),
    ("conv_transpose2d", (_z(1, 4, 2, 2), _z(4, 2, 3, 3), _z(3)), {}),
    ("conv_transpose2d", (_z(1, 4, 2, 2), _z(4, 2, 3, 3)), dict(groups=3)),
    ("conv1d", (_z(4), _z(4, 2, 1)), {}),
    ("conv1d", (_z(1, 4, 3), _z(4, 2, 1)), {}),
    ("conv3d", (_z(1, 1, 2, 2, 2), _z(1, 1, 3, 3, 3)), {}),
    ("conv3d", (_z(1, 1, 4, 4, 4, 4), _z(1, 1, 3, 3, 3)), {}),
    ("conv1d", (_z(1, 1, 2), _z(1, 1, 3)), {}),
    ("unfold", (_z(1, 1, 2, 2), 3), {}),
    ("unfold", (_z(1, 1, 4, 4), 2), dict(stride=0)),
    ("unfold", (_z(1, 1, 5, 5), 2), dict(padding=-1)),
    ("fold", (_z(1, 5, 9), (4, 4), 2), {}),
    ("fold", (_z(1, 8, 8), (4, 4), 2), {}),
    ("fold", (_z(1, 1, 8, 9), (4, 4), 2), {}),
    ("pad", (_z(1, 3, 4), (1, 2, 3)), {}),
    ("pad", (_z(1, 3, 4), (1, 1) * 4), {}),
    ("pad", (_z(1, 3, 4), (4, 1)), dict(mode="reflect")),
    ("pad", (_z(1, 3, 4), (-1, -3)), dict(mode="reflect")),
    ("pad", (_z(1, 3, 4), (5, 1)), dict(mode="circular")),
    ("pad", (_z(1, 3, 4), (1, 1)), dict(mode="reflect", value=1)),
    ("pad", (_z(4), (1, 1)), dict(mode="reflect")),
    ("pad", (_z(1, 3, 4), (1, 1) * 3), dict(mode="replicate")),
    ("pad", (_z(1, 3, 4), (1, 1)), dict(mode="foo")),
    ("pixel_shuffle", (_z(1, 5, 2, 2), 2), {}),
    ("pixel_shuffle", (_z(5, 2), 2), {}),
    ("pixel_shuffle", (_z(1, 4, 2, 2), 0), {}),
    ("pixel_unshuffle", (_z(1, 1, 5, 4), 2), {}),
    ("pixel_unshuffle", (_z(1, 1, 4, 5), 2), {}),
    ("channel_shuffle", (_z(1, 4, 2, 2), 3), {}),
    ("interpolate", (_z(1, 1, 4, 4),), dict(scale_factor=0.1)),
    ("interpolate", (_z(1, 1, 4),), dict(scale_factor=0.1)),
    ("interpolate", (_z(1, 1, 4, 4, 4),), dict(size=0)),
    ("interpolate", (_z(1, 1, 4),), dict(size=(2, 3))),
    ("interpolate", (_z(1, 1, 4),), dict(scale_factor=2, align_corners=True)),
    ("interpolate", (_z(1, 1, 4),), {}),
    ("interpolate", (_z(1, 1, 4),), dict(size=2, scale_factor=2)),
    ("interpolate", (_z(1, 1, 4),), dict(size=2, mode="bilinear")),
    ("interpolate", (_z(1, 1, 4),), dict(size=2, mode="linear", antialias=True)),
    ("max_pool1d", (_z(4), 2), {}),
    ("max_pool1d", (_z(1, 1, 4), 2), dict(padding=2)),
    ("avg_pool1d", (_z(4), 2), {}),
    ("avg_pool1d", (_z(1, 1, 4), 2), dict(padding=2)),
    ("adaptive_avg_pool1d", (_z(4), 2), {}),
    ("adaptive_max_pool1d", (_z(4), 2), {}),
    ("adaptive_max_pool2d", (_z(4, 4), 2), {}),
    ("max_unpool2d", (_z(1, 1, 2, 2), np.array([[[[0, 1], [2, 16]]]]), 2), {}),
    ("max_unpool2d", (_z(1, 1, 2, 2), np.array([[[[0, 1], [2, 3]]]]), 2),
     dict(output_size=(7, 7))),
]


def _call(lib, name, args, kwargs):
    def convert(a):
        if isinstance(a, _Zeros):
            return lib.zeros(*a.shape)
        return lib.tensor(a) if isinstance(a, np.ndarray) else a
    return getattr(lib.nn.functional, name)(*[convert(a) for a in args], **kwargs)


@pytest.mark.parametrize("name, args, kwargs", ERRORS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ERRORS)])
def test_errors_read_like_torchs(name, args, kwargs):
    torch = _torch()
    with pytest.raises(Exception) as theirs:
        _call(torch, name, args, kwargs)
    with pytest.raises(type(theirs.value) if not isinstance(theirs.value, RuntimeError)
                       else RuntimeError) as ours:
        _call(tsf, name, args, kwargs)
    assert str(ours.value) == str(theirs.value).split("\n")[0]


def test_conv_transpose_output_size_errors_read_like_torchs():
    torch = _torch()
    for size in [(9, 9), (1, 2, 9)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.ConvTranspose2d(2, 2, 3, stride=2)(torch.zeros(1, 2, 3, 3), output_size=size)
        with pytest.raises(ValueError) as ours:
            nn.ConvTranspose2d(2, 2, 3, stride=2)(tsf.zeros(1, 2, 3, 3), output_size=size)
        assert str(ours.value).split(" (for an input")[0] == \
               str(theirs.value).split(" (for an input")[0]
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                         "ConvTranspose2d"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
