"""One scaler managing 50 worker pools at a 15 s interval: the decision loop's cost, and
how fast a pool grows when its gauge crosses the threshold.

Starts its own podman Docker API service (`scripts/install-tools --with-podman`) and a real
Prometheus scraping a small exporter every second (one `bench_queue{pool}` gauge per
pool). Runs `Scaler.step` in-process every 15 s over 50 pools (min 1, max 3, target 10
per replica, queries every 15 s). Measures each pass's decision time — decisions and
plans for every pool, without Prometheus queries or engine calls (target: under 100 ms)
— then raises three pools' gauges past the threshold at different phases of the interval
and measures from the crossing to the new container's `State.StartedAt` (target: under
interval + 5 s = 20 s). Prints the figures and the machine's load; results go to
`results/scaler.json`.

    .venv/bin/python benchmarks/bench_scaler.py [--pools 50] [--cycles 4] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bench_healer
import docker
import httpx

from converge.reconciler.core.events import LogSink, Outbox
from converge.reconciler.core.metrics import registry
from converge.reconciler.core.status import Status
from converge.reconciler.scaler.config import Direction, Metric, Pool
from converge.reconciler.scaler.engine import DockerEngine
from converge.reconciler.scaler.metrics import ScalerMetrics
from converge.reconciler.scaler.metrics_source import PrometheusSource
from converge.reconciler.scaler.records import Records
from converge.reconciler.scaler.scaler import Scaler

ROOT = Path(__file__).resolve().parent.parent
INTERVAL = 15.0
DECIDE_TARGET = 0.100
LATENCY_TARGET = INTERVAL + 5.0
LABEL = "converge.bench/scaler"


class Exporter:
    def __init__(self, pools: int) -> None:
        self.values = {f"p-{n:02d}": 0.0 for n in range(pools)}
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = "".join(f'bench_queue{{pool="{p}"}} {v}\n'
                               for p, v in exporter.values.items()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_prometheus(tmp: Path, exporter: Exporter) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("prometheus is not installed: run scripts/install-tools")
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: bench\n"
        f"    static_configs: [{{targets: ['{exporter.address}']}}]\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, f"--config.file={tmp / 'prometheus.yml'}",
                                f"--storage.tsdb.path={tmp / 'tsdb'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("prometheus did not start")
        time.sleep(0.2)


def pools(count: int) -> list[Pool]:
    return [Pool(name=f"p-{n:02d}", spec_hash=f"{n:064d}", image=bench_healer.IMAGE,
                 command=("sleep", "1000000"), min=1, max=3,
                 metrics=(Metric(f'sum(bench_queue{{pool="p-{n:02d}"}})', 10.0),),
                 interval=INTERVAL, scale_up=Direction(0.0, 4, INTERVAL),
                 scale_down=Direction(300.0, 1, INTERVAL), stop_grace_period=1.0)
            for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scaler-") as workdir:
        tmp = Path(workdir)
        with bench_healer.podman_service(tmp) as url:
            exporter = Exporter(args.pools)
            prometheus, prom_url = start_prometheus(tmp, exporter)
            try:
                result = _run(url, prom_url, tmp, exporter, args)
            finally:
                prometheus.terminate()
                prometheus.wait(30)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        (ROOT / "benchmarks" / "results" / "scaler.json").write_text(
            json.dumps(result, indent=2) + "\n")
    return 0 if result["pass"] else 1


def _run(url: str, prom_url: str, tmp: Path, exporter: Exporter,
         args: argparse.Namespace) -> dict[str, Any]:
    client = docker.DockerClient(base_url=url, version="1.41", timeout=120)
    engine = DockerEngine(url, network="host", labels={LABEL: "1"})
    configured = pools(args.pools)
    metrics = ScalerMetrics(registry())
    scaler = Scaler(engine=engine, source=PrometheusSource(prom_url), metrics=metrics,
                    records=Records(tmp / "scaler.db"), outbox=Outbox(LogSink("scaler")),
                    status=Status("scaler"), pools=lambda: configured)
    passes: list[dict[str, float]] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            scaler.step()
            t = scaler.timings
            passes.append({"decide": t.decide, "queries": t.queries, "engine": t.engine,
                           "total": t.total})
            stop.wait(INTERVAL)

    thread = threading.Thread(target=loop, daemon=True)
    time.sleep(2.0)  # a first scrape
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while len(_running(client)) < args.pools:
            if time.monotonic() > deadline:
                raise SystemExit("the pools did not reach their minimum")
            time.sleep(1)
        warm = len(passes)
        while len(passes) < warm + args.cycles:
            time.sleep(1)
        steady = passes[warm:]
        latencies = []
        for n, offset in enumerate((0.0, 5.0, 10.0)):
            pool = f"p-{n:02d}"
            time.sleep(offset)
            crossed = time.time()
            exporter.values[pool] = 25.0
            latencies.append(_until_grown(client, pool, crossed))
    finally:
        stop.set()
        thread.join(INTERVAL + 30)
        for container in client.api.containers(all=True, filters={"label": LABEL}):
            client.api.remove_container(container["Id"], force=True)
        scaler.close()
    decide_ms = [p["decide"] * 1000 for p in steady]
    result = {
        "pools": args.pools, "interval": INTERVAL,
        "decide_ms": {"max": round(max(decide_ms), 2),
                      "median": round(statistics.median(decide_ms), 2)},
        "queries_ms_median": round(statistics.median(p["queries"] * 1000 for p in steady), 1),
        "engine_ms_median": round(statistics.median(p["engine"] * 1000 for p in steady), 1),
        "pass_ms_max": round(max(p["total"] * 1000 for p in steady), 1),
        "crossing_to_running_s": [round(x, 2) for x in latencies],
        "targets": {"decide_ms": DECIDE_TARGET * 1000, "crossing_to_running_s": LATENCY_TARGET},
        "machine": {"cpus": os.cpu_count(), "load": bench_healer.load()},
    }
    result["pass"] = (max(decide_ms) < DECIDE_TARGET * 1000
                      and max(latencies) < LATENCY_TARGET)
    return result


def _running(client: docker.DockerClient, pool: str | None = None) -> list[dict[str, Any]]:
    labels = [LABEL] + ([f"converge.scaler/pool={pool}"] if pool else [])
    return list(client.api.containers(filters={"label": labels}))


def _until_grown(client: docker.DockerClient, pool: str, crossed: float) -> float:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _running(client, pool)
        if len(found) >= 3:
            started = [bench_healer._timestamp(client.api.inspect_container(c["Id"])
                                               ["State"]["StartedAt"]) for c in found]
            return max(started) - crossed
        time.sleep(0.2)
    return float("inf")


if __name__ == "__main__":
    raise SystemExit(main())
