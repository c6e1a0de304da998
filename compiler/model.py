"""The compiled model: frozen, snake_case, defaults applied, tiers expanded.

Checks and renderers read only this. Every element keeps an `Origin` (document and path)
so any finding about it can point at the spec that produced it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from converge.compiler.loader import Document, Path
from converge.compiler.matchers import Matcher, MatcherError


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """Where in which document a model element comes from."""

    document: Document
    path: Path

    def child(self, *loc: str | int) -> Origin:
        return Origin(self.document, (*self.path, *loc))


@dataclasses.dataclass(frozen=True, slots=True)
class SpecTest:
    """One entry of a spec's `tests:` (a rule unit test or a routing assertion)."""

    spec: Any
    origin: Origin


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    name: str
    enabled: bool
    version: tuple[int, ...]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


@dataclasses.dataclass(frozen=True, slots=True)
class Project:
    name: str
    targets: dict[str, Target]
    external_labels: dict[str, str]
    notifier_url: str
    default_interval: str | None
    default_labels: dict[str, str]
    default_annotations: dict[str, str]
    origin: Origin | None
    kubernetes: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The enabled Kubernetes targets (`prometheusOperator`, `victoriaMetricsOperator`,
    `keda`) by name, each its spec from `specs.project`."""
    lint_disable: tuple[str, ...] = ()
    """Codes (or families, `promql/*`) `converge check` does not report."""
    required_labels: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Labels every alert must carry, with their allowed values (empty: any)."""
    required_annotations: tuple[str, ...] = ()
    """Annotations every alert must carry."""
    event_channels: tuple[str, ...] = ()
    """Channels that receive daemon events nothing else sends anywhere."""
    fallback_channel: str | None = None
    """The channel dead letters fall back to."""
    events_to_alertmanager: bool = False
    """Daemon events go to Alertmanager as alerts."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One rule as a target evaluates it; a tiered alert becomes one `Rule` per tier."""

    kind: str  # "alert" | "record"
    name: str
    expr: str
    raw_expr: str
    for_: str | None
    keep_firing_for: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    targets: tuple[str, ...]
    vmalert: dict[str, Any]
    tier: str | None
    origin: Origin

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")


@dataclasses.dataclass(frozen=True, slots=True)
class RuleGroup:
    name: str
    """The RuleGroup's `metadata.name`: its file names and its name in converge."""
    interval: str | None
    """None: the target's global evaluation interval applies."""
    limit: int | None
    query_offset: str | None
    labels: dict[str, str] | None
    targets: tuple[str, ...]
    vmalert: dict[str, Any]
    rules: tuple[Rule, ...]
    tiered: tuple[str, ...]
    """Names of the group's tiered alerts."""
    origin: Origin
    tests: tuple[SpecTest, ...] = ()
    """Rule unit tests (`converge test`); never rendered."""
    spec_name: str | None = None
    """`spec.name`: the group's name in rendered files when it differs from `name`."""

    @property
    def group_name(self) -> str:
        """The name Prometheus and vmalert know the group by (in every rendered file)."""
        return self.spec_name or self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    receiver: str | None
    matchers: tuple[Matcher | MatcherError, ...]
    group_by: tuple[str, ...] | None
    group_wait: str | None
    group_interval: str | None
    repeat_interval: str | None
    continue_: bool
    mute_time_intervals: tuple[str, ...]
    active_time_intervals: tuple[str, ...]
    routes: tuple[Route, ...]
    origin: Origin
    escalation: tuple[Escalation, ...] = ()
    """Escalation levels, in the order written."""

    @property
    def escalation_id(self) -> str:
        """The route's place in the tree (`0-2`: the root's first child's third child):
        what names its escalation receiver and the notifier's escalation hook."""
        indices = [str(part) for part in self.origin.path if isinstance(part, int)]
        return "-".join(indices) or "root"


@dataclasses.dataclass(frozen=True, slots=True)
class Escalation:
    """One escalation level of a route."""

    after: str
    channels: tuple[str, ...]
    repeat: str | None
    origin: Origin
    channel: str | None = None
    """The Channel that declares the level (a channel's `escalation`), else None."""


@dataclasses.dataclass(frozen=True, slots=True)
class InhibitRule:
    source_matchers: tuple[Matcher | MatcherError, ...]
    target_matchers: tuple[Matcher | MatcherError, ...]
    equal: tuple[str, ...]
    generated_for: str | None
    """The tiered alert this rule was generated for, if it was generated."""
    origin: Origin


@dataclasses.dataclass(frozen=True, slots=True)
class Routing:
    name: str
    route: Route
    inhibit_rules: tuple[InhibitRule, ...]
    time_intervals: tuple[Any, ...]
    origin: Origin
    tests: tuple[SpecTest, ...] = ()
    """Routing assertions (`converge test`); never rendered."""
    templates: dict[str, str] = dataclasses.field(default_factory=dict)
    """Alertmanager template files by name (`templates/_<name>.tmpl`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Named:
    """A channel, worker pool or healing policy: its name, validated spec and origin."""

    name: str
    spec: Any
    origin: Origin


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    project: Project
    groups: tuple[RuleGroup, ...]
    channels: tuple[Named, ...]
    routing: Routing | None
    pools: tuple[Named, ...]
    healing: tuple[Named, ...]
    broken: dict[str, frozenset[str]]
    """Names per kind of documents that failed validation."""
    extra_projects: tuple[Origin, ...] = ()
    extra_routings: tuple[Origin, ...] = ()

    def alerts(self) -> list[tuple[RuleGroup, Rule]]:
        return [(g, r) for g in self.groups for r in g.rules if r.kind == "alert"]

    def written_rules(self, *, kind: str | None = None,
                      target: str | None = None) -> Iterator[Rule]:
        """Each rule as written in a spec, once: the first of the tiers one alert expands
        to (they share its origin and expression). `kind` (alert, record) and `target`
        (prometheus, vmalert) narrow it."""
        seen: set[Origin] = set()
        for group in self.groups:
            for rule in group.rules:
                if rule.origin in seen or (kind is not None and rule.kind != kind) or (
                        target is not None and target not in rule.targets):
                    continue
                seen.add(rule.origin)
                yield rule

    def channel(self, name: str) -> Named | None:
        return next((c for c in self.channels if c.name == name), None)
