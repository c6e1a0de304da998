"""Evaluate inhibit rules on label sets, as Alertmanager's inhibitor does.

An inhibit rule mutes a target alert while a source alert fires when the target matches
`targetMatchers`, the source matches `sourceMatchers`, and both have equal values for
every `equal` label (a label missing on both counts as equal). When the target also
matches the rule's source side, sources that also match its target side are skipped, so
an alert never mutes its own kind. Used by routing tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from converge.compiler.evaluate.routes import matches
from converge.compiler.model import InhibitRule


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one rule mutes the target while the source fires, and if not, why."""

    rule: InhibitRule
    mutes: bool
    reason: str
    """Why not (empty when it mutes)."""
    targets: bool
    """Whether the rule's target side matches the target alert."""


def verdict(rule: InhibitRule, target: dict[str, str], source: dict[str, str]) -> Verdict:
    """Does `rule` mute `target` while `source` fires?"""
    if not matches(rule.target_matchers, target):
        return Verdict(rule, False, "targetMatchers do not match the muted alert", False)
    if not matches(rule.source_matchers, source):
        return Verdict(rule, False, "sourceMatchers do not match the firing alert", True)
    differ = [name for name in rule.equal if source.get(name, "") != target.get(name, "")]
    if differ:
        shown = ", ".join(f"{name} ({source.get(name, '')!r} vs {target.get(name, '')!r})"
                          for name in differ)
        return Verdict(rule, False, f"'equal' labels differ: {shown}", True)
    if matches(rule.source_matchers, target) and matches(rule.target_matchers, source):
        return Verdict(rule, False, "both alerts match both sides: an alert never mutes its "
                                    "own kind", True)
    return Verdict(rule, True, "", True)


def verdicts(rules: Iterable[InhibitRule], target: dict[str, str],
             source: dict[str, str]) -> list[Verdict]:
    """The verdict of every rule, in order."""
    return [verdict(rule, target, source) for rule in rules]


def inhibited(rules: Iterable[InhibitRule], target: dict[str, str],
              source: dict[str, str]) -> bool:
    """Whether any rule mutes `target` while `source` fires."""
    return any(v.mutes for v in verdicts(rules, target, source))
