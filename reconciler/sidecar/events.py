"""The sidecar's events for the notifier: sync failures, rollbacks and recoveries.

`event_for` is pure: from whether the sidecar was failing and the current sync report it
decides whether the notifier hears of it. The first failure after a success is an `error` event, a
rollback always an `error` event (the target runs an older bundle than the one
compiled), a success after failures a `resolved` one; repeated failures while the loop
backs off say nothing new, so they send nothing. Events go through the daemons' shared
bounded outbox (`converge.reconciler.core.events`): a notifier restart loses none.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from converge.reconciler.sidecar.sync import Report


@dataclasses.dataclass(frozen=True, slots=True)
class SyncEvent:
    """One sidecar event, in the notifier's event document."""

    level: str
    title: str
    text: str
    status: str
    labels: dict[str, str]
    time: float

    def to_json(self) -> dict[str, Any]:
        moment = datetime.datetime.fromtimestamp(self.time, datetime.UTC)
        return {"source": "sidecar", "level": self.level, "title": self.title,
                "text": self.text, "status": self.status, "labels": dict(self.labels),
                "channels": [], "time": moment.isoformat().replace("+00:00", "Z")}


def event_for(failing: bool, report: Report, *, target: str, cluster: str, instance: str,
              now: float) -> tuple[SyncEvent | None, bool]:
    """What the notifier should hear of this sync, if anything, and whether the sidecar
    is failing afterwards (`failing`: it was before; an `unchanged` sync changes neither)."""
    labels = {"target": target, "cluster": cluster, "instance": instance}
    if report.rolled_back:
        return SyncEvent("error", f"{target} on {instance}: rolled back", report.reason,
                         "firing", {**labels, "type": "rollback"}, now), True
    if report.result == "failure":
        if failing:
            return None, True
        return SyncEvent("error", f"{target} on {instance}: sync failing", report.reason,
                         "firing", {**labels, "type": "sync_failed"}, now), True
    if report.result == "success" and failing:
        return SyncEvent("info", f"{target} on {instance}: sync failing",
                         f"recovered: {report.reason}", "resolved",
                         {**labels, "type": "sync_failed"}, now), False
    return None, failing
