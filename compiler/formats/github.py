"""GitHub Actions workflow commands, so problems show inline on a pull request's lines."""

from __future__ import annotations

from converge.compiler.diagnostics import Diagnostic
from converge.compiler.formats.report import Report

_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(report: Report, d: Diagnostic) -> str:
    """The `::error file=…,line=…,col=…::message` line of one diagnostic."""
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return (f"::{_LEVELS[d.severity.value]} file={_property(report.shown_path(d.path))},"
            f"line={d.span.line},col={d.span.column},endLine={d.span.end_line},"
            f"endColumn={d.span.end_column},title={_property(d.code)}::{_data(message)}")


def render(report: Report) -> str:
    """One `::error file=…,line=…,col=…::message` line per diagnostic."""
    lines = [annotation(report, d) for d in report.diagnostics]
    summary = report.summary()
    lines.append(f"converge: {summary['errors']} error(s), {summary['warnings']} warning(s) "
                 f"in {summary['files']} file(s)")
    return "\n".join(lines) + "\n"
