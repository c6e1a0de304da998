"""converge's own daemons on Kubernetes: `deploy/kubernetes/` builds and is valid, offline.

No API server runs here (docs/kubernetes.md says so): `kubectl kustomize` builds the base
and the example overlay (which adds a plain Prometheus with the sidecar Component), every
built object is validated against the upstream schemas (`k8sschemas`), and each daemon's
arguments are parsed by the real `converge` command line, so a renamed flag fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import convergecli
import k8sschemas
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"


def _built(directory: Path) -> list[dict[str, Any]]:
    result = k8sschemas.kustomize(directory)
    assert result.returncode == 0, result.stderr
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def _containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"]}


@pytest.mark.realtools
@pytest.mark.parametrize("directory", ["base", "examples/prometheus"])
def test_kubectl_kustomize_builds_valid_objects(directory: str) -> None:
    objects = _built(DEPLOY / directory)
    assert k8sschemas.schema_errors(objects) == {}


@pytest.mark.realtools
def test_the_base_holds_the_server_and_the_notifier_with_its_outbox() -> None:
    objects = _built(DEPLOY / "base")
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    assert kinds == [
        ("Deployment", "converge-notifier"), ("Deployment", "converge-server"),
        ("PersistentVolumeClaim", "converge-notifier-outbox"),
        ("Service", "converge-notifier"), ("Service", "converge-server"),
        ("ServiceMonitor", "converge-notifier"), ("ServiceMonitor", "converge-server")]
    notifier = next(o for o in objects if o["metadata"]["name"] == "converge-notifier"
                    and o["kind"] == "Deployment")
    volumes = {v["name"]: v for v in notifier["spec"]["template"]["spec"]["volumes"]}
    assert volumes["outbox"]["persistentVolumeClaim"] == {
        "claimName": "converge-notifier-outbox"}


@pytest.mark.realtools
def test_the_sidecar_runs_next_to_prometheus_and_shares_the_rules_volume() -> None:
    objects = _built(DEPLOY / "examples" / "prometheus")
    prometheus = next(o for o in objects if o["kind"] == "Deployment"
                      and o["metadata"]["name"] == "prometheus")
    pod = prometheus["spec"]["template"]["spec"]
    names = [c["name"] for c in pod["containers"]]
    assert names == ["prometheus", "converge-sidecar"]
    mounts = {c["name"]: {m["mountPath"] for m in c["volumeMounts"]} for c in pod["containers"]}
    assert "/etc/prometheus/converge" in mounts["prometheus"] & mounts["converge-sidecar"]
    assert all(o["metadata"].get("namespace") == "monitoring" for o in objects)


@pytest.mark.realtools
def test_every_daemon_argument_is_accepted_by_the_real_command_line() -> None:
    containers = _containers(_built(DEPLOY / "examples" / "prometheus"))
    checked = 0
    for name in ("server", "notifier", "converge-sidecar"):
        args = [a.replace("$(CLUSTER_ID)", "default") for a in containers[name]["args"]]
        convergecli.check_converge_args(args)
        checked += 1
    assert checked == 3
