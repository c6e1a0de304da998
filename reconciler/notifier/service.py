"""The notifier's work, between the HTTP routes and the outbox: intake, workers, status.

`Notifier.accept_alertmanager` and `accept_event` store messages (and say what happened),
then wake the channels' workers; `Notifier` owns one `delivery.Worker` per channel and
swaps channels in place when a new bundle arrives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from converge.reconciler.core.status import Status
from converge.reconciler.notifier import delivery, escalation, intake, policy
from converge.reconciler.notifier.channels import Channel, Defaults
from converge.reconciler.notifier.metrics import NotifierMetrics
from converge.reconciler.notifier.outbox import NewMessage, Outbox
from converge.reconciler.notifier.vendors.alertmanager import CHANNEL as AM_CHANNEL

log = logging.getLogger("converge.notifier")

LISTED = 20
_ACK_SOURCES = ("api", "console", "alertmanager silence")
"""Newest messages and dead letters shown on `/status`."""


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """What intake did with a request."""

    stored: tuple[str, ...] = ()
    """Channels a message was stored for."""
    deduplicated: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    undeliverable: tuple[str, ...] = ()
    """Channels an event named that this notifier cannot deliver events to."""

    def to_json(self) -> dict[str, Any]:
        return {"accepted": len(self.stored), "channels": list(self.stored),
                "deduplicated": list(self.deduplicated), "skipped": list(self.skipped),
                "undeliverable": list(self.undeliverable)}


class UnknownChannel(LookupError):
    """No channel of that name takes Alertmanager payloads here (answered 503, so
    Alertmanager retries while a newer bundle may still be on its way)."""


class Notifier:
    """Intake, workers and status over one outbox."""

    def __init__(self, *, outbox: Outbox, http: delivery.HttpPort, mail: delivery.MailPort,
                 metrics: NotifierMetrics, status: Status,
                 retry: policy.RetryPolicy | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.metrics = metrics
        self.status = status
        self.channels: dict[str, Channel] = {}
        self.defaults = Defaults()
        """Where events nothing routes go; where dead letters are reported."""
        self.workers: dict[str, delivery.Worker] = {}
        self.possible_duplicates = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._http = http
        self._mail = mail
        self._retry = retry or policy.RetryPolicy()
        self._wall = wall
        self.intake = delivery.Intake()
        self._summaries: dict[int, str] = {}
        self.tracker = escalation.Tracker(outbox)
        self.silences: escalation.SilenceSource | None = None
        """Alertmanager, asked which tracked alerts a silence covers (None: not asked)."""

    async def start(self, channels: Mapping[str, Channel]) -> None:
        """Recover interrupted sends, count the queues, start a worker per channel."""
        recovered = await self.outbox.recover()
        if recovered:
            self.metrics.possible_duplicates.inc(recovered)
            log.warning("notifier found %d sends interrupted by a stop; sending them again",
                        recovered, extra={"event": "recovered", "count": recovered})
        self.set_channels(channels)
        counts = await self.outbox.counts()
        self.possible_duplicates = int(counts["possibleDuplicates"])
        for name, worker in self.workers.items():
            worker.state.queue_depth = int(counts["pending"].get(name, 0))
            worker.state.dead_letters = int(counts["dead"].get(name, 0))
        orphans = sorted(set(counts["pending"]) - set(self.workers))
        if orphans:
            log.warning("notifier holds messages for channels no longer in the bundle: %s",
                        ", ".join(orphans), extra={"event": "orphans", "channels": orphans})
        self.refresh_status()

    def set_channels(self, channels: Mapping[str, Channel]) -> None:
        """Use this set of channels: reconfigure, start and stop workers to match.
        Messages of a removed channel stay in the outbox until it comes back."""
        self.channels = dict(channels)
        for name, channel in channels.items():
            if name in self.workers:
                self.workers[name].reconfigure(channel)
                continue
            worker = delivery.Worker(channel=channel, outbox=self.outbox, http=self._http,
                                     mail=self._mail, metrics=self.metrics, retry=self._retry,
                                     intake=self.intake, wall=self._wall,
                                     on_dead=self._dead_lettered)
            self.workers[name] = worker
            self._tasks[name] = asyncio.get_running_loop().create_task(
                self._run(worker), name=f"notifier-{name}")
        for name in sorted(set(self.workers) - set(channels)):
            self.workers.pop(name).stop()

    async def _run(self, worker: delivery.Worker) -> None:
        while True:
            try:
                await worker.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the outbox failed or a bug: keep the channel going
                worker.state.last_error = f"{type(error).__name__}: {error}"
                log.exception("notifier worker %s failed, restarting in 5s", worker.channel.name,
                              extra={"channel": worker.channel.name, "event": "worker-failed"})
                await asyncio.sleep(5)

    async def stop(self, *, grace: float = 20.0) -> None:
        """Let each worker finish its request in flight (up to `grace` seconds), then cancel."""
        for worker in self.workers.values():
            worker.stop()
        tasks = list(self._tasks.values())
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()

    # -- intake --------------------------------------------------------------------------

    async def accept_alertmanager(self, channel_name: str, body: Any, *,
                                  raw: str | None = None) -> Accepted:
        """Store one Alertmanager payload for `channel_name` (`raw`: its JSON text, stored
        as received when given).

        Raises:
            intake.IntakeError: not a version 4 payload.
            UnknownChannel: no such notifier-delivered channel.
            outbox.OutboxError: it could not be stored.
        """
        channel = self.channels.get(channel_name)
        if channel is None or not channel.accepts_alertmanager:
            raise UnknownChannel(channel_name)
        payload = intake.alertmanager_payload(body)
        if payload["status"] == "resolved" and not channel.send_resolved:
            self.metrics.skipped.labels(channel_name).inc()
            return Accepted(skipped=(channel_name,))
        return await self._store([(channel_name, "alertmanager", payload)], raw=raw)

    async def accept_event(self, body: Any) -> Accepted:
        """Store one daemon event for each channel it routes to: the channels it names that
        can take events, those whose `events` route takes it, else the Project's
        `eventChannels`. A named channel that cannot take events (PagerDuty, or one this
        notifier does not know) is reported in `undeliverable`, never a reason to lose the
        other copies; an event with no destination at all is logged and counted.

        Raises:
            intake.IntakeError: not a valid event.
            outbox.OutboxError: it could not be stored.
        """
        event = intake.event(body)
        if self.defaults.events_to_alertmanager and AM_CHANNEL in self.channels:
            return await self._store([(AM_CHANNEL, "event", event)])  # routed there
        undeliverable = tuple(sorted({n for n in event["channels"] if n not in self.channels}))
        if undeliverable:
            self.metrics.events_undeliverable.inc(len(undeliverable))
            log.warning("notifier cannot deliver %s's event %r to %s (not a channel that "
                        "takes events); delivering to the others", event["source"],
                        event["title"], ", ".join(undeliverable),
                        extra={"event": "undeliverable-channels",
                               "channels": list(undeliverable)})
        targets = intake.event_channels(event, {n: c.events for n, c in self.channels.items()})
        if not targets:
            targets = [n for n in self.defaults.event_channels if n in self.channels]
        if not targets:
            self.metrics.events_without_destination.labels(event["level"]).inc()
            log.warning("notifier has no destination for %s's %s event %r: no channel named, "
                        "routed or set as the Project's notifications.eventChannels",
                        event["source"], event["level"], event["title"],
                        extra={"event": "no-destination", "source": event["source"]})
            return Accepted(undeliverable=undeliverable)
        wanted = [n for n in targets
                  if event["status"] != "resolved" or self.channels[n].send_resolved]
        for name in sorted(set(targets) - set(wanted)):
            self.metrics.skipped.labels(name).inc()
        skipped = tuple(sorted(set(targets) - set(wanted)))
        if not wanted:
            return Accepted(skipped=skipped, undeliverable=undeliverable)
        accepted = await self._store([(name, "event", event) for name in wanted])
        return dataclasses.replace(accepted, skipped=skipped, undeliverable=undeliverable)

    async def _dead_lettered(self, channel: str, kind: str, body: str, message_id: int,
                             reason: str) -> None:
        """Report a dead letter of `channel` to the fallback channel, with its failure."""
        fallback = self.defaults.fallback_channel
        if fallback is None or fallback == channel or fallback not in self.channels:
            return
        summary = _summary({"kind": kind, "body": body})
        report = {"level": "error", "source": "notifier", "status": "firing",
                  "title": f"undeliverable to {channel}: {summary}",
                  "text": f"Delivery to channel {channel} failed permanently (message "
                          f"{message_id}, now a dead letter): {reason}",
                  "labels": {"channel": channel, "type": "dead-letter",
                             "message_id": str(message_id)},
                  "channels": [fallback]}
        await self._store([(fallback, "event", report)])
        log.warning("notifier reported dead letter %d of %s to fallback channel %s",
                    message_id, channel, fallback,
                    extra={"event": "fallback", "channel": channel, "fallback": fallback,
                           "message_id": message_id})

    async def _store(self, items: list[tuple[str, str, dict[str, Any]]], *,
                     raw: str | None = None) -> Accepted:
        new = [NewMessage(channel, kind, raw if raw is not None else json.dumps(
                   body, ensure_ascii=False, separators=(",", ":")),
                          intake.dedup_key(channel, kind, body))
               for channel, kind, body in items]
        ids = await self.outbox.accept(new)
        stored, deduplicated = [], []
        for (channel, kind, _), message_id in zip(items, ids, strict=True):
            if message_id is None:
                deduplicated.append(channel)
                self.metrics.deduplicated.labels(channel).inc()
                continue
            stored.append(channel)
            self.metrics.received.labels(channel, kind).inc()
            worker = self.workers.get(channel)
            if worker is not None:
                worker.state.queue_depth += 1
                worker.wake()
        return Accepted(tuple(stored), tuple(deduplicated))

    # -- escalation ----------------------------------------------------------------------

    async def accept_escalation(self, route: str, body: Any) -> Accepted:
        """Track the alerts of a payload for `route`'s escalation; tell every paged level
        of each tracked alert that resolved.

        Raises:
            intake.IntakeError: not a version 4 payload.
            UnknownChannel: no escalation levels for `route` in this bundle (answered 503:
                a newer bundle may still be on its way).
            outbox.OutboxError: it could not be stored.
        """
        levels = self.defaults.escalations.get(route)
        if levels is None:
            raise UnknownChannel(f"escalation route {route}")
        payload = intake.alertmanager_payload(body)
        resolved = await self.tracker.observe(route, payload["alerts"], now=self._wall())
        items = []
        for tracked in resolved:
            channels = [c for c in escalation.paged_channels(levels, tracked)
                        if c in self.channels]
            if channels:
                event = escalation.resolved_event(tracked, channels)
                items += [(name, "event", event) for name in channels]
        return await self._store(items) if items else Accepted()

    async def escalate(self) -> int:
        """Page every level that is due now (one step per tracked alert); pages sent.
        An alert a silence in Alertmanager covers is acknowledged instead."""
        now = self._wall()
        pages = []
        for tracked in await self.tracker.tracked(active_only=True):
            levels = self.defaults.escalations.get(tracked.route)
            page = escalation.due(levels, tracked, now) if levels else None
            if levels and page is not None:
                pages.append((tracked, page, levels[page.level]))
        if not pages:
            return 0
        silenced: set[str] = set()
        if self.silences is not None:
            try:
                silenced = await self.silences.silenced()
            except Exception as error:  # Alertmanager away: page rather than stay silent
                log.warning("notifier could not ask Alertmanager for silences, escalating "
                            "anyway: %s", error, extra={"event": "silences-failed"})
        sent = 0
        for tracked, page, level in pages:
            if tracked.fingerprint in silenced:
                await self.acknowledge(tracked.fingerprint, by="alertmanager silence")
                continue
            event = escalation.page_event(tracked, page, level, now=now)
            targets = [c for c in level.channels if c in self.channels]
            if targets:
                await self._store([(name, "event", event) for name in targets])
            await self.tracker.paged(tracked, page, now=now)
            self.metrics.escalations.labels(str(page.level + 1)).inc()
            sent += 1
            log.warning("notifier 'escalate' paged level %d for %s (%s) on %s",
                        page.level + 1, tracked.fingerprint,
                        (tracked.alert.get("labels") or {}).get("alertname", ""),
                        ", ".join(targets) or "no channel",
                        extra={"event": "escalated", "fingerprint": tracked.fingerprint,
                               "level": page.level + 1, "channels": targets})
        return sent

    async def acknowledge(self, fingerprint: str, *, by: str) -> bool:
        """Stop escalating the alert; False if it is not tracked."""
        if not await self.tracker.known(fingerprint):
            return False
        if await self.tracker.acknowledge(fingerprint, by=by, now=self._wall()):
            self.metrics.acknowledged.labels(by if by in _ACK_SOURCES else "api").inc()
            log.info("notifier: alert %s acknowledged by %s", fingerprint, by,
                     extra={"event": "acknowledged", "fingerprint": fingerprint, "by": by})
        return True

    async def refresh_backlog(self) -> None:
        """Set each channel's oldest-pending-message age gauge (the outbox backlog)."""
        oldest = await self.outbox.oldest_pending()
        now = self._wall()
        for name in sorted(set(self.workers) | set(oldest)):
            at = oldest.get(name)
            self.metrics.backlog_age.labels(name).set(max(0.0, now - at) if at else 0.0)

    async def refresh_escalations(self) -> None:
        """Push the tracked alerts to `/status` and the gauge."""
        tracked = await self.tracker.tracked()
        pending = sum(1 for t in tracked if t.acked_at is None)
        self.metrics.escalations_pending.set(pending)
        self.status.update({"escalations": [t.to_json() for t in tracked[:100]],
                            "escalationsPending": pending})

    # -- dead letters and status ---------------------------------------------------------

    async def requeue(self, message_id: int) -> bool:
        channel = await self.outbox.requeue(message_id)
        if channel is None:
            return False
        worker = self.workers.get(channel)
        if worker is not None:
            worker.state.dead_letters = max(0, worker.state.dead_letters - 1)
            worker.state.queue_depth += 1
            worker.wake()
        return True

    async def forget(self, message_id: int) -> bool:
        letters = {d["id"]: d["channel"] for d in await self.outbox.dead_letters(limit=10_000)}
        gone = await self.outbox.forget(message_id)
        worker = self.workers.get(letters.get(message_id, ""))
        if gone and worker is not None:
            worker.state.dead_letters = max(0, worker.state.dead_letters - 1)
        return gone

    async def refresh_listing(self, *, limit: int = LISTED) -> None:
        """Push the newest messages and dead letters to `/status` (for the console), each
        as a one-line summary rather than its body."""
        recent = await self.outbox.recent(limit=limit)
        letters = await self.outbox.dead_letters(limit=limit)
        # A body never changes: summarise each message once, not on every refresh.
        known, self._summaries = self._summaries, {}
        for row in (*recent, *letters):
            self._summaries[row["id"]] = known.get(row["id"]) or _summary(row)
        self.status.update({
            "outbox": [{**_without_body(m), "summary": self._summaries[m["id"]]}
                       for m in recent],
            "recentDeadLetters": [{**_without_body(d), "summary": self._summaries[d["id"]]}
                                  for d in letters],
        })

    def refresh_status(self) -> None:
        """Push per-channel state to `/status` and the gauges."""
        channels: dict[str, Any] = {}
        for name, worker in sorted(self.workers.items()):
            state = worker.state
            self.metrics.queue_depth.labels(name).set(state.queue_depth)
            self.metrics.dead_letters.labels(name).set(state.dead_letters)
            channels[name] = {"type": worker.channel.type, **state.to_json(),
                              "problem": worker.channel.problem}
        self.status.update({
            "channels": channels,
            "deadLetters": sum(w.state.dead_letters for w in self.workers.values()),
            "queueDepth": sum(w.state.queue_depth for w in self.workers.values()),
            "possibleDuplicates": self.possible_duplicates,
        })


def _without_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "body"}


def _summary(row: Mapping[str, Any]) -> str:
    try:
        body = json.loads(row["body"])
    except (TypeError, ValueError):
        return "(unreadable body)"
    return intake.summary(str(row["kind"]), body) if isinstance(body, dict) else "(not an object)"
