"""Rule tests run on a group Prometheus evaluates.

`converge test` runs rule tests with `promtool test rules` against the group's rendered
Prometheus rule file. A group that is rendered for vmalert only (its `targets`, or the
Project disabling Prometheus) has no such file, so its tests could never run.

Fix: remove the tests, or let Prometheus evaluate the group (`targets` including
`prometheus`, and the target enabled in `converge.yaml`).
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "tests/needs-prometheus"
SEVERITY = Severity.ERROR
SUMMARY = "a rule group with tests is not rendered for Prometheus"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for group in model.groups:
        if not group.tests or "prometheus" in group.targets:
            continue
        why = ("the Project disables the prometheus target"
               if not model.project.targets["prometheus"].enabled
               else "its targets leave out prometheus")
        yield ctx.diag(group.origin.child("tests"), CODE,
                       f"rule group {group.name!r} has tests, but {why}: promtool tests "
                       "Prometheus rule files only", key=True)
