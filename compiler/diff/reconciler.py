"""Changes to what the daemons read: worker pools, healing policies, channel settings.

Read from each side's rendered `reconciler/*.json`, which hold secret references
(`{"env": NAME}`), never secret values, so nothing secret can reach a diff. Elements are
known by name; each changed one lists its fields by dotted path (`replicas.max`), those
of its spec first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from converge.compiler.diff.changes import Counts, ItemChange, Status
from converge.compiler.diff.fields import nested_changes

SECTIONS = (
    # (file, list key, kind as shown, summary name)
    ("reconciler/pools.json", "pools", "pool", "pools"),
    ("reconciler/healing.json", "policies", "healing policy", "healing policies"),
    ("reconciler/channels.json", "channels", "channel", "channels"),
)
_DERIVED = ("name", "specHash")
"""Not shown: the name is the element's title, the hash only restates the spec."""


def compare(before: Mapping[str, str], after: Mapping[str, str]) -> list[ItemChange]:
    """Pools, healing policies and channels added, removed or changed, in that order."""
    found: list[ItemChange] = []
    for path, key, kind, _ in SECTIONS:
        if before.get(path) != after.get(path):
            found.extend(_changes(kind, _items(before.get(path), key),
                                  _items(after.get(path), key)))
    return found


def counts(changes: list[ItemChange]) -> tuple[tuple[str, Counts], ...]:
    """Per kind: how many were added, removed, changed."""
    return tuple((summary, Counts(
        sum(c.kind == kind and c.status is Status.ADDED for c in changes),
        sum(c.kind == kind and c.status is Status.REMOVED for c in changes),
        sum(c.kind == kind and c.status is Status.CHANGED for c in changes)))
        for _, _, kind, summary in SECTIONS)


def _items(text: str | None, key: str) -> dict[str, dict[str, Any]]:
    if not text:
        return {}
    items = json.loads(text).get(key, [])
    return {item["name"]: {k: v for k, v in item.items() if k not in _DERIVED}
            for item in items}


def _changes(kind: str, before: dict[str, dict[str, Any]],
             after: dict[str, dict[str, Any]]) -> Iterator[ItemChange]:
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            yield ItemChange(kind, name, Status.REMOVED)
        elif name not in before:
            yield ItemChange(kind, name, Status.ADDED)
        elif before[name] != after[name]:
            old, new = dict(before[name]), dict(after[name])
            fields = nested_changes(old.pop("spec", None), new.pop("spec", None))
            fields.extend(nested_changes(old, new))
            yield ItemChange(kind, name, Status.CHANGED, tuple(fields))
