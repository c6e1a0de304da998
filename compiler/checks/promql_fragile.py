"""Alerts do not depend on which series an aggregation happens to pick.

`topk`, `bottomk`, `limitk` and `limit_ratio` return a different set of series from one
evaluation to the next whenever values are close: an alert over them resolves and fires
again as the chosen series change, each time a new notification, and `for` never holds.

Fix: alert on a condition every series can meet (`max by (job) (…) > 0.9`), and use
`topk` in dashboards and annotations (`query`), not in alert expressions.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "promql/fragile"
SEVERITY = Severity.WARNING
SUMMARY = "an alert uses topk, bottomk or limitk, whose series change between evaluations"
FRAGILE = ("topk", "bottomk", "limitk", "limit_ratio")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for rule in model.written_rules(kind="alert"):
        shape = exprs.shape(rule.raw_expr)
        if shape is None:
            continue
        for name in (name for name in shape.aggregations if name in FRAGILE):
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find(name), 0), CODE,
                f"alert {rule.name!r} uses {name}: the series it returns change between "
                "evaluations, so the alert flaps", value=rule.raw_expr,
                hint="alert on a condition every series can meet (max/min by (…) > x)",
                severity=SEVERITY)
