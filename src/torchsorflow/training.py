"""A small, reusable training loop: :func:`train_epoch`, :func:`evaluate`, :func:`fit`.

The loop is the one every PyTorch tutorial writes by hand; having it once keeps the ``tsf train``
command, the demos and the tests honest about doing the same thing:

1. ``model.train()`` (batch norm uses batch statistics, dropout drops);
2. for each batch: ``optimizer.zero_grad()``, forward, loss, ``loss.backward()``,
   ``optimizer.step()``;
3. ``model.eval()`` and ``no_grad()`` to measure loss and accuracy on held-out data;
4. ``scheduler.step()`` once per epoch.

:func:`fit` returns the history as a list of plain dicts (one per epoch: losses, accuracies, lr,
seconds), which is what goes into ``metrics.json`` and :func:`plot_history`'s training-curve PNG.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn, optim
>>> from torchsorflow.data import DataLoader, TensorDataset
>>> tsf.manual_seed(0)  # doctest: +ELLIPSIS
<...>
>>> x = tsf.randn(64, 2)
>>> y = (x.numpy()[:, 0] > 0).astype("int64")
>>> loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=0)
>>> model = nn.Linear(2, 2)
>>> history = fit(model, loader, optim.SGD(model.parameters(), lr=0.5), epochs=5,
...               test_loader=loader, progress=False, log=None)
>>> history[-1]["test_accuracy"] > 0.9
True
"""
from __future__ import annotations

import math
import time
from io import BytesIO

import numpy as np

from ._optional import progress_bar, require
from .autodiff.tracer import no_grad
from .optim.lr_scheduler import ReduceLROnPlateau


def _cross_entropy(logits, labels):
    from .nn.functional import cross_entropy
    return cross_entropy(logits, labels)


def _count_correct(logits, labels) -> int:
    return int((np.argmax(logits.numpy(), axis=1) == np.asarray(labels.numpy())).sum())


class ShardedLoader:
    """Each batch of ``loader`` cut into ``world_size`` contiguous shards of near-equal size;
    rank ``rank`` iterates over its shard of every batch, so that the ranks together see exactly
    the batches one process would (same order, same shuffling for the same seed).

    Data-parallel training averages the ranks' gradients, and each rank's loss is a mean over its
    shard; shards that differ in size (an uneven split, the last batch) would then weigh their
    examples differently. Each item is therefore ``(inputs, labels, weight)`` with
    ``weight = shard size · world_size / batch size``: the mean loss times that weight, averaged
    over the ranks, is the mean over the whole batch. With ``skip_small`` (training) a batch with
    fewer examples than ranks, which would leave some rank nothing, is skipped by every rank.

    >>> from torchsorflow.data import DataLoader, TensorDataset
    >>> import torchsorflow as tsf
    >>> loader = DataLoader(TensorDataset(tsf.arange(7), tsf.arange(7)), batch_size=5)
    >>> [(x.tolist(), w) for x, _, w in ShardedLoader(loader, rank=1, world_size=2)]
    [([2, 3, 4], 1.2), ([6], 1.0)]
    """

    def __init__(self, loader, rank: int, world_size: int, skip_small: bool = False):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.loader, self.rank, self.world_size = loader, rank, world_size
        self.skip_small = skip_small

    def _batches(self):
        for indices in self.loader.index_batches():
            if self.skip_small and len(indices) < self.world_size:
                continue
            yield indices

    def __len__(self):   # from the sizes alone: drawing the order would advance the shuffling
        count, loader = len(self.loader), self.loader
        if self.skip_small and loader.batch_sampler is None and loader.batch_size:
            n = len(loader.sampler) if loader.sampler is not None else len(loader.dataset)
            last = n % loader.batch_size
            if last and not loader.drop_last and last < self.world_size:
                count -= 1
        return count

    def __iter__(self):
        for indices in self._batches():
            lo = len(indices) * self.rank // self.world_size
            hi = len(indices) * (self.rank + 1) // self.world_size
            if hi == lo:   # only without skip_small (evaluation, which needs no collectives)
                continue
            inputs, labels = self.loader.fetch(indices[lo:hi])
            yield inputs, labels, (hi - lo) * self.world_size / len(indices)


def _global_sums(*values):
    """Sums over all ranks of a few numbers (one all-reduce)."""
    from .distributed.collectives import all_reduce_array
    return all_reduce_array(np.array(values, dtype=np.float64), name="training metrics")


def train_epoch(model, loader, optimizer, loss_fn=None, progress=None) -> dict:
    """One pass over ``loader`` with updates; returns the mean loss and accuracy seen in training.

    ``progress`` is an optional tqdm bar that is advanced once per batch (its postfix shows the
    running loss). A non-finite loss stops with an error naming the batch, because every later
    step would only spread the NaN.

    A :class:`ShardedLoader` (data-parallel training with a DistributedDataParallel model) makes
    the loss of each step and the returned metrics those of the whole batch, over all ranks.
    """
    loss_fn = loss_fn or _cross_entropy
    sharded = isinstance(loader, ShardedLoader)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for batch, item in enumerate(loader):
        inputs, labels, weight = item if sharded else (*item, None)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = loss_fn(logits, labels)
        value, n, right = loss.item(), len(labels), _count_correct(logits, labels)
        if sharded:   # the whole batch's loss and accuracy
            loss_sum, right, n = _global_sums(value * n, right, n)
            value, right, n = loss_sum / n, int(right), int(n)
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value} at batch {batch}; lower "
                                     "the learning rate")
        (loss if weight is None else loss * weight).backward()
        optimizer.step()
        total_loss += value * n
        correct += right
        seen += n
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}


