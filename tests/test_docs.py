"""The docs cannot drift from the code: the daemon reference is generated, every daemon
flag and metric and every spec field is documented, and the deployment examples under
docs/examples parse and use only flags the commands really have."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import realtools
import yaml
from convergecli import check_converge_args
from test_spec_reference import spec_models

from converge.reconciler import docgen

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
YAML_FILES = sorted([*EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.yml")])
CONVERGE_IMAGE = re.compile(r"(^|/)converge(:|$)")


def _shared_runtime() -> str:
    """daemons.md before its generated reference: the flags every daemon shares."""
    return (DOCS / "daemons.md").read_text(encoding="utf-8").split(docgen.BEGIN)[0]


def _code(markdown: str) -> str:
    """The text of a page's inline code spans and code blocks, one a line."""
    blocks = re.findall(r"```.*?```", markdown, flags=re.DOTALL)
    spans = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", markdown, flags=re.DOTALL))
    return "\n".join([*blocks, *spans])


def test_daemon_reference_is_current() -> None:
    page = (DOCS / "daemons.md").read_text(encoding="utf-8")
    assert docgen.BEGIN in page, "run: python -m converge.reconciler.docgen --write"
    assert docgen.updated(page) == page, "run: python -m converge.reconciler.docgen --write"


def _daemon_flags() -> Iterator[Any]:
    for name, spec, page, _, _ in docgen.DAEMONS:
        for full, cmd in docgen.commands(name, docgen.command(spec)):
            for option in docgen.options(cmd):
                for flag in (*option.opts, *option.secondary_opts):
                    yield pytest.param(page, flag, id=f"{full} {flag}")


@pytest.mark.parametrize(("page", "flag"), list(_daemon_flags()))
def test_every_daemon_flag_is_documented(page: str, flag: str) -> None:
    code = _code((DOCS / page).read_text(encoding="utf-8") + _shared_runtime())
    assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", code), \
        f"{flag} is not in docs/{page}"


def _daemon_metrics() -> Iterator[Any]:
    for name, _, page, factory, _ in docgen.DAEMONS:
        for metric, _, _ in docgen.metrics(factory):
            base = metric.split("{")[0]
            yield pytest.param(page, base, id=f"{name} {base}")


@pytest.mark.parametrize(("page", "metric"), list(_daemon_metrics()))
def test_every_daemon_metric_is_on_its_page(page: str, metric: str) -> None:
    assert metric in (DOCS / page).read_text(encoding="utf-8"), f"{metric} not in docs/{page}"


def _spec_fields() -> Iterator[Any]:
    """Every field of every model under `specs`, by the key users write (its alias)."""
    for model in spec_models():
        for field_name, field in model.model_fields.items():
            key = field.alias or field_name
            yield pytest.param(key, id=f"{model.__name__}.{key}")


SPEC_WORDS = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*",
                            _code((DOCS / "specs.md").read_text(encoding="utf-8"))))


@pytest.mark.parametrize("key", list(_spec_fields()))
def test_every_spec_field_is_in_specs_md(key: str) -> None:
    assert key in SPEC_WORDS, f"docs/specs.md never shows the field `{key}`"


# --- deployment examples -------------------------------------------------------------

def _documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d is not None]


def test_examples_exist() -> None:
    names = {p.relative_to(EXAMPLES).as_posix() for p in YAML_FILES}
    assert {"compose.yaml", "kubernetes/prometheus.yaml", "kubernetes/server.yaml"} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_example_yaml_parses(path: Path) -> None:
    assert _documents(path)


COMPOSE_KEYS = {"name", "services", "volumes", "secrets", "networks", "configs"}


