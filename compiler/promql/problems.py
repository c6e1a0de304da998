"""`parse_problem`: why an expression does not parse, and where, in either dialect.

This is where the parser is called for a verdict, under the shared `_LOCK`, and where
its messages are reworded for the dialect (a MetricsQL function used with Prometheus).
"""

from __future__ import annotations

import re

import promql_parser

from converge.compiler.promql.locate import _GENERIC, _locate
from converge.compiler.promql.metricsql import (
    _LENIENT,
    _LOCK,
    _METRICSQL_AGGREGATIONS,
    METRICSQL_FUNCTIONS,
    _metricsql_functions,
    _metricsql_names,
    _rewrite_aggregations,
)
from converge.compiler.promql.tokens import _lex
from converge.compiler.promql.values import ParseProblem, _Dialect


def _error_of(text: str) -> str | None:
    """The parser's message for `text`, or None if it parses."""
    try:
        promql_parser.parse(text)
    except ValueError as err:
        return str(err)
    return None


def _rephrase(problem: ParseProblem, dialect: _Dialect) -> ParseProblem:
    match = re.match(r"unknown function with name '([^']*)'", problem.message)
    if match is None:
        return problem
    name = match[1]
    if dialect == "prometheus" and name in METRICSQL_FUNCTIONS:
        return ParseProblem(
            f'unknown function "{name}" (a MetricsQL function: vmalert only)', problem.offset
        )
    return ParseProblem(f'unknown function "{name}"', problem.offset)


def _prometheus_problem(expr: str, message: str) -> ParseProblem:
    lexed = _lex(expr)
    if message == _GENERIC:
        for i in _metricsql_names(lexed):
            name = lexed.tokens[i].text
            if name.lower() in _METRICSQL_AGGREGATIONS:
                return ParseProblem(
                    f'unknown aggregation "{name}" (a MetricsQL function: vmalert only)',
                    lexed.tokens[i].start,
                )
    return _rephrase(_locate(lexed, message, _error_of), "prometheus")


def _metricsql_problem(expr: str, message: str) -> ParseProblem | None:
    if _LENIENT.match(message):
        return None
    lexed = _lex(expr)
    if not _metricsql_names(lexed):
        return _rephrase(_locate(lexed, message, _error_of), "metricsql")
    text, _ = _rewrite_aggregations(lexed)
    with _metricsql_functions():
        rewritten = _error_of(text)
        if rewritten is None or _LENIENT.match(rewritten):
            return None
        return _rephrase(_locate(_lex(text), rewritten, _error_of), "metricsql")


def parse_problem(expr: str, *, dialect: _Dialect = "prometheus") -> ParseProblem | None:
    """Why `expr` does not parse, and where; None if it parses.

    Args:
        expr: The PromQL (or MetricsQL) expression.
        dialect: "prometheus", or "metricsql" for vmalert, which also accepts the
            functions in `METRICSQL_FUNCTIONS` and is lenient about argument types.

    Returns:
        The parser's message (reworded where it is vague) and the 0-based character
        offset of the problem, always within `0..len(expr)`; or None.
    """
    with _LOCK:
        try:
            promql_parser.parse(expr)
        except ValueError as err:
            message = str(err)
        else:
            return None
        if dialect == "metricsql":
            problem = _metricsql_problem(expr, message)
        else:
            problem = _prometheus_problem(expr, message)
    if problem is None:
        return None
    return ParseProblem(problem.message, max(0, min(problem.offset, len(expr))))
