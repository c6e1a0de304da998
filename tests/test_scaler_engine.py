"""The scaler against real parts: Prometheus scraping a test exporter every second, and
podman's Docker API running busybox containers.

`Scaler.step` runs in the test's thread with the real engine adapter, Prometheus source,
SQLite records and an HTTP event sink; windows are seconds so the suite stays short.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import realtargets
import realtools
from engine import IMAGE, Engine
from test_healer_engine import EventSinkServer

from converge.reconciler.core.events import HttpEventSink, Outbox
from converge.reconciler.core.metrics import registry
from converge.reconciler.core.status import Status
from converge.reconciler.core.stops import STOP_EXIT_CODES
from converge.reconciler.scaler.config import Direction, Metric, Pool
from converge.reconciler.scaler.engine import DockerEngine
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.metrics_source import PrometheusSource
from converge.reconciler.scaler.pools import POOL_LABEL
from converge.reconciler.scaler.records import Records
from converge.reconciler.scaler.scaler import Scaler


class Exporter:
    """A `/metrics` endpoint whose `test_queue_length` gauge the test sets."""

    def __init__(self) -> None:
        self.value = 0.0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = f"test_queue_length{{queue=\"jobs\"}} {exporter.value}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_prometheus(workdir: Path, exporter: Exporter) -> realtargets.Process:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                      "scrape_configs:\n  - job_name: queue\n    static_configs:\n"
                      f"      - targets: ['{exporter.address}']\n")
    port = realtargets.free_port()
    return realtargets._start("prometheus", [
        realtools.tool("prometheus"), f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn"], url=f"http://127.0.0.1:{port}", ready="/-/ready",
        workdir=workdir)


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    made = Exporter()
    yield made
    made.close()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory,
               exporter: Exporter) -> Iterator[realtargets.Process]:
    process = start_prometheus(tmp_path_factory.mktemp("prometheus"), exporter)
    yield process
    process.stop()


QUERY = 'sum(test_queue_length{queue="jobs"})'


def jobs_pool(**changes: Any) -> Pool:
    pool = Pool(name="jobs", spec_hash="a" * 64, image=IMAGE, command=("sleep", "3600"),
                env=(("MODE", "test"),), labels=(("app", "jobs"),), cpus=0.5, memory="64Mi",
                min=1, max=3, metrics=(Metric(QUERY, 10.0),), interval=0.5, tolerance=0.1,
                scale_up=Direction(0.0, 4, 1.0), scale_down=Direction(2.0, 4, 1.0),
                stop_grace_period=1.0)
    return dataclasses.replace(pool, **changes)


class Harness:
    """One in-process scaler: the real engine, Prometheus, records and event sink."""

    def __init__(self, engine: Engine, tmp_path: Path, prometheus_url: str,
                 pools: Callable[[], list[Pool]]) -> None:
        self.label = f"t-{time.monotonic_ns()}"
        self.engine = DockerEngine(engine.url, network="host", labels={
            "converge.test/session": engine.session, "converge.test/run": self.label})
        self.sink = EventSinkServer()
        self.status = Status("scaler")
        self.registry = registry()
        self.metrics = ScalerMetrics(self.registry)
        self.records = Records(tmp_path / "scaler.db")
        self.source = PrometheusSource(prometheus_url, timeout=2.0)
        self.outbox = Outbox(HttpEventSink(self.sink.url), daemon="scaler")
        self.scaler = Scaler(engine=self.engine, source=self.source, records=self.records,
                             outbox=self.outbox, metrics=self.metrics, status=self.status,
                             pools=pools, settle=1.0)
        self.client = engine.client

    def containers(self, *, running: bool = True) -> list[dict[str, Any]]:
        """Summaries (no inspect, so a container removed meanwhile never fails a listing)."""
        found = self.client.api.containers(all=not running, filters={
            "label": [POOL_LABEL, f"converge.test/run={self.label}"]})
        return list(found)

    def until(self, what: Callable[[], bool], *, timeout: float = 20.0,
              message: str = "") -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.scaler.step()
            if what():
                return
            if time.monotonic() > deadline:
                pytest.fail(f"timed out: {message}; status {self.status.snapshot()['facts']}")
            time.sleep(0.3)

    def running(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.containers()) == count

    def metric(self, name: str, **labels: str) -> float | None:
        value: float | None = self.registry.get_sample_value(name, labels)
        return value

    def close(self) -> None:
        self.scaler.close()
        self.source.close()
        for container in self.containers(running=False):
            with contextlib.suppress(Exception):
                self.client.api.remove_container(container["Id"], force=True)
        self.engine.close()
        self.records.close()
        self.sink.close()


@pytest.fixture
def harness_factory(engine: Engine, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(prometheus_url: str, pools: Callable[[], list[Pool]]) -> Harness:
        harness = Harness(engine, tmp_path, prometheus_url, pools)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def test_grows_with_the_gauge_shrinks_after_the_window_within_min_and_max(
        harness_factory: Callable[..., Harness], prometheus: realtargets.Process,
        exporter: Exporter) -> None:
    exporter.value = 0
    pool = jobs_pool()
    h = harness_factory(prometheus.url, lambda: [pool])
    h.until(h.running(1), message="min 1 container")
    container = h.containers()[0]
    attrs = h.client.api.inspect_container(container["Id"])
    assert attrs["Config"]["Labels"]["app"] == "jobs"
    assert "MODE=test" in attrs["Config"]["Env"]
    assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
    exporter.value = 25
    h.until(h.running(3), message="grown to 3 for a queue of 25")
    exporter.value = 500
    for _ in range(5):
        h.scaler.step()
        time.sleep(0.3)
    assert len(h.containers()) == 3, "never above max"
    assert h.metric("converge_scaler_desired_replicas", pool="jobs") == 3
    exporter.value = 0
    dropped = time.monotonic()
    h.until(h.running(1), message="shrunk to min after the window")
    assert time.monotonic() - dropped >= 2.0, "the scale-down window was honoured"
    assert h.metric("converge_scaler_decisions_total", pool="jobs", direction="up") >= 1
    assert h.metric("converge_scaler_decisions_total", pool="jobs", direction="down") >= 1
    assert h.metric("converge_scaler_metric_value", pool="jobs", metric="1") == 0
    history = h.records.history(pool="jobs")
    assert {d["direction"] for d in history} >= {"up", "down"}
    assert all(d["reason"] and "readings" in d["inputs"] for d in history)
    assert any(e["labels"]["direction"] == "up" and e["level"] == "info" for e in h.sink.events)


def test_recreates_a_container_removed_by_hand_and_replaces_out_of_date_ones(
        harness_factory: Callable[..., Harness], prometheus: realtargets.Process,
        exporter: Exporter) -> None:
    exporter.value = 15
    pools = [jobs_pool()]
    h = harness_factory(prometheus.url, lambda: pools)
    h.until(h.running(2), message="2 containers for a queue of 15")
    victim = h.containers()[0]["Id"]
    h.client.api.remove_container(victim, force=True)
    h.until(h.running(2), message="the removed container recreated")
    assert victim not in {c["Id"] for c in h.containers()}
    stopped = h.containers()[0]["Id"]
    h.client.api.stop(stopped, timeout=0)
    h.until(lambda: stopped not in {c["Id"] for c in h.containers(running=False)}
            and len(h.containers()) == 2, message="a container stopped by hand replaced")
    pools[0] = jobs_pool(spec_hash="b" * 64)
    lowest = 2

    def replaced() -> bool:
        nonlocal lowest
        current = h.containers()
        lowest = min(lowest, len(current))
        return len(current) == 2 and all(
            c["Labels"]["converge.scaler/spec-hash"] == "b" * 64 for c in current)

    h.until(replaced, message="rolling replacement to the new spec hash")
    assert lowest >= 2, "never fewer running than desired during the roll"


def test_scale_down_stops_are_deliberate_for_the_healer(
        harness_factory: Callable[..., Harness], engine: Engine) -> None:
    h = harness_factory("http://127.0.0.1:1", lambda: [jobs_pool(metrics=(), min=1)])
    h.until(h.running(1), message="a static pool at min")
    container = h.containers()[0]["Id"]
    h.engine.api.stop(container, timeout=1)  # what DockerEngine.remove does first
    code = h.client.api.inspect_container(container)["State"]["ExitCode"]
    assert code in STOP_EXIT_CODES


def test_holds_when_prometheus_stops(harness_factory: Callable[..., Harness],
                                     tmp_path: Path, exporter: Exporter) -> None:
    exporter.value = 15
    own = start_prometheus(tmp_path / "own-prometheus", exporter)
    try:
        h = harness_factory(own.url, lambda: [jobs_pool()])
        h.until(h.running(2), message="2 containers for a queue of 15")
    finally:
        own.stop()
    exporter.value = 0
    for _ in range(12):
        h.scaler.step()
        time.sleep(0.3)
    assert len(h.containers()) == 2, "held, never dropped to min"
    pool = h.status.snapshot()["facts"]["pools"][0]
    assert pool["mode"] == "hold" and pool["desired"] == 2 and pool["failures"] >= 3
    decisions = h.status.snapshot()["facts"]["decisions"]  # what the console shows
    assert decisions[0]["pool"] == "jobs" and decisions[0]["reason"]
    assert h.metric("converge_scaler_pool_mode", pool="jobs", mode="hold") == 1
    assert (h.metric("converge_scaler_source_errors_total", pool="jobs") or 0) >= 3
