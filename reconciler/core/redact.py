"""Credentials out of every URL a daemon shows: errors, `/status`, logs and the console.

Vendor APIs carry their credentials in the URL: DingTalk's `access_token`, `timestamp`
and `sign` in the query, WeCom's `key`, the hook token in Feishu's and Slack's paths,
`user:password@` in a Git remote. Client libraries quote the whole URL in their error
text (aiohttp's `ClientResponseError` does, after a redirect), so a daemon that reports an
error as it came would publish the secret. `text` removes every such part from free
text: the userinfo of any URL, the value of every query parameter named like a
credential, and the token path segments of Slack and Feishu/Lark hooks. It is applied
where errors are made (the senders) and once more by the log formatter, as a last line
of defence.

Pure; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

CREDENTIAL_PARAMS = frozenset({
    "access_token", "token", "key", "sign", "signature", "secret", "password", "passwd",
    "apikey", "api_key", "auth", "client_secret", "refresh_token", "id_token", "sig",
    "x-amz-signature", "private_token"})
"""Query parameters whose value is a credential (compared case-insensitively)."""

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"<>]+@")
_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[A-Za-z0-9_.~-]+)=(?P<value>[^&#\s'\"<>)]*)")
_HOOK_PATHS = re.compile(
    r"(?P<prefix>/open-apis/bot/v2/hook/|/services/(?=T)|/hooks/(?=T))"
    r"(?P<token>[^\s'\"<>?#)]+)")


def text(value: str) -> str:
    """`value` with the credentials of every URL in it replaced by `***`.

    >>> text("Error for https://oapi.dingtalk.com/robot/send?access_token=abc&sign=x%3D")
    'Error for https://oapi.dingtalk.com/robot/send?access_token=***&sign=***'
    """
    if not value or ("://" not in value and "=" not in value and "/hook" not in value
                     and "/services/" not in value):
        return value
    value = _USERINFO.sub(r"\g<scheme>***@", value)
    value = _PARAM.sub(_param, value)
    return _HOOK_PATHS.sub(lambda m: m.group("prefix") + MASK, value)


def _param(match: re.Match[str]) -> str:
    if match.group("name").lower() in CREDENTIAL_PARAMS and match.group("value"):
        return f"{match.group('sep')}{match.group('name')}={MASK}"
    return match.group(0)


def value(item: Any) -> Any:
    """`item` with `text` applied to every string in it (lists, tuples and mappings
    walked), for a status document or a log record's fields."""
    if isinstance(item, str):
        return text(item)
    if isinstance(item, Mapping):
        return {key: value(inner) for key, inner in item.items()}
    if isinstance(item, list | tuple):
        return [value(inner) for inner in item]
    return item
