"""A rule field one of its targets does not accept is left out of that target's file.

`keepFiringFor` needs Prometheus ≥ 2.42 and vmalert ≥ 1.92. Rather than dropping the whole
rule (or group) from the older target's output, converge renders what that target can:
the rule without `keepFiringFor`. That target's alert then resolves as soon as its
condition clears, while the other target's keeps firing for the given time; this warning
says so, at the field.

Fix: raise the target's version in `converge.yaml` when the target runs a newer release,
restrict the rule with `targets:` to the targets that accept it, or drop the field.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import targets
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "target/field-dropped"
SEVERITY = Severity.WARNING
SUMMARY = "a rule field is left out of a target's file that does not accept it"
DROPPED = ("rule.keepFiringFor",)
"""Rule features rendered without, rather than refused, on a target that lacks them."""


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.keep_firing_for is None or rule.origin in seen:
                continue
            seen.add(rule.origin)
            for name in rule.targets:
                target = model.project.targets[name]
                if not targets.supports("rule.keepFiringFor", name, target.version):
                    yield ctx.diag(
                        rule.origin.child("keepFiringFor"), CODE,
                        f"keepFiringFor is not accepted by {name} {target.version_text}: "
                        f"{name}'s file has {rule.kind} {rule.name!r} without it, so there it "
                        "resolves as soon as its condition clears",
                        hint=f"raise {name}'s version in converge.yaml "
                             f"({targets.describe('rule.keepFiringFor')}) or restrict the "
                             "rule with `targets:`",
                        severity=SEVERITY, key=True)
