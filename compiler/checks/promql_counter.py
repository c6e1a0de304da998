"""`rate`, `irate` and `increase` are applied to counters.

These functions assume a counter: a value that only goes up and resets to zero on
restart. Given a gauge (a queue length, a temperature, memory in use), every decrease
looks like a counter reset and the result is nonsense. Prometheus names counters with a
`_total` suffix (and histograms' and summaries' `_count`, `_sum` and `_bucket` series are
counters too); a metric without one of these suffixes is most likely a gauge. Checked
offline by name only: `converge check --prometheus URL` would know the metric's type from
its metadata (not implemented yet), and pint does.

Fix: use `deriv()` or `delta()` for a gauge; or rename the metric if it is a counter.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "promql/counter"
SEVERITY = Severity.WARNING
SUMMARY = "rate, irate or increase of a metric that is not a counter by its name"
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for rule in model.written_rules():
        shape = exprs.shape(rule.raw_expr)
        if shape is None:
            continue
        for function, name, _ in shape.range_calls:
            if not _gauge(function, name):
                continue
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find(name), 0), CODE,
                f"{function}() of {name}, which is not a counter by its name "
                f"(no {', '.join(COUNTER_SUFFIXES)} suffix)", value=rule.raw_expr,
                hint="use deriv() or delta() for a gauge", severity=SEVERITY)


def _gauge(function: str, name: str) -> bool:
    """A counter function applied to a metric whose name says it is not a counter (a
    recording rule's name, with a colon, says nothing about the type)."""
    return (function in COUNTER_FUNCTIONS and bool(name)
            and not name.endswith(COUNTER_SUFFIXES) and ":" not in name)
