"""Every name a spec refers to exists.

Routes name `Channel`s as receivers and time intervals to mute or activate; routing
tests name the `Channel`s an alert must reach; worker pools name a `HealingPolicy`;
healing policies and escalation levels name the `Channel`s their events go to; the
Project names the channels daemon events default to and the dead-letter fallback
channel. A
reference to a document that exists but has errors of its own is not reported again.

Fix: correct the name, or add the missing document.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin, Route

CODE = "ref/unresolved"
SEVERITY = Severity.ERROR
SUMMARY = "a reference names something that does not exist"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    channels = {c.name for c in model.channels} | model.broken.get("Channel", frozenset())
    policies = {p.name for p in model.healing} | model.broken.get("HealingPolicy", frozenset())
    if model.routing is not None:
        intervals = {t.name for t in model.routing.time_intervals}
        for route in _walk(model.routing.route):
            if route.receiver is not None:
                yield from _resolve(ctx, route.origin.child("receiver"), route.receiver,
                                    channels, "channel")
            yield from _escalation(ctx, route, channels)
            for field, names in (("muteTimeIntervals", route.mute_time_intervals),
                                 ("activeTimeIntervals", route.active_time_intervals)):
                for i, name in enumerate(names):
                    yield from _resolve(ctx, route.origin.child(field, i), name, intervals,
                                        "time interval")
        for test in model.routing.tests:
            for i, name in enumerate(test.spec.receivers or ()):
                yield from _resolve(ctx, test.origin.child("receivers", i), name, channels,
                                    "channel")
    for pool in model.pools:
        if pool.spec.healing_policy is not None:
            yield from _resolve(ctx, pool.origin.child("healingPolicy"),
                                pool.spec.healing_policy, policies, "healing policy")
    yield from _channel_levels(model, ctx, channels)
    for policy in model.healing:
        for i, name in enumerate(policy.spec.alert.channels):
            yield from _resolve(ctx, policy.origin.child("alert", "channels", i), name,
                                channels, "channel")
    yield from _project(model, ctx, channels)


def _escalation(ctx: Context, route: Route, channels: set[str] | frozenset[str]
                ) -> Iterator[Diagnostic]:
    """The channels of a route's escalation levels."""
    for level in route.escalation:
        if level.channel is not None:
            continue  # a channel's levels: resolved once, with the channel
        for i, name in enumerate(level.channels):
            yield from _resolve(ctx, level.origin.child("channels", i), name, channels,
                                "channel")


def _channel_levels(model: Model, ctx: Context, channels: set[str] | frozenset[str]
                    ) -> Iterator[Diagnostic]:
    """The channels of channels' escalation levels."""
    for channel in model.channels:
        for j, level in enumerate(getattr(channel.spec, "escalation", None) or ()):
            for i, name in enumerate(level.channels):
                yield from _resolve(ctx, channel.origin.child("escalation", j, "channels", i),
                                    name, channels, "channel")


def _project(model: Model, ctx: Context, channels: set[str] | frozenset[str]
             ) -> Iterator[Diagnostic]:
    """The Project's `notifications` channels."""
    project = model.project
    if project.origin is None:
        return
    for i, name in enumerate(project.event_channels):
        yield from _resolve(ctx, project.origin.child("notifications", "eventChannels", i),
                            name, channels, "channel")
    if project.fallback_channel is not None:
        yield from _resolve(ctx, project.origin.child("notifications", "fallbackChannel"),
                            project.fallback_channel, channels, "channel")


def _walk(route: Route) -> Iterator[Route]:
    yield route
    for child in route.routes:
        yield from _walk(child)


def _resolve(ctx: Context, origin: Origin, name: str, known: set[str] | frozenset[str],
             what: str) -> Iterator[Diagnostic]:
    if name in known:
        return
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else (
        f"known: {', '.join(sorted(known))}" if known else f"no {what} is defined")
    yield ctx.diag(origin, CODE, f"unknown {what} {name!r}", hint=hint)
