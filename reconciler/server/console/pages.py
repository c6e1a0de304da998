"""What each console page shows, computed from state with no I/O (pure).

The routes read the server's state and the other daemons' `/status` documents; these
functions turn them into small frozen records the templates only lay out, so every fact
a page shows is tested here without a server, a template or a browser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from converge.reconciler.core.conditions import rfc3339
from converge.reconciler.server.fleet import FleetRow
from converge.reconciler.server.state import Attempt

SHORT = 12
"""Hex digits shown of a commit or a hash (the full value is in the cell's title)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Stamp:
    """A moment: RFC 3339 for the title, a relative age for the eye."""

    at: str
    ago: str


@dataclasses.dataclass(frozen=True, slots=True)
class FleetEntry:
    """One cluster × target row of the fleet page."""

    cluster_id: str
    target: str
    commit: str | None
    hash: str | None
    converged: bool
    up_to_date: bool
    result: str
    last_sync: Stamp
    error: str | None
    last_error: str | None
    last_error_at: Stamp | None
    instance: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class FleetPage:
    """The fleet page: what is served and what every cluster runs."""

    commit: str | None
    bundle_hash: str | None
    entries: tuple[FleetEntry, ...]
    converged: int
    total: int


@dataclasses.dataclass(frozen=True, slots=True)
class CompileEntry:
    """One compile attempt and its diagnostics."""

    id: int
    commit: str
    at: Stamp
    result: str
    bundle_hash: str | None
    duration: str
    error: str | None
    diagnostics: tuple[Mapping[str, Any], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    """A titled table of strings."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DaemonView:
    """Another daemon as its `/status` shows it, or why it could not be read."""

    name: str
    url: str
    kind: str | None
    available: bool
    ready: bool
    problem: str | None
    facts: tuple[tuple[str, str], ...]
    tables: tuple[Table, ...]


def duration(seconds: float) -> str:
    """Whole seconds for the eye: `42s`, `3m 5s`, `3h 5m` or `2d 3h`."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"


def ago(at: float, now: float) -> Stamp:
    """`at` as RFC 3339 and as an age such as `42s ago` or `3h 5m ago`."""
    return Stamp(rfc3339(at), f"{duration(now - at)} ago")


def fleet_page(rows: Iterable[FleetRow], *, serving: Mapping[str, str | None],
               commit: str | None, bundle_hash: str | None, now: float) -> FleetPage:
    """The fleet page from the fleet rows and the hash served for each target."""
    entries = tuple(
        FleetEntry(cluster_id=row.cluster_id, target=row.target, commit=row.commit,
                   hash=row.hash, converged=row.converged,
                   up_to_date=serving.get(row.target) is not None
                   and serving.get(row.target) == row.hash,
                   result=row.result, last_sync=ago(row.last_report_at, now), error=row.error,
                   last_error=row.last_error,
                   last_error_at=ago(row.last_error_at, now) if row.last_error_at else None,
                   instance=row.instance)
        for row in rows)
    return FleetPage(commit=commit, bundle_hash=bundle_hash, entries=entries,
                     converged=sum(1 for e in entries if e.converged and e.up_to_date),
                     total=len(entries))


def compiles_page(attempts: Sequence[Attempt], *, now: float) -> tuple[CompileEntry, ...]:
    """The last compile attempts, newest first, with their diagnostics."""
    return tuple(
        CompileEntry(id=a.id, commit=a.commit, at=ago(a.at, now), result=a.result,
                     bundle_hash=a.bundle_hash, duration=f"{a.duration:.3f}s", error=a.error,
                     diagnostics=tuple(d for d in a.diagnostics if isinstance(d, Mapping)))
        for a in attempts)


def daemon_view(name: str, url: str, payload: Any, *, problem: str | None = None,
                now: float) -> DaemonView:
    """A daemon's `/status` document as facts and tables (notifier, healer, scaler).

    Args:
        name: the name given in `--daemon NAME=URL`.
        url: its base URL.
        payload: the decoded `/status` JSON; None when it could not be read.
        problem: why it could not be read (shown as unavailable).
        now: the current time, for ages.
    """
    if problem is not None or not isinstance(payload, dict):
        return DaemonView(name, url, None, False, False,
                          problem or "the /status answer is not a JSON object", (), ())
    facts = payload.get("facts")
    facts = facts if isinstance(facts, dict) else {}
    kind = payload.get("daemon") if isinstance(payload.get("daemon"), str) else None
    render = _RENDERERS.get(kind or "", _generic)
    summary, tables = render(facts, now)
    conditions = payload.get("conditions")
    stalled = [c for c in conditions if isinstance(c, dict) and c.get("status") != "True"
               and c.get("type") == "Ready"] if isinstance(conditions, list) else []
    problem = (f"not ready: {stalled[0].get('reason')} {stalled[0].get('message') or ''}"
               .strip() if stalled else None)
    return DaemonView(name, url, kind, True, bool(payload.get("ready")), problem,
                      tuple(summary), tuple(tables))


_Rendered = tuple[list[tuple[str, str]], list[Table]]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "—"
    return str(value)


def _seconds(value: Any) -> str:
    """A duration in seconds as `2.7s` (a tenth under a minute), else as `duration`."""
    if not isinstance(value, (int, float)):
        return _text(value)
    return f"{value:.1f}s" if value < 60 else duration(value)


def _time(value: Any, now: float) -> str:
    return ago(float(value), now).ago if isinstance(value, (int, float)) and value else "—"


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _engine(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    engine = facts.get("engine")
    if not isinstance(engine, dict):
        return []
    return [("container engine", "reachable" if engine.get("ok") else
             f"unreachable: {_text(engine.get('error'))}")]


def _notifier(facts: Mapping[str, Any], now: float) -> _Rendered:
    summary = [("outbox depth", _text(facts.get("queueDepth"))),
               ("dead letters", _text(facts.get("deadLetters"))),
               ("possible duplicates", _text(facts.get("possibleDuplicates")))]
    channels = facts.get("channels")
    rows = [(name, _text(c.get("type")), _text(c.get("state")), _text(c.get("queueDepth")),
             _text(c.get("deadLetters")), _text(c.get("delivered")),
             _time(c.get("lastDeliveredAt"), now), _text(c.get("lastError") or c.get("problem")))
            for name, c in sorted(channels.items()) if isinstance(c, dict)] \
        if isinstance(channels, dict) else []
    table = Table("Channels", ("channel", "type", "state", "outbox", "dead letters",
                               "delivered", "last delivery", "last error"), tuple(rows))
    outbox = Table("Outbox, newest first", ("id", "received", "channel", "message", "state",
                                            "attempts", "next attempt", "last error"),
                   tuple((_text(m.get("id")), _time(m.get("receivedAt"), now),
                          _text(m.get("channel")), _text(m.get("summary")),
                          _text(m.get("state")), _text(m.get("attempts")),
                          _due(m, now), _text(m.get("lastError")))
                         for m in _dicts(facts.get("outbox"))))
    letters = Table("Dead letters, newest first", ("id", "failed", "channel", "message",
                                                   "attempts", "reason"),
                    tuple((_text(d.get("id")), _time(d.get("failedAt"), now),
                           _text(d.get("channel")), _text(d.get("summary")),
                           _text(d.get("attempts")), _text(d.get("reason")))
                          for d in _dicts(facts.get("recentDeadLetters"))))
    return summary, [table, outbox, letters]


def _due(message: Mapping[str, Any], now: float) -> str:
    """When a pending message is tried next: `now`, `in 12s`, or — once it is finished."""
    at = message.get("nextAttemptAt")
    if message.get("state") != "pending" or not isinstance(at, (int, float)):
        return "—"
    return f"in {int(at - now)}s" if at > now else "now"


def _healer(facts: Mapping[str, Any], now: float) -> _Rendered:
    summary = [*_engine(facts), ("states", _text(facts.get("states"))),
               ("pending events", _text(facts.get("pendingEvents")))]
    rows = tuple((_text(c.get("name")), _text(c.get("service")), _text(c.get("policy")),
                  _text(c.get("phase")), _text(c.get("failures")), _text(c.get("totalRestarts")),
                  _text(c.get("budgetLeft")), _time(c.get("lastRestart"), now),
                  _text(c.get("message"))) for c in _dicts(facts.get("containers")))
    tables = [Table("Containers", ("container", "service", "policy", "phase", "failures",
                                   "restarts", "budget left", "last restart", "message"), rows)]
    mtbf = facts.get("mtbf")
    if isinstance(mtbf, dict) and mtbf:
        tables.append(Table("MTBF per service", ("service", "MTBF"),
                            tuple((s, _seconds(v)) for s, v in sorted(mtbf.items()))))
    failures = _dicts(facts.get("failures"))
    if failures:
        tables.append(Table("Failure history",
                            ("when", "container", "service", "failure", "action", "result",
                             "message"),
                            tuple((_time(f.get("time"), now), _text(f.get("container")),
                                   _text(f.get("service")), _text(f.get("type")),
                                   _text(f.get("action")), _text(f.get("result")),
                                   _text(f.get("message"))) for f in failures)))
    return summary, tables


def _scaler(facts: Mapping[str, Any], now: float) -> _Rendered:
    summary = [*_engine(facts), ("removing", _text(facts.get("removing"))),
               ("pending events", _text(facts.get("pendingEvents")))]
    rows = tuple((_text(p.get("pool")), _text(p.get("mode")), _text(p.get("desired")),
                  f"{_text(p.get('min'))}–{_text(p.get('max'))}", _text(p.get("containers")),
                  _text(p.get("values")), _text(p.get("lastDecision")), _text(p.get("error")))
                 for p in _dicts(facts.get("pools")))
    tables = [Table("Pools and their last decision",
                    ("pool", "mode", "desired", "range", "containers", "metric values",
                     "last decision", "error"), rows)]
    decisions = _dicts(facts.get("decisions"))
    if decisions:
        tables.append(Table("Decisions", ("when", "pool", "from", "to", "direction", "mode",
                                          "reason"),
                            tuple((_time(d.get("time"), now), _text(d.get("pool")),
                                   _text(d.get("previous")), _text(d.get("desired")),
                                   _text(d.get("direction")), _text(d.get("mode")),
                                   _text(d.get("reason"))) for d in decisions)))
    return summary, tables


def _generic(facts: Mapping[str, Any], now: float) -> _Rendered:
    return [(key, _text(value)) for key, value in sorted(facts.items())], []


_RENDERERS = {"notifier": _notifier, "healer": _healer, "scaler": _scaler}
