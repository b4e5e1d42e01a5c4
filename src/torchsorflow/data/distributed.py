"""``DistributedSampler``: each rank's share of a dataset, exactly as torch's computes it.

torch's sampler shuffles with ``torch.randperm(n, generator=g)`` where ``g`` is a CPU generator
seeded with ``seed + epoch``, pads (or, with ``drop_last``, cuts) the permutation to a multiple of
the number of replicas, and gives rank r the indices ``r, r + R, r + 2R, ...``. To produce the same
partition without torch, :func:`torch_randperm` reimplements that permutation: torch's CPU
generator is the 32-bit Mersenne Twister MT19937 seeded with the low 32 bits of the seed (the
standard ``init_genrand``, which NumPy's legacy ``RandomState`` uses too), and for n below
2³²/20 ``randperm`` is a Fisher-Yates shuffle that swaps entry i with entry ``i + u % (n − i)``,
u being the generator's next 32-bit output. Tests compare the partitions with torch's for many
sizes, seeds and epochs.

>>> torch_randperm(10, seed=0)
[4, 1, 7, 5, 3, 9, 0, 8, 6, 2]
>>> sampler = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
>>> list(sampler), len(sampler)
([1, 4, 7, 0], 4)
"""
from __future__ import annotations

import math

import numpy as np

_FISHER_YATES_LIMIT = (2**32 - 1) // 20   # torch switches to a 64-bit variant above this


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``."""
    n = int(n)
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    if n >= _FISHER_YATES_LIMIT:
        raise ValueError(f"randperm: n={n} is beyond the sizes reproduced here "
                         f"(< {_FISHER_YATES_LIMIT})")
    mt19937 = np.random.RandomState((int(seed) % 2**64) & 0xFFFFFFFF)   # init_genrand(seed)
    draws = mt19937.randint(0, 2**32, size=max(n - 1, 0), dtype=np.uint64)  # raw 32-bit outputs
    swaps = (draws % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64).tolist()
    order = list(range(n))
    for i, z in enumerate(swaps):
        j = i + z
        order[i], order[j] = order[j], order[i]
    return order


class DistributedSampler:
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` trains on this epoch
    (torch's semantics, arguments and defaults; call :meth:`set_epoch` at each epoch to
    reshuffle). Without ``num_replicas``/``rank`` it asks the initialised process group."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: give num_replicas and rank, or call "
                                   "torchsorflow.distributed.init_process_group first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:   # repeat the start of the order so every rank gets as many
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch: int):
        """The epoch the next iteration shuffles for (all ranks must use the same)."""
        self.epoch = epoch
