"""Rule changes at field level: which rules were added, removed, changed or moved.

Rules are paired in passes, so the common case (nearly every rule unchanged) costs one
dictionary lookup per rule: identical rules first, then the same kind, name and tier in
the same group (changed), then in another group (moved); what is left was added or
removed. Rules sharing a name and tier in one group (told apart by labels) pair in order.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any

from converge.compiler.diff.changes import Counts, FieldChange, ItemChange, RuleChange, Status
from converge.compiler.diff.fields import mapping_changes, text
from converge.compiler.expand import THRESHOLD
from converge.compiler.model import Model, Rule, RuleGroup
from converge.specs.common import SEVERITY_ORDER

_TIER_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}


@dataclasses.dataclass(frozen=True, slots=True)
class Placed:
    """A rule and the name of the group it is in."""

    group: str
    rule: Rule


@dataclasses.dataclass(frozen=True, slots=True)
class Pair:
    """The same rule on both sides (either may be missing); `same`: nothing differs."""

    base: Placed | None
    head: Placed | None
    same: bool = False


def pair(base: Model, head: Model, *, same_groups: Collection[str] = ()) -> list[Pair]:
    """Every rule of either side, paired with its counterpart on the other side.

    The groups in `same_groups` are known to be alike on both sides (their rendered files
    are): their rules pair in order, without comparing them field by field.
    """
    pairs: list[Pair] = []
    before = {g.name: g for g in base.groups}
    after = {g.name: g for g in head.groups}
    alike = set()
    for name in same_groups:
        old, new = before.get(name), after.get(name)
        if old is not None and new is not None and _outline(old) == _outline(new):
            alike.add(name)
            pairs.extend(Pair(Placed(name, b), Placed(name, a), True)
                         for b, a in zip(old.rules, new.rules, strict=True))
    left = _placed(base, alike)
    right = _placed(head, alike)
    passes: tuple[tuple[Callable[[Placed], Hashable], bool], ...] = (
        (_fingerprint, True), (_in_group, False), (_identity, False))
    for key, same in passes:
        left, right, found = _match(left, right, key, same=same)
        pairs.extend(found)
    pairs.extend(Pair(p, None) for p in left)
    pairs.extend(Pair(None, p) for p in right)
    return pairs


def changes(pairs: Iterable[Pair]) -> list[RuleChange]:
    """What differs for every pair that is not the same, sorted by group, name, tier."""
    pairs = list(pairs)
    apart = distinct_labels(pairs)
    found = [dataclasses.replace(c, labels=apart.get(id(_rule_of(p)), ""))
             for p in pairs if not p.same for c in (_change(p),)]
    return sorted(found, key=lambda c: (c.group, c.name, _TIER_RANK.get(c.tier or "", -1),
                                        c.status.value))


def target_counts(pairs: Iterable[Pair], target: str) -> Counts:
    """Rules added, removed and changed as one target (prometheus, vmalert) sees them."""
    added = removed = changed = 0
    for p in pairs:
        if p.same:
            continue
        before = p.base is not None and target in p.base.rule.targets
        after = p.head is not None and target in p.head.rule.targets
        if before and after:
            assert p.base is not None and p.head is not None
            changed += _view(p.base, target) != _view(p.head, target)
        else:
            added += after
            removed += before
    return Counts(added, removed, changed)


def group_changes(base: Model, head: Model) -> list[ItemChange]:
    """Rule groups added, removed, or with other settings (interval, limit, labels…)."""
    before = {g.name: g for g in base.groups}
    after = {g.name: g for g in head.groups}
    found = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            found.append(ItemChange("group", name, Status.REMOVED))
        elif name not in before:
            found.append(ItemChange("group", name, Status.ADDED))
        else:
            fields = _group_fields(before[name], after[name])
            if fields:
                found.append(ItemChange("group", name, Status.CHANGED, tuple(fields)))
    return found


def _outline(group: RuleGroup) -> list[tuple[str, str, str | None]]:
    return [(rule.kind, rule.name, rule.tier) for rule in group.rules]


def _placed(model: Model, skipped: Collection[str]) -> list[Placed]:
    return [Placed(group.name, rule) for group in model.groups if group.name not in skipped
            for rule in group.rules]


def _match(left: list[Placed], right: list[Placed], key: Callable[[Placed], Hashable],
           *, same: bool) -> tuple[list[Placed], list[Placed], list[Pair]]:
    waiting: defaultdict[Hashable, deque[Placed]] = defaultdict(deque)
    for placed in left:
        waiting[key(placed)].append(placed)
    pairs = []
    unmatched = []
    for placed in right:
        candidates = waiting.get(key(placed))
        if candidates:
            pairs.append(Pair(candidates.popleft(), placed, same))
        else:
            unmatched.append(placed)
    rest = [p for queue in waiting.values() for p in queue]
    return rest, unmatched, pairs


def _identity(p: Placed) -> Hashable:
    return (p.rule.kind, p.rule.name, p.rule.tier)


def _in_group(p: Placed) -> Hashable:
    return (p.group, p.rule.kind, p.rule.name, p.rule.tier)


def _fingerprint(p: Placed) -> Hashable:
    rule = p.rule
    return (p.group, rule.kind, rule.name, rule.tier, rule.expr, rule.raw_expr, rule.for_,
            rule.keep_firing_for, tuple(sorted(rule.labels.items())),
            tuple(sorted(rule.annotations.items())), rule.targets, _frozen(rule.vmalert))


def _view(p: Placed, target: str) -> Hashable:
    """What one target's rule file holds of a rule."""
    rule = p.rule
    return (p.group, rule.kind, rule.name, rule.expr, rule.for_, rule.keep_firing_for,
            tuple(sorted(rule.labels.items())), tuple(sorted(rule.annotations.items())),
            _frozen(rule.vmalert) if target == "vmalert" else None)


