"""converge.compiler.promql: where parse errors are, which dialect accepts what, and which labels
an expression's result series can carry."""

from __future__ import annotations

import time

import promql_parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converge.compiler import promql
from converge.compiler.promql import (
    METRICSQL_FUNCTIONS,
    LabelSet,
    ParseProblem,
    output_labels,
    parse_problem,
)

# --------------------------------------------------------------------------- offsets

# (expression, offset, the text found at the offset): the third column only makes the
# table readable and double-checks the second.
OFFSETS = [
    # brackets, braces and parentheses
    pytest.param("sum(rate(x[5m])", 3, "(rate", id="unclosed-paren"),
    pytest.param("sum(rate(x[5m]", 8, "(x[", id="unclosed-parens-innermost"),
    pytest.param("sum(x))", 6, ")", id="stray-paren"),
    pytest.param('x{a="b"}}', 8, "}", id="stray-brace"),
    pytest.param("x]", 1, "]", id="stray-bracket"),
    pytest.param("(x]", 2, "]", id="mismatched-closer"),
    pytest.param("rate(x[5m", 6, "[5m", id="unclosed-bracket"),
    pytest.param('x{a="b"', 1, '{a="b"', id="unclosed-brace"),
    pytest.param('x{a="}"', 1, '{a="}"', id="brace-in-string-ignored"),
    pytest.param('sum(x{a=")"}', 3, '(x{a=")"', id="paren-in-string-ignored"),
    pytest.param("sum(x) # )\n)", 11, ")", id="paren-in-comment-ignored"),
    pytest.param("x{a{", 3, "{", id="brace-inside-braces"),
    pytest.param("x[5m[", 4, "[", id="bracket-inside-brackets"),
    # strings
    pytest.param('x{a="b}', 4, '"b}', id="unterminated-string"),
    pytest.param('x{a="\\q"}', 5, "\\q", id="unknown-escape"),
    pytest.param('x{a=~"("}', 5, '"("', id="illegal-regex"),
    # functions
    pytest.param("foo(x)", 0, "foo", id="unknown-function"),
    pytest.param("sum(rate(x[5m])) / lag(x[5m])", 19, "lag(", id="metricsql-function"),
    pytest.param("lag + lag(x[5m])", 6, "lag(", id="unknown-function-not-the-metric"),
    pytest.param("rate(x)", 0, "rate", id="wrong-argument-type"),
    pytest.param("sum(rate(x))", 4, "rate", id="wrong-argument-type-nested"),
    pytest.param("rate(x[5m]) + rate(y)", 14, "rate(y)", id="wrong-argument-type-second"),
    pytest.param("sum(rate(x[5m], 1))", 4, "rate", id="too-many-arguments"),
    pytest.param('label_replace(x, "a")', 0, "label_replace", id="too-few-arguments"),
    pytest.param("topk(x)", 0, "topk", id="aggregation-arguments"),
    pytest.param("sum(x) + topk by (a) (y)", 9, "topk", id="aggregation-prefix-modifier"),
    pytest.param("count_values(x, y)", 0, "count_values", id="aggregation-parameter-type"),
    # a binary operator with no right-hand side
    pytest.param("x +", 2, "+", id="trailing-operator"),
    pytest.param("x + ", 2, "+", id="trailing-operator-space"),
    pytest.param("x == bool", 2, "==", id="trailing-operator-bool"),
    pytest.param("x * on(a) group_left", 2, "*", id="trailing-operator-modifiers"),
    pytest.param("up == 0 and # nothing\n", 8, "and", id="trailing-operator-comment"),
    # tokens the grammar does not allow where they are
    pytest.param("x y", 2, "y", id="junk-after-expression"),
    pytest.param("x y +", 2, "y", id="junk-before-trailing-operator"),
    pytest.param("sum by (a) x", 11, "x", id="aggregation-without-parens"),
    pytest.param("rate(x[5m]) by (a)", 12, "by", id="modifier-on-function"),
    pytest.param("x + * y", 4, "*", id="two-operators"),
    pytest.param("histogram_quantile(0.9 x)", 23, "x", id="missing-comma"),
    pytest.param("sum(,x)", 4, ",", id="leading-comma"),
    pytest.param("x @ foo", 4, "foo", id="bad-at-timestamp"),
    pytest.param("x == on() group_left() bool y", 23, "bool", id="bool-after-grouping"),
    pytest.param('x{a="b"}:y', 8, ":y", id="colon-after-selector"),
    pytest.param("sum(x) by", 7, "by", id="incomplete-modifier"),
    pytest.param("x{a=b}", 4, "b}", id="unquoted-label-value"),
    pytest.param("x{,}", 2, ",", id="comma-in-braces"),
    pytest.param('x{a=="b"}', 3, '=="b"', id="double-equals-in-braces"),
    pytest.param("x{a}", 2, "a}", id="matcher-without-operator"),
    # durations
    pytest.param("x[5x]", 2, "5x", id="bad-duration-unit"),
    pytest.param("x[1h5]", 2, "1h5", id="duration-missing-last-unit"),
    pytest.param("x[5m:1q]", 5, "1q", id="bad-subquery-step"),
    pytest.param("x offset 1.5m", 9, "1.5m", id="fractional-offset"),
    pytest.param("x[0s]", 2, "0s", id="zero-range"),
    pytest.param("x[]", 2, "]", id="empty-range"),
    pytest.param("x[5m:1m:1m]", 7, ":1m]", id="second-colon"),
    pytest.param("x[:5m]", 2, ":5m", id="leading-colon"),
    pytest.param("x[5m] offset 1m offset 2m", 16, "offset 2m", id="offset-twice"),
    pytest.param("x offset", 2, "offset", id="offset-without-duration"),
    # characters
    pytest.param("x $ y", 2, "$", id="unexpected-character"),
    pytest.param("x ! y", 2, "!", id="bang-without-equals"),
    pytest.param("x !", 2, "!", id="bang-at-end"),
    pytest.param("x =~ y", 2, "=~", id="regex-match-outside-braces"),
    pytest.param("foo.bar", 3, ".bar", id="dot-in-name"),
    pytest.param("x \\ y", 2, "\\", id="backslash"),
    pytest.param('x{é="a"}', 2, "é", id="non-ascii-label-name"),
    # types and semantics
    pytest.param("sum(x) and 1", 7, "and", id="set-operator-on-scalar"),
    pytest.param("1 == 1", 2, "==", id="scalar-comparison-without-bool"),
    pytest.param("x + bool y", 2, "+", id="bool-on-arithmetic"),
    pytest.param("x[5m] + 1", 6, "+", id="range-in-arithmetic"),
    pytest.param("-x[5m]", 0, "-", id="unary-on-range"),
    pytest.param("rate(x[5m])[5m]", 11, "[5m]", id="range-of-function"),
    pytest.param("sum(x) offset 5m", 7, "offset", id="offset-on-aggregation"),
    pytest.param("x * on(a) group_left(a) y", 21, "a) y", id="label-in-on-and-group"),
    pytest.param("x or on(a) group_left y", 2, "or", id="grouping-on-or"),
    pytest.param('x{__name__="a"}', 2, "__name__", id="metric-name-twice"),
    pytest.param("{}", 0, "{}", id="empty-selector"),
    # nothing there
    pytest.param("", 0, "", id="empty"),
    pytest.param("   ", 0, "", id="blank"),
    pytest.param("# only a comment\n", 0, "", id="comment-only"),
    # several lines
    pytest.param(
        "sum by (job) (\n  rate(http_requests_total[5m]\n)", 13, "(\n", id="multiline-unclosed"
    ),
    pytest.param(
        "sum by (job) (rate(x[5m]))\n  > on(job) group_left\n", 29, ">", id="multiline-trailing"
    ),
    pytest.param("up == 0 and\n  absent(foo", 20, "(foo", id="multiline-unclosed-call"),
    pytest.param(
        "sum(rate(errors_total[5m]))\n/\nsum(rate(requests_total[5m])) by\n",
        60,
        "by",
        id="multiline-modifier-on-nothing",
    ),
    pytest.param(
        'rate(x[5m])\n  + rate(\n    y{job="a"}\n  )',
        16,
        "rate(\n",
        id="multiline-wrong-argument-type",
    ),
    pytest.param("avg(x)\n  y", 9, "y", id="multiline-junk"),
]


