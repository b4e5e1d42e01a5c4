"""Training GloVe word vectors (Pennington, Socher & Manning, EMNLP 2014) on a tokenised corpus.

GloVe fits word vectors to the logarithm of how often words appear near each other:

1. **Count co-occurrences** (:func:`cooccurrence_matrix`). Every pair of in-vocabulary tokens at
   most ``window`` apart on the same line adds ``1/distance`` to ``X[center, context]`` (nearby
   words count more), in both directions (symmetric). Tokens outside the vocabulary (rarer than
   ``min_count``) are dropped before distances are measured, as in Stanford's ``cooccur``.
2. **Fit** (:func:`train_glove`) the weighted least-squares objective over the non-zero entries

       J = Σᵢⱼ f(Xᵢⱼ) (wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log Xᵢⱼ)²,   f(x) = min(1, (x / x_max)^α)

   with x_max = 100 and α = 0.75: rare pairs, whose counts are noise, weigh less, and very common
   pairs do not dominate. Each word has two vectors, ``w`` as a center and ``w̃`` as a context
   word; the model returns their sum ``w + w̃``, which the paper found slightly better than either.
3. **Optimise** with :class:`~torchsorflow.optim.Adagrad` on shuffled mini-batches of non-zero
   entries: each parameter's step is divided by the root of its summed squared gradients
   (started at 1, as Stanford's code), so frequent words take small steps and rare ones large
   steps.

The objective is written once, with the framework's Tensors (:func:`glove_loss`), and its
gradient comes from the framework's reverse mode; the tests check that gradient against the
closed form and against PyTorch in float64.

>>> lines = ["paris is the capital of france", "berlin is the capital of germany"] * 20
>>> vocab, counts = build_vocab(lines, min_count=1)
>>> X = cooccurrence_matrix(lines, vocab, window=3, progress=False)
>>> X.shape, round(float(X[vocab.index("capital"), vocab.index("of")]), 1)
((8, 8), 40.0)
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np

from .._optional import progress_bar
from ..optim import Adagrad
from ..tensor import Tensor
from ..ops.creation import as_tensor


def tokenize(line, lower=False):
    """Whitespace tokens of one line (optionally lower-cased)."""
    return (line.lower() if lower else line).split()


def build_vocab(lines, min_count=5, max_vocab=None, lower=False):
    """Words seen at least ``min_count`` times, most frequent first (ties alphabetical), and their
    counts. Frequency order is what ``restrict_vocab`` in the evaluations relies on."""
    counter = collections.Counter()
    for line in lines:
        counter.update(tokenize(line, lower))
    kept = sorted(((c, w) for w, c in counter.items() if c >= min_count),
                  key=lambda t: (-t[0], t[1]))
    if max_vocab is not None:
        kept = kept[:max_vocab]
    if not kept:
        raise ValueError(f"no word occurs at least min_count={min_count} times "
                         f"({len(counter)} distinct words in the corpus)")
    return [w for _, w in kept], np.array([c for c, _ in kept], dtype=np.int64)


def cooccurrence_matrix(lines, vocab, window=10, symmetric=True, distance_weighting=True,
                        lower=False, chunk_tokens=2_000_000, progress=True):
    """Sparse ``X`` (``scipy.sparse.csr_matrix``, float64, ``len(vocab)`` square): the weighted
    co-occurrence counts described in the module docstring. ``lines`` is any iterable of text
    lines (a file object works); windows never cross a line break."""
    import scipy.sparse

    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    index = {w: i for i, w in enumerate(vocab)}
    n = len(vocab)
    total = scipy.sparse.csr_matrix((n, n), dtype=np.float64)
    ids, line_of, line_no = [], [], 0

    def flush():
        nonlocal total
        if not ids:
            return
        tokens, lines_ = np.concatenate(ids), np.concatenate(line_of)
        rows, cols, vals = [], [], []
        for d in range(1, window + 1):
            same = lines_[d:] == lines_[:-d]
            centre, context = tokens[d:][same], tokens[:-d][same]
            weight = np.full(len(centre), 1.0 / d if distance_weighting else 1.0)
            rows += [centre, context] if symmetric else [centre]
            cols += [context, centre] if symmetric else [context]
            vals += [weight, weight] if symmetric else [weight]
        part = scipy.sparse.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        total = total + part.tocsr()
        ids.clear()
        line_of.clear()

    pending = 0
    for line in progress_bar(lines, desc="co-occurrences", unit=" lines", enabled=progress):
        row = [index[t] for t in tokenize(line, lower) if t in index]
        if len(row) > 1:
            ids.append(np.array(row, dtype=np.int64))
            line_of.append(np.full(len(row), line_no, dtype=np.int64))
            pending += len(row)
        line_no += 1
        if pending >= chunk_tokens:
            flush()
            pending = 0
    flush()
    total.sum_duplicates()
    return total


def weighting(x, x_max=100.0, alpha=0.75):
    """GloVe's weight f(x) = min(1, (x / x_max)^alpha)."""
    return np.minimum(1.0, (np.asarray(x, dtype=np.float64) / x_max) ** alpha)


