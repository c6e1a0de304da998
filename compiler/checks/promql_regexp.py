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

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "promql/regexp"
SEVERITY = Severity.WARNING
SUMMARY = "a regular-expression matcher is a literal, or anchored by hand"
_META = re.compile(r"[.*+?()\[\]{}|\\^$]")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for rule in model.written_rules():
        shape = exprs.shape(rule.raw_expr)
        if shape is None:
            continue
        for name, pattern, negated in shape.regexps:
            yield from _matcher(ctx, rule.origin.child("expr"), rule.raw_expr,
                                name=name, pattern=pattern, negated=negated)


def _matcher(ctx: Context, origin: Origin, expr: str, *, name: str, pattern: str,
             negated: bool) -> Iterator[Diagnostic]:
    written = f'{name}{"!~" if negated else "=~"}"{pattern}"'
    offset = max(expr.find(pattern), 0)
    if not _META.search(pattern):
        plain = f'{name}{"!=" if negated else "="}"{pattern}"'
        yield ctx.diag_in_value(origin, offset, CODE,
                                f"{written} has no regular-expression syntax: it is "
                                f"{plain}", value=expr, hint=f"write {plain}",
                                severity=SEVERITY)
    elif pattern.startswith("^") or (pattern.endswith("$") and not pattern.endswith("\\$")):
        yield ctx.diag_in_value(origin, offset, CODE,
                                f"{written}: Prometheus anchors regular expressions "
                                "already; ^ and $ change nothing", value=expr,
                                hint="drop the anchors (for a substring, write .*x.*)",
                                severity=SEVERITY)