@pytest.mark.parametrize(("expr", "offset", "at"), OFFSETS)
def test_offset(expr: str, offset: int, at: str) -> None:
    problem = parse_problem(expr)
    assert problem is not None
    assert problem.offset == offset, problem
    assert expr[problem.offset :].startswith(at)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        pytest.param("foo(x)", 'unknown function "foo"', id="unknown-function"),
        pytest.param(
            "lag(x[5m])",
            'unknown function "lag" (a MetricsQL function: vmalert only)',
            id="metricsql-function",
        ),
        pytest.param(
            "median by (job) (x)",
            'unknown aggregation "median" (a MetricsQL function: vmalert only)',
            id="metricsql-aggregation",
        ),
        pytest.param("x y", 'syntax error: unexpected identifier "y"', id="unexpected-identifier"),
        pytest.param("x + * y", 'syntax error: unexpected "*"', id="unexpected-operator"),
        pytest.param("x +", 'syntax error: operator "+" has no right-hand side', id="trailing"),
        pytest.param(
            "sum by (a)", 'syntax error: unexpected end of input after ")"', id="incomplete"
        ),
        pytest.param("x[5x]", "bad number or duration syntax: 5x", id="parser-message-kept"),
    ],
)
def test_message(expr: str, message: str) -> None:
    problem = parse_problem(expr)
    assert problem is not None
    assert problem.message == message


