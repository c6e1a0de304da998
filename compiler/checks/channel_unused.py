"""Every channel is used.

A `Channel` that no route, healing policy or other spec names, and that takes no daemon
events (`events`), never receives anything;
usually a receiver was renamed in one place and not the other.

Fix: route something to it, or delete it.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin, Route

CODE = "channel/unused"
SEVERITY = Severity.WARNING
SUMMARY = "a channel receives nothing"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.broken.get("Routing") or model.broken.get("HealingPolicy"):
        return  # a broken document may be the one that uses it
    used: set[str] = set()
    if model.routing is not None:
        used.update(_receivers(model.routing.route))
    for policy in model.healing:
        used.update(policy.spec.alert.channels)
    used.update(c.name for c in model.channels if getattr(c.spec, "events", None) is not None)
    used.update(model.project.event_channels)
    if model.project.fallback_channel is not None:
        used.add(model.project.fallback_channel)
    for channel in model.channels:
        if channel.name not in used:
            yield ctx.diag(Origin(channel.origin.document, ("metadata", "name")), CODE,
                f"channel {channel.name!r} is not used by any route or healing policy",
                severity=SEVERITY, hint="route alerts to it in the Routing spec, or remove it")


def _receivers(route: Route) -> Iterator[str]:
    if route.receiver is not None:
        yield route.receiver
    for level in route.escalation:
        yield from level.channels
    for child in route.routes:
        yield from _receivers(child)
