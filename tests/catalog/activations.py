"""Activation functions (torchsorflow/ops/activations.py), called through nn.functional.

Piecewise functions are evaluated away from their kinks (finite differences straddling a kink
measure neither side's slope); ``_away`` draws such inputs.
"""
import numpy as np

import torchsorflow.nn.functional as F

from . import row, unary


def _away(*kinks, shape=(2, 3, 4), gap=0.15, span=4.5):
    """Inputs in [−span, span] at least ``gap`` from every kink."""
    def make(rng):
        x = rng.uniform(-span, span, shape)
        for k in kinks:
            near = np.abs(x - k) < gap
            x = np.where(near, k + np.sign(x - k + 1e-12) * gap * 2, x)
        return [x]
    return make


unary("leaky_relu", lambda x: F.leaky_relu(x, 0.2),
      lambda t, x: t.nn.functional.leaky_relu(x, 0.2), domain="away")
unary("elu", lambda x: F.elu(x, 0.7), lambda t, x: t.nn.functional.elu(x, 0.7), domain="away")
unary("elu", lambda x: F.celu(x, 1.5), lambda t, x: t.nn.functional.celu(x, 1.5), domain="away")
unary("elu", F.selu, lambda t, x: t.nn.functional.selu(x), domain="away")
unary("hardtanh", lambda x: F.hardtanh(x, -1.5, 2.0),
      lambda t, x: t.nn.functional.hardtanh(x, -1.5, 2.0), make=_away(-1.5, 2.0))
unary("hardtanh", F.relu6, lambda t, x: t.nn.functional.relu6(x), make=_away(0.0, 6.0, span=8))
unary("hardsigmoid", F.hardsigmoid, lambda t, x: t.nn.functional.hardsigmoid(x),
      make=_away(-3.0, 3.0))
unary("hardswish", F.hardswish, lambda t, x: t.nn.functional.hardswish(x),
      make=_away(-3.0, 3.0))
unary("threshold", lambda x: F.threshold(x, 0.5, -2.0),
      lambda t, x: t.nn.functional.threshold(x, 0.5, -2.0), make=_away(0.5))
unary("hardshrink", lambda x: F.hardshrink(x, 0.6),
      lambda t, x: t.nn.functional.hardshrink(x, 0.6), make=_away(-0.6, 0.6))
unary("softshrink", lambda x: F.softshrink(x, 0.6),
      lambda t, x: t.nn.functional.softshrink(x, 0.6), make=_away(-0.6, 0.6))
unary("logsigmoid", F.logsigmoid, lambda t, x: t.nn.functional.logsigmoid(x))
unary("silu", F.silu, lambda t, x: t.nn.functional.silu(x))
unary("mish", F.mish, lambda t, x: t.nn.functional.mish(x))
unary("gelu", F.gelu, lambda t, x: t.nn.functional.gelu(x))
unary("gelu", lambda x: F.gelu(x, approximate="tanh"),
      lambda t, x: t.nn.functional.gelu(x, approximate="tanh"))
unary("softsign", F.softsign, lambda t, x: t.nn.functional.softsign(x), domain="away")
unary("tanhshrink", F.tanhshrink, lambda t, x: t.nn.functional.tanhshrink(x))
row("prelu", F.prelu, lambda t, x, w: t.nn.functional.prelu(x, w),
    domains=("away", "positive"), shapes=[((2, 3, 4), (3,)), ((5,), (1,)), ((2, 3), (1,))])
