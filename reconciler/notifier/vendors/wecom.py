"""WeCom (企业微信) group robot: markdown or text, mentions.

`POST {base}/cgi-bin/webhook/send?key=…`. Markdown content at most 4,096 bytes, text at
most 2,048 (errcode 40058); 20 messages a minute (errcode 45009). HTTP 200 with
`errcode != 0` is a failure.
"""

from __future__ import annotations

import urllib.parse

from reconciler.notifier.channels import Channel
from reconciler.notifier.vendors.base import (
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

LIMITS = {"markdown": 4096, "text": 2048}
RETRY_CODES = {45009: "rate limited", -1: "system busy"}


def parts(channel: Channel, message: Message) -> list[Part]:
    msg_type = channel.msg_type or "markdown"
    spec = channel.spec
    mentioned = list(spec.get("mentionedList") or [])
    mobiles = list(spec.get("mentionedMobileList") or [])
    title = one_line(message.title, 512)
    if msg_type == "markdown":
        tags = "".join(f"<@{user}>" for user in mentioned if user != "@all")
        text = f"**{title}**\n{message.body}"
        room = LIMITS["markdown"] - len(tags.encode()) - 1
        return [{"msgtype": "markdown", "markdown": {"content": f"{piece}\n{tags}".rstrip()}}
                for piece in split_text(text, room)]
    text = f"{title}\n{message.body}"
    return [{"msgtype": "text", "text": {"content": piece, "mentioned_list": mentioned,
                                         "mentioned_mobile_list": mobiles}}
            for piece in split_text(text, LIMITS["text"])]


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    query = urllib.parse.urlencode({"key": channel.secrets.get("key", "")})
    return HttpRequest(f"{channel.base_url}/cgi-bin/webhook/send?{query}", dumps(part),
                       {"Content-Type": "application/json; charset=utf-8"})


def classify(answer: HttpAnswer) -> Outcome:
    decided = http_status(answer)
    if decided is not None:
        return decided
    body = answer.json()
    if not isinstance(body, dict) or "errcode" not in body:
        return Outcome("retry", f"unreadable answer: {answer.body[:200]!r}")
    code = body.get("errcode")
    if code == 0:
        return SUCCESS
    reason = f"errcode {code}: {body.get('errmsg', '')}"
    if code == 45009:
        return Outcome("retry", reason, rate_limited=True)
    if code in RETRY_CODES:
        return Outcome("retry", reason)
    return Outcome("permanent", reason)
