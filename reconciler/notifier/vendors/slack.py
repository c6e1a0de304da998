"""Slack incoming webhook: `POST` the secret `apiUrl` with `{"text": …}`.

Success is HTTP 200 with the body `ok` (or `{"ok": true}` from a Web API style proxy);
Slack answers 429 when too fast, 4xx (`invalid_payload`, `channel_not_found`, …) for
what will not pass. Text over 40,000 characters is cut by Slack, so it is split first.
"""

from __future__ import annotations

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
    one_line,
    split_text,
)

TEXT_LIMIT = 39_000


def parts(channel: Channel, message: Message) -> list[Part]:
    spec = channel.spec
    extra = {key: spec[name] for key, name in (("channel", "channel"), ("username", "username"),
                                               ("icon_emoji", "iconEmoji")) if spec.get(name)}
    text = f"*{one_line(message.title, 1024)}*\n{message.body}"
    return [{"text": piece, **extra} for piece in split_text(text, TEXT_LIMIT)]


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    return HttpRequest(channel.secrets.get("apiUrl", ""), dumps(part),
                       {"Content-Type": "application/json; charset=utf-8"})


def classify(answer: HttpAnswer) -> Outcome:
    decided = http_status(answer)
    if decided is not None:
        return decided
    if answer.body.strip() == b"ok":
        return SUCCESS
    body = answer.json()
    if isinstance(body, dict) and "ok" in body:
        if body["ok"] is True:
            return SUCCESS
        error = str(body.get("error", ""))
        if error == "ratelimited":
            return Outcome("retry", error, rate_limited=True)
        return Outcome("permanent", f"slack: {error}")
    return Outcome("retry", f"unreadable answer: {answer.body[:200]!r}")
