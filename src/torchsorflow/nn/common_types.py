"""Type aliases of the ``nn`` API, named as in ``torch.nn.common_types``."""
from __future__ import annotations

import numpy as np

# An int for both spatial dimensions, or one per dimension (kernel sizes, strides, padding).
_size_2_t = int | tuple[int, int]
# The same, where ``None`` keeps that dimension of the input (adaptive pooling).
_size_2_opt_t = int | None | tuple[int | None, int | None]
# A dtype as the layers accept it (``None``: the default dtype).
_dtype_t = str | type | np.dtype | None
