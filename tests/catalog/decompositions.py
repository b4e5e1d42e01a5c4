"""einsum (ops/einsum.py) and the matrix decompositions (ops/decompositions.py). Functions of
eigenvectors and singular vectors are compared through squares, which do not depend on the
sign each vector happens to get."""
import numpy as np

import torchsorflow as tsf

from . import row

EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
    ("ij->j", [(3, 4)]),
    ("ii->i", [(3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,j->i", [(3, 4), (1,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
]
for spec, shapes in EINSUM:
    row("einsum", lambda *xs, spec=spec: tsf.einsum(spec, *xs),
        lambda t, *xs, spec=spec: t.einsum(spec, *xs), domains=("normal",) * len(shapes),
        shapes=[tuple(shapes)])
row("einsum", lambda a, b: tsf.einsum(a, [0, 1], b, [1, Ellipsis], [0, Ellipsis]),
    lambda t, a, b: t.einsum(a, [0, 1], b, [1, Ellipsis], [0, Ellipsis]),
    domains=("normal", "normal"), shapes=[((2, 3), (3, 2, 2))])


def _general(rng, n=3, batch=()):
    return rng.standard_normal(batch + (n, n)) + n * np.eye(n)


def _singular(rng):
    a = rng.standard_normal((3, 3))
    a[2] = a[0] + 2 * a[1]  # rank 2: the determinant is 0, its gradient (the adjugate) is not
    return [a]


row("det", tsf.linalg.det, lambda t, a: t.linalg.det(a), make=lambda rng: [_general(rng, 3, (2,))])
row("det", lambda a: tsf.det(a), lambda t, a: t.det(a),
    make=lambda rng: [rng.standard_normal((4, 4))])
row("det", tsf.linalg.det, lambda t, a: t.linalg.det(a), make=_singular, order=1,
    reason="at a singular matrix the second-order rule (det·A⁻ᵀ) is undefined; the first "
           "order, the adjugate from an SVD, is checked")
row("logabsdet", lambda a: tsf.linalg.slogdet(a).logabsdet,
    lambda t, a: t.linalg.slogdet(a).logabsdet, make=lambda rng: [_general(rng, 3, (2,))])


def _sym(a):
    return (a + a.mT) / 2


def _eigh_parts(lib):
    def f(a):
        w, v = lib.linalg.eigh(_sym(a))
        return lib.cat([w.flatten(), (v * v).flatten()])
    return f


row("eigh", _eigh_parts(tsf), lambda t, a: _eigh_parts(t)(a),
    make=lambda rng: [rng.standard_normal((2, 3, 3))])
row("eigh", lambda a: tsf.linalg.eigvalsh(_sym(a)), lambda t, a: t.linalg.eigvalsh(_sym(a)),
    make=lambda rng: [rng.standard_normal((3, 3))])


def _svd_parts(lib):
    def f(a):
        u, s, vh = lib.linalg.svd(a, full_matrices=False)
        return lib.cat([s.flatten(), (u * u).flatten(), (vh * vh).flatten()])
    return f


for shape in [(3, 3), (4, 2), (2, 4), (2, 3, 2)]:
    row("svd", _svd_parts(tsf), lambda t, a: _svd_parts(t)(a),
        make=lambda rng, shape=shape: [rng.standard_normal(shape)])
row("svd", tsf.linalg.svdvals, lambda t, a: t.linalg.svdvals(a),
    make=lambda rng: [rng.standard_normal((3, 2))])


def _qr_parts(lib, mode="reduced"):
    def f(a):
        q, r = lib.linalg.qr(a, mode=mode)
        return lib.cat([(q * q).flatten(), (r * r).flatten()])
    return f


for shape in [(3, 3), (4, 2), (2, 3, 2), (2, 4)]:
    row("qr", _qr_parts(tsf), lambda t, a: _qr_parts(t)(a),
        make=lambda rng, shape=shape: [rng.standard_normal(shape)])
for shape in [(3, 3), (4, 2), (2, 4), (2, 3, 2)]:
    row("pinv", tsf.linalg.pinv, lambda t, a: t.linalg.pinv(a),
        make=lambda rng, shape=shape: [rng.standard_normal(shape)])

