"""``tsf fit DIST FILE``: the printed table, file formats, --plot, and errors that point at
lines."""
import math
import re

import numpy as np
import pytest

from torchsorflow.cli import main
from torchsorflow.commands.fit import read_observations
from torchsorflow.stats import Exponential, fit


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_prints_estimates_standard_errors_and_intervals(tmp_path, capsys):
    x = Exponential(2.0).sample(200, seed=0).numpy()
    path = write(tmp_path, "waits.csv", "seconds\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    assert main(["fit", "exponential", path]) == 0
    out = capsys.readouterr().out
    expected = fit(Exponential, x)
    rate, se = expected.params["rate"], expected.stderr["rate"]
    row = next(line for line in out.splitlines() if line.startswith("rate"))
    assert row.split()[1:3] == [f"{rate:.6g}", f"{se:.4g}"]
    assert f"[{rate - 1.959963984540054 * se:.6g}," in row
    assert "Exponential fit to N = 200 observations (closed form)" in out
    assert "95% interval" in out and "AIC" in out


def test_whitespace_multicolumn_file_for_a_multivariate_normal(tmp_path, capsys):
    x = np.random.default_rng(1).normal(size=(30, 2))
    lines = "# two coordinates per row\n" + "\n".join(f"{float(a)!r}   {float(b)!r}" for a, b in x)
    assert main(["fit", "mvn", write(tmp_path, "points.txt", lines)]) == 0
    out = capsys.readouterr().out
    assert "covariance_matrix[1, 0]" in out
    loc0 = next(line for line in out.splitlines() if line.startswith("loc[0]")).split()[1]
    assert float(loc0) == pytest.approx(x[:, 0].mean(), rel=1e-5)


def test_numeric_method_and_level_options(tmp_path, capsys):
    path = write(tmp_path, "g.txt", "\n".join(map(str, [0.5, 1.2, 2.2, 0.7, 3.1, 1.9])))
    assert main(["fit", "gamma", path, "--level", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "90% interval" in out and "numeric, converged" in out


def test_plot_writes_a_png(tmp_path, capsys):
    counts = np.random.default_rng(2).poisson(3.0, 100)
    data = write(tmp_path, "counts.txt", "\n".join(map(str, counts)))
    positive = write(tmp_path, "pos.txt", "1\n2\n4\n8\n")
    for family, path in [("poisson", data), ("lognormal", positive)]:
        png = tmp_path / f"{family}.png"
        assert main(["fit", family, path, "--plot", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {png}" in capsys.readouterr().out


@pytest.mark.parametrize("dist, text, message", [
    ("exponential", "x\n1.0\n2.0\n-3\n", r"Exponential: data\[2\] = -3.0 is outside the support "
                                        r"\(values must be ≥ 0\) \(FILE, line 4\)"),
    ("poisson", "1\n\n2\nthree\n", r"FILE, line 4: cannot read 'three' as a number"),
    ("mvn", "1,2\n3,4\n5\n", r"FILE, line 3: expected 2 values like line 1, found 1"),
    ("normal", "1 2\n3 4\n", r"Normal is univariate and needs one number per row, found 2 columns"),
    ("normal", "# nothing\n\n", r"FILE: no observations found"),
    ("normal", "5\n5\n5\n", r"Normal: degenerate data: all 3 observations equal 5.0"),
    ("weibull", "1\n", r"unknown distribution 'weibull'"),
])
def test_errors_exit_with_status_2_and_name_the_line(tmp_path, capsys, dist, text, message):
    import re
    path = write(tmp_path, "data.txt", text)
    assert main(["fit", dist, path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tsf fit: ") and "Traceback" not in err
    assert re.search(message.replace("FILE", re.escape(path)), err), err


def test_missing_file(tmp_path, capsys):
    assert main(["fit", "normal", str(tmp_path / "absent.csv")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_read_observations_skips_header_comments_and_blank_lines(tmp_path):
    path = write(tmp_path, "d.csv", "a,b\n# note\n1, 2\n\n3 ,4e-1\n")
    table, lines = read_observations(path)
    np.testing.assert_array_equal(table, [[1.0, 2.0], [3.0, 0.4]])
    assert list(lines) == [3, 5]


# --- issue 20 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dist, values, message", [
    ("gamma", "1\n1\n1\n1.0000000001\n", "the 4 observations are nearly constant"),
    ("mvn", "1e200 3e200\n-2e200 1e200\n5e199 -4e200\n", "covariance_matrix is not finite in "
                                                         "float64"),
])
def test_fits_without_a_finite_maximum_exit_2_saying_why(tmp_path, capsys, dist, values, message):
    assert main(["fit", dist, write(tmp_path, "x.csv", values)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("dist, values", [
    ("normal", "1e200\n3e200\n2e200\n"),                                # printed 'scale inf'
    ("exponential", "\n".join(str(v * 1e307) for v in (0.3, 1.7, 1.0)) + "\n"),   # 'rate 0'
])
def test_huge_data_print_finite_numbers(tmp_path, capsys, dist, values):
    assert main(["fit", dist, write(tmp_path, "x.csv", values)]) == 0
    table = capsys.readouterr().out.split("log-likelihood")[0]
    rows = table.split("95% interval")[1]
    numbers = [float(t) for t in re.findall(r"-?\d+(?:\.\d*)?(?:e[+-]\d+)?", rows)]
    assert numbers and all(math.isfinite(v) and v != 0 for v in numbers)
    assert "inf" not in table and "nan" not in table


def test_the_fast_reader_reads_what_the_line_by_line_reader_reads(tmp_path):
    """pyarrow's (or NumPy's) C reader must agree bit for bit with float() on every value."""
    from torchsorflow.commands import fit as command
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(size=3000) * 10.0 ** rng.integers(-300, 300, 3000),
                             rng.integers(-10 ** 6, 10 ** 6, 1000).astype(float), [0.0, -0.0]])
    texts = [repr(float(v)) for v in values] + [f"{v:.3e}" for v in values[:500]] \
        + [f"{v:.17g}" for v in values[:500]] + ["1.", ".5", "+3", "-0", "1E5", "7e-320"]
    for layout, sep in (("single", "\n"), ("csv", None), ("spaces", None)):
        if layout == "single":
            body = "value\n" + "\n".join(texts) + "\n"
        else:
            pairs = [texts[i:i + 2] for i in range(0, len(texts) - 1, 2)]
            join = ", " if layout == "csv" else "  \t"
            body = "a,b\n" + "\n".join(join.join(p) for p in pairs) + "\n"
        path = write(tmp_path, f"{layout}.csv", body)
        table, lines = read_observations(path)
        expected = [[float(t) for t in line.replace(",", " ").split()]
                    for line in body.splitlines()[1:]]
        assert table.tobytes() == np.array(expected).tobytes(), layout
        assert list(lines[:3]) == [2, 3, 4] and len(lines) == len(expected)
        data = open(path, "rb").read()
        rows, lines = command._slow_rows(data, data.index(b"\n") + 1, path, 2)
        assert np.array(rows).tobytes() == table.tobytes() and lines[:2] == [2, 3]


@pytest.mark.parametrize("text, message", [
    ("x\n1\n2\n3 4\n", "FILE, line 4: expected 1 values like line 2, found 2"),
    ("x\n1\n2\nthree\n", "FILE, line 4: cannot read 'three' as a number"),
    ("1,2\n3,,4\n", "FILE, line 2: cannot read '' as a number"),
    ("1\n2\n# a comment\nfoo\n", "FILE, line 4: cannot read 'foo' as a number"),
])
def test_bad_rows_are_named_by_line_after_the_fast_reader_fails(tmp_path, capsys, text, message):
    path = write(tmp_path, "bad.csv", text)
    assert main(["fit", "normal", path]) == 2
    assert message.replace("FILE", path) in capsys.readouterr().err


def test_bytes_that_are_not_utf8_are_named_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"1\n2\n\xe9t\xe9\n")
    assert main(["fit", "normal", str(path)]) == 2
    assert f"{path}, line 3: not valid UTF-8" in capsys.readouterr().err


def test_a_byte_order_mark_does_not_hide_the_first_row(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff1\n2\n4\n".encode("utf-8"))
    table, _ = read_observations(str(path))
    assert table[:, 0].tolist() == [1, 2, 4]


def test_a_row_out_of_the_support_is_named_by_line_with_blank_lines_before_it(tmp_path, capsys):
    path = write(tmp_path, "gaps.csv", "x\n1\n\n2\n\n\n-3\n")
    assert main(["fit", "exponential", path]) == 2
    assert f"({path}, line 7)" in capsys.readouterr().err
