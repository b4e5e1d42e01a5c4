"""TorchsorFlow: a deep-learning framework on NumPy that you can read end to end.

The top level speaks PyTorch: ``import torchsorflow as torch`` and model code runs with its
usual names, arguments and defaults (``torch.zeros(2, 3, dtype=torch.long)``, ``x.sum(dim=1)``,
``torch.max(x, 1)``, ``torch.cat(xs, dim=0)``, ``torch.no_grad()``, ``torch.nn``,
``torch.optim``, ``torch.utils.data``). Every function here is also a Tensor method where
PyTorch has one, with the same implementation.

>>> import torchsorflow as tsf
>>> x = tsf.tensor([3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([6.])
"""
__version__ = "0.1.0"

# isort: off
from .tensor import Tensor  # first: the Tensor type registers itself with the tracer
from .tensor import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                     IntTensor, LongTensor, ShortTensor)
from . import autodiff, autograd, backends, cuda, func, linalg, ops, runtime, sparse, utils
# isort: on
from .autodiff.tracer import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                              set_grad_enabled)
from .backend import (bool_, complex64, complex128, device, float16, float32, float64,
                      get_default_dtype, int8, int16, int32, int64, set_default_dtype, uint8)
from .ops.creation import (Generator, arange, as_tensor, default_generator, empty, empty_like,
                           eye, from_numpy, full, full_like, get_rng_state, initial_seed,
                           linspace, logspace, manual_seed, ones, ones_like, rand, rand_like,
                           randint, randint_like, randn, randn_like, randperm, scalar_tensor,
                           seed, set_rng_state, tensor, zeros, zeros_like)
from .ops.elementwise import (absolute, add, clamp, clamp_max, clamp_min, cos, div, exp,
                              expm1, floor_divide, greater, greater_equal, isfinite,
                              isnan, less, less_equal, log, log1p, logical_and, logical_not,
                              logical_or, maximum, minimum, mul, neg, not_equal, power,
                              reciprocal, relu, rsqrt, sigmoid, sin, softplus, sqrt,
                              square, sub, tanh, true_divide)
from .ops.linalg import bmm, dot, inv, logdet, matmul, mm, mv, solve
from .ops.nn_ops import erf
from .ops.reductions import (all, amax, amin, any, argmax, argmin, cumsum, log_softmax,
                             logsumexp, max, mean, min, norm, softmax, std, sum, var)
from .ops.shape import (astype, broadcast_tensors, broadcast_to, cat, chunk, concat,
                        concatenate, flatten, flip, fliplr, flipud, gather, movedim, moveaxis,
                        narrow, pad, permute, repeat, reshape, scatter_add, split, squeeze,
                        stack, sum_to, swapaxes, swapdims, t, tile, transpose, unbind,
                        unflatten, unsqueeze)
from .ops.special import digamma, erfinv, lgamma, polygamma
from .ops.pointwise import *  # noqa: F403 (its __all__: the element-wise math functions)
from .ops.scans import cummax, cummin, cumprod, diff, logcumsumexp, prod
from .ops.sorting import (argsort, bucketize, kthvalue, median, mode, msort, nanmedian,
                          searchsorted, sort, topk, unique, unique_consecutive)
from .ops.statistics import (aminmax, count_nonzero, nanmean, nanquantile, nansum, quantile,
                             std_mean, var_mean)
from .ops.indexing import (argwhere, index_add, index_copy, index_fill, index_put, index_select,
                           masked_fill, masked_scatter, masked_select, nonzero, put, scatter,
                           scatter_reduce, take, take_along_dim, where)
from .ops.structure import (atleast_1d, atleast_2d, atleast_3d, block_diag, cartesian_prod,
                            column_stack, combinations, diag, diag_embed, diagflat, diagonal,
                            dstack, hstack, meshgrid, repeat_interleave, roll, rot90, row_stack,
                            trace, tril, tril_indices, triu, triu_indices, vstack)
from .ops.einsum import (einsum, inner, tensordot, vdot)
from .ops.products import (addbmm, addmm, addmv, addr, baddbmm, chain_matmul, cross, ger, kron,
                           matrix_power, outer)
from .ops.random import (bernoulli, multinomial, normal, poisson)
from .ops.decompositions import det, pinverse, slogdet
from .ops.decompositions import cholesky_factor as cholesky, qr_reduced as qr, svd_uv as svd
from .sparse import sparse_coo, sparse_coo_tensor, spmm, strided
from numpy import finfo, from_dlpack as _numpy_from_dlpack, iinfo

# PyTorch's other names for the same things
abs = absolute
pow = power
clip = clamp
# torch.equal is one bool for the whole Tensors (pointwise.equal); eq is element-wise
eq, ne, lt, le, gt, ge = ops.elementwise.equal, not_equal, less, less_equal, greater, greater_equal
subtract, multiply, divide, negative = sub, mul, div, neg
inverse = inv
half, float, double = float16, float32, float64  # noqa: A001 - torch.float is float32
short, int, long = int16, int32, int64  # noqa: A001 - torch.int is int32
bool = bool_  # noqa: A001 - torch.bool
cfloat, cdouble = complex64, complex128
Size = tuple
set_num_threads = runtime.set_num_threads
get_num_threads = runtime.get_num_threads
registry = ops.registry


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def numel(input):
    return input.numel()


