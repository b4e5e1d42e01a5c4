"""Session-wide test options: ``--fuzz-long`` and the count of differential fuzz cases checked.

The fuzz tests (tests/test_fuzz_*.py, helpers in tests/fuzz_support.py) run a fixed-seed, bounded
number of hypothesis examples by default; ``pytest --fuzz-long`` runs ten times as many. At the end
of the session the total number of cases checked against PyTorch is printed, summed over
pytest-xdist workers.
"""
import pytest


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the differential fuzz tests with 10x as many examples")


def _fuzz_support():
    try:
        import fuzz_support
    except ImportError:  # hypothesis not installed: the fuzz tests skip themselves
        return None
    return fuzz_support


def pytest_configure(config):
    config._fuzz_cases_from_workers = 0
    support = _fuzz_support()
    if support is not None:
        support.load_profile(long=config.getoption("--fuzz-long"))


def pytest_sessionfinish(session):
    support = _fuzz_support()
    workeroutput = getattr(session.config, "workeroutput", None)
    if support is not None and workeroutput is not None:  # an xdist worker reports its count
        workeroutput["fuzz_cases"] = support.CASES


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    node.config._fuzz_cases_from_workers += getattr(node, "workeroutput", {}).get("fuzz_cases", 0)


def pytest_terminal_summary(terminalreporter, config):
    support = _fuzz_support()
    total = config._fuzz_cases_from_workers + (support.CASES if support is not None else 0)
    if total:
        mode = "--fuzz-long" if config.getoption("--fuzz-long") else "CI profile"
        terminalreporter.write_line(
            f"differential fuzz: {total} cases checked against PyTorch ({mode})")
