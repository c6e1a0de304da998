"""Inhibit rules only name labels some alert carries.

Alertmanager treats a label missing on both alerts as equal, so an `equal:` label that no
alert carries makes the rule mute far more than intended; a matcher on a label no alert
carries makes the rule never apply. A label counts as carried when an alert sets it, the
project's external labels include it, or an alert's expression may keep it.

Fix: correct the label name, or add the label to the alerts.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.matchers import Matcher
from converge.compiler.model import Model

CODE = "inhibit/unknown-label"
SEVERITY = Severity.WARNING
SUMMARY = "an inhibit rule uses a label no alert carries"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None or not model.groups or model.broken.get("RuleGroup"):
        return
    static = {"alertname", *model.project.external_labels}
    label_sets = []
    for _, rule in model.alerts():
        static.update(rule.labels)
        kept = exprs.labels(rule.raw_expr)
        if kept is None or kept.any:
            return  # an expression may keep any label: nothing can be ruled out
        label_sets.append(kept)

    def carried(name: str) -> bool:
        return name in static or any(s.may_have(name) for s in label_sets)

    for index, inhibit in enumerate(model.routing.inhibit_rules):
        if inhibit.generated_for is not None:
            continue
        for i, name in enumerate(inhibit.equal):
            if not carried(name):
                yield ctx.diag(inhibit.origin.child("equal", i), CODE,
                               f"no alert carries label {name!r}: as a label missing on both "
                               "sides counts as equal, this rule mutes across all of them",
                               severity=SEVERITY)
        for field, matchers in (("sourceMatchers", inhibit.source_matchers),
                                ("targetMatchers", inhibit.target_matchers)):
            for i, matcher in enumerate(matchers):
                if isinstance(matcher, Matcher) and not carried(matcher.name) and (
                        matcher.matches("") is False):
                    yield ctx.diag(inhibit.origin.child(field, i), CODE,
                                   f"no alert carries label {matcher.name!r}, so inhibit rule "
                                   f"{index + 1} never applies", severity=SEVERITY)
