"""JSON for other tools: the same content as the other formats, nothing cut."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from converge.compiler.diff import files
from converge.compiler.diff.changes import FieldChange, FileChange, ItemChange, RuleChange
from converge.compiler.diff.model import BundleDiff
from converge.compiler.diff.report import Context, Failure, Revision
from converge.compiler.formats import json_format

SCHEMA_VERSION = "converge/diff/v1"


def render(diff: BundleDiff, context: Context) -> str:
    """One document: both sides, whether anything changed, and every section."""
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "base": {**_revision(context.base), "bundleHash": diff.base_hash},
        "head": {**_revision(context.head), "bundleHash": diff.head_hash},
        "notes": list(context.notes),
        "changed": diff.changed,
        "targets": {t.target: {_camel(name): dataclasses.asdict(c) for name, c in t.counts}
                    for t in diff.targets},
        "groups": _items(diff.groups),
        "rules": [_rule(c) for c in diff.rules],
        "routing": {
            "alerts": [{"name": a.name, "tier": a.tier, "group": a.group,
                        **({"labels": a.labels} if a.labels else {}),
                        "before": _list(a.before), "after": _list(a.after)}
                       for a in diff.alerts],
            "routes": _items(diff.routes),
            "receivers": _items(diff.receivers),
            "inhibitRules": _items(diff.inhibit_rules),
            "timeIntervals": _items(diff.time_intervals),
        },
        "reconciler": _items(diff.reconciler),
        "files": [_file(f) for f in diff.files],
    }
    if diff.warnings:  # only then, so documents without them keep their shape
        document["newWarnings"] = [
            {"path": d.path, "line": d.span.line if d.span else None, "code": d.code,
             "severity": d.severity.value, "message": d.message} for d in diff.warnings]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def failure(failures: Iterable[Failure], context: Context) -> str:
    """Both sides; each one that does not compile with its diagnostics and summary."""
    document: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION,
                                "base": _revision(context.base),
                                "head": _revision(context.head),
                                "notes": list(context.notes), "changed": None}
    for one in failures:
        document[one.side].update(json.loads(json_format.render(one.report)))
    document["error"] = " and ".join(f"the {one.side} does not compile" for one in failures)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _camel(words: str) -> str:
    """`inhibit rules` → `inhibitRules`, as the manifest names its counts."""
    first, *rest = words.split()
    return first + "".join(word.capitalize() for word in rest)


def _file(change: FileChange) -> dict[str, Any]:
    found = files.unified(change)
    return {"path": change.path, "status": change.status.value, "added": found.added,
            "removed": found.removed, "diff": found.text}


def _revision(revision: Revision) -> dict[str, Any]:
    return {"ref": revision.ref, "commit": revision.commit, "workTree": revision.ref is None}


def _list(receivers: tuple[str, ...] | None) -> list[str] | None:
    return None if receivers is None else list(receivers)


def _fields(fields: Iterable[FieldChange]) -> list[dict[str, Any]]:
    return [{"field": f.field, "before": f.before, "after": f.after,
             **({"note": f.note} if f.note else {})} for f in fields]


def _items(items: Iterable[ItemChange]) -> list[dict[str, Any]]:
    return [{"kind": i.kind, "name": i.name, "status": i.status.value,
             "fields": _fields(i.fields)} for i in items]


def _rule(change: RuleChange) -> dict[str, Any]:
    return {"status": change.status.value, "kind": change.kind, "name": change.name,
            "tier": change.tier, "group": change.group, "fromGroup": change.from_group,
            **({"labels": change.labels} if change.labels else {}),
            "targets": list(change.targets), "fields": _fields(change.fields)}
