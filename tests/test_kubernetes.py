"""The Kubernetes targets: what `repo-example-k8s/` compiles to, proven offline.

`repo-example-k8s/` is repo-example with prometheus-operator, the VictoriaMetrics operator
and KEDA switched on (its rule, channel and routing files link to ../repo-example). No
Kubernetes API server runs here, so what can be proven without one is proven: every
object against its upstream schema (`k8sschemas`), the compiled directory built by
`kubectl kustomize`, the rule groups inside each PrometheusRule and VMRule accepted by
promtool and vmalert exactly like the rule files, and equivalence with the file targets.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import bundles
import jsonschema
import k8sschemas
import pytest
import realtools
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from converge.compiler import bundle, pipeline, render, sources, writer
from converge.compiler.commands.import_ import import_group
from converge.compiler.diff import changes as diff_changes
from converge.compiler.diff import model as diff_model
from converge.compiler.diff import sides
from converge.compiler.importers import alertmanager_objects
from converge.compiler.render import (
    alertmanager,
    alertmanager_config,
    alertmanager_secret,
    healing,
    kubernetes,
    objects,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"
EXAMPLE_K8S = ROOT / "repo-example-k8s"
KINDS = {"prometheus": "PrometheusRule", "vmalert": "VMRule"}
DIRECTORIES = {"prometheus": "prometheus-operator", "vmalert": "victoria-metrics-operator"}


@pytest.fixture(scope="module")
def example() -> bundle.Bundle:
    return bundles.build(sources.read_directory(EXAMPLE))


SECRET_WARNING = ("converge.yaml:25:5: target/kubernetes-incomplete: the Alertmanager Secret "
                  "holds the secrets of 8 channel(s) (dba-email, deadmans-switch, "
                  "opsgenie-dba, pagerduty-oncall, platform-webhook, slack-platform, "
                  "team-email, telegram-sre) as placeholders that nothing resolves in a "
                  "cluster: fill them in where you apply it")


HOLD_INFO = ("pools/config-sync.yaml:38:5: pool/keda-differs: on failure converge's scaler "
             "holds the count and counts it in the scale-down window; the HPA records nothing "
             "while every query fails, so after an outage longer than that window (10m) it "
             "may scale down at the first reading (a fallback keeps the window filled)")


def _build(files: list[sources.SourceFile]) -> bundle.Bundle:
    """The bundle of the variant, whose diagnostics are the Secret's placeholders and what
    holding on failure means for its one pool without a fallback."""
    result = pipeline.check(files)
    assert [f"{d.path}:{d.line}:{d.column}: {d.code}: {d.message}"
            for d in result.diagnostics] == [SECRET_WARNING, HOLD_INFO]
    assert result.model is not None
    return bundle.build(render.render(result.model), result.model, version=bundles.VERSION,
                        source=None)


@pytest.fixture(scope="module")
def k8s() -> bundle.Bundle:
    return _build(sources.read_directory(EXAMPLE_K8S))


@pytest.fixture(scope="module")
def k8s_on_disk(k8s: bundle.Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s") / "out"
    writer.write(k8s.files, out)
    return out


def _objects(built: bundle.Bundle) -> dict[str, dict[str, Any]]:
    """Every rendered Kubernetes object by bundle path (the kustomization left out)."""
    return {path: yaml.safe_load(data) for path, data in built.files.items()
            if path.startswith("kubernetes/") and path != kubernetes.KUSTOMIZATION
            and not path.startswith(f"{healing.PATCHES}/")}


def _patches(built: bundle.Bundle) -> dict[str, dict[str, Any]]:
    """The probe patches by bundle path (their Component left out)."""
    return {path: yaml.safe_load(data) for path, data in built.files.items()
            if path.startswith(f"{healing.PATCHES}/") and path != healing.COMPONENT}


def _rule_objects(built: bundle.Bundle, target: str) -> dict[str, dict[str, Any]]:
    """The PrometheusRule (`prometheus`) or VMRule (`vmalert`) objects by group file name."""
    prefix = f"kubernetes/{DIRECTORIES[target]}/rules/"
    found = {path.removeprefix(prefix).removesuffix(".yaml"): obj
             for path, obj in _objects(built).items() if path.startswith(prefix)}
    assert found and all(obj["kind"] == KINDS[target] for obj in found.values())
    return found


# --- the variant, as a whole ---------------------------------------------------------


def test_the_kubernetes_output_matches_the_snapshot(k8s: bundle.Bundle,
                                                    snapshot: SnapshotAssertion) -> None:
    ours = {path: data for path, data in k8s.files.items() if path.startswith("kubernetes/")}
    assert snapshot(name="paths") == list(ours)
    for path, data in ours.items():
        assert snapshot(name=path) == data.decode("utf-8")
    assert snapshot(name="manifest-target") == k8s.manifest["targets"]["kubernetes"]


def test_documents_that_name_no_kubernetes_target_compile_as_today(
        example: bundle.Bundle, k8s: bundle.Bundle) -> None:
    assert not [path for path in example.files if path.startswith("kubernetes/")]
    assert "kubernetes" not in example.manifest["targets"]
    # the file targets of the variant are repo-example's, byte for byte (the pools name
    # their workloads there)
    for path, data in example.files.items():
        if path not in (bundle.MANIFEST, "reconciler/pools.json", "reconciler/healing.json"):
            assert k8s.files[path] == data, path


def test_the_output_is_byte_stable() -> None:
    first = _build(sources.read_directory(EXAMPLE_K8S))
    second = _build(list(reversed(sources.read_directory(EXAMPLE_K8S))))
    assert first.files == second.files


def test_the_kustomization_lists_every_object(k8s: bundle.Bundle) -> None:
    listed = yaml.safe_load(k8s.files[kubernetes.KUSTOMIZATION])["resources"]
    assert listed == sorted(path.removeprefix("kubernetes/") for path in _objects(k8s))
    assert k8s.manifest["targets"]["kubernetes"]["objects"] == len(listed) + len(
        _patches(k8s))
    component = yaml.safe_load(k8s.files[healing.COMPONENT])
    assert component["kind"] == "Component"
    assert [p["path"] for p in component["patches"]] == [
        path.rsplit("/", 1)[1] for path in sorted(_patches(k8s))]


def test_every_object_carries_the_project_namespace_labels_and_hashes(
        k8s: bundle.Bundle) -> None:
    digests = {entry["path"]: entry["sha256"] for entry in k8s.manifest["files"]}
    for target in ("prometheus", "vmalert"):
        for group, obj in _rule_objects(k8s, target).items():
            meta = obj["metadata"]
            assert meta["name"] == group and meta["namespace"] == "monitoring"
            assert meta["labels"]["app.kubernetes.io/managed-by"] == "converge"
            assert meta["annotations"][objects.SHA256] == digests[
                f"{target}/rules/{group}.yaml"]
            if target == "prometheus":  # what the Prometheus CR's ruleSelector matches
                assert meta["labels"]["release"] == "kube-prometheus-stack"
    secret = _objects(k8s)[alertmanager_secret.PATH]
    assert secret["metadata"]["annotations"][objects.SHA256] != digests[alertmanager.PATH]


# --- equivalence with the file targets -----------------------------------------------


@pytest.mark.parametrize("target", ["prometheus", "vmalert"])
def test_the_rules_inside_the_objects_are_the_rule_files(example: bundle.Bundle,
                                                         k8s: bundle.Bundle,
                                                         target: str) -> None:
    """For repo-example, the groups inside each PrometheusRule (VMRule) are semantically
    identical to the `prometheus` (`vmalert`) target's files, and there is one object for
    each file."""
    objects = _rule_objects(k8s, target)
    files = {path.rsplit("/", 1)[1].removesuffix(".yaml"): yaml.safe_load(data)
             for path, data in example.files.items() if path.startswith(f"{target}/rules/")}
    assert sorted(objects) == sorted(files)
    for group, obj in objects.items():
        assert obj["spec"]["groups"] == files[group]["groups"], group


def test_the_secret_holds_the_alertmanager_configuration(example: bundle.Bundle,
                                                         k8s: bundle.Bundle) -> None:
    secret = _objects(k8s)[alertmanager_secret.PATH]
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", "Opaque")
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
        "alertmanager-main", "monitoring")
    data = secret["stringData"]
    config = yaml.safe_load(data.pop("alertmanager.yaml"))
    expected = yaml.safe_load(example.files[alertmanager.PATH])
    # first, the routes of the healing policies' budget alerts, each to the policy's channels
    routes = config["route"]["routes"]
    budget = [r for r in routes if r.get("matchers", [""])[0].startswith("healing_policy=")]
    assert budget == routes[:len(budget)] == [
        {"receiver": "dingtalk-oncall", "matchers": ['healing_policy="critical-database"'],
         "continue": True},
        {"receiver": "dba-email", "matchers": ['healing_policy="critical-database"']},
        {"receiver": "dingtalk-oncall", "matchers": ['healing_policy="critical-services"'],
         "continue": True},
        {"receiver": "platform-webhook", "matchers": ['healing_policy="critical-services"']}]
    config["route"]["routes"] = routes[len(budget):]
    assert config.pop("templates") == [f"{alertmanager_secret.MOUNT}/*.tmpl"]
    assert expected.pop("templates") == ["templates/*.tmpl"]
    assert config == expected
    templates = {path.rsplit("/", 1)[1]: text.decode() for path, text in example.files.items()
                 if path.startswith("alertmanager/templates/")}
    assert data == templates


# --- the real tools and schemas ------------------------------------------------------


@pytest.mark.realtools
def test_every_object_is_valid_against_the_upstream_schemas(k8s: bundle.Bundle) -> None:
    objects = {path: obj for path, obj in _objects(k8s).items()
               if obj["apiVersion"] != "operator.victoriametrics.com/v1beta1"}
    kinds = {obj["kind"] for obj in objects.values()}
    assert {"PrometheusRule", "Secret", "ScaledObject"} <= kinds
    paths = list(objects)
    errors = k8sschemas.schema_errors(list(objects.values()))
    assert {paths[i]: error for i, error in errors.items()} == {}


@pytest.mark.realtools
def test_the_upstream_schemas_catch_a_broken_object(k8s: bundle.Bundle) -> None:
    """The validator is live: a rule whose `for` is a number is refused."""
    rule = _rule_objects(k8s, "prometheus")["http"]
    rule["spec"]["groups"][0]["rules"][0]["for"] = 5
    assert list(k8sschemas.schema_errors([rule])) == [0]


@pytest.mark.realtools
def test_kubectl_kustomize_builds_the_compiled_directory(k8s_on_disk: Path,
                                                         k8s: bundle.Bundle) -> None:
    result = k8sschemas.kustomize(k8s_on_disk / "kubernetes")
    assert result.returncode == 0, result.stderr
    built = list(yaml.safe_load_all(result.stdout))
    assert sorted((o["kind"], o["metadata"]["name"]) for o in built) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in _objects(k8s).values())


def _embedded_groups(k8s: bundle.Bundle, target: str, directory: Path) -> list[Path]:
    files = []
    for group, obj in sorted(_rule_objects(k8s, target).items()):
        path = directory / f"{group}.yaml"
        path.write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}), encoding="utf-8")
        files.append(path)
    return files


@pytest.mark.realtools
def test_promtool_accepts_the_groups_inside_every_prometheusrule(
        k8s: bundle.Bundle, tmp_path: Path) -> None:
    result = realtools.promtool_check_rules(*_embedded_groups(k8s, "prometheus", tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(_rule_objects(k8s, "prometheus"))


@pytest.mark.realtools
def test_vmalert_accepts_the_groups_inside_every_vmrule(k8s: bundle.Bundle,
                                                        tmp_path: Path) -> None:
    result = realtools.vmalert_dry_run(*_embedded_groups(k8s, "vmalert", tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.realtools
def test_amtool_accepts_the_configuration_inside_the_secret(k8s: bundle.Bundle,
                                                            tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yaml"
    config.write_text(_objects(k8s)[alertmanager_secret.PATH]["stringData"][
        "alertmanager.yaml"], encoding="utf-8")
    result = realtools.amtool_check_config(config)
    assert result.returncode == 0, result.stdout + result.stderr


def _without_kubernetes(value: Any) -> Any:
    """A spec document with every `kubernetes` key and Kubernetes target taken out."""
    if isinstance(value, dict):
        return {k: _without_kubernetes(v) for k, v in value.items() if k not in (
            "kubernetes", "prometheusOperator", "victoriaMetricsOperator", "keda")}
    if isinstance(value, list):
        return [_without_kubernetes(item) for item in value]
    return value


def test_the_variant_is_repo_example_plus_kubernetes_settings() -> None:
    """repo-example-k8s cannot drift from repo-example: its files are the same, except for
    the Kubernetes targets and the `kubernetes` keys of pools and healing policies."""
    ours = {f.path: f.data for f in sources.read_directory(EXAMPLE_K8S)}
    theirs = {f.path: f.data for f in sources.read_directory(EXAMPLE)}
    assert sorted(ours) == sorted(theirs)
    for path, data in theirs.items():
        if ours[path] != data:
            assert path == "converge.yaml" or path.startswith(("pools/", "healing/")), path
            assert _without_kubernetes(yaml.safe_load(ours[path])) == yaml.safe_load(data)


# --- KEDA ----------------------------------------------------------------------------


def test_a_pool_becomes_a_scaledobject_with_its_triggers_steps_and_fallback(
        k8s: bundle.Bundle) -> None:
    obj = _objects(k8s)["kubernetes/keda/ai-analysis.yaml"]
    assert (obj["apiVersion"], obj["kind"]) == ("keda.sh/v1alpha1", "ScaledObject")
    assert (obj["metadata"]["name"], obj["metadata"]["namespace"]) == (
        "ai-analysis", "task-center")
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": "task-center-worker-ai-analysis"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["pollingInterval"]) == (
        1, 5, 30)
    assert spec["fallback"] == {"failureThreshold": 3, "replicas": 2}
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 30,
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 30}]},
        "scaleDown": {"stabilizationWindowSeconds": 300,
                      "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    assert [(t["type"], t["metricType"], t["metadata"]["threshold"],
             t["metadata"]["serverAddress"]) for t in spec["triggers"]] == [
        ("prometheus", "AverageValue", "4", "http://prometheus-operated.monitoring.svc:9090"),
        ("prometheus", "AverageValue", "0.7", "http://prometheus-operated.monitoring.svc:9090")]
    assert spec["triggers"][0]["metadata"]["query"] == 'sum(task_queue_length{queue="ai_analysis"})'


def _pool(scaling: dict[str, Any] | None, **replicas: int) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {"image": "worker:1", "replicas": replicas or {"min": 1, "max": 4},
                            "kubernetes": {"kind": "StatefulSet", "name": "w",
                                           "namespace": "jobs"}}
    if scaling is not None:
        spec["scaling"] = scaling
    return [bundles.document("Project", "p", {"targets": {"keda": {
                "version": "2.14", "kubernetesVersion": KUBERNETES}}}),
            bundles.document("WorkerPool", "w", spec)]


KUBERNETES = "1.30"
QUEUE = {"query": "sum(queue_length)", "target": 10}
CPU_TOTAL = {"query": "avg(cpu)", "target": 0.6, "type": "total"}


def _check(docs: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any] | None]:
    text = bundles.spec_text(docs)
    result = pipeline.check([sources.SourceFile("specs.yaml", text.encode())])
    assert result.model is not None
    lines = text.splitlines()
    found = [f"{lines[d.line - 1].strip()} | {d.message}" for d in result.diagnostics
             if d.code == "pool/keda-differs" and d.severity != "info"]
    assert all(d.code == "pool/keda-differs" for d in result.diagnostics), result.diagnostics
    files = render.render(result.model)
    obj = files.get("kubernetes/keda/w.yaml")
    return found, yaml.safe_load(obj) if obj else None


@pytest.mark.parametrize(("docs", "expected"), [
    pytest.param(_pool({"metrics": [QUEUE]}), [], id="exact"),
    pytest.param(_pool({"metrics": [QUEUE], "tolerance": 0.2}),
                 ["tolerance: 0.2 | tolerance 0.2 is not applied by KEDA: the HPA on "
                  "Kubernetes 1.30 uses the cluster's tolerance (0.1 unless the controller "
                  "manager says otherwise); a per-HPA tolerance needs Kubernetes 1.33"],
                 id="tolerance-on-1.30"),
    pytest.param(_pool({"metrics": [QUEUE, CPU_TOTAL], "fallback": {"replicas": 2}}),
                 ["fallback: | KEDA refuses a fallback when a trigger is a 'total' (Value) "
                  "metric: no fallback is rendered, and while the queries fail the HPA "
                  "holds the count instead of moving to 2 replicas"],
                 id="fallback-with-a-total-metric"),
    pytest.param(_pool(None), ["kubernetes: | pool 'w' has no scaling: no ScaledObject is "
                               "rendered; keep the StatefulSet's replicas at 1"],
                 id="no-scaling"),
])
def test_what_keda_cannot_express_is_a_positioned_warning(docs: list[dict[str, Any]],
                                                           expected: list[str]) -> None:
    found, obj = _check(docs)
    assert found == expected
    if obj is not None:
        assert obj["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
        assert ("fallback" in obj["spec"]) == (
            "fallback" in docs[1]["spec"]["scaling"] and not expected)


def test_a_tolerance_is_rendered_where_the_cluster_can_set_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "KUBERNETES", "1.33")
    found, obj = _check(_pool({"metrics": [QUEUE, CPU_TOTAL], "tolerance": 0.05},
                              min=0, max=3))
    assert found == []
    assert obj is not None
    behavior = obj["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["tolerance"] == behavior["scaleDown"]["tolerance"] == "0.05"
    assert [t["metricType"] for t in obj["spec"]["triggers"]] == ["AverageValue", "Value"]
    assert obj["spec"]["cooldownPeriod"] == 300  # scaling to zero waits out scaleDown's window


# --- HealingPolicies: probe patches and budget alerts --------------------------------


def _workload(patch: dict[str, Any]) -> dict[str, Any]:
    """A whole workload the patch could apply to: the patch plus what a real one needs."""
    pod = patch["spec"]["template"]
    container = pod["spec"]["containers"][0]
    labels = {"app": patch["metadata"]["name"]}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": container["name"], "image": "app:1"}]}}}
    if patch["kind"] == "StatefulSet":
        spec["serviceName"] = patch["metadata"]["name"]
    return {"apiVersion": "apps/v1", "kind": patch["kind"],
            "metadata": dict(patch["metadata"]), "spec": spec}


def test_a_policy_becomes_a_liveness_probe_for_each_of_its_workloads(
        k8s: bundle.Bundle) -> None:
    patches = _patches(k8s)
    api = patches["kubernetes/patches/critical-services-deployment-task-center-api.yaml"]
    assert api["metadata"] == {"name": "task-center-api", "namespace": "task-center"}
    assert api["spec"]["template"]["spec"]["containers"] == [{"name": "api", "livenessProbe": {
        "httpGet": {"path": "/health/ready", "port": 8888, "scheme": "HTTP"},
        "initialDelaySeconds": 30, "periodSeconds": 10, "timeoutSeconds": 5,
        "failureThreshold": 2}}]
    mysql = patches["kubernetes/patches/critical-database-statefulset-mysql.yaml"]
    probe = mysql["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["tcpSocket"] == {"port": 3306}


@pytest.mark.realtools
def test_the_patched_workloads_are_valid_against_the_kubernetes_schema(
        k8s: bundle.Bundle) -> None:
    workloads = []
    for patch in _patches(k8s).values():
        workload = _workload(patch)
        workload["spec"]["template"]["spec"]["containers"][0].update(
            patch["spec"]["template"]["spec"]["containers"][0])
        workloads.append(workload)
    assert k8sschemas.schema_errors(workloads) == {}
    broken = workloads[0]
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["periodSeconds"] = "x"
    assert list(k8sschemas.schema_errors([broken])) == [0]


@pytest.mark.realtools
def test_kubectl_kustomize_applies_the_probe_component_to_the_workloads(
        k8s_on_disk: Path, k8s: bundle.Bundle, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    workloads = [_workload(patch) for patch in _patches(k8s).values()]
    (app / "workloads.yaml").write_text(yaml.safe_dump_all(workloads), encoding="utf-8")
    (app / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["workloads.yaml"],
        "components": [os.path.relpath(k8s_on_disk / "kubernetes" / "patches", app)]}),
        encoding="utf-8")
    result = k8sschemas.kustomize(app)
    assert result.returncode == 0, result.stderr
    built = {o["metadata"]["name"]: o for o in yaml.safe_load_all(result.stdout)}
    for patch in _patches(k8s).values():
        container = built[patch["metadata"]["name"]]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "app:1"
        assert container["livenessProbe"] == patch["spec"]["template"]["spec"][
            "containers"][0]["livenessProbe"]


def test_the_restart_budget_becomes_alerts_routed_by_the_policy(k8s: bundle.Bundle) -> None:
    rule = _objects(k8s)["kubernetes/prometheus-operator/healing/critical-services.yaml"]
    assert (rule["kind"], rule["metadata"]["name"]) == ("PrometheusRule",
                                                       "healing.critical-services")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (group,) = rule["spec"]["groups"]
    budget, crashloop = group["rules"]
    selector = 'namespace="task-center", pod=~"task-center-api-[a-z0-9]+-[a-z0-9]+", ' \
               'container="api"'
    assert budget["expr"] == ("sum by (namespace, pod, container) (increase("
                              f"kube_pod_container_status_restarts_total{{{selector}}}[10m]))"
                              " > 10")
    assert crashloop["expr"] == ("max by (namespace, pod, container) ("
                                 f"kube_pod_container_status_waiting_reason{{{selector}, "
                                 'reason="CrashLoopBackOff"}) > 0')
    assert crashloop["for"] == "5m"
    assert budget["labels"] == crashloop["labels"] == {
        "healing_policy": "critical-services", "severity": "critical"}


@pytest.mark.realtools
def test_promtool_accepts_the_budget_alerts(k8s: bundle.Bundle, tmp_path: Path) -> None:
    files = []
    for path, obj in sorted(_objects(k8s).items()):
        if path.startswith("kubernetes/prometheus-operator/healing/"):
            files.append(tmp_path / path.rsplit("/", 1)[1])
            files[-1].write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}))
    assert len(files) == 2
    result = realtools.promtool_check_rules(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def _policy(**changes: Any) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {"selector": {"labels": {"app": "api"}},
                            "check": {"type": "http", "http": {"port": 8080}},
                            "kubernetes": [{"kind": "Deployment", "name": "api",
                                            "namespace": "web", "container": "api"}]}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            spec.setdefault(section, {})[field] = value
        else:
            spec[section] = value
    return [bundles.document("Project", "p", {"targets": {"prometheusOperator": {}}}),
            bundles.document("HealingPolicy", "h", spec)]


@pytest.mark.parametrize(("docs", "expected", "probed"), [
    pytest.param(_policy(), [], True, id="exact"),
    pytest.param(_policy(check={"type": "docker-health"}),
                 ["type: docker-health | Kubernetes has no probe that runs a Docker "
                  "HEALTHCHECK: no liveness probe is rendered for the workloads"], False,
                 id="docker-health"),
    pytest.param(_policy(restart={"auto": False}),
                 ["auto: false | the kubelet restarts every container whose liveness probe "
                  "fails: no probe is rendered, only the alerts"], False, id="no-restarts"),
    pytest.param(_policy(check={"type": "http", "http": {"port": 8080, "bodyMatch": "ok",
                                                         "expectStatus": [200, 503]}}),
                 ["bodyMatch: ok | an httpGet probe looks at the status only: the body is "
                  "not matched on Kubernetes",
                  "expectStatus: | an httpGet probe counts 503 as failures: only 200-399 are "
                  "healthy on Kubernetes"], True, id="body-and-status"),
    pytest.param(_policy(restart={"backoff": {"initial": "1s"}}),
                 ["backoff: | the kubelet's restart back-off is fixed (10s doubling to 5m, "
                  "reset after 10m): this backoff does not apply on Kubernetes"], True,
                 id="backoff"),
])
def test_what_a_probe_cannot_express_is_a_positioned_warning(
        docs: list[dict[str, Any]], expected: list[str], probed: bool) -> None:
    text = bundles.spec_text(docs)
    result = pipeline.check([sources.SourceFile("specs.yaml", text.encode())])
    assert result.model is not None
    lines = text.splitlines()
    assert [f"{lines[d.line - 1].strip()} | {d.message}" for d in result.diagnostics
            if d.code == "healing/kubernetes-differs"] == expected
    files = render.render(result.model)
    assert ("kubernetes/patches/h-deployment-api.yaml" in files) == probed
    assert "kubernetes/prometheus-operator/healing/h.yaml" in files


# --- AlertmanagerConfig (opt-in) -----------------------------------------------------


@pytest.fixture(scope="module")
def with_alertmanager_config() -> pipeline.CheckResult:
    files = []
    for source in sources.read_directory(EXAMPLE_K8S):
        if source.path == "converge.yaml":
            text = source.data.decode().replace("      alertmanagerSecret: alertmanager-main",
                                                "      alertmanager: alertmanagerConfig")
            source = sources.SourceFile(source.path, text.encode())
        files.append(source)
    result = pipeline.check(files)
    assert result.model is not None
    return result


def test_check_explains_what_the_namespace_matcher_changes(
        with_alertmanager_config: pipeline.CheckResult, snapshot: SnapshotAssertion) -> None:
    every = [f"{d.path}:{d.line}:{d.column}: {d.code}: {d.message}"
             for d in with_alertmanager_config.diagnostics]
    found = [line for line in every if ": route/namespace-matcher: " in line]
    assert [line for line in every if line not in found] == [HOLD_INFO]
    assert any(line.startswith("routing.yaml:21:3: ") for line in found)  # at `route:`
    assert snapshot(name="diagnostics") == found


def test_the_routing_becomes_an_alertmanagerconfig_instead_of_the_secret(
        with_alertmanager_config: pipeline.CheckResult, snapshot: SnapshotAssertion) -> None:
    assert with_alertmanager_config.model is not None
    files = render.render(with_alertmanager_config.model)
    assert alertmanager_secret.PATH not in files
    text = files[alertmanager_config.PATH]
    assert snapshot(name="alertmanagerconfig") == text
    obj = yaml.safe_load(text)
    assert (obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]) == (
        "AlertmanagerConfig", "task-center", "monitoring")
    assert "alertmanagerconfig.yaml" in " ".join(
        yaml.safe_load(files[kubernetes.KUSTOMIZATION])["resources"])


@pytest.mark.realtools
def test_the_alertmanagerconfig_is_valid_against_the_upstream_schema(
        with_alertmanager_config: pipeline.CheckResult) -> None:
    assert with_alertmanager_config.model is not None
    obj = yaml.safe_load(render.render(with_alertmanager_config.model)[
        alertmanager_config.PATH])
    assert k8sschemas.schema_errors([obj]) == {}


# --- converge diff -------------------------------------------------------------------


def test_diff_reports_the_kubernetes_objects_per_object_and_the_rules_per_field() -> None:
    base = sources.read_directory(EXAMPLE_K8S)
    head = [sources.SourceFile(s.path, s.data.replace(b"warning: 0.5", b"warning: 0.75"))
            if s.path == "rules/http.yaml" else s for s in base]
    assert head != base
    before, after = sides.compile_pair(base, head)
    assert before.side is not None and after.side is not None
    assert after.result.model is not None
    # every group's objects are there on the head side, not only the changed group's
    assert dict(after.side.files) == render.render(after.result.model)
    diff = diff_model.compute(before.side, after.side)
    summary = {t.target: dict(t.counts) for t in diff.targets}
    assert summary["kubernetes"]["files"] == diff_changes.Counts(0, 0, 2)
    assert [c.path for c in diff.files if c.path.startswith("kubernetes/")] == [
        "kubernetes/prometheus-operator/rules/http.yaml",
        "kubernetes/victoria-metrics-operator/rules/http.yaml"]
    (rule,) = diff.rules  # field-level, as for the files: the same groups
    assert (rule.name, rule.tier, [f.field for f in rule.fields]) == (
        "HTTPLatencyHigh", "warning", ["threshold"])


# --- converge import -----------------------------------------------------------------


def _import(*args: str | Path) -> Any:
    result = CliRunner().invoke(import_group, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _imported(directory: Path) -> dict[str, list[dict[str, Any]]]:
    result = pipeline.check(sources.read_directory(directory))
    assert result.ok, result.diagnostics
    found: dict[str, list[dict[str, Any]]] = {}
    for source in sources.read_directory(directory):
        for doc in yaml.safe_load_all(source.data):
            if doc:
                found.setdefault(doc["kind"], []).append(doc)
    return found


def test_import_reads_the_alertmanager_secret_as_the_configuration_it_holds(
        tmp_path: Path) -> None:
    """kube-prometheus's Secret (base64 `data`) imports exactly as the plain file does."""
    fixture = ROOT / "tests" / "fixtures" / "import" / "alertmanager.yml"
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "alertmanager-main", "namespace": "monitoring"},
              "data": {path.name: base64.b64encode(path.read_bytes()).decode() for path in (
                  fixture, *sorted(fixture.parent.glob("templates/*.tmpl")))}}
    secret["data"]["alertmanager.yaml"] = secret["data"].pop("alertmanager.yml")
    path = tmp_path / "alertmanager-secret.yaml"
    path.write_text(yaml.safe_dump(secret))
    plain = _import("alertmanager", fixture, "-o", tmp_path / "plain" / "repo")
    wrapped = _import("alertmanager", path, "-o", tmp_path / "wrapped" / "repo")
    assert wrapped.output.replace(str(path), "X").replace("wrapped", "OUT") == (
        plain.output.replace(str(fixture), "X").replace("plain", "OUT"))
    files = {p.relative_to(tmp_path / "plain"): p.read_text().replace(str(fixture), "X")
             for p in (tmp_path / "plain").rglob("*.yaml")}
    assert files == {p.relative_to(tmp_path / "wrapped"): p.read_text().replace(str(path), "X")
                     for p in (tmp_path / "wrapped").rglob("*.yaml")}


