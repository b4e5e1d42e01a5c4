"""``tsf train`` and ``tsf eval``: train a digits classifier, then check the saved checkpoint.
(``tsf train --model gpt --text FILE`` trains a character-level GPT: see :mod:`.text`.)

The models are those of :mod:`torchsorflow.models.digits`: an MLP, two CNNs, and an LSTM that
reads each image row by row (``--model lstm``: 8 steps of 8 pixels).

``tsf train --model cnn-bn --epochs 8 --out runs/cnn-bn`` writes three files to ``--out``:

* ``checkpoint.safetensors`` -- model weights, optimizer and scheduler state, the configuration
  (model name and hyper-parameters), the per-epoch history and what resuming needs (the epoch and
  the random generators' states);
* ``training_curve.png`` -- loss and accuracy per epoch, train and test;
* ``metrics.json`` -- the same history, the final accuracies and the wall-clock time.

The run is written as a whole: everything goes to ``<out>.tsf-partial/`` first (the checkpoint
after every epoch), which replaces ``--out`` only when complete, so an interrupted run never
leaves a new checkpoint beside old metrics. A non-empty ``--out`` is refused without ``--force``.
``tsf train --resume <out>.tsf-partial/checkpoint.safetensors`` continues an interrupted run
from its last epoch and ends bit-identical to a run that was never interrupted.

``tsf eval runs/cnn-bn/checkpoint.safetensors`` rebuilds the model from the checkpoint alone and
reports its accuracy, next to the one recorded when it was trained.

``mpiexec -n N tsf train --distributed ...`` trains data-parallel: every rank builds the same
model (its BatchNorm layers made SyncBatchNorm) inside a DistributedDataParallel, takes its
share of each global batch of ``--batch-size`` (the ranks together see exactly the batches one
process would see for the same ``--seed``), and gradients are averaged across ranks during each
backward pass. Rank 0 alone shows the progress bar, prints, and writes the files (a barrier after
each checkpoint); every rank loads a ``--resume`` checkpoint. The checkpoint holds the plain
model, so ``tsf eval`` and ``tsf explain`` read it like any other.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from functools import partial

from . import CommandError, finite_number, positive_int

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
DEFAULT_LR = {"adam": 3e-3, "adamw": 3e-3, "sgd": 0.05, "rmsprop": 1e-3, "adagrad": 0.05}
PARTIAL = ".tsf-partial"
# Training settings: their defaults, applied after parsing so that a resumed run can tell the
# options given on the command line (which must agree with the checkpoint) from the defaults.
# What differs for one model: the LSTM reads 8 rows one after the other and needs a larger step
# and a few more epochs to pass 97% (tests/test_train_lstm.py).
MODEL_DEFAULTS = {"lstm": {"epochs": 12}}
MODEL_LR = {"lstm": {"adam": 1e-2, "adamw": 1e-2}}
DEFAULTS = {"model": "cnn-bn", "epochs": 8, "optimizer": "adam", "weight_decay": 0.0,
            "momentum": 0.9, "schedule": "cosine", "label_smoothing": 0.1, "batch_size": 32,
            "seed": 0}


def register(subparsers):
    train = subparsers.add_parser(
        "train", help="train a digits classifier (mlp, cnn, cnn-bn, lstm) or a character-level GPT "
                      "(--model gpt --text FILE) and save a checkpoint",
        description="Train on scikit-learn's 8x8 digits (1437 train / 360 test images), printing "
                    "loss and accuracy per epoch; writes checkpoint.safetensors, "
                    "training_curve.png and metrics.json to --out, as a whole.")
    train.add_argument("--model", choices=("mlp", "cnn", "cnn-bn", "lstm", "gpt"), default=None,
                       help="default: cnn-bn; lstm reads each image row by row; gpt trains a "
                            "character-level GPT on --text")
    train.add_argument("--text", metavar="FILE", default=None,
                       help="with --model gpt: the UTF-8 text to learn from")
    train.add_argument("--context", type=positive_int, default=None,
                       help="with --model gpt: characters of context (default 64)")
    train.add_argument("--layers", type=positive_int, default=None,
                       help="with --model gpt: Transformer blocks (default 4)")
    train.add_argument("--heads", type=positive_int, default=None,
                       help="with --model gpt: attention heads (default 4)")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="default: 8 (lstm: 12)")
    train.add_argument("--lr", type=finite_number(0, low_open=True), default=None,
                       help="learning rate (default: 3e-3 for adam/adamw, 1e-2 for the lstm; "
                            "0.05 for sgd)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: adam")
    train.add_argument("--weight-decay", type=finite_number(0), default=None, help="default: 0")
    train.add_argument("--momentum", type=finite_number(0, 1), default=None,
                       help="for sgd and rmsprop (default 0.9)")
    train.add_argument("--schedule", choices=("cosine", "step", "constant"), default=None,
                       help="learning-rate schedule over the epochs (default: cosine)")
    train.add_argument("--label-smoothing", type=finite_number(0, 1), default=None,
                       help="mix the one-hot targets with 10%% uniform (default 0.1); the reported "
                            "losses are plain cross-entropy")
    train.add_argument("--batch-size", type=positive_int, default=None, help="default: 32")
    train.add_argument("--width", type=positive_int, default=None,
                       help="channels of the first convolution (cnn: 16, cnn-bn: 32), hidden "
                            "units of the mlp and the lstm (128) or the GPT's embedding width "
                            "(128)")
    train.add_argument("--seed", type=int, default=None,
                       help="seeds initialisation and shuffling (default 0)")
    train.add_argument("--out", default=None, help="output folder (default: runs/<model>)")
    train.add_argument("--force", action="store_true",
                       help="replace a non-empty --out (and discard an interrupted run's "
                            "<out>.tsf-partial)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue the run saved in CHECKPOINT (usually "
                            "<out>.tsf-partial/checkpoint.safetensors after an interruption)")
    train.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    from ..distributed.launch import add_arguments
    add_arguments(train)
    train.set_defaults(func=run)

    evaluate = subparsers.add_parser(
        "eval", help="reload a checkpoint written by `tsf train` and report its accuracy",
        description="Rebuild the model named in the checkpoint, load its weights and measure loss "
                    "and accuracy on the digits test (or train) split.")
    evaluate.add_argument("checkpoint", help="path to checkpoint.safetensors")
    evaluate.add_argument("--split", choices=("test", "train", "all"), default="test")
    evaluate.add_argument("--batch-size", type=positive_int, default=256)
    evaluate.set_defaults(func=run_eval)


def _make_optimizer(name, parameters, lr, weight_decay, momentum):
    from .. import optim
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum, nesterov=momentum > 0,
                         weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad}[name]
    return cls(parameters, lr=lr, weight_decay=weight_decay)


def _make_schedule(name, optimizer, epochs):
    from ..optim import lr_scheduler
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    return None


# --- the settings of a run -----------------------------------------------------------------------
def _settings(args, resumed):
    """The run's settings: from the command line (with defaults), or from the checkpoint being
    resumed, in which case an option given on the command line must agree with it."""
    given = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key) is not None}
    if args.lr is not None:
        given["lr"] = args.lr
    if resumed is None:
        model = given.get("model", DEFAULTS["model"])
        settings = {**DEFAULTS, **MODEL_DEFAULTS.get(model, {}), **given}
        settings.setdefault("lr", MODEL_LR.get(model, {}).get(settings["optimizer"],
                                                              DEFAULT_LR[settings["optimizer"]]))
        settings["hparams"] = {} if args.width is None else \
            {_width_name(settings["model"]): args.width}
        return settings
    settings = dict(resumed)
    if args.width is not None:
        given["hparams"] = {_width_name(settings["model"]): args.width}
    for key, value in given.items():
        if key == "hparams" and {**settings["hparams"], **value} == settings["hparams"]:
            continue
        if settings.get(key) != value:
            option = "--width" if key == "hparams" else "--" + key.replace("_", "-")
            raise CommandError(f"{option} {value if key != 'hparams' else args.width} differs "
                               f"from the resumed run's {settings.get(key)}; a resumed run "
                               "continues with its own settings (leave the option out)")
    return settings


def _width_name(model):
    """The hyper-parameter that ``--width`` sets for ``model``."""
    return "hidden" if model in ("mlp", "lstm") else "width"


def _resumed_settings(checkpoint, path):
    """Validate what a checkpoint says about its run before anything is built from it."""
    from ..models import digits

    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    resume = checkpoint.get("resume") if isinstance(checkpoint, dict) else None
    if not isinstance(config, dict) or not isinstance(resume, dict):
        raise CommandError(f"{path}: not a checkpoint that `tsf train --resume` can continue (no "
                           "'config' and 'resume' state)")
    settings = {key: config.get(key) for key in (*DEFAULTS, "lr")}
    settings["hparams"] = config.get("hparams", {})
    digits.check_hparams(settings["model"], settings["hparams"], f"{path}: config")
    checks = {"epochs": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
              "batch_size": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v,
              "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "optimizer": lambda v: v in OPTIMIZERS,
              "schedule": lambda v: v in ("cosine", "step", "constant"),
              "lr": lambda v: _finite(v) and v > 0, "weight_decay": lambda v: _finite(v) and v >= 0,
              "momentum": lambda v: _finite(v) and 0 <= v <= 1,
              "label_smoothing": lambda v: _finite(v) and 0 <= v <= 1}
    for key, ok in checks.items():
        if not ok(settings[key]):
            raise CommandError(f"{path}: config {key} = {settings[key]!r} is not a valid setting")
    epoch = resume.get("epoch")
    if not (isinstance(epoch, int) and 0 <= epoch <= settings["epochs"]):
        raise CommandError(f"{path}: resume epoch {epoch!r} is not within 0..{settings['epochs']}")
    return settings


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- where the run goes --------------------------------------------------------------------------
def _prepare_folders(out, partial_dir, args):
    """Refuse to overwrite a finished or interrupted run unless asked; returns whether the
    resumed checkpoint lives in ``partial_dir`` (which then stays)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise CommandError(f"--out {out} is a file, not a folder")
    resuming_in_place = args.resume is not None and os.path.isdir(partial_dir) and \
        os.path.samefile(os.path.dirname(os.path.abspath(args.resume)), partial_dir)
    owner = _owner(partial_dir)
    if owner is not None:
        raise CommandError(f"another tsf train (process {owner}) is writing {partial_dir}")
    # an interrupted run started with --force may still replace --out when resumed
    force = args.force or (resuming_in_place and _run_info(partial_dir).get("force") is True)
    if os.path.isdir(out) and os.listdir(out) and not force:
        names = sorted(os.listdir(out))
        raise CommandError(f"--out {out} already holds files ({', '.join(names[:4])}"
                           f"{', ...' if len(names) > 4 else ''}); pass --force to "
                           "replace them, or choose another --out")
    if os.path.exists(partial_dir) and not resuming_in_place:
        if not args.force:
            raise CommandError(
                f"an interrupted run was left in {partial_dir}; continue it with --resume "
                f"{os.path.join(partial_dir, 'checkpoint.safetensors')}, or pass --force to "
                "discard it")
        shutil.rmtree(partial_dir)
    return resuming_in_place


