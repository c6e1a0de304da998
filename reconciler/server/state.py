"""The server's state: compile attempts, the last good bundle, sync history, the fleet
view, operator triggers and the webhook deliveries seen (replays are refused). A restart
loses none of it, and serves the last good bundle at once.

`Storage` is what the server needs of it; `ServerState` keeps it in SQLite (one server),
`converge.reconciler.server.postgres.PostgresState` in PostgreSQL (replicas sharing one
database). `storage.open_state` picks the backend from `--db`; both pass
tests/test_server_storage.py.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from converge.compiler import bundle
from converge.reconciler.core import Store
from converge.reconciler.server.fleet import FleetRow

MIGRATIONS = [
    """
    CREATE TABLE compiles (
        id INTEGER PRIMARY KEY,
        commit_sha TEXT NOT NULL,
        at REAL NOT NULL,
        duration REAL NOT NULL,
        result TEXT NOT NULL,
        bundle_hash TEXT,
        version TEXT NOT NULL,
        error TEXT,
        diagnostics TEXT NOT NULL
    );
    CREATE TABLE last_good (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        commit_sha TEXT,
        bundle_hash TEXT NOT NULL,
        compiled_at REAL NOT NULL,
        first_commits TEXT NOT NULL
    );
    CREATE TABLE last_good_files (
        path TEXT PRIMARY KEY,
        data BLOB NOT NULL
    );
    CREATE TABLE sync_history (
        id INTEGER PRIMARY KEY,
        received_at REAL NOT NULL,
        cluster_id TEXT NOT NULL,
        target TEXT NOT NULL,
        commit_sha TEXT,
        hash TEXT,
        attempted_hash TEXT,
        result TEXT NOT NULL,
        error TEXT,
        converged INTEGER NOT NULL,
        duration REAL,
        instance TEXT
    );
    CREATE INDEX sync_history_by_cluster ON sync_history (cluster_id, target, id);
    CREATE TABLE clusters (
        cluster_id TEXT NOT NULL,
        target TEXT NOT NULL,
        commit_sha TEXT,
        hash TEXT,
        attempted_hash TEXT,
        since REAL NOT NULL,
        last_report_at REAL NOT NULL,
        result TEXT NOT NULL,
        error TEXT,
        converged INTEGER NOT NULL,
        last_error TEXT,
        last_error_at REAL,
        instance TEXT,
        PRIMARY KEY (cluster_id, target)
    );
    CREATE TABLE triggers (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        source TEXT NOT NULL,
        reason TEXT,
        requested_by TEXT
    );
    """,
    """
    CREATE TABLE webhook_deliveries (
        delivery TEXT PRIMARY KEY,
        body_sha256 TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX webhook_deliveries_by_body ON webhook_deliveries (body_sha256);
    CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
    """,
    """
    ALTER TABLE last_good ADD COLUMN serial INTEGER NOT NULL DEFAULT 0;
    """,
    """
    CREATE TABLE identity (id TEXT NOT NULL);
    INSERT INTO identity (id) VALUES (lower(hex(randomblob(16))));
    """,
]

Row = sqlite3.Row | Mapping[str, Any]
"""A row of either backend, read by column name."""

KEEP_COMPILES = 1000
KEEP_HISTORY = 100_000
KEEP_TRIGGERS = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """One compile attempt."""

    id: int
    commit: str
    at: float
    duration: float
    result: str
    """`success`, `failure` (the specs have errors) or `error` (the commit is unreadable)."""
    bundle_hash: str | None
    version: str
    error: str | None
    diagnostics: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class GoodBundle:
    """The last bundle that compiled, as saved."""

    bundle: bundle.Bundle
    compiled_at: float
    first_commits: dict[str, str | None]
    serial: int = 0
    """The id of the attempt that compiled it (set by `record_attempt`)."""


class Storage(Protocol):
    """Everything the server keeps, whichever database holds it (thread-safe)."""

    @property
    def where(self) -> str:
        """The database, for messages (a URL without its password)."""
        ...

    def close(self) -> None: ...

    def record_attempt(self, *, commit: str, at: float, duration: float, result: str,
                       bundle_hash: str | None, version: str, error: str | None,
                       diagnostics: list[dict[str, Any]],
                       good: GoodBundle | None = None) -> Attempt:
        """Record a compile attempt (keeping the newest `KEEP_COMPILES`), and with `good`
        save its bundle in the same transaction: a replica killed mid-way leaves both or
        neither, so the next leader compiles the commit again or not at all."""
        ...

    def attempts(self, limit: int) -> list[Attempt]:
        """The newest `limit` attempts, newest first."""
        ...

    def last_attempt(self) -> Attempt | None: ...

    def save_good(self, good: GoodBundle) -> None:
        """Replace the saved bundle, in one transaction."""
        ...

    def load_good(self) -> GoodBundle | None: ...

    def good_marker(self) -> tuple[str, float] | None:
        """(bundle hash, compiled at) of the saved bundle: cheap, for replicas to poll."""
        ...

    def fleet_row(self, cluster_id: str, target: str) -> FleetRow | None: ...

    def record_report(self, row: FleetRow, *, history: bool,
                      duration: float | None) -> None:
        """Replace the fleet row; append to the history when `history`."""
        ...

    def fleet(self, *, cluster_id: str | None, target: str | None) -> list[FleetRow]: ...

    def history(self, *, cluster_id: str | None, target: str | None, limit: int,
                before: int | None) -> Sequence[Row]:
        """History rows (columns as in `sync_history`), newest first, ids below `before`."""
        ...

    def record_trigger(self, *, at: float, source: str, reason: str | None,
                       requested_by: str | None) -> int:
        """Record a trigger (keeping the newest `KEEP_TRIGGERS`); its id."""
        ...

    def triggers_after(self, after: int) -> list[tuple[int, str]]:
        """(id, source) of the triggers recorded after id `after`, oldest first."""
        ...

    def record_delivery(self, *, delivery: str, body_sha256: str, at: float,
                        window: float) -> bool:
        """Remember a webhook delivery; False when seen within `window` seconds."""
        ...

    def ping(self) -> bool:
        """Whether the database answers now."""
        ...

    def identity(self) -> str:
        """A random id made with the database: serials compare only within one."""
        ...


class ServerState:
    """The server's tables in SQLite, over a `Store` (thread-safe)."""

    def __init__(self, path: str | Path) -> None:
        self.store = Store(path, MIGRATIONS)

    @property
    def where(self) -> str:
        return self.store.path

    def ping(self) -> bool:
        return True

    def identity(self) -> str:
        row = self.store.query_one("SELECT id FROM identity")
        return str(row["id"]) if row else ""

    def close(self) -> None:
        self.store.close()

    # compiles

    def record_attempt(self, *, commit: str, at: float, duration: float, result: str,
                       bundle_hash: str | None, version: str, error: str | None,
                       diagnostics: list[dict[str, Any]],
                       good: GoodBundle | None = None) -> Attempt:
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO compiles (commit_sha, at, duration, result, bundle_hash, version,"
                " error, diagnostics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (commit, at, duration, result, bundle_hash, version, error,
                 json.dumps(diagnostics, ensure_ascii=False)))
            if good is not None:
                _save_good(db, dataclasses.replace(good, serial=cursor.lastrowid or 0))
            db.execute("DELETE FROM compiles WHERE id <= ?",
                       ((cursor.lastrowid or 0) - KEEP_COMPILES,))
        return Attempt(cursor.lastrowid or 0, commit, at, duration, result, bundle_hash, version,
                       error, diagnostics)

    def attempts(self, limit: int) -> list[Attempt]:
        rows = self.store.query("SELECT * FROM compiles ORDER BY id DESC LIMIT ?", (limit,))
        return [attempt_of(row) for row in rows]

    def last_attempt(self) -> Attempt | None:
        found = self.attempts(1)
        return found[0] if found else None

    # the last good bundle

    def save_good(self, good: GoodBundle) -> None:
        """Replace the saved bundle, in one transaction (each file zlib-compressed)."""
        with self.store.transaction() as db:
            _save_good(db, good)

    def load_good(self) -> GoodBundle | None:
        row = self.store.query_one("SELECT * FROM last_good WHERE id = 1")
        if row is None:
            return None
        files = {r["path"]: zlib.decompress(r["data"])
                 for r in self.store.query("SELECT path, data FROM last_good_files")}
        manifest = json.loads(files[bundle.MANIFEST])
        return GoodBundle(bundle.Bundle(files, manifest), row["compiled_at"],
                          json.loads(row["first_commits"]), row["serial"])

    # sync reports and the fleet

    def good_marker(self) -> tuple[str, float] | None:
        row = self.store.query_one(
            "SELECT bundle_hash, compiled_at FROM last_good WHERE id = 1")
        return (row["bundle_hash"], row["compiled_at"]) if row else None

    def fleet_row(self, cluster_id: str, target: str) -> FleetRow | None:
        row = self.store.query_one("SELECT * FROM clusters WHERE cluster_id = ? AND target = ?",
                                   (cluster_id, target))
        return fleet_of(row) if row else None

    def record_report(self, row: FleetRow, *, history: bool,
                      duration: float | None) -> None:
        values = dataclasses.astuple(row)
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO clusters (cluster_id, target, commit_sha, hash,"
                " attempted_hash, since, last_report_at, result, error, converged, last_error,"
                " last_error_at, instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values)
            if history:
                cursor = db.execute(
                    "INSERT INTO sync_history (received_at, cluster_id, target, commit_sha, hash,"
                    " attempted_hash, result, error, converged, duration, instance)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.last_report_at, row.cluster_id, row.target, row.commit, row.hash,
                     row.attempted_hash, row.result, row.error, int(row.converged), duration,
                     row.instance))
                if (cursor.lastrowid or 0) % 1000 == 0:
                    db.execute("DELETE FROM sync_history WHERE id <= ?",
                               ((cursor.lastrowid or 0) - KEEP_HISTORY,))

    def fleet(self, *, cluster_id: str | None, target: str | None) -> list[FleetRow]:
        where, params = filters(cluster_id, target)
        rows = self.store.query(f"SELECT * FROM clusters{where} ORDER BY cluster_id, target",
                                params)
        return [fleet_of(row) for row in rows]

    def history(self, *, cluster_id: str | None, target: str | None, limit: int,
                before: int | None) -> Sequence[Row]:
        where, params = filters(cluster_id, target)
        if before is not None:
            where += (" AND" if where else " WHERE") + " id < ?"
            params.append(before)
        return self.store.query(f"SELECT * FROM sync_history{where} ORDER BY id DESC LIMIT ?",
                                [*params, limit])

    # triggers

    def record_trigger(self, *, at: float, source: str, reason: str | None,
                       requested_by: str | None) -> int:
        """Record a trigger (keeping the newest `KEEP_TRIGGERS`); its id."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO triggers (at, source, reason, requested_by) VALUES (?, ?, ?, ?)",
                (at, source, reason, requested_by))
            number = cursor.lastrowid or 0
            db.execute("DELETE FROM triggers WHERE id <= ?", (number - KEEP_TRIGGERS,))
        return number

    def triggers_after(self, after: int) -> list[tuple[int, str]]:
        rows = self.store.query("SELECT id, source FROM triggers WHERE id > ? ORDER BY id"
                                " LIMIT 100", (after,))
        return [(int(row["id"]), row["source"]) for row in rows]

    def record_delivery(self, *, delivery: str, body_sha256: str, at: float,
                        window: float) -> bool:
        """Remember a webhook delivery; False when its id or its body was already seen
        within `window` seconds (a replay). Older deliveries are forgotten."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM webhook_deliveries WHERE at < ?", (at - window,))
            seen = db.execute("SELECT 1 FROM webhook_deliveries WHERE delivery = ? "
                              "OR body_sha256 = ? LIMIT 1", (delivery, body_sha256)).fetchone()
            if seen is not None:
                return False
            db.execute("INSERT INTO webhook_deliveries (delivery, body_sha256, at) "
                       "VALUES (?, ?, ?)", (delivery, body_sha256, at))
        return True


