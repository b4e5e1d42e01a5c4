"""Fast pure-NumPy compute kernels behind Conv2d and the pooling layers (no autodiff here).

The autodiff layer (:mod:`torchsorflow.ops.nn_ops`) wraps each kernel as a differentiable
primitive; the kernels themselves only compute arrays. Modules:

* :mod:`.conv`: ``conv2d``, ``conv2d_grad_input``, ``conv2d_grad_weight`` (mutual adjoints);
* :mod:`.pool`: max / average / adaptive-average pooling and their backward maps;
* :mod:`.shapes`: output sizes with clear errors when a kernel does not fit.
"""
from .conv import conv2d, conv2d_grad_input, conv2d_grad_weight
from .shapes import conv_output_hw, pool_output_hw

__all__ = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight", "conv_output_hw",
           "pool_output_hw"]
