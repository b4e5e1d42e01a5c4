"""``SyncBatchNorm``: batch normalisation whose batch is the union of every rank's batch.

Under data parallelism each rank sees a slice of the batch; plain BatchNorm would normalise each
slice with its own statistics, a different model from one process seeing the whole batch. Here
the statistics are sums over all ranks, so the layer computes exactly BatchNorm on the
concatenated batch (proved by test). Forward, per channel, with M = Σ_ranks (values per channel):
each rank's count, mean and sum of squared deviations are gathered and combined into μ_B and
σ²_B (:func:`sync_batch_stats`).

Backward is the seed's BatchNorm formula (seed 000, exercise 2; see
:mod:`torchsorflow.ops.batch_norm`) where its two per-channel sums over the batch become sums over
all ranks -- the only change::

    Σ ∂L/∂y_i  →  allreduce(Σ ∂L/∂y_i)
    Σ ∂L/∂y_i (a_i − μ_B)  →  allreduce(Σ ∂L/∂y_i (a_i − μ_B))
    ∂L/∂a_i = γs·∂L/∂y_i − γs³·(a_i − μ_B)·allreduce(Σ∂L/∂y(a−μ_B))/M − γs·allreduce(Σ∂L/∂y)/M

with s = 1/√(σ²_B + ε). ∂L/∂γ and ∂L/∂β stay this rank's own sums, as in torch:
DistributedDataParallel averages them with every other gradient.

The rule runs fused in NumPy for a plain ``backward()``; when something differentiates the rule
itself (``create_graph=True``, forward-over-reverse) it is written term by term with the
differentiable all-reduce of :mod:`torchsorflow.distributed.nn.functional`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..autodiff.tracer import Primitive, is_constant
from ..tensor import Tensor
from .module import Module
from .normalization import _BatchNorm


def _layout(x):
    return x.shape[0], x.shape[1], math.prod(x.shape[2:])


def _per_channel(v, x):
    """A per-channel vector shaped to broadcast against ``x`` (N, C, ...)."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _channel_sums(a):
    n, c, length = _layout(a)
    return np.einsum("ncl->c", a.reshape(n, c, length))


def _allreduce(array):
    from ..distributed.collectives import all_reduce_array
    return all_reduce_array(array, name="SyncBatchNorm")


def sync_batch_stats(x):
    """(μ_B, σ²_B, M) over every rank's (N, C, ...) array: per-channel mean and biased variance of
    the union of the ranks' batches, and its number of values per channel.

    One all-gather of each rank's (count, mean, Σ(a − mean)²), combined with Chan et al.'s
    pairwise formula ``M2 = Σ_r M2_r + Σ_r n_r (μ_r − μ)²``: as stable as BatchNorm's two passes
    (no sum of squares minus a squared sum), with one message per layer instead of two."""
    from ..distributed.collectives import all_gather_array
    n, c, length = _layout(x)
    count = n * length
    local = x.reshape(n, c, length)
    mean = np.einsum("ncl->c", local) / max(count, 1)
    centered = local - mean.astype(x.dtype)[None, :, None]
    m2 = np.einsum("ncl,ncl->c", centered, centered)
    stats = np.concatenate([[count], mean, m2]).astype(np.float64)
    everyone = all_gather_array(stats[None], name="SyncBatchNorm")
    counts, means, m2s = everyone[:, 0], everyone[:, 1:c + 1], everyone[:, c + 1:]
    total = int(counts.sum())
    mu = counts @ means / max(total, 1)
    var = (m2s.sum(axis=0) + counts @ (means - mu) ** 2) / max(total, 1)
    return mu.astype(x.dtype), var.astype(x.dtype), total


def _impl(x, gamma, beta, eps, mu, var, count):
    scale = gamma / np.sqrt(var + eps)
    return x * _per_channel(scale, x) + _per_channel(beta - mu * scale, x)


def _global_sum(t, axes):
    from ..distributed.nn.functional import all_reduce
    return all_reduce(ops.sum(t, axes, keepdims=True))


def _pieces(x, eps, mu, var, count):
    """μ_B and 1/√(σ²_B+ε) as Tensors: recomputed with differentiable all-reduces when ``x`` is
    being differentiated, otherwise the forward pass's constants."""
    if is_constant(x):
        return (Tensor._wrap(_per_channel(mu, x._array)),
                Tensor._wrap(_per_channel(1 / np.sqrt(var + eps), x._array)))
    axes = (0,) + tuple(range(2, x.ndim))
    mu_t = ops.div(_global_sum(x, axes), float(count))
    centered = ops.sub(x, mu_t)
    var_t = ops.div(_global_sum(ops.mul(centered, centered), axes), float(count))
    return mu_t, ops.rsqrt(ops.add(var_t, eps))


def _fused_vjp(g, x, gamma, eps, mu, var, count):
    n, c, length = _layout(x)
    inv_std = 1 / np.sqrt(var + eps)
    centered = x - _per_channel(mu, x)                                       # a_i − μ_B
    sum_g = _channel_sums(g)                                                 # Σ ∂L/∂y_i
    sum_gc = np.einsum("ncl,ncl->c", g.reshape(n, c, length), centered.reshape(n, c, length))
    totals = _allreduce(np.concatenate([sum_g, sum_gc]))                     # over all ranks
    k1 = gamma * inv_std
    k2 = -k1 * inv_std * inv_std * totals[c:] / count
    k3 = -k1 * totals[:c] / count
    dx = g * _per_channel(k1, x) + centered * _per_channel(k2, x) + _per_channel(k3, x)
    return dx.astype(x.dtype, copy=False), (sum_gc * inv_std).astype(gamma.dtype), sum_g


