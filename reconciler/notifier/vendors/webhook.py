"""Any HTTP endpoint: JSON `POST`, success on 2xx, optional HMAC-SHA256 signature header.

An Alertmanager group is posted as the Alertmanager payload itself; a daemon event as
`{"version": "converge/event/v1", "channel", "title", "text", "event"}`. With a
`signingSecret`, `X-Converge-Timestamp` and `X-Converge-Signature: sha256=<hex>` are set
(see `signing.webhook`); `bearerToken` and `basicAuth` are sent as configured.
"""

from __future__ import annotations

import base64

from converge.reconciler.notifier import signing
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

EVENT_VERSION = "converge/event/v1"


def parts(channel: Channel, message: Message) -> list[Part]:
    if message.kind == "alert":
        return [dict(message.source)]
    return [{"version": EVENT_VERSION, "channel": channel.name, "title": message.title,
             "text": message.body, "event": dict(message.source)}]


def request(channel: Channel, part: Part, now: float) -> HttpRequest:
    body = dumps(part)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    secrets = channel.secrets
    if "bearerToken" in secrets:
        headers["Authorization"] = f"Bearer {secrets['bearerToken']}"
    basic = channel.spec.get("basicAuth")
    if isinstance(basic, dict) and "basicAuth.password" in secrets:
        pair = f"{basic.get('username', '')}:{secrets['basicAuth.password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if "signingSecret" in secrets:
        timestamp = int(now)
        headers[signing.WEBHOOK_TIMESTAMP] = str(timestamp)
        headers[signing.WEBHOOK_SIGNATURE] = signing.webhook(secrets["signingSecret"],
                                                             timestamp, body)
    url = channel.spec.get("url") or secrets.get("urlSecret", "")
    return HttpRequest(str(url), body, headers)


def classify(answer: HttpAnswer) -> Outcome:
    return http_status(answer) or SUCCESS
