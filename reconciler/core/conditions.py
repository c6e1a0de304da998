"""Kubernetes-style conditions (`Ready`, `Reconciling`, `Stalled`) as pure values.

A condition's `last_transition_time` changes only when its status changes, as in
Kubernetes: setting the same status again with a new reason or message keeps the time.
See kstatus: `Reconciling` is true while work is in progress or being retried, `Stalled`
is true when progress needs a human (a spec that does not compile, a target that rejects
every bundle), `Ready` is true while the daemon can do its job.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from typing import Any, Literal

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
STANDARD = (READY, RECONCILING, STALLED)

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One condition. `reason` is a CamelCase word; `message` is for humans."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    last_transition_time: float
    """Seconds since the epoch."""

    @property
    def true(self) -> bool:
        return self.status == "True"

    def to_json(self) -> dict[str, Any]:
        """The Kubernetes JSON shape (camelCase, RFC 3339 time)."""
        return {"type": self.type, "status": self.status, "reason": self.reason,
                "message": self.message,
                "lastTransitionTime": rfc3339(self.last_transition_time)}


def initial(now: float, types: Iterable[str] = STANDARD) -> tuple[Condition, ...]:
    """Every condition `Unknown` with reason `Starting`."""
    return tuple(Condition(t, "Unknown", "Starting", "", now) for t in types)


def status_of(value: bool | None) -> ConditionStatus:
    return "Unknown" if value is None else ("True" if value else "False")


def set_condition(conditions: tuple[Condition, ...], *, type: str, status: bool | None,
                  reason: str, message: str = "", now: float) -> tuple[Condition, ...]:
    """`conditions` with `type` set; its transition time moves only if the status changed.

    A type not yet present is appended.
    """
    new_status = status_of(status)
    result: list[Condition] = []
    found = False
    for condition in conditions:
        if condition.type == type:
            found = True
            since = (condition.last_transition_time if condition.status == new_status
                     else now)
            condition = Condition(type, new_status, reason, message, since)
        result.append(condition)
    if not found:
        result.append(Condition(type, new_status, reason, message, now))
    return tuple(result)


def find(conditions: Iterable[Condition], type: str) -> Condition | None:
    return next((c for c in conditions if c.type == type), None)


def rfc3339(seconds: float) -> str:
    """`2024-05-01T12:00:00.123Z` for seconds since the epoch (UTC, milliseconds)."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
