"""What the daemons read: worker pools, healing policies and channels, as JSON.

Secrets stay references (`{"env": NAME}` / `{"file": PATH}`) that each daemon resolves on
its own host. Each pool carries the hash of its spec, which the scaler stamps on the
containers it creates to spot out-of-date ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from converge.compiler.model import Model, Named
from converge.compiler.render import alertmanager
from converge.specs.channel import NOTIFIER_TYPES
from converge.specs.common import parse_duration

SCHEMA = "converge/reconciler/v1"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def spec_json(item: Named) -> dict[str, Any]:
    """A spec as the daemons read it (and as `spec_hash` hashes it)."""
    dumped: dict[str, Any] = item.spec.model_dump(mode="json", by_alias=True)
    if not dumped.get("kubernetes"):  # Kubernetes workloads are for the kubernetes/ objects:
        dumped.pop("kubernetes", None)  # a spec without them dumps (and hashes) as before
    if not dumped.get("escalation"):  # a channel's levels are rendered with the routes
        dumped.pop("escalation", None)
    return dumped


def spec_hash(spec: dict[str, Any]) -> str:
    """SHA-256 of a spec's canonical JSON: equal specs, equal hashes, on every machine."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _by_name(items: tuple[Named, ...]) -> list[Named]:
    """By name, not document order: moving a document must not change the bundle."""
    return sorted(items, key=lambda item: item.name)


def render(model: Model) -> dict[str, str]:
    """`reconciler/pools.json`, `healing.json` and `channels.json` (with the Project's
    `notifications`: `eventChannels`, `fallbackChannel`, when set)."""
    pools = [{"name": p.name, "specHash": spec_hash(spec_json(p)), "spec": spec_json(p),
              "source": p.origin.document.path} for p in _by_name(model.pools)]
    healing = [{"name": h.name, "spec": spec_json(h), "source": h.origin.document.path}
               for h in _by_name(model.healing)]
    channels = []
    for channel in _by_name(model.channels):
        entry: dict[str, Any] = {"name": channel.name, "type": channel.spec.type,
                                 "spec": spec_json(channel), "source": channel.origin.document.path,
                                 "deliveredBy": "alertmanager"}
        if channel.spec.type in NOTIFIER_TYPES:
            entry["deliveredBy"] = "notifier"
            entry["path"] = alertmanager.NOTIFIER_PATH + channel.name
        channels.append(entry)
    document: dict[str, Any] = {"schemaVersion": SCHEMA, "channels": channels}
    if model.project.event_channels:  # only when set: older notifiers read the same file
        document["eventChannels"] = list(model.project.event_channels)
    if model.project.fallback_channel is not None:
        document["fallbackChannel"] = model.project.fallback_channel
    if model.project.events_to_alertmanager:
        document["eventsToAlertmanager"] = True
    escalations = {route.escalation_id: [
        {"after": parse_duration(level.after), "channels": list(level.channels),
         "repeat": parse_duration(level.repeat) if level.repeat else None}
        for level in route.escalation]
        for route in (alertmanager.escalating(model.routing.route) if model.routing else [])}
    if escalations:
        document["escalations"] = escalations
    return {
        "reconciler/pools.json": _dump({"schemaVersion": SCHEMA, "pools": pools}),
        "reconciler/healing.json": _dump({"schemaVersion": SCHEMA, "policies": healing}),
        "reconciler/channels.json": _dump(document),
    }
