"""With `--prometheus URL`: `rate`, `irate` and `increase` are applied to counters by type.

The offline `promql/counter` goes by names; the server's metadata says what each metric
is. A metric whose metadata type is `gauge` (or `info`, `stateset`, `unknown`) under
`rate()` gives nonsense: every decrease reads as a counter reset. Histograms' and
summaries' series are counters. Without `--prometheus`, this check reports nothing.

Fix: use `deriv()` or `delta()` for a gauge.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs, livefacts
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "live/counter"
SEVERITY = Severity.WARNING
SUMMARY = "with --prometheus: rate, irate or increase of a metric whose type is not a counter"
_COUNTERS = frozenset({"counter", "histogram", "summary", "gaugehistogram"})
_FUNCTIONS = frozenset({"rate", "irate", "increase"})
_SUFFIXES = ("_bucket", "_count", "_sum")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    facts = livefacts.current()
    if facts is None:
        return
    for rule in model.written_rules(target="prometheus"):
        shape = exprs.shape(rule.raw_expr)
        for function, name, _ in shape.range_calls if shape is not None else ():
            kind = _type(facts.types, name) if function in _FUNCTIONS else None
            if kind is None or kind in _COUNTERS:
                continue
            yield ctx.diag_in_value(
                rule.origin.child("expr"), max(rule.raw_expr.find(name), 0), CODE,
                f"{function}() of {name}, whose type on {facts.url} is {kind}",
                value=rule.raw_expr, hint="use deriv() or delta() for a gauge",
                severity=SEVERITY)


def _type(types: dict[str, str], name: str) -> str | None:
    if name in types:
        return types[name]
    for suffix in _SUFFIXES:  # a histogram's or summary's series
        if name.endswith(suffix) and name.removesuffix(suffix) in types:
            return types[name.removesuffix(suffix)]
    return None
