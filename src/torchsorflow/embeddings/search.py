"""Exact top-k search for many analogy questions at once.

An analogy question *a : b :: c : ?* is answered by the word that maximises a score over the
vocabulary, the three question words excluded: 3CosAdd, the cosine with ``u_b - u_a + u_c``
(gensim's ``most_similar``), or 3CosMul, ``P(w,b) P(w,c) / (P(w,a) + 1e-6)`` with
``P = (1 + cos) / 2`` (gensim's ``most_similar_cosmul``). gensim asks once per question: a full
pass over the vocabulary each time (a matrix-vector product and a partial sort of 300,000 scores),
19,500 passes for the Google analogy set. :func:`analogy_top_k` answers them together:

* **Brute force** (:func:`brute_force_top_k`): questions in batches, one float32 matrix product
  per batch against the whole (restricted, unit-normalised) vocabulary, then a cheap top-k per
  row (:func:`top_k_per_row`). Used for small vocabularies, for question sets with few repeats,
  and for the questions the second strategy cannot settle.
* **Threshold algorithm over shared columns** (:mod:`torchsorflow.embeddings.threshold`): both
  scores split into a part that depends on the pair ``(a, b)`` and a part that depends on ``c``;
  analogy sets repeat both, so each is computed once for the whole vocabulary, and a bound on
  what the words outside each part's best few thousand can score lets every question be
  answered exactly from those few thousand.

Scores are float32, so they differ from gensim's (other summation orders) by about 1e-7. Callers
that need gensim's exact decisions compare the gaps between the ranked scores with
:data:`MARGIN` and redo the rare near-ties with gensim's own arithmetic (see
:mod:`torchsorflow.embeddings.evaluation`); every bound here is widened by that margin, so no
word that could belong to the top k is ever left out.

>>> rng = np.random.default_rng(0)
>>> unit = rng.normal(size=(1000, 8)).astype(np.float32)
>>> unit /= np.linalg.norm(unit, axis=1, keepdims=True)
>>> q = np.array([[1, 2, 3], [4, 5, 6]])
>>> idx, _ = brute_force_top_k(unit, unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]], q, k=3)
>>> idx2, _ = analogy_top_k(unit, q[:, 0], q[:, 1], q[:, 2], k=3, force=True)
>>> bool((idx == idx2).all())
True
"""
from __future__ import annotations

import numpy as np

MARGIN = 2e-5
"""Score gaps (in cosine units) below this count as possible ties between float32 orderings."""


def top_k_per_row(scores, k):
    """Indices and values of the ``k`` largest entries of each row, largest first (ties: lower index
    first). Exact; ``-inf`` entries are never returned unless a row has fewer than ``k`` others.

    Rather than a partial sort of every row (``np.argpartition`` is slow on long rows), the k-th
    largest *block maximum* gives a threshold that at least ``k`` entries reach, and only those are
    sorted.

    >>> top_k_per_row(np.array([[0.1, 0.9, 0.5, 0.7]]), 2)
    (array([[1, 3]]), array([[0.9, 0.7]]))
    """
    scores = np.asarray(scores)
    rows, n = scores.shape
    k = min(k, n)
    block = 512
    n_blocks = n // block
    if n_blocks < 4 * k:
        cand = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else \
            np.broadcast_to(np.arange(n), (rows, n)).copy()
        vals = np.take_along_axis(scores, cand, axis=1)
        order = np.lexsort((cand, -vals), axis=1)
        return np.take_along_axis(cand, order, 1), np.take_along_axis(vals, order, 1)
    maxima = scores[:, :n_blocks * block].reshape(rows, n_blocks, block).max(axis=2)
    if n_blocks * block < n:
        rest = scores[:, n_blocks * block:].max(axis=1, keepdims=True)
        maxima = np.concatenate([maxima, rest], 1)
    threshold = -np.partition(-maxima, k - 1, axis=1)[:, k - 1]
    r, b = np.nonzero(maxima >= threshold[:, None])
    cols = b[:, None] * block + np.arange(block)
    cols = np.minimum(cols, n - 1)        # the last, partial block repeats its final column
    vals = scores[r[:, None], cols]
    hit = vals >= threshold[r][:, None]
    rr, cc = np.broadcast_to(r[:, None], cols.shape)[hit], cols[hit]
    return _first_k_per_row(rr, cc, vals[hit], rows, k, unique=True)


