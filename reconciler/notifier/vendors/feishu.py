"""Feishu/Lark bot: text, post (rich text) or interactive (a card), optional signing.

`POST {base}/open-apis/bot/v2/hook/{hook}`; when signed, `timestamp` (seconds) and `sign`
go in the body. HTTP 200 with `code != 0` is a failure (older answers say `StatusCode`).
Requests are kept under 20,000 bytes.
"""

from __future__ import annotations

import urllib.parse

from converge.reconciler.notifier import signing, splitting
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

BODY_LIMIT = 20_000
RATE_LIMIT_CODES = {11232, 9499}
"""Frequency limited; too many requests."""
_SIGN_ROOM = 128


def parts(channel: Channel, message: Message) -> list[Part]:
    msg_type = channel.msg_type or "interactive"
    title = one_line(message.title, 512)
    text = message.body if msg_type != "text" else f"{title}\n{message.body}"
    room = BODY_LIMIT - len(dumps(_shape(msg_type, title, "", message.status))) - _SIGN_ROOM
    return [_shape(msg_type, title, piece, message.status)
            for piece in split_text(text, room, size=splitting.json_size)]


def _shape(msg_type: str, title: str, text: str, status: str) -> Part:
    if msg_type == "text":
        return {"msg_type": "text", "content": {"text": text}}
    if msg_type == "post":
        lines = [[{"tag": "text", "text": line}] for line in text.split("\n")]
        return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title,
                                                                      "content": lines}}}}
    return {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title},
                   "template": "green" if status == "resolved" else "red"},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}}]}}


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    secret = channel.secrets.get("secret")
    body = dict(part)
    if secret:
        timestamp = int(now)
        body.update(timestamp=str(timestamp), sign=signing.feishu(secret, timestamp))
    hook = urllib.parse.quote(channel.secrets.get("hook", ""), safe="")
    return HttpRequest(f"{channel.base_url}/open-apis/bot/v2/hook/{hook}", dumps(body),
                       {"Content-Type": "application/json; charset=utf-8"})


def classify(answer: HttpAnswer) -> Outcome:
    decided = http_status(answer)
    if decided is not None:
        return decided
    body = answer.json()
    if not isinstance(body, dict):
        return Outcome("retry", f"unreadable answer: {answer.body[:200]!r}")
    code = body.get("code", body.get("StatusCode"))
    if code == 0:
        return SUCCESS
    if code is None:
        return Outcome("retry", f"unreadable answer: {answer.body[:200]!r}")
    reason = f"code {code}: {body.get('msg', body.get('StatusMessage', ''))}"
    if code in RATE_LIMIT_CODES:
        return Outcome("retry", reason, rate_limited=True)
    return Outcome("permanent", reason)
