"""Every rule reaches at least one target.

A rule's `targets` are narrowed by its group's `targets` and by the targets the project
enables. When nothing is left, the rule is rendered into no file at all, which is almost
always a mistake (`targets: [vmalert]` on a rule of a Prometheus-only group, or a target
switched off in `converge.yaml`).

Fix: make the rule's `targets` overlap its group's, or enable the target in
`converge.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "target/empty"
SEVERITY = Severity.WARNING
SUMMARY = "a rule is rendered for no target"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    enabled = [name for name in ("prometheus", "vmalert") if model.project.targets[name].enabled]
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.targets or rule.origin in seen:
                continue
            seen.add(rule.origin)
            yield ctx.diag(rule.origin, CODE,
                           f"{rule.kind} {rule.name!r} is rendered for no target (group targets: "
                           f"{', '.join(group.targets) or 'none enabled'}; project enables: "
                           f"{', '.join(enabled) or 'none'})", severity=SEVERITY)
