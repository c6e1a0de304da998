"""The durable outbox: every accepted message is in SQLite before it is acknowledged.

Database work is batched on the event loop: an operation is queued, and one flush per
turn of the loop runs everything queued in that turn in one transaction, so concurrent
requests share one commit and one `fsync` (group commit). It runs on the loop's own
thread: a `COMMIT` takes well under a millisecond, less than handing work to another
thread and back costs on a busy machine (two thread wake-ups per operation).

The database runs in WAL mode. A batch that accepts messages
commits with `synchronous=FULL`: the transaction is on disk when `COMMIT` returns, so an
acknowledged message survives a process crash and a power loss (`NORMAL` would survive the
crash but could lose the last commits to a power loss, after Alertmanager has been told
200 and will never resend). Batches of delivery bookkeeping only commit with `NORMAL`:
a process crash loses none of them, and the next `FULL` commit makes them durable too
(the WAL is one file, synced in order); a power loss in between can at worst cause an
uncounted resend, never a lost message.

A message is delivered in parts; `parts_sent` records progress, and `inflight` is set
before each send and cleared with its outcome. After a crash, a message found in flight
was possibly delivered already: it is sent again (at least once) and counted in
`possibleDuplicates`, so duplicates are bounded (one part per channel per crash) and known.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from converge.reconciler.core.store import Store

T = TypeVar("T")

MIGRATIONS = ["""
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    inflight INTEGER NOT NULL DEFAULT 0,
    redeliveries INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX messages_pending ON messages (channel, id) WHERE state = 'pending';
