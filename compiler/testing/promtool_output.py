"""Read what `promtool test rules` printed, and pin each failure on the spec that caused it.

promtool prints, per file, `Unit Testing:  FILE` then `  SUCCESS` or `  FAILED:` and its
errors, each followed by a blank line (run with stderr joined to stdout, so the order is
kept). An alert failure starts `alertname: NAME, time: T,` and an expression failure
`expr: "EXPR", time: T,`; they are matched to the `alertRuleTests` or `promqlExprTests`
entry with that name (or expression) and evaluation time. Anything else is reported at
the test case.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

from converge.compiler.testing import alert_diff
from converge.compiler.testing.results import RULE_FAILED, Failure, Result
from converge.compiler.testing.rules import Case
from converge.specs.common import parse_duration
from converge.specs.rule_tests import RuleTest

_HEADER = re.compile(r"^Unit Testing:[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_ALERT = re.compile(r"^alertname: (?P<name>.*), time: (?P<time>[^,\s]+),\s*$")
_EXPR = re.compile(r'^expr: (?P<expr>".*"), time: (?P<time>[^,\s]+),\s*(?:err: (?P<err>.*))?$')


@dataclasses.dataclass(frozen=True, slots=True)
class FileReport:
    """What promtool said about one test file."""

    passed: bool
    errors: tuple[str, ...]
    """Each error's text, dedented."""


def parse(output: str) -> dict[str, FileReport]:
    """Split promtool's output into a report per test file."""
    parts = _HEADER.split(output)
    return {file: _report(body) for file, body in zip(parts[1::2], parts[2::2], strict=True)}


def _report(body: str) -> FileReport:
    blocks: list[list[str]] = []
    block: list[str] = []
    for line in [*body.splitlines(), ""]:
        text = line.strip()
        if text in ("SUCCESS", "FAILED:", "") or text.startswith("WARNING:"):
            if block:
                blocks.append(block)
            block = [line] if text.startswith("WARNING:") else []
        else:
            block.append(line)
    passed = any(line.strip() == "SUCCESS" for line in body.splitlines())
    return FileReport(passed, tuple(_dedent(b) for b in blocks))


def _dedent(lines: list[str]) -> str:
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:].rstrip() for line in lines)


def results(found: list[Case], output: str) -> list[Result]:
    """One result per case from promtool's output (a case it did not report on fails)."""
    reports = parse(output)
    out = []
    for case in found:
        report = reports.get(case.file)
        if report is None:
            failures: tuple[Failure, ...] = (Failure(
                case.test.origin, RULE_FAILED, f"{case.name}: promtool did not report on "
                "this test", tuple(output.strip().splitlines()[-20:])),)
        elif report.passed:
            failures = ()
        else:
            failures = tuple(_failures(case, report.errors)) or (Failure(
                case.test.origin, RULE_FAILED, f"{case.name}: promtool reports a failure"),)
        out.append(Result("rules", case.name, case.test.origin, failures))
    return out


def _failures(case: Case, errors: tuple[str, ...]) -> Iterator[Failure]:
    spec: RuleTest = case.test.spec
    origin = case.test.origin
    for error in errors:
        lines = error.splitlines()
        alert = _ALERT.match(lines[0])
        expr = _EXPR.match(lines[0])
        if alert is not None:
            index = _find(spec, "alert", alert["name"], alert["time"])
            where = origin.child("alertRuleTests", index) if index is not None else origin
            problem, details = _alert_failure(lines[1:])
            yield Failure(where, RULE_FAILED,
                          f"{case.name}: alert {alert['name']} at {alert['time']}: {problem}",
                          details)
        elif expr is not None:
            text = _unquote(expr["expr"])
            index = _find(spec, "expr", text, expr["time"])
            where = origin.child("promqlExprTests", index) if index is not None else origin
            head = f"{case.name}: {text} at {expr['time']}"
            if expr["err"]:
                yield Failure(where, RULE_FAILED, f"{head}: {expr['err']}")
            else:
                yield Failure(where, RULE_FAILED, f"{head}: the result differs",
                              tuple(_expr_details(lines[1:])))
        else:
            yield Failure(origin, RULE_FAILED, f"{case.name}: promtool: {lines[0]}",
                          tuple(lines[1:]))


def _find(spec: RuleTest, kind: str, name: str, time: str) -> int | None:
    """The index of the entry promtool means: same name or expression, same time."""
    try:
        seconds = parse_duration(time)
    except ValueError:
        return None
    entries = ([(t.alertname, t.eval_time) for t in spec.alert_rule_tests] if kind == "alert"
               else [(t.expr, t.eval_time) for t in spec.promql_expr_tests])
    timed = [i for i, (_, at) in enumerate(entries) if parse_duration(at) == seconds]
    named = [i for i in timed if entries[i][0] == name]
    if named:
        return named[0]
    return timed[0] if len(timed) == 1 else None


def _unquote(quoted: str) -> str:
    """A Go `%q` string (the same escapes as JSON for anything a PromQL query holds)."""
    try:
        text = json.loads(quoted)
    except ValueError:
        return quoted[1:-1]
    return text if isinstance(text, str) else quoted


def _sides(lines: list[str]) -> tuple[list[str], list[str]]:
    """The expected and got parts of an error's lines."""
    got_at = next((i for i, line in enumerate(lines) if line.lstrip().startswith("got:")),
                  len(lines))
    return lines[:got_at], lines[got_at:]


def _alert_failure(lines: list[str]) -> tuple[str, tuple[str, ...]]:
    """What went wrong with an alert test, and the lines that show it."""
    expected_lines, got_lines = _sides(lines)
    expected, got = alert_diff.parse_side(expected_lines), alert_diff.parse_side(got_lines)
    if expected is None or got is None:  # not understood: show promtool's own words
        return "the alerts differ", tuple(lines)
    problem = (f"expected {_count(len(expected))}, got {len(got)}"
               if len(expected) != len(got) else "the alerts differ")
    return problem, tuple(alert_diff.describe(expected, got))


def _count(n: int) -> str:
    return f"{n} alert" if n == 1 else f"{n} alerts"


def _expr_details(lines: list[str]) -> Iterator[str]:
    for line in lines:
        key, _, value = line.strip().partition(":")
        if key in ("exp", "got"):
            value = value.strip()
            shown = "(none)" if value in ("nil", "") else value
            yield f"{'expected:' if key == 'exp' else 'got:':<9} {shown}"
