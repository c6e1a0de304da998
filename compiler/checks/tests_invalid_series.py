"""Rule tests write series and samples in promtool's notation.

An input series is `metric{label="value", …}` (exact values, no matchers) and its
`values` are samples in promtool's expanding notation: numbers, `a+bxN` (a, a+b, …, N+1
samples), `a-bxN`, `axN` (a, N+1 times), `_` (no sample), `_xN`, and `stale`. An
expected sample's `labels` is a series in the same notation, or `{}`. The column of the
first mistake is shown, where promtool would only name a line of a file you never see.

Fix: correct the series or the samples at the column shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.compiler.testing import series

CODE = "tests/invalid-series"
SEVERITY = Severity.ERROR
SUMMARY = "a rule test's series or samples are not in promtool's notation"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for group in model.groups:
        for test in group.tests:
            for i, given in enumerate(test.spec.input_series):
                origin = test.origin.child("inputSeries", i)
                yield from _series(ctx, origin.child("series"), given.series)
                problem = series.values_problem(given.values)
                if problem is not None:
                    yield ctx.diag_in_value(origin.child("values"), problem.offset, CODE,
                                            problem.message, value=given.values)
            for i, expr_test in enumerate(test.spec.promql_expr_tests):
                for j, sample in enumerate(expr_test.exp_samples):
                    yield from _series(
                        ctx, test.origin.child("promqlExprTests", i, "expSamples", j, "labels"),
                        sample.labels)


def _series(ctx: Context, origin: Origin, text: str) -> Iterator[Diagnostic]:
    found = series.parse_series(text)
    if isinstance(found, series.Problem):
        yield ctx.diag_in_value(origin, found.offset, CODE, found.message, value=text)
