"""Benchmark `converge notifier` intake: sustained Alertmanager load while delivering.

    python benchmarks/bench_notifier.py [--rate 100] [--alerts 10] [--seconds 20]

Starts a WeCom-like sink (its own process: answers errcode 0) and `converge notifier`
(its own process, outbox on local disk, `synchronous=FULL`), then posts Alertmanager
webhook payloads of ALERTS alerts at RATE requests per second for SECONDS on an open-loop
schedule (a request leaves at its time whatever the earlier ones did, so a slow notifier
shows up as latency, not as a lower rate). Each request's acknowledgement time is
measured from send to response. Afterwards it waits for the outbox to drain and reads the
notifier's own metrics.

Prints p50/p90/p99/max acknowledgement, errors, messages delivered, the notifier's RSS
(now and peak) and the machine's load average; merges the figures into
`benchmarks/results/notifier.json`. Target: 1,000 alerts/s (100 requests of 10 alerts)
with p99 under 50 ms. Exit status 0 when every request was acknowledged with 200 and
every message delivered (a missed latency target is reported, not an error).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "notifier.json"
ROOT = HERE.parent

SINK = """
import asyncio, sys
from aiohttp import web
async def send(request):
    await request.read()
    return web.json_response({"errcode": 0, "errmsg": "ok"})
app = web.Application()
app.router.add_post("/cgi-bin/webhook/send", send)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bundle(root: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    import notifierkit

    return notifierkit.write_bundle(root / "bundle", {"wc": {
        "type": "wecom", "key": {"env": "WECOM_KEY"},
        "rateLimit": {"messages": 1_000_000, "per": "1s"}}})


def _payload(number: int, alerts: int) -> bytes:
    items = [{"status": "firing",
              "labels": {"alertname": "HighCPU", "severity": "critical", "cluster": "prod",
                         "instance": f"host-{number}-{i}:9100", "job": "node"},
              "annotations": {"summary": f"CPU above 95% on host-{number}-{i}",
                              "description": "CPU usage is 97.3% (threshold 95%)."},
              "startsAt": "2024-05-01T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu",
              "fingerprint": f"{number:08x}{i:04x}"} for i in range(alerts)]
    return json.dumps({"version": "4", "groupKey": f'{{}}:{{group="{number}"}}',
                       "truncatedAlerts": 0, "status": "firing", "receiver": "wc",
                       "groupLabels": {"group": str(number)},
                       "commonLabels": {"alertname": "HighCPU", "severity": "critical"},
                       "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
                       "alerts": items}).encode()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def _wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        try:
            async with session.get(url + "/health/ready") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the notifier did not become ready")


async def _metric(session: aiohttp.ClientSession, url: str, name: str) -> float:
    async with session.get(url + "/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + "{", name + " ")))


async def _load(url: str, *, rate: float, alerts: int, seconds: float
                ) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        bodies = [_payload(n, alerts) for n in range(int(rate * seconds))]
        started = time.perf_counter()

        async def one(body: bytes) -> None:
            nonlocal errors
            sent = time.perf_counter()
            try:
                async with session.post(url + "/hooks/alertmanager/wc", data=body,
                                        headers={"Content-Type": "application/json"}) as answer:
                    await answer.read()
                    if answer.status != 200:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append(time.perf_counter() - sent)

        tasks = []
        for number, body in enumerate(bodies):
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    sink_port, port = _free_port(), _free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(sink_port)])
    bundle = _bundle(workdir)
    notifier = subprocess.Popen(
        [sys.executable, *(os.environ.get("BENCH_PYTHON_ARGS", "").split()), "-c",
         "import sys; from converge.compiler.commands.main import main; sys.exit(main())",
         "notifier", "--bundle", str(bundle), "--db", str(workdir / "outbox.db"),
         "--listen", f"127.0.0.1:{port}", "--base-url", f"wecom=http://127.0.0.1:{sink_port}",
         "--log-level", "error", "--insecure-no-auth", "--secret-env", "WECOM_KEY"],
        env={**os.environ, "WECOM_KEY": "k"},
        cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_ready(session, url)
            load_before = os.getloadavg()
            cpu_before = _cpu_seconds(notifier.pid)
            latencies, errors = await _load(url, rate=args.rate, alerts=args.alerts,
                                            seconds=args.seconds)
            load_after = os.getloadavg()
            rss_now, rss_peak = _rss_mb(notifier.pid)
            sent = int(args.rate * args.seconds)
            drained_at = time.perf_counter()
            delivered = 0.0
            while time.perf_counter() - drained_at < 120:
                delivered = await _metric(session, url, "converge_notifier_delivered_total")
                if delivered >= sent - errors:
                    break
                await asyncio.sleep(0.25)
            drain = time.perf_counter() - drained_at
            cpu = _cpu_seconds(notifier.pid) - cpu_before
    finally:
        notifier.terminate()
        notifier.wait(timeout=60)
        sink.terminate()
        sink.wait(timeout=30)
    return {
        "rate": args.rate, "alertsPerRequest": args.alerts, "seconds": args.seconds,
        "requests": len(latencies) + errors, "errors": errors,
        "alertsPerSecond": args.rate * args.alerts,
        "p50Ms": round(statistics.median(latencies) * 1000, 2),
        "p90Ms": round(_percentile(latencies, 0.90) * 1000, 2),
        "p99Ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "maxMs": round(max(latencies) * 1000, 2),
        "delivered": int(delivered), "drainSeconds": round(drain, 2),
        "notifierCpuSeconds": round(cpu, 2),
        "cpuMsPerRequest": round(cpu * 1000 / max(1, len(latencies)), 2),
        "rssMb": round(rss_now, 1), "peakRssMb": round(rss_peak, 1),
        "loadBefore": [round(x, 2) for x in load_before],
        "loadAfter": [round(x, 2) for x in load_after],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--alerts", type=int, default=10, help="alerts per request")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as folder:
        result = asyncio.run(_run(args, Path(folder)))
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "system": platform.platform()}
    verdict = "PASS" if result["p99Ms"] < 50 else "FAIL"
    print(f"intake: {result['requests']} requests ({result['alertsPerSecond']:.0f} alerts/s) "
          f"over {args.seconds:.0f}s, {result['errors']} errors")
    print(f"ack latency: p50 {result['p50Ms']} ms, p90 {result['p90Ms']} ms, "
          f"p99 {result['p99Ms']} ms ({verdict}: target < 50 ms), max {result['maxMs']} ms")
    print(f"delivered: {result['delivered']} messages (outbox drained "
          f"{result['drainSeconds']}s after the load)")
    print(f"notifier CPU: {result['notifierCpuSeconds']}s for intake and delivery "
          f"({result['cpuMsPerRequest']} ms per request)")
    print(f"notifier RSS: {result['rssMb']} MB (peak {result['peakRssMb']} MB)")
    print(f"load average: before {result['loadBefore']}, after {result['loadAfter']} "
          f"on {result['machine']['cpus']} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    expected = result["requests"] - result["errors"]
    return 0 if result["errors"] == 0 and result["delivered"] >= expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
