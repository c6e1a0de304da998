"""What the lint checks ask of an expression's tree, read in the same pass that parses it.

The alerts/* and promql/* lint checks look at the shape of each rule's expression
(comparisons, aggregations, regular-expression matchers, counter functions, vector
matching). `analyze` already parses every expression once — in the check worker when
the repository is big — so it reads these facts from that tree too, and the checks get
them with the rest of the analysis: no second parse, and no tree kept (a tree costs about
11 KB; these facts a few dozen bytes, and recur).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import promql_parser

from converge.compiler.promql.values import LabelSet

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_FILTERS = frozenset({"absent", "absent_over_time"})


class Shape(NamedTuple):
    """Facts about one parsed expression (Prometheus grammar)."""

    selects: bool
    """It selects series (a vector selector somewhere): not `vector(1)` or a number."""
    conditional: bool
    """It returns series only when something holds: a filtering comparison (not `bool`)
    or `absent()` / `absent_over_time()` somewhere."""
    aggregations: tuple[str, ...]
    """The aggregation operators it uses (`sum`, `topk`, …), each once, sorted."""
    regexps: tuple[tuple[str, str, bool], ...]
    """Regular-expression matchers as (label, pattern, negated), in order."""
    range_calls: tuple[tuple[str, str, float], ...]
    """(function, metric, window in seconds) for each call on a range (`rate(x[5m])`);
    the metric is "" for a selector without a name."""
    unmatched: tuple[tuple[str, str], ...]
    """(side, label) for each `on (label)` whose left or right side cannot carry it."""


def read(tree: Any, labels_of: Callable[[Any], LabelSet]) -> Shape:
    """The facts of a parsed tree; `labels_of(node)` answers which labels a sub-expression's
    result may carry (for vector matching)."""
    selects = conditional = False
    aggregations: set[str] = set()
    regexps: list[tuple[str, str, bool]] = []
    range_calls: list[tuple[str, str, float]] = []
    unmatched: list[tuple[str, str]] = []
    for node in walk(tree):
        if isinstance(node, promql_parser.VectorSelector):
            selects = True
            regexps.extend(_regexps(node))
        elif isinstance(node, promql_parser.BinaryExpr):
            conditional = conditional or _filters(node)
            unmatched.extend(_unmatched(node, labels_of))
        elif isinstance(node, promql_parser.AggregateExpr):
            aggregations.add(str(node.op).strip())
        elif isinstance(node, promql_parser.Call):
            conditional = conditional or node.func.name in _FILTERS
            argument = node.args[0] if node.args else None
            if isinstance(argument, promql_parser.MatrixSelector):
                range_calls.append((node.func.name, str(argument.vector_selector.name or ""),
                                    argument.range.total_seconds()))
    return Shape(selects, conditional, tuple(sorted(aggregations)), tuple(regexps),
                 tuple(range_calls), tuple(unmatched))


def children(node: Any) -> list[Any]:
    """The direct sub-expressions of a node."""
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.AggregateExpr):
        return [n for n in (node.param, node.expr) if n is not None]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr
                  | promql_parser.SubqueryExpr):
        return [node.expr]
    return []


def walk(node: Any) -> Iterator[Any]:
    """Every node, parents before children, left to right."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def _filters(node: Any) -> bool:
    """A filtering comparison (`>`, `==`, …), not one with `bool`."""
    return (str(node.op).strip() in COMPARISONS
            and not (node.modifier is not None and node.modifier.return_bool))


def _regexps(selector: Any) -> Iterator[tuple[str, str, bool]]:
    groups = [selector.matchers.matchers, *(selector.matchers.or_matchers or [])]
    for matcher in (m for group in groups for m in group):
        if matcher.op in (promql_parser.MatchOp.Re, promql_parser.MatchOp.NotRe):
            yield matcher.name, matcher.value, matcher.op == promql_parser.MatchOp.NotRe


def _unmatched(node: Any, labels_of: Callable[[Any], LabelSet]) -> Iterator[tuple[str, str]]:
    matching = node.modifier.matching if node.modifier is not None else None
    if matching is None or matching.type != promql_parser.LabelModifierType.Include:
        return
    for side, operand in (("left", node.lhs), ("right", node.rhs)):
        kept = labels_of(operand)
        for label in matching.labels:
            if not kept.may_have(label):
                yield side, label
