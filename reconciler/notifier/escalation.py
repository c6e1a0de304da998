"""Escalation: page more people while an alert stays firing and unacknowledged.

Alertmanager posts every alert of a route with escalation levels to
`/hooks/escalation/{route}` (the compiler renders a sibling route with `continue: true`).
The notifier tracks each firing alert by route and fingerprint in the outbox's database
(`escalations`), so tracking survives restarts; `due` decides, from the levels, the
tracked state and the (injected) time, whether a level is to be paged now. A resolve
stops escalation and tells every level that was paged; an acknowledgement (the API, the
console, or a silence in Alertmanager covering the alert) stops it without a message.

Pure apart from `Tracker`, which reads and writes the table through the outbox.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from converge.reconciler.notifier.outbox import Outbox


@dataclasses.dataclass(frozen=True, slots=True)
class Level:
    """One escalation level, as `channels.json` carries it."""

    after: float
    """Seconds since the alert's first notification."""
    channels: tuple[str, ...]
    repeat: float | None = None
    """Seconds between pages of this level while it is the highest paged; once if None."""


@dataclasses.dataclass(frozen=True, slots=True)
class Tracked:
    """A firing alert the notifier escalates."""

    route: str
    fingerprint: str
    alert: Mapping[str, Any]
    """The alert as Alertmanager last sent it (labels, annotations, startsAt, …)."""
    first_seen: float
    paged: int = 0
    """How many levels have been paged (the next is `levels[paged]`)."""
    pages: int = 0
    """Pages sent in all, repeats included."""
    last_paged_at: float | None = None
    acked_at: float | None = None
    acked_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        labels = self.alert.get("labels") or {}
        return {"route": self.route, "fingerprint": self.fingerprint,
                "alertname": labels.get("alertname", ""), "labels": dict(labels),
                "firstSeen": self.first_seen, "paged": self.paged, "pages": self.pages,
                "lastPagedAt": self.last_paged_at, "ackedAt": self.acked_at,
                "ackedBy": self.acked_by}


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """Page level `level` (0-based) now; `repeat`: it was paged before."""

    level: int
    repeat: bool = False


def parse_levels(document: Mapping[str, Any]) -> dict[str, tuple[Level, ...]]:
    """The `escalations` of a channels document: levels by route id (absent: none)."""
    found: dict[str, tuple[Level, ...]] = {}
    routes = document.get("escalations")
    if not isinstance(routes, dict):
        return found
    for route, levels in routes.items():
        if not isinstance(levels, list):
            continue
        found[str(route)] = tuple(
            Level(after=float(level["after"]), channels=tuple(level.get("channels") or ()),
                  repeat=float(level["repeat"]) if level.get("repeat") else None)
            for level in levels if isinstance(level, dict) and "after" in level)
    return found


def due(levels: Sequence[Level], tracked: Tracked, now: float) -> Page | None:
    """What to page now, if anything: the next level once its `after` has passed since
    the first notification, else a repeat of the highest paged level once its `repeat`
    has passed since the last page. Nothing once acknowledged."""
    if tracked.acked_at is not None:
        return None
    if tracked.paged < len(levels) and now >= tracked.first_seen + levels[tracked.paged].after:
        return Page(tracked.paged)
    if tracked.paged > 0 and tracked.last_paged_at is not None:
        repeat = levels[min(tracked.paged, len(levels)) - 1].repeat
        if repeat and now >= tracked.last_paged_at + repeat:
            return Page(min(tracked.paged, len(levels)) - 1, repeat=True)
    return None


def _describe(alert: Mapping[str, Any]) -> tuple[str, str]:
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    name = str(labels.get("alertname", "alert"))
    summary = str(annotations.get("summary") or annotations.get("description") or "")
    return name, summary


def page_event(tracked: Tracked, page: Page, level: Level, *, now: float) -> dict[str, Any]:
    """The event sent to a level's channels (a daemon event from source `escalation`)."""
    name, summary = _describe(tracked.alert)
    minutes = max(0, round((now - tracked.first_seen) / 60))
    again = " again" if page.repeat else ""
    return {
        "level": "critical", "source": "escalation", "status": "firing",
        "title": f"[ESCALATION {page.level + 1}] {name}" + (f": {summary}" if summary else ""),
        "text": (f"Firing for {minutes} min and not acknowledged: paging level "
                 f"{page.level + 1}{again} (page {tracked.pages + 1}). Acknowledge in the "
                 f"console, with a silence in Alertmanager, or POST "
                 f"/api/v1/alerts/{tracked.fingerprint}/ack."),
        "labels": {**{str(k): str(v) for k, v in (tracked.alert.get("labels") or {}).items()},
                   "fingerprint": tracked.fingerprint,
                   "escalation_level": str(page.level + 1)},
        "channels": list(level.channels),
    }


