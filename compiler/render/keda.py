"""KEDA ScaledObjects for the WorkerPools that name a Kubernetes workload.

A pool's scaling maps onto KEDA and the HorizontalPodAutoscaler it drives:

* each metric is a `prometheus` trigger on the Project's `keda.prometheusURL` with the
  pool's query and `threshold` = its target; `average` is KEDA's `AverageValue`
  (ceil(value / target)), `total` is `Value` (ceil(current × value / target));
  `emptyAsZero` is `ignoreNullValues` (false: an empty result is an error, which holds);
  `useCachedMetrics` makes the query run every `interval` (`pollingInterval`), as the
  scaler's does, instead of at each HPA sync;
* `replicas.min`/`max` are `minReplicaCount`/`maxReplicaCount`;
* `scaleUp`/`scaleDown` become `advanced.horizontalPodAutoscalerConfig.behavior`: the
  stabilization window and one `Pods` policy of `maxStep` per `period`;
* `fallback` is KEDA's `fallback` (`failureThreshold` = `afterFailures`).

What KEDA cannot express is reported by the check `pool/keda-differs`, never silently
dropped; `unexpressed(pool, keda)` says what, for the check and this renderer alike.
"""

from __future__ import annotations

import math
from typing import Any

from converge.compiler import targets
from converge.compiler.model import Model, Named
from converge.compiler.render import objects, reconciler_data
from converge.specs.common import parse_duration

HPA_TOLERANCE = 0.1
"""The HorizontalPodAutoscaler's tolerance unless the cluster's controller says otherwise."""


def render(model: Model) -> dict[str, str]:
    """`kubernetes/keda/<pool>.yaml` for each pool with `spec.kubernetes` and `scaling`."""
    keda = model.project.kubernetes["keda"]
    files = {}
    for pool in sorted(model.pools, key=lambda p: p.name):
        workload = pool.spec.kubernetes
        if workload is None or pool.spec.scaling is None:
            continue  # a pool without scaling keeps its count: nothing for KEDA to do
        spec = reconciler_data.spec_json(pool)
        annotations = {objects.SOURCE: pool.origin.document.path,
                       objects.SHA256: reconciler_data.spec_hash(spec)}
        files[f"{objects.ROOT}/keda/{pool.name}.yaml"] = objects.document({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": objects.metadata(name=pool.name, namespace=workload.namespace,
                                         annotations=annotations),
            "spec": scaled_object(pool, keda),
        }, comments=[f"Source: {pool.origin.document.path} (WorkerPool {pool.name})"])
    return files


def scaled_object(pool: Named, keda: Any) -> dict[str, Any]:
    """The ScaledObject's `spec` for a pool."""
    workload = pool.spec.kubernetes
    replicas = pool.spec.replicas
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": workload.kind,
                           "name": workload.name},
        "minReplicaCount": replicas.min,
        "maxReplicaCount": replicas.max,
    }
    scaling = pool.spec.scaling
    spec["pollingInterval"] = _seconds(scaling.interval)
    if replicas.min == 0:
        spec["cooldownPeriod"] = _seconds(scaling.scale_down.stabilization)
    if scaling.fallback is not None and fallback_dropped(pool, keda) is None:
        spec["fallback"] = {"failureThreshold": scaling.fallback.after_failures,
                            "replicas": scaling.fallback.replicas}
    behavior = {"scaleUp": _direction(scaling.scale_up, scaling.tolerance, keda),
                "scaleDown": _direction(scaling.scale_down, scaling.tolerance, keda)}
    spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": behavior}}
    spec["triggers"] = [_trigger(metric, keda) for metric in scaling.metrics]
    return spec


def _trigger(metric: Any, keda: Any) -> dict[str, Any]:
    trigger: dict[str, Any] = {"type": "prometheus"}
    if supports("trigger.metricType", keda):
        trigger["metricType"] = "AverageValue" if metric.type == "average" else "Value"
    if supports("trigger.useCachedMetrics", keda):
        trigger["useCachedMetrics"] = True
    trigger["metadata"] = {"serverAddress": keda.prometheus_url, "query": metric.query,
                           "threshold": _number(metric.target),
                           "ignoreNullValues": "true" if metric.empty_as_zero else "false"}
    return trigger


def supports(feature: str, keda: Any) -> bool:
    """Whether the Project's KEDA (or, for `behavior.*`, its Kubernetes) has a feature."""
    if feature.startswith("behavior."):
        return targets.kubernetes_supports(feature, "kubernetes",
                                           _version(keda.kubernetes_version))
    return targets.kubernetes_supports(feature, "keda", _version(keda.version))


def fallback_dropped(pool: Named, keda: Any) -> str | None:
    """Why the pool's fallback is not rendered, or None when it is (or there is none)."""
    scaling = pool.spec.scaling
    if scaling is None or scaling.fallback is None:
        return None
    if not supports("scaledObject.fallback", keda):
        return f"KEDA {keda.version} has no fallback (KEDA 2.1 added it)"
    if any(m.type == "total" for m in scaling.metrics):
        return "KEDA refuses a fallback when a trigger is a 'total' (Value) metric"
    return None


def tolerance_unexpressed(pool: Named, keda: Any) -> bool:
    """The pool's tolerance is not the HPA's and the cluster cannot set one per HPA."""
    scaling = pool.spec.scaling
    return bool(scaling and scaling.tolerance != HPA_TOLERANCE
                and not supports("behavior.tolerance", keda))


def _direction(direction: Any, tolerance: float, keda: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "stabilizationWindowSeconds": _seconds(direction.stabilization),
        "policies": [{"type": "Pods", "value": direction.max_step,
                      "periodSeconds": _seconds(direction.period)}],
    }
    if tolerance != HPA_TOLERANCE and supports("behavior.tolerance", keda):
        rule["tolerance"] = _number(tolerance)
    return rule


def _seconds(duration: str) -> int:
    return math.ceil(parse_duration(duration))


def _number(value: float) -> str:
    """A quantity as KEDA reads it (a string): `4`, not `4.0`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
