"""One Alertmanager integration (`slack_configs[0]`, …) as a converge Channel spec.

Fields converge has a place for are mapped (Alertmanager's own defaults made explicit
where converge's differ, e.g. `sendResolved: false` for email and Slack); global
settings fill what the integration leaves unset, as Alertmanager does. Every secret
becomes a reference (`Context.secret`); fields with no converge equivalent are reported
by name only, so a value that might be secret is never copied anywhere.

Message fields become the channel's `template`: Slack `title`/`text`, Opsgenie
`message`/`description`, Discord `title`/`message`, Teams `title`/`text` its title and
body; email `html` and Telegram `message` its body; PagerDuty `description` its title.
Email `text` stays the plain-text part (`text`), apart from `html`; email `headers`
(such as `Subject`) are kept as they are.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from converge.compiler.importers import documents as docs
from converge.compiler.importers.secrets import SecretRef, Secrets, file_ref, url_has_credentials

_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_PARSE_MODES = ("Markdown", "MarkdownV2", "HTML")


@dataclasses.dataclass
class Context:
    """What converting one integration needs: its channel, the globals, the secrets."""

    channel: str
    label: str
    """Names the integration in messages: "receiver 'ops' slack_configs[0]"."""
    globals: dict[str, Any]
    secrets: Secrets
    used: set[str] = dataclasses.field(default_factory=set)
    """Source fields consumed; the others are reported as not imported."""
    unmapped: list[str] = dataclasses.field(default_factory=list)
    """Nested fields found but not imported (e.g. `http_config.proxy_url`)."""
    notes: list[str] = dataclasses.field(default_factory=list)

    def text(self, raw: dict[str, Any], key: str, global_key: str | None = None) -> str | None:
        """The field's text, else the global's; None when neither is set."""
        self.used.add(key)
        value = raw.get(key)
        if value is None and global_key is not None:
            value = self.globals.get(global_key)
        return None if value is None else docs.to_text(value, where=f"{self.label}: {key}")

    def secret(self, raw: dict[str, Any], key: str, *, global_key: str | None = None,
               required: bool = True) -> SecretRef | None:
        """A reference for `key` or `key_file` (else the global's), never the value.

        Raises:
            SourceFormatError: `required` and neither the field nor the global is set.
        """
        self.used.update((key, f"{key}_file"))
        for source, name in ((raw, key), (self.globals, global_key)):
            if name is None:
                continue
            if source.get(f"{name}_file") is not None:
                return file_ref(docs.to_text(source[f"{name}_file"], where=self.label))
            if source.get(name):
                value = docs.to_text(source[name], where=f"{self.label}: {name}")
                return self.literal(value, field=name, shared=source is self.globals)
        if required:
            raise docs.SourceFormatError(f"{self.label}: needs '{key}'"
                                         + (f" or global '{global_key}'" if global_key else ""))
        return None

    def literal(self, value: str, *, field: str, shared: bool = False) -> SecretRef:
        """`{env: NAME}` for a literal; a `${NAME}` placeholder keeps its own name."""
        purpose = f"global {field}" if shared else f"{self.label}: {field}"
        placeholder = _PLACEHOLDER.match(value.strip())
        if placeholder:
            return self.secrets.register(placeholder[1], purpose=purpose)
        scope = "global" if shared else self.channel
        return self.secrets.env_ref(value, parts=(scope, field), purpose=purpose)


def _send_resolved(raw: dict[str, Any], ctx: Context, *, default: bool) -> dict[str, Any]:
    ctx.used.add("send_resolved")
    value = raw.get("send_resolved")
    resolved = default if value is None else docs.to_bool(value, where=ctx.label)
    return {} if resolved else {"sendResolved": False}


def _template(ctx: Context, **fields: str | None) -> dict[str, Any]:
    chosen = {key: value for key, value in fields.items() if value}
    return {"template": chosen} if chosen else {}


def webhook(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A webhook; a URL carrying a credential becomes `urlSecret`."""
    spec: dict[str, Any] = {"type": "webhook"}
    url = ctx.text(raw, "url")
    ctx.used.add("url_file")
    if raw.get("url_file") is not None:
        spec["urlSecret"] = file_ref(docs.to_text(raw["url_file"], where=ctx.label))
    elif url is None:
        raise docs.SourceFormatError(f"{ctx.label}: needs 'url'")
    elif url_has_credentials(url) or _PLACEHOLDER.match(url.strip()):
        spec["urlSecret"] = ctx.literal(url, field="url")
    else:
        spec["url"] = url
    spec.update(_http_auth(raw, ctx))
    if max_alerts := docs.to_int(ctx.text(raw, "max_alerts") or "0", where=ctx.label):
        spec["maxAlerts"] = max_alerts
    if (timeout := ctx.text(raw, "timeout")) and timeout != "0s":
        spec["timeout"] = timeout
    return {**spec, **_send_resolved(raw, ctx, default=True)}


def _http_auth(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """basic_auth and bearer credentials of the effective http_config (webhooks only)."""
    ctx.used.add("http_config")
    own = raw.get("http_config")
    config = docs.mapping(own if own is not None else ctx.globals.get("http_config"),
                          where=f"{ctx.label}: http_config")
    owner = ctx.channel if own is not None else "global"  # names the env vars
    label = f"{ctx.label}: http_config" if own is not None else "global http_config"
    found: dict[str, Any] = {}
    mapped = {"follow_redirects", "enable_http2"}  # defaults that change nothing here
    basic = docs.mapping(config.get("basic_auth"), where=label)
    if basic.get("password") or basic.get("password_file"):
        sub = Context(f"{owner}_basic_auth", label, {}, ctx.secrets)
        found["basicAuth"] = {"username": sub.text(basic, "username") or "",
                              "password": sub.secret(basic, "password")}
        mapped.add("basic_auth")
    auth = docs.mapping(config.get("authorization"), where=label)
    if auth and str(auth.get("type") or "Bearer").lower() == "bearer":
        sub = Context(f"{owner}_authorization", label, {}, ctx.secrets)
        found["bearerToken"] = sub.secret(auth, "credentials")
        mapped.add("authorization")
    elif config.get("bearer_token") or config.get("bearer_token_file"):
        found["bearerToken"] = Context(owner, label, {}, ctx.secrets).secret(config,
                                                                             "bearer_token")
        mapped.update(("bearer_token", "bearer_token_file"))
    ctx.unmapped.extend(f"http_config.{key}" for key in config if key not in mapped)
    return found


def slack(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A Slack incoming webhook (the URL is a secret), with the global `slack_api_url`."""
    spec: dict[str, Any] = {"type": "slack",
                            "apiUrl": ctx.secret(raw, "api_url", global_key="slack_api_url")}
    for key, alias in (("channel", "channel"), ("username", "username"),
                       ("icon_emoji", "iconEmoji")):
        if (value := ctx.text(raw, key)) is not None:
            spec[alias] = value
    spec.update(_template(ctx, title=ctx.text(raw, "title"), body=ctx.text(raw, "text")))
    return {**spec, **_send_resolved(raw, ctx, default=False)}


def email(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """An email integration, completed from the global `smtp_*` settings."""
    to = [a.strip() for a in (ctx.text(raw, "to") or "").split(",") if a.strip()]
    sender = ctx.text(raw, "from", "smtp_from")
    smarthost = ctx.text(raw, "smarthost", "smtp_smarthost")
    if not to or not sender or not smarthost:
        raise docs.SourceFormatError(f"{ctx.label}: needs 'to', and 'from' and 'smarthost' "
                                     "(or global smtp_from and smtp_smarthost)")
    spec: dict[str, Any] = {"type": "email", "to": to, "from": sender, "smarthost": smarthost}
    if username := ctx.text(raw, "auth_username", "smtp_auth_username"):
        spec["authUsername"] = username
    password = ctx.secret(raw, "auth_password", global_key="smtp_auth_password",
                          required=False)
    if password is not None:
        spec["authPassword"] = password
    require_tls = ctx.text(raw, "require_tls", "smtp_require_tls")
    if require_tls is not None and not docs.to_bool(require_tls, where=ctx.label):
        spec["requireTls"] = False
    headers = docs.string_map(raw.get("headers"), where=f"{ctx.label}: headers")
    ctx.used.add("headers")
    if headers:
        spec["headers"] = headers
    html, text = ctx.text(raw, "html"), ctx.text(raw, "text")
    if text is not None:
        spec["text"] = text  # the plain-text part; `html` stays the HTML part
    spec.update(_template(ctx, body=html))
    return {**spec, **_send_resolved(raw, ctx, default=False)}


def pagerduty(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A PagerDuty integration (Events API v2 routing key, or the older service key)."""
    key = "routing_key" if raw.get("routing_key") or raw.get("routing_key_file") \
        else "service_key"
    spec: dict[str, Any] = {"type": "pagerduty", "routingKey": ctx.secret(raw, key)}
    if key == "service_key":
        ctx.notes.append(f"{ctx.label}: service_key is an Events API v1 key, written as "
                         "routingKey (Events API v2): check it is a v2 integration key")
    for field, alias, global_key in (("severity", "severity", None),
                                     ("url", "url", "pagerduty_url")):
        if (value := ctx.text(raw, field, global_key)) is not None:
            spec[alias] = value
    spec.update(_template(ctx, title=ctx.text(raw, "description")))
    return {**spec, **_send_resolved(raw, ctx, default=True)}


def opsgenie(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """An Opsgenie integration, with the global `opsgenie_api_key` and `_url`."""
    spec: dict[str, Any] = {"type": "opsgenie",
                            "apiKey": ctx.secret(raw, "api_key", global_key="opsgenie_api_key")}
    if (api_url := ctx.text(raw, "api_url", "opsgenie_api_url")) is not None:
        spec["apiUrl"] = api_url
    if (priority := ctx.text(raw, "priority")) is not None:
        spec["priority"] = priority
    spec.update(_template(ctx, title=ctx.text(raw, "message"),
                          body=ctx.text(raw, "description")))
    return {**spec, **_send_resolved(raw, ctx, default=True)}


def telegram(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A Telegram bot: its token is a secret, the chat id a number."""
    spec: dict[str, Any] = {"type": "telegram", "botToken": ctx.secret(raw, "bot_token")}
    ctx.used.add("chat_id")
    spec["chatId"] = docs.to_int(raw.get("chat_id"), where=f"{ctx.label}: chat_id")
    parse_mode = raw.get("parse_mode")
    if parse_mode in _PARSE_MODES:
        ctx.used.add("parse_mode")
        spec["parseMode"] = parse_mode
    spec.update(_template(ctx, body=ctx.text(raw, "message")))
    return {**spec, **_send_resolved(raw, ctx, default=True)}


def discord(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A Discord webhook (the URL is a secret)."""
    spec: dict[str, Any] = {"type": "discord", "webhookUrl": ctx.secret(raw, "webhook_url")}
    spec.update(_template(ctx, title=ctx.text(raw, "title"), body=ctx.text(raw, "message")))
    return {**spec, **_send_resolved(raw, ctx, default=True)}


def msteams(raw: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A Microsoft Teams webhook (the URL is a secret; Alertmanager ≥ 0.26)."""
    spec: dict[str, Any] = {"type": "msteams", "webhookUrl": ctx.secret(raw, "webhook_url")}
    spec.update(_template(ctx, title=ctx.text(raw, "title"), body=ctx.text(raw, "text")))
    return {**spec, **_send_resolved(raw, ctx, default=True)}


CONVERTERS: dict[str, Callable[[dict[str, Any], Context], dict[str, Any]]] = {
    "webhook_configs": webhook, "slack_configs": slack, "email_configs": email,
    "pagerduty_configs": pagerduty, "opsgenie_configs": opsgenie,
    "telegram_configs": telegram, "discord_configs": discord, "msteams_configs": msteams,
}
"""Integration lists converge has a channel type for, by their Alertmanager key."""
