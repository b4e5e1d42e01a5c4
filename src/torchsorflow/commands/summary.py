"""``tsf summary MODEL``: a model's layers, parameters, shapes, MACs and memory (seed 002, ex. 3).

Examples::

    tsf summary vgg11                                  # parameters per layer, no forward pass
    tsf summary vgg11 --input-size 1 3 224 224         # + shapes, MACs (7.61 G) and memory
    tsf summary resnet18 --depth 1 --format markdown --output resnet18.md
    tsf summary gpt --input-size 1 64                  # token ids in; the tied weight once
"""
from __future__ import annotations

import os
import sys

from . import CommandError, positive_int

ZOO_PREFIXES = ("vgg", "resnet")


def register(subparsers):
    parser = subparsers.add_parser(
        "summary", help="layer-by-layer parameters, shapes, MACs and memory of a model",
        description="Build a model of the zoo (vgg11 ... vgg19_bn, resnet18/34/50, or the digits "
                    "models mlp, cnn, cnn-bn, lstm, or the character-level gpt) and print its "
                    "summary: parameters per layer (tied weights counted once), and with "
                    "--input-size one no-gradient forward pass for input/output shapes, "
                    "multiply-accumulates and a memory estimate.")
    parser.add_argument("model", help="model name, e.g. vgg11, vgg16_bn, resnet18, cnn-bn")
    parser.add_argument("--input-size", type=positive_int, nargs="+", metavar="N",
                        help="input shape including the batch dimension, e.g. 1 3 224 224")
    parser.add_argument("--depth", type=positive_int, default=3,
                        help="deepest level of nested modules shown (default 3)")
    parser.add_argument("--num-classes", type=positive_int, default=None,
                        help="classifier outputs for vgg*/resnet* (default 1000)")
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    parser.add_argument("--output", metavar="PATH", help="write to PATH instead of printing")
    parser.set_defaults(func=run)


def available_models():
    """Name → zero-argument-friendly constructor, for every model the command can build."""
    from torchsorflow.models import digits, gpt, resnet, vgg
    names = {name: getattr(module, name) for module in (vgg, resnet) for name in module.__all__
             if name.startswith(ZOO_PREFIXES)}
    names.update({name: (lambda name=name, **kw: digits.build(name, **kw))
                  for name in digits.MODELS})
    names["gpt"] = gpt.GPT
    return names


def build_model(name, num_classes=None):
    models = available_models()
    if name not in models:
        raise KeyError(f"unknown model {name!r}; choose one of: {', '.join(sorted(models))}")
    if num_classes is None:
        return models[name]()
    if not name.startswith(ZOO_PREFIXES):
        raise KeyError(f"--num-classes applies to the vgg*/resnet* models, not {name!r}")
    return models[name](num_classes=num_classes)


def run(args):
    from torchsorflow.nn.summary import summary

    if args.output and os.path.isdir(args.output):
        raise CommandError(f"--output {args.output} is a folder, not a file")
    model = build_model(args.model, args.num_classes)
    try:
        info = summary(model, input_size=args.input_size, depth=args.depth,
                       dtype=getattr(model, "input_dtype", None))
    except (ValueError, TypeError, RuntimeError) as error:   # the input does not fit the model
        raise CommandError(str(error).removeprefix("summary: ")) from None
    text = {"table": lambda: str(info) + "\n", "json": lambda: info.to_json() + "\n",
            "markdown": info.to_markdown}[args.format]()
    if args.output:
        from ..io.atomic import atomic_write
        atomic_write(args.output, text)
        print(f"wrote {args.output} ({info.total_params:,} parameters)")
    else:
        sys.stdout.write(text)
    return 0
