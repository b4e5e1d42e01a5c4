"""Explaining one prediction of an image classifier: the pieces ``tsf explain`` and ``tsf demo``
share.

A trained CNN with ReLU, max pooling and batch norm is not a smooth function of all its weights,
and an epoch budget stops it short of a minimum, so Koh & Liang's derivation (which needs a
twice-differentiable loss at a minimum) does not hold for it as it is. The standard way out, used
here and stated in every output, is a **convex surrogate**: keep the network's feature extractor
frozen (eval mode: batch norm with its running statistics) and study its last ``Linear`` layer,
which on those features is a multiclass logistic regression. That layer is refit to the exact
minimum of mean cross-entropy + (l2/2)‖θ‖² (warm start, chord Newton), after which every
influence formula holds exactly to first order and leave-one-out retraining of the layer can check
it.

>>> import numpy as np
>>> from torchsorflow import nn
>>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
>>> last_linear(model)[0]
'2'
>>> frozen_features(model, np.ones((5, 4))).shape
(5, 3)
"""
from __future__ import annotations

import copy

import numpy as np

from .. import nn
from ..autodiff.tracer import no_grad
from ..ops.creation import as_tensor


def last_linear(model):
    """``(name, module)`` of the last ``nn.Linear`` in ``model`` (in registration order)."""
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to explain with")
    return found[-1]


def frozen_features(model, inputs, batch_size=512, distributed=False):
    """The inputs that ``model``'s last Linear layer sees (eval mode), as a float64 array;
    ``distributed``: each rank computes its shard of the rows, and all get the whole."""
    if distributed:
        from .distributed import gather_rows, shard_bounds
        from ..distributed import get_rank, get_world_size
        lo, hi = shard_bounds(len(inputs), get_rank(), get_world_size())
        return gather_rows(frozen_features(model, inputs[lo:hi], batch_size), len(inputs))
    _, head = last_linear(model)
    captured = []
    handle = head.register_forward_hook(lambda m, args, out: captured.append(args[0].numpy()))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for start in range(0, len(inputs), batch_size):
                model(as_tensor(np.asarray(inputs[start:start + batch_size], dtype=np.float32)))
    finally:
        handle.remove()
        model.train(was_training)
    return np.concatenate(captured).astype(np.float64)


def head_surrogate(model, train_inputs, train_targets, l2=1e-3, damping=0.0, method="exact",
                   refit=True, progress=True, distributed=False):
    """An :class:`InfluenceModel` for the last Linear layer of ``model`` on its frozen features.

    Returns ``(influence, features)``; ``features(inputs)`` maps images to the layer's inputs.
    ``distributed``: the training set is sharded across the ranks of the process group.
    """
    from .model import InfluenceModel

    _, head = last_linear(model)
    features = frozen_features(model, train_inputs, distributed=distributed)
    influence = InfluenceModel(copy.deepcopy(head), None, (features, train_targets), l2=l2,
                               damping=damping, method=method, progress=progress,
                               distributed=distributed)
    if refit:
        influence.fit()
    return influence, lambda inputs: frozen_features(model, inputs)


def explanation_png(top, test_image, test_caption, train_images, train_labels, path, k=None,
                    title=None):
    """The PNG grid: the test image, then the helpful row and the harmful row."""
    from .plots import influence_grid

    k = k or len(top.helpful)

    def row(entries):
        return [(train_images[i], f"#{i} label {train_labels[i]}\nΔ {score:+.2e}")
                for i, score in entries[:k]]

    return influence_grid(test_image, test_caption,
                          [("helpful", row(top.helpful)), ("harmful", row(top.harmful))], path,
                          title)
