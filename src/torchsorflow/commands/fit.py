"""``tsf fit DIST FILE``: maximum-likelihood fit with standard errors and 95% intervals.

FILE holds one observation per row: numbers separated by commas (CSV) or by whitespace; a header
line of names is skipped, as are blank lines and lines starting with ``#``. A multivariate normal
takes one column per coordinate; every other family takes exactly one column. ``-`` reads stdin.

    tsf fit gamma waiting_times.csv --plot gamma.png
"""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from . import CommandError

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


def _fields(line):
    return [f.strip() for f in (line.split(",") if "," in line else line.split())]


class LineNumbers(Sequence):
    """The file line of each row read by :func:`read_observations`, without a list of ten
    million ints: rows on consecutive lines are ``first + i``; otherwise the numbers are
    computed (slowly, once) when first asked for, which only an error message does."""

    def __init__(self, first, count, text=None, start=0):
        self._first, self._count, self._text, self._start, self._list = first, count, text, start, None

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if self._text is None:
            return range(self._first, self._first + self._count)[index]
        if self._list is None:
            self._list = _slow_rows(self._text, self._start, "", self._first)[1]
        return self._list[index]

    def __eq__(self, other):
        return list(self) == list(other)


def _decode(data, name):
    """Check that the bytes are UTF-8 (numbers are ASCII, comments need not be) and drop a
    byte-order mark."""
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[:error.start].count(b"\n") + 1
            raise ValueError(f"{name}, line {line}: not valid UTF-8 ({error.reason})") from None
    return data.removeprefix(b"\xef\xbb\xbf")


def read_observations(path):
    """Rows of numbers from ``path``; returns ``(array of shape (N, columns), line numbers)``.

    Raises ``ValueError`` naming the file and line of the first unreadable value or of a row with
    the wrong number of values.

    The lines before the first row (blank lines, ``#`` comments, a header of names) are looked
    at one by one; the rest goes to a C reader in one call: pyarrow's CSV reader where pyarrow is
    installed (ten million rows in well under a second), else NumPy's ``loadtxt``. Only if that
    fails, or the rest holds comments, does the line-by-line reader run, to name the line and the
    problem (or to accept what it accepts beyond them: commas on some lines and spaces on
    others, say).
    """
    import numpy as np

    if path == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        with open(path, "rb") as handle:
            data, name = handle.read(), path
    data = _decode(data, name)
    start, number, first_row = 0, 1, None
    while start < len(data):   # the lines before the first row of numbers
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        line = data[start:end].decode("utf-8").strip()
        if line and not line.startswith("#"):
            values = [_parse_number(f) for f in _fields(line)]
            if not all(v is None for v in values):
                first_row = (line, values)
                break
        start, number = end, number + 1
    if first_row is None:
        raise ValueError(f"{name}: no observations found")
    body = memoryview(data)[start:]   # no copy of a file of hundreds of megabytes
    if data.find(b"#", start) < 0 and None not in first_row[1]:
        table = _c_reader(body, first_row[0], len(first_row[1]))
        if table is not None:
            lines_in_body = data.count(b"\n", start) + (not data.endswith(b"\n"))
            if len(table) == lines_in_body:   # no blank lines: row i is on line number + i
                return table, LineNumbers(number, len(table))
            return table, LineNumbers(number, len(table), data, start)
    rows, lines = _slow_rows(data, start, name, number)
    return np.array(rows, dtype=np.float64), lines


def _c_reader(body, first_line, width):
    """``body`` as a (rows, width) float64 array read by pyarrow or NumPy, or None if they do
    not read it as the line-by-line reader would (which then runs and names the problem)."""
    import io

    import numpy as np

    comma = "," in first_line
    try:
        import pyarrow as pa
        import pyarrow.csv as csv
    except ImportError:
        pass
    else:
        # one column without commas: any delimiter absent from the data will do
        delimiter = "," if comma or width == 1 else ("\t" if "\t" in first_line else " ")
        names = [f"c{i}" for i in range(width)]
        try:
            table = csv.read_csv(
                pa.BufferReader(body),
                # blocks of 16 MiB: far fewer allocations (and page faults) than the 1 MiB default
                read_options=csv.ReadOptions(column_names=names, block_size=1 << 24),
                parse_options=csv.ParseOptions(delimiter=delimiter, quote_char=False,
                                               ignore_empty_lines=True),
                convert_options=csv.ConvertOptions(
                    column_types={n: pa.float64() for n in names}, null_values=[],
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
            return np.column_stack([table.column(n).to_numpy() for n in names]) \
                if width > 1 else table.column(0).to_numpy()[:, None]
        except (pa.ArrowException, ValueError):
            pass
    try:
        table = np.loadtxt(io.BytesIO(body), dtype=np.float64, delimiter="," if comma else None,
                           comments=None, ndmin=2, encoding="utf-8")
    except ValueError:
        return None
    return table if table.shape[1] == width else None


def _slow_rows(data, start, name, number=1):
    """Line by line from byte ``start`` (line ``number``): the rows and their line numbers,
    or an error naming the first bad line."""
    text = data[start:].decode("utf-8")
    rows, lines, width = [], [], None
    for offset, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = _fields(line)
        values = [_parse_number(f) for f in fields]
        bad = next((f for f, v in zip(fields, values) if v is None), None)
        if bad is not None:
            raise ValueError(f"{name}, line {number + offset}: cannot read {bad!r} as a number")
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise ValueError(f"{name}, line {number + offset}: expected {width} values like line "
                             f"{lines[0]}, found {len(values)}")
        rows.append(values)
        lines.append(number + offset)
    return rows, lines


def _with_line(message, lines, name):
    """Point a 'data[i] = …' message at the file line that row came from."""
    match = re.search(r"data\[(\d+)", message)
    if match and int(match.group(1)) < len(lines):
        return f"{message} ({name}, line {lines[int(match.group(1))]})"
    return message


def run(args):
    from ..stats import fit, get_family

    if not 0 < args.level < 1:
        raise CommandError(f"--level must be between 0 and 1 (exclusive), got {args.level}")
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
    return 0
