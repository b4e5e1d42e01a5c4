"""Process-wide settings of the CPU runtime, for library users.

* :func:`set_num_threads` / :func:`get_num_threads`: the threads BLAS and the kernels use, as in
  ``torch.set_num_threads``;
* :func:`keep_freed_memory`: let glibc's malloc keep freed memory for reuse (the ``tsf`` commands
  turn it on; a plain ``import torchsorflow`` never does; ``TORCHSORFLOW_MALLOC_TUNING=1`` turns
  it on at import, ``=0`` forbids it);
* :func:`reference_kernels`: run convolution and pooling on the plain reference engines;
* :func:`release_workspaces`: free the scratch buffers kept between kernel calls.

Everything here is owned by :mod:`torchsorflow.ops.kernels.runtime`, which also documents each
tuned constant.
"""
from .ops.kernels.runtime import (get_num_threads, keep_freed_memory, malloc_tuned,
                                  reference_kernels, release_workspaces, set_num_threads)

__all__ = ["get_num_threads", "keep_freed_memory", "malloc_tuned", "reference_kernels",
           "release_workspaces", "set_num_threads"]
