"""`converge test` output: human, JSON and GitHub annotations. Each returns a `str`."""

from __future__ import annotations

import json
from typing import Any

from converge.compiler.formats import github, human
from converge.compiler.formats.report import Report
from converge.compiler.testing.results import Result

FORMATS = ("human", "json", "github")


def summary(results: list[Result]) -> str:
    """`N passed, M failed`."""
    failed = sum(1 for r in results if not r.passed)
    return f"{len(results) - failed} passed, {failed} failed"


def render(results: list[Result], *, output_format: str, texts: dict[str, str], root: str,
           files: int, color: bool = False, verbose: bool = False) -> str:
    """The results in `output_format`, paths shown as in `converge check`."""
    report = Report([], texts, root, files)
    if output_format == "json":
        return _json(results)
    if output_format == "github":
        lines = [github.annotation(report, f.diagnostic()) for r in results for f in r.failures]
        return "".join(f"{line}\n" for line in lines) + f"converge test: {summary(results)}\n"
    return _human(results, report, color=color, verbose=verbose)


def _human(results: list[Result], report: Report, *, color: bool, verbose: bool) -> str:
    parts = []
    for result in results:
        if verbose:
            shown = report.shown_path(result.origin.document.path)
            line = result.origin.document.locate(result.origin.path).line
            status = "ok  " if result.passed else "FAIL"
            parts.append(f"{status} {result.kind:<7} {shown}:{line}: {result.name}\n")
    if verbose and results:
        parts.append("\n")
    for result in results:
        for failure in result.failures:
            block = human.block(report, failure.diagnostic(details=False), color=color)
            details = "".join(f"    {line}\n" for line in failure.details)
            parts.append(block.removesuffix("\n") + details + "\n")
    return "".join(parts) + f"converge test: {summary(results)}\n"


def _json(results: list[Result]) -> str:
    tests: list[dict[str, Any]] = []
    for result in results:
        document = result.origin.document
        span = document.locate(result.origin.path)
        failures = []
        for failure in result.failures:
            d = failure.diagnostic(details=False)
            failures.append({"path": d.path, "line": d.span.line, "column": d.span.column,
                             "endLine": d.span.end_line, "endColumn": d.span.end_column,
                             "code": d.code, "message": d.message,
                             "details": list(failure.details)})
        tests.append({"kind": result.kind, "name": result.name, "path": document.path,
                      "line": span.line, "column": span.column, "passed": result.passed,
                      "failures": failures})
    failed = sum(1 for r in results if not r.passed)
    return json.dumps({"tests": tests,
                       "summary": {"passed": len(results) - failed, "failed": failed}},
                      indent=2, ensure_ascii=False) + "\n"
