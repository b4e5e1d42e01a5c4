"""PNG figures for influence results, drawn with matplotlib's object API (no global backend
switch, so a notebook's own backend is left alone) and written atomically."""
from __future__ import annotations

import os

import numpy as np

from .._optional import require


def _figure(width, height):
    Figure = require("matplotlib.figure", "influence plots").Figure
    FigureCanvasAgg = require("matplotlib.backends.backend_agg", "influence plots").FigureCanvasAgg
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path):
    """Write ``figure`` to ``path`` atomically (:func:`torchsorflow.io.atomic.atomic_write`)."""
    from ..io.atomic import atomic_write
    path = os.fspath(path)
    atomic_write(path, lambda stream: figure.savefig(stream, format="png", bbox_inches="tight"),
                 make_parents=True)
    return path


def loo_scatter(predicted, actual, pearson, spearman, path, title="Leave-one-out retraining"):
    """Koh & Liang's Figure 2: predicted vs actual change in test loss, one dot per removal."""
    figure = _figure(4.6, 4.4)
    axes = figure.add_subplot()
    predicted, actual = np.asarray(predicted), np.asarray(actual)
    low = float(min(predicted.min(), actual.min()))
    high = float(max(predicted.max(), actual.max()))
    pad = 0.05 * (high - low or 1.0)
    axes.plot([low - pad, high + pad], [low - pad, high + pad], color="0.6", lw=1, ls="--",
              label="y = x")
    axes.scatter(actual, predicted, s=14, color="tab:blue", alpha=0.8, zorder=3)
    axes.set_xlabel("actual change in test loss (retrained)")
    axes.set_ylabel("predicted change (influence)")
    axes.set_title(f"{title}\nPearson R = {pearson:.4f}, Spearman ρ = {spearman:.3f}", fontsize=9)
    axes.ticklabel_format(style="sci", scilimits=(-2, 2))
    axes.legend(loc="upper left", fontsize=8)
    return save_png(figure, path)


def taylor_plot(eps, zeroth, first, path, title="θ̂(ε) against its Taylor expansion"):
    """Log-log errors of the zeroth- and first-order expansions, with slopes 1 and 2 drawn for
    reference."""
    figure = _figure(4.8, 4.0)
    axes = figure.add_subplot()
    eps = np.abs(np.asarray(eps))
    axes.loglog(eps, zeroth, "o-", label="‖θ̂(ε) − θ̂‖  (order 1)")
    axes.loglog(eps, first, "s-", label="‖θ̂(ε) − θ̂ − ε dθ̂/dε‖  (order 2)")
    for values, power in ((zeroth, 1), (first, 2)):
        anchor = values[np.argmax(eps)] / eps.max() ** power
        axes.loglog(eps, anchor * eps ** power, color="0.6", lw=0.8, ls=":")
    axes.set_xlabel("|ε|")
    axes.set_ylabel("error")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    return save_png(figure, path)


def influence_grid(test_image, test_caption, rows, path, title=None):
    """The test image, then one row of training images per ``(row label, [(image, caption)])``."""
    columns = max([len(images) for _, images in rows] + [1])
    figure = _figure(1.25 * (columns + 1), 1.45 * max(len(rows), 1) + 0.4)
    grid = figure.add_gridspec(max(len(rows), 1), columns + 1)
    axes = figure.add_subplot(grid[:, 0])
    _show(axes, test_image, test_caption, "tab:red")
    for r, (label, images) in enumerate(rows):
        for c, (image, caption) in enumerate(images):
            axes = figure.add_subplot(grid[r, c + 1])
            _show(axes, image, caption, "tab:green" if label.startswith("help") else "tab:orange")
            if c == 0:
                axes.set_ylabel(label, fontsize=8)
    if title:
        figure.suptitle(title, fontsize=9)
    return save_png(figure, path)


def _show(axes, image, caption, colour):
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[0] in (1, 3):
        image = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    axes.imshow(image, cmap="gray_r", interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(1.5)
    axes.set_title(caption, fontsize=6.5)
