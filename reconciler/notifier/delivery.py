"""One delivery worker per channel: the channel's messages in order, one at a time.

The worker reads the oldest pending message of its channel from the outbox, renders it,
splits it into the vendor's parts and sends them, each after a token from the channel's
bucket. The vendor's answer decides (see `policy.decide`): next part; retry later (the
channel waits: later messages never overtake an earlier one); or dead-letter and go on.
Every step is recorded in the outbox before the next, so a restart resumes where it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from converge.reconciler.core import redact
from converge.reconciler.notifier import messages, policy
from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.metrics import NotifierMetrics, retry_reason
from converge.reconciler.notifier.outbox import Outbox, Stored
from converge.reconciler.notifier.ratelimit import TokenBucket
from converge.reconciler.notifier.vendors import VENDORS
from converge.reconciler.notifier.vendors.base import (
    HttpAnswer,
    HttpRequest,
    MailAnswer,
    MailRequest,
    Outcome,
)

log = logging.getLogger("converge.notifier.delivery")

BLOCKED_RECHECK = 30.0
"""Seconds between looks at a channel that cannot deliver (a missing secret)."""

INTAKE_FIRST = 0.1
"""Longest a send waits for requests being taken in to finish (see `Intake`)."""


class Intake:
    """Requests being stored right now. Taking a message in comes before sending one out:
    on a CPU-starved machine a worker waits (briefly) for the requests in progress, so
    acknowledgements stay fast and the outbox absorbs the backlog."""

    def __init__(self) -> None:
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.busy += 1
        self._idle.clear()

    def leave(self) -> None:
        self.busy -= 1
        if self.busy <= 0:
            self.busy = 0
            self._idle.set()

    async def wait_idle(self, limit: float = INTAKE_FIRST) -> None:
        if self.busy:
            try:
                await asyncio.wait_for(self._idle.wait(), limit)
            except TimeoutError:
                pass


DeadLetterHook = Callable[[str, str, str, int, str], Awaitable[None]]
"""Called with (channel, kind, body, message id, reason) after a message is dead-lettered."""


class HttpPort(Protocol):
    async def send(self, request: HttpRequest) -> HttpAnswer: ...


class MailPort(Protocol):
    async def send(self, request: MailRequest) -> MailAnswer: ...


@dataclasses.dataclass
class ChannelState:
    """What `/status` shows of a channel."""

    state: str = "idle"
    """idle, delivering, rate-limited, retrying, blocked or stopped."""
    queue_depth: int = 0
    dead_letters: int = 0
    delivered: int = 0
    last_error: str | None = None
    last_delivered_at: float | None = None
    next_attempt_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "queueDepth": self.queue_depth,
                "deadLetters": self.dead_letters, "delivered": self.delivered,
                "lastError": self.last_error, "lastDeliveredAt": self.last_delivered_at,
                "nextAttemptAt": self.next_attempt_at}


class Worker:
    """Delivers one channel's messages (see the module docstring)."""

    def __init__(self, *, channel: Channel, outbox: Outbox, http: HttpPort, mail: MailPort,
                 metrics: NotifierMetrics, retry: policy.RetryPolicy,
                 intake: Intake | None = None,
                 wall: Callable[[], float] = time.time,
                 on_dead: DeadLetterHook | None = None) -> None:
        self.channel = channel
        self.state = ChannelState()
        self._outbox = outbox
        self._http = http
        self._mail = mail
        self._metrics = metrics
        self._retry = retry
        self._wall = wall
        self._intake = intake or Intake()
        self._on_dead = on_dead
        self._wake = asyncio.Event()
        self._stopping = False
        self._bucket: TokenBucket | None = None
        self._bucket_limit: tuple[int, float] | None = None
        self.reconfigure(channel)

    def reconfigure(self, channel: Channel) -> None:
        """Use a newer version of the channel (a new bundle); keeps the bucket if unchanged."""
        self.channel = channel
        limit = channel.rate_limit
        if limit != self._bucket_limit:
            self._bucket_limit = limit
            self._bucket = (TokenBucket.per(limit[0], limit[1], now=time.monotonic())
                            if limit else None)
        self.wake()

    def wake(self) -> None:
        """New work or a change: look at the queue now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the request in progress, then return."""
        self._stopping = True
        self._wake.set()

    async def _pause(self, seconds: float | None) -> None:
        """Sleep until `seconds` pass, `wake()` or `stop()`."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def run(self) -> None:
        """Deliver until stopped."""
        name = self.channel.name
        while not self._stopping:
            if self.channel.problem is not None:
                waiting = await self._outbox.head(name)
                self.state.state = "blocked" if waiting else "idle"
                self.state.last_error = self.channel.problem if waiting else None
                await self._pause(BLOCKED_RECHECK if waiting else None)
                continue
            head = await self._outbox.claim(name)  # marks the attempt when it is due
            if head is None:
                self.state.state, self.state.next_attempt_at = "idle", None
                await self._pause(None)
                continue
            if not head.claimed:
                self.state.state, self.state.next_attempt_at = "retrying", head.next_attempt_at
                await self._pause(max(0.0, head.next_attempt_at - self._wall()))
                continue
            await self._deliver(head)
        self.state.state = "stopped"

    async def _deliver(self, head: Stored) -> None:
        """Send the parts of a claimed message, from the first one not yet sent."""
        channel = self.channel
        vendor = VENDORS[channel.type]
        try:
            # off the event loop: a template runs up to its time bound (boundedjinja)
            # while the other channels keep delivering
            message = await asyncio.to_thread(messages.render, channel, head.kind,
                                              json.loads(head.body))
            parts = vendor.parts(channel, message)
        except (messages.RenderError, ValueError) as error:
            await self._bury(head, redact.text(str(error)))
            return
        failures = head.failures
        self.state.state = "delivering"
        for index in range(head.parts_sent, len(parts)):
            if not await self._take_token():
                await self._outbox.release(head.id)
                return
            if index > head.parts_sent:
                await self._outbox.begin(head.id)
            await self._intake.wait_idle()
            started = time.monotonic()
            outcome = await self._send(vendor, parts[index])
            self._metrics.attempt.labels(channel.name).observe(time.monotonic() - started)
            if outcome.result == "success":
                self._metrics.parts.labels(channel.name).inc()
                if index + 1 < len(parts):
                    await self._outbox.part_sent(head.id, index + 1)
                    failures = 0
                    continue
                await self._outbox.delivered(head.id, len(parts))
                self._delivered(head)
                return
            failures += 1
            await self._failed(head, outcome, failures)
            return

    async def _take_token(self) -> bool:
        """Wait for the channel's rate limit; False if stopped meanwhile."""
        if self._bucket is None:
            return not self._stopping
        wait = self._bucket.reserve(time.monotonic())
        if wait > 0:
            self.state.state = "rate-limited"
            deadline = time.monotonic() + wait
            while not self._stopping and time.monotonic() < deadline:
                await self._pause(deadline - time.monotonic())
            self.state.state = "delivering"
        return not self._stopping

    async def _send(self, vendor: Any, part: dict[str, Any]) -> Outcome:
        request = vendor.request(self.channel, part, self._wall())
        if isinstance(request, MailRequest):
            answer: HttpAnswer | MailAnswer = await self._mail.send(request)
        else:
            answer = await self._http.send(request)
        outcome: Outcome = vendor.classify(answer)
        # The reason reaches /status, the outbox, the console and the logs: no credential
        # of the request's URL may ride along (a vendor or a client error may quote it).
        return dataclasses.replace(outcome, reason=redact.text(outcome.reason))

    async def _failed(self, head: Stored, outcome: Outcome, failures: int) -> None:
        if outcome.rate_limited and self._bucket is not None:
            self._bucket.drain(time.monotonic())
        decision = policy.decide(outcome, failures=failures,
                                 age=self._wall() - head.received_at, policy=self._retry)
        if decision.action == "dead":
            await self._bury(head, decision.reason)
            return
        at = self._wall() + decision.delay
        await self._outbox.retry(head.id, at=at, error=outcome.reason)
        self._metrics.retried.labels(self.channel.name, retry_reason(outcome)).inc()
        self.state.last_error, self.state.next_attempt_at = outcome.reason, at
        log.warning("notifier 'deliver' to %s failed temporarily, retrying in %.3gs: %s",
                    self.channel.name, decision.delay, outcome.reason,
                    extra={"channel": self.channel.name, "event": "retrying",
                           "delay": round(decision.delay, 3), "message_id": head.id,
                           "error": outcome.reason})

    async def _bury(self, head: Stored, reason: str) -> None:
        await self._outbox.dead(head.id, reason)
        self._metrics.dead_lettered.labels(self.channel.name).inc()
        self.state.dead_letters += 1
        self.state.queue_depth = max(0, self.state.queue_depth - 1)
        self.state.last_error = reason
        log.error("notifier 'deliver' to %s failed permanently, dead-lettered message %d: %s",
                  self.channel.name, head.id, reason,
                  extra={"channel": self.channel.name, "event": "dead-lettered",
                         "message_id": head.id, "error": reason})
        if self._on_dead is not None:
            try:
                await self._on_dead(self.channel.name, head.kind, head.body, head.id, reason)
            except Exception as error:  # the report is best effort; the letter is kept
                log.error("notifier could not report dead letter %d to the fallback "
                          "channel: %s", head.id, error,
                          extra={"event": "fallback-failed", "message_id": head.id})

    def _delivered(self, head: Stored) -> None:
        now = self._wall()
        self._metrics.delivered.labels(self.channel.name).inc()
        self._metrics.latency.labels(self.channel.name).observe(max(0.0, now - head.received_at))
        self.state.delivered += 1
        self.state.queue_depth = max(0, self.state.queue_depth - 1)
        self.state.last_delivered_at, self.state.last_error = now, None
        self.state.next_attempt_at = None