def _run_info(partial_dir):
    """What ``run.json`` in ``partial_dir`` says (the writer's pid, --out, --force), or {}."""
    try:
        with open(os.path.join(partial_dir, "run.json"), encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _owner(partial_dir):
    """The id of a live process writing ``partial_dir``, or None."""
    from ..io.atomic import _process_exists
    pid = _run_info(partial_dir).get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int):
        return None
    return pid if pid != os.getpid() and _process_exists(pid) else None


def _publish(partial_dir, out):
    """Put the finished run in place of ``out`` (two renames; the old run is removed last)."""
    from ..io.atomic import sync_folder, temporary_name

    os.unlink(os.path.join(partial_dir, "run.json"))
    parent = os.path.dirname(os.path.abspath(out))
    old = None
    if os.path.exists(out):
        old = os.path.join(parent, temporary_name(out, "-old"))
        os.replace(out, old)
    os.replace(partial_dir, out)
    sync_folder(parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run(args) -> int:
    from .text import resumable_gpt_checkpoint, train_gpt
    checkpoint = resumable_gpt_checkpoint(args.resume) if args.resume else None
    if args.model == "gpt" or checkpoint is not None:
        return train_gpt(args, checkpoint)
    for option in ("text", "context", "layers", "heads"):
        if getattr(args, option) is not None:
            raise CommandError(f"--{option} applies to --model gpt only")
    if getattr(args, "distributed", False):
        from ..distributed.launch import run_command
        return run_command("train", _train, args)
    return _train(args)


def _train(args) -> int:
    from .. import distributed as dist
    from .. import io
    from ..data import DataLoader, datasets
    from ..models import digits
    from ..nn.functional import cross_entropy
    from ..ops.creation import default_generator, manual_seed
    from ..training import ShardedLoader, fit

    distributed = dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    main = rank == 0   # prints and writes; every rank computes
    checkpoint = resumed = None
    if args.resume is not None:
        if not os.path.isfile(args.resume):
            raise CommandError(f"--resume {args.resume}: no such file")
        checkpoint = io.load(args.resume)
        resumed = _resumed_settings(checkpoint, args.resume)
    settings = _settings(args, resumed)
    if args.width is not None:
        digits.check_hparams(settings["model"], settings["hparams"], "--width")
    if settings["batch_size"] < world:
        raise CommandError(f"--batch-size {settings['batch_size']} is smaller than the {world} "
                           "ranks: every rank needs at least one example of each batch")
    name = settings["model"]
    out = args.out or os.path.join("runs", name)
    partial_dir = os.path.abspath(out).rstrip(os.sep) + PARTIAL
    resuming_in_place = _prepare_folders(out, partial_dir, args) if main else False

    manual_seed(settings["seed"])
    model = digits.build(name, **settings["hparams"])
    if distributed:   # batch statistics over all ranks
        from ..nn import SyncBatchNorm
        model = SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = _make_optimizer(settings["optimizer"], model.parameters(), settings["lr"],
                                settings["weight_decay"], settings["momentum"])
    scheduler = _make_schedule(settings["schedule"], optimizer, settings["epochs"])
    train_set, test_set = datasets.digits("train"), datasets.digits("test")
    train_loader = DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True,
                              seed=settings["seed"])
    test_loader = DataLoader(test_set, batch_size=256)
    trained, train_batches, test_batches = model, train_loader, test_loader
    history, done, previous_seconds = [], 0, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None:
            saved = checkpoint.get("scheduler")
            if not isinstance(saved, dict) or not set(saved) <= set(scheduler.state_dict()):
                raise CommandError(f"{args.resume}: the saved scheduler state does not belong "
                                   f"to a {settings['schedule']} schedule")
            scheduler.load_state_dict(saved)
        resume = checkpoint["resume"]
        try:
            train_loader.generator.rng.bit_generator.state = resume["loader_rng"]
            default_generator.rng.bit_generator.state = resume["global_rng"]
        except (KeyError, TypeError, ValueError) as error:
            raise CommandError(f"{args.resume}: the saved random state cannot be restored "
                               f"({error})") from None
        history, done = list(checkpoint.get("history") or []), resume["epoch"]
        previous_seconds = float(resume.get("seconds", 0.0))
    if distributed:   # gradients averaged across ranks during backward; shards of each batch
        from ..nn.parallel import DistributedDataParallel
        trained = DistributedDataParallel(model)
        train_batches = ShardedLoader(train_loader, rank, world, skip_small=True)
        test_batches = ShardedLoader(test_loader, rank, world)
    config = {"model": name, "hparams": model.hparams, "optimizer": settings["optimizer"],
              "lr": settings["lr"], "weight_decay": settings["weight_decay"],
              "momentum": settings["momentum"], "schedule": settings["schedule"],
              "label_smoothing": settings["label_smoothing"], "epochs": settings["epochs"],
              "batch_size": settings["batch_size"], "seed": settings["seed"],
              "data": "digits (1437 train / 360 test)"}
    if distributed:
        config["world_size"] = world
    parameters = sum(p.numel() for p in model.parameters())
    epochs = settings["epochs"]
    ranks = dist.process_group.process_table() if distributed else ""
    if main:
        _announce(args, settings, name, parameters, len(train_set), len(test_set), epochs,
                  checkpoint is not None, done, world, ranks, out, partial_dir,
                  resuming_in_place)
    start = time.perf_counter()

    def state(history):
        return run_state(model, optimizer, scheduler, config, history, train_loader.generator,
                         previous_seconds + time.perf_counter() - start)

    checkpoint_path = os.path.join(partial_dir, "checkpoint.safetensors")
    records = list(history)

    def save_epoch(record):
        records.append(record)
        if main:
            io.save(state(records), checkpoint_path, metadata={"model": name})
        if distributed:
            dist.barrier()   # the checkpoint is whole on disk before any rank goes on

    history = fit(trained, train_batches, optimizer, epochs, test_loader=test_batches,
                  scheduler=scheduler, progress=main and not args.no_progress,
                  log=print if main else None,
                  loss_fn=partial(cross_entropy, label_smoothing=settings["label_smoothing"]),
                  eval_loss_fn=cross_entropy, on_epoch_end=save_epoch, start_epoch=done + 1,
                  history=history)
    seconds = previous_seconds + time.perf_counter() - start
    if main:
        _finish(state(history), checkpoint_path, partial_dir, out, name, settings, config,
                parameters, history, seconds, len(test_set))
    if distributed:
        dist.barrier()   # the run is in place before any rank leaves
    return 0


