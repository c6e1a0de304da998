"""The parsed expression tree, for the live/* checks that look at its nodes (`walk`, from
`shape`). The lint checks read `shape.Shape` instead, computed in the analysis every
expression already gets.
"""

from __future__ import annotations

import functools
from typing import Any

import promql_parser

from converge.compiler.promql.metricsql import _LOCK
from converge.compiler.promql.shape import walk

__all__ = ["parse", "walk"]


@functools.lru_cache(maxsize=16384)
def parse(expr: str) -> Any | None:
    """The tree of a PromQL expression, or None when it does not parse (promql/syntax says
    why). `$threshold` is read as a number."""
    with _LOCK:
        try:
            return promql_parser.parse(expr.replace("$threshold", "1000000000"))
        except Exception:  # noqa: BLE001 - the parser raises plain exceptions on bad input
            return None
