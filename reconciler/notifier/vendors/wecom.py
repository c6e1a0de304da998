"""WeCom (企业微信) group robot: markdown or text, mentions.

`POST {base}/cgi-bin/webhook/send?key=…`. Markdown content at most 4,096 bytes, text at
most 2,048 (errcode 40058); 20 messages a minute (errcode 45009). HTTP 200 with
`errcode != 0` is a failure.
"""

from __future__ import annotations

import urllib.parse

from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.vendors.base import (
    HttpAnswer,
    HttpRequest,
    Message,
    Outcome,
    Part,
    dumps,
    errcode_outcome,
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
    return errcode_outcome(answer, rate_limited=45009, retry=RETRY_CODES)
