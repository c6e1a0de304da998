"""MetricsQL, the dialect of vmalert: its function names, their registration, its aggregations.

The parser knows only PromQL. MetricsQL functions are registered with it for the one
parse that needs them; the registry is process-global, so that happens only under
`_LOCK`, the single lock every parse in this package takes, and Prometheus parses never
see them. MetricsQL aggregations (`median by (job) (x)`) cannot be registered at all:
they are rewritten in place, offsets kept, to a PromQL aggregation of the same shape.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import promql_parser

from converge.compiler.promql.tokens import _Lexed

_M = promql_parser.ValueType.Matrix
_V = promql_parser.ValueType.Vector
_S = promql_parser.ValueType.Scalar
_STR = promql_parser.ValueType.String

# Signatures are as loose as the parser allows: MetricsQL converts argument types
# implicitly and many functions take optional arguments (see `_LENIENT`).
_SIGNATURE_FAMILIES: tuple[tuple[tuple[Any, ...], int, str], ...] = (
    # rollups over a range, with optional scalar parameters
    (
        (_M, _S),
        -1,
        "ascent_over_time changes_prometheus count_eq_over_time count_gt_over_time"
        " count_le_over_time count_ne_over_time decreases_over_time default_rollup"
        " delta_prometheus deriv_fast descent_over_time distinct_over_time duration_over_time"
        " geomean_over_time histogram_over_time holt_winters ideriv increase_prometheus"
        " increase_pure increases_over_time integrate lag lifetime median_over_time"
        " mode_over_time outlier_iqr_over_time range_over_time rate_over_sum scrape_interval"
        " share_eq_over_time share_gt_over_time share_le_over_time stale_samples_over_time"
        " sum2_over_time sum_eq_over_time sum_gt_over_time sum_le_over_time tfirst_over_time"
        " timestamp_with_name tlast_change_over_time tlast_over_time tmax_over_time"
        " tmin_over_time zscore_over_time",
    ),
    # rollups with an optional rollup-kind string ("min", "max", "avg", ...)
    (
        (_M, _STR),
        -1,
        "rollup rollup_candlestick rollup_delta rollup_deriv rollup_increase rollup_rate"
        " rollup_scrape_interval",
    ),
    ((_S, _M), 0, "hoeffding_bound_lower hoeffding_bound_upper"),
    ((_STR, _M), 0, "aggr_over_time count_values_over_time"),
    ((_STR, _S, _M), 0, "quantiles_over_time"),
    # transforms of an instant vector, with optional scalar parameters
    (
        (_V, _S),
        -1,
        "bitmap_and bitmap_or bitmap_xor drop_empty_series interpolate keep_last_value"
        " keep_next_value label_graphite_group prometheus_buckets range_avg range_first"
        " range_last range_linear_regression range_mad range_max range_median range_min"
        " range_stddev range_stdvar range_sum range_zscore remove_resets running_avg"
        " running_max running_min running_sum smooth_exponential ttf",
    ),
    ((_V,), -1, "drop_common_labels range_normalize ru union"),
    # label manipulation: a vector, then label names and values
    (
        (_V, _STR),
        -1,
        "label_copy label_del label_keep label_lowercase label_map label_match"
        " label_mismatch label_move label_set label_transform label_uppercase label_value"
        " label_values labels_equal sort_by_label_numeric sort_by_label_numeric_desc",
    ),
    ((_S, _V), 0, "buckets_limit range_quantile range_trim_outliers range_trim_spikes"),
    ((_S, _V), 0, "range_trim_zscore"),
    ((_S, _S, _V), 0, "limit_offset"),
    ((_S, _V, _STR), 1, "histogram_share"),
    ((), 0, "now"),
    ((_S,), 1, "rand rand_exponential rand_normal"),
    ((_STR,), 0, "timezone_offset"),
    # aggregations, in their function-call form (`median(x)`; see `_rewrite_aggregations`)
    (
        (_V,),
        -1,
        "any distinct geomean histogram mad median mode outliers_iqr share sum2 utilization zscore",
    ),
    ((_S, _V), 0, "outliers_mad outliersk"),
    (
        (_S, _V, _STR),
        1,
        "bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min topk_avg topk_last"
        " topk_max topk_median topk_min",
    ),
    ((_STR, _S, _V), 0, "quantiles"),
)

_SIGNATURES: dict[str, tuple[tuple[Any, ...], int]] = {
    name: (args, variadic)
    for args, variadic, names in _SIGNATURE_FAMILIES
    for name in names.split()
}

METRICSQL_FUNCTIONS: frozenset[str] = frozenset(_SIGNATURES)
"""Functions of MetricsQL (vmalert, VictoriaMetrics) that Prometheus does not have."""

_EXTRA_FUNCTIONS = [
    promql_parser.Function(name, list(args), _V, variadic)
    for name, (args, variadic) in sorted(_SIGNATURES.items())
]

_PROMETHEUS_AGGREGATIONS = frozenset(
    "sum avg count min max group stddev stdvar topk bottomk quantile count_values limitk"
    " limit_ratio".split()
)
_METRICSQL_AGGREGATIONS = frozenset(
    "any bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min distinct geomean"
    " histogram mad median mode outliers_iqr outliers_mad outliersk quantiles share sum2"
    " topk_avg topk_last topk_max topk_median topk_min utilization zscore".split()
)
# Aggregations taking `(k, q)`: they are parsed as `topk` when they carry a modifier.
_METRICSQL_K_AGGREGATIONS = frozenset(
    "bottomk_avg bottomk_last bottomk_max bottomk_median bottomk_min outliers_mad outliersk"
    " topk_avg topk_last topk_max topk_median topk_min".split()
)
# Aggregations that select or score series rather than merge them: input labels survive.
_PRESERVING_AGGREGATIONS = frozenset(
    "topk bottomk limitk limit_ratio any outliers_iqr outliers_mad outliersk share zscore"
    " topk_avg topk_last topk_max topk_median topk_min bottomk_avg bottomk_last bottomk_max"
    " bottomk_median bottomk_min".split()
)

# MetricsQL is lenient where PromQL is strict: `rate(x)` (implicit window), extra optional
# arguments. Such errors are accepted in the metricsql dialect.
_LENIENT = re.compile(
    r"expected (?:type \w+ in call to function|(?:at (?:least|most) )?\d+ argument\(s\) in"
    r" call to) '"
)

_LOCK = threading.Lock()


@contextmanager
def _metricsql_functions() -> Iterator[None]:
    """Register the MetricsQL functions for the block; the caller holds `_LOCK`."""
    promql_parser.register_extra_functions(_EXTRA_FUNCTIONS)
    try:
        yield
    finally:
        promql_parser.clear_extra_functions()


def _aggregation_args(lexed: _Lexed, index: int) -> int | None:
    """The index of the `(` of the arguments of an aggregation named at `index`."""
    tokens = lexed.tokens
    i = index + 1
    if i < len(tokens) and tokens[i].text.lower() in ("by", "without"):
        if i + 1 >= len(tokens) or i + 1 not in lexed.pairs:
            return None
        i = lexed.pairs[i + 1] + 1
    return i if i < len(tokens) and tokens[i].text == "(" else None


def _arguments(lexed: _Lexed, paren: int) -> list[tuple[int, int]] | None:
    """The token index ranges (first, last) of the arguments in the parentheses at `paren`."""
    close = lexed.pairs.get(paren)
    if close is None:
        return None
    arguments: list[tuple[int, int]] = []
    first, i = paren + 1, paren + 1
    while i < close:
        if lexed.tokens[i].kind == "open":
            i = lexed.pairs.get(i, close)
        elif lexed.tokens[i].text == ",":
            arguments.append((first, i - 1))
            first = i + 1
        i += 1
    if first < close:
        arguments.append((first, close - 1))
    return arguments


def _calls_or_aggregates(lexed: _Lexed, index: int) -> bool:
    """Whether the identifier at `index` is used as a function or aggregation name."""
    tokens = lexed.tokens
    if tokens[index].kind != "ident" or tokens[index].inside == "{" or index + 1 >= len(tokens):
        return False
    return tokens[index + 1].text == "(" or tokens[index + 1].text.lower() in ("by", "without")


def _metricsql_names(lexed: _Lexed) -> list[int]:
    """Indexes of MetricsQL function names used as such."""
    return [
        i
        for i, token in enumerate(lexed.tokens)
        if token.text.lower() in METRICSQL_FUNCTIONS and _calls_or_aggregates(lexed, i)
    ]


class _Aggregation(NamedTuple):
    """An aggregation as written, before `_rewrite_aggregations` renamed it."""

    name: str
    strings: tuple[str, ...]  # its string arguments, "" for the others


def _stand_in(name: str, count: int) -> tuple[str, range] | None:
    """The PromQL aggregation a MetricsQL one is parsed as, and which arguments it keeps."""
    if name in _METRICSQL_K_AGGREGATIONS and count >= 2:
        return "topk", range(2)  # (k, q, "other_label")
    if name == "quantiles" and count >= 3:
        return "sum", range(count - 1, count)  # ("phi_label", phi1, ..., q)
    if name not in _METRICSQL_K_AGGREGATIONS and count == 1:
        return "sum", range(1)
    return None


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _rewrite_aggregation(lexed: _Lexed, text: str, index: int) -> tuple[str, _Aggregation] | None:
    """Rename the MetricsQL aggregation at `index` and blank the arguments its stand-in lacks."""
    tokens = lexed.tokens
    paren = _aggregation_args(lexed, index)
    arguments = _arguments(lexed, paren) if paren is not None else None
    stand_in = _stand_in(tokens[index].text.lower(), len(arguments)) if arguments else None
    if arguments is None or stand_in is None or len(stand_in[0]) > len(tokens[index].text):
        return None
    replacement, kept = stand_in
    strings = tuple(
        tokens[first].text[1:-1] if first == last and tokens[first].kind == "str" else ""
        for first, last in arguments
    )
    for number, (first, last) in enumerate(arguments):
        if number in kept:
            continue
        # the argument and the comma after it, or, for the last argument, the comma before
        start = tokens[first].start if number + 1 < len(arguments) else tokens[first - 1].start
        end = tokens[last + 1].end if number + 1 < len(arguments) else tokens[last].end
        text = _blank(text, start, end)
    name = tokens[index]
    text = text[: name.start] + replacement.ljust(len(name.text)) + text[name.end :]
    return text, _Aggregation(name.text.lower(), strings)


def _rewrite_aggregations(lexed: _Lexed) -> tuple[str, list[_Aggregation]]:
    """Let the parser read MetricsQL aggregations (`median by (job) (x)`).

    Each is renamed, in place and padded to its length so that offsets stay true, to a
    PromQL aggregation of the same shape (`sum` or `topk`), and the arguments that one
    does not take are blanked. Returns the new text and all aggregations as written, in
    text order, which is the order `_analyze` meets them in.
    """
    text = lexed.text
    aggregations: list[_Aggregation] = []
    for i, token in enumerate(lexed.tokens):
        name = token.text.lower()
        if not _calls_or_aggregates(lexed, i):
            continue
        if name in _PROMETHEUS_AGGREGATIONS:
            aggregations.append(_Aggregation(name, ()))
        elif name in _METRICSQL_AGGREGATIONS:
            rewritten = _rewrite_aggregation(lexed, text, i)
            if rewritten is not None:
                text, aggregation = rewritten
                aggregations.append(aggregation)
    return text, aggregations
