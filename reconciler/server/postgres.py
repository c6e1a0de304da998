"""The server's state in PostgreSQL, shared by any number of `converge serve` replicas.

The same tables as the SQLite `ServerState`, through psycopg 3 and a connection pool (a
well-kept driver, never wire code of our own). Migrations are versioned like the SQLite
ones and run inside one transaction holding a transaction-level advisory lock, so
replicas starting at once apply each migration exactly once; a database whose schema is
newer than this converge knows is refused with a message saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.parse
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import psycopg_pool
from psycopg.rows import dict_row

from converge.compiler import bundle
from converge.reconciler.core import StoreError
from converge.reconciler.server import state
from converge.reconciler.server.fleet import FleetRow
from converge.reconciler.server.state import Attempt, GoodBundle

MIGRATIONS = [
    """
    CREATE TABLE compiles (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        commit_sha TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        duration DOUBLE PRECISION NOT NULL,
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
        compiled_at DOUBLE PRECISION NOT NULL,
        first_commits TEXT NOT NULL
    );
    CREATE TABLE last_good_files (
        path TEXT PRIMARY KEY,
        data BYTEA NOT NULL
    );
    CREATE TABLE sync_history (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at DOUBLE PRECISION NOT NULL,
        cluster_id TEXT NOT NULL,
        target TEXT NOT NULL,
        commit_sha TEXT,
        hash TEXT,
        attempted_hash TEXT,
        result TEXT NOT NULL,
        error TEXT,
        converged BOOLEAN NOT NULL,
        duration DOUBLE PRECISION,
        instance TEXT
    );
    CREATE INDEX sync_history_by_cluster ON sync_history (cluster_id, target, id);
    CREATE TABLE clusters (
        cluster_id TEXT NOT NULL,
        target TEXT NOT NULL,
        commit_sha TEXT,
        hash TEXT,
        attempted_hash TEXT,
        since DOUBLE PRECISION NOT NULL,
        last_report_at DOUBLE PRECISION NOT NULL,
        result TEXT NOT NULL,
        error TEXT,
        converged BOOLEAN NOT NULL,
        last_error TEXT,
        last_error_at DOUBLE PRECISION,
        instance TEXT,
        PRIMARY KEY (cluster_id, target)
    );
    CREATE TABLE triggers (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        source TEXT NOT NULL,
        reason TEXT,
        requested_by TEXT
    );
    CREATE TABLE webhook_deliveries (
        delivery TEXT PRIMARY KEY,
        body_sha256 TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX webhook_deliveries_by_body ON webhook_deliveries (body_sha256);
    CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
    """,
    """
    ALTER TABLE last_good ADD COLUMN serial BIGINT NOT NULL DEFAULT 0;
    """,
    """
    CREATE TABLE identity (id TEXT NOT NULL);
    INSERT INTO identity (id) VALUES (md5(random()::text || clock_timestamp()::text));
    """,
]

MIGRATION_LOCK = 0x636F6E76_00000001
"""The advisory lock (`conv` + 1) migrations run under: one replica migrates at a time."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection: a replica that cannot reach the database says so
(`/health/ready` false) instead of hanging its requests."""


def redact(url: str) -> str:
    """`url` without its password (for logs and messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class PostgresState:
    """The server's tables in PostgreSQL (thread-safe: a pool of connections).

    Args:
        url: a `postgresql://` connection URL (libpq: user, host, port, dbname, sslmode, …).
        max_connections: the pool's size.
        migrations: the schema, oldest first (tests give a longer list).

    Raises:
        StoreError: unreachable, or a newer schema than `migrations` know.
    """

    def __init__(self, url: str, *, max_connections: int = 8,
                 migrations: Sequence[str] = MIGRATIONS) -> None:
        self.url = url
        self._pool = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=max_connections, open=False, timeout=CONNECT_TIMEOUT,
            kwargs={"row_factory": dict_row, "connect_timeout": int(CONNECT_TIMEOUT)},
            check=psycopg_pool.ConnectionPool.check_connection,
            name="converge-state")
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
            self.version = migrate(self._pool, migrations, where=self.where)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            self._pool.close()
            raise StoreError(f"{self.where}: {error}") from error
        except StoreError:
            self._pool.close()
            raise

    @property
    def where(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self._pool.close()

    def identity(self) -> str:
        rows = self._query("SELECT id FROM identity")
        return str(rows[0]["id"]) if rows else ""

    def ping(self) -> bool:
        try:
            with self._pool.connection(timeout=CONNECT_TIMEOUT) as db:
                db.execute("SELECT 1")
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            return False
        return True

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as db:
                yield db  # committed when the block ends, rolled back on an exception
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as error:
            raise StoreError(f"{self.where}: {error}") from error

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._transaction() as db:
            return db.execute(sql, params).fetchall()

    # compiles

    def record_attempt(self, *, commit: str, at: float, duration: float, result: str,
                       bundle_hash: str | None, version: str, error: str | None,
                       diagnostics: list[dict[str, Any]],
                       good: GoodBundle | None = None) -> Attempt:
        with self._transaction() as db:
            row = db.execute(
                "INSERT INTO compiles (commit_sha, at, duration, result, bundle_hash, version,"
                " error, diagnostics) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (commit, at, duration, result, bundle_hash, version, error,
                 json.dumps(diagnostics, ensure_ascii=False))).fetchone()
            number = int(row["id"]) if row else 0
            if good is not None:
                _save_good(db, dataclasses.replace(good, serial=number))
            db.execute("DELETE FROM compiles WHERE id <= %s", (number - state.KEEP_COMPILES,))
        return Attempt(number, commit, at, duration, result, bundle_hash, version, error,
                       diagnostics)

    def attempts(self, limit: int) -> list[Attempt]:
        rows = self._query("SELECT * FROM compiles ORDER BY id DESC LIMIT %s", (limit,))
        return [state.attempt_of(row) for row in rows]

    def last_attempt(self) -> Attempt | None:
        found = self.attempts(1)
        return found[0] if found else None

    # the last good bundle

    def save_good(self, good: GoodBundle) -> None:
        with self._transaction() as db:
            _save_good(db, good)

    def load_good(self) -> GoodBundle | None:
        with self._transaction() as db:  # one snapshot: the row and its files agree
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = db.execute("SELECT * FROM last_good WHERE id = 1").fetchone()
            if row is None:
                return None
            files = {r["path"]: zlib.decompress(r["data"]) for r in
                     db.execute("SELECT path, data FROM last_good_files").fetchall()}
        manifest = json.loads(files[bundle.MANIFEST])
        return GoodBundle(bundle.Bundle(files, manifest), row["compiled_at"],
                          json.loads(row["first_commits"]), int(row["serial"]))

    def good_marker(self) -> tuple[str, float] | None:
        rows = self._query("SELECT bundle_hash, compiled_at FROM last_good WHERE id = 1")
        return (rows[0]["bundle_hash"], rows[0]["compiled_at"]) if rows else None

    # sync reports and the fleet

    def fleet_row(self, cluster_id: str, target: str) -> FleetRow | None:
        rows = self._query("SELECT * FROM clusters WHERE cluster_id = %s AND target = %s",
                           (cluster_id, target))
        return state.fleet_of(rows[0]) if rows else None

    def record_report(self, row: FleetRow, *, history: bool,
                      duration: float | None) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO clusters (cluster_id, target, commit_sha, hash, attempted_hash,"
                " since, last_report_at, result, error, converged, last_error, last_error_at,"
                " instance) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (cluster_id, target) DO UPDATE SET"
                " commit_sha = EXCLUDED.commit_sha, hash = EXCLUDED.hash,"
                " attempted_hash = EXCLUDED.attempted_hash, since = EXCLUDED.since,"
                " last_report_at = EXCLUDED.last_report_at, result = EXCLUDED.result,"
                " error = EXCLUDED.error, converged = EXCLUDED.converged,"
                " last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at,"
                " instance = EXCLUDED.instance",
                (row.cluster_id, row.target, row.commit, row.hash, row.attempted_hash,
                 row.since, row.last_report_at, row.result, row.error, row.converged,
                 row.last_error, row.last_error_at, row.instance))
            if history:
                found = db.execute(
                    "INSERT INTO sync_history (received_at, cluster_id, target, commit_sha, hash,"
                    " attempted_hash, result, error, converged, duration, instance)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (row.last_report_at, row.cluster_id, row.target, row.commit, row.hash,
                     row.attempted_hash, row.result, row.error, row.converged, duration,
                     row.instance)).fetchone()
                number = int(found["id"]) if found else 0
                if number % 1000 == 0:
                    db.execute("DELETE FROM sync_history WHERE id <= %s",
                               (number - state.KEEP_HISTORY,))

    def fleet(self, *, cluster_id: str | None, target: str | None) -> list[FleetRow]:
        where, params = state.filters(cluster_id, target, "%s")
        rows = self._query(f"SELECT * FROM clusters{where} ORDER BY cluster_id, target",
                           params)
        return [state.fleet_of(row) for row in rows]

    def history(self, *, cluster_id: str | None, target: str | None, limit: int,
                before: int | None) -> Sequence[state.Row]:
        where, params = state.filters(cluster_id, target, "%s")
        if before is not None:
            where += (" AND" if where else " WHERE") + " id < %s"
            params.append(before)
        return self._query(f"SELECT * FROM sync_history{where} ORDER BY id DESC LIMIT %s",
                           [*params, limit])

    # triggers and webhook deliveries

    def record_trigger(self, *, at: float, source: str, reason: str | None,
                       requested_by: str | None) -> int:
        with self._transaction() as db:
            row = db.execute(
                "INSERT INTO triggers (at, source, reason, requested_by)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                (at, source, reason, requested_by)).fetchone()
            number = int(row["id"]) if row else 0
            db.execute("DELETE FROM triggers WHERE id <= %s", (number - state.KEEP_TRIGGERS,))
        return number

    def triggers_after(self, after: int) -> list[tuple[int, str]]:
        rows = self._query("SELECT id, source FROM triggers WHERE id > %s ORDER BY id"
                           " LIMIT 100", (after,))
        return [(int(row["id"]), row["source"]) for row in rows]

    def record_delivery(self, *, delivery: str, body_sha256: str, at: float,
                        window: float) -> bool:
        with self._transaction() as db:
            # Replicas may receive the same delivery at once: one wins the primary key.
            db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK + 1,))
            db.execute("DELETE FROM webhook_deliveries WHERE at < %s", (at - window,))
            seen = db.execute("SELECT 1 FROM webhook_deliveries WHERE delivery = %s "
                              "OR body_sha256 = %s LIMIT 1", (delivery, body_sha256)).fetchone()
            if seen is not None:
                return False
            db.execute("INSERT INTO webhook_deliveries (delivery, body_sha256, at) "
                       "VALUES (%s, %s, %s)", (delivery, body_sha256, at))
        return True


