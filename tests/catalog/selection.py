"""Selection primitives: the median over all entries (ops/sorting.py), scatter and the amax/amin
scatter reductions (ops/indexing.py), roll and the triangles (ops/structure.py)."""
import numpy as np

import torchsorflow as tsf

from . import row

X = [((2, 3, 4),)]
TIES = ("ties: the function is not differentiable there (finite differences see a kink); "
        "torch's convention, an even split among the tied entries, is compared with PyTorch")

row("median", tsf.median, lambda t, x: t.median(x), shapes=X)
row("median", tsf.nanmedian, lambda t, x: t.nanmedian(x),
    make=lambda rng: [np.where(rng.random((3, 4)) < 0.3, np.nan, rng.standard_normal((3, 4)))])
row("median", tsf.median, lambda t, x: t.median(x), order=0, reason=TIES,
    make=lambda rng: [np.array([[1.0, 2.0, 2.0], [2.0, 5.0, 0.0]])])

# along dim 1 of a (2, 3, 4) input, each target written once (finite differences see every write)
PERMUTED = np.array([[[2, 0, 1, 0], [0, 2, 0, 1]], [[1, 1, 2, 2], [0, 0, 1, 1]]])
row("scatter", lambda x, s: tsf.scatter(x, 1, PERMUTED, s),
    lambda t, x, s: t.scatter(x, 1, t.tensor(PERMUTED), s), domains=("normal", "normal"),
    shapes=[((2, 3, 4), (2, 2, 4))])
row("scatter", lambda x, s: tsf.scatter(x, 1, PERMUTED, s), domains=("normal", "normal"),
    shapes=[((2, 3, 4), (2, 3, 5))],
    reason="a src larger than the index (only its corner is read): PyTorch's backward refuses "
           "it, finite differences check ours")
row("scatter", lambda x: x.scatter(1, PERMUTED, 2.5), lambda t, x: x.scatter(1, t.tensor(PERMUTED),
                                                                          2.5), shapes=X)
# repeated targets: several sources reduced into one entry
REPEATED = np.array([[0, 2, 2, 0, 2], [1, 1, 1, 3, 0]])
for reduce in ("amax", "amin"):
    for include_self in (True, False):
        row("scatter_reduce_extreme",
            lambda x, s, r=reduce, i=include_self: tsf.scatter_reduce(x, 1, REPEATED, s, r,
                                                                       include_self=i),
            lambda t, x, s, r=reduce, i=include_self: t.scatter_reduce(
                x, 1, t.tensor(REPEATED), s, r, include_self=i),
            domains=("normal", "normal"), shapes=[((2, 4), (2, 5))])
row("scatter_reduce_extreme",
    lambda x, s: tsf.scatter_reduce(x, 0, np.array([0, 0, 1, 1]), s, "amax"),
    lambda t, x, s: t.scatter_reduce(x, 0, t.tensor([0, 0, 1, 1]), s, "amax"), order=0,
    reason=TIES, make=lambda rng: [np.array([1.0, 3.0]), np.array([1.0, 0.5, 3.0, 3.0])])
row("roll", lambda x: tsf.roll(x, (1, -2), (0, 2)), lambda t, x: t.roll(x, (1, -2), (0, 2)),
    shapes=X)
row("roll", lambda x: x.roll(3), lambda t, x: x.roll(3), shapes=X)
row("triangle", lambda x: tsf.tril(x, -1), lambda t, x: t.tril(x, -1), shapes=[((2, 3, 4),)])
row("triangle", lambda x: x.triu(1), lambda t, x: x.triu(1), shapes=[((4, 3),)])
