"""``tsf fit DIST FILE``: the printed table, file formats, --plot, and errors that point at
lines."""
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
    assert err.startswith("tsf fit: error: ")
    assert re.search(message.replace("FILE", re.escape(path)), err), err


def test_missing_file(tmp_path, capsys):
    assert main(["fit", "normal", str(tmp_path / "absent.csv")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_read_observations_skips_header_comments_and_blank_lines(tmp_path):
    path = write(tmp_path, "d.csv", "a,b\n# note\n1, 2\n\n3 ,4e-1\n")
    table, lines = read_observations(path)
    np.testing.assert_array_equal(table, [[1.0, 2.0], [3.0, 0.4]])
    assert lines == [3, 5]
