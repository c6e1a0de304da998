"""The GitHub workflows we ship call converge with commands and options that exist."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml

from converge.compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"),
                    *ROOT.glob("repo-example/.github/workflows/*.yml")])


def _run_lines(workflow: Path) -> Iterator[str]:
    document = yaml.safe_load(workflow.read_text())
    for job in document["jobs"].values():
        for step in job["steps"]:
            yield from str(step.get("run", "")).splitlines()


def _invocations(workflow: Path) -> Iterator[list[str]]:
    """Every `converge …` command line in the workflow's run steps, as argv after `converge`."""
    for line in _run_lines(workflow):
        for match in re.finditer(r"(?:^|[;&|]\s*|then\s+)converge\s+([^;&|>]*)", line):
            yield shlex.split(match.group(1))


def test_workflows_exist() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in WORKFLOWS}
    assert {".github/workflows/ci.yml", ".github/workflows/preview.yml",
            "repo-example/.github/workflows/converge.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_converge_call_parses(workflow: Path) -> None:
    calls = list(_invocations(workflow))
    assert calls, f"{workflow} never runs converge"
    for argv in calls:
        with click.Context(main) as context:
            command = main.get_command(context, argv[0])
            assert command is not None, f"unknown command in {workflow}: converge {argv[0]}"
            command.make_context(argv[0], list(argv[1:]), parent=context)


def test_preview_updates_one_comment() -> None:
    text = (ROOT / ".github/workflows/preview.yml").read_text()
    assert "<!-- converge-preview -->" in text
    assert "updateComment" in text and "createComment" in text
    assert "fetch-depth: 0" in text
