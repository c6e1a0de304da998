"""The notifier's HTTP routes, added to the shared daemon app (`converge.reconciler.core.http`).

* `POST /hooks/alertmanager/{channel}`: an Alertmanager webhook payload (version 4);
* `POST /api/v1/events`: a daemon event `{level, source, title, text, labels, channels}`;
* `POST /hooks/escalation/{route}`: the alerts of a route with escalation levels;
* `POST /api/v1/alerts/{fingerprint}/ack` (`{"by": …}` optional), `GET /api/v1/escalations`;
* `GET /api/v1/dead-letters`, `POST /api/v1/dead-letters/{id}/retry`,
  `DELETE /api/v1/dead-letters/{id}`.

Answers: 200 once stored (or deduplicated, or not wanted); 400 for a body that is not a
valid payload (retrying it cannot help); 503 when it could not be stored or the channel is
unknown, so Alertmanager retries. With a token, `/api/` routes need `Authorization:
Bearer <token>`; Alertmanager's hooks stay open (the compiler renders no credentials
for them: bind the notifier to loopback or a private network).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from converge.reconciler.core import http
from converge.reconciler.notifier import intake
from converge.reconciler.notifier.channels import ALERTMANAGER_PATH
from converge.reconciler.notifier.outbox import OutboxError
from converge.reconciler.notifier.service import Notifier, UnknownChannel

log = logging.getLogger("converge.notifier.api")

ESCALATION_PATH = "/hooks/escalation/"
"""Where Alertmanager posts the alerts of a route with escalation levels (the compiler's
`alertmanager.ESCALATION_PATH`)."""

LIMITS = http.Limits(body=64 * 1024, routes=(
    (ALERTMANAGER_PATH, 4 * 1024**2),
    (ESCALATION_PATH, 4 * 1024**2),
    ("/api/v1/events", 256 * 1024)))
"""Bodies the notifier takes. 4 MiB is an Alertmanager group of some 3,000 alerts, far
past what one chat message can show (set the channel's `maxAlerts` to stay below it); a
larger payload is refused (413) before it is read. Payloads over
`http.OFF_LOOP` are parsed and checked in a worker thread."""


def routes(notifier: Notifier) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.post(ALERTMANAGER_PATH + "{channel}")
    async def alertmanager(request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        notifier.intake.enter()
        try:
            body, raw = await _alertmanager_body(request)
            accepted = await notifier.accept_alertmanager(channel, body, raw=raw)
        except intake.EmptyPayload as error:
            notifier.metrics.rejected.labels("empty").inc()
            log.warning("notifier refused an Alertmanager payload for %s with no alerts",
                        channel, extra={"channel": channel, "event": "empty-payload"})
            return web.json_response({"error": str(error)}, status=400)
        except (ValueError, intake.IntakeError) as error:
            notifier.metrics.rejected.labels("invalid").inc()
            return web.json_response({"error": str(error)}, status=400)
        except UnknownChannel:
            notifier.metrics.rejected.labels("unknown-channel").inc()
            log.error("notifier has no channel %r for Alertmanager; answering 503 so it "
                      "retries", channel, extra={"channel": channel, "event": "unknown-channel"})
            return web.json_response({"error": f"unknown channel {channel!r}"}, status=503)
        except OutboxError as error:
            return _unavailable(notifier, error)
        finally:
            notifier.intake.leave()
        return web.json_response(accepted.to_json())

    @table.post("/api/v1/events")
    async def events(request: web.Request) -> web.Response:
        try:
            accepted = await notifier.accept_event(await http.read_json(request))
        except (ValueError, intake.IntakeError) as error:
            notifier.metrics.rejected.labels("invalid").inc()
            return web.json_response({"error": str(error)}, status=400)
        except OutboxError as error:
            return _unavailable(notifier, error)
        return web.json_response(accepted.to_json())

    @table.get("/api/v1/dead-letters")
    async def dead_letters(request: web.Request) -> web.Response:
        limit = http.query_limit(request, default=100)
        return web.json_response({"deadLetters": await notifier.outbox.dead_letters(limit=limit)})

    @table.post("/api/v1/dead-letters/{id}/retry")
    async def retry(request: web.Request) -> web.Response:
        found = await notifier.requeue(_letter_id(request))
        return web.json_response({"requeued": found}, status=200 if found else 404)

    @table.delete("/api/v1/dead-letters/{id}")
    async def forget(request: web.Request) -> web.Response:
        found = await notifier.forget(_letter_id(request))
        return web.json_response({"deleted": found}, status=200 if found else 404)

    _escalation_routes(table, notifier)
    return table


def _escalation_routes(table: web.RouteTableDef, notifier: Notifier) -> None:
    """The escalation hook, acknowledgements and the list of tracked alerts."""

    @table.post(ESCALATION_PATH + "{route}")
    async def escalation_hook(request: web.Request) -> web.Response:
        route = request.match_info["route"]
        try:
            body, _ = await _alertmanager_body(request)
            accepted = await notifier.accept_escalation(route, body)
        except (ValueError, intake.IntakeError) as error:
            notifier.metrics.rejected.labels("invalid").inc()
            return web.json_response({"error": str(error)}, status=400)
        except UnknownChannel:
            notifier.metrics.rejected.labels("unknown-channel").inc()
            log.error("notifier has no escalation levels for route %r; answering 503 so "
                      "Alertmanager retries", route,
                      extra={"route": route, "event": "unknown-escalation"})
            return web.json_response({"error": f"no escalation route {route!r}"}, status=503)
        except OutboxError as error:
            return _unavailable(notifier, error)
        return web.json_response(accepted.to_json())

    @table.post("/api/v1/alerts/{fingerprint}/ack")
    async def acknowledge(request: web.Request) -> web.Response:
        fingerprint = request.match_info["fingerprint"]
        by = "api"
        if request.body_exists:
            body = await http.read_json(request)
            if isinstance(body, dict) and isinstance(body.get("by"), str) and body["by"]:
                by = body["by"][:100]
        found = await notifier.acknowledge(fingerprint, by=by)
        return web.json_response({"acknowledged": found}, status=200 if found else 404)

    @table.get("/api/v1/escalations")
    async def escalations(request: web.Request) -> web.Response:
        tracked = await notifier.tracker.tracked()
        return web.json_response({"escalations": [t.to_json() for t in tracked]})


async def _alertmanager_body(request: web.Request) -> tuple[Any, str | None]:
    """The payload and its text (stored as received when it is UTF-8); a big one is
    parsed and checked off the event loop."""
    data = await request.read()
    body = await http.read_json(request)
    utf8 = (request.charset or "utf-8").lower().replace("_", "-") in ("utf-8", "utf8")
    if len(data) > http.OFF_LOOP:  # checking a big group takes a while
        await asyncio.to_thread(intake.alertmanager_payload, body)
    return body, data.decode("utf-8") if utf8 else None


def _letter_id(request: web.Request) -> int:
    """The `{id}` of a dead-letter route: a whole number SQLite can hold, else 400."""
    text = request.match_info["id"]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise web.HTTPBadRequest(text=json.dumps({"error": "a dead letter's id is a whole "
                                                  "number of at most 18 digits"}),
                                 content_type="application/json")
    return int(text)


def _unavailable(notifier: Notifier, error: Exception) -> web.Response:
    notifier.metrics.rejected.labels("store-failed").inc()
    log.error("notifier could not store a message, answering 503: %s", error,
              extra={"event": "store-failed", "error": str(error)})
    return web.json_response({"error": f"not stored: {error}"}, status=503)
