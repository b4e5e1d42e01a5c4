"""Shape, indexing and dtype primitives (torchsorflow/ops/shape.py)."""
import numpy as np

import torchsorflow as tsf
from torchsorflow.ops import shape

from . import constant, row

X = [((2, 3, 4),)]
INDEX = np.array([[0, 2, 2, 1], [1, 0, 0, 0]])            # for a (2, 3, 4) input along dim 1
ROWS = np.array([3, 0, 3, 1])                             # repeated rows of a (4, 3) input

row("reshape", lambda x: x.reshape(4, -1), lambda t, x: x.reshape(4, -1), shapes=X)
row("permute", lambda x: x.permute(2, 0, 1), lambda t, x: x.permute(2, 0, 1), shapes=X)
row("broadcast_to", lambda x: x.expand(2, 3, 4), lambda t, x: x.expand(2, 3, 4),
    shapes=[((3, 1),)])
row("sum_to", lambda x: tsf.sum_to(x, (1, 3)), lambda t, x: x.sum(0, keepdim=True),
    shapes=[((4, 3),)])
row("getitem", lambda x: x[1:, ::2], lambda t, x: x[1:, ::2], shapes=[((4, 3),)])
row("getitem", lambda x: x[ROWS], lambda t, x: x[t.tensor(ROWS)], shapes=[((4, 3),)])
row("index_scatter_add", lambda g: shape._scatter_add(g, index=ROWS, shape=(4, 3)),
    lambda t, g: t.zeros(4, 3, dtype=g.dtype).index_put((t.tensor(ROWS),), g, accumulate=True),
    shapes=[((4, 3),)])
row("concatenate", lambda x, y: tsf.cat([x, y, x[:1]], dim=0),
    lambda t, x, y: t.cat([x, y, x[:1]], dim=0), domains=("normal", "normal"),
    shapes=[((2, 3), (1, 3))])
row("pad", lambda x: tsf.pad(x, ((1, 2), (0, 1)), 0.5),
    lambda t, x: t.nn.functional.pad(x, (0, 1, 1, 2), value=0.5), shapes=[((2, 3),)])
row("astype", lambda x: x.clone() * 2, lambda t, x: x.clone() * 2)
row("astype", lambda x: tsf.astype(x * 2, tsf.float32), lambda t, x: (x * 2).float(),
    float32=False, order=0,
    reason="finite differences cannot resolve a float32 result; PyTorch's gradients are compared")
constant("astype_constant", lambda x: (x * 3).long(), lambda t, x: (x * 3).long())
constant("zeros_like", shape.zeros_like_tensor, lambda t, x: t.zeros_like(x))
constant("ones_like", shape.ones_like_tensor, lambda t, x: t.ones_like(x))
row("flip", lambda x: tsf.flip(x, (0, 2)), lambda t, x: t.flip(x, (0, 2)), shapes=X)
row("gather", lambda x: tsf.gather(x, 1, INDEX[:, None, :].repeat(3, 1)[:, :2]),
    lambda t, x: t.gather(x, 1, t.tensor(INDEX[:, None, :].repeat(3, 1)[:, :2])), shapes=X)
row("scatter_add", lambda x, s: tsf.scatter_add(x, 1, INDEX[:, None, :], s),
    lambda t, x, s: t.scatter_add(x, 1, t.tensor(INDEX[:, None, :]), s),
    domains=("normal", "normal"), shapes=[((2, 3, 4), (2, 1, 4))])
row("index_put", lambda x, v: shape.index_put(x, (np.array([0, 2]),), v),
    lambda t, x, v: x.index_put((t.tensor([0, 2]),), v), domains=("normal", "normal"),
    shapes=[((3, 4), (2, 4)), ((3, 4), (4,))])
row("tile", lambda x: tsf.tile(x, (2, 1, 3)), lambda t, x: t.tile(x, (2, 1, 3)),
    shapes=[((3, 2),)])
