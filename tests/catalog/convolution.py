"""The convolution family (torchsorflow/ops/convolution.py, ops/pooling.py, ops/resample.py).

One new primitive, ``resample_axis`` (a fixed sparse map along one axis, linear), with rows for
everything built on it: interpolation in every mode, the padding modes, unfold/fold. The 1-D, 3-D
and transposed convolutions, 1-D / adaptive-max / LP pooling and unpooling add no primitive; their
rows extend those of the primitives they run on (conv2d, conv2d_input_grad, max_pool2d, ...), so
the registry test checks them too: finite differences in both modes to second order, and values
and gradients against PyTorch.
"""
import numpy as np

import torchsorflow.nn.functional as F

from . import row


def _tf(t):
    return t.nn.functional


def _normal(*shapes):
    return dict(domains=("normal",) * len(shapes), shapes=[tuple(shapes)])


# --- resample_axis: interpolation ---------------------------------------------------------------
for mode, shape, kwargs in [
        ("bilinear", (2, 2, 3, 4), dict(scale_factor=(1.5, 0.75))),
        ("bilinear", (1, 2, 3, 2), dict(size=(5, 3), align_corners=True)),
        ("bicubic", (1, 2, 3, 4), dict(size=(5, 6))),
        ("bicubic", (1, 1, 4, 3), dict(scale_factor=2, align_corners=True)),
        ("bilinear", (1, 2, 6, 5), dict(size=(3, 4), antialias=True)),
        ("bicubic", (1, 1, 7, 4), dict(size=(3, 6), antialias=True)),
        ("linear", (2, 3, 4), dict(scale_factor=1.7, recompute_scale_factor=True)),
        ("trilinear", (1, 1, 2, 3, 2), dict(scale_factor=(2, 1.5, 1))),
        ("nearest", (2, 1, 3, 5), dict(scale_factor=(1.5, 0.6))),
        ("nearest-exact", (2, 3, 5), dict(size=7)),
        ("nearest", (1, 1, 2, 2, 3), dict(size=(3, 4, 2))),
        ("area", (1, 2, 5, 4, 3), dict(size=(2, 3, 2)))]:
    row("resample_axis",
        lambda x, mode=mode, kwargs=kwargs: F.interpolate(x, mode=mode, **kwargs),
        lambda t, x, mode=mode, kwargs=kwargs: _tf(t).interpolate(x, mode=mode, **kwargs),
        **_normal(shape))

# --- resample_axis: padding modes ---------------------------------------------------------------
for mode, shape, pad in [("reflect", (2, 3, 5), (2, 4)), ("reflect", (1, 2, 3, 4), (1, 3, 2, 0)),
                         ("replicate", (2, 4), (3, -1)), ("replicate", (1, 1, 2, 2, 3),
                                                         (1, 2, 0, 1, 2, 1)),
                         ("circular", (1, 2, 3, 4), (3, -1, 3, 2)),
                         ("reflect", (1, 2, 3, 3, 3), (1, 1, 2, 0, 1, 2))]:
    row("resample_axis", lambda x, mode=mode, pad=pad: F.pad(x, pad, mode),
        lambda t, x, mode=mode, pad=pad: _tf(t).pad(x, pad, mode), **_normal(shape))

# --- resample_axis: sliding windows -------------------------------------------------------------
UNFOLD = dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2))
row("resample_axis", lambda x: F.unfold(x, **UNFOLD),
    lambda t, x: _tf(t).unfold(x, **UNFOLD), **_normal((2, 2, 4, 5)))
row("resample_axis", lambda x: F.fold(x, (4, 5), **UNFOLD),
    lambda t, x: _tf(t).fold(x, (4, 5), **UNFOLD), **_normal((2, 12, 8)))
row("resample_axis", lambda x: F.fold(x, (3, 3), 2), lambda t, x: _tf(t).fold(x, (3, 3), 2),
    **_normal((4, 4)))  # unbatched

# --- 1-D and 3-D convolutions on conv2d, transposed ones on conv2d_input_grad -------------------
C1 = dict(stride=2, padding=1, dilation=2, groups=2)
row("conv2d", lambda x, w, b: F.conv1d(x, w, b, **C1),
    lambda t, x, w, b: _tf(t).conv1d(x, w, b, **C1), **_normal((2, 4, 7), (2, 2, 3), (2,)))
