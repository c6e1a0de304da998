"""Expand validated specs into the compiled model: defaults, threshold tiers, matchers.

A tiered alert (`thresholds: {warning: 80, critical: 95}`) becomes one alert per tier with
`severity` set and `$threshold` replaced by the tier's value; for each tiered alert an
inhibit rule is generated so that while a higher tier fires, the lower ones are muted.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from converge.compiler import exprs, matchers, metamonitoring, model
from converge.compiler.validate import Resource, Validated
from converge.specs.common import SEVERITY_ORDER
from converge.specs.project import ProjectSpec
from converge.specs.routing import InhibitRule, Route, RoutingSpec
from converge.specs.rule_group import Rule, RuleGroupSpec, Tier

THRESHOLD = "$threshold"
_FALLBACK_EQUAL = ("instance", "job")


GroupCache = dict[int, tuple[Resource, model.Project, model.RuleGroup]]
"""Rule groups expanded before, by the id of their resource (with the resource, kept
alive, and the project they were expanded under)."""


def expand(validated: Validated, cache: GroupCache | None = None) -> model.Model:
    """Build the compiled model from validated resources.

    `cache`: rule groups kept across calls that pass the same resource objects (`converge
    diff` expands the groups both sides share once). A group depends on nothing but its
    resource and the project, so the model is the same. With `_expression_names`, this
    takes the head's expansion from 0.2 s to 0.03 s at 10,000 rules.
    """
    by_kind: dict[str, list[Resource]] = {}
    for resource in validated.resources:
        by_kind.setdefault(resource.kind, []).append(resource)
    projects = by_kind.get("Project", [])
    project = _project(projects[0] if projects else None)
    groups = tuple(_group(r, project) if cache is None else _cached_group(r, project, cache)
                   for r in by_kind.get("RuleGroup", []))
    if projects:
        groups += metamonitoring.groups(projects[0].spec.meta_monitoring, project)
    routings = by_kind.get("Routing", [])
    channels = tuple(_named(r) for r in by_kind.get("Channel", []))
    routing = _routing(routings[0], groups, project, channels) if routings else None
    return model.Model(
        project=project,
        groups=groups,
        channels=channels,
        routing=routing,
        pools=tuple(_named(r) for r in by_kind.get("WorkerPool", [])),
        healing=tuple(_named(r) for r in by_kind.get("HealingPolicy", [])),
        broken={kind: frozenset(names) for kind, names in validated.broken.items()},
        extra_projects=tuple(_origin(r) for r in projects[1:]),
        extra_routings=tuple(_origin(r) for r in routings[1:]),
    )


def _origin(resource: Resource, *loc: str | int) -> model.Origin:
    return model.Origin(resource.document, resource.source_path(*loc) if loc else ("spec",))


def _tests(resource: Resource, tests: Iterable[Any]) -> tuple[model.SpecTest, ...]:
    return tuple(model.SpecTest(test, _origin(resource, "tests", i))
                 for i, test in enumerate(tests))


def _named(resource: Resource) -> model.Named:
    return model.Named(resource.name, resource.spec, _origin(resource))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _project(resource: Resource | None) -> model.Project:
    spec: ProjectSpec = resource.spec if resource else ProjectSpec()
    targets = {
        name: model.Target(name, target.enabled, _version(target.version))
        for name, target in (("prometheus", spec.targets.prometheus),
                             ("vmalert", spec.targets.vmalert),
                             ("alertmanager", spec.targets.alertmanager))
    }
    return model.Project(
        name=resource.name if resource else "converge",
        targets=targets,
        external_labels=dict(spec.external_labels),
        notifier_url=spec.notifier_url.rstrip("/"),
        default_interval=spec.defaults.interval,
        default_labels=dict(spec.defaults.labels),
        default_annotations=dict(spec.defaults.annotations),
        origin=_origin(resource) if resource else None,
        kubernetes={name: target for name, target in (
            ("prometheusOperator", spec.targets.prometheus_operator),
            ("victoriaMetricsOperator", spec.targets.victoria_metrics_operator),
            ("keda", spec.targets.keda)) if target is not None and target.enabled},
        lint_disable=tuple(spec.lint.disable),
        required_labels={k: tuple(v) for k, v in spec.lint.required_labels.items()},
        required_annotations=tuple(spec.lint.required_annotations),
        event_channels=tuple(spec.notifications.event_channels),
        fallback_channel=spec.notifications.fallback_channel,
        events_to_alertmanager=spec.notifications.alertmanager,
    )


def format_threshold(value: float) -> str:
    """A tier value as PromQL text: `80`, not `80.0`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _cached_group(resource: Resource, project: model.Project,
                  cache: GroupCache) -> model.RuleGroup:
    found = cache.get(id(resource))
    if found is not None and found[0] is resource and found[1] == project:
        return found[2]
    group = _group(resource, project)
    cache[id(resource)] = (resource, project, group)
    return group


