"""Human output: `path:line:col: error[code]: message`, the source line and a caret."""

from __future__ import annotations

from converge.compiler.diagnostics import Diagnostic
from converge.compiler.formats.report import Report
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
    head = (f"{report.shown_path(diagnostic.path)}:{diagnostic.line}:{diagnostic.column}: "
            f"{_style(f'{severity}[{diagnostic.code}]', tone, color)}: {diagnostic.message}\n")
    lines = line_index(report.texts.get(diagnostic.path, "")).lines
    body = ""
    if 0 < diagnostic.line <= len(lines):
        source = lines[diagnostic.line - 1].replace("\t", " ")
        gutter = f"{diagnostic.line:>5} | "
        width = 1
        if diagnostic.span.end_line == diagnostic.line:
            width = max(1, diagnostic.span.end_column - diagnostic.column)
        width = min(width, max(1, len(source) - diagnostic.column + 1))
        caret = " " * (len(gutter) + diagnostic.column - 1) + "^" * width
        body = f"{gutter}{source}\n{_style(caret, tone, color)}\n"
    hint = f"      = hint: {diagnostic.hint}\n" if diagnostic.hint else ""
    return head + body + hint + "\n"
