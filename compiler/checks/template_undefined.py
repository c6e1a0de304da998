"""Every `{{ template "name" }}` an Alertmanager channel calls is defined.

Alertmanager fails a notification, every time, when a message calls a template nobody
defined (`template: no template "email.dba.html" associated with template "email"`),
though the configuration loads. A call resolves to one of: Alertmanager's own templates
(`slack.default.title`, `email.default.html`, `__subject`, … of the built-in
`default.tmpl`), the definitions converge writes for each channel's `template`
(`converge.<channel>.title` / `.body`), or a `{{ define "name" }}` in the Routing's
`templates` (Alertmanager template files, such as those `converge import alertmanager`
reads from the configuration's `templates:`). Calls are checked in channel templates,
email `text` and `headers`, and inside the Routing's templates themselves.

Fix: define the template in the Routing's `templates`, or call one that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.specs.channel import NOTIFIER_TYPES

CODE = "template/undefined"
SEVERITY = Severity.ERROR
SUMMARY = "a channel calls a Go template nobody defines"
_CALL = re.compile(r'\{\{-?\s*template\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)')
_DEFINE = re.compile(r'\{\{-?\s*(?:define|block)\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)')
BUILTIN = frozenset({
    "__alertmanager", "__alertmanagerURL", "__subject", "__description",
    "__text_alert_list", "__text_alert_list_markdown", "__text_values_list",
    "slack.default.title", "slack.default.username", "slack.default.fallback",
    "slack.default.callbackid", "slack.default.pretext", "slack.default.titlelink",
    "slack.default.iconemoji", "slack.default.iconurl", "slack.default.text",
    "slack.default.footer", "pagerduty.default.description", "pagerduty.default.client",
    "pagerduty.default.clientURL", "pagerduty.default.instances",
    "opsgenie.default.message", "opsgenie.default.description", "opsgenie.default.source",
    "wechat.default.message", "wechat.default.to_user", "wechat.default.to_party",
    "wechat.default.to_tag", "wechat.default.agent_id", "victorops.default.state_message",
    "victorops.default.entity_display_name", "victorops.default.monitoring_tool",
    "pushover.default.title", "pushover.default.message", "pushover.default.url",
    "sns.default.subject", "sns.default.message", "telegram.default.message",
    "discord.default.title", "discord.default.message", "webex.default.message",
    "msteams.default.title", "msteams.default.summary", "msteams.default.text",
    "msteamsv2.default.title", "msteamsv2.default.text", "jira.default.summary",
    "jira.default.description", "jira.default.priority", "rocketchat.default.title",
    "rocketchat.default.text", "rocketchat.default.emoji", "rocketchat.default.iconurl",
    "email.default.subject", "email.default.html",
})
"""The templates of Alertmanager's built-in `default.tmpl` (0.25 to 0.28)."""


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    places = list(_places(model))
    defined = set(BUILTIN)
    for channel in model.channels:
        if channel.spec.type not in NOTIFIER_TYPES and channel.spec.template is not None:
            defined |= {f"converge.{channel.name}.{field}" for field in ("title", "body")
                        if getattr(channel.spec.template, field)}
    for _, text in places:
        defined |= {_name(m) for m in _DEFINE.finditer(text)}
    for origin, text in places:
        for call in _CALL.finditer(text):
            name = _name(call)
            if name not in defined:
                yield ctx.diag_in_value(
                    origin, call.start(), CODE,
                    f'template "{name}" is not defined: Alertmanager fails every '
                    "notification that renders this", value=text,
                    hint=_hint(name, defined))


def _places(model: Model) -> Iterator[tuple[Origin, str]]:
    """(origin, text) of every Go template Alertmanager renders for the channels."""
    for channel in model.channels:
        spec = channel.spec
        if spec.type in NOTIFIER_TYPES:
            continue
        if spec.template is not None:
            for field in ("title", "body"):
                text = getattr(spec.template, field)
                if text:
                    yield channel.origin.child("template", field), text
        if spec.type == "email":
            if spec.text:
                yield channel.origin.child("text"), spec.text
            for key, value in spec.headers.items():
                yield channel.origin.child("headers", key), value
    if model.routing is not None:
        for name, text in model.routing.templates.items():
            yield model.routing.origin.child("templates", name), text


def _name(found: re.Match[str]) -> str:
    quoted = found[1]
    return re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else found[2]


def _hint(name: str, defined: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(defined), n=1)
    if close:
        return f'did you mean "{close[0]}"?'
    return "define it in the Routing's `templates`"
