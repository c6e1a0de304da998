"""A daemon's state in SQLite: WAL, `synchronous=NORMAL`, migrations by a version table.

WAL with `synchronous=NORMAL` survives a process crash without losing a committed
transaction (a power loss can lose the last few), and readers never block the writer.
A daemon lists its schema as migrations; migration *n* moves the database from version
*n-1* to *n*, in one transaction with the version bump, so a restart at any point leaves
either the old or the new schema. One connection, shared by threads under a lock.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

Migration = str | Callable[[sqlite3.Connection], None]
"""SQL statements (a script), or a function given the connection inside the transaction."""

Params = Sequence[Any] | dict[str, Any]


class StoreError(Exception):
    """The database cannot be used (newer schema than this converge knows, corrupt, …)."""


class Store:
    """A SQLite database with a migrated schema.

    Args:
        path: the database file (its folder is created), or `:memory:`.
        migrations: the schema, oldest first; applied ones are never run again.

    Raises:
        StoreError: the database has a newer schema version than `migrations` know.
    """

    def __init__(self, path: str | Path, migrations: Sequence[Migration]) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30.0)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate(migrations)
        except (sqlite3.Error, StoreError) as error:
            self._db.close()
            if isinstance(error, StoreError):
                raise
            raise StoreError(f"{self.path}: {error}") from error

    @property
    def version(self) -> int:
        """The schema version: how many migrations have been applied."""
        row = self.query_one("SELECT version FROM schema_version")
        return int(row["version"]) if row else 0

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement in its own transaction."""
        with self._lock:
            return self._db.execute(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`with store.transaction() as db:` — statements in one write transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        if self._db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
            self._db.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = self.version
        if current > len(migrations):
            raise StoreError(f"{self.path}: schema version {current} is newer than this "
                             f"converge knows ({len(migrations)}); upgrade converge")
        for number, migration in enumerate(migrations[current:], start=current + 1):
            with self.transaction() as db:
                if callable(migration):
                    migration(db)
                else:
                    for statement in _statements(migration):
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (number,))


def _statements(script: str) -> list[str]:
    """Split a script on `;` at statement ends (complete_statement keeps quoted `;`)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return [s for s in statements if s.rstrip(";").strip()]