@pytest.mark.parametrize("name", ["compose.yaml", "compose-ha.yaml"])
def test_compose_structure(name: str) -> None:
    [compose] = _documents(EXAMPLES / name)
    assert set(compose) - COMPOSE_KEYS <= {k for k in compose if k.startswith("x-")}
    services: dict[str, Any] = compose["services"]
    volumes = set(compose.get("volumes", {}))
    secrets = set(compose.get("secrets", {}))
    for name, service in services.items():
        assert "image" in service, name
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: undeclared volume {source}"
            else:
                assert (EXAMPLES / source).exists(), f"{name}: {source} is not in docs/examples"
        assert set(service.get("secrets", [])) <= secrets, name
        assert set(service.get("depends_on", {})) <= set(services), name
        if CONVERGE_IMAGE.search(service["image"]):
            check_converge_args(service["command"])


def test_compose_prometheus_reads_what_its_sidecar_publishes() -> None:
    [compose] = _documents(EXAMPLES / "compose.yaml")
    [prometheus] = _documents(EXAMPLES / "prometheus.yml")
    sidecar = check_converge_args(compose["services"]["prometheus-sidecar"]["command"])
    assert f"{sidecar.params['dest']}/*.yaml" in prometheus["rule_files"]


def _kubernetes() -> Iterator[Any]:
    for path in sorted((EXAMPLES / "kubernetes").glob("*.yaml")):
        for index, document in enumerate(_documents(path)):
            yield pytest.param(document, id=f"{path.name}#{index}:{document.get('kind')}")


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    if document["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
        return []
    containers: list[dict[str, Any]] = document["spec"]["template"]["spec"]["containers"]
    return containers


@pytest.mark.parametrize("document", list(_kubernetes()))
def test_kubernetes_manifest(document: dict[str, Any]) -> None:
    assert isinstance(document.get("apiVersion"), str)
    assert isinstance(document.get("kind"), str)
    assert isinstance(document.get("metadata", {}).get("name"), str)
    for container in _containers(document):
        if CONVERGE_IMAGE.search(container["image"]):
            check_converge_args(container["args"])
        mounts = {m["name"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"] for v in document["spec"]["template"]["spec"].get("volumes", [])}
        assert mounts <= volumes, container["name"]


def test_kubernetes_sidecar_shares_an_empty_dir_with_prometheus() -> None:
    [deployment] = [d for d in _documents(EXAMPLES / "kubernetes" / "prometheus.yaml")
                    if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    by_name = {c["name"]: c for c in pod["containers"]}
    sidecar = check_converge_args(by_name["converge-sidecar"]["args"])
    shared = [v["name"] for v in pod["volumes"] if "emptyDir" in v]
    for name in ("prometheus", "converge-sidecar"):
        mounts = {m["name"]: m["mountPath"] for m in by_name[name]["volumeMounts"]}
        assert any(mounts.get(volume) == str(sidecar.params["dest"].parent)
                   for volume in shared), name


@pytest.mark.parametrize("path", sorted((EXAMPLES / "systemd").glob("*.service")),
                         ids=lambda p: p.name)
def test_systemd_units_run_real_commands(path: Path) -> None:
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    [exec_start] = [line.split("=", 1)[1] for line in text.splitlines()
                    if line.startswith("ExecStart=")]
    args = shlex.split(exec_start)
    assert args[0].endswith("/converge")
    check_converge_args(args[1:])
    assert re.search(r"^\[Install\]$", text, flags=re.MULTILINE)


def _prometheus_configs() -> Iterator[Any]:
    yield pytest.param((EXAMPLES / "prometheus.yml").read_text(encoding="utf-8"),
                       id="prometheus.yml")
    for document in _documents(EXAMPLES / "kubernetes" / "prometheus.yaml"):
        if document["kind"] == "ConfigMap":
            yield pytest.param(document["data"]["prometheus.yml"], id="kubernetes ConfigMap")


@pytest.mark.realtools
@pytest.mark.parametrize("text", list(_prometheus_configs()))
def test_prometheus_configs_pass_promtool(text: str, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(text, encoding="utf-8")
    realtools.tool("promtool")
    result = realtools.run("promtool", "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
