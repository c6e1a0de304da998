"""Changes to what Alertmanager loads: routes, receivers, inhibit rules, time intervals.

Read from the rendered `alertmanager.yaml` of each side, so the diff shows exactly what
Alertmanager will run (secrets are already placeholders there). Routes have no names: a
route is known by its matchers and those of its ancestors, and routes with the same
matchers pair up in their order. Inhibit rules have no names either: they are added or
removed as a whole.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from converge.compiler.diff.changes import Counts, FieldChange, ItemChange, Status
from converge.compiler.diff.fields import nested_changes

PATH = "alertmanager/alertmanager.yaml"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INTERVAL_KEYS = ("time_intervals", "mute_time_intervals")


@dataclasses.dataclass(frozen=True, slots=True)
class Changes:
    routes: tuple[ItemChange, ...]
    receivers: tuple[ItemChange, ...]
    inhibit_rules: tuple[ItemChange, ...]
    time_intervals: tuple[ItemChange, ...]

    def counts(self) -> tuple[tuple[str, Counts], ...]:
        return tuple((name, _count(items)) for name, items in (
            ("receivers", self.receivers), ("routes", self.routes),
            ("inhibit rules", self.inhibit_rules), ("time intervals", self.time_intervals)))


def compare(before: Mapping[str, str], after: Mapping[str, str]) -> Changes:
    """The changes between two sides' rendered files (no config: nothing to compare)."""
    if before.get(PATH) == after.get(PATH):
        return Changes((), (), (), ())
    old, new = _config(before), _config(after)
    return Changes(
        routes=tuple(_routes(old, new)),
        receivers=tuple(_named("receiver", old.get("receivers"), new.get("receivers"))),
        inhibit_rules=tuple(_inhibit_rules(old, new)),
        time_intervals=tuple(_named("time interval", _intervals(old), _intervals(new))),
    )


def _config(files: Mapping[str, str]) -> dict[str, Any]:
    text = files.get(PATH)
    loaded = yaml.load(text, Loader=_Loader) if text else None
    return loaded if isinstance(loaded, dict) else {}


def _count(items: tuple[ItemChange, ...]) -> Counts:
    return Counts(sum(i.status is Status.ADDED for i in items),
                  sum(i.status is Status.REMOVED for i in items),
                  sum(i.status is Status.CHANGED for i in items))


def _named(kind: str, before: Any, after: Any) -> Iterator[ItemChange]:
    old = {item["name"]: item for item in before or () if isinstance(item, dict)}
    new = {item["name"]: item for item in after or () if isinstance(item, dict)}
    for name in sorted(old.keys() | new.keys()):
        was = {k: v for k, v in old.get(name, {}).items() if k != "name"}
        now = {k: v for k, v in new.get(name, {}).items() if k != "name"}
        status = (Status.REMOVED if name not in new else Status.ADDED if name not in old
                  else Status.CHANGED)
        if was != now or status is not Status.CHANGED:
            yield ItemChange(kind, name, status, tuple(nested_changes(was, now,
                                                                      sort_keys=False)))


def _intervals(config: Mapping[str, Any]) -> Any:
    return next((config[key] for key in _INTERVAL_KEYS if config.get(key)), None)


def _route_table(config: Mapping[str, Any]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Every route by its matcher path (`("",)` is the root), duplicates in order."""
    found: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    route = config.get("route")
    if not isinstance(route, dict):
        return found
    stack: list[tuple[dict[str, Any], tuple[str, ...]]] = [(route, ())]
    while stack:
        current, path = stack.pop()
        own = {k: v for k, v in current.items() if k not in ("matchers", "routes")}
        found.setdefault(path, []).append(own)
        for child in reversed(current.get("routes") or []):
            name = ", ".join(child.get("matchers") or []) or "*"
            stack.append((child, (*path, name)))
    return found


def route_name(path: tuple[str, ...], occurrence: int, total: int) -> str:
    """`root`, or the matchers from the root down (`*` for a route without matchers)."""
    name = " › ".join(path) if path else "root"
    return f"{name} (#{occurrence + 1})" if total > 1 else name


def _routes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[ItemChange]:
    before, after = _route_table(old), _route_table(new)
    for path in [*after, *(p for p in before if p not in after)]:  # tree order
        olds, news = before.get(path, []), after.get(path, [])
        total = max(len(olds), len(news))
        for index in range(total):
            name = route_name(path, index, total)
            if index >= len(news):
                yield ItemChange("route", name, Status.REMOVED, tuple(
                    nested_changes(olds[index], {}, sort_keys=False)))
            elif index >= len(olds):
                yield ItemChange("route", name, Status.ADDED, tuple(
                    nested_changes({}, news[index], sort_keys=False)))
            elif olds[index] != news[index]:
                yield ItemChange("route", name, Status.CHANGED, tuple(
                    nested_changes(olds[index], news[index], sort_keys=False)))


def _inhibit_name(rule: Mapping[str, Any]) -> str:
    source = ", ".join(rule.get("source_matchers") or []) or "*"
    target = ", ".join(rule.get("target_matchers") or []) or "*"
    return f"{source} ⇒ mutes {target}"


def _inhibit_rules(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[ItemChange]:
    """Rules only on one side; a removed and an added rule with the same matchers (and no
    other rule with them) are one rule whose `equal` changed."""
    def keyed(config: Mapping[str, Any]) -> Counter[str]:
        return Counter(json.dumps(rule, sort_keys=True)
                       for rule in config.get("inhibit_rules") or [])

    before, after = keyed(old), keyed(new)
    removed = [json.loads(key) for key in sorted((before - after).elements())]
    added = [json.loads(key) for key in sorted((after - before).elements())]
    names = Counter(_inhibit_name(rule) for rule in (*removed, *added))
    paired = {_inhibit_name(rule): rule for rule in removed if names[_inhibit_name(rule)] == 2}
    for rule in removed:
        if _inhibit_name(rule) not in paired:
            yield ItemChange("inhibit rule", _inhibit_name(rule), Status.REMOVED,
                             _equal(rule, {}))
    for rule in added:
        name = _inhibit_name(rule)
        if name in paired:
            yield ItemChange("inhibit rule", name, Status.CHANGED,
                             tuple(nested_changes(paired[name], rule, sort_keys=False)))
        else:
            yield ItemChange("inhibit rule", name, Status.ADDED, _equal({}, rule))


def _equal(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """An inhibit rule added or removed: its `equal` labels (its name has the rest)."""
    return tuple(f for f in nested_changes(before, after) if f.field == "equal")