@pytest.mark.parametrize(
    "expr",
    [
        "up",
        'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1',
        "x # a comment (\n + y",
        "x[5m:]",
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
        "x @ start() offset 1m",
    ],
)
def test_valid_expression_has_no_problem(expr: str) -> None:
    assert parse_problem(expr) is None
    assert parse_problem(expr, dialect="metricsql") is None


PROMQL_ALPHABET = st.sampled_from(
    [*"x(){}[]\"'`,=~!<>+-*/%^@:# \n059.\\é", "sum", "by", "rate", "offset", "bool", "on"]
    + ["group_left", "and", "5m", 'a="b"', "lag", "median"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(PROMQL_ALPHABET, max_size=14).map("".join),
    st.sampled_from(["prometheus", "metricsql"]),
)
def test_offset_is_always_inside_the_text(expr: str, dialect: str) -> None:
    problem = parse_problem(expr, dialect=dialect)  # type: ignore[arg-type]
    if problem is None:
        return
    assert 0 <= problem.offset <= len(expr)
    assert problem.message


# --------------------------------------------------------------------------- dialects


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param("lag(x[5m]) > 0", id="rollup"),
        pytest.param("median_over_time(x[5m])", id="rollup-over-time"),
        pytest.param('rollup(x[5m], "max")', id="rollup-with-kind"),
        pytest.param("count_gt_over_time(x[5m], 10)", id="rollup-with-parameter"),
        pytest.param("range_avg(x)", id="transform"),
        pytest.param('label_set(x, "a", "b")', id="label-function"),
        pytest.param("now() - timestamp(x) > 60", id="nullary"),
        pytest.param("median(x)", id="aggregation-call"),
        pytest.param("median by (job) (x)", id="aggregation-prefix-modifier"),
        pytest.param("median(x) without (instance)", id="aggregation-postfix-modifier"),
        pytest.param("Median(x)", id="aggregation-any-case"),
        pytest.param("outliersk(3, x) by (job)", id="k-aggregation"),
        pytest.param('topk_avg(3, x, "other") by (job)', id="k-aggregation-optional-argument"),
        pytest.param('quantiles("phi", 0.5, 0.9, x) by (job)', id="quantiles"),
        pytest.param("rate(x)", id="implicit-window"),
        pytest.param("sum(rate(x[5m])) by (job) > 0", id="plain-promql"),
    ],
)
def test_metricsql_dialect_accepts(expr: str) -> None:
    assert parse_problem(expr, dialect="metricsql") is None


@pytest.mark.parametrize(
    ("expr", "offset"),
    [
        pytest.param("lag(x[5m]", 3, id="unclosed-paren"),
        pytest.param("lag(x[5m]) +", 11, id="trailing-operator"),
        pytest.param("median by (a) (x", 14, id="unclosed-aggregation"),
        pytest.param("median(x) by (a) y", 17, id="junk-after-aggregation"),
        pytest.param("foo(x)", 0, id="unknown-function"),
    ],
)
def test_metricsql_dialect_locates_problems(expr: str, offset: int) -> None:
    problem = parse_problem(expr, dialect="metricsql")
    assert problem is not None
    assert problem.offset == offset, problem


