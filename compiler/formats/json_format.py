"""JSON output: one document with every diagnostic and a summary, for other tools."""

from __future__ import annotations

import json

from converge.compiler.formats.report import Report


def render(report: Report) -> str:
    """`{"diagnostics": [...], "summary": {...}}`; paths relative to the checked PATH."""
    diagnostics = [
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
        for d in report.diagnostics
    ]
    return json.dumps({"diagnostics": diagnostics, "summary": report.summary()},
                      indent=2, ensure_ascii=False) + "\n"
