"""Issue 20: `converge diff` reads well. Alerts of the same name are told apart, a changed
expression shows the lines that changed, new warnings are listed, and the routing table
says which receivers an alert *can* reach."""

from __future__ import annotations

from typing import Any

import valid_repo
from diff_cases import CONTEXT, side

from converge.compiler import pipeline
from converge.compiler.diff import compute, markdown, text
from converge.compiler.diff.model import new_warnings

LONG = """\
sum by (job) (
  rate(errors_total[5m])
)
/
sum by (job) (
  rate(requests_total[5m])
)
> 0.05
"""


def _documents(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    docs = valid_repo.documents()
    docs[1]["spec"]["rules"] = list(rules)
    return docs


def _tiers(critical_for: str) -> list[dict[str, Any]]:
    return [{"alert": "Latency", "expr": "x_seconds > 1", "for": "5m",
             "labels": {"severity": "warning"}},
            {"alert": "Latency", "expr": "x_seconds > 2", "for": critical_for,
             "labels": {"severity": "critical"}}]


def test_alerts_of_the_same_name_are_told_apart() -> None:
    found = compute(side(_documents(*_tiers("5m"))), side(_documents(*_tiers("10m"))))
    assert [c.title for c in found.rules] == ['Latency {severity="critical"}']
    assert 'Latency {severity="critical"} in system' in text.render(found, CONTEXT)
    assert '`Latency` `{severity="critical"}`' in markdown.render(found, CONTEXT)


def test_an_expression_change_shows_the_lines_that_changed() -> None:
    rule = {"alert": "Errors", "expr": LONG, "for": "5m"}
    after = {**rule, "expr": LONG.replace("requests_total", "http_requests_total")}
    found = compute(side(_documents(rule)), side(_documents(after)))
    shown = text.render(found, CONTEXT)
    rules = shown.split("Rules:")[1].split("Rendered files:")[0]
    assert rules.splitlines()[2:] == [
        "      expr:", "        …", "          sum by (job) (",
        "        -   rate(requests_total[5m])", "        +   rate(http_requests_total[5m])",
        "          )", "        …", ""]
    assert "@@ … @@" in markdown.render(found, CONTEXT)


def test_new_warnings_are_listed() -> None:
    before = _documents({"alert": "Down", "expr": "up == 0"})
    after = _documents({"alert": "Down", "expr": "up == 0"},
                       {"alert": "Busiest", "expr": "topk(1, up) > 0"})
    checked = [pipeline.check([valid_repo.source(d)]) for d in (before, after)]
    warnings = new_warnings(checked[0].diagnostics, checked[1].diagnostics)
    assert [d.code for d in warnings] == ["promql/fragile"]
    found = compute(side(before), side(after), warnings=warnings)
    assert "New warnings:" in text.render(found, CONTEXT)
    assert "warning[`promql/fragile`]" in markdown.render(found, CONTEXT)


def test_the_routing_table_says_can_reach() -> None:
    docs = valid_repo.documents()
    docs[1]["spec"]["rules"][2]["labels"]["severity"] = "warning"
    found = compute(side(valid_repo.documents()), side(docs))
    assert "| alert | group | can reach before | can reach after |" in markdown.render(
        found, CONTEXT)
    assert "Routing impact (the receivers each alert can reach):" in text.render(found,
                                                                                 CONTEXT)
