"""Maximum-likelihood fitting: ``torchsorflow.stats.fit`` beside ``scipy.stats`` in the same run.

Run: ``tsf bench stats`` or ``python -m torchsorflow.benchmarks.bench_stats [--quick] [--json
out.json]``.

The headline workload is a Gamma fitted to 10⁶ points. SciPy's ``gamma.fit(x,
floc=0)`` is the same two-parameter model and has a special path (a 1-D root-finder on the
sufficient statistics), so it is the fair and the hard comparison; the generic three-parameter
``gamma.fit(x)`` that users often call is listed for context (it fits a location too). Our time
includes what SciPy does not compute: input validation and the standard errors (an autodiff
Hessian and its inverse). The data pass (validation, Σx and Σlog x) is O(N); each Newton step is
O(1) because the log-likelihood is evaluated from those sums.
"""
from __future__ import annotations

import sys

import numpy as np
import scipy.stats

from torchsorflow.stats import Beta, Exponential, Gamma, MultivariateNormal, Normal, StudentT, fit

from .harness import best_time, measure, row, script_main


def _once(fn, quick=False):
    """Seconds for a single call, for workloads too slow to repeat (SciPy's generic optimizer
    takes seconds); no warm-up, which matters little at that scale."""
    return best_time(fn, repeat=1, number=1), None


def workloads(quick):
    rng = np.random.default_rng(0)
    big = 10 ** 5 if quick else 10 ** 6
    gamma_x = rng.gamma(2.5, 1 / 1.5, big)
    expon_x = rng.exponential(0.5, big)
    normal_x = rng.normal(1.0, 2.0, big)
    beta_x = rng.beta(2.0, 5.0, big // 10)
    t_x = 1.0 + 2.0 * rng.standard_t(4.0, 10 ** 4)
    mvn_x = rng.multivariate_normal(np.zeros(4), np.eye(4) + 0.5, big // 10)
    label = f"{big:.0e}".replace("e+0", "e")
    return [
        (f"Gamma fit, {label} points (+ stderr)", lambda: fit(Gamma, gamma_x),
         lambda: scipy.stats.gamma.fit(gamma_x, floc=0), "scipy gamma.fit(floc=0)", measure, ""),
        (f"Gamma fit, {label} points, vs 3-parameter fit", lambda: fit(Gamma, gamma_x),
         lambda: scipy.stats.gamma.fit(gamma_x), "scipy gamma.fit", _once,
         "SciPy also fits loc (a different, harder problem)"),
        (f"Exponential fit, {label} points", lambda: fit(Exponential, expon_x),
         lambda: scipy.stats.expon.fit(expon_x, floc=0), "scipy expon.fit(floc=0)", measure, ""),
        (f"Normal fit, {label} points", lambda: fit(Normal, normal_x),
         lambda: scipy.stats.norm.fit(normal_x), "scipy norm.fit", measure, ""),
        (f"Beta fit, {big // 10:.0e} points".replace("e+0", "e"), lambda: fit(Beta, beta_x),
         lambda: scipy.stats.beta.fit(beta_x, floc=0, fscale=1), "scipy beta.fit(floc, fscale)",
         measure, ""),
        ("StudentT fit, 1e4 points", lambda: fit(StudentT, t_x), lambda: scipy.stats.t.fit(t_x),
         "scipy t.fit", _once, "no sufficient statistics: every step is O(N)"),
        (f"MultivariateNormal d=4, {big // 10:.0e} points".replace("e+0", "e"),
         lambda: fit(MultivariateNormal, mvn_x), lambda: scipy.stats.multivariate_normal.fit(mvn_x),
         "scipy multivariate_normal.fit", measure, "14 free parameters, full stderr"),
    ]


def csv_reading(quick):
    """Issue 20's limit: ``tsf fit`` on a 10⁷-row CSV took 37 s and 2.7 GB; the reader behind it
    (pyarrow's C reader where installed, else NumPy's) beside ``np.loadtxt`` on the same file."""
    import os
    import tempfile

    from torchsorflow.commands.fit import read_observations

    rows_n = 10 ** 6 if quick else 10 ** 7
    x = np.random.default_rng(0).exponential(2.0, rows_n)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "values.csv")
        with open(path, "w") as handle:
            handle.write("value\n" + "\n".join(map(repr, x.tolist())) + "\n")
        tsf_s, tsf_mb = _once(lambda: read_observations(path))
        ref_s, ref_mb = _once(lambda: np.loadtxt(path, skiprows=1))
    label = f"{rows_n:.0e}".replace("e+0", "e")
    return row(f"tsf fit's CSV reader, {label} rows", tsf_s, ref_s, "numpy loadtxt",
               tsf_mb=tsf_mb, ref_mb=ref_mb, note="tsf fit on 1e7 rows within 3 s")


def run(quick=False):
    rows = []
    for name, ours, theirs, incumbent, timer, note in workloads(quick):
        tsf_s, tsf_mb = timer(ours, quick)
        ref_s, ref_mb = timer(theirs, quick)
        rows.append(row(name, tsf_s, ref_s, incumbent, tsf_mb=tsf_mb, ref_mb=ref_mb, note=note))
    rows.append(csv_reading(quick))
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
