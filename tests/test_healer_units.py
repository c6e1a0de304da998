"""The healer's parts without an engine: policies from a bundle, selectors, records and MTBF,
the history command, and a pass over a fake engine (engine errors, restarts, events)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import valid_repo
from click.testing import CliRunner
from prometheus_client import CollectorRegistry

from converge.compiler.commands.main import main
from converge.reconciler.core.loop import TemporaryError
from converge.reconciler.core.status import Status
from converge.reconciler.healer.bundle import BundleError, BundleSource
from converge.reconciler.healer.config import CheckSettings, Policy, Selector
from converge.reconciler.healer.containers import (
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    Container,
    Verdict,
)
from converge.reconciler.healer.engine import DockerEngine, EngineError, _timestamp
from converge.reconciler.healer.events import Event, Outbox
from converge.reconciler.healer.healer import Healer
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.healer.policy import Record, Track
from converge.reconciler.healer.records import Records
from converge.reconciler.healer.selectors import matches, policy_for

WEB = Container("c1", "shop-web-1", {COMPOSE_PROJECT: "shop", COMPOSE_SERVICE: "web",
                                     "tier": "critical"}, "running")


def test_policies_come_from_a_compiled_bundle(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "specs.yaml").write_bytes(valid_repo.dump(valid_repo.documents()))
    compiled = CliRunner().invoke(main, ["compile", str(repo), "-o", str(tmp_path / "out")])
    assert compiled.exit_code == 0, compiled.output
    [policy] = BundleSource(str(tmp_path / "out")).load()
    assert policy.name == "critical"
    assert policy.check == CheckSettings(type="http", interval=10, timeout=2, port=8080,
                                         path="/health")
    assert (policy.failure_threshold, policy.max_restarts, policy.window) == (2, 10, 600)
    assert (policy.backoff_initial, policy.backoff_max, policy.reset_after) == (10, 300, 600)
    assert policy.channels == ("oncall",) and policy.alert_level == "critical"
    (tmp_path / "out" / "reconciler" / "healing.json").write_text('{"policies": []}')
    with pytest.raises(BundleError, match="SHA-256"):
        BundleSource(str(tmp_path / "out")).load()
    with pytest.raises(BundleError, match="not a compiled bundle"):
        BundleSource(str(tmp_path / "nothing")).load()


@pytest.mark.parametrize(("selector", "selected"), [
    pytest.param(Selector(), False, id="empty-selects-none"),
    pytest.param(Selector(name_pattern="**"), False, id="star-glob-is-empty"),
    pytest.param(Selector(labels=(("tier", "critical"),)), True, id="label"),
    pytest.param(Selector(labels=(("tier", "low"),)), False, id="other-label"),
    pytest.param(Selector(compose_project="shop", compose_service="web"), True, id="compose"),
    pytest.param(Selector(compose_project="shop", compose_service="db"), False,
                 id="other-service"),
    pytest.param(Selector(name_pattern="shop-*"), True, id="glob"),
    pytest.param(Selector(name_pattern="shop-*", labels=(("tier", "low"),)), False,
                 id="every-part"),
])
def test_selectors(selector: Selector, selected: bool) -> None:
    assert matches(selector, WEB) is selected


def test_the_first_policy_by_name_wins() -> None:
    policies = [Policy("a", Selector(name_pattern="other-*")),
                Policy("b", Selector(name_pattern="shop-*")),
                Policy("c", Selector(name_pattern="shop-web*"))]
    assert policy_for(policies, WEB) == policies[1]


def test_engine_timestamps() -> None:
    assert _timestamp("1970-01-01T00:00:10.5Z") == 10.5
    assert _timestamp("1970-01-01T01:00:10.123456789+01:00") == pytest.approx(10.123456789)
    assert _timestamp("0001-01-01T00:00:00Z") is None


def test_records_history_health_and_mtbf(tmp_path: Path) -> None:
    records = Records(tmp_path / "h.db")
    for when in (100.0, 400.0, 1000.0):
        records.write(WEB, "p", [Record("container_stopped", "exited 1", "restart", "pending",
                                        op="open")], now=when)
    records.write(WEB, "p", [Record("auto_restart", "restarted", "restart", "pending")],
                  now=1001.0)
    records.write(WEB, "p", [Record("auto_restart", "ok", "restart", "success",
                                    op="restart_done"),
                             Record("recovered", "ok", "none", "success", op="resolve")],
                  now=1005.0)
    records.save([(WEB, "p", Track(phase="healthy", total_restarts=1), 1005.0)])
    found = records.history(service="web")
    assert [r["failure_type"] for r in found] == ["auto_restart", "container_stopped",
                                                  "container_stopped", "container_stopped"]
    assert all(r["resolved_at"] == 1005.0 for r in found)
    assert found[0]["action_result"] == "success"
    assert records.mtbf() == {"web": 450.0}
    assert records.health()[0]["status"] == "healthy"
    assert records.tracks()["c1"] == Track(phase="healthy", total_restarts=1)
    records.close()
    reopened = Records(tmp_path / "h.db")
    assert len(reopened.history(container="shop-web-1")) == 4
    reopened.close()
    runner = CliRunner()
    text = runner.invoke(main, ["healer", "history", "--db", str(tmp_path / "h.db")])
    assert text.exit_code == 0, text.output
    assert "container_stopped" in text.output and "7m30s" in text.output
    data = json.loads(runner.invoke(main, ["healer", "history", "--db",
                                           str(tmp_path / "h.db"), "--format", "json",
                                           "--limit", "1"]).output)
    assert len(data["records"]) == 1 and data["mtbf"] == {"web": 450.0}
    missing = runner.invoke(main, ["healer", "history", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2


def test_healer_without_bundle_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["healer"])
    assert result.exit_code == 2 and "--bundle" in result.output


class FakeEngine:
    """An engine whose containers and failures the test sets."""

    def __init__(self, containers: list[Container]) -> None:
        self.list = containers
        self.error: str | None = None
        self.restarted: list[str] = []

    def containers(self) -> list[Container]:
        if self.error:
            raise EngineError(self.error)
        return self.list

    def restart(self, container: Container) -> None:
        if self.error:
            raise EngineError(self.error)
        self.restarted.append(container.id)

    def exec(self, container: Container, command: Sequence[str]) -> tuple[int, str]:
        return 0, ""

    def close(self) -> None:
        pass


class FakeChecker:
    def check(self, container: Container, settings: CheckSettings) -> Verdict:
        return Verdict.failed("health_check_failed", "HTTP 500")


class ListSink:
    def __init__(self) -> None:
        self.sent: list[Event] = []
        self.fail = False

    def send(self, event: Event) -> None:
        if self.fail:
            raise OSError("notifier down")
        self.sent.append(event)


def test_a_pass_on_a_virtual_clock(tmp_path: Path) -> None:
    now = [1000.0]
    engine = FakeEngine([WEB])
    sink = ListSink()
    status = Status("healer")
    policy = Policy("p", Selector(name_pattern="shop-*"),
                    check=CheckSettings(type="http", interval=10, port=80),
                    failure_threshold=2, max_restarts=1, window=600)
    healer = Healer(engine=engine, checker=FakeChecker(), records=Records(":memory:"),
                    outbox=Outbox(sink), metrics=HealerMetrics(CollectorRegistry()),
                    status=status, policies=lambda: [policy], clock=lambda: now[0])
    try:
        sink.fail = True
        for _ in range(10):
            healer.step()
            now[0] += 5
        assert engine.restarted == ["c1"]
        assert healer.outbox.pending == 2  # auto_restart, then the budget event, both kept
        sink.fail = False
        engine.error = "unix:///x.sock: connection refused"
        with pytest.raises(TemporaryError, match="connection refused"):
            now[0] += 10
            healer.step()
        facts = status.snapshot()["facts"]
        assert facts["engine"] == {"ok": False, "error": "unix:///x.sock: connection refused"}
        assert not status.ready
        engine.error = None
        now[0] += 10
        healer.step()
        assert status.ready
        assert [e.level for e in sink.sent] == ["warning", "critical"]
        assert facts["containers"][0]["phase"] == "budget_exhausted"
        failures = status.snapshot()["facts"]["failures"]  # the console's failure history
        assert failures and failures[0]["container"] == WEB.name
        assert {"time", "service", "type", "action", "result", "message"} <= set(failures[0])
        assert isinstance(status.snapshot()["facts"]["mtbf"], dict)
        assert [h["container_id"] for h in healer.records.health()] == ["c1"]
        engine.list = []  # removed: its health row goes, its records stay
        now[0] += 10
        healer.step()
        assert healer.records.health() == [] and healer.records.history()
    finally:
        healer.close()


def test_policy_dataclass_is_hashable_and_comparable() -> None:
    a = Policy("p")
    assert a == dataclasses.replace(a) and hash(a) == hash(dataclasses.replace(a))


def test_events_are_what_the_notifier_takes() -> None:
    from converge.reconciler.notifier import intake

    event = Event(level="critical", type="restart_limit_exceeded", message="budget spent",
                  container="shop-web-1", container_id="0123456789abcdef", service="web",
                  project="shop", policy="p", channels=("oncall",), time=0.0)
    taken = intake.event(event.to_json())
    assert taken["level"] == "critical" and taken["channels"] == ["oncall"]
    assert taken["labels"]["type"] == "restart_limit_exceeded"
    assert taken["status"] == "firing" and taken["time"] == "1970-01-01T00:00:00Z"
    recovered = dataclasses.replace(event, type="recovered", level="info", project="")
    assert intake.event(recovered.to_json())["status"] == "resolved"


class _ListingApi:
    """The two calls `DockerEngine.containers` makes, with one container whose health
    changes between passes, and a count of inspections."""

    def __init__(self, *, status_shows_health: bool, healthcheck: bool = True) -> None:
        self.health = "healthy"
        self.inspected = 0
        self.status_shows_health = status_shows_health
        self.healthcheck = healthcheck

    def containers(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        shown = f" ({self.health})" if self.status_shows_health and self.healthcheck else ""
        return [{"Id": "c1", "State": "running", "Status": f"Up 5 minutes{shown}"}]

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        self.inspected += 1
        state: dict[str, Any] = {"Status": "running", "StartedAt": "2024-01-01T00:00:00Z"}
        if self.healthcheck:
            state["Health"] = {"Status": self.health}
        return {"Id": container_id, "Name": "/app", "State": state, "Config": {"Labels": {}}}


@pytest.mark.parametrize(("docker_like", "healthcheck", "inspections"), [
    pytest.param(True, True, 2, id="docker-lists-health: inspect only on change"),
    pytest.param(False, True, 4, id="podman-lists-no-health: inspect every pass"),
    pytest.param(False, False, 1, id="no-healthcheck: inspect once"),
])
def test_the_engine_sees_health_changes_whether_or_not_the_list_shows_them(
        docker_like: bool, healthcheck: bool, inspections: int) -> None:
    engine = DockerEngine("unix:///nonexistent.sock")
    fake = _ListingApi(status_shows_health=docker_like, healthcheck=healthcheck)
    engine.api = fake  # type: ignore[assignment]
    seen = [engine.containers()[0].health]
    seen.append(engine.containers()[0].health)
    fake.health = "unhealthy"
    seen += [engine.containers()[0].health, engine.containers()[0].health]
    expected = ["healthy", "healthy", "unhealthy", "unhealthy"] if healthcheck else [""] * 4
    assert seen == expected
    assert fake.inspected == inspections
