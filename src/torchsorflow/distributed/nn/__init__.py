"""``torchsorflow.distributed.nn.functional``: collectives that autograd differentiates."""
from . import functional  # noqa: F401