def _group(resource: Resource, project: model.Project) -> model.RuleGroup:
    spec: RuleGroupSpec = resource.spec
    enabled = tuple(t for t in spec.targets if project.targets[t].enabled)
    rules: list[model.Rule] = []
    tiered: list[str] = []
    for index, rule in enumerate(spec.rules):
        origin = _origin(resource, "rules", index)
        expanded = list(_expand_rule(rule, origin, enabled, project))
        if rule.thresholds is not None and rule.alert is not None:
            tiered.append(rule.alert)
        rules.extend(expanded)
    vmalert = spec.vmalert.model_dump(exclude_none=True, by_alias=False) if spec.vmalert else {}
    return model.RuleGroup(
        name=resource.name,
        interval=spec.interval or project.default_interval,
        limit=spec.limit,
        query_offset=spec.query_offset,
        labels=dict(spec.labels) if spec.labels is not None else None,
        targets=enabled,
        vmalert=vmalert,
        rules=tuple(rules),
        tiered=tuple(tiered),
        origin=_origin(resource),
        tests=_tests(resource, spec.tests),
        spec_name=spec.name,
    )


def tiers(rule: Rule) -> list[tuple[str, Tier]]:
    """The rule's tiers, lowest severity first, each as a `Tier`."""
    if rule.thresholds is None:
        return []
    found = []
    for severity in SEVERITY_ORDER:
        value = getattr(rule.thresholds, severity)
        if value is not None:
            tier = value if isinstance(value, Tier) else Tier.model_validate({"value": value})
            found.append((severity, tier))
    return found


def _expand_rule(rule: Rule, origin: model.Origin, group_targets: tuple[str, ...],
                 project: model.Project) -> Iterable[model.Rule]:
    targets = tuple(t for t in group_targets if rule.targets is None or t in rule.targets)
    vmalert = rule.vmalert.model_dump(exclude_none=True, by_alias=False) if rule.vmalert else {}
    labels = {**project.default_labels, **rule.labels}
    is_alert = rule.alert is not None
    annotations = {**project.default_annotations, **rule.annotations} if is_alert else {}
    untiered = model.Rule(
        kind="alert" if is_alert else "record", name=rule.alert or rule.record or "",
        expr=rule.expr, raw_expr=rule.expr, for_=rule.for_,
        keep_firing_for=rule.keep_firing_for, labels=labels, annotations=annotations,
        targets=targets, vmalert=vmalert, tier=None, origin=origin)
    tier_list = tiers(rule) if is_alert else []
    if not tier_list:
        yield untiered
        return
    for severity, tier in tier_list:
        text = format_threshold(tier.value)
        yield dataclasses.replace(
            untiered,
            expr=rule.expr.replace(THRESHOLD, text),
            for_=tier.for_ or rule.for_,
            labels={**labels, **tier.labels, "severity": severity},
            annotations={k: v.replace(THRESHOLD, text)
                         for k, v in {**annotations, **tier.annotations}.items()},
            tier=severity,
        )


def _route(spec: Route, origin: model.Origin,
           by_channel: dict[str, tuple[model.Escalation, ...]] | None = None, *,
           root: bool = False) -> model.Route:
    """A route; one without `escalation` of its own, not the root, takes its receiver
    channel's."""
    escalation = _levels(spec.escalation, origin)
    if not escalation and not root and spec.receiver is not None:
        escalation = (by_channel or {}).get(spec.receiver, ())
    return model.Route(
        receiver=spec.receiver,
        matchers=tuple(matchers.parse(m) for m in spec.matchers),
        group_by=tuple(spec.group_by) if spec.group_by is not None else None,
        group_wait=spec.group_wait,
        group_interval=spec.group_interval,
        repeat_interval=spec.repeat_interval,
        continue_=spec.continue_,
        mute_time_intervals=tuple(spec.mute_time_intervals),
        active_time_intervals=tuple(spec.active_time_intervals),
        routes=tuple(_route(child, origin.child("routes", i), by_channel)
                     for i, child in enumerate(spec.routes)),
        origin=origin,
        escalation=escalation,
    )


def _inhibit(spec: InhibitRule, origin: model.Origin) -> model.InhibitRule:
    return model.InhibitRule(
        source_matchers=tuple(matchers.parse(m) for m in spec.source_matchers),
        target_matchers=tuple(matchers.parse(m) for m in spec.target_matchers),
        equal=tuple(spec.equal),
        generated_for=None,
        origin=origin,
    )


def _levels(levels: Iterable[Any], origin: model.Origin, *,
            channel: str | None = None) -> tuple[model.Escalation, ...]:
    return tuple(model.Escalation(after=level.after, channels=tuple(level.channels),
                                  repeat=level.repeat, origin=origin.child("escalation", i),
                                  channel=channel)
                 for i, level in enumerate(levels))


