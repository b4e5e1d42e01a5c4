"""Batch normalisation (seed 000, exercise 2) with PyTorch's semantics.

Training normalises every channel with the batch mean μ_B and the *biased* batch variance σ²_B,
then scales by γ (``weight``) and shifts by β (``bias``). Because a test batch may hold a single
example, the layer also keeps running estimates (updated with the *unbiased* variance) and uses
them in ``eval()`` mode — the answer to the exercise's third question. The backward pass is the
seed's hand-derived formula, fused in :func:`torchsorflow.ops.nn_ops.batch_norm_train`.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> bn = nn.BatchNorm1d(3)
>>> bn
BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
>>> y = bn(tsf.randn(8, 3))
>>> int(bn.num_batches_tracked)
1
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import functional as F
from .common_types import _dtype_t
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _expected_dims: tuple = ()
    _version = 2   # version 2 added the num_batches_tracked buffer

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: _dtype_t = None,
                 *, bias: bool = True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(ops.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(ops.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", ops.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ops.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """A checkpoint older than the ``num_batches_tracked`` counter (saved before version 2,
        or without version metadata) keeps the module's own counter, as in PyTorch."""
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._array[...] = 0
            self.running_var._array[...] = 1
            self.num_batches_tracked._array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight._array[...] = 1
            if self.bias is not None:
                self.bias._array[...] = 0

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            wanted = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"expected {wanted} input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels "
                             f"(dim 1), got input of shape {tuple(input.shape)}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._array += 1
            if self.momentum is None:  # cumulative moving average over all batches so far
                factor = 1.0 / float(self.num_batches_tracked._array)
        # Batch statistics in training, and always when no running statistics are kept.
        use_batch = self.training or self.running_mean is None
        track = not use_batch or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, one (γ, β) pair per channel C."""

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, statistics per channel over N, H and W."""

    _expected_dims = (4,)
