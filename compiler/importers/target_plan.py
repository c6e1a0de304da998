"""Decide which targets each imported rule group renders for, and at which versions.

A converge rule group renders for Prometheus and vmalert unless it says otherwise, but
an imported group may use a field one of them rejects (`query_offset` on any vmalert).
Groups with vmalert-only fields came from a vmalert file and stay vmalert-only; the
others keep both targets when both accept them and are restricted to the one that does
otherwise. A field the compiler leaves out of an older target's file instead
(`keep_firing_for`, see `DEGRADED`) never restricts a group: that is reported instead.
When the import writes a new `converge.yaml`, its versions are raised to the lowest
ones that accept what the source files use (they were accepted by the source's own
Prometheus or vmalert).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from converge.compiler import targets

Version = tuple[int, ...]

DEFAULT_VERSIONS: dict[str, Version] = {
    "prometheus": (2, 42), "vmalert": (1, 79), "alertmanager": (0, 25),
}
"""The versions `converge.yaml` defaults to (Debian 12's)."""

RULE_TARGETS = ("prometheus", "vmalert")
DEGRADED = frozenset({"rule.keepFiringFor"})
"""Features rendered without on a target that lacks them (`target/field-dropped`)."""


def features(spec: dict[str, Any]) -> set[str]:
    """The version-gated features a RuleGroup spec (camelCase dict) uses."""
    found = {f"group.{key}" for key in ("limit", "queryOffset", "labels") if key in spec}
    found |= {f"group.vmalert.{key}" for key in spec.get("vmalert", {})}
    for rule in spec.get("rules", []):
        if "keepFiringFor" in rule:
            found.add("rule.keepFiringFor")
        found |= {f"rule.vmalert.{key}" for key in rule.get("vmalert", {})}
    return found


def preferred(used: Iterable[str]) -> str:
    """The target the source file was written for: vmalert when it uses vmalert fields."""
    return "vmalert" if any(".vmalert." in feature for feature in used) else "prometheus"


def lowest_versions(groups: Iterable[set[str]]) -> dict[str, Version]:
    """Default versions, raised so each group's own target accepts its features."""
    versions = dict(DEFAULT_VERSIONS)
    for used in groups:
        target = preferred(used)
        for feature in used:
            support = targets.RULE_FEATURES.get(feature, {}).get(target)
            if support is not None and support.since != targets.NEVER:
                versions[target] = max(versions[target], support.since)
    return versions


def choose(used: set[str], versions: dict[str, Version]) -> list[str] | None:
    """The group's `targets`, or None when the default (both) accepts everything."""
    if preferred(used) == "vmalert":
        return ["vmalert"]
    accepting = [t for t in RULE_TARGETS if rejected(used - DEGRADED, t, versions[t]) == []]
    if accepting == list(RULE_TARGETS):
        return None
    return accepting or ["prometheus"]


def rejected(used: Iterable[str], target: str, version: Version) -> list[str]:
    """The features `target` at `version` does not accept (vmalert fields reach vmalert only)."""
    return sorted(f for f in used if (".vmalert." not in f or target == "vmalert")
                  and not targets.supports(f, target, version))


def version_text(version: Version) -> str:
    """`(2, 42)` → `"2.42"`."""
    return ".".join(map(str, version))
