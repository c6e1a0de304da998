"""`Routing`: the Alertmanager route tree in channel names, time intervals, inhibit rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from converge.specs.common import Duration, LabelName, Spec
from converge.specs.routing_tests import RoutingTest

Matcher = Annotated[str, Field(min_length=1)]
"""An Alertmanager matcher: `name="value"`, `name!="value"`, `name=~"re"` or `name!~"re"`."""


class EscalationLevel(Spec):
    """Who is paged when an alert of the route is still firing, unacknowledged, `after`
    its first notification (through `converge notifier`)."""

    after: Duration
    """Time since the alert's first notification; must increase from level to level."""
    channels: Annotated[list[str], Field(min_length=1)]
    """`Channel` names paged at this level (types the notifier delivers events to)."""
    repeat: Duration | None = None
    """Page this level again every `repeat` while the alert stays unacknowledged; once
    when unset."""


class Route(Spec):
    """A node of the route tree: which alerts it takes, where they go, how they are grouped."""

    receiver: str | None = None
    """A `Channel` name; inherited from the parent route when unset."""
    matchers: list[Matcher] = Field(default_factory=list)
    """Alertmanager matchers that must all match; `[]` matches every alert."""
    group_by: list[str] | None = None
    """Label names, or `['...']` alone to group by every label."""
    group_wait: Duration | None = None
    """Wait before the first message of a new group; the parent's (root: 30s) when unset."""
    group_interval: Duration | None = None
    """Wait before telling of alerts added to a group; the parent's (root: 5m) when unset."""
    repeat_interval: Duration | None = None
    """Wait before repeating an unchanged message; the parent's (root: 4h) when unset."""
    continue_: bool = Field(default=False, alias="continue")
    """After this route matches, keep trying the routes after it."""
    mute_time_intervals: list[str] = Field(default_factory=list)
    """Time interval names during which nothing is sent."""
    active_time_intervals: list[str] = Field(default_factory=list)
    """Time interval names outside which nothing is sent (Alertmanager ≥ 0.24)."""
    routes: list[Route] = Field(default_factory=list)
    """Child routes, tried in order; the first match wins unless it has `continue: true`."""
    escalation: list[EscalationLevel] = Field(default_factory=list)
    """Levels paged while an alert this route takes stays firing and unacknowledged
    (not on the root route)."""


class TimeRange(Spec):
    """A time of day range, `HH:MM` to `HH:MM` (`24:00` allowed); quote them."""

    start_time: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    """Start of the range, `HH:MM`."""
    end_time: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    """End of the range, `HH:MM`."""


class TimePeriod(Spec):
    """Active when all of its given parts are; an omitted part means any."""

    times: list[TimeRange] = Field(default_factory=list)
    """Times of day."""
    weekdays: list[str] = Field(default_factory=list)
    """Days of the week or ranges: `monday:friday`, `saturday`."""
    days_of_month: list[str] = Field(default_factory=list)
    """Days of the month or ranges: `1:7`, `-1` (the last day)."""
    months: list[str] = Field(default_factory=list)
    """Months or ranges, by name or number: `january:march`, `12`."""
    years: list[str] = Field(default_factory=list)
    """Years or ranges: `2025:2026`."""
    location: str | None = None
    """IANA time zone, such as `Asia/Shanghai` (Alertmanager ≥ 0.25); UTC when unset."""


class TimeInterval(Spec):
    """A named time interval that routes mute or activate."""

    name: Annotated[str, Field(min_length=1)]
    """Unique name, what routes refer to."""
    time_intervals: list[TimePeriod] = Field(min_length=1)
    """Periods; the interval is active when any of them is."""


class InhibitRule(Spec):
    """While an alert matching `sourceMatchers` fires, mute those matching `targetMatchers`
    that share the values of the `equal` labels."""

    source_matchers: Annotated[list[Matcher], Field(min_length=1)]
    """Matchers of the alerts that mute."""
    target_matchers: Annotated[list[Matcher], Field(min_length=1)]
    """Matchers of the alerts that are muted."""
    equal: list[LabelName] = Field(default_factory=list)
    """Labels that must have equal values on both alerts."""


class RoutingSpec(Spec):
    """The Alertmanager route tree in Channel names, time intervals and inhibit rules."""

    route: Route
    """The root route, which receives every alert; give it a `receiver` as the catch-all."""
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    """Rules muting some alerts while others fire."""
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    """Named intervals that routes mute or activate."""
    tiered_inhibition: bool = True
    """Generate, for each tiered alert, a rule muting its lower tiers while a higher fires."""
    templates: dict[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")], str] = (
        Field(default_factory=dict))
    """Alertmanager template files by name: `{{ define }}`s channel templates may call."""
    tests: list[RoutingTest] = Field(default_factory=list)
    """Routing assertions `converge test` checks: receivers reached, inhibitions."""
