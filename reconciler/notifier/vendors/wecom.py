"""WeCom (企业微信) group robot: markdown or text, mentions.

`POST {base}/cgi-bin/webhook/send?key=…`. Markdown content at most 4,096 bytes, text at
most 2,048 (errcode 40058); 20 messages a minute (errcode 45009). HTTP 200 with
`errcode != 0` is a failure.
"""

from __future__ import annotations

import urllib.parse

from converge.reconciler.notifier import mentions
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
    mentioned = mentions.who(channel, message)  # nobody on a resolved message
    users = [*mentioned.user_ids, *(["@all"] if mentioned.everyone else [])]
    mobiles = list(mentioned.mobiles)
    title = one_line(message.title, 512)
    if msg_type == "markdown":
        tags = "".join(f"<@{user}>" for user in mentioned.user_ids)
        text = f"**{title}**\n{message.body}"
        room = LIMITS["markdown"] - len(tags.encode()) - 1
        result: list[Part] = [
            {"msgtype": "markdown", "markdown": {"content": f"{piece}\n{tags}".rstrip()}}
            for piece in split_text(text, room)]
        if mobiles or mentioned.everyone:  # markdown drops these silently: a text for them
            result.append({"msgtype": "text", "text": {
                "content": one_line(title, LIMITS["text"] // 4),
                "mentioned_list": ["@all"] if mentioned.everyone else [],
                "mentioned_mobile_list": mobiles}})
        return result
    text = f"{title}\n{message.body}"
    return [{"msgtype": "text", "text": {"content": piece, "mentioned_list": users,
                                         "mentioned_mobile_list": mobiles}}
            for piece in split_text(text, LIMITS["text"])]


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    query = urllib.parse.urlencode({"key": channel.secrets.get("key", "")})
    return HttpRequest(f"{channel.base_url}/cgi-bin/webhook/send?{query}", dumps(part),
                       {"Content-Type": "application/json; charset=utf-8"})


def classify(answer: HttpAnswer) -> Outcome:
    return errcode_outcome(answer, rate_limited=45009, retry=RETRY_CODES)