def resolved_event(tracked: Tracked, channels: Sequence[str]) -> dict[str, Any]:
    """The event telling every paged level that the alert resolved."""
    name, summary = _describe(tracked.alert)
    return {
        "level": "critical", "source": "escalation", "status": "resolved",
        "title": f"[RESOLVED] {name}" + (f": {summary}" if summary else ""),
        "text": f"Resolved after {tracked.paged} escalation level(s) were paged.",
        "labels": {**{str(k): str(v) for k, v in (tracked.alert.get("labels") or {}).items()},
                   "fingerprint": tracked.fingerprint},
        "channels": list(channels),
    }


def paged_channels(levels: Sequence[Level], tracked: Tracked) -> list[str]:
    """Every channel of the levels paged so far, in order, once each."""
    seen: list[str] = []
    for level in levels[:tracked.paged]:
        seen += [c for c in level.channels if c not in seen]
    return seen


class SilenceSource(Protocol):
    async def silenced(self) -> set[str]:
        """Fingerprints of the alerts a silence in Alertmanager covers now."""


_COLUMNS = ("route, fingerprint, alert, first_seen, paged, pages, last_paged_at, acked_at, "
            "acked_by")


def _tracked(row: Sequence[Any]) -> Tracked:
    return Tracked(route=row[0], fingerprint=row[1], alert=json.loads(row[2]),
                   first_seen=row[3], paged=row[4], pages=row[5], last_paged_at=row[6],
                   acked_at=row[7], acked_by=row[8])


class Tracker:
    """The `escalations` table, through the outbox's batches."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def observe(self, route: str, alerts: Sequence[Mapping[str, Any]], *,
                      now: float) -> list[Tracked]:
        """Track the firing alerts (first sight: now), stop tracking the resolved ones;
        the tracked alerts that resolved (durably, before Alertmanager hears 200)."""

        def apply(db: sqlite3.Connection) -> list[Tracked]:
            resolved: list[Tracked] = []
            for alert in alerts:
                fingerprint = str(alert.get("fingerprint") or "")
                if not fingerprint:
                    continue
                row = db.execute(f"SELECT {_COLUMNS} FROM escalations WHERE route = ? AND "
                                 "fingerprint = ?", (route, fingerprint)).fetchone()
                if alert.get("status") == "resolved":
                    if row is not None:
                        resolved.append(_tracked(row))
                        db.execute("DELETE FROM escalations WHERE route = ? AND "
                                   "fingerprint = ?", (route, fingerprint))
                    continue
                text = json.dumps(alert, sort_keys=True, ensure_ascii=False)
                if row is None:
                    db.execute("INSERT INTO escalations (route, fingerprint, alert, "
                               "first_seen) VALUES (?,?,?,?)", (route, fingerprint, text, now))
                else:
                    db.execute("UPDATE escalations SET alert = ? WHERE route = ? AND "
                               "fingerprint = ?", (text, route, fingerprint))
            return resolved

        return await self._outbox.execute(apply, durable=True)

    async def tracked(self, *, active_only: bool = False) -> list[Tracked]:
        """Every tracked alert (`active_only`: not acknowledged), oldest first."""
        where = " WHERE acked_at IS NULL" if active_only else ""
        rows = await self._outbox.execute(lambda db: db.execute(
            f"SELECT {_COLUMNS} FROM escalations{where} ORDER BY first_seen").fetchall())
        return [_tracked(row) for row in rows]

    async def paged(self, tracked: Tracked, page: Page, *, now: float) -> None:
        paged = max(tracked.paged, page.level + 1)
        await self._outbox.execute(lambda db: db.execute(
            "UPDATE escalations SET paged = ?, pages = pages + 1, last_paged_at = ? "
            "WHERE route = ? AND fingerprint = ?",
            (paged, now, tracked.route, tracked.fingerprint)), durable=True)

    async def acknowledge(self, fingerprint: str, *, by: str, now: float) -> int:
        """Acknowledge the alert on every route; how many tracked alerts it was."""
        return await self._outbox.execute(lambda db: int(db.execute(
            "UPDATE escalations SET acked_at = ?, acked_by = ? WHERE fingerprint = ? AND "
            "acked_at IS NULL", (now, by, fingerprint)).rowcount), durable=True)

    async def known(self, fingerprint: str) -> bool:
        return bool(await self._outbox.execute(lambda db: db.execute(
            "SELECT 1 FROM escalations WHERE fingerprint = ? LIMIT 1",
            (fingerprint,)).fetchone()))
