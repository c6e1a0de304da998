"""Where the healer's events go: an `EventSink` Protocol and its HTTP adapter for the notifier.

An event is the source document's alert: a level (info, warning, error, critical), the
record type it comes from, the container, service and project, a message and the
policy's channels. `HttpEventSink` posts it to the notifier's `POST /api/v1/events`
(docs/notifier.md: `{level, source, title, text, labels, channels, status, time}`); an
event that could not be delivered is kept (bounded) and sent again on the next pass, so a
notifier restart loses none. One the notifier refuses (4xx) is logged and dropped.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import httpx

EVENTS_PATH = "/api/v1/events"
MAX_PENDING = 1000

__all__ = ["EVENTS_PATH", "Event", "EventSink", "HttpEventSink", "LogSink", "Outbox",
           "RejectedEvent"]

_log = logging.getLogger("converge.healer.events")


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


class RejectedEvent(Exception):
    """The notifier refused the event (4xx other than 408 and 429): sending again won't help."""


class EventSink(Protocol):
    def send(self, event: Event) -> None:
        """Deliver one event; raise on failure (it is kept and sent again)."""


class LogSink:
    """No notifier configured: events are only logged."""

    def send(self, event: Event) -> None:
        _log.info("event %s %s: %s", event.level, event.container, event.message,
                  extra={"event": "healer_event", "eventLevel": event.level,
                         "labels": event.to_json()["labels"]})


class HttpEventSink:
    """POST each event as JSON to `<notifier>/api/v1/events`; 2xx is success.

    Args:
        base_url: the notifier, e.g. `http://127.0.0.1:9095`.
        token_file: a file holding the notifier's bearer token (read on each send).
    """

    def __init__(self, base_url: str, *, token_file: Path | None = None,
                 timeout: float = 5.0) -> None:
        self.url = base_url.rstrip("/") + EVENTS_PATH
        self.token_file = token_file
        self.client = httpx.Client(timeout=timeout)

    def send(self, event: Event) -> None:
        headers = {}
        if self.token_file is not None:
            headers["Authorization"] = f"Bearer {self.token_file.read_text().strip()}"
        response = self.client.post(self.url, json=event.to_json(), headers=headers)
        if response.is_success:
            return
        message = f"{self.url}: HTTP {response.status_code}: {response.text[:200]}"
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise RejectedEvent(message)
        raise httpx.HTTPStatusError(message, request=response.request, response=response)

    def close(self) -> None:
        self.client.close()


class Outbox:
    """Events waiting for the sink, oldest first; `flush` sends what it can.

    Args:
        sink: where events go.
        sent: called with (level, result) per attempt, for metrics.
    """

    def __init__(self, sink: EventSink, *, sent: Any = None) -> None:
        self.sink = sink
        self._pending: collections.deque[Event] = collections.deque(maxlen=MAX_PENDING)
        self._lock = threading.Lock()
        self._sent = sent

    def add(self, event: Event) -> None:
        with self._lock:
            self._pending.append(event)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Send pending events in order; stop at the first failure (kept for next time)."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                event = self._pending[0]
            started = time.monotonic()
            try:
                self.sink.send(event)
            except RejectedEvent as error:
                _log.error("healer event refused by the notifier, dropped: %s", error,
                           extra={"event": "event_rejected", "error": str(error)})
                self._count(event.level, "rejected")
                self._drop(event)
                continue
            except Exception as error:  # any sink failure: keep the event, retry later
                _log.warning("healer could not send a %s event, keeping it (%d pending): %s",
                             event.level, self.pending, error,
                             extra={"event": "event_failed", "error": str(error)})
                self._count(event.level, "failed")
                return
            _log.debug("event sent in %.3fs", time.monotonic() - started)
            self._count(event.level, "sent")
            self._drop(event)

    def _drop(self, event: Event) -> None:
        with self._lock:
            if self._pending and self._pending[0] is event:
                self._pending.popleft()

    def _count(self, level: str, result: str) -> None:
        if self._sent is not None:
            self._sent(level, result)
