"""Which database `--db` names: a SQLite file (one server, the default) or a
`postgresql://` URL (replicas sharing one database). psycopg is imported only for the
latter.
"""

from __future__ import annotations

from pathlib import Path

from converge.reconciler.server import state

__all__ = ["is_url", "open_state"]


def is_url(db: str | Path) -> bool:
    """Whether `--db` names a PostgreSQL database rather than a SQLite file."""
    return str(db).startswith(("postgresql://", "postgres://"))


def open_state(db: str | Path) -> state.Storage:
    """The storage `--db` names: a `postgresql://` URL, else a SQLite file.

    Raises:
        StoreError: the database cannot be used (unreachable, newer schema, …).
    """
    if is_url(db):
        from converge.reconciler.server import postgres

        return postgres.PostgresState(str(db))
    return state.ServerState(db)
