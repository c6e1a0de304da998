"""What functions and MetricsQL aggregations do to the labels of the series they return.

The tables of label-adding and label-dropping functions (`label_replace`, `rollup`,
`histogram_quantile`, ...) and their effect on a `LabelSet`; the AST walk in `labels`
consults them for every call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import promql_parser

from converge.compiler.promql.metricsql import _PRESERVING_AGGREGATIONS, _SIGNATURES
from converge.compiler.promql.values import _EMPTY, LabelSet, _add, _drop, _restrict

# Functions adding the label named by some of their string arguments.
_ADDS_LABEL_ARGUMENTS: dict[str, slice] = {
    "label_replace": slice(1, 2),
    "label_join": slice(1, 2),
    "label_set": slice(1, None, 2),
    "label_copy": slice(2, None, 2),
    "label_move": slice(2, None, 2),
    "count_values_over_time": slice(0, 1),
    "quantiles_over_time": slice(0, 1),
    # MetricsQL: ("phi", 0.5, ..., q); Prometheus (experimental): (q, "phi", 0.5, ...)
    "histogram_quantiles": slice(0, 2),
}
_REMOVES_LABEL_ARGUMENTS: dict[str, slice] = {
    "label_del": slice(1, None),
    "label_move": slice(1, None, 2),
}
_ADDS_LABELS: dict[str, frozenset[str]] = {
    "histogram_over_time": frozenset({"vmrange"}),
    "prometheus_buckets": frozenset({"le"}),
    "aggr_over_time": frozenset({"rollup"}),
}
_DROPS_LABELS: dict[str, frozenset[str]] = {
    "histogram_quantile": frozenset({"le"}),
    "histogram_fraction": frozenset({"le"}),
    "histogram_share": frozenset({"le"}),
    "histogram_quantiles": frozenset({"le"}),
    "prometheus_buckets": frozenset({"vmrange"}),
}
# `rollup(m[5m])` returns one series per kind, labelled `rollup="min"` and so on.
_ROLLUP_LABEL = frozenset(name for name in _SIGNATURES if name.startswith("rollup"))


_RELABELLING = frozenset(
    {*_ADDS_LABEL_ARGUMENTS, *_REMOVES_LABEL_ARGUMENTS, *_ADDS_LABELS, *_DROPS_LABELS}
    | _ROLLUP_LABEL
    | {"label_keep"}
)


def _strings(args: Sequence[Any]) -> list[str]:
    return [arg.val if isinstance(arg, promql_parser.StringLiteral) else "" for arg in args]


def _named(strings: list[str], which: slice) -> frozenset[str]:
    return frozenset(name for name in strings[which] if name)


def _absent_labels(arg: Any) -> LabelSet:
    """`absent(x{a="b"})` carries the labels of the selector's equality matchers."""
    while isinstance(arg, promql_parser.ParenExpr):
        arg = arg.expr
    if isinstance(arg, promql_parser.MatrixSelector):
        arg = arg.vector_selector
    if not isinstance(arg, promql_parser.VectorSelector):
        return _EMPTY
    matchers = [*arg.matchers.matchers, *(m for group in arg.matchers.or_matchers for m in group)]
    return LabelSet(
        False,
        frozenset(
            m.name
            for m in matchers
            if m.op == promql_parser.MatchOp.Equal and m.name != "__name__" and m.value
        ),
    )


def _relabel(name: str, labels: LabelSet, strings: list[str]) -> LabelSet:
    """What a function does to the labels of its vector argument."""
    labels = _drop(labels, _DROPS_LABELS.get(name, frozenset()))
    if name in _REMOVES_LABEL_ARGUMENTS:
        labels = _drop(labels, _named(strings, _REMOVES_LABEL_ARGUMENTS[name]))
    if name == "label_keep":
        labels = _restrict(labels, _named(strings, slice(1, None)))
    if name in _ADDS_LABEL_ARGUMENTS:
        labels = _add(labels, _named(strings, _ADDS_LABEL_ARGUMENTS[name]))
    if name in _ROLLUP_LABEL and len(strings) < 2:
        labels = _add(labels, {"rollup"})
    return _add(labels, _ADDS_LABELS.get(name, frozenset()))


def _metricsql_aggregation(
    name: str, grouped: LabelSet, inner: LabelSet, strings: list[str]
) -> LabelSet:
    if name in _PRESERVING_AGGREGATIONS:
        return inner
    if name == "histogram":
        return _add(grouped, {"vmrange"})
    if name == "quantiles":
        return _add(grouped, _named(strings, slice(0, 1)))
    return grouped
