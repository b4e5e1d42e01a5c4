"""A 2-D picture of word vectors: PCA (or t-SNE) projection, labels, and analogy arrows.

The class notebook's picture: project a handful of 50-dimensional vectors onto their two main
directions of variation and draw arrows for analogy pairs (man→king, woman→queen). If the arrows
are roughly parallel and of equal length, the offset "royalty" is a direction in the space, which
is exactly what 3CosAdd (``most_similar(positive=["king", "woman"], negative=["man"])``) uses.
Only two of the fifty dimensions survive a projection, so the picture illustrates and does not
prove: the evaluations are the test.

>>> import numpy as np, tempfile, os
>>> from torchsorflow.embeddings import KeyedVectors
>>> kv = KeyedVectors(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.1]], "f4"),
...                   ["man", "king", "woman", "queen"])
>>> xy = plot_words(kv, [], os.path.join(tempfile.mkdtemp(), "p.png"),
...                 pairs=[("man", "king"), ("woman", "queen")])
>>> sorted(xy)
['king', 'man', 'queen', 'woman']
"""
from __future__ import annotations

import numpy as np

from .._optional import require


def project(vectors, method="pca", seed=0):
    """Rows of ``vectors`` in 2-D: ``"pca"`` (centred SVD; each axis's sign fixed so that its
    largest coordinate is positive, as scikit-learn does) or ``"tsne"`` (scikit-learn's t-SNE,
    for larger sets where a linear projection crowds everything together)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < 2:
        raise ValueError(f"need at least 2 words to project, got {len(vectors)}")
    if method == "pca":
        centred = vectors - vectors.mean(axis=0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        u = u[:, :2] * s[:2]
        signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
        u = u * np.where(signs == 0, 1, signs)
        return np.pad(u, ((0, 0), (0, 2 - u.shape[1])))
    if method == "tsne":
        TSNE = require("sklearn.manifold", "a t-SNE projection").TSNE
        perplexity = min(30.0, max(1.0, (len(vectors) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def plot_words(kv, words, path, method="pca", pairs=(), title=None, figsize=(7, 5.5)):
    """Save a PNG of ``words`` (plus the words of ``pairs``) projected to 2-D, each labelled, with
    an arrow for every ``(from, to)`` pair. Returns ``{word: (x, y)}``.

    Unknown words raise :class:`~torchsorflow.embeddings.UnknownWordError` before anything is
    drawn. The file is written atomically (a temporary file renamed into place)."""
    Figure = require("matplotlib.figure", "plot_words").Figure
    FigureCanvasAgg = require("matplotlib.backends.backend_agg", "plot_words").FigureCanvasAgg

    pairs = [tuple(p) for p in pairs]
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"a pair must be (from_word, to_word), got {pair!r}")
    ordered = list(dict.fromkeys(list(words) + [w for pair in pairs for w in pair]))
    rows = [kv.get_index(w) for w in ordered]      # raises UnknownWordError, with suggestions
    xy = project(np.asarray(kv.c_vectors)[rows], method)
    coords = {w: (float(x), float(y)) for w, (x, y) in zip(ordered, xy)}

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="tab:blue", zorder=3)
    for word, (x, y) in coords.items():
        ax.annotate(word, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10)
    colours = ["tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink"]
    for i, (start, end) in enumerate(pairs):
        ax.annotate("", xy=coords[end], xytext=coords[start],
                    arrowprops={"arrowstyle": "->", "color": colours[i % len(colours)], "lw": 1.5})
    name = {"pca": "PCA", "tsne": "t-SNE"}[method]
    ax.set_title(title or f"{len(ordered)} words, {name} projection of {kv.vector_size}-d vectors")
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    ax.grid(alpha=0.3)
    fig.tight_layout()

    from ..io.atomic import atomic_write
    atomic_write(path, lambda file: fig.savefig(file, format="png", dpi=120), make_parents=True)
    return coords
