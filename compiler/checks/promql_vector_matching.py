"""Vector matching uses labels both sides still have.

`a / on (instance) b` pairs series by `instance`; when an aggregation on one side removed
it (`sum by (job) (…) / on (instance) …`), no series has it there, every pair has an
empty `instance`, and the result is empty or, with `group_left`, wrong. The same holds
for labels named in `group_left (…)` / `group_right (…)`, which are copied from the
other side.

Fix: keep the label in the aggregation (`by (job, instance)`), or match on labels both
sides carry.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "promql/vector-matching"
SEVERITY = Severity.WARNING
SUMMARY = "vector matching on a label an aggregation removed"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for rule in model.written_rules(target="prometheus"):
        shape = exprs.shape(rule.raw_expr)
        if shape is None:
            continue
        for side, label in shape.unmatched:
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find(label), 0), CODE,
                f"matching on {label!r}, which the {side} side no longer has (an "
                "aggregation removed it)", value=rule.raw_expr, severity=SEVERITY,
                hint=f"keep {label!r} in that side's aggregation, or match on "
                     "labels both sides carry")
