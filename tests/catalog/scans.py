"""Products and scans (torchsorflow/ops/scans.py): inputs with zeros, where the textbook
gradient of a product (divide by the factor) fails."""
import numpy as np

import torchsorflow as tsf

from . import row


def _with_zeros(rng, shape=(2, 3, 4)):
    """Normal entries with zeros: one zero in some slices, two in another, none in the rest."""
    x = rng.standard_normal(shape)
    x[0, 1, 2] = 0.0
    x[1, 0, 0] = x[1, 0, 3] = 0.0
    x[1, 2, 1] = 0.0
    return [x]


def _lse_range(rng):
    """Values far apart (a running sum that would overflow, and early terms that underflow)."""
    x = rng.standard_normal((2, 5))
    x[0] = [-700.0, 2.0, 700.0, -3.0, 1.0]
    return [x]


for dim in (0, 1, 2):
    row("cumprod", lambda x, dim=dim: tsf.cumprod(x, dim), lambda t, x, dim=dim: t.cumprod(x, dim),
        make=_with_zeros)
row("cumprod", lambda x: x.cumprod(-1), lambda t, x: x.cumprod(-1), shapes=[((3, 4),), ((0,),)])
row("prod", lambda x: tsf.prod(x, 2), lambda t, x: t.prod(x, 2), make=_with_zeros)
row("prod", lambda x: x.prod(1, keepdim=True), lambda t, x: x.prod(1, keepdim=True),
    make=_with_zeros)
row("prod", lambda x: tsf.prod(x), lambda t, x: t.prod(x),
    make=lambda rng: [rng.uniform(0.5, 1.5, (2, 3))])
row("prod", lambda x: tsf.prod(x), lambda t, x: t.prod(x),
    make=lambda rng: [np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 1.2]])])
row("logcumsumexp", lambda x: tsf.logcumsumexp(x, 1), lambda t, x: t.logcumsumexp(x, 1),
    shapes=[((2, 3, 4),)])
# PyTorch's forward mode loses the tangent of the first entries here (it gives 0 for dy_0/dx_0 = 1
# when later entries are 1400 larger); finite differences confirm ours, so only reverse mode is
# compared with PyTorch on this input.
row("logcumsumexp", lambda x: x.logcumsumexp(-1), lambda t, x: x.logcumsumexp(-1),
    make=_lse_range, torch_modes=("rev",))
