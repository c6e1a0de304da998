"""The daemon's live status: its conditions and a few facts, shared between threads.

The reconcile loop (a worker thread) writes it; the HTTP handlers (the event loop)
read it for `/health`, `/health/ready` and `/status`. Every method takes a lock, and
readers get immutable snapshots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from converge.reconciler.core import conditions
from converge.reconciler.core.conditions import Condition


class Status:
    """Conditions plus free-form facts (`commit`, `hash`, …) for one daemon.

    Args:
        daemon: the daemon's name (`server`, `sidecar`, …), shown in `/status`.
        clock: wall-clock seconds since the epoch; injectable for tests.
    """

    def __init__(self, daemon: str, *, clock: Callable[[], float] = time.time) -> None:
        self.daemon = daemon
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._conditions = conditions.initial(self._started)
        self._facts: dict[str, Any] = {}

    def set(self, type: str, status: bool | None, reason: str, message: str = "") -> None:
        """Set one condition (`conditions.READY`, `RECONCILING`, `STALLED` or your own)."""
        with self._lock:
            self._conditions = conditions.set_condition(
                self._conditions, type=type, status=status, reason=reason, message=message,
                now=self._clock())

    def update(self, facts: Mapping[str, Any]) -> None:
        """Merge JSON-serialisable facts shown under `facts` in `/health` and `/status`."""
        with self._lock:
            self._facts.update(facts)

    def conditions(self) -> tuple[Condition, ...]:
        with self._lock:
            return self._conditions

    def condition(self, type: str) -> Condition | None:
        return conditions.find(self.conditions(), type)

    @property
    def ready(self) -> bool:
        """Whether the `Ready` condition is `True` (what `/health/ready` answers)."""
        return any(c.type == conditions.READY and c.true for c in self.conditions())

    def snapshot(self) -> dict[str, Any]:
        """The `/status` document: daemon, start time, conditions, facts."""
        with self._lock:
            found = self._conditions
            facts = dict(self._facts)
        return {"daemon": self.daemon, "startedAt": conditions.rfc3339(self._started),
                "uptimeSeconds": round(self._clock() - self._started, 3),
                "ready": any(c.type == conditions.READY and c.true for c in found),
                "conditions": [c.to_json() for c in found], "facts": facts}
