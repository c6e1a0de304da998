"""A healing policy's events reach no channel.

When a container's restart budget is spent, the healer sends an event through
`converge notifier`. It goes to the policy's `alert.channels`, to every channel whose
`events` route takes it, and, when neither applies, to the Project's
`notifications.eventChannels`. A policy for which all three are empty (everything
`converge import compose` writes) pages nobody: the notifier logs the event and drops it.

Fix: set `notifications.eventChannels` in `converge.yaml` (one place for every daemon's
events), name channels in the policy's `alert.channels`, or give a channel an `events`
route; set `alert.enabled: false` when nobody should be told.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "events/no-destination"
SEVERITY = Severity.WARNING
SUMMARY = "a daemon's events reach no channel"

_LEVELS = ("info", "warning", "error", "critical")


def _routed(model: Model, level: str) -> bool:
    """Some channel's `events` route surely takes a healer event of `level`."""
    for channel in model.channels:
        route = getattr(channel.spec, "events", None)
        if route is None or route.labels:
            continue
        if ((not route.sources or "healer" in route.sources)
                and _LEVELS.index(level) >= _LEVELS.index(route.min_level)):
            return True
    return False


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.project.event_channels or model.broken.get("Channel"):
        return
    for policy in model.healing:
        alert = policy.spec.alert
        if not alert.enabled or alert.channels or _routed(model, alert.level):
            continue
        yield ctx.diag(Origin(policy.origin.document, ("metadata", "name")), CODE,
                       f"healing policy {policy.name!r} sends its {alert.level} events to no "
                       f"channel", severity=SEVERITY,
                       hint="set notifications.eventChannels in converge.yaml, or "
                            "alert.channels here")
