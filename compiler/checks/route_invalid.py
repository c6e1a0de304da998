"""The route tree has the shape Alertmanager requires.

The root route matches every alert: it may not have `matchers`, `continue`,
`muteTimeIntervals` or `activeTimeIntervals` (amtool rejects them). `groupBy: ['...']`
(group by every label) must stand alone.

Fix: move the matchers to a child route; write `groupBy: ['...']` on its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model

CODE = "route/invalid"
SEVERITY = Severity.ERROR
SUMMARY = "the route tree has a shape Alertmanager rejects"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None:
        return
    root = model.routing.route
    for field, present in (("matchers", root.matchers), ("continue", root.continue_),
                           ("muteTimeIntervals", root.mute_time_intervals),
                           ("activeTimeIntervals", root.active_time_intervals)):
        if present:
            yield ctx.diag(root.origin.child(field), CODE,
                           f"the root route cannot have {field!r}", key=True,
                           hint="the root route receives every alert; move this to a child")
    for route in routes.walk(root):
        if route.group_by and "..." in route.group_by and len(route.group_by) > 1:
            yield ctx.diag(route.origin.child("groupBy"), CODE,
                           "'...' (group by every label) must be the only groupBy entry")
