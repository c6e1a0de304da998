"""The values a diff is made of: what changed, field by field, in each section.

Plain frozen records with no behaviour beyond display helpers, so the section modules
that compute them and the formatters that print them share one vocabulary.
"""

from __future__ import annotations

import dataclasses
import enum


class Status(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    MOVED = "moved"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one element: `for 5m → 10m`; None where the field is unset."""

    field: str
    before: str | None
    after: str | None
    note: str = ""
    """What else the change explains, e.g. the annotations a threshold appears in."""


@dataclasses.dataclass(frozen=True, slots=True)
class RuleChange:
    """A rule (one tier of a tiered alert) added, removed, changed or moved."""

    status: Status
    kind: str
    """"alert" or "record"."""
    name: str
    tier: str | None
    group: str
    """The group it is in on the head side (the base side when removed)."""
    from_group: str | None
    """The group it came from, when it moved."""
    targets: tuple[str, ...]
    fields: tuple[FieldChange, ...] = ()
    labels: str = ""
    """`{severity="critical"}`: the labels that tell it from rules of the same name in its
    group (hand-written tiers), else empty."""

    @property
    def title(self) -> str:
        return _title(self.name, self.tier, self.labels)


@dataclasses.dataclass(frozen=True, slots=True)
class ItemChange:
    """A named element added, removed or changed: a rule group, route, receiver, time
    interval, inhibit rule, worker pool, healing policy or channel."""

    kind: str
    """What it is, as shown: "group", "route", "pool", "healing policy", …"""
    name: str
    status: Status
    fields: tuple[FieldChange, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class AlertRouting:
    """The receivers one alert (one tier) reaches before and after; None: no such alert."""

    name: str
    tier: str | None
    group: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    labels: str = ""
    """As `RuleChange.labels`."""

    @property
    def title(self) -> str:
        return _title(self.name, self.tier, self.labels)


@dataclasses.dataclass(frozen=True, slots=True)
class FileChange:
    """A rendered file added, removed or changed: its text on each side (None: absent).

    The unified diff is made on demand (`compiler.diff.files.unified`): a comment that
    has room for a few diffs need not make a thousand."""

    path: str
    status: Status
    before: str | None
    after: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Unified:
    """A file's unified diff and how many lines it adds and removes."""

    text: str
    added: int
    removed: int


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    added: int = 0
    removed: int = 0
    changed: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclasses.dataclass(frozen=True, slots=True)
class TargetSummary:
    """One target's counts: files, and what the target holds (rules, routes, pools…)."""

    target: str
    counts: tuple[tuple[str, Counts], ...]
    """("files", …), then the target's own elements, in display order."""

    @property
    def changed(self) -> bool:
        return any(counts for _, counts in self.counts)


def _title(name: str, tier: str | None, labels: str) -> str:
    shown = f"{name} {labels}" if labels else name
    return f"{shown} ({tier})" if tier else shown
