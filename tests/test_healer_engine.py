"""The healer against a real engine: podman's Docker API and busybox containers.

In-process tests drive `Healer.step` with the real engine adapter, probes, SQLite records
and an HTTP event sink; subprocess tests run `converge healer` itself (SIGKILL and
restart, engine errors). Intervals are fractions of a second so the suite stays short.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from engine import Containers, Engine, free_port

from converge.reconciler.core.status import Status
from converge.reconciler.healer.config import CheckSettings, Policy, Selector
from converge.reconciler.healer.engine import DockerEngine
from converge.reconciler.healer.events import HttpEventSink, Outbox
from converge.reconciler.healer.healer import Healer
from converge.reconciler.healer.metrics import HealerMetrics
from converge.reconciler.healer.probes import Prober
from converge.reconciler.healer.records import Records

CONVERGE = str(Path(sys.executable).parent / "converge")


class EventSinkServer:
    """A local HTTP server that stands in for the notifier's events endpoint."""

    def __init__(self, *, status: int = 200) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.paths.append(self.path)
                sink.events.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def levels(self, level: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["level"] == level]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def sink() -> Iterator[EventSinkServer]:
    server = EventSinkServer()
    yield server
    server.close()


@dataclasses.dataclass
class Rig:
    healer: Healer
    records: Records
    sink: HttpEventSink

    def drive(self, until: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: "
                                     f"{self.healer.status.snapshot()['facts']}")
            self.healer.step()
            time.sleep(0.05)

    def run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.healer.step()
            time.sleep(0.05)

    def track(self, container_id: str) -> Any:
        return self.healer.tracks.get(container_id)


@pytest.fixture
def rig_factory(engine: Engine, tmp_path: Path,
                sink: EventSinkServer) -> Iterator[Callable[[Policy], Rig]]:
    made: list[tuple[Rig, DockerEngine, Prober]] = []

    def make(policy: Policy) -> Rig:
        adapter = DockerEngine(engine.url)
        prober = Prober(adapter)
        records = Records(tmp_path / f"healer-{len(made)}.db")
        status = Status("healer")
        metrics = HealerMetrics(__import__("prometheus_client").CollectorRegistry())
        http_sink = HttpEventSink(sink.url)
        healer = Healer(engine=adapter, checker=prober, records=records,
                        outbox=Outbox(http_sink), metrics=metrics, status=status,
                        policies=lambda: (policy,))
        rig = Rig(healer, records, http_sink)
        made.append((rig, adapter, prober))
        return rig

    yield make
    for rig, adapter, prober in made:
        rig.healer.close()
        prober.close()
        adapter.close()
        rig.sink.close()
        rig.records.close()


def selecting(containers: Containers, **changes: Any) -> Policy:
    key, value = containers.label.split("=")
    base = Policy(name="test", selector=Selector(labels=((key, value),)),
                  check=CheckSettings(interval=0.3, timeout=0.25), failure_threshold=2,
                  max_restarts=3, window=600, backoff_initial=0.3, verify_timeout=10)
    return dataclasses.replace(base, **changes)


def test_failing_http_endpoint_is_restarted_and_recovers(
        containers: Containers, rig_factory: Callable[[Policy], Rig],
        sink: EventSinkServer) -> None:
    port = free_port()
    web = containers.run(["sh", "-c", "mkdir -p /www && echo ok > /www/health && "
                          f"exec httpd -f -p 127.0.0.1:{port} -h /www"])
    policy = selecting(containers, check=CheckSettings(
        type="http", interval=0.3, timeout=0.25, port=port, path="/health", body_match="^ok"))
    rig = rig_factory(policy)
    rig.drive(lambda: getattr(rig.track(web.id), "phase", None) == "healthy", timeout=20,
              what="healthy")
    assert web.exec_run(["rm", "/www/health"]).exit_code == 0
    rig.drive(lambda: rig.track(web.id).total_restarts == 1, timeout=20, what="a restart")
    rig.drive(lambda: rig.track(web.id).phase == "healthy", timeout=20, what="recovery")
    assert httpx.get(f"http://127.0.0.1:{port}/health").text == "ok\n"
    records = {r["failure_type"]: r for r in rig.records.history(container=web.id)}
    assert records["health_check_failed"]["message"].endswith("HTTP 404")
    assert records["health_check_failed"]["action_result"] == "success"
    assert records["health_check_failed"]["resolved_at"] is not None
    assert records["auto_restart"]["action_result"] == "success"
    assert [(e["labels"]["type"], e["level"], e["status"]) for e in sink.events] == [
        ("auto_restart", "warning", "firing"), ("recovered", "info", "resolved")]
    assert sink.paths == ["/api/v1/events"] * 2


def _run_healthcheck(container_id: str) -> None:
    """What podman's systemd timer would do (there is no systemd here): run the image's
    HEALTHCHECK once, which updates the health status the Docker API reports."""
    podman = shutil.which("podman") or "/usr/bin/podman"
    subprocess.run([podman, "healthcheck", "run", container_id], capture_output=True,
                   timeout=30, check=False)


