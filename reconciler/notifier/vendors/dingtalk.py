"""DingTalk custom robot: markdown, text or actionCard, @-mentions, optional signing.

`POST {base}/robot/send?access_token=…[&timestamp=…&sign=…]`. The request body may not
exceed 20,000 bytes (errcode 460101); a robot takes 20 messages a minute (errcode 130101,
then throttles). HTTP 200 with `errcode != 0` is a failure.
"""

from __future__ import annotations

import urllib.parse

from converge.reconciler.notifier import mentions, signing, splitting
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

BODY_LIMIT = 20_000
RETRY_CODES = {130101: "rate limited", -1: "system busy"}
_AT_ROOM = 64


def _at(mentioned: mentions.Mentions) -> dict[str, object]:
    return {"atMobiles": list(mentioned.mobiles), "atUserIds": list(mentioned.user_ids),
            "isAtAll": mentioned.everyone}


def _mentions(mentioned: mentions.Mentions) -> str:
    """DingTalk highlights an @-mention only when the text names it too."""
    return "".join(f" @{name}" for name in (*mentioned.mobiles, *mentioned.user_ids))


def parts(channel: Channel, message: Message) -> list[Part]:
    msg_type = channel.msg_type or "markdown"
    if msg_type == "actionCard" and not message.link:
        msg_type = "markdown"
    title = one_line(message.title, 512)
    mentioned = mentions.who(channel, message)  # nobody on a resolved message
    tags = _mentions(mentioned)
    text = message.body if msg_type != "text" else f"{title}\n{message.body}"
    empty = _shape(msg_type, title, "", message.link)
    empty["at"] = _at(mentioned)
    room = (BODY_LIMIT - len(dumps(empty)) - splitting.json_size(tags) - _AT_ROOM)
    result = []
    for piece in split_text(text, room, size=splitting.json_size):
        part = _shape(msg_type, title, piece + tags if msg_type != "actionCard" else piece,
                      message.link)
        part["at"] = _at(mentioned)
        result.append(part)
    return result


def _shape(msg_type: str, title: str, text: str, link: str) -> Part:
    if msg_type == "text":
        return {"msgtype": "text", "text": {"content": text}}
    if msg_type == "actionCard":
        return {"msgtype": "actionCard", "actionCard": {
            "title": title, "text": f"### {title}\n\n{text}", "singleTitle": "Details",
            "singleURL": link}}
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    query = {"access_token": channel.secrets.get("accessToken", "")}
    secret = channel.secrets.get("secret")
    if secret:
        timestamp = int(now * 1000)
        query.update(timestamp=str(timestamp), sign=signing.dingtalk(secret, timestamp))
    url = f"{channel.base_url}/robot/send?{urllib.parse.urlencode(query)}"
    return HttpRequest(url, dumps(part), {"Content-Type": "application/json; charset=utf-8"})


def classify(answer: HttpAnswer) -> Outcome:
    return errcode_outcome(answer, rate_limited=130101, retry=RETRY_CODES)
