"""Character-level language models: ``tsf train --model gpt --text FILE`` and ``tsf sample``.

``tsf train --model gpt --text input.txt --epochs 4 --out runs/gpt`` reads any UTF-8 text, makes
its distinct characters the vocabulary, keeps the last 10 % for validation, and trains a
:class:`~torchsorflow.models.gpt.GPT` to predict each next character. An epoch is as many batches
of ``--batch-size`` random windows of ``--context`` characters as cover the training text once.
The run is written as ``tsf train`` writes a digits run (the same options, progress bar, curves,
``checkpoint.safetensors``, ``metrics.json``, ``--resume``, ``--force``): "accuracy" is the share
of characters predicted exactly, the loss the mean cross-entropy in nats per character. The
checkpoint's config keeps the vocabulary and a fingerprint of the text.

``tsf sample runs/gpt/checkpoint.safetensors --length 300 --temperature 0.8 --top-k 10
--prompt "ROMEO:"`` continues the prompt one sampled character at a time.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import numpy as np

from . import CommandError, finite_number, positive_int

VALIDATION_SHARE = 0.1
VALIDATION_WINDOWS = 64      # windows of the validation text scored after each epoch
# Settings of a GPT run where they differ from a digits run's (see train.DEFAULTS).
DEFAULTS = {"epochs": 4, "optimizer": "adamw", "lr": 1e-3, "batch_size": 16,
            "label_smoothing": 0.0, "schedule": "cosine", "weight_decay": 0.0}
SHAPE_DEFAULTS = {"context": 64, "layers": 4, "heads": 4, "width": 128}


def register(subparsers):
    sample = subparsers.add_parser(
        "sample", help="generate text with a GPT trained by `tsf train --model gpt`",
        description="Load a character-level GPT checkpoint and continue --prompt by sampling "
                    "one character at a time from the model's predicted distribution.")
    sample.add_argument("checkpoint", help="path to checkpoint.safetensors")
    sample.add_argument("--length", type=positive_int, default=200,
                        help="characters to generate (default 200)")
    sample.add_argument("--temperature", type=finite_number(0, low_open=True), default=1.0,
                        help="divide the logits by this before sampling: below 1 is more "
                             "conservative, above 1 more varied (default 1)")
    sample.add_argument("--top-k", type=positive_int, default=None,
                        help="sample only among the K likeliest characters")
    sample.add_argument("--prompt", default=None,
                        help="text to continue (default: a newline, or the first character "
                             "of the vocabulary)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    sample.set_defaults(func=run_sample)


# --- the text ---------------------------------------------------------------------------------
def read_text(path):
    """The text of ``path`` as a str; a clear error for a missing, non-UTF-8 or empty file."""
    if not os.path.exists(path):
        raise CommandError(f"--text {path}: no such file")
    if os.path.isdir(path):
        raise CommandError(f"--text {path} is a folder, not a text file")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise CommandError(f"--text {path}: not UTF-8 text (byte {error.start}, line {line}: "
                           f"{error.reason})") from None
    return text, hashlib.sha256(data).hexdigest()


def encode(text, vocab, what="text"):
    index = {c: i for i, c in enumerate(vocab)}
    try:
        return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    except KeyError as error:
        position = next(i for i, c in enumerate(text) if c not in index)
        raise CommandError(f"{what}: character {error.args[0]!r} (position {position}) is not "
                           f"in the model's vocabulary of {len(vocab)} characters") from None


class CharWindows:
    """Batches ``(x, y)`` of windows of ``context`` token ids and the ids one step later (``y``
    flattened, one label per character). Random windows, as many batches as cover the ids once
    (``shuffle``), or the first ``limit`` consecutive windows in order (for validation)."""

    def __init__(self, ids, context, batch_size, seed=0, shuffle=True, limit=None):
        from ..ops.creation import Generator
        self.ids, self.context, self.batch_size, self.shuffle = ids, context, batch_size, shuffle
        self.generator = Generator("cpu", seed)
        starts = len(ids) - context - 1
        if shuffle:
            self.count = max(1, (len(ids) - 1) // (context * batch_size))
        else:
            self.starts = np.arange(0, starts + 1, context)[:limit]
            self.count = -(-len(self.starts) // batch_size)

    def __len__(self):
        return self.count

    def __iter__(self):
        from ..tensor import Tensor
        offsets = np.arange(self.context + 1)
        for b in range(self.count):
            if self.shuffle:
                starts = self.generator.rng.integers(0, len(self.ids) - self.context,
                                                     self.batch_size)
            else:
                starts = self.starts[b * self.batch_size:(b + 1) * self.batch_size]
            windows = self.ids[starts[:, None] + offsets]
            yield Tensor._wrap(windows[:, :-1]), Tensor._wrap(windows[:, 1:].reshape(-1))


def _next_char_logits(model):
    """``model`` with its (B, T, V) logits flattened to (B·T, V), what fit() scores."""
    from .. import nn

    class NextCharacter(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            logits = self.model(x)
            return logits.reshape(-1, logits.shape[-1])

    return NextCharacter()


# --- training ---------------------------------------------------------------------------------
def _shape_hparams(args, vocab_size):
    given = {"context": args.context, "layers": args.layers, "heads": args.heads,
             "width": args.width}
    shape = {k: SHAPE_DEFAULTS[k] if v is None else v for k, v in given.items()}
    return {"vocab_size": vocab_size, "block_size": shape["context"],
            "n_layer": shape["layers"], "n_head": shape["heads"], "n_embd": shape["width"]}


def _gpt_settings(args, resumed):
    from .train import DEFAULTS as COMMON
    given = {key: getattr(args, key) for key in COMMON if key != "model"
             and getattr(args, key) is not None}
    if args.lr is not None:
        given["lr"] = args.lr
    if resumed is None:
        return {**COMMON, **DEFAULTS, **given, "model": "gpt"}
    for key, value in given.items():
        if resumed.get(key) != value:
            raise CommandError(f"--{key.replace('_', '-')} {value} differs from the resumed run's "
                               f"{resumed.get(key)}; a resumed run continues with its own "
                               "settings (leave the option out)")
    return dict(resumed)


def resumable_gpt_checkpoint(path):
    """The checkpoint at ``path`` if it is a GPT run that ``--resume`` can continue, None if it
    is another model's (the digits training reads it); a clear error if it cannot be used."""
    from .. import io
    if not os.path.isfile(path):
        raise CommandError(f"--resume {path}: no such file")
    checkpoint = io.load(path)
    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    if not isinstance(config, dict) or config.get("model") != "gpt":
        return None
    resume = checkpoint.get("resume")
    if not isinstance(resume, dict) or not isinstance(config.get("vocab"), str) or \
            not isinstance(checkpoint.get("model"), dict):
        raise CommandError(f"{path}: not a GPT run that `tsf train --resume` can continue (no "
                           "'resume' state, vocabulary or model)")
    from ..models.gpt import check_hparams
    try:
        check_hparams(config.get("hparams"), f"{path}: config")
    except ValueError as error:
        raise CommandError(str(error)) from None
    if not (isinstance(resume.get("epoch"), int) and 0 <= resume["epoch"] <= config.get(
            "epochs", -1)):
        raise CommandError(f"{path}: resume epoch {resume.get('epoch')!r} is not within the "
                           "run's epochs")
    return checkpoint