def clone(input, *, memory_format=None):
    return input.clone()


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A Tensor sharing memory with any object that speaks DLPack (a PyTorch tensor, a NumPy
    array), or a copy of it with ``copy=True``. The memory must be on the CPU; read-only memory
    stays read-only (writing into the Tensor is then an error)."""
    from .backend import check_device
    check_device(device, "from_dlpack")
    try:
        array = _numpy_from_dlpack(ext_tensor, copy=copy)
    except RuntimeError as error:   # NumPy's "Unsupported dtype in DLTensor." names no dtype
        dtype = getattr(ext_tensor, "dtype", None)
        if dtype is None or "dtype" not in str(error):
            raise
        raise TypeError(f"from_dlpack: dtype {dtype} has no NumPy equivalent; convert it first "
                        "(for example .float())") from None
    return Tensor._wrap(array)


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted: every TorchsorFlow kernel is deterministic for a given thread count."""


def compile(model=None, **options):  # noqa: A001 - torch.compile
    """``torch.compile``: TorchsorFlow runs eagerly, so the model comes back unchanged."""
    return model if model is not None else (lambda m: m)


def summary(model, input_size=None, depth=3, **kwargs):
    """Per-layer parameters, shapes and MACs of ``model``; see
    :func:`torchsorflow.nn.summary.summary`."""
    from .nn.summary import summary as _summary
    return _summary(model, input_size=input_size, depth=depth, **kwargs)


_SUBPACKAGES = {"nn", "optim", "data", "models", "stats", "embeddings", "influence", "io", "tour",
                "distributions", "distributed"}


def __getattr__(name):
    """Import sub-packages on first use (``tsf.nn``, ``tsf.optim`` ...), keeping ``import`` fast;
    ``save`` and ``load`` (``torch.save``/``torch.load``) come from :mod:`.io.serialization`."""
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("save", "load"):
        from .io import serialization
        return getattr(serialization, name)
    raise AttributeError(f"module 'torchsorflow' has no attribute {name!r}")


__all__ = [
    # the Tensor, dtypes and the device
    "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
    "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "Size", "device", "float16",
    "float32", "float64", "half", "float",
    "double", "int8", "int16", "int32", "int64", "short", "int", "long", "uint8", "bool",
    "bool_", "complex64", "complex128", "cfloat", "cdouble", "finfo", "iinfo",
    "get_default_dtype", "set_default_dtype", "is_tensor", "is_floating_point", "numel",
    # creation and randomness
    "tensor", "as_tensor", "from_numpy", "from_dlpack", "scalar_tensor", "zeros", "ones", "empty",
    "full", "eye", "arange", "linspace", "logspace", "zeros_like", "ones_like", "empty_like",
    "full_like", "rand", "randn", "randint", "randperm", "rand_like", "randn_like",
    "randint_like", "clone", "Generator", "default_generator", "manual_seed", "seed",
    "initial_seed", "get_rng_state", "set_rng_state",
    # element-wise
    "abs", "absolute", "add", "sub", "subtract", "mul", "multiply", "div", "divide",
    "true_divide", "floor_divide", "pow", "power", "neg", "negative", "reciprocal", "exp",
    "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "sin", "cos", "tanh", "sigmoid", "relu",
    "softplus", "erf", "sign", "floor", "maximum", "minimum", "clamp", "clamp_min", "clamp_max",
    "clip", "where", "eq", "ne", "lt", "le", "gt", "ge", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_not",
    "isnan", "isfinite", "lgamma", "digamma", "polygamma", "erfinv",
    *ops.pointwise.__all__,
    # reductions
    "sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin", "all", "any",
    "logsumexp", "softmax", "log_softmax", "norm", "cumsum", "prod", "cumprod", "logcumsumexp",
    "cummax", "cummin", "diff",
    # shapes and indexing
    "reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis",
    "flatten", "unflatten", "squeeze", "unsqueeze", "broadcast_to", "broadcast_tensors", "cat",
    "concat", "concatenate", "stack", "split", "chunk", "unbind", "narrow", "flip", "fliplr",
    "flipud", "gather", "scatter_add", "repeat", "tile", "pad", "sum_to", "astype",
    # linear algebra
    "matmul", "mm", "bmm", "mv", "dot", "solve", "inv", "inverse", "logdet",
    # sorting, statistics, indexing, structure, products, decompositions, sampling, sparse
    "argsort", "bucketize", "kthvalue", "median", "mode", "msort", "nanmedian", "searchsorted",
    "sort", "topk", "unique", "unique_consecutive", "aminmax", "count_nonzero", "nanmean",
    "nanquantile", "nansum", "quantile", "std_mean", "var_mean", "argwhere", "index_add",
    "index_copy", "index_fill", "index_put", "index_select", "masked_fill", "masked_scatter",
    "masked_select", "nonzero", "put", "scatter", "scatter_reduce", "take", "take_along_dim",
    "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "cartesian_prod", "column_stack",
    "combinations", "diag", "diag_embed", "diagflat", "diagonal", "dstack", "hstack", "meshgrid",
    "repeat_interleave", "roll", "rot90", "row_stack", "trace", "tril", "tril_indices", "triu",
    "triu_indices", "vstack", "einsum", "inner", "tensordot", "vdot", "addbmm", "addmm", "addmv",
    "addr", "baddbmm", "chain_matmul", "cross", "ger", "kron", "matrix_power", "outer", "bernoulli",
    "multinomial", "normal", "poisson", "det", "pinverse", "slogdet", "cholesky", "qr", "svd",
    "sparse_coo", "sparse_coo_tensor", "spmm", "strided", "linalg", "sparse",
    # autodiff and the runtime
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
    "autodiff", "autograd", "func", "registry", "runtime", "set_num_threads", "get_num_threads",
    "use_deterministic_algorithms", "compile", "summary",
    # torch.save / torch.load
    "save", "load",
    # sub-packages
    "backends", "cuda", "ops", "utils", "nn", "optim", "data", "models", "stats", "embeddings",
    "influence", "io", "tour",
]
