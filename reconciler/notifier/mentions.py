"""Who a message @-mentions: the channel's fixed mentions plus those its alerts name.

Pure. A channel's `mentionsFrom` names a label (or annotation); each firing alert's value
of it (names separated by commas) is looked up in `people` for a phone number or a user
id. A resolved message mentions nobody: nobody needs waking for good news.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from converge.reconciler.notifier.channels import Channel
from converge.reconciler.notifier.vendors.base import Message

_FIXED = {"dingtalk": ("atMobiles", "atUserIds"),
          "wecom": ("mentionedMobileList", "mentionedList")}


@dataclasses.dataclass(frozen=True, slots=True)
class Mentions:
    mobiles: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    everyone: bool = False

    def __bool__(self) -> bool:
        return bool(self.mobiles or self.user_ids or self.everyone)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _named(source: Mapping[str, Any], label: str) -> list[str]:
    """The names a message's firing alerts (or event) give in `label`."""
    if "alerts" in source:
        items = [a for a in source.get("alerts") or [] if a.get("status") != "resolved"]
    else:  # a daemon event
        items = [{"labels": source.get("labels") or {}}]
    names: list[str] = []
    for item in items:
        for where in ("labels", "annotations"):
            value = (item.get(where) or {}).get(label)
            if isinstance(value, str):
                names += [n.strip() for n in value.split(",") if n.strip()]
    return names


def who(channel: Channel, message: Message) -> Mentions:
    """Everyone `message` @-mentions on `channel` (nobody when it is resolved)."""
    if message.status == "resolved" or channel.type not in _FIXED:
        return Mentions()
    spec = channel.spec
    mobiles_key, users_key = _FIXED[channel.type]
    mobiles = list(spec.get(mobiles_key) or [])
    users = list(spec.get(users_key) or [])
    everyone = bool(spec.get("isAtAll")) or "@all" in users
    users = [u for u in users if u != "@all"]
    rule = spec.get("mentionsFrom")
    if isinstance(rule, dict) and rule.get("label"):
        people = rule.get("people") or {}
        for name in _named(message.source, str(rule["label"])):
            person = people.get(name) or {}
            mobiles.append(str(person.get("mobile") or ""))
            users.append(str(person.get("userId") or ""))
    return Mentions(_unique(mobiles), _unique(users), everyone)
