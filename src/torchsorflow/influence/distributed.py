"""Influence functions with the training set sharded across the ranks of a process group.

Everything influence computes over the training set is either a sum over training points (the
risk, its gradient, Hessian-vector products, the dense Hessian) or one value per training point
(per-example losses, gradients, ⟨∇L(zᵢ), s_test⟩). :class:`DistributedObjective` gives each rank
a contiguous shard of the rows: sums are this rank's part all-reduced (so CG's Hessian-vector
products are all-reduced inside every iteration), per-point values are computed on the shard and
gathered in rank order. Every rank then holds the same numbers and takes the same solver steps,
and the ranking equals the single-process one (up to the order of floating-point additions).

The training arrays are the caller's (not copied); only the computation is sharded.
"""
from __future__ import annotations

import numpy as np

from .objective import Objective
from ..ops.creation import as_tensor


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """The rows ``[lo, hi)`` of ``n`` that ``rank`` owns: contiguous, sizes differ by at most 1.

    >>> [shard_bounds(10, r, 3) for r in range(3)]
    [(0, 3), (3, 6), (6, 10)]
    """
    return n * rank // world_size, n * (rank + 1) // world_size


def gather_rows(local, n):
    """Every rank's rows (its shard of ``n``, as :func:`shard_bounds` cuts them) of a per-row
    array, concatenated in rank order: the whole array, on every rank."""
    from ..distributed import get_rank, get_world_size
    from ..distributed.collectives import all_gather_array
    world = get_world_size()
    local = np.asarray(local)
    longest = max(shard_bounds(n, r, world)[1] - shard_bounds(n, r, world)[0]
                  for r in range(world))
    padded = np.zeros((longest,) + local.shape[1:], dtype=local.dtype)
    lo, hi = shard_bounds(n, get_rank(), world)
    if len(local) != hi - lo:
        raise ValueError(f"gather_rows: rank {get_rank()} has {len(local)} rows, its shard of "
                         f"{n} holds {hi - lo}")
    padded[:len(local)] = local
    everyone = all_gather_array(padded[None], axis=0, name="gather_rows")
    return np.concatenate([everyone[r][:shard_bounds(n, r, world)[1] - shard_bounds(n, r, world)[0]]
                           for r in range(world)])


class DistributedObjective(Objective):
    """:class:`Objective` whose sums and per-point values over the training set are split over
    the ranks of the initialised process group."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from ..distributed import get_rank, get_world_size
        self.rank, self.world_size = get_rank(), get_world_size()
        self.shard = slice(*shard_bounds(self.n, self.rank, self.world_size))

    def _train_slices(self):
        lo, hi = self.shard.start, self.shard.stop
        return [slice(lo + s.start, lo + s.stop) for s in self._chunks(hi - lo)]

    def _total(self, partial):
        from ..distributed.collectives import all_reduce_array
        return all_reduce_array(np.asarray(partial, dtype=np.float64), name="influence sum")

    def _shard_data(self):
        return self.inputs[self.shard], self.targets[self.shard]

    def hvp(self, theta, v, weights=None, rows=None):
        if rows is None:
            return super().hvp(theta, v, weights)
        from ..func import grad, jvp
        rows = np.asarray(rows)
        mine = rows[(rows >= self.shard.start) & (rows < self.shard.stop)]
        partial = np.zeros(self.size)
        if len(mine):
            risk = self._chunk_risk(mine, None)
            partial = jvp(grad(risk), (as_tensor(np.asarray(theta, np.float64)),),
                          (as_tensor(np.asarray(v, np.float64)),))[1].numpy()
        return self.l2 * np.asarray(v, np.float64) + self.n / len(rows) * self._total(partial)

    def losses(self, theta, data=None):
        if data is not None:
            return super().losses(theta, data)
        return gather_rows(super().losses(theta, self._shard_data()), self.n)

    def loss_jvp(self, theta, v, data=None):
        if data is not None:
            return super().loss_jvp(theta, v, data)
        return gather_rows(super().loss_jvp(theta, v, self._shard_data()), self.n)

    def per_example_grads(self, theta, data=None, method="auto", chunk=32):
        if data is not None:
            return super().per_example_grads(theta, data, method, chunk)
        local = super().per_example_grads(theta, self._shard_data(), method, chunk)
        return gather_rows(local, self.n)
