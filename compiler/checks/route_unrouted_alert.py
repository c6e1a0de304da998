"""Every alert reaches a receiver.

Each alert (each tier of a tiered alert) is run through the route tree with the labels
it is known to carry: its rule labels, `severity`, `alertname` and the project's external
labels; labels its expression may keep are assumed to match. An alert that ends at a route
with no receiver, or any alert when there is no `Routing` document at all, is delivered
nowhere.

Fix: give the root route a `receiver` (the catch-all), or add a route that matches it.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model, Origin

CODE = "route/unrouted-alert"
SEVERITY = Severity.ERROR
SUMMARY = "an alert matches no route with a receiver"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if not model.project.targets["alertmanager"].enabled or model.broken.get("Routing"):
        return
    alerts = model.alerts()
    if model.routing is None:
        if alerts:
            group, rule = alerts[0]
            yield ctx.diag(rule.origin.child("alert"), CODE,
                           f"there is no Routing document, so {len(alerts)} alert(s) such as "
                           f"{rule.name!r} reach no receiver",
                           hint="add a Routing document whose root route has a receiver")
        return
    reported: set[Origin] = set()
    for _, rule in alerts:
        labels = {**model.project.external_labels, **rule.labels, "alertname": rule.name}
        kept = exprs.labels(rule.raw_expr)
        may_have = kept.may_have if kept is not None else (lambda _: True)
        receivers = routes.receivers_for(model.routing.route, labels, may_have)
        if "" in receivers and rule.origin not in reported:
            reported.add(rule.origin)
            tier = f" ({rule.tier})" if rule.tier else ""
            yield ctx.diag(rule.origin.child("alert"), CODE,
                           f"alert {rule.name!r}{tier} matches no route with a receiver",
                           hint="set a receiver on the root route or add a matching route")