def _save_good(db: sqlite3.Connection, good: GoodBundle) -> None:
    commit = (good.bundle.manifest.get("source") or {}).get("commit")
    rows = [(path, zlib.compress(data, 6)) for path, data in good.bundle.files.items()]
    db.execute(
        "INSERT OR REPLACE INTO last_good (id, commit_sha, bundle_hash, compiled_at,"
        " first_commits, serial) VALUES (1, ?, ?, ?, ?, ?)",
        (commit, good.bundle.hash, good.compiled_at, json.dumps(good.first_commits),
         good.serial))
    db.execute("DELETE FROM last_good_files")
    db.executemany("INSERT INTO last_good_files (path, data) VALUES (?, ?)", rows)


def filters(cluster_id: str | None, target: str | None,
            placeholder: str = "?") -> tuple[str, list[Any]]:
    """A WHERE clause on cluster and target (`placeholder`: `?` SQLite, `%s` psycopg)."""
    clauses, params = [], []
    if cluster_id is not None:
        clauses.append(f"cluster_id = {placeholder}")
        params.append(cluster_id)
    if target is not None:
        clauses.append(f"target = {placeholder}")
        params.append(target)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def attempt_of(row: Row) -> Attempt:
    """An `Attempt` from a `compiles` row (either backend)."""
    return Attempt(row["id"], row["commit_sha"], row["at"], row["duration"], row["result"],
                   row["bundle_hash"], row["version"], row["error"],
                   json.loads(row["diagnostics"]))


def fleet_of(row: Row) -> FleetRow:
    """A `FleetRow` from a `clusters` row (either backend)."""
    return FleetRow(row["cluster_id"], row["target"], row["commit_sha"], row["hash"],
                    row["attempted_hash"], row["since"], row["last_report_at"], row["result"],
                    row["error"], bool(row["converged"]), row["last_error"],
                    row["last_error_at"], row["instance"])
