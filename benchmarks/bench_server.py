"""Load the config server as a fleet of sidecars does: N sidecars, each sending one
conditional GET a second, and report the latency the server answers with.

    python benchmarks/bench_server.py [--sidecars 500] [--rate 1] [--seconds 30]
                                      [--rules 0|N] [--compile-every 0|S] [--clients 4]
                                      [--compile-in process|thread]

Starts a real `converge serve` (bearer-token auth on, as in production) on a Git
repository in a temporary folder: `repo-example/` by default, or a generated repository
of N rules (`--rules`, see generate.py). Each simulated sidecar fetches its target once
(200, the full body) and then sends `If-None-Match` with the ETag it holds, at `--rate`
requests a second on its own phase, over its own keep-alive connection — as a fleet of
sidecars polling every second would. The load runs in `--clients` separate processes so
the generator's own event loop does not queue the requests it times.

With `--compile-every S`, a commit lands on the served branch every S seconds and the
server is triggered at once, so the latencies include requests answered while a commit
compiles in the server's worker thread (the GIL is shared with the event loop).

Prints p50 / p90 / p99 / max latency as the sidecars see it, the achieved rate, status
counts, errors, the server's RSS and CPU, the server's own handler-time p99 (from its
`/metrics` histogram) and the machine's load average (a shared machine inflates the
client-side figures: the generator and the server compete for the same CPUs); merges
the figures into `results/server.json` (`--no-write` to skip).
Exit status 0 when every request succeeded, whatever the latency (a report, not a gate);
1 when any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "server.json"
TOKEN = "bench-token"
TARGETS = ("prometheus", "vmalert", "alertmanager")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(directory: Path, rules: int) -> Path:
    """A Git repository of specs: repo-example, or `rules` generated rules."""
    repo = directory / "specs"
    if rules:
        sys.path.insert(0, str(HERE))
        import generate

        generate.write(rules, repo, directory / "promtool")
    else:
        shutil.copytree(ROOT / "repo-example", repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com",
         "commit", "-q", "-m", "specs")
    return repo


def commit_change(repo: Path, number: int) -> None:
    """A new commit that changes the rendered rules (one more small group)."""
    (repo / f"bench-{number}.yaml").write_text(
        "apiVersion: converge/v1\nkind: RuleGroup\n"
        f"metadata: {{name: bench-{number}}}\n"
        "spec:\n  rules:\n"
        f"    - record: bench:change_{number}:sum\n      expr: sum(up)\n", encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com",
         "commit", "-q", "-m", f"change {number}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(workdir: Path, repo: Path, converge: Path,
                 compile_in: str = "process") -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "token").write_text(TOKEN + "\n", encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [str(converge), "serve", "--repo", str(repo), "--branch", "main",
         "--listen", f"127.0.0.1:{port}", "--interval", "1h",
         "--token-file", str(workdir / "token"), "--db", str(workdir / "state.db"),
         "--cache-dir", str(workdir / "git"), "--log-level", "warning",
         "--compile-in", compile_in],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"converge serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("converge serve never became ready")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_side_quantile(metrics_text: str, metric: str, q: float,
                         route: str | None = None) -> float | None:
    """The upper bound (ms) of the bucket holding quantile `q` of one of the server's own
    histograms: `request_duration_seconds` for `route` (handler time only), or
    `event_loop_lag_seconds` (how late the event loop wakes up)."""
    buckets: list[tuple[float, float]] = []
    for line in metrics_text.splitlines():
        if (line.startswith(f"converge_server_{metric}_bucket{{")
                and (route is None or f'route="{route}"' in line)):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for bound, count in sorted(buckets):
        if count >= q * total:
            return bound * 1000
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _sidecar(session: Any, url: str, target: str, *, period: float, until: float,
                   phase: float, samples: list[tuple[float, float, int]],
                   errors: list[str]) -> None:
    etag: str | None = None
    next_at = time.monotonic() + phase
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if etag:
            headers["If-None-Match"] = etag
        started = time.perf_counter()
        try:
            async with session.get(f"{url}/api/v1/bundles/{target}", headers=headers) as answer:
                await answer.read()
                elapsed = time.perf_counter() - started
                if answer.status in (200, 304):
                    etag = answer.headers.get("ETag", etag)
                else:
                    errors.append(f"HTTP {answer.status}")
                samples.append((time.time(), elapsed, answer.status))
        except Exception as error:  # every failure is counted, none stops the load
            errors.append(f"{type(error).__name__}: {error}")
        next_at += period


async def _client(url: str, sidecars: int, rate: float, seconds: float,
                  seed: int) -> tuple[list[tuple[float, float, int]], list[str]]:
    import aiohttp

    samples: list[tuple[float, float, int]] = []
    errors: list[str] = []
    rng = random.Random(seed)
    period = 1.0 / rate
    until = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(
            _sidecar(session, url, TARGETS[i % len(TARGETS)], period=period, until=until,
                     phase=rng.uniform(0, period), samples=samples, errors=errors)
            for i in range(sidecars)))
    return samples, errors


def _client_process(url: str, sidecars: int, rate: float, seconds: float, seed: int,
                    out: Any) -> None:
    samples, errors = asyncio.run(_client(url, sidecars, rate, seconds, seed))
    out.send((samples, errors))
    out.close()


def run_load(url: str, *, sidecars: int, rate: float, seconds: float,
             clients: int) -> tuple[list[tuple[float, float, int]], list[str]]:
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for index in range(clients):
        share = sidecars // clients + (1 if index < sidecars % clients else 0)
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_client_process,
                                  args=(url, share, rate, seconds, index, child))
        process.start()
        child.close()
        pipes.append(parent)
        processes.append(process)
    samples: list[tuple[float, float, int]] = []
    errors: list[str] = []
    for pipe, process in zip(pipes, processes, strict=True):
        got_samples, got_errors = pipe.recv()
        samples.extend(got_samples)
        errors.extend(got_errors)
        process.join()
    return samples, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(samples: list[tuple[float, float, int]], errors: list[str],
              seconds: float, warmup: float) -> dict[str, Any]:
    start = min((s[0] for s in samples), default=0.0)
    steady = [s for s in samples if s[0] >= start + warmup]
    latencies = [s[1] * 1000 for s in steady]
    codes: dict[str, int] = {}
    for sample in steady:
        codes[str(sample[2])] = codes.get(str(sample[2]), 0) + 1
    return {
        "requests": len(steady),
        "ratePerSecond": round(len(steady) / max(seconds - warmup, 1e-9), 1),
        "p50Ms": round(percentile(latencies, 50), 2),
        "p90Ms": round(percentile(latencies, 90), 2),
        "p99Ms": round(percentile(latencies, 99), 2),
        "maxMs": round(max(latencies, default=float("nan")), 2),
        "meanMs": round(statistics.fmean(latencies), 2) if latencies else None,
        "codes": codes,
        "errors": len(errors),
        "firstErrors": sorted(set(errors))[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sidecars", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1.0, help="requests a second per sidecar")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds left out of the figures (connections opening)")
    parser.add_argument("--rules", type=int, default=0, help="0: repo-example; N: generated")
    parser.add_argument("--compile-every", type=float, default=0.0,
                        help="commit and trigger a compile every S seconds during the load")
    parser.add_argument("--clients", type=int, default=4, help="load-generator processes")
    parser.add_argument("--compile-in", choices=["process", "thread"], default="process",
                        help="the server's --compile-in")
    parser.add_argument("--converge", type=Path, default=Path(sys.executable).parent / "converge")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="converge-bench-server-") as temp:
        workdir = Path(temp)
        repo = make_repo(workdir, args.rules)
        server, url = start_server(workdir, repo, args.converge, args.compile_in)
        compiles: list[float] = []
        try:
            import httpx

            body = httpx.get(f"{url}/api/v1/bundles/prometheus",
                             headers={"Authorization": f"Bearer {TOKEN}"}).content
            idle_rss = rss_mb(server.pid)
            committer = None
            if args.compile_every > 0:
                committer = _Committer(repo, url, args.compile_every, args.seconds, compiles)
                committer.start()
            load_before = os.getloadavg()[0]
            cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
            samples, errors = run_load(url, sidecars=args.sidecars, rate=args.rate,
                                       seconds=args.seconds, clients=args.clients)
            server_cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic()
                                                                    - wall_before)
            if committer is not None:
                committer.join()
            loaded_rss = rss_mb(server.pid)
            metrics_text = httpx.get(f"{url}/metrics").text
        finally:
            server.terminate()
            server.wait(30)
    figures = summarize(samples, errors, args.seconds, args.warmup)
    case = (f"{args.sidecars}x{args.rate:g}/s"
            + (f", {args.rules} rules" if args.rules else ", repo-example")
            + (f", compile every {args.compile_every:g}s in a {args.compile_in}"
               if args.compile_every else ""))
    result = {"case": case, "sidecars": args.sidecars, "ratePerSidecar": args.rate,
              "seconds": args.seconds, "rules": args.rules or "repo-example",
              "compileEverySeconds": args.compile_every or None,
              "compileIn": args.compile_in,
              "compilesDuringLoad": len(compiles),
              "compileSecondsMedian": round(statistics.median(compiles), 3) if compiles
              else None,
              "prometheusBodyBytes": len(body), "serverRssMbIdle": round(idle_rss, 1),
              "serverCpuPercent": round(100 * server_cpu, 1),
              "serverHandlerP99MsAtMost": server_side_quantile(
                  metrics_text, "request_duration_seconds", 0.99, "/api/v1/bundles/{target}"),
              "serverLoopLagP99MsAtMost": server_side_quantile(
                  metrics_text, "event_loop_lag_seconds", 0.99),
              "loadAverageAtStart": round(load_before, 2),
              "serverRssMbLoaded": round(loaded_rss, 1), **figures,
              "target": "p99 < 50 ms", "met": figures["p99Ms"] < 50 and not errors,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()},
              "date": datetime.date.today().isoformat()}
    print(f"{case}: {figures['requests']} requests at {figures['ratePerSecond']}/s; "
          f"p50 {figures['p50Ms']} ms, p90 {figures['p90Ms']} ms, p99 {figures['p99Ms']} ms, "
          f"max {figures['maxMs']} ms; codes {figures['codes']}; errors {figures['errors']}; "
          f"server RSS {idle_rss:.0f} MB idle, {loaded_rss:.0f} MB loaded; server CPU "
          f"{100 * server_cpu:.0f} %, handler p99 <= {result['serverHandlerP99MsAtMost']} ms, "
          f"event-loop lag p99 <= {result['serverLoopLagP99MsAtMost']} ms; "
          f"load average {load_before:.1f} on {os.cpu_count()} CPUs"
          + (f"; {len(compiles)} compiles, median {result['compileSecondsMedian']} s"
             if compiles else ""))
    if errors:
        print("errors:", *figures["firstErrors"], sep="\n  ")
    if not args.no_write:
        existing = json.loads(args.output.read_text()) if args.output.exists() else {}
        existing.setdefault("results", {})[case] = result
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    return 1 if errors else 0


class _Committer:
    """Commits and triggers every `every` seconds; records how long each compile took."""

    def __init__(self, repo: Path, url: str, every: float, seconds: float,
                 compiles: list[float]) -> None:
        import threading

        self._thread = threading.Thread(target=self._run, daemon=True)
        self.repo, self.url, self.every, self.seconds, self.compiles = (
            repo, url, every, seconds, compiles)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {TOKEN}"}
        until = time.monotonic() + self.seconds - self.every
        number = 0
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while time.monotonic() < until:
                time.sleep(self.every)
                number += 1
                commit_change(self.repo, number)
                before = client.get("/api/v1/compiles", params={"limit": 1}).json()
                last = before["compiles"][0]["id"] if before["compiles"] else 0
                client.post("/api/v1/config/sync/trigger", json={"reason": "bench"})
                while True:
                    found = client.get("/api/v1/compiles", params={"limit": 1}).json()
                    if found["compiles"] and found["compiles"][0]["id"] > last:
                        self.compiles.append(found["compiles"][0]["durationSeconds"])
                        break
                    time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main())
