"""Matchers parse.

Routes and inhibit rules select alerts with Alertmanager matchers: `name="value"`,
`name!="value"`, `name=~"regex"`, `name!~"regex"`. Values with spaces, commas or braces
must be double-quoted; regular expressions must compile (they are anchored).

Fix: write the matcher in one of those forms.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.matchers import MatcherError
from converge.compiler.model import Model

CODE = "matcher/syntax"
SEVERITY = Severity.ERROR
SUMMARY = "a route or inhibit matcher does not parse"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None:
        return
    places = [(r.origin.child("matchers"), r.matchers) for r in routes.walk(
        model.routing.route)]
    for rule in model.routing.inhibit_rules:
        if rule.generated_for is None:
            places.append((rule.origin.child("sourceMatchers"), rule.source_matchers))
            places.append((rule.origin.child("targetMatchers"), rule.target_matchers))
    for origin, matchers in places:
        for i, matcher in enumerate(matchers):
            if isinstance(matcher, MatcherError):
                yield ctx.diag(origin.child(i), CODE, matcher.message)
