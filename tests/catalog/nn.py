"""Fused primitives of neural networks (torchsorflow/ops/nn_ops.py, ops/batch_norm.py)."""
import numpy as np

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow.ops import nn_ops

from . import row, unary

GEOMETRY = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
TORCH_GEOMETRY = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
X, W, GY = (2, 4, 5, 6), (6, 2, 3, 2), (2, 6, 3, 4)

row("linear", F.linear, lambda t, x, w, b: t.nn.functional.linear(x, w, b),
    domains=("normal",) * 3, shapes=[((2, 3, 4), (5, 4), (5,))])
row("linear", F.linear, lambda t, x, w: t.nn.functional.linear(x, w),
    domains=("normal",) * 2, shapes=[((3, 4), (2, 4))])
row("conv2d", lambda x, w, b: F.conv2d(x, w, b, **GEOMETRY),
    lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, **TORCH_GEOMETRY),
    domains=("normal",) * 3, shapes=[(X, W, (6,))])
row("conv2d_input_grad",
    lambda gy, w: nn_ops._conv_input_grad(gy, w, input_hw=X[2:], **GEOMETRY),
    lambda t, gy, w: t.nn.grad.conv2d_input(X, w, gy, **TORCH_GEOMETRY),
    domains=("normal",) * 2, shapes=[(GY, W)])
row("conv2d_weight_grad",
    lambda gy, x: nn_ops._conv_weight_grad(gy, x, kernel_hw=W[2:], **GEOMETRY),
    lambda t, gy, x: t.nn.grad.conv2d_weight(x, W, gy, **TORCH_GEOMETRY),
    domains=("normal",) * 2, shapes=[(GY, X)])
row("max_pool2d", lambda x: F.max_pool2d(x, 2, 1, padding=1),
    lambda t, x: t.nn.functional.max_pool2d(x, 2, 1, padding=1), shapes=[((2, 3, 4, 5),)])
MAX_INDEX = np.array([[[[0, 5], [11, 3]]]])


def _torch_unpool(t, g, shape=(1, 1, 3, 4)):
    return t.zeros(shape[0] * shape[1] * shape[2] * shape[3], dtype=g.dtype).index_add(
        0, t.tensor(MAX_INDEX.ravel()), g.reshape(-1)).reshape(shape)


row("max_pool2d_backward",
    lambda g: nn_ops._pool_scatter(g, index=MAX_INDEX, input_shape=(1, 1, 3, 4)),
    _torch_unpool, shapes=[((1, 1, 2, 2),)])
AVG = dict(kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), ceil_mode=True,
           count_include_pad=False, divisor_override=None)
row("avg_pool2d", lambda x: F.avg_pool2d(x, (3, 2), 2, 1, True, False),
    lambda t, x: t.nn.functional.avg_pool2d(x, (3, 2), 2, 1, True, False),
    shapes=[((2, 3, 5, 6),)])


def _torch_adjoint(t, forward, shape, gy):
    x = t.zeros(shape, dtype=gy.dtype, requires_grad=True)
    return t.autograd.grad(forward(x), x, gy, create_graph=True)[0]


row("avg_pool2d_backward",
    lambda gy: nn_ops._avg_pool_backward(gy, input_shape=(2, 3, 5, 6), **AVG),
    lambda t, gy: _torch_adjoint(t, lambda x: t.nn.functional.avg_pool2d(x, (3, 2), 2, 1, True,
                                                                         False),
                                 (2, 3, 5, 6), gy),
    shapes=[((2, 3, 3, 4),)])
row("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (2, 3)), shapes=[((2, 3, 5, 7),)])
row("adaptive_avg_pool2d_backward",
    lambda gy: nn_ops._adaptive_avg_pool_backward(gy, input_shape=(2, 3, 5, 7),
                                                  output_size=(2, 3)),
    lambda t, gy: _torch_adjoint(t, lambda x: t.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
                                 (2, 3, 5, 7), gy),
    shapes=[((2, 3, 2, 3),)])
row("batch_norm", lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
    lambda t, x, g, b: t.nn.functional.batch_norm(x, None, None, g, b, training=True),
    domains=("normal", "positive", "normal"), shapes=[((4, 3, 2, 2), (3,), (3,))])
unary("erf", tsf.erf, lambda t, x: t.erf(x))
