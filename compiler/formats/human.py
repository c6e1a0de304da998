"""Human output: `path:line:col: error[code]: message`, the source line and a caret.

Everything taken from a spec (its path, the message quoting it, the source line, the
hint) is shown through `terminal.visible_line`: an escape sequence in a spec file is
printed as `\x1b…`, never sent to the terminal."""

from __future__ import annotations

from converge.compiler.diagnostics import Diagnostic
from converge.compiler.formats.report import Report
from converge.compiler.formats.terminal import visible_line
from converge.compiler.loader import line_index


def render(report: Report, *, color: bool = False) -> str:
    """Every diagnostic with its source line, then a one-line summary."""
    blocks = [_block(report, d, color) for d in report.diagnostics]
    summary = report.summary()
    problems = []
    if summary["errors"]:
        problems.append(_plural(summary["errors"], "error"))
    if summary["warnings"]:
        problems.append(_plural(summary["warnings"], "warning"))
    files = _plural(summary["files"], "file")
    tail = f"{', '.join(problems)} in {files}" if problems else f"no problems in {files}"
    return "".join(blocks) + tail + "\n"


def block(report: Report, diagnostic: Diagnostic, *, color: bool = False) -> str:
    """One diagnostic: its header, source line with a caret, hint, and a blank line."""
    return _block(report, diagnostic, color)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _style(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _block(report: Report, diagnostic: Diagnostic, color: bool) -> str:
    severity = diagnostic.severity.value
    tone = {"error": "1;31", "warning": "1;33"}.get(severity, "1;36")
    head = (f"{visible_line(report.shown_path(diagnostic.path))}:{diagnostic.line}:"
            f"{diagnostic.column}: {_style(f'{severity}[{diagnostic.code}]', tone, color)}: "
            f"{visible_line(diagnostic.message)}\n")
    lines = line_index(report.texts.get(diagnostic.path, "")).lines
    body = ""
    if 0 < diagnostic.line <= len(lines):
        raw = lines[diagnostic.line - 1].replace("\t", " ")
        gutter = f"{diagnostic.line:>5} | "
        width = 1
        if diagnostic.span.end_line == diagnostic.line:
            width = max(1, diagnostic.span.end_column - diagnostic.column)
        width = min(width, max(1, len(raw) - diagnostic.column + 1))
        start = diagnostic.column - 1
        # the caret stays under its text when escapes widen what comes before it
        column = len(visible_line(raw[:start]))
        width = max(1, len(visible_line(raw[start:start + width])))
        caret = " " * (len(gutter) + column) + "^" * width
        body = f"{gutter}{visible_line(raw)}\n{_style(caret, tone, color)}\n"
    hint = f"      = hint: {visible_line(diagnostic.hint)}\n" if diagnostic.hint else ""
    return head + body + hint + "\n"
