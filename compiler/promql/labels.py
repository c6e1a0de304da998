"""`output_labels`: which labels an expression's result series can carry.

So that an alert annotation using `$labels.x` after `sum by (y) (...)` can be flagged
before it renders empty. The expression's AST is walked node by node; `analyze` answers
both this and `parse_problem` while parsing a valid expression only once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import promql_parser

from converge.compiler.promql import shape
from converge.compiler.promql.metricsql import (
    _LOCK,
    _METRICSQL_AGGREGATIONS,
    _Aggregation,
    _metricsql_functions,
    _metricsql_names,
    _rewrite_aggregations,
)
from converge.compiler.promql.problems import parse_problem
from converge.compiler.promql.relabel import (
    _RELABELLING,
    _absent_labels,
    _metricsql_aggregation,
    _named,
    _relabel,
    _strings,
)
from converge.compiler.promql.tokens import _lex
from converge.compiler.promql.values import (
    _ANY,
    _EMPTY,
    LabelSet,
    ParseProblem,
    _add,
    _Dialect,
    _drop,
    _restrict,
)

# (is the value a scalar or string, the labels its series may carry)
_Shape = tuple[bool, LabelSet]


def _call(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    function, args = node.func, node.args
    name: str = function.name
    shapes = [_analyze(arg, aggregations) for arg in args]
    if function.return_type == promql_parser.ValueType.Scalar:
        return True, _EMPTY
    if name in ("absent", "absent_over_time"):
        return False, _absent_labels(args[0]) if args else _EMPTY
    if name == "info":
        return False, _ANY  # adds the labels of info metrics
    vectors = [labels for scalar, labels in shapes if not scalar]
    labels = functools.reduce(LabelSet.union, vectors) if vectors else _EMPTY
    if name in _METRICSQL_AGGREGATIONS:
        return False, _metricsql_aggregation(name, _EMPTY, labels, _strings(args))
    if name in _RELABELLING:
        return False, _relabel(name, labels, _strings(args))
    return False, labels


def _grouping(modifier: Any, inner: LabelSet) -> LabelSet:
    if modifier is None:
        return _EMPTY
    if modifier.type == promql_parser.AggModifierType.By:
        return _restrict(inner, modifier.labels)
    return _drop(inner, modifier.labels)


def _aggregate(node: Any, aggregations: Iterator[_Aggregation] | None) -> LabelSet:
    written = _Aggregation(str(node.op).lower(), ())
    if aggregations is not None:
        written = next(aggregations, written)
    if node.param is not None:
        _analyze(node.param, aggregations)
    _, inner = _analyze(node.expr, aggregations)
    grouped = _grouping(node.modifier, inner)
    if written.name == "count_values":
        return _add(grouped, _named(_strings([node.param]), slice(0, 1)))
    return _metricsql_aggregation(written.name, grouped, inner, list(written.strings))


def _binary(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    left_scalar, left = _analyze(node.lhs, aggregations)
    right_scalar, right = _analyze(node.rhs, aggregations)
    if left_scalar or right_scalar:
        return left_scalar and right_scalar, right if left_scalar else left
    operator = str(node.op).lower()
    modifier = node.modifier
    if operator == "or":
        return False, left.union(right)
    if operator in ("and", "unless") or modifier is None:
        return False, left
    cardinality = promql_parser.VectorMatchCardinality
    if modifier.card == cardinality.ManyToOne:
        return False, _add(left, modifier.group_labels or [])
    if modifier.card == cardinality.OneToMany:
        return False, _add(right, modifier.group_labels or [])
    matching = modifier.matching
    if matching is None:
        return False, left
    if matching.type == promql_parser.LabelModifierType.Include:
        return False, _restrict(left, matching.labels)
    return False, _drop(left, matching.labels)


def _inner(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    return _analyze(node.expr, aggregations)


_ANALYZERS: dict[type, Callable[[Any, Iterator[_Aggregation] | None], _Shape]] = {
    promql_parser.NumberLiteral: lambda node, aggregations: (True, _EMPTY),
    promql_parser.StringLiteral: lambda node, aggregations: (True, _EMPTY),
    promql_parser.VectorSelector: lambda node, aggregations: (False, _ANY),
    promql_parser.MatrixSelector: lambda node, aggregations: (False, _ANY),
    promql_parser.ParenExpr: _inner,
    promql_parser.UnaryExpr: _inner,
    promql_parser.SubqueryExpr: _inner,
    promql_parser.AggregateExpr: lambda node, aggregations: (False, _aggregate(node, aggregations)),
    promql_parser.BinaryExpr: _binary,
    promql_parser.Call: _call,
}


def _analyze(node: Any, aggregations: Iterator[_Aggregation] | None) -> _Shape:
    """The shape of `node`; `aggregations` lists its aggregations as written, if renamed."""
    analyzer = _ANALYZERS.get(type(node))
    return analyzer(node, aggregations) if analyzer is not None else (False, _ANY)


def _parse_tree(expr: str, dialect: _Dialect) -> tuple[Any, list[_Aggregation] | None] | None:
    """The AST of `expr`, and the original aggregation names if they had to be renamed."""
    try:
        return promql_parser.parse(expr), None
    except ValueError:
        if dialect != "metricsql":
            return None
    lexed = _lex(expr)
    if not _metricsql_names(lexed):
        return None
    text, names = _rewrite_aggregations(lexed)
    with _metricsql_functions():
        try:
            return promql_parser.parse(text), names
        except ValueError:
            return None


def output_labels(expr: str, *, dialect: _Dialect = "prometheus") -> LabelSet | None:
    """Which labels the series `expr` returns can carry.

    Args:
        expr: The PromQL (or MetricsQL) expression.
        dialect: As for `parse_problem`.

    Returns:
        The labels (an over-approximation: a label it allows may still be absent), or
        None if `expr` does not parse (in the metricsql dialect, also when it is only
        accepted leniently, as `rate(x)` is).
    """
    with _LOCK:
        parsed = _parse_tree(expr, dialect)
    if parsed is None:
        return None
    tree, names = parsed
    scalar, labels = _analyze(tree, iter(names) if names is not None else None)
    return _EMPTY if scalar else labels


def analyze(expr: str, *, dialect: _Dialect = "prometheus") -> tuple[
        ParseProblem | None, LabelSet | None, shape.Shape | None]:
    """`parse_problem`, `output_labels` and the lint checks' `shape.Shape` at once, parsing a
    valid expression only once. The shape is None unless Prometheus' grammar parses it."""
    with _LOCK:
        try:
            tree = promql_parser.parse(expr)
        except ValueError:
            tree = None
    if tree is None:
        return (parse_problem(expr, dialect=dialect), output_labels(expr, dialect=dialect),
                None)
    return None, _labels_of(tree), shape.read(tree, _labels_of)


def _labels_of(node: Any) -> LabelSet:
    scalar, labels = _analyze(node, None)
    return _EMPTY if scalar else labels
