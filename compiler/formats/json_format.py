"""JSON output: one document with every diagnostic and a summary, for other tools."""

from __future__ import annotations

import json
from typing import Any

from converge.compiler.diagnostics import Diagnostic
from converge.compiler.formats.report import Report


def render(report: Report) -> str:
    """`{"diagnostics": [...], "summary": {...}}`; paths relative to the checked PATH."""
    return dump(document(report))


def dump(value: dict[str, Any]) -> str:
    """VALUE as the JSON formats print it: indented, UTF-8 kept, one trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def document(report: Report) -> dict[str, Any]:
    """The document `render` prints, for a command that adds its own keys to it;
    `suppressed` (same shape as `diagnostics`) only when something was suppressed."""
    found: dict[str, Any] = {"diagnostics": _diagnostics(report.diagnostics),
                             "summary": report.summary()}
    if report.suppressed:
        found["suppressed"] = _diagnostics(report.suppressed)
        found["summary"]["suppressed"] = len(report.suppressed)
    return found


def _diagnostics(diagnostics: list[Diagnostic]) -> list[dict[str, Any]]:
    return [
        {
            "path": d.path,
            "line": d.span.line,
            "column": d.span.column,
            "endLine": d.span.end_line,
            "endColumn": d.span.end_column,
            "code": d.code,
            "severity": d.severity.value,
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]