def test_metricsql_functions_are_not_in_prometheus() -> None:
    assert {"lag", "range_avg", "rollup", "median_over_time", "median"} <= METRICSQL_FUNCTIONS
    for name in sorted(METRICSQL_FUNCTIONS):
        with pytest.raises(ValueError, match="unknown function"):
            promql_parser.parse(f"{name}()")
        problem = parse_problem(f"{name}(x)")
        assert problem is not None
        assert "MetricsQL" in problem.message


def test_metricsql_parse_leaves_prometheus_parsing_alone() -> None:
    assert parse_problem("lag(x[5m])", dialect="metricsql") is None
    assert output_labels("median by (a) (x)", dialect="metricsql") is not None
    assert parse_problem("lag(x[5m])") == ParseProblem(
        'unknown function "lag" (a MetricsQL function: vmalert only)', 0
    )
    with pytest.raises(ValueError, match="unknown function"):
        promql_parser.parse("lag(x[5m])")
    assert output_labels("lag(x[5m])") is None


def test_common_path_is_fast() -> None:
    """10,000 valid expressions parse in well under half a second (best of 3 runs)."""
    exprs = [
        "up == 0",
        'rate(http_requests_total{job="api"}[5m]) > 1',
        "histogram_quantile(0.99, sum by (le) (rate(request_seconds_bucket[5m]))) > 0.5",
        'absent(up{job="node"})',
        "node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1",
    ] * 2000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for expr in exprs:
            parse_problem(expr)
        best = min(best, time.perf_counter() - start)
        if best < 0.5:
            break
    assert best < 0.5


def test_problems_in_long_expressions_are_found_quickly() -> None:
    """The prefix searches stay affordable on an 1,800-character expression."""
    term = 'sum by (job) (rate(http_requests_total{{job="api{}"}}[5m]))'
    long = " + ".join(term.format(i) for i in range(30))
    for expr, at in [
        (f"x y + {long}", 2),
        (f"{long} y", len(long) + 1),
        (f"{long[:900]} y {long[900:]}", 901),
        (f"rate(x) + {long}", 0),
    ]:
        start = time.perf_counter()
        problem = parse_problem(expr)
        assert time.perf_counter() - start < 2
        assert problem is not None
        assert problem.offset == at


# --------------------------------------------------------------------------- labels


def only(*names: str) -> LabelSet:
    return LabelSet(any=False, names=frozenset(names))


def all_but(*names: str) -> LabelSet:
    return LabelSet(any=True, names=frozenset(names))


