"""A healing policy must say which containers it watches.

A `HealingPolicy` whose `selector` names no label, no Compose project or service and no
name pattern (or only `*`) would select every container on the engine: other teams'
services, databases, the converge daemons themselves. The healer would restart them,
and with an `exec` check run the policy's command inside each of them. The healer
refuses such a policy too (it matches nothing), but it is almost certainly a mistake.

A policy that names only Kubernetes workloads (`spec.kubernetes`) needs no selector: the
healer selects nothing with an empty one, and Kubernetes acts on the probes.

Fix: select the containers by a label (`selector.labels`), by their Compose project and
service (`selector.compose`), or by a name pattern that is more than `*`.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "healing/empty-selector"
SEVERITY = Severity.ERROR
SUMMARY = "a healing policy's selector selects every container"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for policy in model.healing:
        if policy.spec.selector.is_empty() and not policy.spec.kubernetes:
            yield ctx.diag(policy.origin.child("selector"), CODE,
                           f"healing policy {policy.name!r} has an empty selector: it would "
                           "select every container on the engine",
                           hint="select by selector.labels, selector.compose or a "
                                "selector.namePattern")
