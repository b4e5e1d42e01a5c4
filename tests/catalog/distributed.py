"""Collectives and SyncBatchNorm (torchsorflow/distributed/nn/functional.py,
torchsorflow/nn/sync_batchnorm.py), on a one-rank MPI group in this process. Several ranks,
checked against NumPy references and against one process with the whole batch, run under
``mpiexec`` in tests/test_distributed.py."""
import importlib.util


from . import row

if importlib.util.find_spec("mpi4py") is not None:
    import torchsorflow.distributed as dist
    from torchsorflow.distributed.nn import functional as DF
    from torchsorflow.nn.sync_batchnorm import sync_batch_norm

    def _one_rank(call):
        """``call`` on a one-rank process group, started on first use."""
        def run(*args):
            if not dist.is_initialized():
                dist.init_process_group(backend="mpi")
            return call(*args)
        return run

    ONE_RANK = ("on one rank a collective is the identity: PyTorch's twin would be the identity "
                "too; several ranks are compared with NumPy under mpiexec in "
                "tests/test_distributed.py")
    row("dist_all_reduce", _one_rank(lambda x: DF.all_reduce(x * x)), reason=ONE_RANK)
    row("dist_all_reduce", _one_rank(lambda x: DF.all_reduce(x, dist.ReduceOp.MAX)),
        reason=ONE_RANK)
    row("dist_all_gather", _one_rank(lambda x: DF.all_gather_tensor(x, 1)), reason=ONE_RANK,
        shapes=[((2, 3),)])
    row("dist_reduce_scatter", _one_rank(lambda x: DF.reduce_scatter_tensor(x, "avg")),
        reason=ONE_RANK, shapes=[((2, 3),)])
    row("dist_broadcast", _one_rank(lambda x: DF.broadcast(x, 0)), reason=ONE_RANK)
    row("sync_batch_norm",
        _one_rank(lambda x, g, b: sync_batch_norm(x, None, None, g, b, 0.1, 1e-5)),
        lambda t, x, g, b: t.nn.functional.batch_norm(x, None, None, g, b, training=True),
        domains=("normal", "positive", "normal"), shapes=[((4, 3, 2, 2), (3,), (3,))])
