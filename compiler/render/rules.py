"""Rule files for Prometheus and vmalert, one per rule group and target.

Target differences live here as data: vmalert-only group and rule options reach only
vmalert files; tiers were already expanded by `compiler.expand`.
"""

from __future__ import annotations

from typing import Any

from compiler import targets
from compiler.model import Model, Rule, RuleGroup
from compiler.render import environment, secrets

TEMPLATE = "rules.yaml.j2"
_VMALERT_GROUP_SCALARS = ("type", "concurrency", "eval_offset", "eval_delay",
                          "eval_alignment", "debug")
_VMALERT_RULE_SCALARS = ("debug", "update_entries_limit")


def render(model: Model, target: str) -> dict[str, str]:
    """`<target>/rules/<group>.yaml` → text, for every group that targets `target`."""
    version = model.project.targets[target].version
    files = {}
    for group in model.groups:
        rules = [r for r in group.rules if target in r.targets]
        if target not in group.targets or not rules:
            continue
        view = _group_view(group, rules, target, version)
        source = f"{group.origin.document.path} (RuleGroup {group.name})"
        files[f"{target}/rules/{group.name}.yaml"] = environment.render(
            TEMPLATE, group=view, source=source)
    return files


def _group_view(group: RuleGroup, rules: list[Rule], target: str,
                version: tuple[int, ...]) -> dict[str, Any]:
    vmalert = group.vmalert if target == "vmalert" else {}
    headers = [(field, [_header(h) for h in vmalert[field]])
               for field in ("headers", "notifier_headers") if vmalert.get(field)]
    labels = group.labels if group.labels and targets.supports(
        "group.labels", target, version) else None
    return {
        "name": group.name,
        "interval": group.interval,
        "limit": group.limit,
        "query_offset": group.query_offset,
        "extra": [(k, vmalert[k]) for k in _VMALERT_GROUP_SCALARS if k in vmalert],
        "params": sorted(vmalert.get("params", {}).items()),
        "headers": headers,
        "labels": sorted(labels.items()) if labels else [],
        "rules": [_rule_view(r, target) for r in rules],
    }


def _header(header: dict[str, Any]) -> str:
    value = header.get("value")
    if value is None:
        value = secrets.placeholder(header["secret"])
    return f"{header['name']}: {value}"


def _rule_view(rule: Rule, target: str) -> dict[str, Any]:
    extra = rule.vmalert if target == "vmalert" else {}
    return {
        "kind": rule.kind,
        "name": rule.name,
        "expr": rule.expr,
        "for_": rule.for_,
        "keep_firing_for": rule.keep_firing_for,
        "extra": [(k, extra[k]) for k in _VMALERT_RULE_SCALARS if k in extra],
        "labels": sorted(rule.labels.items()),
        "annotations": sorted(rule.annotations.items()),
    }
