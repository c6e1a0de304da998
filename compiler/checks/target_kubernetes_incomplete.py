"""A Kubernetes target that renders less than it seems to.

The Kubernetes targets embed what the file targets render, so they depend on them, and
what a sidecar does next to a file target does not happen in a cluster:

* `prometheusOperator` without the `prometheus` target renders no PrometheusRule (they hold
  the `prometheus` target's rule files, for the Prometheus version it names);
  `victoriaMetricsOperator` without `vmalert` renders no VMRule;
* `prometheusOperator` with `alertmanager: secret` (or `alertmanagerConfig`) without the
  `alertmanager` target renders no Alertmanager object;
* the Alertmanager Secret holds the channels' secrets as placeholders
  (`https://converge-secret.invalid/…`): no sidecar resolves them in a cluster, so they
  must be filled in by your own secret tooling (an overlay, SOPS, External Secrets).

Fix: enable the file target, or fill the Secret's placeholders where you apply it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model
from converge.specs.channel import NOTIFIER_TYPES
from converge.specs.common import EnvRef, FileRef

CODE = "target/kubernetes-incomplete"
SEVERITY = Severity.WARNING
SUMMARY = "a Kubernetes target renders less than it seems to"

_NEEDS = {"prometheusOperator": ("prometheus", "PrometheusRule"),
          "victoriaMetricsOperator": ("vmalert", "VMRule")}


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    project = model.project
    if project.origin is None or not project.kubernetes:
        return
    at = project.origin.child("targets")
    for name, (needed, kind) in _NEEDS.items():
        if name in project.kubernetes and not project.targets[needed].enabled:
            yield ctx.diag(at.child(name), CODE,
                           f"no {kind} is rendered: they hold the {needed} target's rule "
                           f"files, and targets.{needed} is disabled", key=True,
                           severity=SEVERITY)
    operator = project.kubernetes.get("prometheusOperator")
    if operator is None or operator.alertmanager == "none":
        return
    if not project.targets["alertmanager"].enabled:
        yield ctx.diag(at.child("prometheusOperator"), CODE,
                       "no Alertmanager object is rendered: targets.alertmanager is disabled",
                       key=True, severity=SEVERITY)
    elif operator.alertmanager == "secret":
        holding = sorted(c.name for c in model.channels
                         if c.spec.type not in NOTIFIER_TYPES and _has_secret(c.spec))
        if holding:
            yield ctx.diag(at.child("prometheusOperator"), CODE,
                           f"the Alertmanager Secret holds the secrets of {len(holding)} "
                           f"channel(s) ({', '.join(holding)}) as placeholders that nothing "
                           "resolves in a cluster: fill them in where you apply it",
                           key=True, severity=SEVERITY)


def _has_secret(value: Any) -> bool:
    if isinstance(value, EnvRef | FileRef):
        return True
    if isinstance(value, BaseModel):
        return any(_has_secret(getattr(value, field)) for field in type(value).model_fields)
    if isinstance(value, list | tuple):
        return any(_has_secret(item) for item in value)
    if isinstance(value, dict):
        return any(_has_secret(item) for item in value.values())
    return False
