"""PrometheusRule and VMRule objects: the `prometheus` and `vmalert` targets' rule files,
embedded.

Each object's `spec.groups` holds exactly the group of that target's rule file, rendered
by `converge.compiler.render.rules` and re-indented, so what prometheus-operator hands
Prometheus, or the VictoriaMetrics operator hands vmalert, is what the file targets get:
the same version gates, the same vmalert-only fields (reaching VMRule only). The object's
annotations carry the embedded file's SHA-256.
"""

from __future__ import annotations

from typing import Any

from converge.compiler.model import Model
from converge.compiler.render import objects, rules

OPERATORS: dict[str, tuple[str, str, str, str]] = {
    "prometheusOperator": ("prometheus", "monitoring.coreos.com/v1", "PrometheusRule",
                           "prometheus-operator"),
    "victoriaMetricsOperator": ("vmalert", "operator.victoriametrics.com/v1beta1", "VMRule",
                                "victoria-metrics-operator"),
}
"""Kubernetes target → (rule target embedded, apiVersion, kind, bundle directory)."""

_GROUPS = "\ngroups:\n"


def render(model: Model, name: str) -> dict[str, str]:
    """`kubernetes/<operator>/rules/<group>.yaml` → text, one object per rule file."""
    target, api_version, kind, directory = OPERATORS[name]
    spec = model.project.kubernetes[name]
    files = {}
    for path, text in rules.render(model, target).items():
        group = path.rsplit("/", 1)[1].removesuffix(".yaml")
        files[f"{objects.ROOT}/{directory}/rules/{group}.yaml"] = rule_object(
            text, name=group, api_version=api_version, kind=kind, spec=spec)
    return files


def rule_object(text: str, *, name: str, api_version: str, kind: str, spec: Any) -> str:
    """The object embedding one rendered rule file `text` (header, `groups:` and all)."""
    head, found, groups = text.partition(_GROUPS)
    if not found:
        raise ValueError(f"not a rendered rule file: {text[:80]!r}")
    source = head.splitlines()[-1].removeprefix("# Source: ")
    annotations = {objects.SOURCE: source.split(" (", 1)[0],
                   objects.SHA256: objects.sha256(text)}
    data = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": objects.metadata(name=name, namespace=spec.namespace,
                                        labels=spec.labels, annotations=annotations),
        "spec": {"groups": objects.indented(groups, 2)},
    }
    return objects.document(data, comments=[f"Source: {source}"])