def _frozen(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str) if value else ""


def distinct_labels(pairs: Iterable[Pair]) -> dict[int, str]:
    """For each rule that shares kind, name and tier with another of its group (on its
    side), the labels that tell them apart (`{severity="critical"}`), by `id` of the rule."""
    pairs = list(pairs)
    found: dict[int, str] = {}
    for side in ([p.base for p in pairs if p.base], [p.head for p in pairs if p.head]):
        alike: dict[tuple[str, str, str, str | None], list[Rule]] = defaultdict(list)
        for placed in side:
            rule = placed.rule
            alike[placed.group, rule.kind, rule.name, rule.tier].append(rule)
        for same in alike.values():
            if len(same) < 2:
                continue
            keys = sorted({k for r in same for k in r.labels
                           if len({other.labels.get(k) for other in same}) > 1})
            for rule in same:
                if keys:
                    found[id(rule)] = "{" + ", ".join(
                        f"{k}={json.dumps(rule.labels.get(k, ''), ensure_ascii=False)}"
                        for k in keys) + "}"
    return found


def _rule_of(p: Pair) -> Rule:
    placed = p.head or p.base
    assert placed is not None
    return placed.rule


def _change(p: Pair) -> RuleChange:
    if p.base is None or p.head is None:
        placed = p.head or p.base
        assert placed is not None
        rule = placed.rule
        status = Status.ADDED if p.base is None else Status.REMOVED
        return RuleChange(status, rule.kind, rule.name, rule.tier, placed.group, None,
                          rule.targets)
    head = p.head.rule
    moved = p.base.group != p.head.group
    return RuleChange(Status.MOVED if moved else Status.CHANGED, head.kind, head.name,
                      head.tier, p.head.group, p.base.group if moved else None, head.targets,
                      tuple(rule_fields(p.base.rule, head)))


def rule_fields(before: Rule, after: Rule) -> list[FieldChange]:
    """The fields of a rule that differ: threshold, expr, for, labels, annotations…"""
    fields: list[FieldChange] = []
    old, new = tier_value(before), tier_value(after)
    explained: list[str] = []
    if old is not None and new is not None:
        if before.raw_expr != after.raw_expr:
            fields.append(FieldChange("expr", before.raw_expr, after.raw_expr))
        if old != new:
            explained = [k for k in sorted(before.annotations.keys() & after.annotations.keys())
                         if before.annotations[k] != after.annotations[k]
                         and before.annotations[k].replace(old, new) == after.annotations[k]]
            note = f"also in annotations {', '.join(explained)}" if explained else ""
            fields.append(FieldChange("threshold", old, new, note))
    elif before.expr != after.expr:
        fields.append(FieldChange("expr", before.expr, after.expr))
    for name, b, a in (("for", before.for_, after.for_),
                       ("keep_firing_for", before.keep_firing_for, after.keep_firing_for)):
        if b != a:
            fields.append(FieldChange(name, b, a))
    fields.extend(mapping_changes("label", before.labels, after.labels))
    fields.extend(f for f in mapping_changes("annotation", before.annotations, after.annotations)
                  if f.field.removeprefix("annotation ") not in explained)
    if before.targets != after.targets:
        fields.append(FieldChange("targets", text(before.targets), text(after.targets)))
    fields.extend(mapping_changes("vmalert", before.vmalert, after.vmalert))
    return fields


def tier_value(rule: Rule) -> str | None:
    """The value a tiered alert's tier put in place of `$threshold`, if it is one."""
    if rule.tier is None:
        return None
    parts = rule.raw_expr.split(THRESHOLD)
    if len(parts) < 2:
        return None
    size, rest = divmod(len(rule.expr) - sum(map(len, parts)), len(parts) - 1)
    if rest or size <= 0:
        return None
    value = rule.expr[len(parts[0]):len(parts[0]) + size]
    return value if value.join(parts) == rule.expr else None


def _group_fields(before: RuleGroup, after: RuleGroup) -> list[FieldChange]:
    fields = [FieldChange(name, text(b), text(a)) for name, b, a in (
        ("name", before.group_name, after.group_name),
        ("interval", before.interval, after.interval),
        ("limit", before.limit, after.limit),
        ("query_offset", before.query_offset, after.query_offset),
        ("targets", before.targets, after.targets),
    ) if b != a]
    fields.extend(mapping_changes("label", before.labels or {}, after.labels or {}))
    fields.extend(mapping_changes("vmalert", before.vmalert, after.vmalert))
    if before.origin.document.path != after.origin.document.path:
        fields.append(FieldChange("source", before.origin.document.path,
                                  after.origin.document.path))
    return fields
