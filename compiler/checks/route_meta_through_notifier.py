"""The alert that the notifier is down is routed only through the notifier.

With `metaMonitoring` on, `ConvergeNotifierDown` fires when Prometheus cannot scrape
`converge notifier`. If Alertmanager routes it only to DingTalk, WeCom or Feishu
channels, which the notifier itself delivers, nobody hears of it: the one alert about a
dead notifier waits in a dead notifier. (Alertmanager delivers email, Slack, webhook,
PagerDuty, Opsgenie, Telegram, Discord and Teams channels itself.)

Fix: route the meta-monitoring alerts (`source="converge-meta-monitoring"`, or the
`labels` set under `metaMonitoring`) to at least one channel Alertmanager delivers itself,
such as an email or a PagerDuty channel: a dead man's switch that does not depend on what
it watches.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model
from converge.specs.channel import NOTIFIER_TYPES

CODE = "route/meta-through-notifier"
SEVERITY = Severity.WARNING
SUMMARY = "the notifier-down alert reaches only channels the notifier delivers"

WATCHED = "ConvergeNotifierDown"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None or model.broken.get("Channel") or model.broken.get("Routing"):
        return
    types = {c.name: c.spec.type for c in model.channels}
    for _, rule in model.alerts():
        if rule.name != WATCHED:
            continue
        labels = {**model.project.external_labels, **rule.labels, "alertname": rule.name}
        reached = [r for r in routes.receivers_for(model.routing.route, labels) if r]
        if reached and all(types.get(r) in NOTIFIER_TYPES for r in reached):
            yield ctx.diag(rule.origin, CODE,
                           f"{WATCHED} reaches only {', '.join(reached)}, delivered by the "
                           f"notifier it reports on", severity=SEVERITY,
                           hint="route source=\"converge-meta-monitoring\" alerts to an email, "
                                "PagerDuty or webhook channel too")
