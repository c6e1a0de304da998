"""Cached PromQL analysis: several checks and the expander ask about the same expressions.

Answers can also be handed in ready-made (`prefetched`): `converge.compiler.parallel.check_worker`
computes them in a forked process while the pipeline checks everything else, and they are read the
first time an expression is asked about.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping

from converge.compiler import promql
from converge.compiler.promql.shape import Shape

_PLACEHOLDER = "$threshold"
_STAND_IN = "1000000000"  # as long as the placeholder, so offsets stay the same

Analysis = tuple[promql.ParseProblem | None, promql.LabelSet | None, Shape | None]
"""An expression's first parse problem, the labels its result may carry, and the facts the
lint checks read from its tree (`promql.shape`)."""

_prefetched: dict[tuple[str, str], Analysis] = {}
_pending: list[Callable[[], Mapping[tuple[str, str], Analysis]]] = []
_answered: dict[tuple[str, str], Analysis] | None = None
"""While `recording`: every answer given, for the persistent cache (`compiler.cache`)."""


def parsable(expr: str) -> str:
    """The expression with `$threshold` replaced by a number of the same length."""
    return expr.replace(_PLACEHOLDER, _STAND_IN)


def analysis(expr: str, dialect: str) -> Analysis:
    """What `problem` and `labels` answer, computed (or prefetched) once per expression."""
    while _pending:
        _prefetched.update(_pending.pop()())
    found = _prefetched.get((expr, dialect))
    if found is None:
        found = _computed(expr, dialect)
    if _answered is not None:
        _answered[expr, dialect] = found
    return found


@contextlib.contextmanager
def recording() -> Iterator[dict[tuple[str, str], Analysis]]:
    """Within the block, every answer `analysis` gives is added to the dict yielded."""
    global _answered
    answered: dict[tuple[str, str], Analysis] = {}
    _answered = answered
    try:
        yield answered
    finally:
        _answered = None


@functools.lru_cache(maxsize=65536)
def _computed(expr: str, dialect: str) -> Analysis:
    return promql.analyze(parsable(expr), dialect=dialect)  # type: ignore[arg-type]


@contextlib.contextmanager
def prefetched(answers: Callable[[], Mapping[tuple[str, str], Analysis]]) -> Iterator[None]:
    """Within the block, answer from `answers()` (by expression and dialect) before parsing.

    `answers` is called at the first question, not before: a worker still parsing keeps
    parsing while the caller does other work.
    """
    _pending.append(answers)
    try:
        yield
    finally:
        _pending.clear()
        _prefetched.clear()


def problem(expr: str, dialect: str) -> promql.ParseProblem | None:
    """The first parse problem of an expression in a dialect, or None."""
    return analysis(expr, dialect)[0]


def labels(expr: str) -> promql.LabelSet | None:
    """The labels an expression's result may carry (None: it does not parse)."""
    return analysis(expr, "prometheus")[1]


def shape(expr: str) -> Shape | None:
    """What the lint checks read from an expression's tree (Prometheus' grammar; None: it
    does not parse), from the same analysis as `problem` and `labels`."""
    return analysis(expr, "prometheus")[2]


def dialect_for(targets: tuple[str, ...]) -> str:
    """Prometheus' grammar whenever Prometheus evaluates the rule, MetricsQL otherwise."""
    return "prometheus" if "prometheus" in targets or not targets else "metricsql"
