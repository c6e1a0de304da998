"""Finding 5 of issue 15: a healing policy never selects every container, and an `exec`
check runs only in containers selected by an explicit label.

Seen on a real engine: a HealingPolicy with no selector matched every container, and its
`exec` check ran a spec-chosen command as root inside an unrelated container. The
compiler now refuses both (`healing/empty-selector`, `healing/exec-unlabelled`, each at
its line), and the healer refuses them again for a bundle that did not come from it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import valid_repo
from engine import Containers, Engine
from prometheus_client import CollectorRegistry

from converge.compiler import pipeline
from converge.reconciler.core.status import Status
from converge.reconciler.healer.config import CheckSettings, Policy, Selector
from converge.reconciler.healer.engine import DockerEngine
from converge.reconciler.healer.events import LogSink, Outbox
from converge.reconciler.healer.healer import Healer
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.healer.probes import Prober
from converge.reconciler.healer.records import Records
from converge.reconciler.healer.selectors import refusal


def _codes(spec: dict[str, Any]) -> list[tuple[str, int]]:
    docs = valid_repo.documents()
    docs.append({"apiVersion": "converge/v1", "kind": "HealingPolicy",
                 "metadata": {"name": "hostile"}, "spec": spec})
    result = pipeline.check([valid_repo.source(docs)])
    return [(d.code, d.line) for d in result.diagnostics if d.code.startswith("healing/")]


EXEC = {"type": "exec", "exec": {"command": ["sh", "-c", "touch /tmp/pwned"]}}


@pytest.mark.parametrize("spec, code", [
    pytest.param({}, "healing/empty-selector", id="no-selector"),
    pytest.param({"selector": {}}, "healing/empty-selector", id="empty-selector"),
    pytest.param({"selector": {"namePattern": "*"}}, "healing/empty-selector", id="star"),
    pytest.param({"selector": {"compose": {}}, "check": EXEC}, "healing/empty-selector",
                 id="empty-compose-exec"),
    pytest.param({"selector": {"namePattern": "web-*"}, "check": EXEC},
                 "healing/exec-unlabelled", id="exec-by-name"),
])
def test_the_compiler_refuses_selectors_that_reach_unrelated_containers(
        spec: dict[str, Any], code: str) -> None:
    found = _codes(spec)
    assert [c for c, _ in found] == [code]
    assert all(line >= 1 for _, line in found)


@pytest.mark.parametrize("spec", [
    pytest.param({"selector": {"labels": {"app": "web"}}, "check": EXEC}, id="exec-by-label"),
    pytest.param({"selector": {"compose": {"project": "shop"}}, "check": EXEC},
                 id="exec-by-compose"),
    pytest.param({"selector": {"namePattern": "web-*"}}, id="state-by-name"),
])
def test_explicit_selectors_compile(spec: dict[str, Any]) -> None:
    assert _codes(spec) == []


def test_the_healer_refuses_such_policies_on_a_real_engine(engine: Engine,
                                                          containers: Containers,
                                                          tmp_path: Path) -> None:
    bystander = containers.run(["sh", "-c", "exec sleep 300"])  # no policy meant it
    bystander.reload()
    command = CheckSettings(type="exec", interval=0.2, timeout=2.0,
                            command=("sh", "-c", "touch /tmp/pwned; exit 1"))
    policies = (Policy("a-everything", Selector(), check=command, failure_threshold=1),
                Policy("b-by-name", Selector(name_pattern=bystander.name), check=command,
                       failure_threshold=1))
    assert all(refusal(p) for p in policies)
    adapter = DockerEngine(engine.url)
    prober = Prober(adapter)
    records = Records(tmp_path / "healer.db")
    healer = Healer(engine=adapter, checker=prober, records=records,
                    outbox=Outbox(LogSink("healer")),
                    metrics=HealerMetrics(CollectorRegistry()), status=Status("healer"),
                    policies=lambda: policies)
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            healer.step()
            time.sleep(0.1)
        assert bystander.id not in healer.tracks
        assert not records.history(limit=10)
        refused = healer.status.snapshot()["facts"]["refusedPolicies"]
        assert sorted(refused) == ["a-everything", "b-by-name"]
        assert "empty" in refused["a-everything"] and "label" in refused["b-by-name"]
    finally:
        healer.close()
        prober.close()
        adapter.close()
        records.close()
    assert bystander.exec_run(["test", "-e", "/tmp/pwned"]).exit_code == 1
    bystander.reload()
    assert bystander.status == "running"
