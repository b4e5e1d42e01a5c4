"""Jobs that fail on purpose, for tests/test_distributed.py: ``mpiexec -n R python
tests/distributed_faults.py MODE [TIMEOUT]``.

Rank 1 misbehaves after the first all-reduce while rank 2 (if any) is still computing and rank 0
already waits in the second one:

* ``raise`` -- an exception;
* ``exit`` -- leaves the program early (``sys.exit(0)``);
* ``hang`` -- stops answering (sleeps far past the timeout): a hung or silently dead rank;
* ``kill`` -- SIGKILL, after rank 0 printed which PID each rank has.

``train-raise`` and ``train-kill-saving`` run ``tsf train --distributed``: rank 1's optimizer
raises at its third step, or rank 0 is killed halfway through writing the checkpoint.
"""
import os
import signal
import sys
import time
from datetime import timedelta


def collectives(mode, timeout):
    import torchsorflow as tsf
    import torchsorflow.distributed as dist
    dist.init_process_group("mpi", timeout=timedelta(seconds=timeout))
    rank = dist.get_rank()
    table = dist.process_group.process_table()
    if rank == 0:
        print(f"ranks: {table}", flush=True)
    x = tsf.ones(3)
    dist.all_reduce(x)
    if rank == 1:
        time.sleep(0.3)
        if mode == "raise":
            raise ValueError("boom on purpose")
        if mode == "exit":
            sys.exit(0)
        if mode == "hang":
            time.sleep(600)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
    if rank == 2:
        time.sleep(0.6)    # still computing when rank 1 fails
    dist.all_reduce(x)
    print(f"rank {rank} finished", flush=True)
    dist.destroy_process_group()


def train(mode, out):
    import torchsorflow.distributed as dist
    from torchsorflow import optim
    from torchsorflow.cli import main

    if mode == "train-raise":
        step, calls = optim.Adam.step, []

        def failing_step(self, closure=None):
            calls.append(1)
            if dist.get_rank() == 1 and len(calls) == 3:
                raise RuntimeError("injected failure in the optimizer")
            return step(self, closure)
        optim.Adam.step = failing_step
    else:
        import torchsorflow.io.safetensors as st
        write = st.atomic_write

        def dying_write(path, chunks):
            if dist.get_rank() == 0 and str(path).endswith("checkpoint.safetensors"):
                def chunks_then_die():
                    for i, chunk in enumerate(chunks):
                        yield chunk
                        if i == 0:
                            os.kill(os.getpid(), signal.SIGKILL)
                return write(path, chunks_then_die())
            return write(path, chunks)
        st.atomic_write = dying_write
    return main(["train", "--distributed", "--timeout", "20", "--epochs", "1", "--width", "4",
                 "--batch-size", "64", "--no-progress", "--out", out])


if __name__ == "__main__":
    if sys.argv[1].startswith("train"):
        sys.exit(train(sys.argv[1], sys.argv[2]))
    collectives(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
