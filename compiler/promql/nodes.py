"""The parsed expression tree, for checks that look at its shape (`converge.compiler.checks`'
alerts/* and promql/* lint checks): parse once per expression, walk every node.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import promql_parser

from converge.compiler.promql.metricsql import _LOCK

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})


@functools.lru_cache(maxsize=16384)
def parse(expr: str) -> Any | None:
    """The tree of a PromQL expression, or None when it does not parse (promql/syntax says
    why). `$threshold` is read as a number."""
    with _LOCK:
        try:
            return promql_parser.parse(expr.replace("$threshold", "1000000000"))
        except Exception:  # noqa: BLE001 - the parser raises plain exceptions on bad input
            return None


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


def operator(node: Any) -> str:
    """A binary expression's operator as written (`>`, `and`, `/`)."""
    return str(node.op).strip()


def is_comparison(node: Any) -> bool:
    """A filtering comparison (`>`, `==`, …), not one with `bool`."""
    return (isinstance(node, promql_parser.BinaryExpr) and operator(node) in COMPARISONS
            and not (node.modifier is not None and node.modifier.return_bool))
