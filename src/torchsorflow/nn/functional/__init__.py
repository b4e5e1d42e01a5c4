"""Stateless layer functions, like ``torch.nn.functional`` (conventionally imported as ``F``).

One module per kind, as torch's documentation groups them: :mod:`.convolution`,
:mod:`.pooling`, :mod:`.normalization`, :mod:`.attention`, :mod:`.dropout`, :mod:`.activation`,
:mod:`.loss`, :mod:`.distance`, :mod:`.sparse`, :mod:`.vision`; this package re-exports them all.

Layers (:mod:`torchsorflow.nn`) hold parameters and call these; use them directly when the weights
live elsewhere (a dict of parameters under ``torchsorflow.func.grad``, say).

>>> import torchsorflow as tsf
>>> import torchsorflow.nn.functional as F
>>> x = tsf.tensor([[1., 2., -1., 1.], [1., 0., 1., 0.], [0., 1., 0., 2.], [2., 1., 0., -1.]])
>>> k = tsf.tensor([[1., 0.], [2., 1.]])
>>> F.conv2d(x.reshape(1, 1, 4, 4), k.reshape(1, 1, 2, 2), stride=2).reshape(2, 2)
tensor([[ 3.,  1.],
        [ 5., -1.]])
"""
from ...ops.shape import flatten
from . import activation as _activation, attention as _attention
from . import convolution as _convolution, distance as _distance, dropout as _dropout
from . import loss as _loss, normalization as _normalization, pooling as _pooling
from . import sparse as _sparse, vision as _vision
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

__all__ = ["flatten", *_activation.__all__, *_attention.__all__, *_convolution.__all__,
           *_distance.__all__, *_dropout.__all__, *_loss.__all__, *_normalization.__all__,
           *_pooling.__all__, *_sparse.__all__, *_vision.__all__]
