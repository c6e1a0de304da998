"""CLI tests as readable scripts (in the spirit of Go's testscript / pint's tests).

Each `tests/scripts/*.txt` holds a command, its expected exit code and output, and the
input files inline:

    # what the case shows
    converge check repo
    exit 1
    -- stdout --
    repo/rules.yaml:3:5: error[...]: ...
    -- repo/rules.yaml --
    ...

A `requires TOOL` line (e.g. `requires promtool`) makes the case a `realtools` one: it
runs the real tool, fails in CI when the tool is missing and is skipped elsewhere.

Run with CONVERGE_UPDATE_SCRIPTS=1 to rewrite the expected output after a deliberate
change, then review the diff.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from pathlib import Path

import pytest
import realtools
from click.testing import CliRunner

from converge.compiler.commands.main import main

SCRIPTS = Path(__file__).resolve().parent / "scripts"
_SECTION = re.compile(r"^-- (.+) --$", re.MULTILINE)


@dataclasses.dataclass
class Script:
    header: str
    args: list[str]
    exit_code: int
    sections: dict[str, str]
    tools: tuple[str, ...] = ()


def parse(text: str) -> Script:
    parts = _SECTION.split(text)
    header, rest = parts[0], parts[1:]
    sections = {rest[i]: rest[i + 1].removeprefix("\n") for i in range(0, len(rest), 2)}
    commands = [line for line in header.splitlines() if line and not line.startswith("#")]
    command = next(line for line in commands if line.startswith("converge "))
    exit_line = next((line for line in commands if line.startswith("exit ")), "exit 0")
    tools = tuple(line.split()[1] for line in commands if line.startswith("requires "))
    return Script(header, shlex.split(command)[1:], int(exit_line.split()[1]), sections, tools)


def render(script: Script, stdout: str) -> str:
    sections = {"stdout": stdout, **{k: v for k, v in script.sections.items() if k != "stdout"}}
    body = "".join(f"-- {name} --\n{text}" for name, text in sections.items())
    return script.header + body


def _cases() -> list[object]:
    cases = []
    for path in sorted(SCRIPTS.glob("*.txt")):
        tools = parse(path.read_text(encoding="utf-8")).tools
        cases.append(pytest.param(path, id=path.stem,
                                  marks=[pytest.mark.realtools] if tools else []))
    return cases


@pytest.mark.parametrize("path", _cases())
def test_script(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = parse(path.read_text(encoding="utf-8"))
    for tool in script.tools:
        realtools.tool(tool)
    for name, text in script.sections.items():
        if name in ("stdout", "stderr"):
            continue
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, script.args, catch_exceptions=False)
    if os.environ.get("CONVERGE_UPDATE_SCRIPTS"):
        path.write_text(render(script, result.stdout), encoding="utf-8")
    assert result.exit_code == script.exit_code, result.output
    assert result.stdout == script.sections.get("stdout", "")
    if "stderr" in script.sections:
        assert result.stderr == script.sections["stderr"]