def test_an_unhealthy_docker_healthcheck_is_restarted(
        containers: Containers, rig_factory: Callable[[Policy], Rig],
        sink: EventSinkServer) -> None:
    """`check.type: docker-health` on podman's real health status: healthy, then the
    HEALTHCHECK fails (unhealthy), one restart, healthy again."""
    app = containers.run(["sh", "-c", "echo ok > /tmp/ok; exec sleep 300"],
                         healthcheck={"test": ["CMD-SHELL", "cat /tmp/ok"], "retries": 1})
    policy = selecting(containers, check=CheckSettings(type="docker-health", interval=0.3,
                                                       timeout=0.25))
    rig = rig_factory(policy)

    def checked(until: Callable[[], bool]) -> Callable[[], bool]:
        def step() -> bool:
            _run_healthcheck(app.id)
            return until()
        return step

    rig.drive(checked(lambda: getattr(rig.track(app.id), "phase", None) == "healthy"),
              timeout=30, what="healthy")
    assert app.exec_run(["rm", "/tmp/ok"]).exit_code == 0
    rig.drive(checked(lambda: rig.track(app.id).total_restarts == 1), timeout=30,
              what="a restart of the unhealthy container")
    rig.drive(checked(lambda: rig.track(app.id).phase == "healthy"), timeout=30,
              what="healthy after the restart")
    records = {r["failure_type"]: r for r in rig.records.history(container=app.id)}
    assert records["health_check_failed"]["message"] == "Docker health status: unhealthy"
    assert records["health_check_failed"]["resolved_at"] is not None
    assert records["auto_restart"]["action_result"] == "success"
    assert [e["labels"]["type"] for e in sink.events] == ["auto_restart", "recovered"]


def test_crash_loop_exhausts_the_budget_with_one_critical_event(
        engine: Engine, containers: Containers, rig_factory: Callable[[Policy], Rig],
        sink: EventSinkServer) -> None:
    crash = containers.run(["sh", "-c", "sleep 0.5; exit 3"])
    rig = rig_factory(selecting(containers, failure_threshold=1, max_restarts=2))
    rig.drive(lambda: getattr(rig.track(crash.id), "phase", None) == "budget_exhausted",
              timeout=30, what="budget exhausted")
    rig.run_for(2.0)
    assert rig.track(crash.id).total_restarts == 2
    crash.reload()
    assert crash.status == "exited"
    assert len(sink.levels("critical")) == 1
    critical = sink.levels("critical")[0]
    assert critical["labels"]["type"] == "restart_limit_exceeded"
    assert critical["source"] == "healer" and "budget spent" in critical["text"]
    assert critical["labels"]["container"] == crash.name
    types = [r["failure_type"] for r in rig.records.history(container=crash.id)]
    assert types.count("restart_limit_exceeded") == 1
    assert types.count("auto_restart") == 2
    status = rig.healer.status.snapshot()["facts"]
    assert status["states"] == {"budget_exhausted": 1}


def test_a_container_stopped_on_purpose_or_opted_out_is_left_alone(
        containers: Containers, rig_factory: Callable[[Policy], Rig]) -> None:
    stopped = containers.run(["sleep", "1000"])
    graceful = containers.run(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; "
                               "done"], stop_signal="TERM")
    opted = containers.run(["sh", "-c", "sleep 0.3; exit 1"],
                           labels={"converge.healer/ignore": "true"})
    rig = rig_factory(selecting(containers, failure_threshold=1))
    rig.drive(lambda: getattr(rig.track(stopped.id), "phase", None) == "healthy"
              and getattr(rig.track(graceful.id), "phase", None) == "healthy",
              timeout=20, what="healthy")
    stopped.stop(timeout=1)
    graceful.stop(timeout=5)
    rig.run_for(2.0)
    for container in (stopped, graceful, opted):
        container.reload()
        assert container.status == "exited", container.name
        assert rig.track(container.id).total_restarts == 0
        assert rig.records.history(container=container.id) == []
    assert rig.track(stopped.id).phase == "stopped"
    assert rig.track(opted.id).phase == "ignored"


def _compile(tmp_path: Path, policy_yaml: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "converge.yaml").write_text(
        "apiVersion: converge/v1\nkind: Project\nmetadata: {name: t}\nspec: {}\n")
    (repo / "healing.yaml").write_text(policy_yaml)
    out = tmp_path / "out"
    subprocess.run([CONVERGE, "compile", str(repo), "-o", str(out)], check=True,
                   capture_output=True, timeout=60)
    return out


TOKEN = "healer-test-token"


