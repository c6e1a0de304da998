"""Events for the notifier: an `EventSink` Protocol, its HTTP adapter and a bounded outbox.

Any daemon's event is a value with a `level` and a `to_json()` giving the notifier's event
document (docs/notifier.md: `{level, source, title, text, labels, channels, status, time}`).
`HttpEventSink` posts it to `POST /api/v1/events`; an event that could not be delivered is
kept (bounded) and sent again on the next flush, so a notifier restart loses none. One the
notifier refuses (4xx other than 408 and 429) is logged and dropped.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

EVENTS_PATH = "/api/v1/events"
MAX_PENDING = 1000

__all__ = ["EVENTS_PATH", "MAX_PENDING", "EventLike", "EventSink", "HttpEventSink",
           "LogSink", "Outbox", "RejectedEvent"]


class EventLike(Protocol):
    @property
    def level(self) -> str: ...

    def to_json(self) -> dict[str, Any]:
        """The notifier's event document."""


class RejectedEvent(Exception):
    """The notifier refused the event (4xx other than 408 and 429): sending again won't help."""


class EventSink(Protocol):
    def send(self, event: Any) -> None:
        """Deliver one event; raise on failure (it is kept and sent again)."""


class LogSink:
    """No notifier configured: events are only logged."""

    def __init__(self, daemon: str = "healer") -> None:
        self.daemon = daemon
        self._log = logging.getLogger(f"converge.{daemon}.events")

    def send(self, event: EventLike) -> None:
        document = event.to_json()
        self._log.info("event %s %s: %s", event.level, document.get("title", ""),
                       document.get("text", ""),
                       extra={"event": f"{self.daemon}_event", "eventLevel": event.level,
                              "labels": document.get("labels", {})})


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

    def send(self, event: EventLike) -> None:
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
        daemon: the daemon's name, for log lines.
    """

    def __init__(self, sink: EventSink, *, sent: Callable[[str, str], object] | None = None,
                 daemon: str = "healer") -> None:
        self.sink = sink
        self.daemon = daemon
        self._pending: collections.deque[EventLike] = collections.deque(maxlen=MAX_PENDING)
        self._lock = threading.Lock()
        self._sent = sent
        self._log = logging.getLogger(f"converge.{daemon}.events")

    def add(self, event: EventLike) -> None:
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
                self._log.error("%s event refused by the notifier, dropped: %s", self.daemon,
                                error, extra={"event": "event_rejected", "error": str(error)})
                self._count(event.level, "rejected")
                self._drop(event)
                continue
            except Exception as error:  # any sink failure: keep the event, retry later
                self._log.warning("%s could not send a %s event, keeping it (%d pending): %s",
                                  self.daemon, event.level, self.pending, error,
                                  extra={"event": "event_failed", "error": str(error)})
                self._count(event.level, "failed")
                return
            self._log.debug("event sent in %.3fs", time.monotonic() - started)
            self._count(event.level, "sent")
            self._drop(event)

    def _drop(self, event: EventLike) -> None:
        with self._lock:
            if self._pending and self._pending[0] is event:
                self._pending.popleft()

    def _count(self, level: str, result: str) -> None:
        if self._sent is not None:
            self._sent(level, result)
