"""A route's escalation levels cannot work as written.

Escalation levels page more people while an alert stays firing and unacknowledged:
`converge notifier` tracks the alert from its first notification and pages each level
`after` that long. The levels must be in increasing `after` order (a level due before
the one above it would never be reached in order), each must name channels the notifier
delivers to (DingTalk, WeCom, Feishu, Slack, email, webhook: PagerDuty and Opsgenie have
their own escalation, Telegram, Discord and Teams none through converge), and the root
route takes none (escalation is rendered as a sibling route with `continue: true`, and the
root has no siblings). A channel's `escalation` applies to every route naming it as its
receiver without levels of its own, and is checked once, where the channel declares it.

Fix: order the levels by `after`, name channels of a type the notifier delivers, and put
the escalation on a child route that matches the alerts to escalate.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Route
from converge.specs.channel import EVENT_TYPES
from converge.specs.common import parse_duration

CODE = "route/escalation-invalid"
SEVERITY = Severity.ERROR
SUMMARY = "escalation levels that cannot work: out of order, a channel that cannot be paged"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None:
        return
    types = {c.name: c.spec.type for c in model.channels}
    root = model.routing.route
    if root.escalation:
        yield ctx.diag(root.origin.child("escalation"), CODE,
                       "the root route cannot escalate", key=True,
                       hint="move `escalation` to a child route matching those alerts")
    seen: set[str] = set()  # a channel's levels are checked once
    for route in _walk(root):
        declared_by = route.escalation[0].channel if route.escalation else None
        if declared_by is not None:
            if declared_by in seen:
                continue
            seen.add(declared_by)
        yield from _levels(ctx, route, types)


def _levels(ctx: Context, route: Route, types: dict[str, str]) -> Iterator[Diagnostic]:
    previous: float | None = None
    for level in route.escalation:
        try:
            after = parse_duration(level.after)
        except ValueError:
            continue  # duration/invalid reports it
        if previous is not None and after <= previous:
            yield ctx.diag(level.origin.child("after"), CODE,
                           f"escalation level after {level.after} is not later than the "
                           f"level before it", hint="order the levels by increasing `after`")
        previous = after
        for i, name in enumerate(level.channels):
            kind = types.get(name)
            if kind is not None and kind not in EVENT_TYPES:
                yield ctx.diag(level.origin.child("channels", i), CODE,
                               f"channel {name!r} is a {kind} channel: converge notifier "
                               f"cannot page it", hint="name a dingtalk, wecom, feishu, "
                               "slack, email or webhook channel")


def _walk(route: Route) -> Iterator[Route]:
    yield route
    for child in route.routes:
        yield from _walk(child)
