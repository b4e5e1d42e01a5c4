"""The NumPy compute kernels behind convolution, pooling and reductions (no autodiff here).

The autodiff layer (:mod:`torchsorflow.ops.nn_ops`) wraps each kernel as a differentiable
primitive; the kernels only compute arrays. Modules:

* :mod:`.runtime`: the one owner of threads, BLAS thread limits, workspaces, chunk sizes, the
  tuned constants and the malloc switch;
* :mod:`.conv`: ``conv2d``, ``conv2d_grad_input``, ``conv2d_grad_weight`` (mutual adjoints),
  dispatching to the engines :mod:`.im2col`, :mod:`.conv_special` and :mod:`.conv_shift`;
* :mod:`.pool`, :mod:`.pool_tiled`, :mod:`.adaptive`: max / average / adaptive-average pooling
  and their backward maps;
* :mod:`.reference`: the plain textbook engine for every convolution and pooling map, which the
  tests hold the tuned engines to (and ``runtime.reference_kernels()`` switches to);
* :mod:`.reduce`: sums over several axes through BLAS;
* :mod:`.geometry`, :mod:`.shapes`: checked sizes, with clear errors when a kernel does not fit.
"""
from . import adaptive, conv, pool, reduce, reference, runtime
from .conv import conv2d, conv2d_grad_input, conv2d_grad_weight
from .shapes import conv_output_hw, pool_output_hw

__all__ = ["adaptive", "conv", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "conv_output_hw", "pool", "pool_output_hw", "reduce", "reference", "runtime"]
