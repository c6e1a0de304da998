"""The channels the notifier delivers to, read from the bundle's `reconciler/channels.json`.

Pure: `parse` takes the document's bytes and two lookups (environment, files) that resolve
the secret references (`{"env": NAME}`, `{"file": PATH}`) on this host, at the channels'
secret fields only, and only as far as the operator allows (a lookup raises `LookupError`
for a reference it does not allow: `converge.reconciler.core.secretaccess`). A channel whose
secret is missing is kept with its `problem` set: messages for it are accepted and wait in
the outbox until a later bundle load resolves it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from converge.reconciler.notifier import escalation
from converge.specs.channel import EVENT_TYPES
from converge.specs.common import parse_duration

SCHEMA = "converge/reconciler/v1"
ALERTMANAGER_PATH = "/hooks/alertmanager/"
"""Where Alertmanager posts (the compiler's `alertmanager.NOTIFIER_PATH`)."""

DEFAULT_BASE_URLS = {"dingtalk": "https://oapi.dingtalk.com",
                     "wecom": "https://qyapi.weixin.qq.com",
                     "feishu": "https://open.feishu.cn"}

Lookup = Callable[[str], str | None]

_SECRET_FIELDS = ("urlSecret", "apiUrl", "authPassword", "accessToken", "secret", "key", "hook",
                  "signingSecret", "bearerToken")


class ChannelsError(ValueError):
    """channels.json is not a document this notifier understands."""


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One channel as the notifier sees it."""

    name: str
    type: str
    spec: Mapping[str, Any]
    """The spec as compiled (camelCase keys, secrets as references)."""
    secrets: Mapping[str, str]
    """Resolved secrets by spec key (`accessToken`, `basicAuth.password`, …)."""
    delivered_by: str
    """`notifier` (Alertmanager posts to it) or `alertmanager` (events only)."""
    base_url: str | None = None
    problem: str | None = None
    """Why the channel cannot deliver now (a missing secret), else None."""

    @property
    def send_resolved(self) -> bool:
        return bool(self.spec.get("sendResolved", True))

    @property
    def msg_type(self) -> str | None:
        value = self.spec.get("msgType")
        return str(value) if value is not None else None

    @property
    def template(self) -> tuple[str | None, str | None]:
        """(title, body) Jinja2 templates, for notifier-delivered types only (the others'
        templates are Alertmanager Go templates; events to them use the defaults)."""
        template = self.spec.get("template") or {}
        if self.delivered_by != "notifier":
            return None, None
        return template.get("title"), template.get("body")

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """(messages, per seconds), or None for no limit."""
        limit = self.spec.get("rateLimit")
        if not limit:
            return None
        return int(limit["messages"]), parse_duration(str(limit.get("per", "1m")))

    @property
    def events(self) -> Mapping[str, Any] | None:
        """The event route (`{minLevel, sources, labels}`), or None: takes no events."""
        route = self.spec.get("events")
        return route if isinstance(route, dict) else None

    @property
    def accepts_alertmanager(self) -> bool:
        return self.delivered_by == "notifier"


@dataclasses.dataclass(frozen=True, slots=True)
class Defaults:
    """The Project's `notifications`, as `channels.json` carries them."""

    event_channels: tuple[str, ...] = ()
    """Where an event goes that names no deliverable channel and no route takes."""
    fallback_channel: str | None = None
    """Where a dead-lettered message is reported, with its failure."""
    escalations: Mapping[str, tuple[escalation.Level, ...]] = dataclasses.field(
        default_factory=dict)
    """Escalation levels by route id (`/hooks/escalation/{route}`)."""
    events_to_alertmanager: bool = False
    """Daemon events go to Alertmanager as alerts (with `--alertmanager-url`)."""


def parse_defaults(data: bytes) -> Defaults:
    """The `eventChannels`, `fallbackChannel` and `escalations` of a channels document
    (absent: none).

    Raises:
        ChannelsError: not JSON.
    """
    try:
        document = json.loads(data)
    except ValueError as error:
        raise ChannelsError(f"channels.json is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ChannelsError(f"channels.json is not a {SCHEMA} channels document")
    names = document.get("eventChannels") or []
    fallback = document.get("fallbackChannel")
    return Defaults(event_channels=tuple(str(n) for n in names if isinstance(n, str)),
                    fallback_channel=fallback if isinstance(fallback, str) else None,
                    escalations=escalation.parse_levels(document),
                    events_to_alertmanager=document.get("eventsToAlertmanager") is True)


def _resolve(reference: Any, *, env: Lookup, file: Lookup) -> str | None:
    if isinstance(reference, dict) and isinstance(reference.get("env"), str):
        return env(reference["env"])
    if isinstance(reference, dict) and isinstance(reference.get("file"), str):
        return file(reference["file"])
    return None


def _secrets(spec: Mapping[str, Any], *, env: Lookup, file: Lookup) -> tuple[dict[str, str],
                                                                            list[str]]:
    found: dict[str, str] = {}
    missing: list[str] = []
    references = {key: spec.get(key) for key in _SECRET_FIELDS}
    basic = spec.get("basicAuth")
    if isinstance(basic, dict):
        references["basicAuth.password"] = basic.get("password")
    for key, reference in references.items():
        if reference is None:
            continue
        try:
            value = _resolve(reference, env=env, file=file)
        except LookupError as error:  # not allowed on this host (secretaccess.NotAllowed)
            missing.append(f"{key} ({error})")
            continue
        if value is None:
            where = (f"environment variable {reference['env']}" if "env" in reference
                     else f"file {reference.get('file')}")
            missing.append(f"{key} ({where})")
        else:
            found[key] = value
    return found, missing


def parse(data: bytes, *, env: Lookup, file: Lookup,
          base_urls: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every channel the notifier can deliver to, by name.

    Args:
        data: the bytes of `reconciler/channels.json`.
        env, file: secret lookups on this host.
        base_urls: per-type API base URLs that override the spec's and the vendor's.

    Raises:
        ChannelsError: not a `converge/reconciler/v1` channels document.
    """
    try:
        document = json.loads(data)
    except ValueError as error:
        raise ChannelsError(f"channels.json is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("schemaVersion") != SCHEMA or (
            not isinstance(document.get("channels"), list)):
        raise ChannelsError(f"channels.json is not a {SCHEMA} channels document")
    channels: dict[str, Channel] = {}
    for entry in document["channels"]:
        kind = entry.get("type")
        if kind not in EVENT_TYPES:
            continue  # pagerduty, opsgenie, …: Alertmanager's alone
        spec = entry.get("spec") or {}
        secrets, missing = _secrets(spec, env=env, file=file)
        base_url = (base_urls or {}).get(kind) or spec.get("baseUrl") or DEFAULT_BASE_URLS.get(
            kind)
        channels[entry["name"]] = Channel(
            name=entry["name"], type=kind, spec=spec, secrets=secrets,
            delivered_by=str(entry.get("deliveredBy", "alertmanager")),
            base_url=base_url.rstrip("/") if base_url else None,
            problem=f"missing secrets: {', '.join(missing)}" if missing else None)
    return channels