CREATE INDEX messages_dedup ON messages (dedup_key, received_at);
CREATE INDEX messages_finished ON messages (state, finished_at);
CREATE TABLE dead_letters (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL,
    attempts INTEGER NOT NULL
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
""", """
CREATE TABLE escalations (
    route TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    alert TEXT NOT NULL,
    first_seen REAL NOT NULL,
    paged INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    last_paged_at REAL,
    acked_at REAL,
    acked_by TEXT,
    PRIMARY KEY (route, fingerprint)
);
"""]

BATCH = 1024
"""Most operations in one transaction."""


@dataclasses.dataclass(frozen=True, slots=True)
class NewMessage:
    channel: str
    kind: str
    """`alertmanager` or `event`."""
    body: str
    """The payload or event as JSON text."""
    dedup_key: str


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """A pending message, as the delivery worker reads it."""

    id: int
    channel: str
    kind: str
    body: str
    received_at: float
    attempts: int
    failures: int
    parts_sent: int
    next_attempt_at: float
    claimed: bool = False
    """Its attempt is marked as started (`claim` found it due)."""


class OutboxError(Exception):
    """The outbox could not store or read; intake answers 5xx."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Op:
    function: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    durable: bool


class Outbox:
    """The outbox in the SQLite file `path` (see the module docstring). Use it from one
    event loop.

    Args:
        path: the database file.
        dedup_window: seconds within which an identical message is not stored again.
        clock: wall-clock seconds since the epoch.
    """

    def __init__(self, path: str | Path, *, dedup_window: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = Store(path, MIGRATIONS)
        self._level = ""
        self._synchronous("FULL")
        self.dedup_window = dedup_window
        self._clock = clock
        self._pending: list[_Op] = []
        self._closed = False
        self.commits = 0

    def _flush(self) -> None:
        batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            self._synchronous("FULL" if any(op.durable for op in batch) else "NORMAL")
            with self._store.transaction() as db:
                results: list[tuple[bool, Any]] = [(True, op.function(db)) for op in batch]
            self.commits += 1
        except Exception:  # a failing op must not fail the others: one transaction each
            results = [self._alone(op) for op in batch]
        for op, (ok, value) in zip(batch, results, strict=True):
            if op.future.cancelled():
                continue
            if ok:
                op.future.set_result(value)
            else:
                op.future.set_exception(value)

    def _alone(self, op: _Op) -> tuple[bool, Any]:
        try:
            self._synchronous("FULL" if op.durable else "NORMAL")
            with self._store.transaction() as db:
                value = op.function(db)
            self.commits += 1
            return True, value
        except Exception as error:
            return False, error

    def _synchronous(self, level: str) -> None:
        if level != self._level:
            self._store.execute(f"PRAGMA synchronous={level}")
            self._level = level

    async def execute(self, function: Callable[[sqlite3.Connection], T], *,
                      durable: bool = False) -> T:
        """Run `function` on the database in the next batch (`durable`: commit with
        `synchronous=FULL`); what it returns.

        Raises:
            OutboxError: it failed.
        """
        return await self._call(function, durable=durable)

    async def _call(self, function: Callable[[sqlite3.Connection], T], *,
                    durable: bool = False) -> T:
        if self._closed:
            raise OutboxError("the outbox is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(_Op(function, future, durable))
        try:
            return await future
        except sqlite3.Error as error:
            raise OutboxError(str(error)) from error

    def close(self) -> None:
        """Close the database (queued operations fail)."""
        if not self._closed:
            self._closed = True
            for op in self._pending:
                if not op.future.done():
                    op.future.set_exception(OutboxError("the outbox is closed"))
            self._pending.clear()
            self._store.close()

    # -- intake ------------------------------------------------------------------------

    async def accept(self, items: Sequence[NewMessage]) -> list[int | None]:
        """Store `items` durably; the id of each, or None where an identical message was
        received within the dedup window (it is not stored again).

        Raises:
            OutboxError: nothing was stored.
        """
        now = self._clock()
        since = now - self.dedup_window

        def insert(db: sqlite3.Connection) -> list[int | None]:
            ids: list[int | None] = []
            for item in items:
                if self.dedup_window > 0 and db.execute(
                        "SELECT 1 FROM messages WHERE dedup_key = ? AND received_at >= ? LIMIT 1",
                        (item.dedup_key, since)).fetchone():
                    ids.append(None)
                    continue
                cursor = db.execute(
                    "INSERT INTO messages (channel, kind, body, dedup_key, received_at) "
                    "VALUES (?, ?, ?, ?, ?)", (item.channel, item.kind, item.body,
                                               item.dedup_key, now))
                ids.append(cursor.lastrowid)
            return ids

        return await self._call(insert, durable=True)

    # -- delivery ----------------------------------------------------------------------

    async def head(self, channel: str) -> Stored | None:
        """The channel's oldest pending message."""

        def read(db: sqlite3.Connection) -> Stored | None:
            row = db.execute(
                "SELECT id, channel, kind, body, received_at, attempts, failures, parts_sent, "
                "next_attempt_at FROM messages WHERE channel = ? AND state = 'pending' "
                "ORDER BY id LIMIT 1", (channel,)).fetchone()
            return Stored(*row) if row else None

        return await self._call(read)

    async def claim(self, channel: str) -> Stored | None:
        """The channel's oldest pending message; when it is due, its attempt is also marked
        as started (what `begin` does) in the same transaction."""
        now = self._clock()

        def read(db: sqlite3.Connection) -> Stored | None:
            row = db.execute(
                "SELECT id, channel, kind, body, received_at, attempts, failures, parts_sent, "
                "next_attempt_at FROM messages WHERE channel = ? AND state = 'pending' "
                "ORDER BY id LIMIT 1", (channel,)).fetchone()
            if row is None:
                return None
            stored = Stored(*row)
            if stored.next_attempt_at > now:
                return stored
            db.execute("UPDATE messages SET inflight = 1, attempts = attempts + 1 WHERE id = ?",
                       (stored.id,))
            return dataclasses.replace(stored, claimed=True)

        return await self._call(read)

    async def release(self, message_id: int) -> None:
        """Undo the mark of an attempt that never started (its worker is stopping)."""
        await self._call(lambda db: db.execute(
            "UPDATE messages SET inflight = 0 WHERE id = ?", (message_id,)))

    async def begin(self, message_id: int) -> None:
        """Mark an attempt as started (before the request leaves)."""
        await self._call(lambda db: db.execute(
            "UPDATE messages SET inflight = 1, attempts = attempts + 1 WHERE id = ?",
            (message_id,)))

    async def part_sent(self, message_id: int, parts_sent: int) -> None:
        await self._call(lambda db: db.execute(
            "UPDATE messages SET inflight = 0, failures = 0, parts_sent = ? WHERE id = ?",
            (parts_sent, message_id)))

    async def delivered(self, message_id: int, parts_sent: int) -> None:
        now = self._clock()
        await self._call(lambda db: db.execute(
            "UPDATE messages SET state = 'delivered', inflight = 0, parts_sent = ?, "
            "finished_at = ?, last_error = NULL WHERE id = ?", (parts_sent, now, message_id)))

    async def retry(self, message_id: int, *, at: float, error: str) -> None:
        await self._call(lambda db: db.execute(
            "UPDATE messages SET inflight = 0, failures = failures + 1, next_attempt_at = ?, "
            "last_error = ? WHERE id = ?", (at, error, message_id)))

    async def dead(self, message_id: int, reason: str) -> None:
        now = self._clock()

        def bury(db: sqlite3.Connection) -> None:
            db.execute("UPDATE messages SET state = 'dead', inflight = 0, last_error = ?, "
                       "finished_at = ? WHERE id = ?", (reason, now, message_id))
            db.execute("INSERT OR REPLACE INTO dead_letters (message_id, channel, reason, "
                       "failed_at, attempts) SELECT id, channel, ?, ?, attempts FROM messages "
                       "WHERE id = ?", (reason, now, message_id))

        await self._call(bury)

    # -- dead letters and housekeeping -------------------------------------------------

    async def dead_letters(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters with their message."""

        def read(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT d.message_id, d.channel, d.reason, d.failed_at, d.attempts, m.kind, "
                "m.body, m.received_at FROM dead_letters d JOIN messages m ON "
                "m.id = d.message_id ORDER BY d.message_id DESC LIMIT ?", (limit,)).fetchall()
            keys = ("id", "channel", "reason", "failedAt", "attempts", "kind", "body",
                    "receivedAt")
            return [dict(zip(keys, tuple(row), strict=True)) for row in rows]

        return await self._call(read)

    async def recent(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """The newest messages, whatever their state, for the console (body included)."""

        def read(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT id, channel, kind, body, state, attempts, failures, received_at, "
                "finished_at, next_attempt_at, last_error FROM messages ORDER BY id DESC "
                "LIMIT ?", (limit,)).fetchall()
            keys = ("id", "channel", "kind", "body", "state", "attempts", "failures",
                    "receivedAt", "finishedAt", "nextAttemptAt", "lastError")
            return [dict(zip(keys, tuple(row), strict=True)) for row in rows]

        return await self._call(read)

    async def requeue(self, message_id: int) -> str | None:
        """Put a dead letter back at the head of its channel's queue; its channel, or None."""

        def revive(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT channel FROM dead_letters WHERE message_id = ?",
                             (message_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM dead_letters WHERE message_id = ?", (message_id,))
            db.execute("UPDATE messages SET state = 'pending', failures = 0, parts_sent = 0, "
                       "next_attempt_at = 0, finished_at = NULL WHERE id = ?", (message_id,))
            return str(row[0])

        return await self._call(revive)

    async def forget(self, message_id: int) -> bool:
        """Delete a dead letter for good."""

        def delete(db: sqlite3.Connection) -> bool:
            gone = db.execute("DELETE FROM dead_letters WHERE message_id = ?", (message_id,))
            return gone.rowcount > 0

        return await self._call(delete)

    async def recover(self) -> int:
        """At start-up: messages in flight when the process died are sent again; count them
        as possible duplicates. Returns how many there were."""

        def reset(db: sqlite3.Connection) -> int:
            count = db.execute("UPDATE messages SET inflight = 0, redeliveries = redeliveries + 1 "
                               "WHERE inflight = 1").rowcount
            db.execute("INSERT INTO counters (name, value) VALUES ('possibleDuplicates', ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                       (count,))
            return int(count)

        return await self._call(reset)

    async def counts(self) -> dict[str, Any]:
        """Pending and dead messages per channel, and the possible-duplicates counter."""

        def read(db: sqlite3.Connection) -> dict[str, Any]:
            pending = dict(db.execute("SELECT channel, count(*) FROM messages WHERE state = "
                                      "'pending' GROUP BY channel").fetchall())
            dead = dict(db.execute("SELECT channel, count(*) FROM dead_letters GROUP BY channel"
                                   ).fetchall())
            row = db.execute("SELECT value FROM counters WHERE name = 'possibleDuplicates'"
                             ).fetchone()
            return {"pending": pending, "dead": dead, "possibleDuplicates": row[0] if row else 0}

        return await self._call(read)

    async def prune(self, *, keep: float) -> int:
        """Delete delivered messages finished more than `keep` seconds ago (at least the
        dedup window, which still needs their keys)."""
        before = self._clock() - max(keep, self.dedup_window)
        return await self._call(lambda db: int(db.execute(
            "DELETE FROM messages WHERE state = 'delivered' AND finished_at < ?",
            (before,)).rowcount))

    async def oldest_pending(self) -> dict[str, float]:
        """When the oldest pending message of each channel arrived (Unix time)."""
        rows = await self._call(lambda db: db.execute(
            "SELECT channel, min(received_at) FROM messages WHERE state = 'pending' "
            "GROUP BY channel").fetchall())
        return {str(channel): float(at) for channel, at in rows}

    async def prune_history(self, *, keep: float) -> int:
        """Delete dead letters (and their messages) that failed more than `keep` seconds
        ago: the notifier's history retention."""
        before = self._clock() - keep

        def delete(db: sqlite3.Connection) -> int:
            ids = [row[0] for row in db.execute(
                "SELECT message_id FROM dead_letters WHERE failed_at < ? LIMIT ?",
                (before, BATCH * 16))]
            db.executemany("DELETE FROM dead_letters WHERE message_id = ?",
                           [(i,) for i in ids])
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])
            return len(ids)

        return await self._call(delete)
