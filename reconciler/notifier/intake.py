"""What arrives: Alertmanager webhook payloads and daemon events, checked and keyed.

Pure. `alertmanager_payload` and `event` validate a decoded JSON body and return it in a
normal form or raise `IntakeError` (answered 400: a malformed body will not improve on a
retry). `dedup_key` is the identity of a message for deduplication: two identical
notifications for the same channel within the window are delivered once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

LEVELS = ("info", "warning", "error", "critical")
"""Event levels, lowest first."""

_EVENT_FIELDS = {"level", "source", "title", "text", "labels", "channels", "status", "time",
                 "url"}


class IntakeError(ValueError):
    """The body is not a valid payload; answered 400."""


class EmptyPayload(IntakeError):
    """A payload with no alerts: nothing to notify about (Alertmanager never sends one; a
    message for it would read `[FIRING] (0)` and still @-mention the on-call phones)."""


def _mapping_of_strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise IntakeError(f"{what} must be a mapping of strings")
    return dict(value)


def alertmanager_payload(body: Any) -> dict[str, Any]:
    """An Alertmanager webhook payload (version 4), checked.

    Raises:
        IntakeError: not a version 4 payload with a status and a list of alerts.
        EmptyPayload: the list of alerts is empty.
    """
    if not isinstance(body, dict):
        raise IntakeError("the payload is not a JSON object")
    if str(body.get("version")) != "4":
        raise IntakeError(f"payload version {body.get('version')!r} is not '4'")
    if body.get("status") not in ("firing", "resolved"):
        raise IntakeError("status must be 'firing' or 'resolved'")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise IntakeError("alerts must be a list of objects")
    if not alerts:
        raise EmptyPayload("the payload has no alerts: nothing to notify (refused, counted "
                           "as converge_notifier_rejected_total{reason=\"empty\"})")
    for alert in alerts:
        _mapping_of_strings(alert.get("labels"), "an alert's labels")
        _mapping_of_strings(alert.get("annotations"), "an alert's annotations")
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        _mapping_of_strings(body.get(key), key)
    return body


def event(body: Any) -> dict[str, Any]:
    """A daemon event, checked, with defaults: `{level, source, title, text, labels,
    channels, status}`.

    Raises:
        IntakeError: a missing or invalid field.
    """
    if not isinstance(body, dict):
        raise IntakeError("the event is not a JSON object")
    unknown = set(body) - _EVENT_FIELDS
    if unknown:
        raise IntakeError(f"unknown event fields: {', '.join(sorted(unknown))}")
    level = body.get("level", "error")
    if level not in LEVELS:
        raise IntakeError(f"level must be one of {', '.join(LEVELS)}")
    for key in ("source", "title"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise IntakeError(f"{key} is required (a non-empty string)")
    channels = body.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise IntakeError("channels must be a list of channel names")
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise IntakeError("status must be 'firing' or 'resolved'")
    normal = {"level": level, "source": body["source"], "title": body["title"],
              "text": str(body.get("text", "")), "status": status,
              "labels": _mapping_of_strings(body.get("labels"), "labels"),
              "channels": list(channels)}
    for key in ("time", "url"):
        if isinstance(body.get(key), str):
            normal[key] = body[key]
    return normal


def level_at_least(level: str, minimum: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(minimum)


def event_channels(event_: Mapping[str, Any], routes: Mapping[str, Mapping[str, Any] | None]
                   ) -> list[str]:
    """The channels an event goes to: those it names, plus every channel whose event route
    (`{minLevel, sources, labels}`; None = takes no events) matches it. Sorted, unique."""
    chosen = {name for name in event_.get("channels", []) if name in routes}
    for name, route in routes.items():
        if route is None:
            continue
        sources = route.get("sources") or []
        labels = route.get("labels") or {}
        if (level_at_least(event_["level"], route.get("minLevel", "error"))
                and (not sources or event_["source"] in sources)
                and all(event_["labels"].get(k) == v for k, v in labels.items())):
            chosen.add(name)
    return sorted(chosen)


def summary(kind: str, body: Mapping[str, Any]) -> str:
    """One line saying what a stored message is, for the console: `[FIRING] Name (3 alerts)`
    for an Alertmanager group, `[ERROR] title (source)` for a daemon event."""
    if kind == "event":
        level = str(body.get("level", "")).upper()
        resolved = " resolved" if body.get("status") == "resolved" else ""
        return f"[{level}{resolved}] {body.get('title', '')} ({body.get('source', '')})"
    common, group = _labels(body.get("commonLabels")), _labels(body.get("groupLabels"))
    alerts = body.get("alerts")
    count = len(alerts) if isinstance(alerts, list) else 0
    name = (common.get("alertname") or group.get("alertname")
            or ", ".join(f"{k}={v}" for k, v in sorted(group.items())))
    return (f"[{str(body.get('status', '')).upper()}] {name or 'alerts'} "
            f"({count} alert{'' if count == 1 else 's'})")


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dedup_key(channel: str, kind: str, body: Mapping[str, Any]) -> str:
    """What makes two messages identical for one channel.

    For an Alertmanager payload: its group, status and each alert's fingerprint, status,
    start, labels and annotations (not `endsAt`, which moves on every resend of a firing
    alert). For an event: everything but its time.
    """
    if kind == "alertmanager":
        alerts = sorted(
            ([str(a.get("fingerprint", "")), str(a.get("status", "")), str(a.get("startsAt", "")),
              a.get("labels") or {}, a.get("annotations") or {}]
             for a in body.get("alerts", [])), key=lambda a: (a[0], a[1], a[2]))
        identity: Any = [body.get("groupKey"), body.get("status"), alerts]
    else:
        identity = {k: v for k, v in body.items() if k not in ("time", "channels")}
    return _digest([channel, kind, identity])
