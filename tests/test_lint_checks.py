"""The pint-class lint checks (issue 20): one valid rule, one mutation per case.

Each case names the code it must raise, or `None` when the rule must pass every lint
check; the positions are in tests/scripts/lint.txt.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from converge.compiler import pipeline
from converge.compiler.sources import SourceFile

LINT = {"alerts/comparison", "alerts/for", "alerts/duplicate", "alerts/external-labels",
        "rule/duplicate", "promql/fragile", "promql/regexp", "promql/counter",
        "promql/vector-matching"}


def lint(*rules: dict[str, Any], extra_group: list[dict[str, Any]] | None = None) -> list[str]:
    documents: list[dict[str, Any]] = [
        {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
         "spec": {"externalLabels": {"cluster": "prod"},
                  "targets": {"alertmanager": {"enabled": False}}}},
        {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "g"},
         "spec": {"rules": list(rules)}}]
    if extra_group:
        documents.append({"apiVersion": "converge/v1", "kind": "RuleGroup",
                          "metadata": {"name": "h"}, "spec": {"rules": extra_group}})
    text = yaml.safe_dump_all(documents, sort_keys=False).encode("utf-8")
    result = pipeline.check([SourceFile("rules.yaml", text)])
    return sorted(d.code for d in result.diagnostics if d.code in LINT)


VALID = {"alert": "Down", "expr": 'up{job="api"} == 0', "for": "5m"}


def rule(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


CASES = [
    pytest.param([VALID], [], id="valid"),
    pytest.param([rule(expr="sum(up)")], ["alerts/comparison"], id="no-comparison"),
    pytest.param([rule(expr="sum(up) > bool 1")], ["alerts/comparison"], id="bool-compare"),
    pytest.param([rule(expr='absent(up{job="api"})')], [], id="absent-is-a-condition"),
    pytest.param([rule(expr="vector(1)")], [], id="watchdog"),
    pytest.param([rule(**{"for": "0s"})], ["alerts/for"], id="for-zero"),
    pytest.param([rule(keepFiringFor="0s")], ["alerts/for"], id="keep-firing-for-zero"),
    pytest.param([rule(keepFiringFor="3h")], ["alerts/for"], id="keep-firing-for-long"),
    pytest.param([rule(keepFiringFor="10m")], [], id="keep-firing-for-fine"),
    pytest.param([rule(expr="topk(1, up) > 0")], ["promql/fragile"], id="topk"),
    pytest.param([rule(expr="bottomk(1, up) < 1")], ["promql/fragile"], id="bottomk"),
    pytest.param([rule(expr='up{job=~"api"} == 0')], ["promql/regexp"], id="literal-regexp"),
    pytest.param([rule(expr='up{job!~"^api$"} == 0')], ["promql/regexp"], id="anchored"),
    pytest.param([rule(expr='up{job=~"api|web"} == 0')], [], id="real-regexp"),
    pytest.param([rule(expr="rate(queue_length[5m]) > 1")], ["promql/counter"], id="gauge-rate"),
    pytest.param([rule(expr="increase(errors_total[5m]) > 1")], [], id="counter-increase"),
    pytest.param([rule(expr="rate(job:errors:rate5m[5m]) > 1")], [], id="recorded-name"),
    pytest.param([rule(annotations={"summary": "{{ $externalLabels.region }}"})],
                 ["alerts/external-labels"], id="undeclared-external-label"),
    pytest.param([rule(annotations={"summary": "{{ $externalLabels.cluster }}"})], [],
                 id="declared-external-label"),
    pytest.param([rule(expr="sum by (job) (a_total) / on (instance) b_total > 1")],
                 ["promql/vector-matching"], id="matching-on-removed-label"),
    pytest.param([rule(expr="sum by (job) (a_total) / on (job) sum by (job) (b_total) > 1")],
                 [], id="matching-on-kept-label"),
    pytest.param([VALID, rule(expr='up{job="api"} < 1')], ["alerts/duplicate"],
                 id="same-alert-other-expr"),
    pytest.param([VALID, rule(labels={"team": "x"}, expr="up < 1")], [],
                 id="same-alert-other-labels"),
    pytest.param([{"record": "job:up:sum", "expr": "sum by (job) (up)"},
                  {"record": "job:up:sum", "expr": "count by (job) (up)"}],
                 ["rule/duplicate"], id="record-twice"),
]


@pytest.mark.parametrize(("rules", "codes"), CASES)
def test_lint_checks(rules: list[dict[str, Any]], codes: list[str]) -> None:
    assert lint(*rules) == codes


def test_a_recording_rule_defined_in_two_groups() -> None:
    record = {"record": "job:up:sum", "expr": "sum by (job) (up)"}
    assert lint(record, extra_group=[record]) == ["rule/duplicate"]


@pytest.mark.parametrize(("expr", "hint"), [
    pytest.param("sum by (job) (up) == 0", "add 'instance' to the aggregation's `by (…)`",
                 id="by"),
    pytest.param('absent(up{job="api"})', "no series of this expression carries 'instance'",
                 id="absent"),
    pytest.param("vector(1)", "no series of this expression carries 'instance'", id="vector"),
])
def test_the_unknown_label_hint_names_by_only_where_there_is_one(expr: str, hint: str) -> None:
    documents = [{"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "g"},
                  "spec": {"rules": [rule(expr=expr, annotations={
                      "summary": "{{ $labels.instance }}"})]}}]
    text = yaml.safe_dump_all(documents).encode("utf-8")
    found = [d for d in pipeline.check([SourceFile("r.yaml", text)]).diagnostics
             if d.code == "template/unknown-label"]
    assert len(found) == 1 and hint in found[0].hint, found


def test_required_labels_and_annotations_by_policy() -> None:
    documents = [
        {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
         "spec": {"lint": {"requiredLabels": {"severity": ["critical", "warning"]},
                           "requiredAnnotations": ["runbook_url"]},
                  "defaults": {"annotations": {"runbook_url": "https://runbooks/x"}}}},
        {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "g"},
         "spec": {"rules": [
             rule(labels={"severity": "critical"}),
             rule(alert="Tiered", expr="up > $threshold", thresholds={"warning": 1}),
             rule(alert="Bad", labels={"severity": "page"})]}}]
    text = yaml.safe_dump_all(documents).encode("utf-8")
    found = [d.message for d in pipeline.check([SourceFile("r.yaml", text)]).diagnostics
             if d.code == "alerts/policy"]
    assert found == ["alert 'Bad' has severity='page', not one of critical, warning, which "
                     "the Project requires (lint)"]


SUPPRESSED = """\
apiVersion: converge/v1
kind: RuleGroup
metadata: {name: g}
spec:
  rules:
    # converge:disable alerts/comparison, promql/fragile
    - alert: A
      expr: topk(1, sum(up))
      labels: {team: "# converge:disable not-a-comment"}
    - alert: B
      expr: sum(up)  # converge:disable all
    - alert: C
      expr: sum(up)
"""


def test_suppression_comments_cover_the_rule_they_precede_or_end() -> None:
    result = pipeline.check([SourceFile("r.yaml", SUPPRESSED.encode("utf-8"))])
    assert [(d.code, d.span.line) for d in result.diagnostics if d.code in LINT] == [
        ("alerts/comparison", 13)]
    assert sorted((d.code, d.span.line) for d in result.suppressed) == [
        ("alerts/comparison", 8), ("alerts/comparison", 11), ("promql/fragile", 8)]


def test_syntax_errors_cannot_be_suppressed() -> None:
    text = "# converge:disable-file all\n" + SUPPRESSED.replace("sum(up)  #", "sum(up  #")
    result = pipeline.check([SourceFile("r.yaml", text.encode("utf-8"))])
    assert "promql/syntax" not in {d.code for d in result.suppressed}
