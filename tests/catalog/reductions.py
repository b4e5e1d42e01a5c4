"""Reductions (torchsorflow/ops/reductions.py)."""
import torchsorflow as tsf

from . import constant, row

SHAPES = [((2, 3, 4),)]
row("sum", lambda x: tsf.sum(x, (0, 2)), lambda t, x: t.sum(x, (0, 2)), shapes=SHAPES)
row("sum", lambda x: x.sum(), lambda t, x: x.sum(), shapes=SHAPES)
row("amax", lambda x: tsf.amax(x, 1, keepdim=True), lambda t, x: t.amax(x, 1, keepdim=True),
    shapes=SHAPES)
row("amin", lambda x: tsf.amin(x, -1), lambda t, x: t.amin(x, -1), shapes=SHAPES)
row("logsumexp", lambda x: tsf.logsumexp(x, 1), lambda t, x: t.logsumexp(x, 1), shapes=SHAPES)
row("log_softmax", lambda x: tsf.log_softmax(x, -1), lambda t, x: t.log_softmax(x, -1),
    shapes=SHAPES)
row("softmax", lambda x: tsf.softmax(x, 1), lambda t, x: t.softmax(x, 1), shapes=SHAPES)
row("cumsum", lambda x: tsf.cumsum(x, 1), lambda t, x: t.cumsum(x, 1), shapes=SHAPES)
constant("argmax", lambda x: tsf.argmax(x, 1), lambda t, x: t.argmax(x, 1), shapes=SHAPES)
constant("argmin", lambda x: tsf.argmin(x), lambda t, x: t.argmin(x), shapes=SHAPES)
constant("all", lambda x: tsf.all(x > -1, 0), lambda t, x: t.all(x > -1, 0), shapes=SHAPES)
constant("any", lambda x: tsf.any(x > 1, -1), lambda t, x: t.any(x > 1, -1), shapes=SHAPES)