def test_import_takes_the_templates_from_the_secrets_keys(k8s_on_disk: Path) -> None:
    text = (k8s_on_disk / alertmanager_secret.PATH).read_text()
    unwrapped = alertmanager_objects.unwrap(text, source="secret.yaml", notes=[])
    assert unwrapped is not None
    config, files = unwrapped
    assert config.startswith("# Generated by converge.")
    assert sorted(files) == sorted(key for key in yaml.safe_load(text)["stringData"]
                                   if key.endswith(".tmpl"))
    assert files


def test_import_reads_alertmanagerconfig_objects_with_the_operators_matcher(
        with_alertmanager_config: pipeline.CheckResult, tmp_path: Path) -> None:
    assert with_alertmanager_config.model is not None
    path = tmp_path / "alertmanagerconfig.yaml"
    path.write_text(render.render(with_alertmanager_config.model)[alertmanager_config.PATH])
    result = _import("alertmanager", path, "-o", tmp_path / "repo")
    assert 'namespace="monitoring"' in result.output  # a note says so
    (routing,) = _imported(tmp_path / "repo")["Routing"]
    (child,) = routing["spec"]["route"]["routes"]
    assert child["matchers"][0] == 'namespace="monitoring"'
    assert child["receiver"] == "platform-webhook"
    assert all(rule["sourceMatchers"][0] == 'namespace="monitoring"'
               for rule in routing["spec"]["inhibitRules"])


