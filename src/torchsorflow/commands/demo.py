"""``tsf demo``: train a CNN on digits, then find out which training digits made one of its
mistakes -- and check the answer by retraining.

1. trains the batch-norm CNN (``cnn-bn``) on scikit-learn's 8x8 digits, with a progress bar;
2. reports its test accuracy and picks a misclassified test digit;
3. explains that prediction with influence functions (Koh & Liang, 2017) over a convex surrogate:
   the network's last layer on its frozen features, refit to the exact minimum (ReLU, max pooling
   and an epoch budget make the full network no smooth minimum, which the theory needs);
4. validates the explanation: retrains the layer without each of a handful of the most influential
   digits and compares the actual change of the test loss with the prediction, and checks the
   first-order Taylor expansion of seed 002, exercise 4 (error ~ ε²);
5. writes everything into one folder (``./tsf-demo/`` by default): the training curve, the
   explanation grid, the leave-one-out scatter, the Taylor plot and a checkpoint that
   ``tsf explain`` can read.
"""
from __future__ import annotations

import os
import time

from . import CommandError, finite_number, positive_int
from ..ops.creation import as_tensor


def register(subparsers):
    parser = subparsers.add_parser(
        "demo", help="train a digits CNN, explain one of its mistakes with influence functions, "
                     "verify by leave-one-out retraining",
        description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", default="tsf-demo", help="output folder (default: ./tsf-demo)")
    parser.add_argument("--epochs", type=positive_int, default=8,
                        help="training epochs (default 8)")
    parser.add_argument("--width", type=positive_int, default=32,
                        help="channels of the first convolution (default 32, as `tsf train`)")
    parser.add_argument("--validate", type=int, default=16, metavar="K",
                        help="leave-one-out retrainings (default 16)")
    parser.add_argument("--l2", type=finite_number(0), default=1e-3,
                        help="L2 coefficient of the refit last layer (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _train(args, progress):
    from .. import io, optim
    from ..data import DataLoader, datasets
    from ..models import digits
    from ..ops.creation import manual_seed
    from ..optim import lr_scheduler
    from ..training import fit, plot_history

    manual_seed(args.seed)
    model = digits.build("cnn-bn", width=args.width)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    train, test = datasets.digits("train"), datasets.digits("test")
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=args.seed)
    count = sum(p.numel() for p in model.parameters())
    print(f"[1/4] training the batch-norm CNN ({count:,} parameters) on {len(train)} digits for "
          f"{args.epochs} epochs (Adam, cosine schedule)")
    history = fit(model, loader, optimizer, args.epochs, test_loader=DataLoader(test, 256),
                  scheduler=scheduler, progress=progress)
    curve = os.path.join(args.out, "training_curve.png")
    plot_history(history, curve, title=f"cnn-bn on digits: "
                                       f"{100 * history[-1]['test_accuracy']:.2f}% test accuracy")
    checkpoint = os.path.join(args.out, "checkpoint.safetensors")
    io.save({"model": model.state_dict(), "history": history,
             "config": {"model": "cnn-bn", "hparams": model.hparams, "epochs": args.epochs,
                        "seed": args.seed}}, checkpoint)
    model.eval()
    return model, history, [curve, checkpoint]


def _pick_mistake(cnn_wrong, head_wrong, head_losses):
    """The test digit to explain: wrong for both the CNN and the surrogate if possible (highest
    surrogate loss first), else wrong for the surrogate, else the highest-loss digit."""
    import numpy as np

    for candidates in (cnn_wrong & head_wrong, head_wrong):
        if candidates.any():
            indices = np.flatnonzero(candidates)
            return int(indices[np.argmax(head_losses[indices])]), True
    return int(np.argmax(head_losses)), False


def run(args) -> int:
    from ..autodiff.tracer import no_grad
    from ..data import datasets
    from ..influence.report import explanation_png, head_surrogate

    from ..models.digits import check_hparams

    if args.validate < 3:
        raise CommandError(f"--validate needs at least 3 retrainings to correlate, got "
                           f"{args.validate}")
    check_hparams("cnn-bn", {"width": args.width}, "--width")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CommandError(f"--out {args.out} is a file, not a folder")
    start = time.perf_counter()
    progress = not args.no_progress
    os.makedirs(args.out, exist_ok=True)
    model, history, written = _train(args, progress)
    train, test = datasets.digits("train"), datasets.digits("test")
    images, labels = train.tensors[0].numpy(), train.tensors[1].numpy()
    test_images, test_labels = test.tensors[0].numpy(), test.tensors[1].numpy()
    accuracy = history[-1]["test_accuracy"]
    print(f"      test accuracy {100 * accuracy:.2f}% "
          f"({round(accuracy * len(test_labels))}/{len(test_labels)})")

    print(f"[2/4] convex surrogate: the last Linear layer on the CNN's frozen features (eval-mode "
          f"batch norm), refit to the minimum of cross-entropy + ({args.l2:g}/2)‖θ‖²")
    influence, features = head_surrogate(model, images, labels, l2=args.l2, progress=progress)
    test_features = features(test_images)
    head_logits = influence.objective.outputs(influence.theta, test_features)
    with no_grad():
        original = model(as_tensor(test_images)).numpy()
    head_losses = influence.objective.losses(influence.theta, (test_features, test_labels))
    cnn_wrong = original.argmax(1) != test_labels
    head_wrong = head_logits.argmax(1) != test_labels
    print(f"      {influence.objective.size} parameters; test accuracy "
          f"{100 * (1 - head_wrong.mean()):.2f}% after the refit (CNN as trained: "
          f"{100 * (1 - cnn_wrong.mean()):.2f}%)")
    i, is_mistake = _pick_mistake(cnn_wrong, head_wrong, head_losses)
    predicted = int(head_logits[i].argmax())
    what = "misclassified" if is_mistake else "no digit is misclassified; the hardest"
    print(f"[3/4] explaining test digit #{i} ({what}): label {test_labels[i]}, predicted "
          f"{predicted} (the CNN said {int(original[i].argmax())})")
    point = (test_features[i], test_labels[i])
    top = influence.top_k(point, k=8)
    print(top.table(labels))
    written.append(explanation_png(
        top, test_images[i], f"test #{i}\nlabel {test_labels[i]}, predicted {predicted}", images,
        labels, os.path.join(args.out, "influence.png"),
        title="Training digits that most helped / hurt this prediction (influence, last layer)"))

    print(f"[4/4] checking: leave-one-out retraining for the {args.validate} most influential "
          "digits, and the seed's Taylor expansion θ̂(ε) ≈ θ̂ + ε·dθ̂/dε")
    loo = influence.validate_loo(point, k=args.validate, png=os.path.join(args.out, "loo.png"))
    print(f"      predicted vs actual change of the test loss: Pearson R = {loo.pearson:.4f}, "
          f"Spearman ρ = {loo.spearman:.3f} over {len(loo.indices)} retrainings")
    taylor = influence.check_taylor(top.helpful[0][0], png=os.path.join(args.out, "taylor.png"))
    print(f"      up-weighting train #{top.helpful[0][0]} by ε: ‖θ̂(ε) − θ̂‖ ~ "
          f"ε^{taylor.order_zeroth:.2f}, first-order error ~ ε^{taylor.order_first:.2f} "
          "(theory: 1 and 2)")
    written += [loo.png, taylor.png]
    print(f"wrote {len(written)} files to {os.path.abspath(args.out)}/ in "
          f"{time.perf_counter() - start:.0f} s:")
    for path in written:
        print(f"  {path}")
    print(f"next: tsf explain {written[1]} --test-index {i} --validate 20")
    return 0
