"""Rule files for Prometheus and vmalert, one per rule group and target.

Target differences live here as data: vmalert-only group and rule options reach only
vmalert files; tiers were already expanded by `compiler.expand`.
"""

from __future__ import annotations

from typing import Any

from compiler import targets
from compiler.model import Model, Rule, RuleGroup
from compiler.render import environment, secrets
from compiler.render.yamlsafe import YamlText, block, quote

TEMPLATE = "rules.yaml.j2"
_VMALERT_GROUP_SCALARS = ("type", "concurrency", "eval_offset", "eval_delay",
                          "eval_alignment", "debug")
_VMALERT_RULE_SCALARS = ("debug", "update_entries_limit")


def render(model: Model, target: str, *, quoted: dict[int, dict[str, Any]] | None = None
           ) -> dict[str, str]:
    """`<target>/rules/<group>.yaml` → text, for every group that targets `target`.

    `quoted` caches each rule's quoted values between the two targets' renders.
    """
    version = model.project.targets[target].version
    quoted = {} if quoted is None else quoted
    files = {}
    for group in model.groups:
        rules = [r for r in group.rules if target in r.targets]
        if target not in group.targets or not rules:
            continue
        view = _group_view(group, rules, target, version, quoted)
        source = f"{group.origin.document.path} (RuleGroup {group.name})"
        files[f"{target}/rules/{group.name}.yaml"] = environment.render(
            TEMPLATE, group=view, source=source)
    return files


def _group_view(group: RuleGroup, rules: list[Rule], target: str,
                version: tuple[int, ...], quoted: dict[int, dict[str, Any]]) -> dict[str, Any]:
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
        "rules": [{**_quoted_rule(r, quoted), "extra": _extra(r, target)} for r in rules],
    }


def _header(header: dict[str, Any]) -> str:
    value = header.get("value")
    if value is None:
        value = secrets.placeholder(header["secret"])
    return f"{header['name']}: {value}"


def _quoted_rule(rule: Rule, cache: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The rule's values as YAML text, quoted once for both targets."""
    found = cache.get(id(rule))
    if found is None:
        found = cache[id(rule)] = {
            "kind": YamlText(rule.kind),
            "name": quote(rule.name),
            "expr": block(rule.expr, 10),
            "for_": quote(rule.for_) if rule.for_ is not None else None,
            "keep_firing_for": (quote(rule.keep_firing_for)
                                if rule.keep_firing_for is not None else None),
            "labels": [(quote(k), block(v, 12)) for k, v in sorted(rule.labels.items())],
            "annotations": [(quote(k), block(v, 12))
                            for k, v in sorted(rule.annotations.items())],
        }
    return found


def _extra(rule: Rule, target: str) -> list[tuple[str, Any]]:
    extra = rule.vmalert if target == "vmalert" else {}
    return [(k, extra[k]) for k in _VMALERT_RULE_SCALARS if k in extra]
