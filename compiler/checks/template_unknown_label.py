"""Annotation templates only use labels the alert's expression keeps.

Prometheus expands annotations with the labels of the series the expression returns;
an aggregation keeps only its `by (…)` labels, so `{{ $labels.instance }}` after
`sum by (job) (…)` renders as an empty string in every notification. The rule's own
`labels:` (such as `severity`) are not visible to Prometheus templates either (vmalert
adds them).

Fix: keep the label in the aggregation (`by (job, instance)`), or stop using it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from converge.compiler import exprs, templatecheck
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "template/unknown-label"
SEVERITY = Severity.WARNING
SUMMARY = "a template uses a label the expression does not keep"
_BY = re.compile(r"\bby\s*\(")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for _, rule in model.alerts():
        if rule.origin in seen:
            continue
        seen.add(rule.origin)
        kept = exprs.labels(rule.raw_expr)
        if kept is None or kept.any and not kept.names:
            continue
        visible = set() if "prometheus" in rule.targets else set(rule.labels)
        for name, text in rule.annotations.items():
            if "{{" not in text:
                continue
            for reference in templatecheck.label_references(text):
                label = reference.name
                if label in visible or kept.may_have(label):
                    continue
                yield ctx.diag_in_value(
                    rule.origin.child("annotations", name), reference.offset, CODE,
                    f"{rule.name!r} uses label {label!r}, which its expression does not keep",
                    value=text, severity=SEVERITY,
                    hint=_hint(label, rule.labels, kept.any, rule.raw_expr))


def _hint(label: str, rule_labels: dict[str, str], any_label: bool, expr: str) -> str:
    if label in rule_labels:
        return (f"{label!r} is a rule label: Prometheus templates see only the series' "
                "labels; write its value directly")
    if any_label:
        return f"the expression drops {label!r} with `without (…)`"
    if _BY.search(expr):
        return f"add {label!r} to the aggregation's `by (…)` clause"
    return (f"no series of this expression carries {label!r} (absent() keeps only its "
            "equality matchers, vector() and scalars none, on (…) only the labels named): "
            f"set {label!r} in the rule's labels, or stop using it")
