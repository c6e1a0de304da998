"""A WeCom markdown channel mentions phones or everyone.

WeCom's group robot ignores `mentioned_mobile_list` and `@all` in markdown messages: the
mention is dropped without an error. `converge notifier` therefore sends, after each
firing markdown message that has such mentions, a short text message carrying them, so
the people are still paged, in a second message. This warns so that it is a choice: the
phone numbers of `mentionedMobileList`, `@all` in `mentionedList`, and the `mobile` of
`mentionsFrom.people`.

Fix: set `msgType: text` to send one message with the mentions, mention by user id
(`mentionedList`, `<@userid>` works in markdown), or accept the extra text message.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "channel/markdown-mentions"
SEVERITY = Severity.WARNING
SUMMARY = "WeCom markdown drops phone and @all mentions: an extra text message carries them"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for channel in model.channels:
        spec = channel.spec
        if spec.type != "wecom" or spec.msg_type != "markdown":
            continue
        origin = channel.origin.child("mentionedMobileList")
        if not spec.mentioned_mobile_list:
            origin = channel.origin.child("mentionedList")
            if "@all" not in spec.mentioned_list:
                origin = channel.origin.child("mentionsFrom", "people")
                rule = spec.mentions_from
                if rule is None or not any(p.mobile for p in rule.people.values()):
                    continue
        yield ctx.diag(origin, CODE,
                       f"WeCom markdown ignores phone and @all mentions: channel "
                       f"{channel.name!r} sends them in an extra text message",
                       severity=SEVERITY,
                       hint="set msgType: text for one message, or mention by user id")
