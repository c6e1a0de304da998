"""Every expression parses as PromQL (or MetricsQL, for rules only vmalert evaluates).

Expressions are parsed by a real PromQL parser, per target: a rule that Prometheus
evaluates must be PromQL, so MetricsQL functions such as `lag` are rejected there (as
promtool does) and accepted in groups whose `targets` is `[vmalert]`. `$threshold` is
replaced by a number first. The diagnostic points at the column inside the expression.
Worker pools' scaling queries and the expressions of rule tests
(`promqlExprTests`) are checked too.

Fix: correct the expression; for MetricsQL, restrict the group or rule to vmalert.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "promql/syntax"
SEVERITY = Severity.ERROR
SUMMARY = "an expression does not parse"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.origin in seen:
                continue
            seen.add(rule.origin)
            yield from _check(ctx, rule.origin.child("expr"), rule.raw_expr,
                              exprs.dialect_for(rule.targets))
    for group in model.groups:
        for test in group.tests:
            for i, expr_test in enumerate(test.spec.promql_expr_tests):
                yield from _check(ctx, test.origin.child("promqlExprTests", i, "expr"),
                                  expr_test.expr, "prometheus")
    for pool in model.pools:
        if pool.spec.scaling is None:
            continue
        for i, metric in enumerate(pool.spec.scaling.metrics):
            yield from _check(ctx, pool.origin.child("scaling", "metrics", i, "query"),
                              metric.query, "prometheus")


def _check(ctx: Context, origin: Origin, expr: str, dialect: str) -> Iterator[Diagnostic]:
    problem = exprs.problem(expr, dialect)
    if problem is not None:
        hint = ("MetricsQL functions need `targets: [vmalert]` on the group or rule"
                if "MetricsQL" in problem.message else "")
        yield ctx.diag_in_value(origin, problem.offset, CODE, problem.message, value=expr,
                                hint=hint)
