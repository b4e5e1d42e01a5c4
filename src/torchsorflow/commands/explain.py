"""``tsf explain CHECKPOINT --test-index I``: which training digits made this prediction.

Influence functions (Koh & Liang, 2017) on a checkpoint written by ``tsf train``: prints the most
helpful and most harmful training points for test digit ``I`` with their predicted effect on its
loss, writes a PNG grid of those images, and with ``--validate K`` retrains without each of the K
most influential points to check the predictions (Pearson R, Spearman ρ, scatter PNG).

``mpiexec -n N tsf explain ... --distributed`` shards the training set across the ranks: each
rank computes the features, per-example quantities and its part of every sum (risk, gradient,
Hessian-vector products inside CG, the dense Hessian) on its shard; sums are all-reduced and
per-example scores gathered, so rank 0 prints the same ranking as a single process.
"""
from __future__ import annotations

import os

from . import CommandError, finite_number


def register(subparsers):
    parser = subparsers.add_parser(
        "explain", help="influence functions: the training digits that most helped or hurt a "
                        "test prediction",
        description="Explain one test prediction of a digits checkpoint (from `tsf train`) with "
                    "influence functions. By default the last Linear layer is studied on the "
                    "network's frozen features (a convex surrogate), refit to the minimum of "
                    "cross-entropy + (l2/2)‖θ‖²; --params all studies every weight instead (with "
                    "damping: ReLU networks are no smooth minimum).")
    parser.add_argument("checkpoint", help="checkpoint.safetensors written by `tsf train`")
    parser.add_argument("--test-index", type=int, required=True, metavar="I",
                        help="index of the test digit (0..359)")
    parser.add_argument("--top", type=int, default=8, help="how many helpful/harmful points")
    parser.add_argument("--method", choices=("exact", "cg", "lissa"), default=None,
                        help="inverse-Hessian method (default: exact for the last layer, cg "
                             "for all)")
    parser.add_argument("--validate", type=int, default=0, metavar="K",
                        help="retrain without each of the K most influential points and compare")
    parser.add_argument("--params", choices=("last", "all"), default="last",
                        help="the last Linear layer on frozen features (default) or all weights")
    parser.add_argument("--l2", type=finite_number(0), default=1e-3,
                        help="L2 coefficient (default 1e-3)")
    parser.add_argument("--damping", type=finite_number(0), default=None,
                        help="added to the Hessian (default 0 for last, 0.01 for all)")
    parser.add_argument("--no-refit", action="store_true",
                        help="keep the trained last layer instead of refitting it to the minimum")
    parser.add_argument("--out", default=".", help="folder for the PNGs (default: current)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    from ..distributed.launch import add_arguments
    add_arguments(parser)
    parser.set_defaults(func=run)


def _problem(args, test_size):
    """What is wrong with the arguments, or None."""
    if not os.path.exists(args.checkpoint):
        return f"no such file: {args.checkpoint}"
    if not 0 <= args.test_index < test_size:
        return (f"--test-index {args.test_index} is out of range for the {test_size} test digits "
                f"(0..{test_size - 1})")
    if args.top < 1:
        return f"--top must be at least 1, got {args.top}"
    if args.validate and args.validate < 3 or args.validate < 0:
        return f"--validate needs at least 3 points to correlate, got {args.validate}"
    return None


def run(args) -> int:
    if getattr(args, "distributed", False):
        from ..distributed.launch import run_command
        return run_command("explain", _run, args)
    return _run(args)


def _run(args) -> int:
    from ..data import datasets
    from ..distributed.launch import is_main
    from ..influence import InfluenceModel
    from ..influence.report import head_surrogate
    from ..models import digits

    from ..influence.model import MAX_EXACT_PARAMS

    train, test = datasets.digits("train"), datasets.digits("test")
    problem = _problem(args, len(test))
    if problem:
        raise CommandError(problem)
    model, checkpoint = digits.from_checkpoint(args.checkpoint)
    size = sum(p.numel() for p in model.parameters())
    if args.params == "all" and args.method == "exact" and size > MAX_EXACT_PARAMS:
        raise CommandError(f"--method exact forms the dense Hessian of all {size:,} weights, "
                           f"which is practical up to {MAX_EXACT_PARAMS:,}; use --method cg or "
                           "lissa with --params all, or --params last")
    images, labels = train.tensors[0].numpy(), train.tensors[1].numpy()
    test_images, test_labels = test.tensors[0].numpy(), test.tensors[1].numpy()
    i = args.test_index
    distributed = bool(getattr(args, "distributed", False))
    progress = is_main() and not args.no_progress
    name = checkpoint["config"]["model"]
    if args.params == "last":
        method = args.method or "exact"
        influence, features = head_surrogate(model, images, labels, args.l2, args.damping or 0.0,
                                             method, refit=not args.no_refit, progress=progress,
                                             distributed=distributed)
        test_x = features(test_images[i:i + 1])[0]
        how = (f"the last Linear layer of {name} on its frozen features, "
               + ("as trained" if args.no_refit else f"refit to the minimum with l2={args.l2:g}"))
    else:
        method = args.method or "cg"
        damping = 0.01 if args.damping is None else args.damping
        influence = InfluenceModel(model, None, (images, labels), l2=args.l2, damping=damping,
                                   method=method, progress=progress, distributed=distributed)
        test_x = test_images[i]
        how = f"all {influence.objective.size} weights of {name}, damping {damping:g}"
    return _explain(args, influence, test_x, f"{how}, {method} inverse Hessian",
                    (images, labels, test_images, test_labels))


def _explain(args, influence, test_x, how, data):
    """Print the table, write the PNG grid, and validate if asked."""
    import numpy as np

    from ..distributed.launch import is_main
    from ..influence.report import explanation_png

    main = is_main()   # every rank computes (the sums are shared); rank 0 prints and writes
    images, labels, test_images, test_labels = data
    i = args.test_index
    logits = influence.objective.outputs(influence.theta, test_x[None])[0]
    predicted = int(np.argmax(logits))
    top = influence.top_k((test_x, test_labels[i]), k=args.top)
    if main:
        print(f"test digit #{i}: label {test_labels[i]}, predicted {predicted} "
              f"({'correct' if predicted == test_labels[i] else 'WRONG'}); influence over {how}")
        print(top.table(labels))
        os.makedirs(args.out, exist_ok=True)
        grid = explanation_png(top, test_images[i], f"test #{i}\nlabel {test_labels[i]}, "
                               f"predicted {predicted}", images, labels,
                               os.path.join(args.out, f"influence_test{i}.png"),
                               title=f"Training digits that most helped / hurt test #{i} ({how})")
        print(f"wrote {grid}")
    if args.validate:
        result = influence.validate_loo((test_x, test_labels[i]), k=args.validate,
                                        png=os.path.join(args.out, f"loo_test{i}.png")
                                        if main else None)
        if main:
            print(f"leave-one-out retraining of the {args.validate} most influential points: "
                  f"Pearson R = {result.pearson:.4f}, Spearman ρ = {result.spearman:.4f}")
            print(f"wrote {result.png}")
    return 0

