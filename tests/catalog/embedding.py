"""Embedding lookup (torchsorflow/ops/embedding.py): the row gather and its scatter-add adjoint."""
import numpy as np

import torchsorflow.nn.functional as F
from torchsorflow.ops.embedding import embedding_backward

from . import row

IDX = np.array([[0, 2, 2], [5, 1, 2]])          # repeated rows add up in the gradient
TABLE = ((6, 3),)

row("embedding", lambda w: F.embedding(IDX, w),
    lambda t, w: t.nn.functional.embedding(t.tensor(IDX), w), shapes=[TABLE])
row("embedding", lambda w: F.embedding(IDX, w, padding_idx=2, scale_grad_by_freq=True),
    lambda t, w: t.nn.functional.embedding(t.tensor(IDX), w, padding_idx=2,
                                           scale_grad_by_freq=True),
    shapes=[TABLE], order=0, torch_modes=("rev",),
    reason="with padding_idx and scale_grad_by_freq the reverse rule is PyTorch's convention "
           "(the padding row gets no gradient, rows are scaled by 1/count), not the derivative, "
           "so it is compared with PyTorch rather than with finite differences")
row("embedding_backward", lambda g: embedding_backward(g, IDX, 6, padding_idx=2),
    lambda t, g: t.ops.aten.embedding_dense_backward(g, t.tensor(IDX), 6, 2, False),
    shapes=[((2, 3, 3),)], torch_modes=("rev",))
row("embedding_backward",
    lambda g: embedding_backward(g, IDX, 6, padding_idx=1, scale_grad_by_freq=True),
    lambda t, g: t.ops.aten.embedding_dense_backward(g, t.tensor(IDX), 6, 1, True),
    shapes=[((2, 3, 3),)], torch_modes=(),
    reason="PyTorch's double backward of embedding_dense_backward leaves out the 1/count scale "
           "(it is not the adjoint then), so only values are compared with it; both modes are "
           "checked against finite differences")
