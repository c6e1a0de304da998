"""HealingPolicies on Kubernetes: liveness-probe patches and the restart budget as alerts.

On Kubernetes the kubelet restarts containers; what a policy adds there is

* a strategic-merge patch per workload it names (`spec.kubernetes`) giving the container
  the liveness probe its check describes (http, tcp or exec; `periodSeconds` = interval,
  `timeoutSeconds`, `failureThreshold`, `initialDelaySeconds` = startPeriod), listed by
  `kubernetes/patches/kustomization.yaml`, a kustomize Component the application's own
  kustomization includes (the workloads are not converge's, so the patches cannot be in
  the main kustomization);
* with the `prometheusOperator` target, a PrometheusRule whose alerts fire when a
  container restarts more than `restart.maxRestarts` times per `restart.window`
  (kube-state-metrics' `kube_pod_container_status_restarts_total`) or stays in
  CrashLoopBackOff longer than `restart.backoff.max`; they carry the label
  `healing_policy`, which the Alertmanager Secret routes to the policy's channels.

What a probe cannot do is reported by the check `healing/kubernetes-differs`;
`probe(spec)` returns None where no probe is rendered.
"""

from __future__ import annotations

import math
from typing import Any

from converge.compiler.matchers import Matcher
from converge.compiler.model import Model, Named, Route
from converge.compiler.render import objects
from converge.specs.common import parse_duration

PATCHES = f"{objects.ROOT}/patches"
COMPONENT = f"{PATCHES}/kustomization.yaml"
POLICY_LABEL = "healing_policy"
"""The label of the budget alerts that routes them to their policy's channels."""
_POD_NAMES = {"Deployment": "-[a-z0-9]+-[a-z0-9]+", "StatefulSet": "-[0-9]+"}
"""What the controller appends to the workload's name to name its pods."""


def render(model: Model) -> dict[str, str]:
    """Probe patches and their Component; the budget alerts with prometheusOperator."""
    files: dict[str, str] = {}
    for policy in sorted(model.healing, key=lambda p: p.name):
        found = probe(policy.spec)
        for workload in policy.spec.kubernetes if found is not None else ():
            name = f"{policy.name}-{workload.kind.lower()}-{workload.name}.yaml"
            files[f"{PATCHES}/{name}"] = objects.document({
                "apiVersion": "apps/v1",
                "kind": workload.kind,
                "metadata": {"name": workload.name, "namespace": workload.namespace},
                "spec": {"template": {"spec": {"containers": [
                    {"name": workload.container, "livenessProbe": found}]}}},
            }, comments=[f"Source: {policy.origin.document.path} (HealingPolicy "
                         f"{policy.name})", "A strategic-merge patch: include "
                         "kubernetes/patches as a kustomize component."])
    if files:
        files[COMPONENT] = objects.document({
            "apiVersion": "kustomize.config.k8s.io/v1alpha1",
            "kind": "Component",
            "patches": [{"path": path.rsplit("/", 1)[1]} for path in sorted(files)],
        }, comments=["Liveness probes of the HealingPolicies: components: [<this directory>]"])
    operator = model.project.kubernetes.get("prometheusOperator")
    if operator is not None:
        for policy in sorted(model.healing, key=lambda p: p.name):
            if policy.spec.kubernetes and policy.spec.alert.enabled:
                files[f"{objects.ROOT}/prometheus-operator/healing/{policy.name}.yaml"] = (
                    _budget_rule(policy, operator))
    return files


def probe(spec: Any) -> dict[str, Any] | None:
    """The liveness probe a policy's check describes; None for checks no probe runs
    (`state`: the kubelet restarts exited containers itself; `docker-health`) and for
    policies that must not restart (`restart.auto: false`)."""
    check = spec.check
    if check.type not in ("http", "tcp", "exec") or not spec.restart.auto:
        return None
    action: dict[str, Any]
    if check.type == "http":
        action = {"httpGet": {"path": check.http.path, "port": check.http.port,
                              "scheme": check.http.scheme.upper()}}
    elif check.type == "tcp":
        action = {"tcpSocket": {"port": check.tcp.port}}
    else:
        action = {"exec": {"command": list(check.exec.command)}}
    timing = {"periodSeconds": _seconds(check.interval),
              "timeoutSeconds": _seconds(check.timeout),
              "failureThreshold": spec.failure_threshold}
    start = _seconds(check.start_period)
    if start:
        timing = {"initialDelaySeconds": start, **timing}
    return {**action, **timing}


def budget_routes(model: Model) -> tuple[Route, ...]:
    """Routes sending each policy's budget alerts to its channels (and nowhere else), to
    put first in the Alertmanager Secret's route tree."""
    routes = []
    for policy in sorted(model.healing, key=lambda p: p.name):
        channels = policy.spec.alert.channels
        if not (policy.spec.kubernetes and policy.spec.alert.enabled and channels):
            continue
        for index, channel in enumerate(channels):
            routes.append(Route(
                receiver=channel, matchers=(Matcher(POLICY_LABEL, "=", policy.name),),
                group_by=None, group_wait=None, group_interval=None, repeat_interval=None,
                continue_=index < len(channels) - 1, mute_time_intervals=(),
                active_time_intervals=(), routes=(), origin=policy.origin))
    return tuple(routes)


def _budget_rule(policy: Named, operator: Any) -> str:
    spec = policy.spec
    rules = []
    for workload in spec.kubernetes:
        selector = (f'namespace="{workload.namespace}", '
                    f'pod=~"{workload.name}{_POD_NAMES[workload.kind]}", '
                    f'container="{workload.container}"')
        labels = {POLICY_LABEL: policy.name, "severity": spec.alert.level}
        where = f"{workload.kind} {workload.namespace}/{workload.name}"
        rules.append({
            "alert": "HealingRestartBudgetSpent",
            "expr": (f"sum by (namespace, pod, container) (increase("
                     f"kube_pod_container_status_restarts_total{{{selector}}}"
                     f"[{spec.restart.window}])) > {spec.restart.max_restarts}"),
            "labels": labels,
            "annotations": {
                "summary": "{{ $labels.pod }} restarted more than "
                           f"{spec.restart.max_restarts} times in {spec.restart.window}",
                "description": f"Container {workload.container} of {where} spent the "
                               f"restart budget of HealingPolicy {policy.name}."},
        })
        rules.append({
            "alert": "HealingCrashLoopBackOff",
            "expr": (f"max by (namespace, pod, container) ("
                     f"kube_pod_container_status_waiting_reason{{{selector}, "
                     f'reason="CrashLoopBackOff"}}) > 0'),
            "for": spec.restart.backoff.max,
            "labels": labels,
            "annotations": {
                "summary": "{{ $labels.pod }} is in CrashLoopBackOff",
                "description": f"Container {workload.container} of {where} keeps "
                               f"crashing (HealingPolicy {policy.name})."},
        })
    source = f"{policy.origin.document.path} (HealingPolicy {policy.name})"
    return objects.document({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": objects.metadata(
            name=f"healing.{policy.name}", namespace=operator.namespace,
            labels=operator.labels, annotations={objects.SOURCE: policy.origin.document.path}),
        "spec": {"groups": [{"name": f"healing.{policy.name}", "rules": rules}]},
    }, comments=[f"Source: {source}"])


def _seconds(duration: str) -> int:
    return max(1, math.ceil(parse_duration(duration))) if parse_duration(duration) else 0
