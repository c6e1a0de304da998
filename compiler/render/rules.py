"""Rule files for Prometheus and vmalert, one per rule group and target.

Target differences live here as data: vmalert-only group and rule options reach only
vmalert files; tiers were already expanded by `converge.compiler.expand`.

The rule entries of a group are rendered once (`rule_list.yaml.j2`) and shared by the
Prometheus and vmalert files whenever both hold the same rules and no vmalert-only rule
field: the file template (`rules.yaml.j2`) adds the group's own fields around them. At
10,000 rules this halves the per-rule template work (render 0.65 s -> 0.3 s).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from converge.compiler import targets
from converge.compiler.model import Model, Rule, RuleGroup
from converge.compiler.render import environment, secrets
from converge.compiler.render.yamlsafe import YamlText, block, quote

TEMPLATE = "rules.yaml.j2"
RULES_TEMPLATE = "rule_list.yaml.j2"
_VMALERT_GROUP_SCALARS = ("type", "concurrency", "eval_offset", "eval_delay",
                          "eval_alignment", "debug")
_VMALERT_RULE_SCALARS = ("debug", "update_entries_limit")


@dataclasses.dataclass(frozen=True, slots=True)
class RuleText:
    """One rule's values as YAML text, quoted once for every target's file.

    Attributes, not dict keys: the template reads them through Jinja's `getattr`, which
    tries an attribute before an item.
    """

    kind: YamlText
    name: YamlText
    expr: YamlText
    for_: YamlText | None
    keep_firing_for: YamlText | None
    labels: list[tuple[YamlText, YamlText]]
    annotations: list[tuple[YamlText, YamlText]]
    extra: list[tuple[str, Any]]
    """vmalert-only rule fields (empty in Prometheus files)."""


@dataclasses.dataclass(slots=True)
class Shared:
    """What the two targets' renders share: quoted rules and rendered rule lists."""

    rules: dict[int, RuleText] = dataclasses.field(default_factory=dict)
    """Each rule's text, by `id` of the model's `Rule`."""
    lists: dict[tuple[Any, ...], YamlText] = dataclasses.field(default_factory=dict)
    """Rendered rule entries, by the rules they hold (and the target, with vmalert fields)."""
    scalars: dict[tuple[str, int], YamlText] = dataclasses.field(default_factory=dict)
    """Quoted label and annotation texts (names, severities, runbook links repeat)."""


def render(model: Model, target: str, *, shared: Shared | None = None) -> dict[str, str]:
    """`<target>/rules/<group>.yaml` → text, for every group that targets `target`.

    `shared` carries the quoted rules and rendered rule entries between the two targets'
    renders (pass the same one to both).
    """
    version = model.project.targets[target].version
    shared = Shared() if shared is None else shared
    files = {}
    for group in model.groups:
        rules = [r for r in group.rules if target in r.targets]
        if target not in group.targets or not rules:
            continue
        source = f"{group.origin.document.path} (RuleGroup {group.name})"
        files[f"{target}/rules/{group.name}.yaml"] = environment.render(
            TEMPLATE, group=_group_view(group, target, version),
            rules=_rule_list(rules, target, shared,
                             keep_firing=targets.supports("rule.keepFiringFor", target,
                                                          version)),
            source=source)
    return files


def _group_view(group: RuleGroup, target: str, version: tuple[int, ...]) -> dict[str, Any]:
    vmalert = group.vmalert if target == "vmalert" else {}
    headers = [(field, [_header(h) for h in vmalert[field]])
               for field in ("headers", "notifier_headers") if vmalert.get(field)]
    labels = group.labels if group.labels and targets.supports(
        "group.labels", target, version) else None
    return {
        "name": group.group_name,
        "interval": group.interval,
        "limit": group.limit,
        "query_offset": group.query_offset,
        "extra": [(k, vmalert[k]) for k in _VMALERT_GROUP_SCALARS if k in vmalert],
        "params": sorted(vmalert.get("params", {}).items()),
        "headers": headers,
        "labels": sorted(labels.items()) if labels else [],
    }


def _rule_list(rules: list[Rule], target: str, shared: Shared, *,
               keep_firing: bool = True) -> YamlText:
    """The group's rule entries, rendered once for every target that shows them alike.

    Without `keep_firing` (a target version that rejects `keep_firing_for`) the rules are
    rendered without it: what the target can evaluate (`target/field-dropped` warns).
    """
    texts = [_rule_text(rule, shared) for rule in rules]
    extras = [_extra(rule, target) for rule in rules]
    if any(extras):
        texts = [dataclasses.replace(text, extra=extra) for text, extra in zip(texts, extras,
                                                                               strict=True)]
    dropped = not keep_firing and any(r.keep_firing_for is not None for r in rules)
    if dropped:
        texts = [dataclasses.replace(text, keep_firing_for=None) for text in texts]
    key = (*map(id, rules), target if any(extras) or dropped else None)
    found = shared.lists.get(key)
    if found is None:
        found = shared.lists[key] = YamlText(environment.render(RULES_TEMPLATE, rules=texts))
    return found


def _header(header: dict[str, Any]) -> str:
    value = header.get("value")
    if value is None:
        value = secrets.placeholder(header["secret"])
    return f"{header['name']}: {value}"


def _rule_text(rule: Rule, shared: Shared) -> RuleText:
    """The rule's values as YAML text, quoted once for both targets."""
    found = shared.rules.get(id(rule))
    if found is None:
        found = shared.rules[id(rule)] = RuleText(
            kind=YamlText(rule.kind),
            name=quote(rule.name),
            expr=block(rule.expr, 10),
            for_=quote(rule.for_) if rule.for_ is not None else None,
            keep_firing_for=(quote(rule.keep_firing_for)
                             if rule.keep_firing_for is not None else None),
            labels=[(_scalar(k, 0, shared), _scalar(v, 12, shared))
                    for k, v in sorted(rule.labels.items())],
            annotations=[(_scalar(k, 0, shared), _scalar(v, 12, shared))
                         for k, v in sorted(rule.annotations.items())],
            extra=[],
        )
    return found


def _scalar(text: str, indent: int, shared: Shared) -> YamlText:
    """`quote(text)` (indent 0) or `block(text, indent)`, each text quoted once."""
    key = (text, indent)
    found = shared.scalars.get(key)
    if found is None:
        found = shared.scalars[key] = quote(text) if indent == 0 else block(text, indent)
    return found


def _extra(rule: Rule, target: str) -> list[tuple[str, Any]]:
    extra = rule.vmalert if target == "vmalert" else {}
    return [(k, extra[k]) for k in _VMALERT_RULE_SCALARS if k in extra]
