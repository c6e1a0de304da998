"""The healer's memory in SQLite: failure records, and each container's health and track.

Failure records follow the source document's `FailureRecord`: container, service, project,
failure type, message, details (JSON), action, action result, detected and resolved times.
`health` holds one row per container (its `HealthStatus`: status, consecutive failures,
total restarts, last restart, message) with the policy's `Track` as JSON, so a healer
killed at any moment comes back with its budgets, backoffs and open incidents.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from converge.reconciler.core.store import Store
from converge.reconciler.healer.containers import Container
from converge.reconciler.healer.policy import Record, Track

INCIDENT_TYPES = ("health_check_failed", "container_stopped", "container_error")
"""Record types that start an incident: what MTBF counts."""
MTBF_SAMPLE = 100
"""MTBF is taken over each service's latest incidents, at most this many."""

_MIGRATIONS = ["""
CREATE TABLE failure_records (
    id INTEGER PRIMARY KEY,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    service TEXT NOT NULL,
    project TEXT NOT NULL,
    policy TEXT NOT NULL,
    failure_type TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL,
    action TEXT NOT NULL,
    action_result TEXT NOT NULL,
    detected_at REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX failure_records_container ON failure_records (container_id, id);
CREATE INDEX failure_records_service ON failure_records (service, detected_at);
CREATE TABLE health (
    container_id TEXT PRIMARY KEY,
    container_name TEXT NOT NULL,
    service TEXT NOT NULL,
    project TEXT NOT NULL,
    policy TEXT NOT NULL,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    total_restarts INTEGER NOT NULL,
    last_restart REAL,
    last_check REAL,
    message TEXT NOT NULL,
    track TEXT NOT NULL
);
"""]

__all__ = ["INCIDENT_TYPES", "Records", "health_status"]


def health_status(track: Track) -> str:
    """The source document's three-valued status: healthy, unhealthy or unknown."""
    if track.phase == "healthy":
        return "healthy"
    if track.phase in ("failing", "waiting", "verifying", "unhealthy", "budget_exhausted"):
        return "unhealthy"
    return "unknown"


class Records:
    """Failure records and health rows in one SQLite database (see
    `converge.reconciler.core.Store`)."""

    def __init__(self, path: str | Path) -> None:
        self.store = Store(path, _MIGRATIONS)

    def close(self) -> None:
        self.store.close()

    def tracks(self) -> dict[str, Track]:
        """Every remembered container's track, by container id."""
        found: dict[str, Track] = {}
        for row in self.store.query("SELECT container_id, track FROM health"):
            data = json.loads(row["track"])
            data["restarts"] = tuple(data.get("restarts", ()))
            fields = {f.name for f in dataclasses.fields(Track)}
            found[row["container_id"]] = Track(**{k: v for k, v in data.items() if k in fields})
        return found

    def save(self, rows: Iterable[tuple[Container, str, Track, float]]) -> None:
        """Upsert health rows: (container, policy name, track, time of the last check)."""
        with self.store.transaction() as db:
            for container, policy, track, checked in rows:
                db.execute(
                    "INSERT OR REPLACE INTO health VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (container.id, container.name, container.service, container.project,
                     policy, health_status(track), track.phase, track.failures,
                     track.total_restarts, track.last_restart, checked, track.message,
                     json.dumps(dataclasses.asdict(track))))

    def forget(self, container_ids: Iterable[str]) -> None:
        """Drop the health rows of removed containers (their records stay)."""
        with self.store.transaction() as db:
            db.executemany("DELETE FROM health WHERE container_id = ?",
                           [(container_id,) for container_id in container_ids])

    def write(self, container: Container, policy: str, records: Sequence[Record], *,
              now: float, details: dict[str, Any] | None = None) -> list[int]:
        """Apply a decision's records; the ids of rows inserted."""
        inserted: list[int] = []
        with self.store.transaction() as db:
            for record in records:
                if record.op == "resolve":
                    db.execute("UPDATE failure_records SET resolved_at = ?, action_result = "
                               "CASE action_result WHEN 'pending' THEN ? ELSE action_result END"
                               " WHERE container_id = ? AND resolved_at IS NULL",
                               (now, record.result, container.id))
                elif record.op == "restart_done":
                    db.execute("UPDATE failure_records SET action_result = ?, resolved_at = ? "
                               "WHERE id = (SELECT max(id) FROM failure_records WHERE "
                               "container_id = ? AND failure_type = 'auto_restart' AND "
                               "action_result = 'pending')",
                               (record.result, now, container.id))
                else:
                    cursor = db.execute(
                        "INSERT INTO failure_records (container_id, container_name, service, "
                        "project, policy, failure_type, message, details, action, "
                        "action_result, detected_at, resolved_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (container.id, container.name, container.service, container.project,
                         policy, record.type, record.message,
                         json.dumps(details or {}, sort_keys=True), record.action,
                         record.result, now,
                         now if record.result in ("failed", "skipped") and record.op == "add"
                         and record.type != "restart_limit_exceeded" else None))
                    inserted.append(int(cursor.lastrowid or 0))
        return inserted

    def open_since(self, container_id: str) -> float | None:
        """When the container's open incident was detected (Unix time), if one is open."""
        marks = ",".join("?" * len(INCIDENT_TYPES))
        row = self.store.query_one(
            "SELECT min(detected_at) FROM failure_records WHERE container_id = ? AND "
            f"resolved_at IS NULL AND failure_type IN ({marks})",
            (container_id, *INCIDENT_TYPES))
        return float(row[0]) if row is not None and row[0] is not None else None

    def prune(self, *, before: float) -> int:
        """Delete failure records detected before `before` (a Unix time) and resolved (an
        open incident is kept however old): the healer's retention."""
        return int(self.store.execute(
            "DELETE FROM failure_records WHERE detected_at < ? AND resolved_at IS NOT NULL",
            (before,)).rowcount)

    def history(self, *, container: str | None = None, service: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
        """Latest records first; `container` matches an id prefix or a name."""
        where, params = [], []
        if container:
            where.append("(container_id LIKE ? OR container_name = ?)")
            params += [container + "%", container]
        if service:
            where.append("service = ?")
            params.append(service)
        sql = "SELECT * FROM failure_records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [_record(row) for row in rows]

    def health(self) -> list[dict[str, Any]]:
        """Every container's health row, by service and name."""
        rows = self.store.query("SELECT * FROM health ORDER BY service, container_name")
        return [{k: row[k] for k in row.keys() if k != "track"} for row in rows]

    def mtbf(self) -> dict[str, float]:
        """Mean time between failures per service, in seconds, over its latest incidents.

        (newest detection − oldest) ÷ (incidents − 1); services with fewer than two
        incidents have none.
        """
        marks = ",".join("?" * len(INCIDENT_TYPES))
        rows = self.store.query(
            f"SELECT service, detected_at FROM (SELECT service, detected_at, row_number() "
            f"OVER (PARTITION BY service ORDER BY detected_at DESC) AS n FROM failure_records"
            f" WHERE failure_type IN ({marks})) WHERE n <= ?", (*INCIDENT_TYPES, MTBF_SAMPLE))
        times: dict[str, list[float]] = {}
        for row in rows:
            times.setdefault(row["service"], []).append(row["detected_at"])
        return {service: (max(ts) - min(ts)) / (len(ts) - 1)
                for service, ts in sorted(times.items()) if len(ts) > 1}


def _record(row: Any) -> dict[str, Any]:
    record = {key: row[key] for key in row.keys()}
    record["details"] = json.loads(record["details"])
    return record