def test_import_keeps_a_prometheusrules_labels_and_namespace(k8s_on_disk: Path,
                                                            tmp_path: Path) -> None:
    _import("prometheus-rules", k8s_on_disk / "kubernetes/prometheus-operator/rules/http.yaml",
            "-o", tmp_path / "repo")
    (group,) = _imported(tmp_path / "repo")["RuleGroup"]
    assert group["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "converge",
                                           "release": "kube-prometheus-stack"}
    assert group["metadata"]["annotations"]["converge.io/source-namespace"] == "monitoring"


def test_an_older_keda_gets_what_it_knows_and_a_warning_for_the_rest() -> None:
    docs = _pool({"metrics": [QUEUE, CPU_TOTAL], "fallback": {"replicas": 2}})
    docs[0]["spec"]["targets"]["keda"]["version"] = "2.0"
    found, obj = _check(docs)
    assert len(found) == 3
    assert "fallback: | KEDA 2.0 has no fallback (KEDA 2.1 added it): no fallback is " \
           "rendered, and while the queries fail the HPA holds the count instead of moving " \
           "to 2 replicas" in found
    assert any(line.startswith("type: total | ") for line in found)
    assert any("useCachedMetrics needs KEDA 2.9" in line for line in found)
    assert any("a 'total' metric needs metricType, KEDA 2.7" in line for line in found)
    assert obj is not None and "fallback" not in obj["spec"]
    assert all(set(t) == {"type", "metadata"} for t in obj["spec"]["triggers"])


