"""Exact top-k search for many analogy questions at once.

An analogy question *a : b :: c : ?* is answered (3CosAdd) by the word ``w`` whose unit vector
``u_w`` has the largest cosine with ``m = u_b - u_a + u_c``, the question words excluded. Asking
gensim's ``most_similar`` once per question costs a full pass over the vocabulary each time (a
matrix-vector product and a partial sort of 300,000 scores): about 19,500 passes for the Google
analogy set. This module answers all questions with the same exact result in far less work.

Two strategies, both exact:

* **Brute force** (:func:`brute_force_top_k`): questions in batches, one float32 matrix product
  per batch against the whole (restricted, unit-normalised) vocabulary, then a cheap top-k per row
  (:func:`top_k_per_row`). Used for small vocabularies, for 3CosMul, and for questions the second
  strategy cannot settle.
* **Threshold algorithm over shared offsets** (:func:`offset_top_k`). The score splits into two
  columns: ``u_w·m = u_w·(u_b - u_a) + u_w·u_c``. An analogy set repeats its offsets ``(a, b)``
  and its words ``c`` many times (the Google set has 19,544 questions but only about 1,000 distinct
  columns), so each column is computed once for the whole vocabulary and its best-scoring words
  are grouped into nested levels by thresholds (no sorting). A word outside level ``l1`` of the
  offset column and level ``l2`` of the ``c`` column scores below ``t1 + t2``; once that bound
  falls below a lower bound on the sixth-best score (found in the first levels), no unseen word
  can enter the top six (the stopping rule of Fagin's threshold algorithm). Only the words within
  those levels, a few thousand per question instead of 300,000, are scored exactly, with small
  matrix products; the rare question whose bound never gets low enough goes to brute force.

Scores are float32, so they differ from gensim's (which divides by the norm at the end, in another
summation order) by about 1e-7. Callers that need gensim's exact decisions compare the gaps between
the ranked scores with a margin and redo the rare near-ties with gensim's own arithmetic (see
:mod:`torchsorflow.embeddings.evaluation`).

>>> rng = np.random.default_rng(0)
>>> unit = rng.normal(size=(1000, 8)).astype(np.float32)
>>> unit /= np.linalg.norm(unit, axis=1, keepdims=True)
>>> q = np.array([[1, 2, 3], [4, 5, 6]])
>>> idx, _ = brute_force_top_k(unit, unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]], q, k=3)
>>> idx2, _ = offset_top_k(unit, q[:, 0], q[:, 1], q[:, 2], k=3, force=True)
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
        maxima = np.concatenate([maxima, scores[:, n_blocks * block:].max(axis=1, keepdims=True)], 1)
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


def offset_top_k(unit, ia, ib, ic, k=6, margin=MARGIN, max_columns=256, force=False):
    """Top-``k`` answers (3CosAdd) to the questions ``ia[i] : ib[i] :: ic[i] : ?``, the three
    question words excluded. Returns ``(indices, cosines)``, each ``(n_questions, k)``.

    Questions are taken in their order, in chunks whose distinct columns (offsets plus ``c``
    words) fit ``max_columns``; a chunk with too few repeats to profit goes to brute force unless
    ``force``. ``margin`` (cosine units) widens every bound so that float32 rounding can never hide
    a word that belongs in the top ``k``.

    The search makes thousands of small matrix products between NumPy passes. A multi-threaded
    BLAS (OpenBLAS) splits each product across its threads and keeps them spinning between
    calls, which here costs more than it gains (2-5x slower on a 2-core machine, measured), so
    BLAS is held to one thread meanwhile (via threadpoolctl, which scikit-learn brings along)."""
    ia, ib, ic = (np.asarray(x, dtype=np.int64) for x in (ia, ib, ic))
    if not force and len(unit) < 30000:      # a pass over a small vocabulary is cheap anyway
        return _brute(unit, ia, ib, ic, k)
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
            solve = _offset_chunk if force or len(seen) * 4 <= len(rows) else _brute
            idx[rows], val[rows] = solve(unit, ia[rows], ib[rows], ic[rows], k, margin)
            start = stop
    return idx, val


def _single_threaded_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn (a dependency) installs it
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _queries(unit, ia, ib, ic):
    m = unit[ib] - unit[ia] + unit[ic]
    norm = np.linalg.norm(m, axis=1)
    return m / np.where(norm > 0, norm, 1)[:, None], norm


def _brute(unit, ia, ib, ic, k, margin=None):
    queries, _ = _queries(unit, ia, ib, ic)
    return brute_force_top_k(unit, queries, np.stack([ia, ib, ic], 1), k)


def _column_levels(directions, unit, n_levels, sample_size=2048, block=64):
    """Group the best-scoring words of every column ``unit @ directions[j]`` into nested levels,
    without sorting them.

    Level ``l`` of column ``j`` holds every word scoring at least ``thresholds[j, l]``; the
    thresholds are read from a sorted sample of the column (ranks 1, 2, 4, ... of one word in
    ``stride``), so level ``l`` holds roughly ``stride * 2**l`` words. Words are stored column by
    column, level by level, so level ``l`` of column ``j`` is the contiguous run
    ``start[j] : start[j] + counts[j, l]``, and a word outside it scores below the threshold.
    The columns are computed ``block`` at a time into one reused buffer: the full matrix is never
    held, and fresh memory (page faults) is not needed for every block."""
    n_cols, n = len(directions), len(unit)
    stride = max(1, n // sample_size)
    ranks = 2 ** np.arange(n_levels) - 1
    thresholds = np.empty((n_cols, n_levels), dtype=np.float32)
    counts = np.empty((n_cols, n_levels), dtype=np.int64)
    words, values = [], []
    buffer = np.empty((min(block, n_cols), n), dtype=np.float32)
    mask = np.empty(n, dtype=bool)
    for first in range(0, n_cols, block):
        rows = buffer[:min(block, n_cols - first)]
        np.matmul(directions[first:first + len(rows)], unit.T, out=rows)
        sample = -np.sort(-rows[:, ::stride], axis=1)
        thresholds[first:first + len(rows)] = sample[:, np.minimum(ranks, sample.shape[1] - 1)]
        for j, row in enumerate(rows, start=first):
            w = np.flatnonzero(np.greater_equal(row, thresholds[j, -1], out=mask))
            v = row[w]
            level = np.searchsorted(-thresholds[j], -v).astype(np.uint8)
            order = np.argsort(level, kind="stable")
            words.append(w[order])
            values.append(v[order])
            counts[j] = np.bincount(level, minlength=n_levels).cumsum()
    start = np.concatenate([[0], counts[:-1, -1].cumsum()])
    return thresholds, np.concatenate(words), np.concatenate(values), start, counts


def _offset_chunk(unit, ia, ib, ic, k, margin, n_levels=8):
    idx, val, settled = _OffsetChunk(unit, ia, ib, ic, k, margin, n_levels).rounds()
    rest = np.flatnonzero(~settled)
    if len(rest):
        idx[rest], val[rest] = _brute(unit, ia[rest], ib[rest], ic[rest], k)
    return idx, val


class _OffsetChunk:
    """The questions of one chunk, their columns (offsets ``u_b - u_a`` and words ``u_c``) with
    the levels of each, and, per column, the questions that use it."""

    def __init__(self, unit, ia, ib, ic, k, margin, n_levels):
        self.unit, self.ia, self.ib, self.ic, self.k = unit, ia, ib, ic, k
        pairs, pair_of = np.unique(np.stack([ia, ib], 1), axis=0, return_inverse=True)
        cs, c_of = np.unique(ic, return_inverse=True)
        self.pair_of, self.c_of = pair_of.ravel(), c_of.ravel() + len(pairs)
        self.directions = np.concatenate([unit[pairs[:, 1]] - unit[pairs[:, 0]], unit[cs]])
        (self.thresholds, self.words, self.values, self.start,
         self.counts) = _column_levels(self.directions, unit, n_levels)
        _, self.m_norm = _queries(unit, ia, ib, ic)
        self.slack = margin * np.maximum(self.m_norm, 1e-12)
        n_q = len(ia)
        col_of = np.concatenate([self.pair_of, self.c_of])
        self.partner = np.concatenate([self.c_of, self.pair_of])
        self.question = np.concatenate([np.arange(n_q), np.arange(n_q)])
        self.order = np.argsort(col_of, kind="stable")
        self.bounds = np.searchsorted(col_of[self.order], np.arange(len(self.directions) + 1))

    def scored(self, depth):
        """Per column and level: the questions whose ``depth`` (per question and side) reaches
        the level, the level's words, and their exact scores u_w·m as a (words, questions)
        matrix, from one matrix product against the directions on the questions' other side."""
        for col in range(len(self.directions)):
            members = self.order[self.bounds[col]:self.bounds[col + 1]]
            deepest = int(depth[members].max(initial=-1))
            if deepest < 0:
                continue
            run = slice(self.start[col], self.start[col] + self.counts[col, deepest])
            words, values = self.words[run], self.values[run]
            rows = np.take(self.unit, words, axis=0)
            for lvl in range(deepest + 1):
                active = members[depth[members] >= lvl]
                part = slice(self.counts[col, lvl - 1] if lvl else 0, self.counts[col, lvl])
                scores = rows[part] @ self.directions[self.partner[active]].T
                scores += values[part][:, None]
                yield self.question[active], words[part], scores

    def rounds(self):
        """``(indices, cosines, settled)``: the top k of every question whose bound could be
        closed; the others (``settled`` False) are left for brute force."""
        ia, ib, ic, k, n_q = self.ia, self.ib, self.ic, self.k, len(self.ia)
        n_levels = self.counts.shape[1]
        # Round 1: the first level of each column alone gives tau, a lower bound on the k-th best.
        tau = np.full(n_q, -np.inf, dtype=np.float32)
        for q, w, scores in self.scored(np.zeros(2 * n_q, dtype=np.int64)):
            scores[(w[:, None] == ia[q]) | (w[:, None] == ib[q]) | (w[:, None] == ic[q])] = -np.inf
            if len(scores) >= k:
                tau[q] = np.maximum(tau[q], -np.partition(-scores, k - 1, axis=0)[k - 1])
        # The cheapest pair of levels whose thresholds rule out every word outside them.
        p, c = self.pair_of, self.c_of
        bound = self.thresholds[p][:, :, None] + self.thresholds[c][:, None, :]
        cost = self.counts[p][:, :, None] + self.counts[c][:, None, :]
        never = np.iinfo(np.int64).max
        cost = np.where(bound <= (tau - self.slack)[:, None, None], cost, never)
        best = cost.reshape(n_q, -1).argmin(axis=1)
        settled = cost.reshape(n_q, -1)[np.arange(n_q), best] < never
        depth = np.concatenate([np.where(settled, best // n_levels, -1),
                                np.where(settled, best % n_levels, -1)])
        # Round 2: every word in those levels, scored exactly; keep the k best distinct ones.
        floor = tau - self.slack
        found = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))]
        for q, w, scores in self.scored(depth):
            r, col = np.divmod(np.flatnonzero(scores >= floor[q]), len(q))
            found.append((q[col], w[r], scores[r, col]))
        q, w, s = (np.concatenate(x) for x in zip(*found))
        keep = (w != ia[q]) & (w != ib[q]) & (w != ic[q])
        idx, val = _first_k_per_row(q[keep], w[keep], s[keep], n_q, k, unique=True)
        return idx, (val / self.m_norm[:, None]).astype(np.float32), settled
