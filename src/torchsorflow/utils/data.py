"""``torch.utils.data``: the same objects as :mod:`torchsorflow.data`, under torch's path."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
