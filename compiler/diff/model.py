"""The diff of two compiled sides: every section of the report, as values.

Pure: takes each side's model and rendered files, returns a `BundleDiff` the formatters
print. The sections, most important first: per-target counts, rule groups and rules at
field level, routing impact, Alertmanager structure, reconciler data, rendered files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from converge.compiler import bundle
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.diff import alertmanager, files, reconciler, routing, rules
from converge.compiler.diff.changes import (
    AlertRouting,
    Counts,
    FileChange,
    ItemChange,
    RuleChange,
    Status,
    TargetSummary,
)
from converge.compiler.model import Model

_RULE_TARGETS = ("prometheus", "vmalert")


@dataclasses.dataclass(frozen=True, slots=True)
class Side:
    """One side compiled: its model, its rendered files and their bundle hash."""

    model: Model
    files: Mapping[str, str]
    bundle_hash: str

    @classmethod
    def of(cls, model: Model, rendered: Mapping[str, str]) -> Side:
        built = bundle.build(rendered, model, version="", source=None)
        return cls(model, rendered, built.hash)


@dataclasses.dataclass(frozen=True, slots=True)
class BundleDiff:
    base_hash: str
    head_hash: str
    targets: tuple[TargetSummary, ...]
    groups: tuple[ItemChange, ...]
    rules: tuple[RuleChange, ...]
    alerts: tuple[AlertRouting, ...]
    """Alerts whose receivers differ (new and removed alerts included)."""
    routes: tuple[ItemChange, ...]
    receivers: tuple[ItemChange, ...]
    inhibit_rules: tuple[ItemChange, ...]
    time_intervals: tuple[ItemChange, ...]
    reconciler: tuple[ItemChange, ...]
    files: tuple[FileChange, ...]
    warnings: tuple[Diagnostic, ...] = ()
    """Warnings (and notes) `converge check` reports on the head side and not on the base:
    what the change introduces."""

    @property
    def changed(self) -> bool:
        """Whether any rendered file differs (everything else follows from the files)."""
        return bool(self.files)


def new_warnings(base: Iterable[Diagnostic], head: Iterable[Diagnostic]
                 ) -> tuple[Diagnostic, ...]:
    """The warnings and notes of `head` that `base` does not have (by file, code and
    message: a line moved by the change is the same warning)."""
    before = {(d.path, d.code, d.message) for d in base}
    return tuple(d for d in head if d.severity is not Severity.ERROR
                 and (d.path, d.code, d.message) not in before)


def compute(base: Side, head: Side, *, warnings: tuple[Diagnostic, ...] = ()) -> BundleDiff:
    """Everything that differs from `base` to `head`; `warnings`: see `new_warnings`."""
    changed_files = files.compare(base.files, head.files)
    if not changed_files:
        return BundleDiff(base.bundle_hash, head.bundle_hash, (), (), (), (), (), (), (), (),
                          (), (), warnings)
    pairs = rules.pair(base.model, head.model, same_groups=_alike(base, head))
    structure = alertmanager.compare(base.files, head.files)
    daemons = reconciler.compare(base.files, head.files)
    targets = []
    for target in (*_RULE_TARGETS, "alertmanager", "reconciler", "kubernetes"):
        own: tuple[tuple[str, Counts], ...] = ()
        if target in _RULE_TARGETS:
            own = (("rules", rules.target_counts(pairs, target)),)
        elif target == "alertmanager":
            own = structure.counts()
        elif target == "reconciler":
            own = reconciler.counts(daemons)
        # kubernetes: one object per file, so its file counts are its object counts
        present = any(bundle.target_of(p) == target for p in (*base.files, *head.files))
        if present:
            targets.append(TargetSummary(target, (("files", _file_counts(changed_files,
                                                                         target)), *own)))
    return BundleDiff(
        base_hash=base.bundle_hash,
        head_hash=head.bundle_hash,
        targets=tuple(targets),
        groups=tuple(rules.group_changes(base.model, head.model)),
        rules=tuple(rules.changes(pairs)),
        alerts=tuple(routing.impact(pairs, base.model, head.model)),
        routes=structure.routes,
        receivers=structure.receivers,
        inhibit_rules=structure.inhibit_rules,
        time_intervals=structure.time_intervals,
        reconciler=tuple(daemons),
        files=tuple(changed_files),
        warnings=warnings,
    )


def _alike(base: Side, head: Side) -> set[str]:
    """Groups of the same name whose rule files are the same on both sides (and exist):
    their rules are the same as far as any report goes."""
    alike = set()
    for group in head.model.groups:
        paths = [files.rule_file(t, group.name) for t in files.RULE_TARGETS]
        if (any(p in head.files for p in paths)
                and all(base.files.get(p) == head.files.get(p) for p in paths)):
            alike.add(group.name)
    return alike


def _file_counts(changes: list[FileChange], target: str) -> Counts:
    own = [c for c in changes if bundle.target_of(c.path) == target]
    return Counts(sum(c.status is Status.ADDED for c in own),
                  sum(c.status is Status.REMOVED for c in own),
                  sum(c.status is Status.CHANGED for c in own))
