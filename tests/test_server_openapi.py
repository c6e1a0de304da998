"""docs/openapi.yaml is the contract: every route the server registers is documented, and
real answers validate against the documented schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import server_harness as h
import yaml
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text("utf-8"))
_REGISTRY = referencing.Registry().with_resource(
    "urn:openapi", referencing.Resource(SPEC, specification=DRAFT202012))


def _validate(instance: object, schema_name: str) -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{schema_name}"}, registry=_REGISTRY,
        format_checker=jsonschema.FormatChecker())
    validator.validate(instance)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[h.RunningServer]:
    specs = h.SpecsRepo(tmp_path / "specs")
    running = h.RunningServer(h.settings(tmp_path, specs.root))
    yield running
    running.stop()
    specs.close()


def test_the_document_is_openapi_3_1_with_valid_schemas() -> None:
    assert SPEC["openapi"].startswith("3.1")
    for schema in SPEC["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_registered_route_is_documented(server: h.RunningServer) -> None:
    app = server.server.app()
    registered = {(route.method.lower(), route.resource.canonical)
                  for route in app.router.routes()
                  if route.method != "HEAD" and route.resource is not None}
    documented = {(method, path) for path, item in SPEC["paths"].items() for method in item}
    assert registered - documented == set()
    assert documented - registered == set()


def test_answers_match_the_documented_schemas(server: h.RunningServer) -> None:
    h.wait_for(lambda: server.anonymous.get("/health/ready").status_code == 200)
    client = server.client
    bundle = client.get("/api/v1/bundles/prometheus").json()
    _validate(bundle, "TargetBundle")
    _validate(client.get("/api/v1/bundles").json(), "BundleIndex")
    _validate(client.get("/api/v1/config/sync").json(), "ServerState")
    report = {"clusterId": "c-1", "target": "prometheus", "commit": bundle["commit"],
              "hash": bundle["hash"], "attemptedHash": bundle["hash"], "result": "success",
              "error": None, "converged": True, "durationSeconds": 0.1, "instance": "p-0"}
    _validate(report, "SyncReport")
    _validate(client.post("/api/v1/config/sync/status", json=report).json(),
              "SyncReportAccepted")
    for entry in client.get("/api/v1/clusters").json()["clusters"]:
        _validate(entry, "FleetEntry")
    for entry in client.get("/api/v1/config/sync/history").json()["history"]:
        _validate(entry, "SyncHistoryEntry")
    for entry in client.get("/api/v1/compiles").json()["compiles"]:
        _validate(entry, "CompileRecord")
    _validate(server.anonymous.get("/status").json(), "Status")
    _validate(server.anonymous.get("/health").json(), "HealthSummary")
    _validate(client.get("/api/v1/bundles/nothing").json(), "Error")
