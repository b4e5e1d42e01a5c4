"""The threshold algorithm behind :func:`~torchsorflow.embeddings.search.analogy_top_k`.

Both analogy objectives split into two *columns*, one depending only on the pair ``(a, b)`` and
one only on ``c``, each a score for every word of the vocabulary:

* 3CosAdd: ``cos(w, b - a + c) ∝ u_w·(u_b - u_a) + u_w·u_c``;
* 3CosMul: ``log[P(w,b) P(w,c) / (P(w,a) + 1e-6)] = [log P(w,b) - log(P(w,a) + 1e-6)] + log P(w,c)``
  with ``P = (1 + cos) / 2``; the logarithm keeps gensim's ranking.

An analogy set repeats its pairs and its ``c`` words (the Google set: 19,544 questions, about
1,000 distinct columns), so each column is computed once for the whole vocabulary and its
best-scoring words are grouped into nested *levels* by thresholds (:func:`column_levels`). A word
outside level ``l1`` of the pair column and level ``l2`` of the ``c`` column scores below
``t1 + t2``. Round 1 scores the first level of both columns exactly, which gives ``tau``, a lower
bound on the k-th best score; each question then takes the cheapest pair of levels whose bound
``t1 + t2`` falls below ``tau`` (Fagin's stopping rule), and round 2 scores exactly the words in
them: a few thousand per question instead of 300,000, with small matrix products.
"""
from __future__ import annotations

import numpy as np

from .search import _first_k_per_row


def _shift_log(cosines):
    """log((1 + cos) / 2): the logarithm of gensim's similarity shifted to [0, 1]."""
    with np.errstate(divide="ignore"):
        return np.log((cosines + 1) * np.float32(0.5))


def _shift_log_floor(cosines):
    """log((1 + cos) / 2 + 1e-6): gensim's denominator term."""
    return np.log((cosines + 1) * np.float32(0.5) + np.float32(1e-6))


class Columns:
    """The columns of one chunk of questions: one per distinct pair ``(a, b)``, then one per
    distinct ``c`` word. ``block(cols, out)`` gives their values over the whole vocabulary,
    ``at(points, cols)`` their values at the unit vectors ``points`` (some words' rows)."""

    def __init__(self, unit, pairs, cs, method):
        self.unit, self.method, self.n_cols = unit, method, len(pairs) + len(cs)
        if method == "3cosadd":       # linear: one direction per column
            self.vectors = np.concatenate([unit[pairs[:, 1]] - unit[pairs[:, 0]], unit[cs]])
            return
        # 3CosMul: cosines with the distinct question words, then combined per column
        words, inverse = np.unique(np.concatenate([pairs[:, 0], pairs[:, 1], cs]),
                                   return_inverse=True)
        self.vectors = unit[words]
        pos_a, pos_b, pos_c = np.split(inverse.ravel(), [len(pairs), 2 * len(pairs)])
        self.plus = np.concatenate([pos_b, pos_c])                    # + log P(w, b or c)
        self.minus = np.concatenate([pos_a, np.full(len(cs), -1)])     # - log(P(w, a) + 1e-6)

    def __len__(self):
        return self.n_cols

    def block(self, cols, out):
        """Fill ``out`` (``len(cols)`` rows) with the columns over the whole vocabulary."""
        if self.method == "3cosadd":
            return np.matmul(self.vectors[cols], self.unit.T, out=out)
        out[:] = _shift_log(self.vectors[self.plus[cols]] @ self.unit.T)
        pair = self.minus[cols] >= 0
        if pair.any():
            out[pair] -= _shift_log_floor(self.vectors[self.minus[cols][pair]] @ self.unit.T)
        return out

    def at(self, points, cols):
        """``(len(points), len(cols))``: the columns' values at the unit vectors ``points``."""
        if self.method == "3cosadd":
            return points @ self.vectors[cols].T
        plus, minus = self.plus[cols], self.minus[cols]
        pair = minus >= 0
        needed = np.unique(np.concatenate([plus, minus[pair]]))
        cosines = points @ self.vectors[needed].T
        values = _shift_log(cosines[:, np.searchsorted(needed, plus)])
        if pair.any():
            values[:, pair] -= _shift_log_floor(cosines[:, np.searchsorted(needed, minus[pair])])
        return values


def column_levels(columns, n, n_levels, sample_size=2048, block=32):
    """Group the best-scoring words of every column into nested levels, without sorting them.

    Level ``l`` of column ``j`` holds every word scoring at least ``thresholds[j, l]``; the
    thresholds are read from a sorted sample of the column (ranks 1, 2, 4, ... of one word in
    ``stride``), so level ``l`` holds roughly ``stride * 2**l`` words. Words are stored column by
    column, level by level, so level ``l`` of column ``j`` is the contiguous run
    ``start[j] : start[j] + counts[j, l]``, and a word outside it scores below the threshold.
    The columns are computed ``block`` at a time into one reused buffer: the full matrix is never
    held, and fresh memory (page faults) is not needed for every block."""
    n_cols = len(columns)
    stride = max(1, n // sample_size)
    ranks = 2 ** np.arange(n_levels) - 1
    thresholds = np.empty((n_cols, n_levels), dtype=np.float32)
    counts = np.empty((n_cols, n_levels), dtype=np.int64)
    words, values = [], []
    buffer = np.empty((min(block, n_cols), n), dtype=np.float32)
    mask = np.empty(n, dtype=bool)
    for first in range(0, n_cols, block):
        rows = columns.block(np.arange(first, min(first + block, n_cols)),
                             buffer[:min(block, n_cols - first)])
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


class Chunk:
    """The questions of one chunk, their columns with the levels of each, and, per column, the
    questions that use it (and the column on their other side)."""

    def __init__(self, unit, ia, ib, ic, k, method, slack, n_levels=8):
        self.unit, self.ia, self.ib, self.ic, self.k, self.slack = unit, ia, ib, ic, k, slack
        pairs, pair_of = np.unique(np.stack([ia, ib], 1), axis=0, return_inverse=True)
        cs, c_of = np.unique(ic, return_inverse=True)
        self.pair_of, self.c_of = pair_of.ravel(), c_of.ravel() + len(pairs)
        self.columns = Columns(unit, pairs, cs, method)
        (self.thresholds, self.words, self.values, self.start,
         self.counts) = column_levels(self.columns, len(unit), n_levels)
        n_q = len(ia)
        col_of = np.concatenate([self.pair_of, self.c_of])
        self.partner = np.concatenate([self.c_of, self.pair_of])
        self.question = np.concatenate([np.arange(n_q), np.arange(n_q)])
        self.order = np.argsort(col_of, kind="stable")
        self.bounds = np.searchsorted(col_of[self.order], np.arange(len(pairs) + len(cs) + 1))

    def scored(self, depth):
        """Per column and level: the questions whose ``depth`` (per question and side) reaches
        the level, the level's words, and their exact scores as a (words, questions) matrix: the
        column's stored values plus the partner columns' values at those words."""
        for col in range(len(self.bounds) - 1):
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
                scores = self.columns.at(rows[part], self.partner[active])
                scores += values[part][:, None]
                yield self.question[active], words[part], scores

    def rounds(self):
        """``(indices, scores, settled)``: the top k of every question whose bound could be
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
        return idx, val, settled
