"""An alert's expression compares something.

An alerting rule fires for every series its expression returns. `sum(up)` or
`rate(errors_total[5m])` returns a series all the time (or whenever there is traffic), so
the alert fires for ever, whatever the values: the threshold was forgotten. Expressions
that return series only when something is wrong are fine: a comparison anywhere in the
expression (`> 0.05`, `== 0`), or `absent()` / `absent_over_time()`. An expression that
selects no series at all (`vector(1)`, a Watchdog or dead man's switch) always fires on
purpose and is not reported. (`> bool` returns every series, 0 or 1, so it is not a
comparison here.)

Fix: add the condition (`sum(up) < 3`), or make the rule a recording rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "alerts/comparison"
SEVERITY = Severity.WARNING
SUMMARY = "an alert's expression has no condition, so it always fires"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for rule in model.written_rules(kind="alert"):
        shape = exprs.shape(rule.raw_expr)
        if shape is None or not shape.selects or shape.conditional:
            continue
        yield ctx.diag(rule.origin.child("expr"), CODE,
                       f"alert {rule.name!r} has no comparison: it fires whenever its "
                       "expression returns a series, whatever the value",
                       hint="add a condition such as `> 0.05` or `== 0`", severity=SEVERITY)

