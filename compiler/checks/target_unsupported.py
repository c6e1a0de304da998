"""Fields and channel types are accepted by the target versions the project renders for.

Each target's version comes from `converge.yaml` (defaults: Prometheus 2.42, vmalert
1.79, Alertmanager 0.25). For example group `labels` needs Prometheus ≥ 3.0,
`queryOffset` needs Prometheus ≥ 2.53 and is never accepted by vmalert, and `msteams`
receivers need Alertmanager ≥ 0.26. The rendered file would be rejected by the target,
so the spec is rejected first. (`keepFiringFor` is left out of an older target's file
instead: `target/field-dropped`.)

Fix: restrict the group or rule with `targets:`, raise the target's version in
`converge.yaml`, or drop the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic.alias_generators import to_camel

from converge.compiler import targets
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model, Origin, Target
from converge.specs.channel import NOTIFIER_TYPES

CODE = "target/unsupported"
SEVERITY = Severity.ERROR
SUMMARY = "a field or channel type is not accepted by a target version"
_HINT = "restrict it with `targets:` or raise the target's version in converge.yaml"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    yield from _rule_files(model, ctx)
    yield from _alertmanager(model, ctx)


def _rule_files(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for group in model.groups:
        present: list[tuple[str, Origin]] = []
        for field, value in (("limit", group.limit), ("queryOffset", group.query_offset),
                             ("labels", group.labels)):
            if value is not None:
                present.append((f"group.{field}", group.origin.child(field)))
        present += _vmalert_fields("group", group.vmalert, group.origin)
        yield from _gate(ctx, model, present, group.targets)
        seen: set[Origin] = set()
        for rule in group.rules:
            if rule.origin in seen:
                continue
            seen.add(rule.origin)
            fields = _vmalert_fields("rule", rule.vmalert, rule.origin)
            yield from _gate(ctx, model, fields, rule.targets)


def _vmalert_fields(scope: str, options: dict[str, Any],
                    origin: Origin) -> list[tuple[str, Origin]]:
    return [(f"{scope}.vmalert.{to_camel(key)}", origin.child("vmalert", to_camel(key)))
            for key in options]


def _gate(ctx: Context, model: Model, fields: list[tuple[str, Origin]],
          rule_targets: tuple[str, ...]) -> Iterator[Diagnostic]:
    for feature, origin in fields:
        vmalert_only = ".vmalert." in feature
        for name in rule_targets:
            if vmalert_only and name != "vmalert":
                continue
            target: Target = model.project.targets[name]
            if not targets.supports(feature, name, target.version):
                field = feature.split(".", 1)[1]
                yield ctx.diag(origin, CODE,
                               f"{field} is not accepted by {name} {target.version_text} "
                               f"({targets.describe(feature)})", key=True, hint=_HINT)


def _alertmanager(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    alertmanager = model.project.targets["alertmanager"]
    if not alertmanager.enabled:
        return
    version = alertmanager.version
    for channel in model.channels:
        kind = channel.spec.type
        support = targets.RECEIVER_SUPPORT.get(kind)
        if kind not in NOTIFIER_TYPES and support is not None and not support.accepts(version):
            yield ctx.diag(channel.origin.child("type"), CODE,
                           f"{kind} receivers are not accepted by Alertmanager "
                           f"{alertmanager.version_text} ({support.describe('Alertmanager')})",
                           hint="raise the alertmanager version in converge.yaml, or use a "
                                "webhook channel")
    if model.routing is None:
        return
    gates = targets.ALERTMANAGER_FEATURES
    for route in routes.walk(model.routing.route):
        if route.active_time_intervals and not gates["route.activeTimeIntervals"].accepts(
                version):
            yield ctx.diag(route.origin.child("activeTimeIntervals"), CODE,
                           "activeTimeIntervals needs Alertmanager ≥ 0.24", key=True)
    for i, interval in enumerate(model.routing.time_intervals):
        if any(p.location for p in interval.time_intervals) and not gates[
                "timeIntervals.location"].accepts(version):
            yield ctx.diag(model.routing.origin.child("timeIntervals", i), CODE,
                           "time interval locations need Alertmanager ≥ 0.25")
