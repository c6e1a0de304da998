"""Rule tests name alerts their group defines.

An `alertRuleTests` entry names an alert of its own rule group, since promtool loads that
group's rule file only. An entry expecting no alerts (`expAlerts: []`) would pass forever
with a misspelt name, so every name is checked. An alert whose `targets` leave out
Prometheus cannot be tested either: promtool only sees the Prometheus rule file.

Fix: correct the name (every tier of a tiered alert has the alert's name), or test the
alert in the group that defines it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, RuleGroup

CODE = "tests/unknown-alert"
SEVERITY = Severity.ERROR
SUMMARY = "a rule test names an alert its group does not define"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for group in model.groups:
        if not group.tests or "prometheus" not in group.targets:
            continue
        tested = {r.name for r in group.rules if r.kind == "alert" and "prometheus" in r.targets}
        defined = {r.name for r in group.rules if r.kind == "alert"} | _written(group)
        for test in group.tests:
            for i, entry in enumerate(test.spec.alert_rule_tests):
                name = entry.alertname
                if name in tested:
                    continue
                origin = test.origin.child("alertRuleTests", i, "alertname")
                if name in defined:
                    yield ctx.diag(origin, CODE, f"alert {name!r} is not evaluated by "
                                   "Prometheus, so promtool cannot test it",
                                   hint="rule tests run against the Prometheus rule file")
                    continue
                close = difflib.get_close_matches(name, sorted(defined), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else (
                    f"its alerts: {', '.join(sorted(tested))}" if tested else "")
                yield ctx.diag(origin, CODE,
                               f"rule group {group.name!r} has no alert {name!r}", hint=hint)


def _written(group: RuleGroup) -> set[str]:
    """Alert names as written, broken rules included (they are reported on their own)."""
    body: Any = group.origin.document.body
    rules = body.get("spec", {}).get("rules") if isinstance(body, dict) else None
    if not isinstance(rules, list):
        return set()
    return {r["alert"] for r in rules if isinstance(r, dict) and isinstance(r.get("alert"), str)}
