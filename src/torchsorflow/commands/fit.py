"""``tsf fit DIST FILE``: maximum-likelihood fit with standard errors and 95% intervals.

FILE holds one observation per row: numbers separated by commas (CSV) or by whitespace; a header
line of names is skipped, as are blank lines and lines starting with ``#``. A multivariate normal
takes one column per coordinate; every other family takes exactly one column. ``-`` reads stdin.

    tsf fit gamma waiting_times.csv --plot gamma.png
"""
from __future__ import annotations

import re
import sys

DESCRIPTION = ("Fit a distribution to data by maximum likelihood (closed form or Newton with "
               "autodiff) and print the parameters with standard errors from the observed Fisher "
               "information and Wald confidence intervals.")


def register(subparsers):
    parser = subparsers.add_parser("fit", help="fit a distribution by maximum likelihood, with "
                                   "standard errors", description=DESCRIPTION)
    parser.add_argument("dist", metavar="DIST",
                        help="normal, mvn, exponential, bernoulli, categorical, poisson, gamma, "
                             "beta, laplace, lognormal or studentt")
    parser.add_argument("file", metavar="FILE",
                        help="CSV or whitespace-separated numbers, one observation per row "
                             "('-' for standard input)")
    parser.add_argument("--method", choices=("auto", "closed_form", "numeric"), default="auto",
                        help="closed form where one exists (auto, the default) or Newton's method")
    parser.add_argument("--level", type=float, default=0.95,
                        help="confidence level of the intervals (default 0.95)")
    parser.add_argument("--plot", metavar="PNG", help="draw the histogram with the fitted density")
    parser.set_defaults(func=run)


def _parse_number(text):
    try:
        return float(text)
    except ValueError:
        return None


def read_observations(path):
    """Rows of numbers from ``path``; returns ``(array of shape (N, columns), line numbers)``.

    Raises ``ValueError`` naming the file and line of the first unreadable value or of a row with
    the wrong number of values.
    """
    import numpy as np

    if path == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        with open(path, encoding="utf-8") as handle:
            text, name = handle.read(), path
    rows, lines, width = [], [], None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in (line.split(",") if "," in line else line.split())]
        values = [_parse_number(f) for f in fields]
        if not rows and all(v is None for v in values):
            continue  # a header of column names
        bad = next((f for f, v in zip(fields, values) if v is None), None)
        if bad is not None:
            raise ValueError(f"{name}, line {number}: cannot read {bad!r} as a number")
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise ValueError(f"{name}, line {number}: expected {width} values like line "
                             f"{lines[0]}, found {len(values)}")
        rows.append(values)
        lines.append(number)
    if not rows:
        raise ValueError(f"{name}: no observations found")
    return np.array(rows, dtype=np.float64), lines


def _with_line(message, lines, name):
    """Point a 'data[i] = …' message at the file line that row came from."""
    match = re.search(r"data\[(\d+)", message)
    if match and int(match.group(1)) < len(lines):
        return f"{message} ({name}, line {lines[int(match.group(1))]})"
    return message


def run(args):
    from ..stats import fit, get_family

    try:
        family = get_family(args.dist)
        table, lines = read_observations(args.file)
        if family.event_ndim == 0:
            if table.shape[1] != 1:
                raise ValueError(f"{args.file}: {family.__name__} is univariate and needs one "
                                 f"number per row, found {table.shape[1]} columns")
            data = table[:, 0]
        else:
            data = table
        try:
            result = fit(family, data, method=args.method)
        except ValueError as error:
            raise ValueError(_with_line(str(error), lines, args.file)) from None
        print(result.summary(args.level))
        if args.plot:
            from ..stats.plotting import plot_fit
            plot_fit(result, data, args.plot)
            print(f"wrote {args.plot}")
    except (ValueError, OSError) as error:
        print(f"tsf fit: error: {error}", file=sys.stderr)
        return 2
    return 0
