"""`Routing`: the Alertmanager route tree in channel names, time intervals, inhibit rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from specs.common import Duration, LabelName, Spec
from specs.routing_tests import RoutingTest

Matcher = Annotated[str, Field(min_length=1)]
"""An Alertmanager matcher: `name="value"`, `name!="value"`, `name=~"re"` or `name!~"re"`."""


class Route(Spec):
    receiver: str | None = None
    """A `Channel` name; inherited from the parent route when unset."""
    matchers: list[Matcher] = Field(default_factory=list)
    group_by: list[str] | None = None
    """Label names, or `['...']` alone to group by every label."""
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)


class TimeRange(Spec):
    start_time: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    end_time: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]


class TimePeriod(Spec):
    times: list[TimeRange] = Field(default_factory=list)
    weekdays: list[str] = Field(default_factory=list)
    days_of_month: list[str] = Field(default_factory=list)
    months: list[str] = Field(default_factory=list)
    years: list[str] = Field(default_factory=list)
    location: str | None = None


class TimeInterval(Spec):
    name: Annotated[str, Field(min_length=1)]
    time_intervals: list[TimePeriod] = Field(min_length=1)


class InhibitRule(Spec):
    """While an alert matching `sourceMatchers` fires, mute those matching `targetMatchers`
    that share the values of the `equal` labels."""

    source_matchers: Annotated[list[Matcher], Field(min_length=1)]
    target_matchers: Annotated[list[Matcher], Field(min_length=1)]
    equal: list[LabelName] = Field(default_factory=list)


class RoutingSpec(Spec):
    route: Route
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    tiered_inhibition: bool = True
    """Generate, for each tiered alert, a rule muting its lower tiers while a higher fires."""
    tests: list[RoutingTest] = Field(default_factory=list)
    """Routing assertions `converge test` checks: receivers reached, inhibitions."""
