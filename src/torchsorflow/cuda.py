"""``torch.cuda`` for code that asks: there is no GPU here, and saying so is all this does.

``is_available()`` is False, so ``device = "cuda" if torch.cuda.is_available() else "cpu"``
picks the CPU; seeding calls are accepted and do nothing; anything that would need a GPU raises
an error naming it.
"""
from __future__ import annotations

__all__ = ["device_count", "empty_cache", "is_available", "manual_seed", "manual_seed_all",
           "synchronize", "current_device"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """Nothing to seed without a GPU (PyTorch ignores it silently too)."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    """Nothing runs asynchronously on the CPU."""


def empty_cache() -> None:
    """No GPU memory to release."""


def current_device():
    raise RuntimeError("torchsorflow.cuda.current_device(): no CUDA device is available; "
                       "TorchsorFlow runs on the CPU only")