def run_state(model, optimizer, scheduler, config, history, loader_generator, seconds):
    """What a checkpoint of a run holds: weights, optimizer and scheduler state, the settings,
    the history, and what ``--resume`` needs (the epoch and both random generators' states)."""
    from ..ops.creation import default_generator
    saved = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "config": config, "history": history,
             "resume": {"epoch": history[-1]["epoch"] if history else 0,
                        "loader_rng": loader_generator.rng.bit_generator.state,
                        "global_rng": default_generator.rng.bit_generator.state,
                        "seconds": seconds}}
    if scheduler is not None:
        saved["scheduler"] = scheduler.state_dict()
    return saved


def _announce(args, settings, name, parameters, train_size, test_size, epochs, resuming, done,
              world, ranks, out, partial_dir, resuming_in_place):
    """The first lines of the log, and run.json in the folder being written."""
    from ..io.atomic import atomic_write

    print(f"{'resuming' if resuming else 'training'} {name} ({parameters:,} "
          f"parameters) on digits: {train_size} train / {test_size} test images, "
          f"{settings['optimizer']} lr {settings['lr']:g}, {epochs} epochs"
          + (f" from epoch {done + 1}" if resuming else "")
          + f", batch {settings['batch_size']}")
    if world > 1 or ranks:
        print(f"data-parallel over {world} ranks, {settings['batch_size'] / world:g} examples "
              f"each per batch ({ranks})")
    os.makedirs(partial_dir, exist_ok=True)
    atomic_write(os.path.join(partial_dir, "run.json"),
                 json.dumps({"pid": os.getpid(), "out": os.path.abspath(out),
                             "force": bool(args.force or resuming_in_place and
                                           _run_info(partial_dir).get("force"))}))
    if not resuming_in_place:
        print(f"checkpoints go to {partial_dir}/ until the run is complete; if it is "
              f"interrupted, continue with: tsf train --resume "
              f"{os.path.join(partial_dir, 'checkpoint.safetensors')}"
              + (f" --out {out}" if args.out else ""))


