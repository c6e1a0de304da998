"""What every vendor module shares: the rendered message, requests, answers and outcomes.

A vendor module is pure. It has

* `parts(channel, message) -> list[Part]`: the message in the vendor's shape, split at the
  vendor's size limit (each part is sent as its own request, in order);
* `request(channel, part, now) -> HttpRequest | MailRequest`: one part as a request,
  signed with the time `now` (seconds since the epoch) where the vendor wants it;
* `classify(answer) -> Outcome`: success only when the vendor says so; retry for what
  may pass later (network, timeout, 5xx, 429, the vendor's rate-limit codes); permanent
  for what will not (bad signature or key, rejected payload, other 4xx).
"""

from __future__ import annotations

import dataclasses
import email.message
import json
from collections.abc import Collection, Mapping
from typing import Any, Literal

from converge.reconciler.notifier import splitting

Result = Literal["success", "retry", "permanent"]
Security = Literal["tls", "starttls", "none"]
Part = dict[str, Any]

MAX_PARTS = 10
"""A message longer than this many parts is truncated in its last one."""


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """A rendered message: one Alertmanager group or one event, for one channel."""

    title: str
    body: str
    status: str
    """`firing` or `resolved`."""
    link: str = ""
    source: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """What it was rendered from (the payload or the event), for webhook channels."""
    kind: str = "alert"


@dataclasses.dataclass(frozen=True, slots=True)
class HttpRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP response, or the transport failure (`error` set, `status` 0)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error: str | None = None
    timeout: bool = False

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True, slots=True)
class MailRequest:
    host: str
    port: int
    security: Security
    message: email.message.EmailMessage
    username: str | None = None
    password: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MailAnswer:
    """What the SMTP server said: accepted, or an SMTP code, or a network failure."""

    accepted: bool
    code: int | None = None
    error: str | None = None
    refused: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    reason: str = ""
    retry_after: float | None = None
    """At least this long before the next attempt (the vendor's Retry-After)."""
    rate_limited: bool = False
    """The vendor said "too many messages" (HTTP 429 or its rate-limit code)."""


SUCCESS = Outcome("success")


def dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8 (what vendors measure their limits on)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def http_status(answer: HttpAnswer) -> Outcome | None:
    """The outcome decided by transport and status alone; None for 2xx (read the body)."""
    if answer.error is not None:
        kind = "timeout" if answer.timeout else "network"
        return Outcome("retry", f"{kind}: {answer.error}")
    if 200 <= answer.status < 300:
        return None
    text = answer.body[:200].decode("utf-8", "replace")
    if 300 <= answer.status < 400:
        return Outcome("permanent", f"HTTP {answer.status}: the vendor answered with a "
                                    "redirect, which is never followed (it would carry the "
                                    "credentials in the URL elsewhere)")
    if answer.status == 429:
        return Outcome("retry", f"HTTP 429: {text}", _retry_after(answer), rate_limited=True)
    if answer.status == 408 or answer.status >= 500:
        return Outcome("retry", f"HTTP {answer.status}: {text}")
    return Outcome("permanent", f"HTTP {answer.status}: {text}")


def errcode_outcome(answer: HttpAnswer, *, rate_limited: int,
                    retry: Collection[int]) -> Outcome:
    """DingTalk's and WeCom's answers: HTTP 200 with `errcode` 0 on success.

    `rate_limited` is the vendor's rate-limit code (waits for the channel's bucket);
    `retry` the other codes worth retrying; any other code is permanent.
    """
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
    if code == rate_limited:
        return Outcome("retry", reason, rate_limited=True)
    if code in retry:
        return Outcome("retry", reason)
    return Outcome("permanent", reason)


def _retry_after(answer: HttpAnswer) -> float | None:
    value = {k.lower(): v for k, v in answer.headers.items()}.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def numbered(texts: list[str]) -> list[str]:
    """`(k/n) ` before each text when there are several."""
    if len(texts) == 1:
        return texts
    return [f"({k}/{len(texts)}) {text}" for k, text in enumerate(texts, start=1)]


NUMBER_ROOM = len(f"({MAX_PARTS}/{MAX_PARTS}) ")


def split_text(text: str, limit: int, *, size: splitting.Size = splitting.utf8_size
               ) -> list[str]:
    """`text` in numbered parts, each with its number at most `limit` in `size`."""
    return numbered(splitting.split(text, limit - NUMBER_ROOM, size=size, max_parts=MAX_PARTS))


def one_line(text: str, limit: int) -> str:
    """A title: whitespace collapsed, at most `limit` UTF-8 bytes."""
    return splitting.truncate(" ".join(text.split()), limit, marker="…")
