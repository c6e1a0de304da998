"""`Channel`: where notifications go. Secrets are references, never values.

Alertmanager delivers the types it knows natively (webhook, slack, email, pagerduty,
opsgenie, telegram, discord, msteams); `converge notifier` delivers the others (dingtalk,
wecom, feishu), reached from Alertmanager through a webhook receiver. The notifier also
delivers the daemons' events (healer, scaler, sidecar) to the types in `EVENT_TYPES`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from converge.specs.common import Duration, SecretRef, Severity, Spec, require_one_of
from converge.specs.routing import EscalationLevel


class MessageTemplate(Spec):
    """Message template: Go templates for Alertmanager-delivered types, sandboxed Jinja2
    for notifier-delivered types (dingtalk, wecom, feishu)."""

    title: str | None = None
    """Message title or subject."""
    body: str | None = None
    """Message text."""


class RateLimit(Spec):
    """At most `messages` per `per`; extra messages wait in the notifier's outbox."""

    messages: Annotated[int, Field(ge=1)]
    """Most messages sent per `per`."""
    per: Duration = "1m"
    """The period `messages` applies to."""


class EventRoute(Spec):
    """Which daemon events (healer, scaler, sidecar) `converge notifier` sends here.

    An event reaches the channel when its level is at least `minLevel`, its source is
    one of `sources` (any when empty) and it carries every label in `labels`. Events that
    name their channels (a healing policy's `alert.channels`) reach them regardless.
    """

    min_level: Severity = "error"
    """Lowest event level sent here (`info` < `warning` < `error` < `critical`)."""
    sources: list[str] = Field(default_factory=list)
    """Event sources sent here, such as `healer` or `scaler`; any when empty."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels an event must carry, all with these values, to be sent here."""


_BaseUrl = Annotated[str, Field(pattern=r"^https?://[^?#]+$")]


class Person(Spec):
    """How one person is @-mentioned on this channel."""

    mobile: str | None = None
    """Phone number; quote it."""
    user_id: str | None = None
    """The vendor's user id."""


class MentionsFrom(Spec):
    """@-mention whoever an alert names: the value of an alert label or annotation (names
    separated by commas), each looked up in `people`."""

    label: Annotated[str, Field(min_length=1)]
    """Label or annotation holding the names, such as `oncall`."""
    people: dict[str, Person] = Field(default_factory=dict)
    """Each name's phone number or user id on this channel; unknown names are ignored."""


class BasicAuth(Spec):
    """HTTP basic authentication."""

    username: str
    """User name."""
    password: SecretRef
    """Password."""


class ChannelBase(Spec):
    """Fields every channel type has; `type` chooses the others."""

    send_resolved: bool = True
    """Also notify when the alert resolves."""
    template: MessageTemplate | None = None
    """Message title and body templates; the type's default message when unset."""
    escalation: list[EscalationLevel] = Field(default_factory=list)
    """Levels paged while an alert a route sends here stays firing and unacknowledged: for
    every route naming this channel as its `receiver` that sets no `escalation` itself."""


class WebhookChannel(ChannelBase):
    """`webhook`: any HTTP endpoint that takes Alertmanager's webhook JSON."""

    type: Literal["webhook"]
    """Chooses this channel type and its fields."""
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Endpoint URL; use `urlSecret` when the URL itself carries a token."""
    url_secret: SecretRef | None = None
    """The endpoint URL read from a secret, when it carries a token; or use `url`."""
    basic_auth: BasicAuth | None = None
    """HTTP basic authentication."""
    bearer_token: SecretRef | None = None
    """Sent as `Authorization: Bearer …`."""
    max_alerts: Annotated[int, Field(ge=0)] = 0
    """Most alerts per message; `0`: all."""
    signing_secret: SecretRef | None = None
    """Signs the notifier's deliveries (`X-Converge-Signature`, HMAC-SHA256)."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        require_one_of(self, "url", "url_secret", error="webhook_url", what="a webhook")
        return self