LABELS = [
    # selectors and functions that keep labels
    pytest.param("up", all_but(), id="selector"),
    pytest.param("rate(x[5m])", all_but(), id="rate"),
    pytest.param("irate(x[5m]) * 60", all_but(), id="irate-times-scalar"),
    pytest.param("max_over_time(sum by (a) (x)[1h:5m])", only("a"), id="subquery"),
    pytest.param("(sum by (a) (x))", only("a"), id="parens"),
    pytest.param("-sum by (a) (x)", only("a"), id="unary"),
    pytest.param("abs(sum by (a) (x))", only("a"), id="math-function"),
    pytest.param("clamp_max(sum by (a) (x), 1)", only("a"), id="function-scalar-argument"),
    # aggregations
    pytest.param("sum(x)", only(), id="sum"),
    pytest.param("sum by (a, b) (x)", only("a", "b"), id="sum-by"),
    pytest.param("avg(x) by (a)", only("a"), id="postfix-by"),
    pytest.param("max without (a) (x)", all_but("a"), id="without"),
    pytest.param("count by () (x)", only(), id="by-nothing"),
    pytest.param("group by (a) (x)", only("a"), id="group"),
    pytest.param("stddev by (a) (x)", only("a"), id="stddev"),
    pytest.param("quantile by (a) (0.9, x)", only("a"), id="quantile"),
    pytest.param("sum by (a) (sum by (b) (x))", only(), id="nested-by"),
    pytest.param("sum by (a) (sum without (b) (x))", only("a"), id="by-over-without"),
    pytest.param("sum without (a) (sum by (a, b) (x))", only("b"), id="without-over-by"),
    pytest.param('count_values("value", x)', only("value"), id="count-values"),
    pytest.param('count_values by (a) ("value", x)', only("a", "value"), id="count-values-by"),
    pytest.param("topk(3, x)", all_but(), id="topk"),
    pytest.param("bottomk by (a) (3, sum by (a, b) (x))", only("a", "b"), id="bottomk-by"),
    pytest.param("limitk(3, sum by (a) (x))", only("a"), id="limitk"),
    # functions that change labels
    pytest.param(
        'label_replace(sum by (a) (x), "dst", "$1", "a", "(.*)")',
        only("a", "dst"),
        id="label-replace",
    ),
    pytest.param('label_join(x, "dst", ",", "a", "b")', all_but(), id="label-join-any"),
    pytest.param(
        'sum by (a) (label_replace(x, "dst", "$1", "a", "(.*)"))', only("a"), id="replace-in-sum"
    ),
    pytest.param('absent(x{a="b", c=~"d", e!="f"})', only("a"), id="absent"),
    pytest.param('absent({__name__="y", a="b"})', only("a"), id="absent-name"),
    pytest.param('absent_over_time(x{a="b"}[5m])', only("a"), id="absent-over-time"),
    pytest.param('absent(sum(x{a="b"}))', only(), id="absent-of-aggregation"),
    pytest.param("vector(1)", only(), id="vector"),
    pytest.param("time()", only(), id="time"),
    pytest.param("scalar(x)", only(), id="scalar"),
    pytest.param("1", only(), id="number"),
    pytest.param("2 * 3", only(), id="scalar-arithmetic"),
    pytest.param(
        "histogram_quantile(0.9, sum by (le, job) (rate(x_bucket[5m])))",
        only("job"),
        id="histogram-quantile",
    ),
    pytest.param(
        "histogram_quantile(0.9, rate(x_bucket[5m]))", all_but("le"), id="histogram-quantile-any"
    ),
    pytest.param("info(x)", all_but(), id="info"),
    # binary operators
    pytest.param("x + y", all_but(), id="one-to-one"),
    pytest.param("sum by (a, b) (x) / sum by (a, b) (y)", only("a", "b"), id="one-to-one-lhs"),
    pytest.param("sum by (a, b) (x) / on(a) sum by (a) (y)", only("a"), id="on"),
    pytest.param("x / on(a, c) y", only("a", "c"), id="on-any"),
    pytest.param("sum by (a, b) (x) / ignoring(b) y", only("a"), id="ignoring"),
    pytest.param("x / ignoring(b) y", all_but("b"), id="ignoring-any"),
    pytest.param(
        "sum by (a, b) (x) * on(a) group_left(c) sum by (a, c) (y)",
        only("a", "b", "c"),
        id="group-left",
    ),
    pytest.param(
        "sum by (a) (x) * on(a) group_right(b) sum by (a, c) (y)",
        only("a", "b", "c"),
        id="group-right",
    ),
    pytest.param("sum by (a) (x) * on(a) group_left y", only("a"), id="group-left-no-labels"),
    pytest.param("sum by (a) (x) and y", only("a"), id="and"),
    pytest.param("sum by (a) (x) unless on(a) y", only("a"), id="unless"),
    pytest.param("sum by (a) (x) or sum by (b) (y)", only("a", "b"), id="or"),
    pytest.param("sum by (a) (x) or y", all_but(), id="or-any"),
    pytest.param("sum without (a) (x) or sum without (a, b) (y)", all_but("a"), id="or-without"),
    pytest.param("sum(x) or vector(0)", only(), id="or-vector"),
    pytest.param("sum by (a) (x) > 1", only("a"), id="vector-scalar-comparison"),
    pytest.param("1 < sum by (a) (x)", only("a"), id="scalar-vector-comparison"),
    pytest.param("sum by (a) (x) > bool 1", only("a"), id="bool-comparison"),
    pytest.param("sum by (a) (x) == bool on(a) y", only("a"), id="bool-comparison-vectors"),
    pytest.param("x > on(a) y", only("a"), id="filter-comparison-on"),
    pytest.param("vector(1) + x", only(), id="vector-without-labels-lhs"),
    pytest.param("x + vector(1)", all_but(), id="vector-without-labels-rhs"),
    pytest.param("x * scalar(y)", all_but(), id="vector-times-scalar-function"),
]


