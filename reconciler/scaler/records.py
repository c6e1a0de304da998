"""The scaler's memory in SQLite: every decision with its inputs and reason, every container
created or removed, each pool's `PoolState` (so a restarted scaler keeps its windows,
step budgets and failure counts, and never starts from "no data" at the minimum), and
its identity (the ownership label of the containers it created).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from converge.reconciler.core.store import Store
from converge.reconciler.scaler.policy import Decision, PoolState

_MIGRATIONS = ["""
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    pool TEXT NOT NULL,
    time REAL NOT NULL,
    previous INTEGER NOT NULL,
    desired INTEGER NOT NULL,
    direction TEXT NOT NULL,
    mode TEXT NOT NULL,
    current INTEGER NOT NULL,
    recommendation INTEGER,
    reason TEXT NOT NULL,
    inputs TEXT NOT NULL
);
CREATE INDEX decisions_pool ON decisions (pool, id);
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    pool TEXT NOT NULL,
    time REAL NOT NULL,
    action TEXT NOT NULL,
    container TEXT NOT NULL,
    reason TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX actions_pool ON actions (pool, id);
CREATE TABLE pool_state (
    pool TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
""", """
CREATE TABLE identity (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""]

__all__ = ["Records"]


class Records:
    """Decisions, container actions and pool states in one SQLite database."""

    def __init__(self, path: str | Path) -> None:
        self.store = Store(path, _MIGRATIONS)

    def close(self) -> None:
        self.store.close()

    def owner(self) -> str:
        """This scaler's identity, made once and kept here: the value of the ownership
        label on every container it creates, and the only containers it acts on."""
        with self.store.transaction() as db:
            row = db.execute("SELECT value FROM identity WHERE name = 'owner'").fetchone()
            if row is not None:
                return str(row[0])
            value = f"scaler-{uuid.uuid4().hex[:16]}"
            db.execute("INSERT INTO identity (name, value) VALUES ('owner', ?)", (value,))
            return value

    def states(self) -> dict[str, PoolState]:
        """Every remembered pool's state, by pool name."""
        found: dict[str, PoolState] = {}
        fields = {f.name for f in dataclasses.fields(PoolState)}
        for row in self.store.query("SELECT pool, state FROM pool_state"):
            data = {k: v for k, v in json.loads(row["state"]).items() if k in fields}
            for key in ("recommendations", "changes"):
                data[key] = tuple((float(t), int(v)) for t, v in data.get(key, ()))
            found[row["pool"]] = PoolState(**data)
        return found

    def decide(self, pool: str, decision: Decision, *, current: int, now: float,
               inputs: dict[str, Any], record: bool) -> None:
        """Save the pool's new state and, when `record`, the decision itself."""
        state = json.dumps(dataclasses.asdict(decision.state), sort_keys=True)
        with self.store.transaction() as db:
            db.execute("INSERT INTO pool_state (pool, state, updated) VALUES (?,?,?) "
                       "ON CONFLICT (pool) DO UPDATE SET state = excluded.state, "
                       "updated = excluded.updated", (pool, state, now))
            if record:
                db.execute(
                    "INSERT INTO decisions (pool, time, previous, desired, direction, mode, "
                    "current, recommendation, reason, inputs) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (pool, now, decision.previous, decision.desired, decision.direction,
                     decision.mode, current, decision.recommendation, decision.reason,
                     json.dumps(inputs, sort_keys=True)))

    def act(self, pool: str, *, action: str, container: str, reason: str, result: str,
            now: float) -> None:
        self.store.execute("INSERT INTO actions (pool, time, action, container, reason, "
                           "result) VALUES (?,?,?,?,?,?)",
                           (pool, now, action, container, reason, result))

    def forget(self, pools: Sequence[str]) -> None:
        """Drop the state of pools no longer in the bundle (their history stays)."""
        with self.store.transaction() as db:
            db.executemany("DELETE FROM pool_state WHERE pool = ?", [(p,) for p in pools])

    def history(self, *, pool: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Latest decisions first."""
        sql, params = "SELECT * FROM decisions", []
        if pool:
            sql += " WHERE pool = ?"
            params.append(pool)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        found = []
        for row in rows:
            record = {key: row[key] for key in row.keys()}
            record["inputs"] = json.loads(record["inputs"])
            found.append(record)
        return found

    def actions(self, *, pool: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Latest container actions first."""
        sql, params = "SELECT * FROM actions", []
        if pool:
            sql += " WHERE pool = ?"
            params.append(pool)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [{key: row[key] for key in row.keys()} for row in rows]
