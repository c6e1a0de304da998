"""A worker pool scaled by KEDA behaves differently from converge's scaler.

With the `keda` target, a WorkerPool that names its Kubernetes workload
(`spec.kubernetes`) is rendered as a KEDA ScaledObject, and the HorizontalPodAutoscaler
KEDA drives does the scaling. Most settings map exactly (see docs/kubernetes.md); these
do not, and each is reported where it is written instead of being dropped silently:

* `scaling.tolerance` other than 0.1 on Kubernetes older than 1.33 (`keda.kubernetesVersion`):
  the HPA uses the cluster's tolerance (kube-controller-manager
  `--horizontal-pod-autoscaler-tolerance`, 0.1 by default); from 1.33 it is rendered per
  ScaledObject (`behavior.*.tolerance`, behind the HPAConfigurableTolerance gate).
* `scaling.fallback` with a `total` metric: KEDA accepts a fallback only when every trigger
  is `AverageValue`, so none is rendered and, while the queries fail, the HPA holds the
  count (converge's scaler would move to `fallback.replicas`).
* a pool with `spec.kubernetes` but no `scaling`: there is nothing for KEDA to do and no
  ScaledObject is rendered; the workload's own `replicas` must be `replicas.min`.
* holding on failure (info): while every query fails converge's scaler holds the count and
  counts the held count in its scale-down window, so an outage never opens the way down;
  the HPA records no recommendation then, and after an outage longer than the window may
  scale down at the first reading. A `fallback` (which KEDA feeds to the HPA) keeps the
  window filled, so this is said of pools without one.
* features the Project's `keda.version` lacks (`compiler/targets.py`): a fallback
  (2.1), a `total` metric's `metricType: Value` (2.7), `useCachedMetrics`, which makes the
  query run every `interval` rather than at every HPA sync (2.9).

Fix: accept the difference, or change the setting (tolerance 0.1, `average` metrics,
`keda.kubernetesVersion` of the real cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "pool/keda-differs"
SEVERITY = Severity.WARNING
SUMMARY = "a worker pool setting that KEDA and the HPA cannot express"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    target = model.project.kubernetes.get("keda")
    if target is None:
        return
    # imported here: the renderers (and Jinja2) cost `converge check` 35 ms to import
    from converge.compiler.render import keda

    for pool in model.pools:
        if pool.spec.kubernetes is None:
            continue
        scaling = pool.spec.scaling
        if scaling is None:
            yield ctx.diag(pool.origin.child("kubernetes"), CODE,
                           f"pool {pool.name!r} has no scaling: no ScaledObject is rendered; "
                           f"keep the {pool.spec.kubernetes.kind}'s replicas at "
                           f"{pool.spec.replicas.min}", severity=SEVERITY, key=True)
            continue
        if keda.tolerance_unexpressed(pool, target):
            yield ctx.diag(pool.origin.child("scaling", "tolerance"), CODE,
                           f"tolerance {scaling.tolerance:g} is not applied by KEDA: the HPA "
                           f"on Kubernetes {target.kubernetes_version} uses the cluster's "
                           f"tolerance (0.1 unless the controller manager says otherwise); "
                           f"a per-HPA tolerance needs Kubernetes 1.33",
                           severity=SEVERITY)
        why = keda.fallback_dropped(pool, target)
        if why is not None:
            yield ctx.diag(pool.origin.child("scaling", "fallback"), CODE,
                           f"{why}: no fallback is rendered, and while the queries fail the "
                           f"HPA holds the count instead of moving to "
                           f"{scaling.fallback.replicas if scaling.fallback else 0} replicas",
                           severity=SEVERITY, key=True)
        if scaling.fallback is None or why is not None:
            yield ctx.diag(pool.origin.child("scaling", "scaleDown"), CODE,
                           "on failure converge's scaler holds the count and counts it in the "
                           "scale-down window; the HPA records nothing while every query "
                           "fails, so after an outage longer than that window "
                           f"({scaling.scale_down.stabilization}) it may scale down at the "
                           "first reading (a fallback keeps the window filled)",
                           severity=Severity.INFO, key=True)
        yield from _older_keda(pool, target, ctx, keda.supports)


def _older_keda(pool: Any, target: Any, ctx: Context,
                supports: Callable[[str, Any], bool]) -> Iterator[Diagnostic]:
    """What a KEDA older than the features the mapping uses changes."""
    scaling = pool.spec.scaling
    if not supports("trigger.useCachedMetrics", target):
        yield ctx.diag(pool.origin.child("scaling", "interval"), CODE,
                       f"KEDA {target.version} queries Prometheus at every HPA sync (15 s by "
                       f"default), not every {scaling.interval}: useCachedMetrics needs KEDA "
                       "2.9", severity=SEVERITY)
    if not supports("trigger.metricType", target):
        for index, metric in enumerate(scaling.metrics):
            if metric.type == "total":
                yield ctx.diag(pool.origin.child("scaling", "metrics", index, "type"), CODE,
                               f"KEDA {target.version} reads every trigger as AverageValue "
                               "(ceil(value / target)): a 'total' metric needs metricType, "
                               "KEDA 2.7", severity=SEVERITY)
