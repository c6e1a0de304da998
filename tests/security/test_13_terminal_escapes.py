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


@pytest.mark.parametrize("output", ["text", "markdown"])
def test_diff_shows_escape_sequences_instead_of_sending_them(tmp_path: Path,
                                                             output: str) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c",
                        "user.email=t@example.com", *args], check=True, capture_output=True)

    def rules(summary: str) -> str:
        return ("apiVersion: converge/v1\nkind: RuleGroup\nmetadata: {name: g}\nspec:\n"
                "  rules:\n  - alert: Down\n    expr: up == 0\n"
                f"    labels: {{severity: page}}\n    annotations: {{summary: \"{summary}\"}}\n")

    git("init", "-q", "-b", "main")
    (tmp_path / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\nspec: {}\n")
    (tmp_path / "routing.yaml").write_text(
        "apiVersion: converge/v1\nkind: Routing\nmetadata: {name: main}\nspec:\n"
        "  route: {receiver: hook}\n---\napiVersion: converge/v1\nkind: Channel\n"
        "metadata: {name: hook}\nspec: {type: webhook, url: 'http://127.0.0.1:9/'}\n")
    (tmp_path / "rules.yaml").write_text(rules("down"))
    git("add", "-A")
    git("commit", "-qm", "base")
    (tmp_path / "rules.yaml").write_text(rules("\\e]0;owned\\a\\e[2J down"))
    git("commit", "-qam", "head")
    done = converge(["diff", str(tmp_path), "--base", "HEAD~1", "--head", "HEAD",
                     "--format", output])
    assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout
    assert "\\x1b]0;owned\\x07" in done.stdout, done.stdout + done.stderr


def test_fmt_diff_shows_a_bidi_override_instead_of_sending_it(tmp_path: Path) -> None:
    """YAML refuses raw C0 controls in a file, but takes a bidirectional override, which
    makes a terminal show text in another order than it is."""
    (tmp_path / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: demo}\n"
        "spec: {}    # \u202eevil\n")
    done = converge(["fmt", "--diff", str(tmp_path)])
    assert "\u202e" not in done.stdout + done.stderr
    assert "\\u202eevil" in done.stdout, done.stdout + done.stderr
