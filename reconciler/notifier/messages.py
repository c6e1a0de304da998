"""Render a stored notification into a `Message` for one channel (pure).

The channel's own Jinja2 templates (dingtalk, wecom, feishu) or the default of its type
render title and body in the sandbox of `converge.compiler.messagetemplates`; the compiler checks
the same templates against a sample alert, so a failure here is rare and is answered by
dead-lettering the message with the template's error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converge.compiler import messagetemplates
from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.vendors.base import Message


class RenderError(Exception):
    """A template failed on this message."""


def context(channel: Channel, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "event":
        return messagetemplates.event_context(body, channel=channel.name)
    return messagetemplates.alert_context(body, channel=channel.name)


def render(channel: Channel, kind: str, body: Mapping[str, Any]) -> Message:
    """The message for `body` (an Alertmanager payload or an event) on `channel`.

    Raises:
        RenderError: a template failed.
    """
    values = context(channel, kind, body)
    default_title, default_body = messagetemplates.default_template(channel.type,
                                                                    channel.msg_type)
    own_title, own_body = channel.template
    try:
        title = messagetemplates.render(own_title or default_title, values)
        text = messagetemplates.render(own_body or default_body, values)
    except Exception as error:  # whatever a user template raises, the message cannot go
        raise RenderError(f"template failed: {type(error).__name__}: {error}") from error
    link = str(values.get("externalURL") or "") or next(
        (a["generatorURL"] for a in values["alerts"] if a.get("generatorURL")), "")
    return Message(title=title or "notification", body=text, status=values["status"],
                   link=link, source=dict(body), kind="event" if kind == "event" else "alert")