def _routing(resource: Resource, groups: tuple[model.RuleGroup, ...],
             project: model.Project, channels: tuple[model.Named, ...] = ()) -> model.Routing:
    spec: RoutingSpec = resource.spec
    origin = _origin(resource)
    by_channel = {c.name: _levels(c.spec.escalation, c.origin, channel=c.name) for c in channels
                  if getattr(c.spec, "escalation", None)}
    inhibits = [_inhibit(rule, origin.child("inhibitRules", i))
                for i, rule in enumerate(spec.inhibit_rules)]
    if spec.tiered_inhibition:
        inhibits.extend(_tier_inhibits(groups, project))
    return model.Routing(
        name=resource.name,
        route=_route(spec.route, origin.child("route"), by_channel, root=True),
        inhibit_rules=tuple(inhibits),
        time_intervals=tuple(spec.time_intervals),
        origin=origin,
        tests=_tests(resource, spec.tests),
        templates=dict(spec.templates),
    )


def _tier_inhibits(groups: Iterable[model.RuleGroup],
                   project: model.Project) -> Iterable[model.InhibitRule]:
    """For each tiered alert: while a higher tier fires, mute the lower tiers."""
    groups = list(groups)
    # Scanning every expression for label names costs 0.3 s at 10,000 rules; only
    # alerts whose expression may keep any label need it, so it is found on first use.
    universe = functools.cache(lambda: _label_universe(groups, project))
    seen: set[str] = set()
    for group in groups:
        for name in group.tiered:
            if name in seen:
                continue
            seen.add(name)
            rules = [r for r in group.rules if r.name == name and r.tier is not None]
            if len(rules) < 2:
                continue
            equal = _identity_labels(rules[0].raw_expr, project, universe)
            ordered = [r.tier for r in rules if r.tier]
            for position, higher in enumerate(ordered[1:], start=1):
                lower = ordered[:position]
                target_op = "=" if len(lower) == 1 else "=~"
                yield model.InhibitRule(
                    source_matchers=(matchers.Matcher("alertname", "=", name),
                                     matchers.Matcher("severity", "=", higher)),
                    target_matchers=(matchers.Matcher("alertname", "=", name),
                                     matchers.Matcher("severity", target_op, "|".join(lower))),
                    equal=equal,
                    generated_for=name,
                    origin=rules[0].origin.child("thresholds"),
                )


def _identity_labels(expr: str, project: model.Project,
                     universe: Callable[[], frozenset[str]]) -> tuple[str, ...]:
    """The labels that tell one firing series of an alert from another.

    When the expression's result may carry any label, every label name the repository
    mentions is listed: a label missing on both alerts counts as equal in Alertmanager, so
    extra names never widen the mute, while a missing one would mute other series.
    """
    labels: Any = exprs.labels(expr)
    names: set[str] = set(project.external_labels)
    if labels is not None and not labels.any:
        names.update(labels.names)
    else:
        names.update(universe())
    names.difference_update(("severity", "alertname"))
    return tuple(sorted(names))


_BY_CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_OPERATOR = re.compile(r"(?:=~|!~|!=|=)\s*[\"'`]")
_REVERSED_NAME = re.compile(r"\s*([A-Za-z0-9_]+)")


def _matcher_names(expr: str) -> list[str]:
    """The label names before matcher operators (`job` in `{job="api"}`).

    What `re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\\s*(?:=~|!~|!=|=)\\s*[\"'`]", expr)` finds
    (compared on a million random strings), 6x faster: that pattern tries a match at every
    character of every metric name, 0.4 s at 10,000 rules. Here each operator is found
    first and the run of name characters before it is read backwards, without leading digits.
    """
    names = []
    backwards = expr[::-1]
    for operator in _OPERATOR.finditer(expr):
        run = _REVERSED_NAME.match(backwards, len(expr) - operator.start())
        if run is not None:
            name = run.group(1)[::-1].lstrip("0123456789")
            if name:
                names.append(name)
    return names


def _label_universe(groups: list[model.RuleGroup], project: model.Project) -> frozenset[str]:
    """Every label name the rules mention: in labels, aggregations, matchings, matchers."""
    names: set[str] = set(_FALLBACK_EQUAL) | set(project.external_labels)
    expressions: set[str] = set()  # the tiers of an alert share one
    for group in groups:
        for rule in group.rules:
            names.update(rule.labels)
            expressions.add(rule.raw_expr)
    for expr in expressions:
        names.update(_expression_names(expr))
    names.discard("__name__")
    return frozenset(n for n in names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))


@functools.lru_cache(maxsize=65536)
def _expression_names(expr: str) -> frozenset[str]:
    """The label names an expression mentions in clauses and before matchers; cached, so
    `converge diff` scans each expression of both sides once."""
    names = {part.strip() for clause in _BY_CLAUSE.findall(expr)
             for part in clause.split(",") if part.strip()}
    names.update(_matcher_names(expr))
    return frozenset(names)