row("conv2d", lambda x, w: F.conv1d(x, w, padding="same", dilation=3),
    lambda t, x, w: _tf(t).conv1d(x, w, padding="same", dilation=3), **_normal((3, 6), (2, 3, 2)))
C3 = dict(stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2)
row("conv2d", lambda x, w, b: F.conv3d(x, w, b, **C3),
    lambda t, x, w, b: _tf(t).conv3d(x, w, b, **C3),
    **_normal((1, 2, 3, 3, 4), (2, 1, 2, 2, 2), (2,)))
T1 = dict(stride=3, padding=2, output_padding=1, groups=2, dilation=2)
row("conv2d_input_grad", lambda x, w, b: F.conv_transpose1d(x, w, b, **T1),
    lambda t, x, w, b: _tf(t).conv_transpose1d(x, w, b, **T1),
    **_normal((2, 4, 3), (4, 1, 3), (2,)))
T2 = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2, dilation=(1, 2))
row("conv2d_input_grad", lambda x, w, b: F.conv_transpose2d(x, w, b, **T2),
    lambda t, x, w, b: _tf(t).conv_transpose2d(x, w, b, **T2),
    **_normal((2, 4, 3, 2), (4, 3, 3, 2), (6,)))
row("conv2d_input_grad",  # output_padding >= stride: allowed when below the dilation
    lambda x, w: F.conv_transpose2d(x, w, stride=1, padding=1, output_padding=1, dilation=2),
    lambda t, x, w: _tf(t).conv_transpose2d(x, w, stride=1, padding=1, output_padding=1,
                                            dilation=2),
    **_normal((2, 3, 2), (2, 1, 2, 2)))
T3 = dict(stride=(2, 1, 2), padding=(1, 0, 0), output_padding=(1, 0, 1))
row("conv2d_input_grad", lambda x, w, b: F.conv_transpose3d(x, w, b, **T3),
    lambda t, x, w, b: _tf(t).conv_transpose3d(x, w, b, **T3),
    **_normal((1, 2, 2, 2, 2), (2, 2, 2, 1, 2), (2,)))

# --- pooling on max_pool2d's gather / scatter, avg_pool2d and adaptive_avg_pool2d --------------
row("max_pool2d", lambda x: F.max_pool1d(x, 3, 2, padding=1, dilation=1, ceil_mode=True),
    lambda t, x: _tf(t).max_pool1d(x, 3, 2, padding=1, dilation=1, ceil_mode=True),
    **_normal((2, 3, 8)))
row("max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)),
    lambda t, x: _tf(t).adaptive_max_pool2d(x, (2, 3)), **_normal((2, 3, 5, 7)))
row("max_pool2d", lambda x: F.adaptive_max_pool1d(x, 4),
    lambda t, x: _tf(t).adaptive_max_pool1d(x, 4), **_normal((3, 7)))
UNPOOL_INDEX = np.array([[[[0, 3], [9, 14]], [[5, 2], [8, 15]]]])


def _torch_unpool(t, x):
    return _tf(t).max_unpool2d(x, t.tensor(UNPOOL_INDEX), 2, output_size=(4, 4))


row("max_pool2d_backward", lambda x: F.max_unpool2d(x, UNPOOL_INDEX, 2, output_size=(4, 4)),
    _torch_unpool, **_normal((1, 2, 2, 2)))
row("avg_pool2d", lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda t, x: _tf(t).avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    **_normal((2, 3, 8)))
row("avg_pool2d", lambda x: F.lp_pool2d(x, 2.0, (2, 3), 2),
    lambda t, x: _tf(t).lp_pool2d(x, 2.0, (2, 3), 2),
    domains=("positive",), shapes=[((2, 2, 4, 5),)])
row("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool1d(x, 3),
    lambda t, x: _tf(t).adaptive_avg_pool1d(x, 3), **_normal((2, 3, 7)))

# --- pixel shuffling: reshapes and a permutation ------------------------------------------------
row("permute", lambda x: F.pixel_shuffle(x, 2), lambda t, x: _tf(t).pixel_shuffle(x, 2),
    **_normal((2, 8, 2, 3)))
row("permute", lambda x: F.pixel_unshuffle(x, 2), lambda t, x: _tf(t).pixel_unshuffle(x, 2),
    **_normal((2, 1, 4, 6)))
