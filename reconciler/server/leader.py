"""Which replica compiles: one leader at a time, elected on the shared database.

`AdvisoryLock` holds a PostgreSQL session-level advisory lock on a connection of its own
(never one of the pool's): the replica holding it is the leader, and when that replica
dies its session ends and PostgreSQL releases the lock, so another replica takes it at
its next try (every loop interval). A leader that loses its connection stops leading at
once. `Sole` is the single SQLite server, always the leader.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import psycopg

__all__ = ["LOCK", "AdvisoryLock", "Leadership", "Sole"]

LOCK = 0x636F6E76_00000002
"""The advisory lock key the leader holds (`conv` + 2)."""
TIMEOUT = 5
"""Seconds to connect, and a statement may take, on the lock's connection."""

_log = logging.getLogger("converge.server.leader")


class Leadership(Protocol):
    def held(self) -> bool:
        """Whether this replica leads now (trying to become the leader if not)."""
        ...

    def close(self) -> None: ...


class Sole:
    """One server, no replicas: always the leader."""

    def held(self) -> bool:
        return True

    def close(self) -> None:
        pass


class AdvisoryLock:
    """Leadership as `pg_try_advisory_lock(LOCK)` held on a dedicated session.

    Args:
        url: the shared database.
        name: this replica, for log lines.
    """

    def __init__(self, url: str, *, name: str = "") -> None:
        self._url = url
        self._name = name
        self._lock = threading.Lock()
        self._db: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False

    def held(self) -> bool:
        with self._lock:
            was = self._held
            try:
                if self._db is None or self._db.closed:
                    self._held = False
                    self._db = psycopg.connect(
                        self._url, autocommit=True, connect_timeout=TIMEOUT,
                        options=f"-c statement_timeout={TIMEOUT * 1000}",
                        keepalives=1, keepalives_idle=5, keepalives_interval=2,
                        keepalives_count=2, application_name="converge-leader")
                if self._held:
                    self._db.execute("SELECT 1")  # the session, and so the lock, still lives
                else:
                    row = self._db.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,)).fetchone()
                    self._held = bool(row and row[0])
            except psycopg.Error as error:
                self._drop()
                if was:
                    _log.warning("replica %s lost the leadership: %s", self._name, error,
                                 extra={"event": "leadership-lost"})
                return False
            if self._held and not was:
                _log.info("replica %s is the leader: it compiles", self._name,
                          extra={"event": "leadership-taken"})
            return self._held

    def _drop(self) -> None:
        self._held = False
        if self._db is not None:
            try:
                self._db.close()
            except psycopg.Error:
                pass
            self._db = None

    def close(self) -> None:
        """Leave the leadership (closing the session releases the lock)."""
        with self._lock:
            self._drop()