def _seed_vjp(g, x, gamma, eps, mu, var, count):
    """The seed's terms, with the two batch sums all-reduced (differentiable throughout)."""
    axes = (0,) + tuple(range(2, x.ndim))
    mu_B, inv_std = _pieces(x, eps, mu, var, count)
    gamma_b = ops.reshape(gamma, (1, -1) + (1,) * (x.ndim - 2))
    centered = ops.sub(x, mu_B)
    local_g = ops.sum(g, axes, keepdims=True)                                 # Σ ∂L/∂y_i here
    local_gc = ops.sum(ops.mul(g, centered), axes, keepdims=True)
    from ..distributed.nn.functional import all_reduce
    sum_g, sum_gc = all_reduce(local_g), all_reduce(local_gc)                 # ... on all ranks
    dL_dahat = ops.mul(g, gamma_b)
    dL_dvar = ops.mul(ops.mul(gamma_b, sum_gc), ops.mul(-0.5, ops.mul(inv_std, ops.mul(inv_std,
                                                                                       inv_std))))
    dL_dmu = ops.neg(ops.mul(ops.mul(gamma_b, sum_g), inv_std))
    dL_da = ops.add(ops.add(ops.mul(dL_dahat, inv_std),
                            ops.mul(centered, ops.mul(dL_dvar, 2.0 / count))),
                    ops.mul(dL_dmu, 1.0 / count))
    channels = (gamma.shape[0],)
    return (dL_da, ops.reshape(ops.mul(local_gc, inv_std), channels),
            ops.reshape(local_g, channels))


def _vjp(g, ans, x, gamma, beta, eps, mu, var, count):
    if is_constant(g, x, gamma):
        dx, dgamma, dbeta = _fused_vjp(g._array, x._array, gamma._array, eps, mu, var, count)
        return Tensor._wrap(dx), Tensor._wrap(dgamma), Tensor._wrap(dbeta)
    return _seed_vjp(g, x, gamma, eps, mu, var, count)


def _jvp(tangents, ans, x, gamma, beta, eps, mu, var, count):
    """dâ = (ṫ − mean ṫ − â·mean(â ṫ))/√(σ²+ε) with means over all ranks; dy = γ dâ + γ̇ â + β̇."""
    tx, tgamma, tbeta = tangents
    axes = (0,) + tuple(range(2, x.ndim))
    mu_B, inv_std = _pieces(x, eps, mu, var, count)
    ahat = ops.mul(ops.sub(x, mu_B), inv_std)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = None
    if tx is not None:
        mean_t = ops.div(_global_sum(tx, axes), float(count))
        mean_at = ops.div(_global_sum(ops.mul(ahat, tx), axes), float(count))
        dahat = ops.mul(ops.sub(ops.sub(tx, mean_t), ops.mul(ahat, mean_at)), inv_std)
        out = ops.mul(ops.reshape(gamma, shape), dahat)
    if tgamma is not None:
        term = ops.mul(ops.reshape(tgamma, shape), ahat)
        out = term if out is None else ops.add(out, term)
    if tbeta is not None:
        term = ops.reshape(tbeta, shape)
        out = term if out is None else ops.add(out, term)
    return out


_sync_batch_norm = Primitive("sync_batch_norm", _impl, vjp=_vjp, jvp=_jvp,
                             joint_vjp=True, joint_jvp=True)


def sync_batch_norm(input, running_mean, running_var, weight, bias, momentum, eps):
    """Training-mode batch norm with statistics over all ranks; updates the running statistics
    (when given) with the global mean and unbiased variance."""
    mu, var, count = sync_batch_stats(input._array)
    if count <= 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{tuple(input.shape)} on this rank and {count} values per channel on "
                         "all ranks together")
    if running_mean is not None:
        running_mean._array *= 1.0 - momentum
        running_mean._array += momentum * mu
    if running_var is not None:
        running_var._array *= 1.0 - momentum
        running_var._array += (momentum * count / (count - 1)) * var
    channels = input.shape[1]
    gamma = weight if weight is not None else Tensor._wrap(np.ones(channels, input.dtype))
    beta = bias if bias is not None else Tensor._wrap(np.zeros(channels, input.dtype))
    return _sync_batch_norm(input, gamma, beta, eps=eps, mu=mu, var=var, count=count)


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over N-D inputs (N, C, ...) whose training statistics cover every rank's batch.

    Outside a process group of more than one rank, or in eval mode, it is plain BatchNorm.
    ``convert_sync_batchnorm(model)`` swaps every BatchNorm of a model for one.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected {self.num_features} channels (dim 1), got "
                             f"input of shape {tuple(input.shape)}")

    def _synchronised(self):
        from .. import distributed as dist
        if not dist.is_initialized():
            return False
        dist.process_group._default_group(self.process_group, "SyncBatchNorm")
        return dist.get_world_size() > 1

    def forward(self, input):
        use_batch = self.training or self.running_mean is None
        if not (use_batch and self._synchronised()):
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._array += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._array)
        track = self.track_running_stats
        return sync_batch_norm(input, self.running_mean if track else None,
                               self.running_var if track else None, self.weight, self.bias,
                               factor, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its
        parameters and running statistics (a BatchNorm passed directly is returned converted)."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            if module.affine:
                converted.weight = module.weight
                if module.bias is None:
                    converted.bias = None
                else:
                    converted.bias = module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(converted, name, getattr(module, name))
            converted.train(module.training)
        for name, child in list(module.named_children()):
            replacement = cls.convert_sync_batchnorm(child, process_group)
            if replacement is not child:
                setattr(converted, name, replacement)
        return converted


def convert_sync_batchnorm(module: Module, process_group=None) -> Module:
    """``SyncBatchNorm.convert_sync_batchnorm`` as a function."""
    return SyncBatchNorm.convert_sync_batchnorm(module, process_group)
