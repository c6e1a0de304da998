"""Named changes to the valid repository, one section of `converge diff` each.

Each case starts from `valid_repo.documents()` and changes what its section reports; the
model tests assert on the values, the format tests snapshot every format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import valid_repo

from converge.compiler import pipeline, render
from converge.compiler.diff import Context, Revision, Side

Docs = list[dict[str, Any]]

CONTEXT = Context(Revision("main", "1" * 40), Revision(None, None))


def side(docs: Docs) -> Side:
    """The documents checked and rendered, as one side of a diff."""
    result = pipeline.check([valid_repo.source(docs)])
    assert result.ok and result.model is not None, result.diagnostics
    return Side.of(result.model, render.render(result.model))


def _rules(docs: Docs) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = docs[1]["spec"]["rules"]
    return rules


def threshold_and_for(docs: Docs) -> None:
    _rules(docs)[0]["thresholds"]["critical"] = 90
    _rules(docs)[0]["for"] = "10m"


def labels_and_annotations(docs: Docs) -> None:
    down = _rules(docs)[2]
    down["labels"]["team"] = "sre"
    down["annotations"]["summary"] = "{{ $labels.job }} is down"
    down["annotations"]["runbook_url"] = "https://runbooks.example.com/down"


def expr_multiline(docs: Docs) -> None:
    _rules(docs)[2]["expr"] = "up{job=~\"api|worker\"}\n  == 0"


def rule_added_and_removed(docs: Docs) -> None:
    rules = _rules(docs)
    rules.remove(rules[1])
    rules.append({"alert": "Flapping", "expr": "changes(up[10m]) > 5",
                  "labels": {"severity": "warning"}})


def rule_moved(docs: Docs) -> None:
    down = _rules(docs).pop(2)
    docs.insert(2, {"apiVersion": "converge/v1", "kind": "RuleGroup",
                    "metadata": {"name": "availability"}, "spec": {"rules": [down]}})


def rule_targets(docs: Docs) -> None:
    _rules(docs)[1]["targets"] = ["vmalert"]


def group_settings(docs: Docs) -> None:
    docs[1]["spec"]["interval"] = "2m"


def routing(docs: Docs) -> None:
    routes = docs[4]["spec"]["route"]["routes"]
    routes[0]["continue"] = True
    routes.append({"matchers": ['component="runtime"'], "receiver": "oncall"})


def inhibit_and_time_intervals(docs: Docs) -> None:
    spec = docs[4]["spec"]
    spec["inhibitRules"][0]["equal"] = ["instance", "job"]
    spec["timeIntervals"] = [{"name": "office", "timeIntervals": [
        {"weekdays": ["monday:friday"], "times": [{"startTime": "09:00",
                                                    "endTime": "18:00"}]}]}]
    spec["route"]["routes"][0]["activeTimeIntervals"] = ["office"]


def channel_settings(docs: Docs) -> None:
    docs[2]["spec"]["url"] = "http://127.0.0.1:9001/hook"
    docs[3]["spec"]["secret"] = {"env": "DINGTALK_SECRET_V2"}


def pool_and_healing(docs: Docs) -> None:
    docs[6]["spec"]["replicas"]["max"] = 8
    docs[6]["spec"]["scaling"]["metrics"][0]["target"] = 20
    docs[5]["spec"]["restart"]["maxRestarts"] = 5


def external_labels(docs: Docs) -> None:
    docs[0]["spec"]["externalLabels"]["cluster"] = "staging"
    docs[4]["spec"]["route"]["routes"].insert(0, {"matchers": ['cluster="staging"'],
                                                  "receiver": "ops"})


Mutation = Callable[[Docs], None]

CASES = [
    pytest.param(threshold_and_for, id="threshold-and-for"),
    pytest.param(labels_and_annotations, id="labels-and-annotations"),
    pytest.param(expr_multiline, id="expr-multiline"),
    pytest.param(rule_added_and_removed, id="rule-added-and-removed"),
    pytest.param(rule_moved, id="rule-moved"),
    pytest.param(rule_targets, id="rule-targets"),
    pytest.param(group_settings, id="group-settings"),
    pytest.param(routing, id="routing"),
    pytest.param(inhibit_and_time_intervals, id="inhibit-and-time-intervals"),
    pytest.param(channel_settings, id="channel-settings"),
    pytest.param(pool_and_healing, id="pool-and-healing"),
    pytest.param(external_labels, id="external-labels"),
]


def changed(mutation: Mutation) -> Docs:
    docs = valid_repo.documents()
    mutation(docs)
    return docs
