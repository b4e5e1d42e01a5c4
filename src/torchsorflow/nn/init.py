"""Weight initialisation, with ``torch.nn.init``'s names, formulas and defaults.

Every function fills a Tensor *in place* (hence the trailing underscore), draws from
TorchsorFlow's seedable default generator (see :func:`torchsorflow.manual_seed`) unless a
``generator`` is given, and returns the Tensor.

Why the odd-looking default ``kaiming_uniform_(w, a=math.sqrt(5))`` of Linear and Conv2d? With
``a=√5`` the gain is ``√(2/(1+5)) = √(1/3)`` and the bound ``gain·√(3/fan_in)`` becomes
``1/√fan_in``: the classic "uniform in ±1/√fan_in" rule, expressed through Kaiming's formula.

>>> import torchsorflow as tsf
>>> from torchsorflow.nn import init
>>> w = tsf.zeros(256, 64)
>>> _ = init.kaiming_uniform_(w, a=5 ** 0.5)
>>> float(abs(w).max()) <= 1 / 64 ** 0.5
True
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tracer import no_grad
from ..ops.creation import default_generator

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
           "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_"]


def _rng(generator):
    return (generator or default_generator).rng


def _fill(tensor, values):
    with no_grad():
        tensor.copy_(np.asarray(values).astype(tensor.dtype, copy=False))
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity``."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = inputs per output unit (in_channels × kernel area), fan_out the converse."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive_field = math.prod(tensor.shape[2:]) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _float32_target(tensor):
    """The tensor's own array when it can be filled in place in float32 (the fast path)."""
    array = tensor._array
    return array if array.dtype == np.float32 and array.flags.c_contiguous else None


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    out = _float32_target(tensor)
    if out is None:
        return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))
    _rng(generator).random(out=out.reshape(-1), dtype=np.float32)
    out *= np.float32(b - a)
    out += np.float32(a)
    return tensor


def _box_muller_(flat, std, rng, chunk=1 << 20):
    """Standard normals by Box-Muller on float32 uniforms, written in place chunk by chunk.

    Drawing float64 normals and converting (NumPy's default) makes a 25088×4096 VGG weight cost
    gigabytes of temporaries and most of the model's build time; this is how PyTorch fills
    float32 tensors too, and it keeps vgg11's build at PyTorch's pace.
    """
    for start in range(0, flat.size, 2 * chunk):
        part = flat[start:start + 2 * chunk]
        half = (part.size + 1) // 2
        u = rng.random(2 * half, dtype=np.float32)
        radius = np.sqrt(np.float32(-2) * np.log1p(-u[:half])) * np.float32(std)
        angle = u[half:] * np.float32(2 * np.pi)
        part[:half] = radius * np.cos(angle)
        part[half:] = (radius * np.sin(angle))[:part.size - half]


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    out = _float32_target(tensor)
    if out is None:
        return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))
    _box_muller_(out.reshape(-1), std, _rng(generator))
    if mean:
        out += np.float32(mean)
    return tensor


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) restricted to [a, b], by inverting the normal CDF on a uniform sample."""
    from scipy.special import erf, erfinv
    cdf = lambda x: 0.5 * (1 + erf((x - mean) / (std * math.sqrt(2))))  # noqa: E731
    u = _rng(generator).uniform(cdf(a), cdf(b), tensor.shape)
    values = mean + std * math.sqrt(2) * erfinv(2 * u - 1)
    return _fill(tensor, np.clip(values, a, b))


def constant_(tensor, val):
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Uniform in ±gain·√(3/fan): He et al.'s variance-preserving scale for (leaky) ReLU nets."""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al.)."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def default_layer_init_(weight, bias=None):
    """PyTorch's default for Linear and Conv: kaiming-uniform (a=√5) weights, bias in ±1/√fan_in."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
