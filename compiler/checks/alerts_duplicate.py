"""Two alerts with the same name and labels have the same expression.

Alertmanager tells alerts apart by their labels only. Two alerting rules with the same
name and labels but different expressions (in one group or two) send alerts that are
the same alert to Alertmanager: one resolves the other's, and each fires with the
other's annotations. promtool's lint reports this too. Tiered alerts differ by their
`severity` and are not duplicates.

Fix: give one a different name or a label that tells them apart, or merge them.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "alerts/duplicate"
SEVERITY = Severity.WARNING
SUMMARY = "two alerts have the same name and labels but different expressions"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[str, str, Origin]] = {}
    for group, rule in model.alerts():
        labels = tuple(sorted({**(group.labels or {}), **rule.labels}.items()))
        for target in rule.targets:
            key = (target, rule.name, labels)
            if key not in first:
                first[key] = (group.name, rule.expr, rule.origin)
                continue
            where, expr, origin = first[key]
            if origin != rule.origin and expr != rule.expr:
                yield ctx.diag(rule.origin, CODE,
                               f"alert {rule.name!r} has the same labels as the one in group "
                               f"{where!r} but another expression: Alertmanager sees one alert",
                               hint="rename one, add a label that tells them apart, or merge "
                                    "them", severity=SEVERITY)
            break