def train_gpt(args, checkpoint=None):
    """``tsf train --model gpt``: see the module docstring."""
    from .. import io
    from ..models.gpt import GPT, GPTConfig, check_hparams
    from ..nn.functional import cross_entropy
    from ..ops.creation import default_generator, manual_seed
    from ..training import fit
    from .train import PARTIAL, _make_optimizer, _make_schedule, _prepare_folders, run_state

    if getattr(args, "distributed", False):
        raise CommandError("--distributed is not supported with --model gpt")
    if args.text is None:
        raise CommandError("--model gpt needs --text FILE, the UTF-8 text to learn from")
    text, digest = read_text(args.text)
    resumed = checkpoint["config"] if checkpoint is not None else None
    settings = _gpt_settings(args, resumed)
    if resumed is not None:
        if resumed.get("text_sha256") != digest:
            raise CommandError(f"--text {args.text} is not the text the resumed run was trained "
                               "on (its SHA-256 differs)")
        vocab, hparams = resumed["vocab"], resumed["hparams"]
        given = _shape_hparams(args, len(vocab))
        for option, key in (("--context", "block_size"), ("--layers", "n_layer"),
                            ("--heads", "n_head"), ("--width", "n_embd")):
            value = getattr(args, option[2:])
            if value is not None and given[key] != hparams[key]:
                raise CommandError(f"{option} {value} differs from the resumed run's "
                                   f"{hparams[key]} (leave the option out)")
    else:
        vocab = "".join(sorted(set(text)))
        hparams = _shape_hparams(args, len(vocab))
    try:
        check_hparams(hparams, "the model")
    except ValueError as error:
        raise CommandError(str(error)) from None
    ids = encode(text, vocab)
    context = hparams["block_size"]
    validation = max(context + 2, int(len(ids) * VALIDATION_SHARE))
    if len(ids) - validation < context + 2:
        raise CommandError(f"--text {args.text} has {len(text)} characters; a context of "
                           f"{context} needs at least {2 * (context + 2)} (training and "
                           "validation text), or a smaller --context")
    train_ids, val_ids = ids[:-validation], ids[-validation:]
    out = args.out or os.path.join("runs", "gpt")
    partial_dir = os.path.abspath(out).rstrip(os.sep) + PARTIAL
    resuming_in_place = _prepare_folders(out, partial_dir, args)

    manual_seed(settings["seed"])
    model = GPT(GPTConfig(**hparams))
    optimizer = _make_optimizer(settings["optimizer"], model.parameters(), settings["lr"],
                                settings["weight_decay"], settings["momentum"])
    scheduler = _make_schedule(settings["schedule"], optimizer, settings["epochs"])
    train_loader = CharWindows(train_ids, context, settings["batch_size"], settings["seed"])
    test_loader = CharWindows(val_ids, context, settings["batch_size"], shuffle=False,
                              limit=VALIDATION_WINDOWS)
    history, done, previous_seconds = [], 0, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(checkpoint["scheduler"])
        resume = checkpoint["resume"]
        train_loader.generator.rng.bit_generator.state = resume["loader_rng"]
        default_generator.rng.bit_generator.state = resume["global_rng"]
        history, done = list(checkpoint.get("history") or []), resume["epoch"]
        previous_seconds = float(resume.get("seconds", 0.0))
    config = {"model": "gpt", "hparams": hparams, "vocab": vocab, "text": os.path.basename(
              args.text), "text_sha256": digest, **{k: settings[k] for k in (
              "optimizer", "lr", "weight_decay", "momentum", "schedule", "label_smoothing",
              "epochs", "batch_size", "seed")}}
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{'resuming' if checkpoint is not None else 'training'} a GPT ({parameters:,} "
          f"parameters: {hparams['n_layer']} layers, width {hparams['n_embd']}, "
          f"{hparams['n_head']} heads, context {context}) on {args.text}: {len(train_ids):,} "
          f"training / {len(val_ids):,} validation characters, {len(vocab)} distinct; "
          f"{settings['optimizer']} lr {settings['lr']:g}, {settings['epochs']} epochs of "
          f"{len(train_loader)} batches of {settings['batch_size']}"
          + (f", from epoch {done + 1}" if checkpoint is not None else ""))
    from .train import _run_info
    from ..io.atomic import atomic_write
    os.makedirs(partial_dir, exist_ok=True)
    atomic_write(os.path.join(partial_dir, "run.json"),
                 json.dumps({"pid": os.getpid(), "out": os.path.abspath(out),
                             "force": bool(args.force or resuming_in_place and
                                           _run_info(partial_dir).get("force"))}))
    start = time.perf_counter()
    checkpoint_path = os.path.join(partial_dir, "checkpoint.safetensors")
    records = list(history)

    def state(history):
        return run_state(model, optimizer, scheduler, config, history, train_loader.generator,
                         previous_seconds + time.perf_counter() - start)

    def save_epoch(record):
        records.append(record)
        io.save(state(records), checkpoint_path, metadata={"model": "gpt"})

    def loss_fn(logits, labels):
        return cross_entropy(logits, labels, label_smoothing=settings["label_smoothing"])

    history = fit(_next_char_logits(model), train_loader, optimizer, settings["epochs"],
                  test_loader=test_loader, scheduler=scheduler, progress=not args.no_progress,
                  loss_fn=loss_fn, eval_loss_fn=cross_entropy, on_epoch_end=save_epoch,
                  start_epoch=done + 1, history=history)
    _finish(state(history), model, vocab, checkpoint_path, partial_dir, out, config, parameters,
            history, previous_seconds + time.perf_counter() - start)
    return 0


