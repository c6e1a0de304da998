"""The scaler's events for the notifier: one per recorded decision (scale up, scale down,
hold, fallback), delivered through the shared outbox (`converge.reconciler.core.events`)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

__all__ = ["Event"]


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    level: str
    pool: str
    direction: str
    mode: str
    previous: int
    desired: int
    reason: str
    time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The notifier's event document (docs/notifier.md)."""
        moment = datetime.datetime.fromtimestamp(self.time, datetime.UTC)
        if self.direction == "none":
            title = f"{self.pool}: {self.mode} at {self.desired} replicas"
        else:
            title = f"{self.pool}: scale {self.direction} {self.previous} → {self.desired}"
        return {
            "source": "scaler", "level": self.level, "title": title, "text": self.reason,
            "labels": {"pool": self.pool, "direction": self.direction, "mode": self.mode},
            "channels": [], "status": "firing",
            "time": moment.isoformat().replace("+00:00", "Z"),
        }