def _save_good(db: psycopg.Connection[Any], good: GoodBundle) -> None:
    commit = (good.bundle.manifest.get("source") or {}).get("commit")
    rows = [(path, zlib.compress(data, 6)) for path, data in good.bundle.files.items()]
    db.execute(
        "INSERT INTO last_good (id, commit_sha, bundle_hash, compiled_at, first_commits,"
        " serial) VALUES (1, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
        " commit_sha = EXCLUDED.commit_sha, bundle_hash = EXCLUDED.bundle_hash,"
        " compiled_at = EXCLUDED.compiled_at, first_commits = EXCLUDED.first_commits,"
        " serial = EXCLUDED.serial",
        (commit, good.bundle.hash, good.compiled_at, json.dumps(good.first_commits),
         good.serial))
    db.execute("DELETE FROM last_good_files")
    with db.cursor() as cursor:
        cursor.executemany("INSERT INTO last_good_files (path, data) VALUES (%s, %s)", rows)


def migrate(pool: psycopg_pool.ConnectionPool[Any], migrations: Sequence[str], *,
            where: str) -> int:
    """Bring the schema to `len(migrations)` under the migration lock; the version.

    Raises:
        StoreError: the schema is newer than `migrations` know.
    """
    with pool.connection() as db:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            db.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = int(row["version"]) if row else 0
        if current > len(migrations):
            raise StoreError(f"{where}: schema version {current} is newer than this converge "
                             f"knows ({len(migrations)}): a newer converge migrated this "
                             "database; upgrade this replica")
        for number, migration in enumerate(migrations[current:], start=current + 1):
            db.execute(migration)
            db.execute("UPDATE schema_version SET version = %s", (number,))
    return max(current, len(migrations))