def _first_k_per_row(r, c, vals, rows, k, unique=False):
    """Scatter (row, column, value) triples into ``(rows, k)`` arrays, best first per row.

    With ``unique``, repeated (row, column) pairs (a word found in two lists) count once.
    Rows with fewer than ``k`` triples are padded with index -1 and value -inf."""
    order = np.lexsort((c, -vals, r))
    r, c, vals = r[order], c[order], vals[order]
    if unique and len(r):
        keep = np.ones(len(r), bool)
        keep[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        r, c, vals = r[keep], c[keep], vals[keep]
    pos = np.arange(len(r)) - np.searchsorted(r, np.arange(rows))[r]
    keep = pos < k
    idx = np.full((rows, k), -1, dtype=np.int64)
    out = np.full((rows, k), -np.inf, dtype=vals.dtype if len(vals) else np.float32)
    idx[r[keep], pos[keep]] = c[keep]
    out[r[keep], pos[keep]] = vals[keep]
    return idx, out


def brute_force_top_k(unit, queries, exclude, k=6, batch=64, score_fn=None):
    """Top-``k`` vocabulary rows by ``unit @ query`` for each query, ``exclude[i]`` left out.

    ``unit`` is the (restricted) unit-normalised vocabulary, ``queries`` one unit query per row,
    ``exclude`` an integer array ``(n_queries, e)`` of indices that may not be returned. With
    ``score_fn(rows) -> scores`` another objective (3CosMul) replaces the dot product: it gets the
    question indices of the batch and returns the ``(len(rows), len(unit))`` score matrix."""
    exclude = np.asarray(exclude, dtype=np.int64)
    n_q = len(exclude)
    idx = np.empty((n_q, k), dtype=np.int64)
    val = np.empty((n_q, k), dtype=np.float32)
    for start in range(0, n_q, batch):
        rows = np.arange(start, min(start + batch, n_q))
        scores = score_fn(rows) if score_fn is not None else queries[rows] @ unit.T
        scores[np.arange(len(rows))[:, None], exclude[rows]] = -np.inf
        idx[rows], val[rows] = top_k_per_row(scores, k)
    return idx, val


def analogy_top_k(unit, ia, ib, ic, k=6, method="3cosadd", margin=MARGIN, max_columns=256,
                  force=False):
    """Top-``k`` answers to the questions ``ia[i] : ib[i] :: ic[i] : ?`` (rows of ``unit``, the
    unit-normalised vocabulary), the three question words excluded. Returns ``(indices,
    scores)``, each ``(n_questions, k)``: cosines for 3CosAdd, gensim's products for 3CosMul.

    Questions are taken in their order, in chunks whose distinct columns (pairs plus ``c``
    words) fit ``max_columns``; a chunk with too few repeats to profit goes to brute force unless
    ``force``. ``margin`` widens every bound so that float32 rounding can never hide a word that
    belongs in the top ``k``.

    The search makes thousands of small matrix products between NumPy passes. A multi-threaded
    BLAS (OpenBLAS) splits each product across its threads and keeps them spinning between
    calls, which on products this small costs more than it gains, so BLAS is held to one thread
    meanwhile (via threadpoolctl; without it the search runs on BLAS's default threads)."""
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
    ia, ib, ic = (np.asarray(x, dtype=np.int64) for x in (ia, ib, ic))
    n_q = len(ia)
    idx = np.empty((n_q, k), dtype=np.int64)
    val = np.empty((n_q, k), dtype=np.float32)
    start = 0
    with _single_threaded_blas():
        while start < n_q:
            stop, seen = start, set()
            while stop < n_q:
                new = {("p", ia[stop], ib[stop]), ("c", ic[stop])} - seen
                if len(seen) + len(new) > max_columns:
                    break
                seen |= new
                stop += 1
            stop = max(stop, start + 1)
            rows = np.arange(start, stop)
            # a pass over a small vocabulary, or for few questions per column, is cheaper
            shared = force or (len(unit) >= 30000 and len(seen) * 4 <= len(rows))
            solve = _two_column_chunk if shared else _brute
            idx[rows], val[rows] = solve(unit, ia[rows], ib[rows], ic[rows], k, method, margin)
            start = stop
    return idx, val


def _single_threaded_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _brute(unit, ia, ib, ic, k, method="3cosadd", margin=None):
    exclude = np.stack([ia, ib, ic], 1)
    if method == "3cosadd":
        m = unit[ib] - unit[ia] + unit[ic]
        norm = np.linalg.norm(m, axis=1)
        return brute_force_top_k(unit, m / np.where(norm > 0, norm, 1)[:, None], exclude, k)

    def cosmul(rows):
        """gensim's 3CosMul scores for the batch ``rows``, from the cosines of its distinct
        words with the whole vocabulary."""
        words, inverse = np.unique(exclude[rows].T.ravel(), return_inverse=True)
        shifted = unit[words] @ unit.T
        shifted += 1
        shifted *= np.float32(0.5)
        pa, pb, pc = inverse.reshape(3, -1)
        return shifted[pb] * shifted[pc] / (shifted[pa] + np.float32(1e-6))
    return brute_force_top_k(unit, None, exclude, k, score_fn=cosmul)


def _two_column_chunk(unit, ia, ib, ic, k, method, margin):
    """One chunk by the threshold algorithm; questions it cannot settle go to brute force."""
    from .threshold import Chunk

    if method == "3cosadd":   # scores are u_w·m with m unnormalised: scale the margin with |m|
        m_norm = np.linalg.norm(unit[ib] - unit[ia] + unit[ic], axis=1)
        slack = margin * np.maximum(m_norm, 1e-12)
    else:                     # log-scores: an absolute margin is a relative one on the product
        slack = np.full(len(ia), margin, dtype=np.float32)
    idx, val, settled = Chunk(unit, ia, ib, ic, k, method, slack).rounds()
    if method == "3cosadd":
        val = (val / m_norm[:, None]).astype(np.float32)
    else:
        val = np.exp(val).astype(np.float32)
    rest = np.flatnonzero(~settled)
    if len(rest):
        idx[rest], val[rest] = _brute(unit, ia[rest], ib[rest], ic[rest], k, method)
    return idx, val
