"""Rule unit tests → promtool test files, one per test case (pure: text in memory).

Each case gets its own file, so whatever promtool says about a file is about one case.
The file runs against the group's rendered Prometheus rule file (the very bytes `converge
compile` writes), evaluated at the group's interval; input samples come every `interval`
(the group's by default) and `$externalLabels` are the Project's unless the case sets
its own.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any

import yaml

from converge.compiler.model import Model, RuleGroup, SpecTest
from converge.compiler.render import rules as render_rules
from converge.compiler.testing.results import title
from converge.specs.rule_tests import RuleTest

TESTS_DIR = "tests"
_PROMTOOL_INTERVAL = "1m"
"""promtool's own default evaluation interval, for groups that set none."""


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """One rule test case and the promtool test file made from it."""

    group: RuleGroup
    test: SpecTest
    name: str
    file: str
    """The test file's path, relative to the directory the files are written to."""
    text: str


def cases(model: Model) -> list[Case]:
    """Every rule test case of the model, in group order."""
    found = []
    for group in model.groups:
        rule_file = _rule_file(group)
        for index, test in enumerate(group.tests):
            file = f"{TESTS_DIR}/{group.name}/{index + 1}.yaml"
            relative = posixpath.relpath(rule_file, posixpath.dirname(file))
            found.append(Case(group, test, title(test.origin, test.spec.name, group.name),
                              file, _dump(promtool_test(group, test.spec, relative, model))))
    return found


def files(model: Model, found: list[Case]) -> dict[str, str]:
    """The files to write: each case's test file and the rule files they load."""
    groups = {case.group.name for case in found}
    tested = dataclasses.replace(model, groups=tuple(g for g in model.groups if g.name in groups))
    written = {path: text for path, text in render_rules.render(tested, "prometheus").items()}
    written.update((case.file, case.text) for case in found)
    return written


def _rule_file(group: RuleGroup) -> str:
    return f"prometheus/rules/{group.name}.yaml"


def promtool_test(group: RuleGroup, spec: RuleTest, rule_file: str,
                  model: Model) -> dict[str, Any]:
    """promtool's test document for one case (snake_case keys, one test group)."""
    external = spec.external_labels
    case: dict[str, Any] = {
        "interval": spec.interval or group.interval or _PROMTOOL_INTERVAL,
        "external_labels": dict(model.project.external_labels if external is None
                                else external),
        "input_series": [{"series": s.series, "values": s.values} for s in spec.input_series],
        "alert_rule_test": [{
            "eval_time": t.eval_time,
            "alertname": t.alertname,
            "exp_alerts": [{"exp_labels": dict(a.exp_labels),
                            "exp_annotations": dict(a.exp_annotations)} for a in t.exp_alerts],
        } for t in spec.alert_rule_tests],
        "promql_expr_test": [{
            "expr": t.expr,
            "eval_time": t.eval_time,
            "exp_samples": [{"labels": s.labels, "value": s.value} for s in t.exp_samples],
        } for t in spec.promql_expr_tests],
    }
    return {"rule_files": [rule_file],
            "evaluation_interval": group.interval or _PROMTOOL_INTERVAL, "tests": [case]}


def _dump(document: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=2**16)
    return text
