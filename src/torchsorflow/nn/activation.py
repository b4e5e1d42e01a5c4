"""Activation layers: thin modules around :mod:`torchsorflow.nn.functional`, with PyTorch's
constructor arguments, attributes and ``repr``.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> nn.LeakyReLU(0.1)(tsf.tensor([-2.0, 3.0]))
tensor([-0.2,  3. ])
>>> nn.Hardtanh(-2.0, 2.0, inplace=True)
Hardtanh(min_val=-2.0, max_val=2.0, inplace=True)
"""
from __future__ import annotations

import warnings

from .. import ops
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t
from .module import Module
from .parameter import Parameter


def _inplace_suffix(inplace):
    return ", inplace=True" if inplace else ""


class _Inplace(Module):
    """An activation whose only argument is ``inplace`` (shown in the repr when set)."""

    _function = None

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _Plain(Module):
    """An activation without arguments (PyTorch's accept and ignore any)."""

    _function = None

    def __init__(self, *args: object, **kwargs: object):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input)


class ReLU(_Inplace):
    """max(x, 0)."""

    _function = F.relu


class SELU(_Inplace):
    """scale·ELU(x, α) with the self-normalising constants."""

    _function = F.selu


class SiLU(_Inplace):
    """x·σ(x), also called swish."""

    _function = F.silu


class Mish(_Inplace):
    """x·tanh(softplus(x))."""

    _function = F.mish


class Hardswish(_Inplace):
    """x·hardsigmoid(x); PyTorch's repr never shows ``inplace``."""

    _function = F.hardswish

    def extra_repr(self) -> str:
        return ""


class Hardsigmoid(Hardswish):
    """0 below −3, 1 above 3, x/6 + 1/2 between."""

    _function = F.hardsigmoid


class Tanh(_Plain):
    _function = F.tanh


class Sigmoid(_Plain):
    _function = F.sigmoid


class Softsign(_Plain):
    """x / (1 + |x|)."""

    _function = F.softsign


class Tanhshrink(_Plain):
    """x − tanh(x)."""

    _function = F.tanhshrink


class LogSigmoid(_Plain):
    """log σ(x), exact for any x."""

    _function = F.logsigmoid


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope``·x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class ELU(Module):
    """x for x > 0, α·(exp(x) − 1) otherwise."""

    _function = F.elu

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class CELU(ELU):
    """max(0, x) + min(0, α·(exp(x/α) − 1))."""

    _function = F.celu


class Hardtanh(Module):
    """``input`` clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None):
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and rename to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and rename to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        if not max_val > min_val:
            raise ValueError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Threshold(Module):
    """x where x > ``threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_suffix(self.inplace)}"


class RReLU(Module):
    """Randomised leaky ReLU: random negative slopes in [lower, upper] while training, their
    mean in evaluation."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_suffix(self.inplace)}"


class PReLU(Module):
    """x for x > 0, a·x otherwise, with ``a`` learned: one slope, or one per channel
    (``num_parameters`` = the number of channels, dimension 1 of the input)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: object = None,
                 dtype: _dtype_t = None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(ops.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class GELU(Module):
    """x·Φ(x); ``approximate='tanh'`` uses the tanh formula of the original paper."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(βx))/β, linear above ``threshold`` for numerical stability."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardshrink(Module):
    """x where |x| > λ, else 0."""

    _function = F.hardshrink

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x − λ above λ, x + λ below −λ, 0 between."""

    _function = F.softshrink


class GLU(Module):
    """a·σ(b) for the halves a, b of the input along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(Module):
    """exp(x)/Σexp(x) along ``dim``."""

    _function = F.softmax

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    _function = F.log_softmax


class Softmin(Softmax):
    """softmax(−x) along ``dim``."""

    _function = F.softmin


class Softmax2d(Module):
    """Softmax over the channels at every position of a (N, C, H, W) or (C, H, W) input."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             "instead")
        return F.softmax(input, -3, _stacklevel=5)
