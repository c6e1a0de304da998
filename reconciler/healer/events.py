"""Where the healer's events go: an `EventSink` Protocol and its HTTP adapter for the notifier.

An event is the source document's alert: a level (info, warning, error, critical), the
record type it comes from, the container, service and project, a message and the
policy's channels. `HttpEventSink` posts it to the notifier's `POST /api/v1/events`
(docs/notifier.md: `{level, source, title, text, labels, channels, status, time}`); an
event that could not be delivered is kept (bounded) and sent again on the next pass, so a
notifier restart loses none. One the notifier refuses (4xx) is logged and dropped. The sink,
its HTTP adapter and the outbox are shared with the scaler (`converge.reconciler.core.events`).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from converge.reconciler.core.events import (
    EVENTS_PATH,
    EventSink,
    HttpEventSink,
    LogSink,
    Outbox,
    RejectedEvent,
)

__all__ = ["EVENTS_PATH", "Event", "EventSink", "HttpEventSink", "LogSink", "Outbox",
           "RejectedEvent"]


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    level: str
    type: str
    message: str
    container: str
    container_id: str
    service: str
    project: str
    policy: str
    channels: tuple[str, ...] = ()
    time: float = 0.0
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The notifier's event document."""
        moment = datetime.datetime.fromtimestamp(self.time, datetime.UTC)
        labels = {"container": self.container, "container_id": self.container_id[:12],
                  "service": self.service, "policy": self.policy, "type": self.type}
        if self.project:
            labels["project"] = self.project
        return {
            "source": "healer", "level": self.level,
            "title": f"{self.container}: {self.type.replace('_', ' ')}",
            "text": self.message, "labels": labels, "channels": list(self.channels),
            "status": "resolved" if self.type == "recovered" else "firing",
            "time": moment.isoformat().replace("+00:00", "Z"),
        }
