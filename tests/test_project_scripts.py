"""The README's two commands and the scripts behind them: what the README promises is what
the scripts do, and their flags fail clearly.

Running `scripts/example` whole needs root for apt; `test_demo_e2e.py` runs the demo it
ends with, and the compile it starts with is `converge compile repo-example`, tested in
`test_render_example.py`. Here: the README, `.ci/run` and the scripts' arguments.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _shell_blocks(markdown: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S)]


def test_the_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _shell_blocks(readme)[:2] == ["scripts/example", "scripts/test"]
    assert readme.index("scripts/example") < readme.index("## ")


def test_ci_runs_the_readme_test_command() -> None:
    lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[-1] == "exec scripts/test", lines


def test_example_checks_compiles_installs_then_runs_the_demo_in_that_order() -> None:
    script = (ROOT / "scripts" / "example").read_text(encoding="utf-8")
    steps = [script.index(s) for s in ("scripts/ensure-venv\n", "converge check repo-example",
                                       "converge compile repo-example -o out",
                                       "if ! scripts/install-tools --demo;",
                                       "exec .venv/bin/converge demo")]
    assert steps == sorted(steps)


@pytest.mark.parametrize(("script", "flag"), [("example", "--demo"),
                                              ("install-tools", "--demo"),
                                              ("build-image", "--sidecar")])
def test_scripts_explain_themselves_and_refuse_unknown_flags(script: str, flag: str) -> None:
    path = ROOT / "scripts" / script
    shown = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and f"Usage: scripts/{script}" in shown.stdout
    assert flag in shown.stdout
    refused = subprocess.run([path, "--bogus"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "unknown argument: --bogus" in refused.stderr
