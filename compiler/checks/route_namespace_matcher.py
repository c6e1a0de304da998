"""What prometheus-operator's namespace matcher changes for this repository's routing.

With `prometheusOperator.alertmanager: alertmanagerConfig`, the routing is rendered as an
`AlertmanagerConfig` object, and prometheus-operator adds the matcher
`namespace="<its namespace>"` to every route and inhibit rule it holds (its default
`OnNamespace` strategy). This check says what that changes here, at the Routing:

* alerts whose expression aggregates `namespace` away and whose labels do not set it can
  never reach these routes: they go to the Alertmanager's own root route instead;
  alerts that keep their series' labels reach them only when those carry the namespace;
* inhibit rules mute only alerts of that namespace;
* time intervals lose their `location` (AlertmanagerConfig has none: times are UTC);
* channels the API cannot carry without a Kubernetes Secret (anything but a plain
  webhook, a notifier-delivered channel or `none`) become receivers without an
  integration, each reported at the channel.

The default, `alertmanager: secret`, renders the whole configuration as the Secret the
Alertmanager CR reads, with none of these changes.

Fix: use `alertmanager: secret`, or make the alerts carry the namespace (a `namespace`
label on the rules, or `by (namespace)` in their aggregations).
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import exprs
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Rule

CODE = "route/namespace-matcher"
SEVERITY = Severity.WARNING
SUMMARY = "what the namespace matcher of an AlertmanagerConfig changes for this routing"
_SHOWN = 5


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    operator = model.project.kubernetes.get("prometheusOperator")
    routing = model.routing
    if operator is None or operator.alertmanager != "alertmanagerConfig" or routing is None:
        return
    yield ctx.diag(routing.origin.child("route"), CODE, _explained(model, operator.namespace),
                   key=True, severity=SEVERITY, hint="alertmanager: secret keeps the routing exact")
    for index, interval in enumerate(routing.time_intervals):
        for number, period in enumerate(interval.time_intervals):
            if period.location:
                yield ctx.diag(routing.origin.child("timeIntervals", index, "timeIntervals",
                                                    number, "location"), CODE,
                               f"AlertmanagerConfig time intervals have no location: "
                               f"{interval.name!r} is read in UTC, not {period.location}",
                               severity=SEVERITY)
    from converge.compiler.render import alertmanager_config  # the renderers cost 35 ms

    for channel in model.channels:
        if not alertmanager_config.expressible(channel):
            yield ctx.diag(channel.origin.child("type"), CODE,
                           "an AlertmanagerConfig takes the settings of a "
                           f"{channel.spec.type!r} channel from Kubernetes Secrets: receiver "
                           f"{channel.name!r} is rendered without an integration",
                           severity=SEVERITY)


def _explained(model: Model, namespace: str) -> str:
    """The message at the Routing: which alerts the matcher keeps out, what it mutes."""
    never, maybe = set(), set()
    for _, rule in model.alerts():
        reach = _reaches(rule, namespace, model.project.external_labels)
        if reach is False:
            never.add(rule.name)
        elif reach is None:
            maybe.add(rule.name)
    parts = [f'prometheus-operator adds namespace="{namespace}" to every route and inhibit '
             "rule of this Routing (rendered as an AlertmanagerConfig)"]
    if never:
        names = sorted(never)
        shown = ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more"
                                             if len(names) > _SHOWN else "")
        parts.append(f"{len(names)} alert(s) carry no namespace label and never reach it "
                     f"(they go to the Alertmanager's own root route): {shown}")
    if maybe - never:
        parts.append(f"{len(maybe - never)} more reach it only when their series carry "
                     f'namespace="{namespace}"')
    inhibits = model.routing.inhibit_rules if model.routing else ()
    if inhibits:
        parts.append(f"its {len(inhibits)} inhibit rule(s) mute only alerts of that namespace")
    return "; ".join(parts)


def _reaches(rule: Rule, namespace: str, external: dict[str, str]) -> bool | None:
    """True: the alert carries the namespace; False: it never does; None: it depends on
    the series."""
    given = rule.labels.get("namespace", external.get("namespace"))
    if given is not None:
        return given == namespace
    kept = exprs.labels(rule.raw_expr)
    if kept is None:
        return None
    if not kept.may_have("namespace"):
        return False
    return None
