"""``torch.utils`` for model code: ``torchsorflow.utils.data`` is :mod:`torchsorflow.data`."""
from . import data

__all__ = ["data"]
