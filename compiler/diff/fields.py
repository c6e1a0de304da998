"""Field-by-field comparison of plain values: `replicas.max 3 → 5`.

Shared by every section: nested mappings become dotted field names, lists of mappings
are indexed (`metrics[1].target`), and values are shown as text (strings as they are,
lists of strings joined, anything else as compact JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from converge.compiler.diff.changes import FieldChange


def text(value: Any) -> str | None:
    """A value as shown in a diff; None stays None (unset)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def mapping_changes(prefix: str, before: Mapping[str, Any],
                    after: Mapping[str, Any]) -> list[FieldChange]:
    """One change per key whose value differs, named `prefix key`, keys sorted."""
    return [FieldChange(f"{prefix} {key}", text(before.get(key)), text(after.get(key)))
            for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)]


def nested_changes(before: Any, after: Any, field: str = "", *,
                   sort_keys: bool = True) -> list[FieldChange]:
    """The leaves that differ between two JSON-like values, by dotted path; keys sorted,
    or without `sort_keys` in their order (the head's first)."""
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = [*after, *(k for k in before if k not in after)]
        found: list[FieldChange] = []
        for key in sorted(keys, key=str) if sort_keys else keys:
            name = f"{field}.{key}" if field else str(key)
            found.extend(nested_changes(before.get(key), after.get(key), name,
                                        sort_keys=sort_keys))
        return found
    if (isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
            and all(isinstance(v, Mapping) for v in (*before, *after))):
        found = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            found.extend(nested_changes(b, a, f"{field}[{index}]", sort_keys=sort_keys))
        return found
    return [FieldChange(field or "value", text(before), text(after))]


def changed_lines(before: str, after: str, *, context: int = 1) -> list[tuple[str, str]]:
    """The lines that differ between two texts, with `context` lines around them:
    (mark, line) with mark "-", "+", " " (unchanged) or "…" (lines left out)."""
    import difflib

    old, new = before.splitlines(), after.splitlines()
    found: list[tuple[str, str]] = []
    for index, group in enumerate(difflib.SequenceMatcher(None, old, new).get_grouped_opcodes(
            context)):
        if index or group[0][1] > 0:
            found.append(("…", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                found += [(" ", line) for line in old[i1:i2]]
                continue
            found += [("-", line) for line in old[i1:i2]]
            found += [("+", line) for line in new[j1:j2]]
    if found and found[-1][0] != "…" and old and new and not _ends_at(found, old, new):
        found.append(("…", ""))
    return found


def _ends_at(found: list[tuple[str, str]], old: list[str], new: list[str]) -> bool:
    """Whether the last shown line is the last line of either text."""
    mark, line = found[-1]
    return (mark in (" ", "-") and line == old[-1]) or (mark in (" ", "+") and line == new[-1])