class Daemon:
    """`converge healer` as a subprocess on a free port (see the `daemons` fixture)."""

    def __init__(self, *args: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp_path / f"healer-{self.port}.log").open("wb")
        token_file = tmp_path / f"healer-{self.port}.token"
        token_file.write_text(f"# the history API's token\n{TOKEN}\n", encoding="utf-8")
        self.process = subprocess.Popen(
            [CONVERGE, "healer", *args, "--listen", f"127.0.0.1:{self.port}",
             "--token-file", str(token_file)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "CONVERGE_DEBUG": "1"})
        deadline = time.monotonic() + 30
        while not self.get("/health/live"):
            assert self.process.poll() is None, "the healer exited"
            assert time.monotonic() < deadline, "the healer did not start"
            time.sleep(0.1)

    def get(self, path: str) -> Any:
        try:
            response = httpx.get(self.url + path, timeout=5,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        except httpx.HTTPError:
            return None
        return response.json() if path != "/metrics" else response.text

    def facts(self) -> dict[str, Any]:
        status = self.get("/status")
        return status["facts"] if status else {}

    def wait(self, until: Callable[[dict[str, Any]], bool], *, timeout: float,
             what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            facts = self.facts()
            if until(facts):
                return facts
            assert self.process.poll() is None, "the healer exited"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {facts}"
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """Starts `converge healer` processes; kills any still running after the test."""
    started: list[Daemon] = []

    def start(*args: str) -> Daemon:
        started.append(Daemon(*args, tmp_path=tmp_path))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def _container_fact(facts: dict[str, Any], name: str) -> dict[str, Any]:
    return next((c for c in facts.get("containers", []) if c["name"] == name), {})


def test_killed_healer_keeps_history_and_budget(
        engine: Engine, containers: Containers, tmp_path: Path, sink: EventSinkServer,
        daemons: Callable[..., Daemon]) -> None:
    key, value = containers.label.split("=")
    bundle = _compile(tmp_path, f"""\
apiVersion: converge/v1
kind: HealingPolicy
metadata: {{name: crash}}
spec:
  selector: {{labels: {{{key}: "{value}"}}}}
  check: {{interval: 300ms, timeout: 200ms}}
  failureThreshold: 1
  restart: {{maxRestarts: 3, window: 10m, backoff: {{initial: 1s}}}}
""")
    db = tmp_path / "healer.db"
    args = ("--bundle", str(bundle), "--docker-host", engine.url, "--db", str(db),
            "--notifier-url", sink.url)
    crash = containers.run(["sh", "-c", "sleep 0.5; exit 3"])
    first = daemons(*args)
    first.wait(lambda f: _container_fact(f, crash.name).get("totalRestarts", 0) >= 1,
               timeout=30, what="a first restart")
    assert first.kill() == -signal.SIGKILL
    second = daemons(*args)
    facts = second.wait(lambda f: _container_fact(f, crash.name).get("phase")
                        == "budget_exhausted", timeout=40, what="budget exhausted")
    assert _container_fact(facts, crash.name)["totalRestarts"] == 3
    time.sleep(1.5)
    assert _container_fact(second.facts(), crash.name)["totalRestarts"] == 3
    metrics = second.get("/metrics")
    assert 'converge_healer_containers{state="budget_exhausted"} 1.0' in metrics
    assert "converge_healer_budget_exhausted_total 1.0" in metrics
    assert second.kill(signal.SIGTERM) == 0
    assert len(sink.levels("critical")) == 1
    history = subprocess.run([CONVERGE, "healer", "history", "--db", str(db), "--format",
                              "json"], capture_output=True, text=True, check=True, timeout=60)
    found = json.loads(history.stdout)
    types = [r["failure_type"] for r in found["records"]]
    assert types.count("auto_restart") == 3 and types.count("restart_limit_exceeded") == 1
    assert found["health"][0]["total_restarts"] == 3
    text = subprocess.run([CONVERGE, "healer", "history", "--db", str(db)],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert "restart_limit_exceeded" in text and crash.name in text


def test_engine_errors_back_off_without_crashing(tmp_path: Path,
                                                daemons: Callable[..., Daemon]) -> None:
    bundle = _compile(tmp_path, """\
apiVersion: converge/v1
kind: HealingPolicy
metadata: {name: any}
spec:
  selector: {labels: {app: web}}
  check: {interval: 1s, timeout: 500ms}
""")
    failing = EventSinkServer(status=500)  # answers every request with HTTP 500
    try:
        gone = daemons("--bundle", str(bundle), "--docker-host",
                       f"unix://{tmp_path}/no-such.sock", "--db", str(tmp_path / "a.db"))
        broken = daemons("--bundle", str(bundle), "--docker-host",
                         failing.url.replace("http://", "tcp://"),
                         "--db", str(tmp_path / "b.db"))
        for daemon, expected in ((gone, "no-such.sock"), (broken, "500")):
            facts = daemon.wait(lambda f: f.get("engine", {}).get("ok") is False, timeout=20,
                                what="an engine error")
            assert expected in facts["engine"]["error"]
            time.sleep(1.5)
            status = daemon.get("/status")
            assert status["ready"] is False
            reconciling = next(c for c in status["conditions"] if c["type"] == "Reconciling")
            assert reconciling["reason"] == "Retrying"
            assert daemon.get("/health/live") == {"status": "alive"}
            assert "converge_healer_engine_up 0.0" in daemon.get("/metrics")
            assert daemon.kill(signal.SIGTERM) == 0
    finally:
        failing.close()
