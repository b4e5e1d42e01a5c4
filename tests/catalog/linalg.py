"""Linear algebra (torchsorflow/ops/linalg.py, and cholesky in ops/special.py)."""
import torchsorflow as tsf
from torchsorflow.ops.special import cholesky

from . import row, spd

row("matmul", tsf.matmul, lambda t, a, b: t.matmul(a, b), domains=("normal", "normal"),
    shapes=[((2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (3,)), ((4, 3), (3,))])
row("solve", tsf.solve, lambda t, a, b: t.linalg.solve(a, b),
    make=lambda rng: [spd(rng, 3, (2,)), rng.standard_normal((2, 3, 2))])
row("logdet", tsf.logdet, lambda t, a: t.logdet(a), make=lambda rng: [spd(rng, 3)])
row("cholesky", cholesky, lambda t, a: t.linalg.cholesky((a + a.mT) / 2),
    make=lambda rng: [spd(rng, 3, (2,))])
