"""A daemon event names a channel that cannot receive it.

`converge notifier` delivers the daemons' events (healer, scaler, sidecar) to DingTalk,
WeCom, Feishu, Slack, email and webhook channels. PagerDuty, Opsgenie, Telegram, Discord,
Microsoft Teams and `none` channels are Alertmanager's alone: an event sent to one of them
reaches nobody. This is reported where a healing policy's `alert.channels`, the Project's
`notifications.eventChannels` or its `notifications.fallbackChannel` names such a channel.

Fix: name a channel of a type the notifier delivers to (add one next to the PagerDuty
channel, e.g. a webhook to the same on-call service), or route the alert through
Alertmanager instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.specs.channel import EVENT_TYPES

CODE = "channel/cannot-receive-events"
SEVERITY = Severity.ERROR
SUMMARY = "daemon events are sent to a channel the notifier cannot deliver them to"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    types = {c.name: c.spec.type for c in model.channels}
    named: list[tuple[Origin, str]] = []
    for policy in model.healing:
        named += [(policy.origin.child("alert", "channels", i), name)
                  for i, name in enumerate(policy.spec.alert.channels)]
    project = model.project
    if project.origin is not None:
        named += [(project.origin.child("notifications", "eventChannels", i), name)
                  for i, name in enumerate(project.event_channels)]
        if project.fallback_channel is not None:
            named.append((project.origin.child("notifications", "fallbackChannel"),
                          project.fallback_channel))
    able = sorted(n for n, t in types.items() if t in EVENT_TYPES)
    for origin, name in named:
        kind = types.get(name)
        if kind is None or kind in EVENT_TYPES:
            continue  # unknown names are ref/unresolved's
        yield ctx.diag(origin, CODE,
                       f"channel {name!r} is a {kind} channel: converge notifier cannot "
                       f"deliver daemon events to it",
                       hint=(f"use one of {', '.join(able)}" if able else
                             "add a dingtalk, wecom, feishu, slack, email or webhook channel"))
