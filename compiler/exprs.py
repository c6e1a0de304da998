"""Cached PromQL analysis: several checks and the expander ask about the same expressions."""

from __future__ import annotations

import functools

from compiler import promql

_PLACEHOLDER = "$threshold"
_STAND_IN = "1000000000"  # as long as the placeholder, so offsets stay the same


def parsable(expr: str) -> str:
    """The expression with `$threshold` replaced by a number of the same length."""
    return expr.replace(_PLACEHOLDER, _STAND_IN)


@functools.lru_cache(maxsize=65536)
def _analysis(expr: str, dialect: str) -> tuple[promql.ParseProblem | None,
                                                 promql.LabelSet | None]:
    return promql.analyze(parsable(expr), dialect=dialect)  # type: ignore[arg-type]


def problem(expr: str, dialect: str) -> promql.ParseProblem | None:
    """The first parse problem of an expression in a dialect, or None."""
    return _analysis(expr, dialect)[0]


def labels(expr: str) -> promql.LabelSet | None:
    """The labels an expression's result may carry (None: it does not parse)."""
    return _analysis(expr, "prometheus")[1]


def dialect_for(targets: tuple[str, ...]) -> str:
    """Prometheus' grammar whenever Prometheus evaluates the rule, MetricsQL otherwise."""
    return "prometheus" if "prometheus" in targets or not targets else "metricsql"
