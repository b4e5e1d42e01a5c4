"""TorchsorFlow: a deep-learning framework on NumPy that you can read end to end."""
__version__ = "0.1.0"
