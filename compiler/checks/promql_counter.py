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

import promql_parser

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.compiler.promql import nodes

CODE = "promql/counter"
SEVERITY = Severity.WARNING
SUMMARY = "rate, irate or increase of a metric that is not a counter by its name"
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.origin in seen:
                continue
            seen.add(rule.origin)
            tree = nodes.parse(rule.raw_expr)
            if tree is None:
                continue
            for node in nodes.walk(tree):
                name = _gauge(node)
                if name is None:
                    continue
                function = node.func.name
                yield ctx.diag_in_value(
                    rule.origin.child("expr"), max(rule.raw_expr.find(name), 0), CODE,
                    f"{function}() of {name}, which is not a counter by its name "
                    f"(no {', '.join(COUNTER_SUFFIXES)} suffix)", value=rule.raw_expr,
                    hint="use deriv() or delta() for a gauge", severity=SEVERITY)


def _gauge(node: object) -> str | None:
    """The metric name a counter function is applied to, when it is not a counter's."""
    if not isinstance(node, promql_parser.Call) or node.func.name not in COUNTER_FUNCTIONS:
        return None
    argument = node.args[0] if node.args else None
    if not isinstance(argument, promql_parser.MatrixSelector):
        return None
    name = argument.vector_selector.name
    if not name or name.endswith(COUNTER_SUFFIXES) or ":" in name:
        return None  # a recording rule's name says nothing about the type
    return str(name)