def _finish(state, model, vocab, checkpoint_path, partial_dir, out, config, parameters, history,
            seconds):
    from .. import io
    from ..io.atomic import atomic_write
    from ..training import plot_history
    from .train import _publish

    final = history[-1]
    io.save(state, checkpoint_path, metadata={"model": "gpt",
                                              "validation_loss": f"{final['test_loss']:.6f}"})
    plot_history(history, os.path.join(partial_dir, "training_curve.png"),
                 title=f"GPT on {config['text']}: validation loss {final['test_loss']:.3f} "
                       "nats/char", loss_label="cross-entropy (nats per character)")
    metrics = {"config": config, "parameters": parameters, "train_seconds": seconds,
               "final": {k: final[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                               "test_accuracy")},
               "history": history}
    atomic_write(os.path.join(partial_dir, "metrics.json"), json.dumps(metrics, indent=2))
    _publish(partial_dir, out)
    print(f"validation loss {final['test_loss']:.4f} nats/char, next-character accuracy "
          f"{100 * final['test_accuracy']:.2f}% after {len(history)} epochs in {seconds:.1f} s")
    print(f"wrote {os.path.join(out, 'checkpoint.safetensors')}, "
          f"{os.path.join(out, 'training_curve.png')}, {os.path.join(out, 'metrics.json')}")
    print(f"a sample: tsf sample {os.path.join(out, 'checkpoint.safetensors')} --length 300")


# --- sampling ---------------------------------------------------------------------------------
def run_sample(args) -> int:
    from ..models.gpt import from_checkpoint
    from ..ops.creation import Generator

    if not os.path.exists(args.checkpoint):
        raise CommandError(f"no such file: {args.checkpoint}")
    model, checkpoint = from_checkpoint(args.checkpoint)
    vocab = checkpoint["config"]["vocab"]
    prompt = args.prompt if args.prompt is not None else ("\n" if "\n" in vocab else vocab[0])
    if not prompt:
        raise CommandError("--prompt is empty; give at least one character")
    ids = encode(prompt, vocab, "--prompt")
    tokens = model.generate(ids[None, :], args.length, temperature=args.temperature,
                            top_k=args.top_k, generator=Generator("cpu", args.seed))
    sys.stdout.write("".join(vocab[i] for i in tokens.numpy()[0]) + "\n")
    return 0