class SlackChannel(ChannelBase):
    """`slack`: a Slack incoming webhook, delivered by Alertmanager."""

    type: Literal["slack"]
    """Chooses this channel type and its fields."""
    api_url: SecretRef
    """The incoming-webhook URL (a secret: it carries the token)."""
    channel: str | None = None
    """`#channel` or `@user`; quote it (`#` starts a YAML comment)."""
    username: str | None = None
    """Sender name."""
    icon_emoji: str | None = None
    """Sender icon, such as `":bell:"`."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class EmailChannel(ChannelBase):
    """`email`: mail through an SMTP server, delivered by Alertmanager."""

    type: Literal["email"]
    """Chooses this channel type and its fields."""
    to: Annotated[list[str], Field(min_length=1)]
    """Recipient addresses."""
    from_: str = Field(alias="from")
    """Sender address."""
    smarthost: Annotated[str, Field(pattern=r"^[^:\s]+:[0-9]+$")]
    """SMTP server as host:port."""
    auth_username: str | None = None
    """SMTP user."""
    auth_password: SecretRef | None = None
    """SMTP password."""
    require_tls: bool = True
    """Require STARTTLS."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra mail headers; values are Go templates."""
    text: str | None = None
    """The mail's plain-text part (a Go template); `template.body` is its HTML part."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class DingTalkChannel(ChannelBase):
    """`dingtalk`: a DingTalk custom robot, delivered by `converge notifier`."""

    type: Literal["dingtalk"]
    """Chooses this channel type and its fields."""
    access_token: SecretRef
    """The robot's access_token (the query parameter of its webhook URL)."""
    secret: SecretRef | None = None
    """Signing secret ("加签"); when set, every request is signed."""
    msg_type: Literal["text", "markdown", "actionCard"] = "markdown"
    """Message type."""
    at_mobiles: list[str] = Field(default_factory=list)
    """Phone numbers to @-mention; quote them."""
    at_user_ids: list[str] = Field(default_factory=list)
    """User ids to @-mention."""
    is_at_all: bool = False
    """@-mention everyone."""
    mentions_from: MentionsFrom | None = None
    """@-mention people the alert names (a label mapped to phones or user ids), as well as
    the fixed ones; resolved messages mention nobody."""
    rate_limit: RateLimit = RateLimit(messages=20, per="1m")
    """How fast the notifier sends here (the robot accepts 20 messages a minute)."""
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class WeComChannel(ChannelBase):
    """`wecom`: a WeCom (企业微信) group robot, delivered by `converge notifier`."""

    type: Literal["wecom"]
    """Chooses this channel type and its fields."""
    key: SecretRef
    """The group robot's webhook key."""
    msg_type: Literal["text", "markdown"] = "markdown"
    """Message type."""
    mentioned_list: list[str] = Field(default_factory=list)
    """User ids to @-mention (`@all` for everyone)."""
    mentioned_mobile_list: list[str] = Field(default_factory=list)
    """Phone numbers to @-mention."""
    mentions_from: MentionsFrom | None = None
    """@-mention people the alert names (a label mapped to phones or user ids), as well as
    the fixed ones; resolved messages mention nobody."""
    rate_limit: RateLimit = RateLimit(messages=20, per="1m")
    """How fast the notifier sends here (the robot accepts 20 messages a minute)."""
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class FeishuChannel(ChannelBase):
    """`feishu`: a Feishu/Lark bot, delivered by `converge notifier`."""

    type: Literal["feishu"]
    """Chooses this channel type and its fields."""
    hook: SecretRef
    """The bot's hook id (the last part of its webhook URL)."""
    secret: SecretRef | None = None
    """Signing secret; when set, every request is signed."""
    msg_type: Literal["text", "post", "interactive"] = "interactive"
    """Message type (`interactive` is a card)."""
    base_url: _BaseUrl | None = None
    """API base URL, for a proxy; the vendor's own when unset."""
    events: EventRoute | None = None
    """Daemon events this channel receives through the notifier."""


class PagerDutyChannel(ChannelBase):
    """`pagerduty`: the PagerDuty Events API v2, delivered by Alertmanager."""

    type: Literal["pagerduty"]
    """Chooses this channel type and its fields."""
    routing_key: SecretRef
    """Events API v2 integration key."""
    severity: str | None = None
    """PagerDuty severity (`critical`, `error`, `warning`, `info`)."""
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Events API endpoint, when not PagerDuty's default."""


class OpsgenieChannel(ChannelBase):
    """`opsgenie`: the Opsgenie alert API, delivered by Alertmanager."""

    type: Literal["opsgenie"]
    """Chooses this channel type and its fields."""
    api_key: SecretRef
    """Opsgenie API key."""
    api_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """API endpoint (e.g. the EU one), when not Opsgenie's default; a plain URL."""
    priority: str | None = None
    """Alert priority, `P1` … `P5`."""


class TelegramChannel(ChannelBase):
    """`telegram`: a Telegram bot, delivered by Alertmanager (≥ 0.24)."""

    type: Literal["telegram"]
    """Chooses this channel type and its fields."""
    bot_token: SecretRef
    """The bot's token."""
    chat_id: int
    """Chat to post to (group chats are negative, e.g. `-1001234567890`)."""
    parse_mode: Literal["Markdown", "MarkdownV2", "HTML"] | None = None
    """Message formatting; Telegram's plain text when unset."""


class DiscordChannel(ChannelBase):
    """`discord`: a Discord webhook, delivered by Alertmanager (≥ 0.25)."""

    type: Literal["discord"]
    """Chooses this channel type and its fields."""
    webhook_url: SecretRef
    """The channel's webhook URL (a secret: it carries the token)."""


class MSTeamsChannel(ChannelBase):
    """`msteams`: a Microsoft Teams incoming webhook, delivered by Alertmanager (≥ 0.26)."""

    type: Literal["msteams"]
    """Chooses this channel type and its fields."""
    webhook_url: SecretRef
    """The channel's incoming-webhook URL (a secret: it carries the token)."""


class NoneChannel(ChannelBase):
    """`none`: a receiver without integrations; Alertmanager drops what reaches it."""

    type: Literal["none"]
    """Chooses this channel type and its fields."""


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
    "none": NoneChannel,
}
"""Every channel type, by its `type` value."""

NOTIFIER_TYPES = frozenset({"dingtalk", "wecom", "feishu"})
"""Types Alertmanager cannot deliver; they go through `converge notifier`."""

EVENT_TYPES = NOTIFIER_TYPES | {"webhook", "slack", "email"}
"""Types `converge notifier` can deliver daemon events to."""

ChannelSpec = Annotated[
    WebhookChannel | SlackChannel | EmailChannel | DingTalkChannel | WeComChannel
    | FeishuChannel | PagerDutyChannel | OpsgenieChannel | TelegramChannel | DiscordChannel
    | MSTeamsChannel | NoneChannel,
    Field(discriminator="type"),
]
"""For the JSON Schema; validation picks the model from `CHANNEL_TYPES` by `type`."""
