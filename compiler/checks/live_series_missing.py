"""With `--prometheus URL`: every metric an expression selects has series on that server.

A selector of a metric the server has never seen (a typo, a renamed metric, an exporter
not deployed) returns nothing: an alert on it never fires, a recording rule records
nothing. Offline this cannot be known; `converge check --prometheus URL` asks the server
for the metric names it has. Metrics recorded by this repository's own recording rules
are not asked about (they may not be deployed yet). Without `--prometheus`, this check
reports nothing.

Fix: correct the metric name, or deploy what exports it; `absent()` alerts on it
deliberately.
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser

from converge.compiler import livefacts
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model
from converge.compiler.promql import nodes

CODE = "live/series-missing"
SEVERITY = Severity.WARNING
SUMMARY = "with --prometheus: a selected metric has no series on the server"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    facts = livefacts.current()
    if facts is None:
        return
    recorded = {r.name for g in model.groups for r in g.rules if r.kind == "record"}
    for rule in model.written_rules(target="prometheus"):
        tree = nodes.parse(rule.raw_expr)
        if tree is None:
            continue
        calls = [n for n in nodes.walk(tree) if isinstance(n, promql_parser.Call)
                 and n.func.name in ("absent", "absent_over_time")]
        absent = {id(inner) for call in calls for inner in nodes.walk(call)}
        reported: set[str] = set()
        for node in nodes.walk(tree):
            name = node.name if isinstance(node, promql_parser.VectorSelector) else None
            if (not name or name in recorded or name in facts.names or name in reported
                    or id(node) in absent):
                continue
            reported.add(name)
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find(name), 0), CODE,
                f"{name} has no series on {facts.url}", value=rule.raw_expr,
                hint="correct the name, or deploy what exports it", severity=SEVERITY)
