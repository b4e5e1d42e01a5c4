"""The ``tsf`` entry point: version, help, and the set-up contract between README and CI."""
import pathlib
import re
import subprocess
import sys

import torchsorflow
from torchsorflow.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_version_and_help(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capsys.readouterr().out.strip() == f"tsf (torchsorflow) {torchsorflow.__version__}"
    assert main([]) == 0
    assert "explain-modes" in capsys.readouterr().out


def test_console_script_runs_as_module():
    result = subprocess.run([sys.executable, "-m", "torchsorflow", "--help"], capture_output=True,
                            text=True, check=True)
    assert "usage: tsf" in result.stdout


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 -m venv .*)$", readme, flags=re.M)
    assert len(commands) == 2 and commands[0].endswith("tsf demo")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
