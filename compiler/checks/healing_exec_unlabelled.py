"""An `exec` check runs only in containers selected by an explicit label.

A healing policy with `check.type: exec` makes the healer run the check's command inside
every container the policy selects, as the container's user (often root). A name pattern
alone is not enough to choose where that happens: anyone who can start a container can
give it a matching name. Such a policy must select by a label it sets on purpose — its
own `selector.labels`, or the Compose project or service (`selector.compose`). The healer
refuses such a policy too (it watches nothing).

Fix: add `selector.labels` (or `selector.compose`) naming the containers the command is
meant for, or use an `http`, `tcp` or `docker-health` check instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "healing/exec-unlabelled"
SEVERITY = Severity.ERROR
SUMMARY = "an exec check in containers not selected by a label"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for policy in model.healing:
        spec = policy.spec
        if spec.check.type == "exec" and not spec.selector.by_label() and (
                not spec.selector.is_empty()):  # an empty one has its own diagnostic
            yield ctx.diag(policy.origin.child("check", "type"), CODE,
                           f"healing policy {policy.name!r} runs an exec check but selects "
                           "containers without a label: the command could run in any "
                           "container with a matching name",
                           hint="add selector.labels or selector.compose")