def test_the_manifest_lists_the_kubernetes_files_and_validates(k8s: bundle.Bundle) -> None:
    schema = json.loads((ROOT / "specs" / "schema" / "manifest.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(k8s.manifest), key=str)
    assert not errors, errors[0].message
    entries = {e["path"]: e for e in k8s.manifest["files"] if e["target"] == "kubernetes"}
    assert sorted(entries) == sorted(p for p in k8s.files if p.startswith("kubernetes/"))
    assert k8s.manifest["targets"]["kubernetes"]["hash"] == bundle.pairs_hash(
        {path: entry["sha256"] for path, entry in entries.items()})


@pytest.mark.parametrize(("targets", "expected"), [
    pytest.param({"prometheus": {"enabled": False}, "prometheusOperator": {}},
                 ["prometheusOperator: {} | no PrometheusRule is rendered: they hold the "
                  "prometheus target's rule files, and targets.prometheus is disabled"],
                 id="no-prometheus"),
    pytest.param({"vmalert": {"enabled": False}, "victoriaMetricsOperator": {}},
                 ["victoriaMetricsOperator: {} | no VMRule is rendered: they hold the vmalert "
                  "target's rule files, and targets.vmalert is disabled"], id="no-vmalert"),
    pytest.param({"alertmanager": {"enabled": False}, "prometheusOperator": {}},
                 ["prometheusOperator: {} | no Alertmanager object is rendered: "
                  "targets.alertmanager is disabled"], id="no-alertmanager"),
    pytest.param({"prometheusOperator": {"alertmanager": "none"}}, [], id="none-asked"),
])
def test_a_kubernetes_target_that_renders_less_says_so(targets: dict[str, Any],
                                                       expected: list[str]) -> None:
    text = bundles.spec_text([bundles.document("Project", "p", {"targets": targets})])
    result = pipeline.check([sources.SourceFile("converge.yaml", text.encode())])
    lines = text.splitlines()
    assert [f"{lines[d.line - 1].strip()} | {d.message}" for d in result.diagnostics
            if d.code == "target/kubernetes-incomplete"] == expected


@given(labels=st.dictionaries(
    st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?\Z")
    | st.sampled_from(["yes", "No", "on", "true", "null", "y"]),
    st.from_regex(r"\A(([A-Za-z0-9][-A-Za-z0-9_.]{0,20})?[A-Za-z0-9])?\Z"), max_size=4))
@settings(max_examples=60, deadline=None)
def test_any_project_labels_survive_into_the_objects(labels: dict[str, str]) -> None:
    """Label keys that YAML 1.1 reads as booleans (yes, on) or null stay strings."""
    docs = [bundles.document("Project", "p", {"targets": {"prometheusOperator": {
                "labels": labels}}}),
            bundles.document("RuleGroup", "g", {"rules": [{"alert": "A", "expr": "up == 0"}]})]
    result = pipeline.check([sources.SourceFile("s.yaml", bundles.spec_text(docs).encode())])
    assert result.model is not None
    assert not [d for d in result.diagnostics if d.code.startswith("schema/")]
    obj = yaml.safe_load(render.render(result.model)[
        "kubernetes/prometheus-operator/rules/g.yaml"])
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "converge", **labels}


def test_holding_on_failure_is_explained_for_pools_without_a_fallback() -> None:
    docs = _pool({"metrics": [QUEUE], "scaleDown": {"stabilization": "10m"}})
    text = bundles.spec_text(docs)
    result = pipeline.check([sources.SourceFile("specs.yaml", text.encode())])
    (info,) = [d for d in result.diagnostics if d.severity == "info"]
    assert text.splitlines()[info.line - 1].strip() == "scaleDown:"
    assert "after an outage longer than that window (10m)" in info.message
    with_fallback = _pool({"metrics": [QUEUE], "fallback": {"replicas": 2}})
    text = bundles.spec_text(with_fallback)
    result = pipeline.check([sources.SourceFile("specs.yaml", text.encode())])
    assert not [d for d in result.diagnostics if d.code == "pool/keda-differs"]


# --- no field the upstream types do not declare ----------------------------------------

_PO = "@kubernetes-models/prometheus-operator/monitoring.coreos.com"
_KEDA = "@kubernetes-models/keda/keda.sh/v1alpha1"
_CORE = "kubernetes-models"
_AM_ROUTE: k8sschemas.Shape = (f"{_PO}/v1alpha1/Route", {
    "matchers": (f"{_PO}/v1alpha1/Matcher", {})})
SHAPES: dict[str, k8sschemas.Shape] = {
    "PrometheusRule": (f"{_PO}/v1/PrometheusRuleSpec", {"groups": (
        f"{_PO}/v1/RuleGroup", {"rules": (f"{_PO}/v1/Rule", {})})}),
    "ScaledObject": (f"{_KEDA}/ScaledObjectSpec", {
        "scaleTargetRef": (f"{_KEDA}/ScaleTarget", {}),
        "fallback": (f"{_KEDA}/Fallback", {}),
        "triggers": (f"{_KEDA}/ScaleTriggers", {}),
        "advanced": (f"{_KEDA}/AdvancedConfig", {"horizontalPodAutoscalerConfig": (
            f"{_KEDA}/HorizontalPodAutoscalerConfig", {"behavior": (
                f"{_CORE}/autoscaling/v2/HorizontalPodAutoscalerBehavior", {
                    direction: (f"{_CORE}/autoscaling/v2/HPAScalingRules", {
                        "policies": (f"{_CORE}/autoscaling/v2/HPAScalingPolicy", {})})
                    for direction in ("scaleUp", "scaleDown")})})})}),
    "AlertmanagerConfig": (f"{_PO}/v1alpha1/AlertmanagerConfigSpec", {
        "route": _AM_ROUTE,
        "receivers": (f"{_PO}/v1alpha1/Receiver", {
            "webhookConfigs": (f"{_PO}/v1alpha1/WebhookConfig", {})}),
        "inhibitRules": (f"{_PO}/v1alpha1/InhibitRule", {
            "sourceMatch": (f"{_PO}/v1alpha1/Matcher", {}),
            "targetMatch": (f"{_PO}/v1alpha1/Matcher", {})}),
        "muteTimeIntervals": (f"{_PO}/v1alpha1/MuteTimeInterval", {"timeIntervals": (
            f"{_PO}/v1alpha1/TimeInterval", {
                "times": (f"{_PO}/v1alpha1/TimeRange", {}),
                "daysOfMonth": (f"{_PO}/v1alpha1/DayOfMonthRange", {})})})}),
}
_PROBE: k8sschemas.Shape = (f"{_CORE}/v1/Probe", {
    "httpGet": (f"{_CORE}/v1/HTTPGetAction", {}),
    "tcpSocket": (f"{_CORE}/v1/TCPSocketAction", {}),
    "exec": (f"{_CORE}/v1/ExecAction", {})})


def _routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    """A route and all its descendants (the type leaves child routes untyped)."""
    return [route, *(found for child in route.get("routes", []) for found in _routes(child))]


@pytest.mark.realtools
def test_no_rendered_field_is_unknown_to_the_upstream_types(
        k8s: bundle.Bundle, with_alertmanager_config: pipeline.CheckResult) -> None:
    """The validators accept unknown fields (as a structural schema prunes them); the
    types they come from name every field, so a field converge invents fails here."""
    assert with_alertmanager_config.model is not None
    objects = [*_objects(k8s).values(), yaml.safe_load(render.render(
        with_alertmanager_config.model)[alertmanager_config.PATH])]
    found, checked = [], set()
    for obj in objects:
        shape = SHAPES.get(obj["kind"])
        if shape is None:
            continue
        checked.add(obj["kind"])
        found += [f"{obj['kind']} {obj['metadata']['name']}{path}"
                  for path in k8sschemas.unknown_fields(obj["spec"], shape, "/spec")]
        if obj["kind"] == "AlertmanagerConfig":
            for route in _routes(obj["spec"]["route"]):
                found += [f"route{path}" for path in k8sschemas.unknown_fields(
                    {k: v for k, v in route.items() if k != "routes"}, _AM_ROUTE)]
    for patch in _patches(k8s).values():
        for container in patch["spec"]["template"]["spec"]["containers"]:
            found += k8sschemas.unknown_fields(container["livenessProbe"], _PROBE)
    assert checked == set(SHAPES)
    assert found == []
    assert k8sschemas.unknown_fields({"groups": [{"name": "g", "rules": [
        {"alert": "A", "expr": "up", "keep_firing": "1m"}]}]}, SHAPES["PrometheusRule"]) == [
        "/groups/0/rules/0/keep_firing"]
