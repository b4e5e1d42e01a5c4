"""Datasets and batching: ``Dataset``, ``TensorDataset``, ``DataLoader`` and ``datasets.digits``.

>>> import torchsorflow as tsf
>>> from torchsorflow.data import DataLoader, datasets
>>> images, labels = next(iter(DataLoader(datasets.digits("train"), batch_size=32)))
>>> images.shape, labels.shape
((32, 1, 8, 8), (32,))
"""
from . import datasets
from .dataloader import DataLoader, default_collate
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                      TensorDataset, get_worker_info, random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "TensorDataset", "Subset", "IterableDataset", "ConcatDataset",
           "ChainDataset", "random_split", "get_worker_info", "DataLoader", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "datasets"]
