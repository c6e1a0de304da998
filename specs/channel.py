"""`Channel`: where notifications go. Secrets are references, never values.

Alertmanager delivers the types it knows natively (webhook, slack, email, pagerduty,
opsgenie, telegram, discord, msteams); `converge notifier` delivers the others (dingtalk,
wecom, feishu), reached from Alertmanager through a webhook receiver. The notifier also
delivers the daemons' events (healer, scaler, sidecar) to the types in `EVENT_TYPES`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from specs.common import Duration, SecretRef, Severity, Spec, require_one_of


class MessageTemplate(Spec):
    """Message template: Go templates for Alertmanager-delivered types, sandboxed Jinja2
    for notifier-delivered types (dingtalk, wecom, feishu)."""

    title: str | None = None
    body: str | None = None


class RateLimit(Spec):
    """At most `messages` per `per`; extra messages wait in the notifier's outbox."""

    messages: Annotated[int, Field(ge=1)]
    per: Duration = "1m"


class EventRoute(Spec):
    """Which daemon events (healer, scaler, sidecar) `converge notifier` sends here.

    An event reaches the channel when its level is at least `minLevel`, its source is
    one of `sources` (any when empty) and it carries every label in `labels`. Events that
    name their channels (a healing policy's `alert.channels`) reach them regardless.
    """

    min_level: Severity = "error"
    sources: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


_BaseUrl = Annotated[str, Field(pattern=r"^https?://[^?#]+$")]


class BasicAuth(Spec):
    username: str
    password: SecretRef


class ChannelBase(Spec):
    send_resolved: bool = True
    """Also notify when the alert resolves."""
    template: MessageTemplate | None = None


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Endpoint URL; use `urlSecret` when the URL itself carries a token."""
    url_secret: SecretRef | None = None
    basic_auth: BasicAuth | None = None
    bearer_token: SecretRef | None = None
    max_alerts: Annotated[int, Field(ge=0)] = 0
    signing_secret: SecretRef | None = None
    """Signs the notifier's deliveries (`X-Converge-Signature`, HMAC-SHA256)."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        require_one_of(self, "url", "url_secret", error="webhook_url", what="a webhook")
        return self


class SlackChannel(ChannelBase):
    type: Literal["slack"]
    api_url: SecretRef
    """The incoming-webhook URL (a secret: it carries the token)."""
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class EmailChannel(ChannelBase):
    type: Literal["email"]
    to: Annotated[list[str], Field(min_length=1)]
    from_: str = Field(alias="from")
    smarthost: Annotated[str, Field(pattern=r"^[^:\s]+:[0-9]+$")]
    """SMTP server as host:port."""
    auth_username: str | None = None
    auth_password: SecretRef | None = None
    require_tls: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class DingTalkChannel(ChannelBase):
    type: Literal["dingtalk"]
    access_token: SecretRef
    """The robot's access_token (the query parameter of its webhook URL)."""
    secret: SecretRef | None = None
    """Signing secret ("加签"); when set, every request is signed."""
    msg_type: Literal["text", "markdown", "actionCard"] = "markdown"
    at_mobiles: list[str] = Field(default_factory=list)
    at_user_ids: list[str] = Field(default_factory=list)
    is_at_all: bool = False
    rate_limit: RateLimit = RateLimit(messages=20, per="1m")
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None


class WeComChannel(ChannelBase):
    type: Literal["wecom"]
    key: SecretRef
    """The group robot's webhook key."""
    msg_type: Literal["text", "markdown"] = "markdown"
    mentioned_list: list[str] = Field(default_factory=list)
    mentioned_mobile_list: list[str] = Field(default_factory=list)
    rate_limit: RateLimit = RateLimit(messages=20, per="1m")
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None


class FeishuChannel(ChannelBase):
    type: Literal["feishu"]
    hook: SecretRef
    """The bot's hook id (the last part of its webhook URL)."""
    secret: SecretRef | None = None
    msg_type: Literal["text", "post", "interactive"] = "interactive"
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None


class PagerDutyChannel(ChannelBase):
    type: Literal["pagerduty"]
    routing_key: SecretRef
    """Events API v2 integration key."""
    severity: str | None = None
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None


class OpsgenieChannel(ChannelBase):
    type: Literal["opsgenie"]
    api_key: SecretRef
    api_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    priority: str | None = None


class TelegramChannel(ChannelBase):
    type: Literal["telegram"]
    bot_token: SecretRef
    chat_id: int
    parse_mode: Literal["Markdown", "MarkdownV2", "HTML"] | None = None


class DiscordChannel(ChannelBase):
    type: Literal["discord"]
    webhook_url: SecretRef


class MSTeamsChannel(ChannelBase):
    type: Literal["msteams"]
    webhook_url: SecretRef
    """Alertmanager ≥ 0.26."""


CHANNEL_TYPES: dict[str, type[ChannelBase]] = {
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
    "pagerduty": PagerDutyChannel,
    "opsgenie": OpsgenieChannel,
    "telegram": TelegramChannel,
    "discord": DiscordChannel,
    "msteams": MSTeamsChannel,
}
"""Every channel type, by its `type` value."""

NOTIFIER_TYPES = frozenset({"dingtalk", "wecom", "feishu"})
"""Types Alertmanager cannot deliver; they go through `converge notifier`."""

EVENT_TYPES = NOTIFIER_TYPES | {"webhook", "slack", "email"}
"""Types `converge notifier` can deliver daemon events to."""

ChannelSpec = Annotated[
    WebhookChannel | SlackChannel | EmailChannel | DingTalkChannel | WeComChannel
    | FeishuChannel | PagerDutyChannel | OpsgenieChannel | TelegramChannel | DiscordChannel
    | MSTeamsChannel,
    Field(discriminator="type"),
]
"""For the JSON Schema; validation picks the model from `CHANNEL_TYPES` by `type`."""
