"""Small datasets that ship with the installed packages, so nothing is ever downloaded.

They come with scikit-learn, an optional dependency (``pip install "torchsorflow[datasets]"``).

:func:`digits` is scikit-learn's copy of the UCI optical handwritten digits: 1797 grey-scale images
of 8x8 pixels with values 0..16, labels 0..9 (about 180 per class). It is small enough to train a
CNN in seconds on a laptop and still shows the difference between an MLP and a CNN.
"""
from __future__ import annotations

import functools

import numpy as np

from .._optional import require
from .dataset import TensorDataset
from ..ops.creation import as_tensor

DIGITS_TEST_PER_CLASS = 36
DIGITS_SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    sklearn_datasets = require("sklearn.datasets", "the digits dataset")
    bunch = sklearn_datasets.load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        is_test[rng.permutation(members)[:DIGITS_TEST_PER_CLASS]] = True
    for array in (images, labels, is_test):
        array.flags.writeable = False   # cached: nobody may change the shared copy
    return images, labels, is_test


def digits(split: str = "train") -> TensorDataset:
    """scikit-learn's 8x8 digits as a :class:`TensorDataset` of ``(images, labels)``.

    * ``images``: float32, shape ``(N, 1, 8, 8)`` (channels first, ready for ``Conv2d``; an MLP
      flattens them), pixel values scaled from 0..16 to [0, 1];
    * ``labels``: int64 class indices 0..9.

    The split is fixed and stratified: for each digit, its images (in scikit-learn's order) are
    shuffled by ``numpy.random.default_rng(0)`` -- one generator, digits 0 to 9 in turn -- and the
    first 36 go to the test set. That gives 360 test images (exactly 36 per class) and 1437
    training images; both keep scikit-learn's original order. ``split="all"`` returns all 1797.

    >>> train, test = digits("train"), digits("test")
    >>> len(train), len(test)
    (1437, 360)
    >>> images, labels = test[0]
    >>> images.shape, images.dtype, labels.dtype
    ((1, 8, 8), dtype('float32'), dtype('int64'))
    >>> sorted(set(test.tensors[1].tolist())) == list(range(10))
    True
    """
    images, labels, is_test = _digits_arrays()
    choose = {"train": ~is_test, "test": is_test, "all": np.ones_like(is_test)}
    if split not in choose:
        raise ValueError(f"digits(split={split!r}): split must be 'train', 'test' or 'all'")
    rows = choose[split]
    return TensorDataset(as_tensor(images[rows]), as_tensor(labels[rows]))
