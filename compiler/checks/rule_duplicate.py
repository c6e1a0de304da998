"""Each recording rule is defined once.

Two recording rules with the same name and labels (in one group or in two) write the
same series: evaluated at different times, or with different expressions, they
overwrite each other and the series jumps between two meanings ("duplicate sample for
timestamp" in Prometheus' log when they coincide).

Fix: keep one definition, or tell them apart with a label.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "rule/duplicate"
SEVERITY = Severity.ERROR
SUMMARY = "a recording rule (name and labels) is defined twice"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[str, str, Origin]] = {}
    for group in model.groups:
        for rule in group.rules:
            if rule.kind != "record":
                continue
            labels = tuple(sorted({**(group.labels or {}), **rule.labels}.items()))
            for target in rule.targets:
                key = (target, rule.name, labels)
                if key not in first:
                    first[key] = (group.name, rule.expr, rule.origin)
                    continue
                where, expr, origin = first[key]
                exact = where == group.name and expr == rule.expr  # name/duplicate's
                if origin != rule.origin and not exact:
                    yield ctx.diag(rule.origin, CODE,
                                   f"recording rule {rule.name!r} is already defined, with the "
                                   f"same labels, in group {where!r} ({target})",
                                   hint="keep one definition, or add a label that tells them "
                                        "apart")
                break
