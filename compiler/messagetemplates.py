"""Notifier message templates: the sandbox, the context, the defaults, a sample to check with.

`converge notifier` renders each message from a channel's Jinja2 `template.title` /
`template.body` (or the default for its type) and `converge check` renders the same
templates against a sample alert, so both share this module. Templates run in Jinja2's
`ImmutableSandboxedEnvironment`: no attribute starting with `_`, no method that mutates,
no access to Python internals or the file system, and the only names are those of
`CONTEXT_NAMES`; `converge.compiler.boundedjinja` bounds it in time, sizes and output, so
a hostile template ends quickly with `BoundError`. Missing labels and annotations render
as empty text.

The context is Alertmanager's webhook payload (version 4) with its camelCase keys, plus
`firing` / `resolved` (the alerts in each state), `channel` (the channel's name), `kind`
(`alert` or `event`) and `event` (a daemon event's fields, or None). A daemon event is
shaped like a one-alert payload, so a single template serves both.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import jinja2.meta

from converge.compiler import boundedjinja

CONTEXT_NAMES = frozenset({
    "status", "receiver", "groupKey", "groupLabels", "commonLabels", "commonAnnotations",
    "externalURL", "truncatedAlerts", "alerts", "firing", "resolved", "channel", "kind",
    "event"})
"""The names a template may use; anything else is reported by `converge check`."""

Template = tuple[str, str]
"""(title, body) template sources."""

_TEMPLATES = "notifier"
"""The defaults' folder in the `templates` package: title.j2, markdown.j2, text.j2, slack.j2."""

_MARKDOWN_TYPES = {("dingtalk", "markdown"), ("dingtalk", "actionCard"), ("wecom", "markdown"),
                   ("feishu", "interactive")}


@functools.lru_cache(maxsize=8)
def _default(name: str) -> str:
    return (importlib.resources.files("converge.templates") / _TEMPLATES / name).read_text("utf-8")


def default_template(channel_type: str, msg_type: str | None = None) -> Template:
    """The (title, body) a channel of this type and message type uses when it sets none."""
    if channel_type == "slack":
        body = "slack.j2"
    elif (channel_type, msg_type) in _MARKDOWN_TYPES:
        body = "markdown.j2"
    else:
        body = "text.j2"
    return _default("title.j2"), _default(body)


@functools.lru_cache(maxsize=1)
def environment() -> boundedjinja.BoundedEnvironment:
    """The sandbox every message template runs in (shared; it is immutable)."""
    return boundedjinja.BoundedEnvironment(
        autoescape=False, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined)


@functools.lru_cache(maxsize=1024)
def compile_template(source: str) -> jinja2.Template:
    """A parsed template (cached by its source).

    Raises:
        jinja2.TemplateSyntaxError: the source does not parse.
    """
    return environment().from_string(source)


def unknown_names(source: str) -> list[str]:
    """Top-level names `source` reads that the context never has (sorted)."""
    parsed = environment().parse(source)
    return sorted(jinja2.meta.find_undeclared_variables(parsed) - CONTEXT_NAMES)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render one template within the bounds of `boundedjinja`.

    Raises:
        boundedjinja.BoundError: the template went past a bound (time, size, output).
        jinja2.TemplateError: syntax, sandbox violation or a failing expression.
        TypeError, ValueError, ArithmeticError, LookupError: a failing expression.
    """
    return boundedjinja.render(compile_template(source), context).strip()


def _alert(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": str(raw.get("status", "firing")),
            "labels": dict(raw.get("labels") or {}),
            "annotations": dict(raw.get("annotations") or {}),
            "startsAt": str(raw.get("startsAt", "")), "endsAt": str(raw.get("endsAt", "")),
            "generatorURL": str(raw.get("generatorURL", "")),
            "fingerprint": str(raw.get("fingerprint", ""))}


def alert_context(payload: Mapping[str, Any], *, channel: str) -> dict[str, Any]:
    """The context of an Alertmanager webhook payload (version 4)."""
    alerts = [_alert(a) for a in payload.get("alerts") or []]
    return {
        "status": str(payload.get("status", "firing")),
        "receiver": str(payload.get("receiver", channel)),
        "groupKey": str(payload.get("groupKey", "")),
        "groupLabels": dict(payload.get("groupLabels") or {}),
        "commonLabels": dict(payload.get("commonLabels") or {}),
        "commonAnnotations": dict(payload.get("commonAnnotations") or {}),
        "externalURL": str(payload.get("externalURL", "")),
        "truncatedAlerts": int(payload.get("truncatedAlerts") or 0),
        "alerts": alerts,
        "firing": [a for a in alerts if a["status"] == "firing"],
        "resolved": [a for a in alerts if a["status"] == "resolved"],
        "channel": channel, "kind": "alert", "event": None,
    }


def event_context(event: Mapping[str, Any], *, channel: str) -> dict[str, Any]:
    """The context of a daemon event: a one-alert payload, plus `event` itself."""
    labels = {**dict(event.get("labels") or {}), "source": str(event.get("source", "")),
              "severity": str(event.get("level", "error"))}
    annotations = {"summary": str(event.get("title", "")),
                   "description": str(event.get("text", ""))}
    status = str(event.get("status", "firing"))
    alert = {"status": status, "labels": labels, "annotations": annotations,
             "startsAt": str(event.get("time", "")), "endsAt": "", "generatorURL":
             str(event.get("url", "")), "fingerprint": ""}
    return {
        "status": status, "receiver": channel, "groupKey": f"event:{labels['source']}",
        "groupLabels": {}, "commonLabels": labels, "commonAnnotations": annotations,
        "externalURL": "", "truncatedAlerts": 0, "alerts": [alert],
        "firing": [alert] if status == "firing" else [],
        "resolved": [alert] if status == "resolved" else [],
        "channel": channel, "kind": "event", "event": dict(event),
    }


def _sample_alert(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighCPUUsage", "severity": "critical", "instance": "10.0.0.1:9100",
                   "job": "node", "cluster": "prod", "service": "task-center"},
        "annotations": {"summary": "CPU usage above 95% on 10.0.0.1:9100",
                        "description": "CPU usage is 97.3% (threshold 95%).",
                        "runbook_url": "https://wiki.example.com/runbooks/cpu"},
        "startsAt": "2024-05-01T12:00:00Z",
        "endsAt": "2024-05-01T12:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=cpu",
        "fingerprint": "c8f4f5a1e2b3d4c5",
    }


def sample_payloads() -> Sequence[dict[str, Any]]:
    """Alertmanager payloads (firing, resolved) every template must render."""
    payloads = []
    for status in ("firing", "resolved"):
        alert = _sample_alert(status)
        payloads.append({
            "version": "4", "groupKey": '{}:{alertname="HighCPUUsage"}', "truncatedAlerts": 0,
            "status": status, "receiver": "sample", "groupLabels": {"alertname": "HighCPUUsage"},
            "commonLabels": dict(alert["labels"]), "commonAnnotations": dict(alert["annotations"]),
            "externalURL": "http://alertmanager.example.com", "alerts": [alert]})
    return payloads


SAMPLE_EVENT = {"level": "critical", "source": "healer", "title": "container api-1 restarted 5 "
                "times in 5m", "text": "restart budget spent; the container stays down",
                "labels": {"container": "api-1", "policy": "api"}, "time": "2024-05-01T12:00:00Z"}
"""A daemon event every template must render."""


def sample_contexts(channel: str) -> list[dict[str, Any]]:
    """The contexts `converge check` renders each template against."""
    return [*(alert_context(p, channel=channel) for p in sample_payloads()),
            event_context(SAMPLE_EVENT, channel=channel)]
