"""The SQLite store: WAL, versioned migrations applied once, refusing a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from converge.reconciler.core import Store, StoreError

V1 = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
V2 = """ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_name ON items (name);"""


def _add_default(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO items (name, size) VALUES ('seed', 1)")


def test_migrations_run_once_in_order_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "s.db"
    store = Store(path, [V1])
    assert store.version == 1
    store.execute("INSERT INTO items (name) VALUES ('a')")
    store.close()
    store = Store(path, [V1, V2, _add_default])
    try:
        assert store.version == 3
        rows = store.query("SELECT name, size FROM items ORDER BY id")
        assert [(r["name"], r["size"]) for r in rows] == [("a", 0), ("seed", 1)]
        journal = store.query_one("PRAGMA journal_mode")
        assert journal is not None and journal[0] == "wal"
        assert store.query_one("PRAGMA synchronous")[0] == 1  # type: ignore[index]  # NORMAL
    finally:
        store.close()
    store = Store(path, [V1, V2, _add_default])  # nothing runs again
    try:
        assert store.query_one("SELECT count(*) FROM items")[0] == 2  # type: ignore[index]
    finally:
        store.close()


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, [V1]).close()
    with pytest.raises(StoreError):
        Store(path, [V1, "ALTER TABLE nowhere ADD COLUMN x INTEGER;"])
    store = Store(path, [V1, V2])
    try:
        assert store.version == 2
    finally:
        store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, [V1, V2]).close()
    with pytest.raises(StoreError, match="newer"):
        Store(path, [V1])


def test_a_transaction_rolls_back_on_error() -> None:
    store = Store(":memory:", [V1])
    try:
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.execute("INSERT INTO items (name) VALUES ('x')")
            raise RuntimeError("boom")
        assert store.query_one("SELECT count(*) FROM items")[0] == 0  # type: ignore[index]
    finally:
        store.close()
