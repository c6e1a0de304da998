"""`converge test` output: human, JSON, GitHub annotations and JUnit XML. Each returns a
`str`."""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree

from converge.compiler.diagnostics import Severity
from converge.compiler.formats import github, human
from converge.compiler.formats.report import Report
from converge.compiler.formats.terminal import visible
from converge.compiler.testing.results import Result

FORMATS = ("human", "json", "github", "junit")


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
    if output_format == "junit":
        return _junit(results, report)
    if output_format == "github":
        lines = [github.annotation(report, f.diagnostic()) for r in results for f in r.failures]
        return visible("".join(f"{line}\n" for line in lines)
                       + f"converge test: {summary(results)}\n")
    text = _human(results, report, color=color, verbose=verbose)
    return text if color else visible(text)  # coloured: diagnostics escape their own parts


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


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold even escaped (an ANSI escape in a label value)."""


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _junit(results: list[Result], report: Report) -> str:
    """JUnit XML: a `testsuite` per kind (routing, rules), a `testcase` per test, named and
    placed (`file`, `line`) as in the human output, each failure a `failure` element."""
    root = ElementTree.Element("testsuites", name="converge test")
    for kind in ("routing", "rules"):
        tests = [r for r in results if r.kind == kind]
        if not tests:
            continue
        suite = ElementTree.SubElement(root, "testsuite", name=kind, tests=str(len(tests)),
                                       failures=str(sum(not r.passed for r in tests)),
                                       errors="0", skipped="0")
        for result in tests:
            shown = report.shown_path(result.origin.document.path)
            line = result.origin.document.locate(result.origin.path).line
            case = ElementTree.SubElement(suite, "testcase", name=_xml(result.name),
                                          classname=_xml(f"{kind}.{shown}"),
                                          file=_xml(shown), line=str(line))
            if result.failures:
                first = result.failures[0].diagnostic(details=False)
                body = "".join(human.block(report, f.diagnostic(details=False))
                               + "".join(f"    {detail}\n" for detail in f.details)
                               for f in result.failures)
                message = first.message.removeprefix(f"{result.name}: ")  # the case's name
                failure = ElementTree.SubElement(case, "failure", message=_xml(message),
                                                 type=first.code)
                failure.text = _xml(body)
    return junit_document(root)


def junit_errors(problems: Report) -> str:
    """JUnit XML for specs that do not check, so no test ran: one failed `testcase` per
    error, in a `testsuite` named `check` (a CI system then shows why, not an empty
    report)."""
    errors = [d for d in problems.diagnostics if d.severity is Severity.ERROR]
    root = ElementTree.Element("testsuites", name="converge test")
    suite = ElementTree.SubElement(root, "testsuite", name="check", tests=str(len(errors)),
                                   failures="0", errors=str(len(errors)), skipped="0")
    for diagnostic in errors:
        shown = problems.shown_path(diagnostic.path)
        case = ElementTree.SubElement(suite, "testcase", name=_xml(diagnostic.code),
                                      classname=_xml(f"check.{shown}"), file=_xml(shown),
                                      line=str(diagnostic.span.line))
        error = ElementTree.SubElement(case, "error", message=_xml(diagnostic.message),
                                       type=diagnostic.code)
        error.text = _xml(human.block(problems, diagnostic))
    return junit_document(root)


def junit_document(root: ElementTree.Element) -> str:
    """ROOT as a UTF-8 XML document with totals on `testsuites`, indented."""
    for total in ("tests", "failures", "errors", "skipped"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    ElementTree.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding="unicode") + "\n")
