"""``torch.backends`` flags that example code sets (``cudnn.deterministic = True``, ...).

They are accepted and stored; TorchsorFlow's kernels are deterministic and CPU-only, so none of
them changes a result. ``mps.is_available()`` and ``cuda.is_built()`` are False.
"""
from __future__ import annotations

from types import SimpleNamespace

__all__ = ["cudnn", "mps", "cuda", "openmp", "mkldnn"]

cudnn = SimpleNamespace(enabled=True, deterministic=False, benchmark=False,
                        allow_tf32=False, is_available=lambda: False)
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = SimpleNamespace(is_built=lambda: False,
                       matmul=SimpleNamespace(allow_tf32=False,
                                              allow_fp16_reduced_precision_reduction=True))
openmp = SimpleNamespace(is_available=lambda: False)
mkldnn = SimpleNamespace(is_available=lambda: False, enabled=False)