def glove_loss(W, W_ctx, b, b_ctx, rows, cols, x, x_max=100.0, alpha=0.75) -> Tensor:
    """The objective J = Σ f(x)(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log x)² over the entries ``(rows, cols, x)``,
    as a scalar Tensor: differentiate it with ``backward()`` (or any transform). ``W``, ``W_ctx``,
    ``b``, ``b_ctx`` are the parameter Tensors, ``rows`` and ``cols`` index their rows, ``x`` holds
    the entries' co-occurrence counts; f and log x are computed in the parameters' dtype.

    >>> rng = np.random.default_rng(0)
    >>> W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    >>> C = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    >>> b, c = (Tensor(np.zeros(3), requires_grad=True) for _ in range(2))
    >>> loss = glove_loss(W, C, b, c, np.array([0, 1]), np.array([1, 2]), np.array([5.0, 200.0]))
    >>> loss.backward()
    >>> W.grad.shape, round(float(b.grad.sum() - c.grad.sum()), 12)
    ((3, 2), 0.0)
    """
    dtype = W.dtype
    fx = as_tensor(weighting(x, x_max, alpha).astype(dtype))
    log_x = as_tensor(np.log(x).astype(dtype))
    residual = (W[rows] * W_ctx[cols]).sum(1) + b[rows] + b_ctx[cols] - log_x
    return (fx * residual * residual).sum()


def _adagrad_step_rows(params, tables, sums, touched, lr, steps_taken):
    """One :class:`~torchsorflow.optim.Adagrad` step of the rows ``touched[k]`` of ``tables[k]``.

    ``params[k]`` holds those rows, with their gradients; their squared-gradient sums are
    gathered from ``sums[k]`` as the optimizer's state, and both are written back after the step.
    AdaGrad moves an entry only by its own gradient and sum, and an entry whose gradient is zero
    not at all, so this is the dense step over whole tables at the cost of the batch instead of
    the vocabulary (as PyTorch's Adagrad treats the sparse gradients of
    ``nn.Embedding(sparse=True)``)."""
    optimizer = Adagrad(params, lr=lr)
    for param, accumulated, rows in zip(params, sums, touched):
        optimizer.state[param] = {"step": steps_taken, "sum": as_tensor(accumulated[rows])}
    optimizer.step()
    for param, table, accumulated, rows in zip(params, tables, sums, touched):
        table[rows] = param.numpy()
        accumulated[rows] = optimizer.state[param]["sum"].numpy()


@dataclasses.dataclass
class GloVeModel:
    """Trained parameters: center vectors ``W``, context vectors ``W_ctx``, their biases, and
    per epoch the loss J divided by the number of non-zero entries, summed over the epoch's
    batches just before each batch's update (what Stanford's ``glove`` prints as "cost")."""
    W: np.ndarray
    W_ctx: np.ndarray
    b: np.ndarray
    b_ctx: np.ndarray
    losses: list

    @property
    def vectors(self):
        """``W + W_ctx``: the word vectors GloVe publishes."""
        return self.W + self.W_ctx


def train_glove(cooccurrences, dim=50, epochs=25, x_max=100.0, alpha=0.75, learning_rate=0.05,
                batch_size=512, seed=0, dtype=np.float32, progress=True):
    """Fit GloVe to a co-occurrence matrix (from :func:`cooccurrence_matrix`) with AdaGrad on
    shuffled mini-batches of its non-zero entries. Returns a :class:`GloVeModel`.

    Initial vectors are uniform in ±0.5/dim and biases zero (Stanford's initialisation);
    AdaGrad's squared-gradient sums start at 1. Each batch gathers the rows it touches into
    Tensors, differentiates :func:`glove_loss` on them and steps them with ``optim.Adagrad``."""
    import scipy.sparse

    X = scipy.sparse.coo_matrix(cooccurrences)
    if X.shape[0] != X.shape[1]:
        raise ValueError(f"the co-occurrence matrix must be square, got shape {X.shape}")
    keep = X.data > 0
    rows, cols, x = X.row[keep].astype(np.int64), X.col[keep].astype(np.int64), X.data[keep]
    if not len(x):
        raise ValueError("the co-occurrence matrix has no positive entries")
    n, rng = X.shape[0], np.random.default_rng(seed)
    W = ((rng.random((n, dim)) - 0.5) / dim).astype(dtype)
    W_ctx = ((rng.random((n, dim)) - 0.5) / dim).astype(dtype)
    b, b_ctx = np.zeros(n, dtype), np.zeros(n, dtype)
    tables = (W, W_ctx, b, b_ctx)
    sums = [np.ones_like(table) for table in tables]
    losses, steps = [], 0
    bar = progress_bar(range(epochs), desc="GloVe", unit=" epoch", enabled=progress)
    for _ in bar:
        order, total = rng.permutation(len(x)), 0.0
        for start in range(0, len(x), batch_size):
            sel = order[start:start + batch_size]
            centres, i = np.unique(rows[sel], return_inverse=True)
            contexts, j = np.unique(cols[sel], return_inverse=True)
            touched = (centres, contexts, centres, contexts)
            block = [as_tensor(table[r]).requires_grad_() for table, r in zip(tables, touched)]
            loss = glove_loss(*block, i, j, x[sel], x_max, alpha)
            loss.backward()
            total += loss.item()
            _adagrad_step_rows(block, tables, sums, touched, learning_rate, steps)
            steps += 1
        losses.append(total / len(x))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    return GloVeModel(W, W_ctx, b, b_ctx, losses)


def train_glove_on_corpus(lines, dim=50, window=10, min_count=5, epochs=25, lower=False,
                          progress=True, **options):
    """Vocabulary, co-occurrences and training in one call; returns ``(KeyedVectors, model)``.
    ``lines`` must be re-iterable (a list, or a path's lines read twice)."""
    from .keyed_vectors import KeyedVectors

    lines = lines if isinstance(lines, list) else list(lines)
    vocab, _ = build_vocab(lines, min_count=min_count, lower=lower)
    X = cooccurrence_matrix(lines, vocab, window=window, lower=lower, progress=progress)
    model = train_glove(X, dim=dim, epochs=epochs, progress=progress, **options)
    return KeyedVectors(model.vectors.astype(np.float32), vocab), model
