"""Finding 13: terminal escape sequences from spec files were echoed raw by `converge
check` (a file could retitle, clear or rewrite the reader's terminal). Every human output
now shows them as `\\x1b…` (compiler/formats/terminal.py), with the caret still under
its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.compiler.formats import terminal
from security.cli import converge

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"


def test_check_shows_escape_sequences_instead_of_sending_them(tmp_path: Path) -> None:
    (tmp_path / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\nspec: {}\n")
    (tmp_path / "rules.yaml").write_text(
        "apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: g}\nspec:\n  rules:\n"
        f"  - record: \"{ESCAPES}bad name\"  # {ESCAPES}\n    expr: up\n")
    done = converge(["check", str(tmp_path)])
    assert done.returncode == 1
    for char in "\x1b\x07\x9b\u202e":
        assert char not in done.stdout + done.stderr
    assert "\\x1b]0;owned\\x07\\x1b[2J" in done.stdout, done.stdout
    # the caret stays under what it points at (the escape character, shown as \x1b)
    lines = done.stdout.splitlines()
    source = next(i for i, line in enumerate(lines) if "| " in line and "record" in line)
    caret = lines[source + 1].index("^")
    width = lines[source + 1].count("^")
    assert lines[source][caret:caret + width] == "\\x1b", (lines[source], lines[source + 1])


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("\x1b[31mred", "\\x1b[31mred", id="csi"),
    pytest.param("a\u202eb", "a\\u202eb", id="bidi-override"),
    pytest.param("tab\tand\nnewline", "tab\tand\nnewline", id="layout-kept"),
    pytest.param("caf\u00e9 \u2603", "caf\u00e9 \u2603", id="printable-unicode"),
])
def test_visible(text: str, shown: str) -> None:
    assert terminal.visible(text) == shown