def _finish(state, checkpoint_path, partial_dir, out, name, settings, config, parameters, history,
            seconds, test_size):
    """Write the last checkpoint, the curve and metrics.json, then put the run in place."""
    from .. import io
    from ..io.atomic import atomic_write
    from ..training import plot_history

    final = history[-1]
    io.save(state, checkpoint_path,
            metadata={"model": name, "test_accuracy": f"{final['test_accuracy']:.6f}"})
    plot_history(history, os.path.join(partial_dir, "training_curve.png"),
                 title=f"{name} on digits: {100 * final['test_accuracy']:.2f}% test accuracy",
                 loss_label="cross-entropy" + (
                     f" (train: label smoothing {settings['label_smoothing']:g})"
                     if settings["label_smoothing"] else ""))
    metrics = {"config": config, "parameters": parameters, "train_seconds": seconds,
               "final": {k: final[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                               "test_accuracy")},
               "history": history}
    atomic_write(os.path.join(partial_dir, "metrics.json"),
                           json.dumps(metrics, indent=2))
    _publish(partial_dir, out)
    print(f"test accuracy {100 * final['test_accuracy']:.2f}% "
          f"({round(final['test_accuracy'] * test_size)}/{test_size}) after "
          f"{len(history)} epochs in {seconds:.1f} s")
    print(f"wrote {os.path.join(out, 'checkpoint.safetensors')}, "
          f"{os.path.join(out, 'training_curve.png')}, {os.path.join(out, 'metrics.json')}")


def run_eval(args) -> int:
    from ..data import DataLoader, datasets
    from ..models import digits
    from ..training import evaluate

    if not os.path.exists(args.checkpoint):
        raise CommandError(f"no such file: {args.checkpoint}")
    model, checkpoint = digits.from_checkpoint(args.checkpoint)
    dataset = datasets.digits(args.split)
    result = evaluate(model, DataLoader(dataset, batch_size=args.batch_size))
    correct = round(result["accuracy"] * len(dataset))
    config = checkpoint["config"]
    print(f"{config['model']} {config.get('hparams', {})} from {args.checkpoint}")
    print(f"{args.split} accuracy {100 * result['accuracy']:.2f}% ({correct}/{len(dataset)}), "
          f"loss {result['loss']:.4f}")
    history = checkpoint.get("history") or []
    if args.split == "test" and history and isinstance(history[-1], dict) \
            and _finite(history[-1].get("test_accuracy")):
        print(f"recorded at the end of training: {100 * history[-1]['test_accuracy']:.2f}%")
    return 0
