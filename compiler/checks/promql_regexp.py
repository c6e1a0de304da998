"""Regular-expression matchers are needed and not anchored by hand.

Prometheus anchors every regular-expression matcher: `job=~"api"` matches exactly "api",
as `job="api"` does, only slower and harder to read; `^` and `$` around the pattern
(`job=~"^api$"`) change nothing. Both usually mean the author expected a substring match
(`job=~".*api.*"`).

Fix: use `=` / `!=` for a literal value; drop the `^`/`$`; or write the substring
pattern meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import promql_parser

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.compiler.promql import nodes

CODE = "promql/regexp"
SEVERITY = Severity.WARNING
SUMMARY = "a regular-expression matcher is a literal, or anchored by hand"
_META = re.compile(r"[.*+?()\[\]{}|\\^$]")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.origin in seen:
                continue
            seen.add(rule.origin)
            tree = nodes.parse(rule.raw_expr)
            if tree is None:
                continue
            for node in nodes.walk(tree):
                if isinstance(node, promql_parser.VectorSelector):
                    yield from _matchers(ctx, rule.origin.child("expr"), rule.raw_expr, node)


def _matchers(ctx: Context, origin: Origin, expr: str,
              selector: promql_parser.VectorSelector) -> Iterator[Diagnostic]:
    groups = [selector.matchers.matchers, *(selector.matchers.or_matchers or [])]
    for matcher in (m for group in groups for m in group):
        if matcher.op not in (promql_parser.MatchOp.Re, promql_parser.MatchOp.NotRe):
            continue
        negated = matcher.op == promql_parser.MatchOp.NotRe
        written = f'{matcher.name}{"!~" if negated else "=~"}"{matcher.value}"'
        offset = max(expr.find(matcher.value), 0)
        if not _META.search(matcher.value):
            plain = f'{matcher.name}{"!=" if negated else "="}"{matcher.value}"'
            yield ctx.diag_in_value(origin, offset, CODE,
                                    f"{written} has no regular-expression syntax: it is "
                                    f"{plain}", value=expr, hint=f"write {plain}",
                                    severity=SEVERITY)
        elif matcher.value.startswith("^") or (
                matcher.value.endswith("$") and not matcher.value.endswith("\\$")):
            yield ctx.diag_in_value(origin, offset, CODE,
                                    f"{written}: Prometheus anchors regular expressions "
                                    "already; ^ and $ change nothing", value=expr,
                                    hint="drop the anchors (for a substring, write .*x.*)",
                                    severity=SEVERITY)
