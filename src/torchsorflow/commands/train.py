"""``tsf train`` and ``tsf eval``: train a digits classifier, then check the saved checkpoint.

``tsf train --model cnn-bn --epochs 8 --out runs/cnn-bn`` writes three files to ``--out``:

* ``checkpoint.safetensors`` -- model weights, optimizer and scheduler state, the configuration
  (model name and hyper-parameters) and the per-epoch history;
* ``training_curve.png`` -- loss and accuracy per epoch, train and test;
* ``metrics.json`` -- the same history, the final accuracies and the wall-clock time.

``tsf eval runs/cnn-bn/checkpoint.safetensors`` rebuilds the model from the checkpoint alone and
reports its accuracy, next to the one recorded when it was trained.

``mpiexec -n N tsf train --distributed ...`` trains data-parallel: every rank builds the same
model (its BatchNorm layers made SyncBatchNorm) inside a DistributedDataParallel, takes its
share of each global batch of ``--batch-size`` (the ranks together see exactly the batches one
process would see for the same ``--seed``), and gradients are averaged across ranks during each
backward pass. Rank 0 alone shows the progress bar, prints, and writes the files; the checkpoint
holds the plain model, so ``tsf eval`` and ``tsf explain`` read it like any other.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
DEFAULT_LR = {"adam": 3e-3, "adamw": 3e-3, "sgd": 0.05, "rmsprop": 1e-3, "adagrad": 0.05}


def register(subparsers):
    train = subparsers.add_parser(
        "train", help="train a digits classifier (mlp, cnn, cnn-bn) and save a checkpoint",
        description="Train on scikit-learn's 8x8 digits (1437 train / 360 test images), printing "
                    "loss and accuracy per epoch; writes checkpoint.safetensors, "
                    "training_curve.png and metrics.json to --out.")
    train.add_argument("--model", choices=("mlp", "cnn", "cnn-bn"), default="cnn-bn")
    train.add_argument("--epochs", type=_positive_int, default=8)
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: 3e-3 for adam/adamw, 0.05 for sgd)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    train.add_argument("--schedule", choices=("cosine", "step", "constant"), default="cosine",
                       help="learning-rate schedule over the epochs (default: cosine)")
    train.add_argument("--label-smoothing", type=float, default=0.1,
                       help="mix the one-hot targets with 10%% uniform (default 0.1); the reported "
                            "losses are plain cross-entropy")
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--width", type=_positive_int, default=None,
                       help="channels of the first convolution (cnn: 16, cnn-bn: 32) or hidden units "
                            "of the mlp (128)")
    train.add_argument("--seed", type=int, default=0, help="seeds initialisation and shuffling")
    train.add_argument("--out", default=None, help="output folder (default: runs/<model>)")
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
    evaluate.add_argument("--batch-size", type=_positive_int, default=256)
    evaluate.set_defaults(func=run_eval)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


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


def run(args) -> int:
    if getattr(args, "distributed", False):
        from ..distributed.launch import run_command
        return run_command("train", _train, args)
    return _train(args)


def _train(args) -> int:
    from .. import distributed as dist
    from ..data import DataLoader, datasets
    from ..models import digits
    from ..nn.functional import cross_entropy
    from ..ops.creation import manual_seed
    from ..training import ShardedLoader, fit

    distributed = dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    main = rank == 0
    if args.batch_size < world:
        if main:
            print(f"tsf train: --batch-size {args.batch_size} is smaller than the {world} ranks: "
                  "every rank needs at least one example of each batch", file=sys.stderr)
        return 2
    out = args.out or os.path.join("runs", args.model)
    if main:
        os.makedirs(out, exist_ok=True)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    hparams = {} if args.width is None else {"hidden" if args.model == "mlp" else "width": args.width}
    manual_seed(args.seed)
    model = digits.build(args.model, **hparams)
    trained = model
    if distributed:   # batch statistics over all ranks; gradients averaged across ranks
        from ..nn import SyncBatchNorm
        from ..nn.parallel import DistributedDataParallel
        model = SyncBatchNorm.convert_sync_batchnorm(model)
        trained = DistributedDataParallel(model)
    optimizer = _make_optimizer(args.optimizer, model.parameters(), lr, args.weight_decay,
                                args.momentum)
    scheduler = _make_schedule(args.schedule, optimizer, args.epochs)
    train_set, test_set = datasets.digits("train"), datasets.digits("test")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=256)
    if distributed:
        train_loader = ShardedLoader(train_loader, rank, world, skip_small=True)
        test_loader = ShardedLoader(test_loader, rank, world)
    config = {"model": args.model, "hparams": model.hparams, "optimizer": args.optimizer, "lr": lr,
              "weight_decay": args.weight_decay, "momentum": args.momentum,
              "schedule": args.schedule, "label_smoothing": args.label_smoothing,
              "epochs": args.epochs, "batch_size": args.batch_size,
              "seed": args.seed, "data": "digits (1437 train / 360 test)"}
    if distributed:
        config["world_size"] = world
    parameters = sum(p.numel() for p in model.parameters())
    ranks = dist.process_group.process_table() if distributed else ""
    if main:
        print(f"training {args.model} ({parameters:,} parameters) on digits: {len(train_set)} "
              f"train / {len(test_set)} test images, {args.optimizer} lr {lr:g}, {args.epochs} epochs, "
              f"batch {args.batch_size}")
        if distributed:
            print(f"data-parallel over {world} ranks, {args.batch_size / world:g} examples each "
                  f"per batch ({ranks})")
    start = time.perf_counter()
    history = fit(trained, train_loader, optimizer, args.epochs, test_loader=test_loader,
                  scheduler=scheduler, progress=main and not args.no_progress,
                  log=print if main else None,
                  loss_fn=partial(cross_entropy, label_smoothing=args.label_smoothing),
                  eval_loss_fn=cross_entropy)
    seconds = time.perf_counter() - start
    final = history[-1]

    checkpoint_path = os.path.join(out, "checkpoint.safetensors")
    if distributed:
        dist.barrier()   # every rank has finished training before rank 0 writes
    if main:
        _save(args, model, optimizer, scheduler, config, history, final, seconds, parameters,
              out, checkpoint_path, len(test_set))
    if distributed:
        dist.barrier()   # the checkpoint is complete on disk before any rank goes on
    return 0


def _save(args, model, optimizer, scheduler, config, history, final, seconds, parameters, out,
          checkpoint_path, test_size):
    """Write the checkpoint, the training curve and metrics.json (each atomically)."""
    from .. import io
    from ..training import plot_history

    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "config": config,
             "history": history}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    io.save(state, checkpoint_path, metadata={"model": args.model,
                                              "test_accuracy": f"{final['test_accuracy']:.6f}"})
    plot_history(history, os.path.join(out, "training_curve.png"),
                 title=f"{args.model} on digits: {100 * final['test_accuracy']:.2f}% test accuracy",
                 loss_label="cross-entropy" + (f" (train: label smoothing {args.label_smoothing:g})"
                                               if args.label_smoothing else ""))
    metrics = {"config": config, "parameters": parameters, "train_seconds": seconds,
               "final": {k: final[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                               "test_accuracy")},
               "history": history}
    from ..io.safetensors import atomic_write
    atomic_write(os.path.join(out, "metrics.json"), [json.dumps(metrics, indent=2).encode()])
    print(f"test accuracy {100 * final['test_accuracy']:.2f}% "
          f"({round(final['test_accuracy'] * test_size)}/{test_size}) after "
          f"{len(history)} epochs in {seconds:.1f} s")
    print(f"wrote {checkpoint_path}, {os.path.join(out, 'training_curve.png')}, "
          f"{os.path.join(out, 'metrics.json')}")


def run_eval(args) -> int:
    from ..data import DataLoader, datasets
    from ..models import digits
    from ..training import evaluate

    if not os.path.exists(args.checkpoint):
        print(f"tsf eval: no such file: {args.checkpoint}", file=sys.stderr)
        return 2
    try:
        model, checkpoint = digits.from_checkpoint(args.checkpoint)
    except (ValueError, RuntimeError, TypeError) as error:   # damaged file or mismatched weights
        print(f"tsf eval: {error}", file=sys.stderr)
        return 1
    dataset = datasets.digits(args.split)
    result = evaluate(model, DataLoader(dataset, batch_size=args.batch_size))
    correct = round(result["accuracy"] * len(dataset))
    config = checkpoint["config"]
    print(f"{config['model']} {config.get('hparams', {})} from {args.checkpoint}")
    print(f"{args.split} accuracy {100 * result['accuracy']:.2f}% ({correct}/{len(dataset)}), "
          f"loss {result['loss']:.4f}")
    history = checkpoint.get("history") or []
    if args.split == "test" and history and "test_accuracy" in history[-1]:
        print(f"recorded at the end of training: {100 * history[-1]['test_accuracy']:.2f}%")
    return 0
