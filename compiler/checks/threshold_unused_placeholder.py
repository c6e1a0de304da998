"""Tiers and the `$threshold` placeholder go together.

An alert with `thresholds:` must use `$threshold` in its `expr` (otherwise every tier
fires at the same point and only `severity` differs), and `$threshold` may only appear in
an alert that declares `thresholds:` (otherwise it reaches PromQL as an invalid token).

Fix: put `$threshold` where the number goes, e.g. `expr: cpu_usage > $threshold`, or
add the `thresholds:` tiers.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.expand import THRESHOLD
from converge.compiler.model import Model

CODE = "threshold/unused-placeholder"
SEVERITY = Severity.ERROR
SUMMARY = "thresholds without $threshold in expr, or $threshold without thresholds"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[tuple[str, tuple[str | int, ...]]] = set()
    for group in model.groups:
        for rule in group.rules:
            key = (rule.origin.document.path, rule.origin.path)
            if key in seen:
                continue
            seen.add(key)
            placeholder = THRESHOLD in rule.raw_expr
            if rule.tier is not None and not placeholder:
                yield ctx.diag(rule.origin.child("thresholds"), CODE,
                               f"alert {rule.name!r} has thresholds but its expr does not "
                               "use $threshold", key=True,
                               hint="write $threshold where the tier's value goes")
            elif rule.tier is None and placeholder:
                offset = rule.raw_expr.index(THRESHOLD)
                yield ctx.diag_in_value(rule.origin.child("expr"), offset, CODE,
                                        f"{rule.name!r} uses $threshold but declares no "
                                        "thresholds", value=rule.raw_expr,
                                        hint="add thresholds: {warning: …, critical: …}")
