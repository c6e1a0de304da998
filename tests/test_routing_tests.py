"""Routing assertions: the pure evaluator on compiled models, case by case.

Each case is a small repository (a Project with an external label, a tiered alert,
three channels) plus one route tree and assertions; the results say which assertions
hold, in order.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import yaml

from converge.compiler import pipeline
from converge.compiler.sources import SourceFile
from converge.compiler.testing import routing

BASE: list[dict[str, Any]] = [
    {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
     "spec": {"externalLabels": {"cluster": "prod"}}},
    {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "system"},
     "spec": {"rules": [{"alert": "HighCPU", "expr": "avg by (instance) (cpu) > $threshold",
                         "thresholds": {"warning": 80, "error": 90, "critical": 95}}]}},
    *({"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": name},
       "spec": {"type": "webhook", "url": f"http://127.0.0.1:9000/{name}"}}
      for name in ("ops", "pager", "chat")),
]


def _run(route: dict[str, Any], tests: list[dict[str, Any]],
         inhibit_rules: list[dict[str, Any]] | None = None,
         tiered_inhibition: bool = True) -> list[bool]:
    routing_doc = {"apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
                   "spec": {"route": route, "inhibitRules": inhibit_rules or [],
                            "tieredInhibition": tiered_inhibition, "tests": tests}}
    data = yaml.safe_dump_all([*BASE, routing_doc], sort_keys=False).encode()
    checked = pipeline.check([SourceFile("specs.yaml", data)])
    errors = [d for d in checked.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    assert checked.model is not None
    return [result.passed for result in routing.run(checked.model)]


def _reaches(labels: dict[str, str], receivers: list[str]) -> dict[str, Any]:
    return {"alert": {"labels": labels}, "receivers": receivers}


def _inhibited(target: dict[str, str], source: dict[str, str], *,
               expected: bool = True) -> dict[str, Any]:
    return {"inhibited" if expected else "notInhibited": {"labels": target},
            "while": {"labels": source}}


TREE = {
    "receiver": "ops",
    "routes": [
        {"matchers": ['severity="critical"'], "receiver": "pager", "continue": True},
        {"matchers": ['team=~"core|db"'],
         "routes": [{"matchers": ['severity!="info"'], "receiver": "chat"}]},
        {"matchers": ['severity="critical"'], "receiver": "chat"},
    ],
}
CRIT = {"alertname": "HighCPU", "severity": "critical"}

RECEIVER_CASES = [
    pytest.param({**CRIT}, ["pager", "chat"], True, id="continue-then-next-match"),
    pytest.param({**CRIT}, ["chat", "pager"], False, id="order-is-notification-order"),
    pytest.param({**CRIT}, ["pager"], False, id="exact-set"),
    pytest.param({"severity": "warning"}, ["ops"], True, id="no-match-falls-to-root"),
    pytest.param({"severity": "warning", "team": "db"}, ["chat"], True,
                 id="nested-route-regex-matcher"),
    pytest.param({"severity": "info", "team": "core"}, ["ops"], True,
                 id="nested-without-match-ends-at-parent-inheriting-receiver"),
    pytest.param({"team": "core"}, ["chat"], True, id="negative-matcher-on-absent-label"),
    pytest.param({**CRIT, "team": "core"}, ["pager", "chat"], True,
                 id="first-match-stops-without-continue"),
]


@pytest.mark.parametrize(("labels", "receivers", "holds"), RECEIVER_CASES)
def test_receivers(labels: dict[str, str], receivers: list[str], holds: bool) -> None:
    assert _run(TREE, [_reaches(labels, receivers)]) == [holds]


def test_nested_route_inherits_its_parents_receiver() -> None:
    tree = {"receiver": "ops", "routes": [
        {"matchers": ['team="core"'], "receiver": "chat",
         "routes": [{"matchers": ['severity="critical"']}]}]}
    assert _run(tree, [_reaches({"team": "core", "severity": "critical"}, ["chat"])]) == [True]


def test_external_labels_are_added_and_an_empty_value_removes_one() -> None:
    tree = {"receiver": "ops", "routes": [{"matchers": ['cluster="prod"'], "receiver": "pager"}]}
    assert _run(tree, [_reaches({"alertname": "A"}, ["pager"]),
                       _reaches({"alertname": "A", "cluster": ""}, ["ops"]),
                       _reaches({"alertname": "A", "cluster": "dev"}, ["ops"])]) == [
        True, True, True]


def test_no_receivers_is_an_assertion_too() -> None:
    tree = {"receiver": "ops", "routes": [{"matchers": ['a="b"'], "receiver": "pager"}]}
    assert _run(tree, [_reaches({"a": "b"}, []), _reaches({"a": "c"}, ["ops"])]) == [
        False, True]


RULE = {"sourceMatchers": ['alertname="NodeDown"'], "targetMatchers": ['alertname!="NodeDown"'],
        "equal": ["instance"]}
DOWN = {"alertname": "NodeDown", "instance": "a"}

INHIBIT_CASES = [
    pytest.param(_inhibited({"alertname": "X", "instance": "a"}, DOWN), True,
                 id="equal-label-same"),
    pytest.param(_inhibited({"alertname": "X", "instance": "b"}, DOWN), False,
                 id="equal-label-differs"),
    pytest.param(_inhibited({"alertname": "X", "instance": "b"}, DOWN, expected=False), True,
                 id="not-inhibited-holds"),
    pytest.param(_inhibited({"alertname": "X"}, {"alertname": "NodeDown"}), True,
                 id="equal-label-missing-on-both-counts-as-equal"),
    pytest.param(_inhibited({"alertname": "X"}, DOWN), False,
                 id="equal-label-missing-on-one-side"),
    pytest.param(_inhibited({"alertname": "X", "instance": "a"},
                            {"alertname": "Other", "instance": "a"}), False,
                 id="source-does-not-match"),
    pytest.param(_inhibited(DOWN, DOWN), False, id="target-side-does-not-match"),
]


@pytest.mark.parametrize(("test", "holds"), INHIBIT_CASES)
def test_inhibition(test: dict[str, Any], holds: bool) -> None:
    assert _run({"receiver": "ops"}, [test], [RULE]) == [holds]


def test_an_alert_matching_both_sides_never_mutes_its_own_kind() -> None:
    both = {"sourceMatchers": ['severity="critical"'], "targetMatchers": ['severity=~".+"']}
    crit_a = {"alertname": "A", "severity": "critical"}
    crit_b = {"alertname": "B", "severity": "critical"}
    warn = {"alertname": "C", "severity": "warning"}
    assert _run({"receiver": "ops"}, [_inhibited(crit_a, crit_b), _inhibited(warn, crit_b)],
                [both]) == [False, True]


TIERS = [
    pytest.param("warning", "error", True, id="error-mutes-warning"),
    pytest.param("warning", "critical", True, id="critical-mutes-warning"),
    pytest.param("error", "critical", True, id="critical-mutes-error"),
    pytest.param("critical", "warning", False, id="warning-never-mutes-critical"),
    pytest.param("error", "warning", False, id="warning-never-mutes-error"),
]


@pytest.mark.parametrize(("muted", "firing", "holds"), TIERS)
def test_generated_tier_inhibit_rules(muted: str, firing: str, holds: bool) -> None:
    target = {"alertname": "HighCPU", "severity": muted, "instance": "a"}
    source = {"alertname": "HighCPU", "severity": firing, "instance": "a"}
    assert _run({"receiver": "ops"}, [_inhibited(target, source)]) == [holds]


def test_tier_inhibit_rules_keep_instances_apart_and_can_be_switched_off() -> None:
    warning = {"alertname": "HighCPU", "severity": "warning", "instance": "a"}
    critical = {"alertname": "HighCPU", "severity": "critical", "instance": "b"}
    assert _run({"receiver": "ops"}, [_inhibited(warning, critical, expected=False)]) == [True]
    same = {**critical, "instance": "a"}
    assert _run({"receiver": "ops"}, [_inhibited(warning, same)],
                tiered_inhibition=False) == [False]


def test_failures_point_at_the_assertion_and_say_why() -> None:
    data = yaml.safe_dump_all([*BASE, {
        "apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
        "spec": {"route": TREE, "tests": [
            _reaches(CRIT, ["pager"]),
            {"name": "named", **_inhibited({"alertname": "HighCPU", "severity": "warning"},
                                           {"alertname": "HighCPU", "severity": "info"})},
        ]}}], sort_keys=False).encode()
    checked = pipeline.check([SourceFile("specs.yaml", data)])
    assert checked.model is not None
    first, second = routing.run(checked.model)
    receivers = first.failures[0]
    assert first.name == "routing test 1"
    assert receivers.origin.path == ("spec", "tests", 0, "receivers")
    assert receivers.message.endswith("it also reaches chat")
    assert receivers.details[:2] == ("expected: pager", "got:      pager, chat")
    inhibit = second.failures[0]
    assert second.name == "named" and inhibit.on_key
    assert inhibit.origin.path == ("spec", "tests", 1, "inhibited")
    assert any("sourceMatchers do not match" in line for line in inhibit.details)


FORMS = ("alert", "receivers", "inhibited", "notInhibited", "while")
LEGAL = [{"alert", "receivers"}, {"inhibited", "while"}, {"notInhibited", "while"}]


@pytest.mark.parametrize("keys", [set(c) for n in range(len(FORMS) + 1)
                                  for c in itertools.combinations(FORMS, n)],
                         ids=lambda keys: "+".join(sorted(keys)) or "empty")
def test_only_the_three_forms_are_accepted(keys: set[str]) -> None:
    values = {"receivers": ["ops"]}
    test = {key: values.get(key, {"labels": {"a": "b"}}) for key in keys}
    doc = {"apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
           "spec": {"route": {"receiver": "ops"}, "tests": [test]}}
    data = yaml.safe_dump_all([*BASE, doc], sort_keys=False).encode()
    codes = {d.code for d in pipeline.check([SourceFile("s.yaml", data)]).diagnostics
             if d.severity.value == "error"}
    assert codes == (set() if keys in LEGAL else {"schema/missing"})


def test_a_receiver_listed_twice_is_explained() -> None:
    data = yaml.safe_dump_all([*BASE, {
        "apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
        "spec": {"route": {"receiver": "ops"},
                 "tests": [_reaches({"a": "b"}, ["ops", "ops"])]}}], sort_keys=False).encode()
    checked = pipeline.check([SourceFile("specs.yaml", data)])
    assert checked.model is not None
    [result] = routing.run(checked.model)
    assert result.failures[0].message.endswith("each is notified once")
