"""What each target version accepts: the one table to edit when a new version comes out.

Each feature maps a target to the first version that accepts it (and, for features that
were removed, the first version that no longer does). Sources: the targets' changelogs,
verified against the Debian 12 binaries (Prometheus 2.42, vmalert 1.79.5, Alertmanager
0.25) where `../shared/notes/targets.md` says so.
"""

from __future__ import annotations

import dataclasses
import functools

Version = tuple[int, ...]
NEVER: Version = (999,)


@dataclasses.dataclass(frozen=True, slots=True)
class Support:
    """The range of versions of one target that accept a feature: [since, until)."""

    since: Version
    until: Version = NEVER

    def accepts(self, version: Version) -> bool:
        return self.since <= version < self.until

    def describe(self, target: str) -> str:
        if self.since == NEVER:
            return f"{target} does not support it"
        text = f"{target} ≥ {_text(self.since)}"
        return text if self.until == NEVER else f"{text} and < {_text(self.until)}"


_UNSUPPORTED = Support(NEVER)
_ALWAYS = Support((0,))

RULE_FEATURES: dict[str, dict[str, Support]] = {
    # group fields
    "group.limit": {"prometheus": Support((2, 31)), "vmalert": Support((1, 78))},
    "group.queryOffset": {"prometheus": Support((2, 53)), "vmalert": _UNSUPPORTED},
    "group.labels": {"prometheus": Support((3, 0)), "vmalert": Support((1, 65))},
    "group.vmalert.type": {"vmalert": Support((1, 53))},
    "group.vmalert.concurrency": {"vmalert": _ALWAYS},
    "group.vmalert.params": {"vmalert": Support((1, 70))},
    "group.vmalert.headers": {"vmalert": Support((1, 80))},
    "group.vmalert.notifierHeaders": {"vmalert": Support((1, 91))},
    "group.vmalert.evalOffset": {"vmalert": Support((1, 94))},
    "group.vmalert.evalDelay": {"vmalert": Support((1, 95))},
    "group.vmalert.evalAlignment": {"vmalert": Support((1, 95))},
    "group.vmalert.debug": {"vmalert": Support((1, 117))},
    # rule fields
    "rule.keepFiringFor": {"prometheus": Support((2, 42)), "vmalert": Support((1, 92))},
    "rule.vmalert.debug": {"vmalert": Support((1, 82))},
    "rule.vmalert.updateEntriesLimit": {"vmalert": Support((1, 86))},
}
"""Rule-file features per target. Group/rule `vmalert:` options only ever reach vmalert."""

RECEIVER_SUPPORT: dict[str, Support] = {
    "webhook": _ALWAYS,
    "slack": _ALWAYS,
    "email": _ALWAYS,
    "pagerduty": _ALWAYS,
    "opsgenie": _ALWAYS,
    "telegram": Support((0, 24)),
    "discord": Support((0, 25)),
    "msteams": Support((0, 26)),
}
"""Alertmanager versions with a native receiver for each channel type."""

ALERTMANAGER_FEATURES: dict[str, Support] = {
    "route.matchers": Support((0, 22)),
    "route.muteTimeIntervals": Support((0, 22)),
    "route.activeTimeIntervals": Support((0, 24)),
    "timeIntervals": Support((0, 24)),
    "timeIntervals.location": Support((0, 25)),
    "inhibit.matchers": Support((0, 22)),
}

KUBERNETES_FEATURES: dict[str, dict[str, Support]] = {
    "scaledObject.fallback": {"keda": Support((2, 1))},
    "trigger.metricType": {"keda": Support((2, 7))},
    "trigger.useCachedMetrics": {"keda": Support((2, 9))},
    "behavior.tolerance": {"kubernetes": Support((1, 33))},
}
"""What the `keda` target's ScaledObjects may use, by KEDA version (from KEDA's changelog)
and, for the HorizontalPodAutoscaler KEDA creates, by the cluster's Kubernetes version
(`keda.kubernetesVersion`; the per-HPA tolerance is alpha, HPAConfigurableTolerance)."""


def kubernetes_supports(feature: str, target: str, version: Version) -> bool:
    """Whether `target` (`keda`, `kubernetes`) at `version` accepts a Kubernetes feature."""
    return KUBERNETES_FEATURES[feature][target].accepts(version)


_AFTER_1_79 = Support((1, 80))
"""vmalert 1.79 rejects it (verified); the exact first version accepting it is not verified."""

TEMPLATE_NAMES: dict[str, dict[str, Support]] = {
    "prometheus": {"now": Support((3, 0)), "toDuration": Support((3, 0))},
    "vmalert": {name: _AFTER_1_79 for name in (
        "toTime", "parseDurationTime", "$for", "$activeAt", "$alertID", "$groupID")},
}
"""Template functions and variables that only newer versions know (2.42 and 1.79 verified)."""


@functools.cache
def unavailable_template_names(target: str, version: Version) -> frozenset[str]:
    """Template functions and variables `target` at `version` does not know."""
    return frozenset(name for name, support in TEMPLATE_NAMES.get(target, {}).items()
                     if not support.accepts(version))



def supports(feature: str, target: str, version: Version) -> bool:
    """Whether `target` at `version` accepts a rule-file feature."""
    support = RULE_FEATURES.get(feature, {}).get(target)
    return support is not None and support.accepts(version)


def describe(feature: str) -> str:
    """Which versions accept a rule-file feature, for messages."""
    return ", ".join(s.describe(t) for t, s in RULE_FEATURES[feature].items())


def _text(version: Version) -> str:
    return ".".join(map(str, version))
