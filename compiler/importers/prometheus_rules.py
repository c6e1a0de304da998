"""Import Prometheus rule files and Prometheus Operator `PrometheusRule` objects.

Each rule group becomes one `RuleGroup` document. Its `metadata.name` is made a valid,
unique converge name (for file names); the group's own name stays its name in every
rendered file (`spec.name` when the two differ), so alerts keep their identity. The
original file and object are kept in annotations, and
fields converge has no place for are kept there too (as JSON), so nothing is lost.
Group fields only vmalert knows go under `spec.vmalert`. One output file per source file,
the source's comments kept above the group or rule they precede (`comments`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from converge.compiler.importers import comments, names, target_plan, vmalert_options
from converge.compiler.importers import documents as docs
from converge.compiler.importers.result import Comments, Document, Imported, OutputFile
from converge.compiler.importers.secrets import Secrets

_GROUP_FIELDS = {"name", "interval", "limit", "query_offset", "labels", "rules",
                 *vmalert_options.GROUP_FIELDS}
_RULE_FIELDS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations",
                "debug", "update_entries_limit"}
_SPEC_ORDER = ("name", "interval", "limit", "queryOffset", "labels", "targets", "vmalert", "rules")
OPERATOR_API = "monitoring.coreos.com/"
ANNOTATION = "converge.io/"


def import_rule_files(sources: Sequence[tuple[str, str]], *, taken: set[str],
                      versions: dict[str, tuple[int, ...]] | None = None) -> Imported:
    """Convert rule files, given as (path, text), into RuleGroup spec files.

    Args:
        sources: each source file's path as the user named it, and its text.
        taken: RuleGroup names already used in the output repository.
        versions: the project's target versions, or None when the import writes a new
            `converge.yaml` (then the lowest versions that accept the groups are chosen).

    Raises:
        SourceFormatError: a file is not YAML, not a rule file, or has a malformed group.
    """
    group_names, stems = names.Names(taken), names.Names()
    secrets, notes = Secrets(), list[str]()
    converted: list[tuple[str, str, list[Document], list[Comments]]] = []
    for path, text in sources:
        groups, kept = [], []
        found = comments.rule_file(text)
        for ordinal, (raw, origin, where, meta) in enumerate(_raw_groups(path, text, notes)):
            document = _group(raw, path=path, origin=origin, where=where, meta=meta,
                              names=group_names, secrets=secrets, notes=notes)
            notes_here = _comments_of(found, ordinal)
            if document is not None:
                groups.append(document)
                kept.append(notes_here)
            elif notes_here:
                notes.append(f"{where}: {sum(map(len, notes_here.values()))} comment line(s) "
                             "of a skipped group not kept")
        if kept and found.trailing:
            kept[0] = {**kept[0], None: (*kept[0].get(None, ()), *found.trailing)}
        stem = stems.allocate(path.rsplit("/", 1)[-1].rsplit(".", 1)[0], fallback="rules")
        converted.append((path, stem, groups, kept))
    used = [target_plan.features(g["spec"]) for _, _, groups, _ in converted for g in groups]
    chosen = versions or target_plan.lowest_versions(used)
    files = []
    degraded: dict[tuple[str, str], list[str]] = {}
    for path, stem, groups, kept in converted:
        if not groups:
            notes.append(f"{path}: no rule groups, nothing written")
            continue
        for group in groups:
            _set_targets(group, chosen, notes, degraded)
        rules = sum(len(g["spec"]["rules"]) for g in groups)
        files.append(OutputFile(
            f"rules/{stem}.yaml", tuple(groups),
            header=f"Imported from {path} by `converge import prometheus-rules`.",
            summary=f"{len(groups)} group(s), {rules} rule(s)", comments=tuple(kept)))
    for (target, features), names_ in degraded.items():
        shown = ", ".join(repr(n) for n in names_[:5]) + (
            f" and {len(names_) - 5} more" if len(names_) > 5 else "")
        notes.append(
            f"{len(names_)} RuleGroup(s) ({shown}) use {features}, which {target} "
            f"{target_plan.version_text(chosen[target])} does not accept: {target}'s files "
            "render those rules without it (converge check warns at each: "
            "target/field-dropped); raise its version in converge.yaml if it runs a newer one")
    return Imported(tuple(files), secrets.env, tuple(notes), chosen)


def _comments_of(found: comments.FileComments, ordinal: int) -> Comments:
    """The comments above group `ordinal` of a file and above each of its rules."""
    return {rule: lines for (group, rule), lines in found.by_anchor.items() if group == ordinal}


def _raw_groups(path: str, text: str, notes: list[str]
                ) -> Iterator[tuple[dict[str, Any], str, str, dict[str, Any]]]:
    """Each group mapping with the object it came from, where it is (for messages) and
    the object's metadata (a PrometheusRule's; {} for a rule file)."""
    found = False
    for index, document in enumerate(docs.load_all(text, source=path), start=1):
        for body, origin, meta in _rule_bodies(document, f"{path}: document {index}", notes):
            found = True
            for number, group in enumerate(docs.sequence(body, where=f"{path}: groups")):
                where = f"{path}: {origin + ' ' if origin else ''}group {number + 1}"
                yield docs.mapping(group, where=where), origin, where, meta
    if not found:
        raise docs.SourceFormatError(
            f"{path}: not a Prometheus rule file (no top-level 'groups') "
            "nor a PrometheusRule object")


def _rule_bodies(document: Any, where: str,
                 notes: list[str]) -> Iterator[tuple[Any, str, dict[str, Any]]]:
    if not isinstance(document, dict):
        raise docs.SourceFormatError(f"{where}: expected a mapping with 'groups'")
    kind = document.get("kind")
    if kind is None and "groups" in document:
        extra = sorted(str(key) for key in document if key != "groups")
        if extra:
            notes.append(f"{where}: ignored top-level field(s) {', '.join(extra)}")
        yield document["groups"], "", {}
    elif kind == "PrometheusRule" and str(document.get("apiVersion", "")).startswith(
            OPERATOR_API):
        meta = docs.mapping(document.get("metadata"), where=f"{where}: metadata")
        namespace = meta.get("namespace")
        name = f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))
        spec = docs.mapping(document.get("spec"), where=f"{where}: spec")
        yield spec.get("groups"), f"PrometheusRule {name}", meta
    elif kind == "List" and isinstance(document.get("items"), list):
        for item in document["items"]:
            yield from _rule_bodies(item, where, notes)
    elif kind is not None:
        notes.append(f"{where}: skipped a {kind}, not a PrometheusRule")
    else:
        raise docs.SourceFormatError(
            f"{where}: not a Prometheus rule file (no top-level 'groups') "
            "nor a PrometheusRule object")


def _group(raw: dict[str, Any], *, path: str, origin: str, where: str, meta: dict[str, Any],
           names: names.Names, secrets: Secrets, notes: list[str]) -> Document | None:
    source_name = docs.to_text(raw.get("name"), where=f"{where}: name")
    if not source_name:
        raise docs.SourceFormatError(f"{where}: a group needs a name")
    where = f"{path}: group {source_name!r}"
    raw_rules = docs.sequence(raw.get("rules"), where=f"{where}: rules")
    if not raw_rules:
        notes.append(f"{where}: has no rules, skipped (converge needs at least one)")
        return None
    extra = {key: value for key, value in raw.items() if key not in _GROUP_FIELDS}
    spec: dict[str, Any] = {}
    if raw.get("interval") is not None:
        spec["interval"] = docs.to_duration(raw["interval"], where=f"{where}: interval")
    if raw.get("limit") is not None:
        spec["limit"] = docs.to_int(raw["limit"], where=f"{where}: limit")
    if raw.get("query_offset") is not None:
        spec["queryOffset"] = docs.to_duration(raw["query_offset"], where=f"{where}: query_offset")
    if raw.get("labels") is not None:
        spec["labels"] = docs.string_map(raw["labels"], where=f"{where}: labels")
    vmalert = vmalert_options.group(raw, where=where, group=source_name, secrets=secrets)
    if vmalert:
        spec["vmalert"] = vmalert
    rules = []
    for index, rule in enumerate(raw_rules):
        rule_where = f"{where}: rule {index + 1}"
        rules.append(_rule(docs.mapping(rule, where=rule_where), where=rule_where,
                           extra=extra, index=index))
    spec["rules"] = rules
    name = names.allocate(source_name, fallback="group")
    if name != source_name:
        spec = {"name": source_name, **spec}
    annotations = {f"{ANNOTATION}source-file": path, f"{ANNOTATION}source-group": source_name}
    if origin:
        annotations[f"{ANNOTATION}source-object"] = origin
    if extra:
        annotations[f"{ANNOTATION}source-extra"] = json.dumps(extra, ensure_ascii=False,
                                                              sort_keys=True)
        notes.append(f"{where}: kept unsupported field(s) {', '.join(sorted(extra))} in "
                     f"annotation {ANNOTATION}source-extra of RuleGroup {name!r}")
    return {"apiVersion": "converge/v1", "kind": "RuleGroup",
            "metadata": _metadata(name, annotations, meta, where=where), "spec": spec}


def _metadata(name: str, annotations: dict[str, str], meta: dict[str, Any], *,
              where: str) -> dict[str, Any]:
    """A RuleGroup's metadata; from a PrometheusRule, its labels (what its Prometheus's
    ruleSelector matched) as they were, and its namespace as an annotation."""
    if meta.get("namespace"):
        annotations = {**annotations, f"{ANNOTATION}source-namespace": str(meta["namespace"])}
    if not meta.get("labels"):
        return {"name": name, "annotations": annotations}
    labels = docs.string_map(meta["labels"], where=f"{where}: metadata.labels")
    return {"name": name, "labels": labels, "annotations": annotations}


def _rule(raw: dict[str, Any], *, where: str, extra: dict[str, Any],
          index: int) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    for key in ("alert", "record", "expr"):
        if raw.get(key) is not None:
            rule[key] = docs.to_text(raw[key], where=f"{where}: {key}")
    if ("alert" in rule) == ("record" in rule) or not rule.get("expr"):
        raise docs.SourceFormatError(
            f"{where}: a rule needs an 'expr' and exactly one of 'alert' or 'record'")
    for key, alias in (("for", "for"), ("keep_firing_for", "keepFiringFor")):
        if raw.get(key) is not None:
            rule[alias] = docs.to_duration(raw[key], where=f"{where}: {key}")
    for key in ("labels", "annotations"):
        if raw.get(key):
            rule[key] = docs.string_map(raw[key], where=f"{where}: {key}")
    vmalert = vmalert_options.rule(raw, where=where)
    if vmalert:
        rule["vmalert"] = vmalert
    for key, value in raw.items():
        if key not in _RULE_FIELDS:
            extra[f"rules[{index}].{key}"] = value
    return rule


def _set_targets(group: Document, versions: dict[str, tuple[int, ...]], notes: list[str],
                 degraded: dict[tuple[str, str], list[str]]) -> None:
    """Restrict the group to the targets that accept it; what a target renders without
    (`degraded`) is reported once for all groups, by target and features."""
    spec = group["spec"]
    used = target_plan.features(spec)
    chosen = target_plan.choose(used, versions)
    if chosen is not None:
        spec["targets"] = chosen
        group["spec"] = {key: spec[key] for key in _SPEC_ORDER if key in spec}
    for target in chosen or target_plan.RULE_TARGETS:
        refused = target_plan.rejected(used, target, versions[target])
        version = target_plan.version_text(versions[target])
        if refused and set(refused) <= target_plan.DEGRADED:
            degraded.setdefault((target, ", ".join(refused)), []).append(
                group["metadata"]["name"])
        elif refused:
            notes.append(
                f"RuleGroup {group['metadata']['name']!r} uses {', '.join(refused)}, which "
                f"{target} {version} does not accept: raise its version in converge.yaml")
