"""The Alertmanager configuration as the Secret prometheus-operator and kube-prometheus read.

The Alertmanager custom resource loads `alertmanager.yaml` from the Secret
`alertmanager-<name>` (or its `configSecret`) and mounts every other key of it beside the
configuration in `/etc/alertmanager/config/`: the channel templates go there, and the
configuration finds them by that absolute path. The configuration is otherwise the
`alertmanager` target's: exact semantics, no namespace matchers added. The one addition:
when HealingPolicies name Kubernetes workloads, routes at the top of the tree send their
budget alerts (label `healing_policy`) to the policy's channels.
"""

from __future__ import annotations

import dataclasses

from converge.compiler.model import Model
from converge.compiler.render import alertmanager, healing, objects
from converge.compiler.render.yamlsafe import block

PATH = f"{objects.ROOT}/prometheus-operator/alertmanager-secret.yaml"
MOUNT = "/etc/alertmanager/config"
"""Where prometheus-operator mounts the Secret's keys in the Alertmanager pod."""
CONFIG_KEY = "alertmanager.yaml"


def render(model: Model) -> dict[str, str]:
    """`kubernetes/prometheus-operator/alertmanager-secret.yaml`, unless the Project asks
    for no Alertmanager object or for AlertmanagerConfig objects instead."""
    spec = model.project.kubernetes["prometheusOperator"]
    if spec.alertmanager != "secret" or not model.project.targets["alertmanager"].enabled:
        return {}
    routing = model.routing
    if routing is not None:
        extra = healing.budget_routes(model)
        if extra:
            route = dataclasses.replace(routing.route, routes=(*extra, *routing.route.routes))
            model = dataclasses.replace(model, routing=dataclasses.replace(routing, route=route))
    rendered = alertmanager.render(model, templates_glob=f"{MOUNT}/*.tmpl")
    config = rendered.pop(alertmanager.PATH)
    data = {CONFIG_KEY: block(config, 4)}
    for path, text in sorted(rendered.items()):
        data[path.rsplit("/", 1)[1]] = block(text, 4)
    source = config.splitlines()[1].removeprefix("# Source: ")
    annotations = {objects.SOURCE: source.split(" (", 1)[0],
                   objects.SHA256: objects.sha256(config)}
    return {PATH: objects.document({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": objects.metadata(name=spec.alertmanager_secret,
                                        namespace=spec.namespace, annotations=annotations),
        "type": "Opaque",
        "stringData": data,
    }, comments=[f"Source: {source}"])}