def evaluate(model, loader, loss_fn=None) -> dict:
    """Mean loss and accuracy of ``model`` on ``loader`` in eval mode, without building graphs.

    The model's previous train/eval mode is restored afterwards. With a :class:`ShardedLoader`
    each rank evaluates its shard and the result covers all of them.
    """
    loss_fn = loss_fn or _cross_entropy
    sharded = isinstance(loader, ShardedLoader)
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        with no_grad():
            for item in loader:
                inputs, labels = item[:2]
                n = len(labels)
                if n == 0:
                    continue
                logits = model(inputs)
                total_loss += loss_fn(logits, labels).item() * n
                correct += _count_correct(logits, labels)
                seen += n
    finally:
        model.train(was_training)
    if sharded:   # every rank evaluated its shard of each batch
        total_loss, correct, seen = _global_sums(total_loss, correct, seen)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}


def fit(model, train_loader, optimizer, epochs: int, *, test_loader=None, scheduler=None,
        loss_fn=None, eval_loss_fn=None, progress: bool = True, log=print,
        on_epoch_end=None, start_epoch: int = 1, history: list | None = None) -> list[dict]:
    """Train up to epoch ``epochs``; returns one dict of metrics per epoch.

    ``loss_fn(logits, labels)`` defaults to cross-entropy; ``eval_loss_fn`` (default: ``loss_fn``)
    measures the test loss -- e.g. train with label smoothing but report the plain cross-entropy.

    Each epoch prints one line through ``log`` (``None`` to stay silent) and, with ``progress``,
    a tqdm bar counts batches over the whole run. ``on_epoch_end(record)`` is called after each
    epoch (for checkpoints or early stopping: return ``True`` to stop). ``scheduler.step()`` runs
    after each epoch; a ``ReduceLROnPlateau`` is given the epoch's test loss (the training loss
    without a ``test_loader``).

    To continue an interrupted run, restore the model, optimizer, scheduler and random states
    saved after epoch k and pass ``start_epoch=k + 1`` and the ``history`` so far (it is
    extended and returned).
    """
    history = list(history or [])
    bar = progress_bar(total=max(epochs - start_epoch + 1, 0) * len(train_loader), unit="batch",
                       enabled=progress, dynamic_ncols=True, leave=False)
    try:
        for epoch in range(start_epoch, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            lr = optimizer.param_groups[0]["lr"]
            start = time.perf_counter()
            train = train_epoch(model, train_loader, optimizer, loss_fn, progress=bar)
            record = {"epoch": epoch, "lr": lr, "train_loss": train["loss"],
                      "train_accuracy": train["accuracy"]}
            if test_loader is not None:
                test = evaluate(model, test_loader, eval_loss_fn or loss_fn)
                record.update(test_loss=test["loss"], test_accuracy=test["accuracy"])
            record["seconds"] = time.perf_counter() - start
            if isinstance(scheduler, ReduceLROnPlateau):   # it watches the epoch's loss
                scheduler.step(record.get("test_loss", record["train_loss"]))
            elif scheduler is not None:
                scheduler.step()
            history.append(record)
            if log is print and progress:
                bar.write(format_record(record, epochs))   # printed above the bar, not through it
            elif log is not None:
                log(format_record(record, epochs))
            if on_epoch_end is not None and on_epoch_end(record):
                break
    finally:
        bar.close()
    return history


def format_record(record: dict, epochs: int | None = None) -> str:
    """One human-readable line per epoch, e.g. ``epoch  3/10  train loss 0.1234 acc 96.5% ...``."""
    width = len(str(epochs or record["epoch"]))
    text = f"epoch {record['epoch']:>{width}}" + (f"/{epochs}" if epochs else "")
    text += f"  train loss {record['train_loss']:.4f} acc {100 * record['train_accuracy']:.2f}%"
    if "test_loss" in record:
        text += f"  test loss {record['test_loss']:.4f} acc {100 * record['test_accuracy']:.2f}%"
    return text + f"  lr {record['lr']:.3g}  {record['seconds']:.1f}s"


def plot_history(history: list[dict], path, title: str | None = None,
                 loss_label: str = "cross-entropy loss"):
    """Save a two-panel PNG (loss, accuracy per epoch; train and test) of a :func:`fit` history.

    The train curve is the running average over each epoch (the model changes during it), so it
    may lie above the test curve early on; ``loss_label`` names the loss on the y axis.
    """
    Figure = require("matplotlib.figure", "plot_history").Figure  # no pyplot: no global state
    MaxNLocator = require("matplotlib.ticker", "plot_history").MaxNLocator

    from .io.atomic import atomic_write

    epochs = [r["epoch"] for r in history]
    figure = Figure(figsize=(10, 4))
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for split, style in (("train", "o-"), ("test", "s--")):
        if history and f"{split}_loss" in history[0]:
            loss_axis.plot(epochs, [r[f"{split}_loss"] for r in history], style, label=split)
            accuracy_axis.plot(epochs, [100 * r[f"{split}_accuracy"] for r in history], style,
                               label=split)
    loss_axis.set(xlabel="epoch", ylabel=loss_label, yscale="log", title="loss")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write(path, [buffer.getvalue()])
