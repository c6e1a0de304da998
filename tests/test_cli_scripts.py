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
from click.testing import CliRunner

from compiler.cli import main

SCRIPTS = Path(__file__).resolve().parent / "scripts"
_SECTION = re.compile(r"^-- (.+) --$", re.MULTILINE)


@dataclasses.dataclass
class Script:
    header: str
    args: list[str]
    exit_code: int
    sections: dict[str, str]


def parse(text: str) -> Script:
    parts = _SECTION.split(text)
    header, rest = parts[0], parts[1:]
    sections = {rest[i]: rest[i + 1].removeprefix("\n") for i in range(0, len(rest), 2)}
    commands = [line for line in header.splitlines() if line and not line.startswith("#")]
    command = next(line for line in commands if line.startswith("converge "))
    exit_line = next((line for line in commands if line.startswith("exit ")), "exit 0")
    return Script(header, shlex.split(command)[1:], int(exit_line.split()[1]), sections)


def render(script: Script, stdout: str) -> str:
    sections = {"stdout": stdout, **{k: v for k, v in script.sections.items() if k != "stdout"}}
    body = "".join(f"-- {name} --\n{text}" for name, text in sections.items())
    return script.header + body


@pytest.mark.parametrize("path", sorted(SCRIPTS.glob("*.txt")), ids=lambda p: p.stem)
def test_script(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = parse(path.read_text(encoding="utf-8"))
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
