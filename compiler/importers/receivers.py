"""Alertmanager receivers as converge Channels: one Channel per integration.

A receiver named in routes may hold several integrations (a Slack channel and an email
list); converge routes name one channel each, so a receiver with several integrations
becomes several channels (`ops-slack`, `ops-email`) and the routes fan out to all of them
(see `routes`); every such split, and every receiver whose name had to change, is in
the import's report. A receiver with no integrations (a "blackhole" such as `null`)
stays one: a `none` channel. An integration converge has no channel type for is refused
with its position: rewriting it into something else would fail on every notification.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from converge.compiler.importers import documents as docs
from converge.compiler.importers import integrations, names
from converge.compiler.importers.result import Document
from converge.compiler.importers.secrets import Secrets

UNSUPPORTED = ("pushover_configs", "victorops_configs", "wechat_configs", "sns_configs",
               "webex_configs", "msteamsv2_configs", "jira_configs", "rocketchat_configs",
               "incidentio_configs", "mattermost_configs")
ANNOTATION = "converge.io/"


@dataclasses.dataclass(frozen=True, slots=True)
class Receiver:
    """One receiver's channels, in the order of its integrations."""

    name: str
    stem: str
    """File stem for its channels: `channels/<stem>.yaml`."""
    channels: tuple[Document, ...]

    @property
    def channel_names(self) -> list[str]:
        """The names of its channels, in integration order."""
        return [c["metadata"]["name"] for c in self.channels]


def convert(raw_receivers: list[Any], *, source: str, text: str, globals_: dict[str, Any],
            taken: set[str], secrets: Secrets, notes: list[str]) -> list[Receiver]:
    """Every receiver as channels with unique names (not colliding with `taken`).

    Raises:
        SourceFormatError: a receiver is malformed, an integration lacks essentials or
            has no converge channel type (at its line and column in `text`).
    """
    channel_names, stems = names.Names(taken), names.Names()
    receivers, seen = [], set()
    for index, item in enumerate(raw_receivers):
        raw = docs.mapping(item, where=f"{source}: receivers[{index}]")
        name = docs.to_text(raw.get("name"), where=f"{source}: receivers[{index}]: name")
        if not name or name in seen:
            raise docs.SourceFormatError(f"{source}: receivers[{index}]: "
                                         + ("a receiver needs a name" if not name
                                            else f"duplicate receiver name {name!r}"))
        seen.add(name)
        for key in raw:
            if key in UNSUPPORTED:
                at = docs.position(text, "receivers", index, key)
                raise docs.SourceFormatError(
                    f"{source}:{at + ':' if at else ''} receiver {name!r}: {key} has no "
                    "converge channel type; remove it from the receiver, or deliver through "
                    "a webhook channel, then import again")
        channels = _channels(raw, receiver=name, source=source, globals_=globals_,
                             names=channel_names, secrets=secrets, notes=notes)
        receiver = Receiver(name, stems.allocate(name, fallback="receiver"), channels)
        _note_names(receiver, notes)
        receivers.append(receiver)
    return receivers


def _note_names(receiver: Receiver, notes: list[str]) -> None:
    """Report a receiver whose Alertmanager name changes (renamed or split)."""
    channels = receiver.channel_names
    if len(channels) > 1:
        notes.append(f"receiver {receiver.name!r} renamed: split into channels "
                     f"{', '.join(repr(c) for c in channels)}, one per integration (routes "
                     "notify each)")
    elif channels[0] != receiver.name:
        notes.append(f"receiver {receiver.name!r} renamed {channels[0]!r} (channel names are "
                     "lower-case letters, digits and '-', unique)")


def _channels(raw: dict[str, Any], *, receiver: str, source: str, globals_: dict[str, Any],
              names: names.Names, secrets: Secrets, notes: list[str]) -> tuple[Document, ...]:
    label = f"receiver {receiver!r}"
    found = [(key, i, item) for key in integrations.CONVERTERS
             for i, item in enumerate(docs.sequence(raw.get(key), where=f"{label}: {key}"))]
    for key in raw:
        if key != "name" and key not in integrations.CONVERTERS:
            notes.append(f"{label}: unknown field {key!r}, not imported")
    if not found:
        name = names.allocate(receiver, fallback="receiver")
        return (_document(name, {"type": "none"}, receiver=receiver, integration="",
                          source=source),)
    documents = []
    for key, index, item in found:
        kind = key.removesuffix("_configs")
        text = receiver if len(found) == 1 else f"{receiver}-{kind}"
        name = names.allocate(text, fallback=kind)
        integration = f"{key}[{index}]"
        ctx = integrations.Context(name, f"{label} {integration}", globals_, secrets)
        item = docs.mapping(item, where=ctx.label)
        spec = integrations.CONVERTERS[key](item, ctx)
        notes.extend(ctx.notes)
        skipped = sorted({k for k in item if k not in ctx.used} | set(ctx.unmapped))
        document = _document(name, spec, receiver=receiver, integration=integration,
                             source=source)
        if skipped:
            document["metadata"]["annotations"][f"{ANNOTATION}not-imported"] = ", ".join(skipped)
            notes.append(f"{label} {integration}: not imported (no converge field): "
                         + ", ".join(skipped))
        documents.append(document)
    return tuple(documents)


def _document(name: str, spec: dict[str, Any], *, receiver: str, integration: str,
              source: str) -> Document:
    annotations = {f"{ANNOTATION}source-file": source,
                   f"{ANNOTATION}source-receiver": receiver}
    if integration:
        annotations[f"{ANNOTATION}source-integration"] = integration
    return {"apiVersion": "converge/v1", "kind": "Channel",
            "metadata": {"name": name, "annotations": annotations}, "spec": spec}
