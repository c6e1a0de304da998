"""Routing assertions, evaluated on the compiled route tree and inhibit rules.

Pure: no Alertmanager runs. Receivers come from `evaluate.routes` (first match wins unless
`continue`), inhibitions from `evaluate.inhibits` over every inhibit rule, those generated for
tiered alerts included. An alert's labels are the Project's `externalLabels` overlaid
with the test's own (Prometheus adds external labels to every alert it sends); a label
set to `""` is absent, as in Alertmanager. Time intervals are not evaluated: a route that
is muted at some hours still counts as reached.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.evaluate import inhibits, routes
from converge.compiler.matchers import Matcher
from converge.compiler.model import InhibitRule, Model, Routing, SpecTest
from converge.compiler.testing.results import ROUTING_FAILED, Failure, Result, title
from converge.specs.common import parse_duration
from converge.specs.routing_tests import RoutingTest


def run(model: Model) -> list[Result]:
    """Evaluate every routing assertion of the model, in order."""
    if model.routing is None:
        return []
    return [evaluate(model.routing, test, model.project.external_labels)
            for test in model.routing.tests]


def alert_labels(labels: dict[str, str], external: dict[str, str]) -> dict[str, str]:
    """The labels Alertmanager sees: external labels, then the alert's; no empty values."""
    return {k: v for k, v in {**external, **labels}.items() if v != ""}


def evaluate(routing: Routing, test: SpecTest, external: dict[str, str]) -> Result:
    """Evaluate one assertion."""
    spec: RoutingTest = test.spec
    name = title(test.origin, spec.name, "routing")
    if spec.alert is not None:
        failures = [*_receivers(routing, test, spec, external, name),
                    *_escalations(routing, test, spec, external, name)]
    else:
        failures = list(_inhibition(routing, test, spec, external, name))
    return Result("routing", name, test.origin, tuple(failures))


def _receivers(routing: Routing, test: SpecTest, spec: RoutingTest, external: dict[str, str],
               name: str) -> Iterator[Failure]:
    assert spec.alert is not None and spec.receivers is not None
    labels = alert_labels(spec.alert.labels, external)
    got = [r for r in routes.receivers_for(routing.route, labels) if r]
    if got == spec.receivers:
        return
    if sorted(got) == sorted(spec.receivers):
        problem = "the alert reaches these receivers in another order"
    else:
        missing = [r for r in spec.receivers if r not in got]
        extra = [r for r in got if r not in spec.receivers]
        problem = "; ".join(part for part in (
            f"it does not reach {_names(missing)}" if missing else "",
            f"it also reaches {_names(extra)}" if extra else "") if part) or (
            "a receiver is listed twice, but each is notified once")
    yield Failure(test.origin.child("receivers"), ROUTING_FAILED,
                  f"{name}: wrong receivers: {problem}",
                  (f"expected: {_names(spec.receivers)}", f"got:      {_names(got)}",
                   f"labels:   {_labels(labels)}"))


def _escalations(routing: Routing, test: SpecTest, spec: RoutingTest,
                 external: dict[str, str], name: str) -> Iterator[Failure]:
    if spec.escalations is None or spec.alert is None:
        return
    labels = alert_labels(spec.alert.labels, external)
    got = [(parse_duration(level.after), list(level.channels))
           for route in routes.escalating_for(routing.route, labels)
           for level in route.escalation]
    expected = [(parse_duration(level.after), list(level.channels))
                for level in spec.escalations]
    if got == expected:
        return
    yield Failure(test.origin.child("escalations"), ROUTING_FAILED,
                  f"{name}: wrong escalation: the alert does not escalate as expected",
                  (f"expected: {_levels(expected)}", f"got:      {_levels(got)}",
                   f"labels:   {_labels(labels)}"))


def _levels(levels: list[tuple[float, list[str]]]) -> str:
    return "; ".join(f"after {int(after)}s to {', '.join(channels)}"
                     for after, channels in levels) or "no escalation"


def _inhibition(routing: Routing, test: SpecTest, spec: RoutingTest, external: dict[str, str],
                name: str) -> Iterator[Failure]:
    assert spec.while_ is not None
    muted = spec.inhibited if spec.inhibited is not None else spec.not_inhibited
    assert muted is not None
    field = "inhibited" if spec.inhibited is not None else "notInhibited"
    target = alert_labels(muted.labels, external)
    source = alert_labels(spec.while_.labels, external)
    verdicts = inhibits.verdicts(routing.inhibit_rules, target, source)
    muting = [v for v in verdicts if v.mutes]
    evidence = (f"muted:  {_labels(target)}", f"firing: {_labels(source)}")
    if spec.inhibited is not None and not muting:
        candidates = [v for v in verdicts if v.targets]
        reasons = tuple(f"{_rule(v.rule)}: {v.reason}" for v in candidates) or (
            "no inhibit rule's targetMatchers match the muted alert",)
        yield Failure(test.origin.child(field), ROUTING_FAILED,
                      f"{name}: the alert is not inhibited", (*evidence, *reasons), on_key=True)
    elif spec.not_inhibited is not None and muting:
        yield Failure(test.origin.child(field), ROUTING_FAILED,
                      f"{name}: the alert is inhibited",
                      (*evidence, *(f"muted by {_rule(v.rule)}" for v in muting)), on_key=True)


def _rule(rule: InhibitRule) -> str:
    """An inhibit rule as the user can find it: where it is written, or what made it."""
    if rule.generated_for is not None:
        tiers = [next((m.value for m in side if isinstance(m, Matcher) and m.name == "severity"),
                      "?") for side in (rule.source_matchers, rule.target_matchers)]
        return (f"the inhibit rule generated for tiered alert {rule.generated_for!r} "
                f"({tiers[0]} mutes {tiers[1]})")
    index = rule.origin.path[-1]
    number = index + 1 if isinstance(index, int) else index
    line = rule.origin.document.locate(rule.origin.path).line
    return f"inhibit rule {number} (line {line})"


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "(none)"


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
