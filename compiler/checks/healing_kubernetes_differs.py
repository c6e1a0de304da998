"""A healing policy applied to Kubernetes workloads behaves differently from the healer.

For each workload a HealingPolicy names in `spec.kubernetes`, converge renders a liveness
probe patch, and the kubelet restarts the container when the probe fails; the restart
budget becomes alerts (see docs/kubernetes.md). These settings have no Kubernetes
equivalent, and each is reported where it is written instead of being dropped silently:

* `check.type: docker-health`: no probe runs a Docker HEALTHCHECK; no probe is rendered.
* `restart.auto: false`: the kubelet always restarts a container whose liveness probe
  fails, so a policy that only records and alerts gets no probe (the alerts remain).
* `check.http.bodyMatch`: an `httpGet` probe looks at the status only.
* `check.http.expectStatus` with codes outside 200–399: the probe counts every status
  from 200 to 399 as healthy and every other as a failure.
* `restart.backoff` other than Kubernetes' own (10s doubling to 5m, reset after 10m):
  the kubelet's back-off is fixed.

Fix: accept the difference, or use a check a probe can run (`http`, `tcp`, `exec`).
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model
from converge.specs.common import parse_duration

CODE = "healing/kubernetes-differs"
SEVERITY = Severity.WARNING
SUMMARY = "a healing policy setting a Kubernetes liveness probe cannot express"

_KUBELET_BACKOFF = (10.0, 300.0, 600.0)


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for policy in model.healing:
        spec = policy.spec
        if not spec.kubernetes:
            continue
        at = policy.origin
        if spec.check.type == "docker-health":
            yield ctx.diag(at.child("check", "type"), CODE,
                           "Kubernetes has no probe that runs a Docker HEALTHCHECK: no "
                           "liveness probe is rendered for the workloads", severity=SEVERITY)
        if not spec.restart.auto and spec.check.type in ("http", "tcp", "exec"):
            yield ctx.diag(at.child("restart", "auto"), CODE,
                           "the kubelet restarts every container whose liveness probe "
                           "fails: no probe is rendered, only the alerts", severity=SEVERITY)
        http = spec.check.http
        if http is not None and http.body_match is not None:
            yield ctx.diag(at.child("check", "http", "bodyMatch"), CODE,
                           "an httpGet probe looks at the status only: the body is not "
                           "matched on Kubernetes", severity=SEVERITY)
        outside = sorted(c for c in (http.expect_status if http else ()) if not 200 <= c < 400)
        if outside:
            yield ctx.diag(at.child("check", "http", "expectStatus"), CODE,
                           f"an httpGet probe counts {', '.join(map(str, outside))} as "
                           "failures: only 200-399 are healthy on Kubernetes",
                           severity=SEVERITY, key=True)
        backoff = spec.restart.backoff
        if tuple(map(parse_duration, (backoff.initial, backoff.max,
                                      backoff.reset_after))) != _KUBELET_BACKOFF:
            yield ctx.diag(at.child("restart", "backoff"), CODE,
                           "the kubelet's restart back-off is fixed (10s doubling to 5m, "
                           "reset after 10m): this backoff does not apply on Kubernetes",
                           severity=SEVERITY, key=True)