@pytest.mark.parametrize(("expr", "expected"), LABELS)
def test_output_labels(expr: str, expected: LabelSet) -> None:
    assert output_labels(expr) == expected


METRICSQL_LABELS = [
    pytest.param("lag(x[5m])", all_but(), id="rollup"),
    pytest.param("range_avg(sum by (a) (x))", only("a"), id="transform"),
    pytest.param("median by (a) (x)", only("a"), id="median-by"),
    pytest.param("median(x) without (a)", all_but("a"), id="median-without"),
    pytest.param("median(x)", only(), id="median"),
    pytest.param("zscore by (a) (sum by (a, b) (x))", only("a", "b"), id="zscore-keeps-labels"),
    pytest.param("outliersk(3, sum by (a, b) (x)) by (a)", only("a", "b"), id="outliersk"),
    pytest.param('topk_max(3, sum by (a, b) (x), "other") by (a)', only("a", "b"), id="topk-max"),
    pytest.param("histogram by (a) (x)", only("a", "vmrange"), id="histogram"),
    pytest.param('quantiles("phi", 0.5, 0.9, x) by (a)', only("a", "phi"), id="quantiles-by"),
    pytest.param('quantiles("phi", 0.5, 0.9, x)', only("phi"), id="quantiles-call"),
    pytest.param('label_set(sum(x), "a", "1", "b", "2")', only("a", "b"), id="label-set"),
    pytest.param('label_del(sum by (a, b) (x), "a")', only("b"), id="label-del"),
    pytest.param('label_keep(x, "a", "b")', only("a", "b"), id="label-keep"),
    pytest.param('label_copy(sum by (a) (x), "a", "b")', only("a", "b"), id="label-copy"),
    pytest.param('label_move(sum by (a) (x), "a", "b")', only("b"), id="label-move"),
    pytest.param("rollup(sum by (a) (x)[5m:])", only("a", "rollup"), id="rollup-label"),
    pytest.param('rollup(sum by (a) (x)[5m:], "max")', only("a"), id="rollup-one-kind"),
    pytest.param("histogram_over_time(sum(x)[5m:])", only("vmrange"), id="histogram-over-time"),
    pytest.param(
        "sum by (a) (x) or median by (b) (y) or zscore by (c) (sum by (c, d) (z))",
        only("a", "b", "c", "d"),
        id="aggregations-in-text-order",
    ),
    pytest.param(
        "topk(scalar(median(x)), zscore(sum by (a, b) (y)))",
        only("a", "b"),
        id="aggregation-parameter-first",
    ),
    pytest.param("now()", only(), id="now"),
]


@pytest.mark.parametrize(("expr", "expected"), METRICSQL_LABELS)
def test_output_labels_metricsql(expr: str, expected: LabelSet) -> None:
    assert output_labels(expr, dialect="metricsql") == expected


@pytest.mark.parametrize(
    ("expr", "dialect"),
    [
        pytest.param("x y", "prometheus", id="syntax-error"),
        pytest.param("lag(x[5m])", "prometheus", id="metricsql-in-prometheus"),
        pytest.param("rate(x)", "metricsql", id="accepted-only-leniently"),
    ],
)
def test_output_labels_none(expr: str, dialect: str) -> None:
    assert output_labels(expr, dialect=dialect) is None  # type: ignore[arg-type]


def test_label_set_may_have() -> None:
    assert only("a").may_have("a")
    assert not only("a").may_have("b")
    assert all_but("a").may_have("b")
    assert not all_but("a").may_have("a")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(only("a"), only("b"), only("a", "b"), id="finite"),
        pytest.param(only("a"), all_but("a", "b"), all_but("b"), id="finite-any"),
        pytest.param(all_but("a", "b"), only("a"), all_but("b"), id="any-finite"),
        pytest.param(all_but("a", "b"), all_but("b", "c"), all_but("b"), id="any-any"),
    ],
)
def test_label_set_union(left: LabelSet, right: LabelSet, expected: LabelSet) -> None:
    assert left.union(right) == expected
    assert right.union(left) == expected


def test_public_names() -> None:
    assert promql.__all__ == sorted(promql.__all__)
    assert set(promql.__all__) == {
        "LabelSet",
        "METRICSQL_FUNCTIONS",
        "ParseProblem",
        "output_labels",
        "parse_problem",
    }
