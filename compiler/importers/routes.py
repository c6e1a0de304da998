"""The Alertmanager route tree, inhibit rules and time intervals in converge's shape.

Receivers become channel names; a receiver with several integrations became several
channels, and the routes that would notify it fan out to all of them (`fan_out`).
`match` / `match_re` become `matchers`; the old top-level `mute_time_intervals` join
`time_intervals`.
"""

from __future__ import annotations

from typing import Any

from converge.compiler.importers import am_matchers, fan_out
from converge.compiler.importers import documents as docs

_DURATIONS = (("group_wait", "groupWait"), ("group_interval", "groupInterval"),
              ("repeat_interval", "repeatInterval"))
_INTERVALS = (("mute_time_intervals", "muteTimeIntervals"),
              ("active_time_intervals", "activeTimeIntervals"))
_ROUTE_FIELDS = {"receiver", "group_by", "continue", "match", "match_re", "matchers",
                 "routes", *(key for key, _ in _DURATIONS), *(key for key, _ in _INTERVALS)}
MATCH_ALL = 'alertname=~".*"'


def convert_route(raw: dict[str, Any], *, channels: dict[str, list[str]], where: str,
                  notes: list[str], inherited: str | None = None) -> dict[str, Any]:
    """One route and its children, receivers replaced by channel names.

    Args:
        channels: the channel names of each receiver, in integration order.
        inherited: the receiver (source name) this route inherits when it names none.

    Raises:
        SourceFormatError: an unknown receiver, a malformed field or matcher.
    """
    receiver = docs.to_text(raw.get("receiver"), where=f"{where}: receiver") or None
    if receiver is not None and receiver not in channels:
        raise docs.SourceFormatError(f"{where}: unknown receiver {receiver!r}")
    if receiver is None and inherited is None:
        raise docs.SourceFormatError(f"{where}: the root route needs a receiver")
    effective = receiver or inherited
    assert effective is not None
    route: dict[str, Any] = {}
    if receiver is not None:
        route["receiver"] = channels[receiver][0]
    route.update(_settings(raw, where=where))
    for key in raw:
        if key not in _ROUTE_FIELDS:
            notes.append(f"{where}: unknown field {key!r}, not imported")
    children = [
        convert_route(docs.mapping(child, where=f"{where}.routes[{i}]"), channels=channels,
                      where=f"{where}.routes[{i}]", notes=notes, inherited=effective)
        for i, child in enumerate(docs.sequence(raw.get("routes"), where=f"{where}: routes"))
    ]
    targets = channels[effective]
    if len(targets) > 1:
        added, exact = fan_out.routes(route, children, targets)
        children.extend(added)
        if not exact:
            notes.append(
                f"{where}: receiver {effective!r} fans out to {', '.join(targets)} after the "
                "child routes, unguarded (too many `continue` matchers): an alert matched "
                "only by children with `continue: true` now also reaches them")
    if children:
        route["routes"] = children
    return route


def _settings(raw: dict[str, Any], *, where: str) -> dict[str, Any]:
    """Matchers, grouping, timing, `continue` and time intervals of one route."""
    route: dict[str, Any] = {}
    found = am_matchers.convert(raw, prefix="", where=where)
    if found:
        route["matchers"] = found
    if raw.get("group_by") is not None:
        route["groupBy"] = docs.string_list(raw["group_by"], where=f"{where}: group_by")
    for key, alias in _DURATIONS:
        if raw.get(key) is not None:
            route[alias] = docs.to_text(raw[key], where=f"{where}: {key}")
    if raw.get("continue") is not None and docs.to_bool(raw["continue"], where=where):
        route["continue"] = True
    for key, alias in _INTERVALS:
        if raw.get(key):
            route[alias] = docs.string_list(raw[key], where=f"{where}: {key}")
    return route


def convert_inhibit_rules(raw: Any, *, where: str, notes: list[str]) -> list[dict[str, Any]]:
    """Inhibit rules with `source_match*` / `target_match*` as matcher lists.

    An empty side matches every alert in Alertmanager; converge needs a matcher, so it
    gets `alertname=~".*"`, which matches every alert too.
    """
    rules = []
    for index, item in enumerate(docs.sequence(raw, where=where)):
        at = f"{where}[{index}]"
        rule = docs.mapping(item, where=at)
        converted: dict[str, Any] = {}
        for side in ("source", "target"):
            found = am_matchers.convert(rule, prefix=f"{side}_", where=at)
            if not found:
                notes.append(f"{at}: no {side} matchers (every alert); written as {MATCH_ALL}")
            converted[f"{side}Matchers"] = found or [MATCH_ALL]
        equal = docs.string_list(rule.get("equal"), where=f"{at}: equal")
        if equal:
            converted["equal"] = equal
        rules.append(converted)
    return rules


def convert_time_intervals(raw: Any, *, where: str) -> list[dict[str, Any]]:
    """`time_intervals` (or the older `mute_time_intervals`) with camelCase fields."""
    intervals = []
    for index, item in enumerate(docs.sequence(raw, where=where)):
        at = f"{where}[{index}]"
        interval = docs.mapping(item, where=at)
        periods = []
        for number, period_item in enumerate(
                docs.sequence(interval.get("time_intervals"), where=f"{at}: time_intervals")):
            periods.append(_period(docs.mapping(period_item, where=at), where=f"{at}[{number}]"))
        intervals.append({"name": docs.to_text(interval.get("name"), where=f"{at}: name"),
                          "timeIntervals": periods})
    return intervals


def _period(raw: dict[str, Any], *, where: str) -> dict[str, Any]:
    period: dict[str, Any] = {}
    times = []
    for item in docs.sequence(raw.get("times"), where=f"{where}: times"):
        span = docs.mapping(item, where=f"{where}: times")
        times.append({"startTime": docs.to_text(span.get("start_time"), where=where),
                      "endTime": docs.to_text(span.get("end_time"), where=where)})
    if times:
        period["times"] = times
    for key, alias in (("weekdays", "weekdays"), ("days_of_month", "daysOfMonth"),
                       ("months", "months"), ("years", "years")):
        if raw.get(key):
            period[alias] = docs.string_list(raw[key], where=f"{where}: {key}")
    if raw.get("location") is not None:
        period["location"] = docs.to_text(raw["location"], where=f"{where}: location")
    return period
