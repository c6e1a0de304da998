"""With `--prometheus URL`: range windows hold at least two scrapes.

`rate(x[1m])` needs two samples in its window; with a 30 s scrape interval a `[1m]`
window often holds only one (a scrape late, a jittered start) and the rate is empty then:
the alert resolves and fires again. Prometheus' advice is a window of at least four
scrape intervals; fewer than two is reported. The scrape interval is the server's
longest among its targets' (`/api/v1/targets`), the one a series may have. Without
`--prometheus`, this check reports nothing.

Fix: widen the window (`[2m]` or more for a 30 s scrape interval).
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs, livefacts
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "live/rate-window"
SEVERITY = Severity.WARNING
SUMMARY = "with --prometheus: a rate window shorter than two scrape intervals"
_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "deriv", "idelta"})


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    facts = livefacts.current()
    interval = facts.longest_scrape_interval if facts is not None else None
    if facts is None or interval is None:
        return
    for rule in model.written_rules(target="prometheus"):
        shape = exprs.shape(rule.raw_expr)
        for function, _, window in shape.range_calls if shape is not None else ():
            if function not in _FUNCTIONS or window >= 2 * interval:
                continue
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find("["), 0), CODE,
                f"{function}() over {window:g}s, under two scrape intervals "
                f"({interval:g}s on {facts.url}): often one sample, no result",
                value=rule.raw_expr, hint=f"use a window of at least {4 * interval:g}s",
                severity=SEVERITY)
