"""Matchers parse.

Routes and inhibit rules select alerts with Alertmanager matchers: `name="value"`,
`name!="value"`, `name=~"regex"`, `name!~"regex"`. Values with spaces, commas or braces
must be double-quoted; regular expressions must compile (they are anchored). A label
name that is not a classic one (`[a-zA-Z_:][a-zA-Z0-9_:]*`) is written double-quoted,
`"service.name"="api"`, which only Alertmanager ≥ 0.27 (its UTF-8 matcher parser)
accepts: the target version in `converge.yaml` decides.

Fix: write the matcher in one of those forms, or raise the alertmanager version.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.matchers import UTF8_SINCE, Matcher, MatcherError
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
    target = model.project.targets["alertmanager"]
    utf8 = target.version >= UTF8_SINCE
    for origin, matchers in places:
        for i, matcher in enumerate(matchers):
            if isinstance(matcher, MatcherError):
                yield ctx.diag(origin.child(i), CODE, matcher.message)
            elif isinstance(matcher, Matcher) and matcher.utf8 and not utf8:
                yield ctx.diag(origin.child(i), CODE,
                               f"label name {matcher.name!r} needs quoting, which Alertmanager "
                               f"{target.version_text} does not accept (≥ 0.27)",
                               hint="raise the alertmanager version in converge.yaml, or "
                                    "match a classic label name")
