"""Alertmanager as a destination of daemon events: each event becomes an alert posted to
its v2 API (`POST {base}/api/v2/alerts`), so silences, inhibition, grouping and routing
apply to it like to any alert (the Project's `notifications.alertmanager`).

The alert: `alertname` `ConvergeEvent`, `source`, `severity` (the event's level) and the
event's labels except `type`; annotations `summary` (the title), `description` (the
text), `type`. A resolved event posts the same labels with `endsAt` now, so it resolves
the alert its firing event raised (`severity` is the one that event had, remembered by
`SEVERITIES`; after a restart, the resolved event's own level, and Alertmanager resolves
an alert nobody resends after its `resolve_timeout` anyway).
"""

from __future__ import annotations

import datetime
from typing import Any

from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.vendors.base import (
    SUCCESS,
    HttpAnswer,
    HttpRequest,
    Message,
    Outcome,
    Part,
    dumps,
    http_status,
)

ALERTNAME = "ConvergeEvent"
CHANNEL = "@alertmanager"
"""The notifier's channel for events sent to Alertmanager (no spec name has an `@`)."""
SEVERITIES: dict[str, str] = {}
"""Severity of the last firing event per alert identity (its labels without severity)."""
_MAX_REMEMBERED = 10_000


def _identity(labels: dict[str, str]) -> str:
    return dumps(sorted((k, v) for k, v in labels.items() if k != "severity")).decode()


def alert(event: dict[str, Any], *, now: float) -> dict[str, Any]:
    """The Alertmanager alert for a daemon event."""
    raw = {str(k): str(v) for k, v in (event.get("labels") or {}).items()}
    labels = {k: v for k, v in raw.items() if k != "type"}
    labels.update(alertname=ALERTNAME, source=str(event.get("source", "")))
    identity = _identity(labels)
    resolved = event.get("status") == "resolved"
    if resolved:
        labels["severity"] = SEVERITIES.get(identity, str(event.get("level", "error")))
    else:
        labels["severity"] = str(event.get("level", "error"))
        if len(SEVERITIES) >= _MAX_REMEMBERED:
            SEVERITIES.pop(next(iter(SEVERITIES)))
        SEVERITIES[identity] = labels["severity"]
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": {"summary": str(event.get("title", "")),
                        "description": str(event.get("text", "")),
                        "type": raw.get("type", "")},
    }
    if isinstance(event.get("time"), str) and not resolved:
        body["startsAt"] = event["time"]
    if resolved:
        moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
        body["endsAt"] = moment.isoformat().replace("+00:00", "Z")
    if event.get("url"):
        body["generatorURL"] = str(event["url"])
    return body


def parts(channel: Channel, message: Message) -> list[Part]:
    return [{"event": dict(message.source)}]


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    return HttpRequest(f"{channel.base_url}/api/v2/alerts",
                       dumps([alert(part["event"], now=now)]),
                       {"Content-Type": "application/json"})


def classify(answer: HttpAnswer) -> Outcome:
    return http_status(answer) or SUCCESS
