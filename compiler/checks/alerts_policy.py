"""Alerts carry the labels and annotations the Project requires.

Routing and on-call rely on conventions: every alert has a `severity` among a known set,
a `runbook_url`, a `summary`. The Project's `lint.requiredLabels` (a label and its
allowed values; an empty list allows any value) and `lint.requiredAnnotations` make
them checked: an alert missing one, or with a value outside the allowed ones, is
reported at the rule. The Project's `defaults` and a tier's own labels count (a tiered
alert's `severity` is its tier's name).

Fix: add the label or annotation to the rule (or to the Project's `defaults`), or
correct its value.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "alerts/policy"
SEVERITY = Severity.ERROR
SUMMARY = "an alert lacks a label or annotation the Project requires, or has a disallowed value"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    project = model.project
    if not project.required_labels and not project.required_annotations:
        return
    reported: set[tuple[object, str]] = set()
    for group, rule in model.alerts():
        labels = {**(group.labels or {}), **rule.labels}
        missing = "add it to the rule or to the Project's `defaults`"
        problems: list[tuple[str, str]] = []
        for name, allowed in sorted(project.required_labels.items()):
            value = labels.get(name)
            if value is None:
                problems.append((f"has no {name!r} label", missing))
            elif allowed and value not in allowed:
                problems.append((f"has {name}={value!r}, not one of {', '.join(allowed)}",
                                 f"use one of the allowed values for {name!r}"))
        problems += [(f"has no {name!r} annotation", missing)
                     for name in project.required_annotations if not rule.annotations.get(name)]
        for problem, hint in problems:
            if (rule.origin, problem) in reported:
                continue
            reported.add((rule.origin, problem))
            tier = f" (tier {rule.tier})" if rule.tier else ""
            yield ctx.diag(rule.origin, CODE, f"alert {rule.name!r}{tier} {problem}, which the "
                           "Project requires (lint)", hint=hint)
