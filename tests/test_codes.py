"""Every diagnostic code is documented, explained by the CLI, and exercised by a test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from converge.compiler import codes
from converge.compiler.checks import CHECKS
from converge.compiler.commands.main import main

ROOT = Path(__file__).resolve().parent.parent


def test_docs_codes_md_is_current() -> None:
    committed = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert committed == codes.markdown(), "run: python -m converge.compiler.codes > docs/codes.md"


@pytest.mark.parametrize("code", sorted(codes.all_codes()))
def test_every_code_is_explained(code: str, runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", "--explain", code])
    assert result.exit_code == 0
    assert result.output.startswith(f"{code} (")
    assert "Fix:" in result.output


def test_an_unknown_code_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", "--explain", "no/such-code"])
    assert result.exit_code == 2
    assert "unknown code" in result.stderr


def test_check_modules_are_named_after_their_code() -> None:
    for module in CHECKS:
        assert module.__name__.rsplit(".", 1)[1] == module.CODE.replace("/", "_").replace("-", "_")


def test_every_code_appears_in_a_cli_script() -> None:
    folder = ROOT / "tests" / "scripts"
    scripts = "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.txt"))
    shown = set(re.findall(r"(?:error|warning|info)\[([a-z-]+/[a-z-]+)\]", scripts))
    live = {c for c in codes.all_codes() if c.startswith("live/")}  # need a running
    missing = sorted(set(codes.all_codes()) - shown - live)  # Prometheus: tests/test_live.py
    assert not missing, f"no tests/scripts case shows {missing}"
