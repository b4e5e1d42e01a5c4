"""Distributed training over MPI with ``torch.distributed``'s names and semantics.

Start one process per rank with MPI's launcher; each joins the process group and takes part in
collectives on Tensors::

    # mpiexec -n 2 python allreduce.py
    import torchsorflow as tsf
    import torchsorflow.distributed as dist

    dist.init_process_group("mpi")
    x = tsf.ones(3) * (dist.get_rank() + 1)
    dist.all_reduce(x)                      # every rank now holds [3., 3., 3.]
    dist.destroy_process_group()

* the process group (:mod:`.process_group`): ``init_process_group``, ``get_rank``,
  ``get_world_size``, ``barrier``, ``destroy_process_group``; failures and the timeout;
* collectives (:mod:`.collectives`): ``all_reduce``, ``broadcast``, ``reduce``, ``all_gather``,
  ``all_gather_into_tensor``, ``reduce_scatter_tensor``, ``gather``, ``scatter``,
  ``send``/``recv``/``isend``/``irecv``; ``async_op=True`` returns a :class:`Work`;
* objects (:mod:`.objects`): ``broadcast_object_list``, ``all_gather_object``, ``gather_object``,
  ``scatter_object_list``, encoded as JSON and array bytes, never pickled;
* differentiable collectives: :mod:`torchsorflow.distributed.nn.functional`.

Data-parallel training builds on these: :class:`torchsorflow.nn.parallel.DistributedDataParallel`,
:class:`torchsorflow.nn.SyncBatchNorm` and :class:`torchsorflow.data.DistributedSampler`.
"""
from .collectives import (
                          ReduceOp,
                          Work,
                          all_gather,
                          all_gather_into_tensor,
                          all_reduce,
                          barrier,
                          broadcast,
                          gather,
                          irecv,
                          isend,
                          recv,
                          reduce,
                          reduce_scatter_tensor,
                          scatter,
                          send,
)
from .objects import all_gather_object, broadcast_object_list, gather_object, scatter_object_list
from .process_group import (
                          DEFAULT_TIMEOUT,
                          DistBackendError,
                          DistError,
                          ProcessGroup,
                          destroy_process_group,
                          get_backend,
                          get_rank,
                          get_world_size,
                          group,
                          init_process_group,
                          is_available,
                          is_initialized,
                          is_mpi_available,
)

__all__ = ["ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce", "barrier",
           "broadcast", "gather", "irecv", "isend", "recv", "reduce", "reduce_scatter_tensor",
           "scatter", "send", "all_gather_object", "broadcast_object_list", "gather_object",
           "scatter_object_list", "DEFAULT_TIMEOUT", "DistBackendError", "DistError",
           "ProcessGroup", "destroy_process_group", "get_backend", "get_rank", "get_world_size",
           "group", "init_process_group", "is_available", "is_initialized", "is_mpi_available"]
