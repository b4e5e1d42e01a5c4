"""Datasets and batching: ``Dataset``, ``TensorDataset``, ``DataLoader`` and ``datasets.digits``.

>>> import torchsorflow as tsf
>>> from torchsorflow.data import DataLoader, datasets
>>> images, labels = next(iter(DataLoader(datasets.digits("train"), batch_size=32)))
>>> images.shape, labels.shape
((32, 1, 8, 8), (32,))
"""
from . import datasets
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from .distributed import DistributedSampler

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "DistributedSampler",
           "default_collate", "datasets"]
