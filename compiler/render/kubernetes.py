"""Kubernetes objects for the operators that run Prometheus, Alertmanager, vmalert and KEDA.

Everything lands under `kubernetes/` with a `kustomization.yaml` listing every object, so
`kubectl apply -k`, a Flux Kustomization or an Argo CD Application can point at it. Each
kind of object is built by a module of its own (`operator_rules`, `alertmanager_secret`,
`keda`) and written through `objects`; paths are sorted, so the output is byte-stable.
"""

from __future__ import annotations

from converge.compiler.model import Model
from converge.compiler.render import (
    alertmanager_config,
    alertmanager_secret,
    healing,
    keda,
    objects,
    operator_rules,
)

KUSTOMIZATION = f"{objects.ROOT}/kustomization.yaml"


def render(model: Model) -> dict[str, str]:
    """Every Kubernetes file by bundle path, the kustomization included; {} when no
    Kubernetes target is enabled."""
    if not model.project.kubernetes:
        return {}
    files: dict[str, str] = {}
    for name in ("prometheusOperator", "victoriaMetricsOperator"):
        if name in model.project.kubernetes:
            files.update(operator_rules.render(model, name))
    if "prometheusOperator" in model.project.kubernetes:
        files.update(alertmanager_secret.render(model))
        files.update(alertmanager_config.render(model))
    if "keda" in model.project.kubernetes:
        files.update(keda.render(model))
    files.update(healing.render(model))
    if not files:
        return {}
    resources = sorted(path.removeprefix(f"{objects.ROOT}/") for path in files
                       if not path.startswith(f"{healing.PATCHES}/"))  # a Component
    files[KUSTOMIZATION] = objects.document({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }, comments=["Every object converge rendered: kubectl apply -k, Flux or Argo CD."])
    return dict(sorted(files.items()))
