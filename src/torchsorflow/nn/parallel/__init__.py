"""Data parallelism: :class:`DistributedDataParallel` (one process per rank, over MPI)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
