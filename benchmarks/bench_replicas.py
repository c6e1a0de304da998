"""Replicas under load (issue 19): three `converge serve` replicas on one real PostgreSQL
against the single SQLite server, in the same run, under the same fleet.

    python benchmarks/bench_replicas.py [--sidecars 2000] [--rate 1] [--seconds 60]
                                        [--rules 10000] [--compile-every 10]
                                        [--replicas 3] [--clients 4]

Starts Debian's PostgreSQL in a temporary directory (initdb and pg_ctl as the `postgres`
user when run as root; tests/postgres_harness.py, which the fault tests use too), then
`--replicas` replicas of `converge serve --db postgresql://…` on a generated repository of
`--rules` rules. The simulated sidecars of bench_server.py (one conditional GET a second
each, on their own keep-alive connection) are spread evenly over the replicas, while a
commit lands and is triggered every `--compile-every` seconds, so the leader compiles the
repository meanwhile. Then the same load and commits against one `converge serve` on
SQLite. Prints and merges into `results/replicas.json`: latency percentiles, errors, CPU
per replica and of the single server (each with its compile child process), the database
connections open at most during the load (from `pg_stat_activity`), and the compiles
seen.

Exit status 0 when every request succeeded (a report, not a gate), 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "replicas.json"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import bench_server as bench  # noqa: E402
import postgres_harness  # noqa: E402


def start_replica(workdir: Path, repo: Path, converge: Path, db: str,
                  name: str) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "token").write_text(bench.TOKEN + "\n", encoding="utf-8")
    port = bench.free_port()
    process = subprocess.Popen(
        [str(converge), "serve", "--repo", str(repo), "--branch", "main",
         "--listen", f"127.0.0.1:{port}", "--interval", "10s",
         "--token-file", str(workdir / "token"), "--db", db,
         "--cache-dir", str(workdir / name / "git"), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def tree_cpu(pid: int) -> float:
    """CPU seconds of a server and its children (the compile runs in a child process)."""
    total = bench.cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += bench.cpu_seconds(int(stat.parent.name))
    return total


def wait_ready(urls: list[str], processes: list[subprocess.Popen[bytes]]) -> None:
    import httpx

    deadline = time.monotonic() + 300
    pending = set(urls)
    while pending and time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"converge serve exited with {process.returncode}")
        for url in list(pending):
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    pending.discard(url)
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"never ready: {sorted(pending)}")


class _Connections(threading.Thread):
    """Samples the database's client connections (its own excluded) every second."""

    def __init__(self, admin_url: str, database: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.database = admin_url, database
        self.most = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as db:
            while not self.stop.wait(1.0):
                row = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                 (self.database,)).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)


def load(urls: list[str], *, sidecars: int, rate: float, seconds: float,
         clients: int) -> tuple[list[tuple[float, float, int]], list[str]]:
    """bench_server's fleet, its sidecars spread evenly over `urls`."""
    results: list[tuple[list[tuple[float, float, int]], list[str]]] = []
    lock = threading.Lock()

    def drive(url: str, share: int) -> None:
        got = bench.run_load(url, sidecars=share, rate=rate, seconds=seconds,
                             clients=max(1, clients // len(urls)))
        with lock:
            results.append(got)

    threads = [threading.Thread(target=drive, args=(url, sidecars // len(urls)
                                                    + (1 if i < sidecars % len(urls) else 0)))
               for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ([s for got in results for s in got[0]], [e for got in results for e in got[1]])


def measure(urls: list[str], pids: list[int], repo: Path, args: argparse.Namespace,
            connections: _Connections | None) -> dict[str, Any]:
    compiles: list[float] = []
    committer = bench._Committer(repo, urls[0], args.compile_every, args.seconds, compiles)
    if connections is not None:
        connections.start()
    committer.start()
    before = [tree_cpu(pid) for pid in pids]
    wall = time.monotonic()
    samples, errors = load(urls, sidecars=args.sidecars, rate=args.rate,
                           seconds=args.seconds, clients=args.clients)
    elapsed = time.monotonic() - wall
    cpu = [round(100 * (tree_cpu(pid) - b) / elapsed, 1)
           for pid, b in zip(pids, before, strict=True)]
    committer.join()
    if connections is not None:
        connections.stop.set()
        connections.join()
    figures = bench.summarize(samples, errors, args.seconds, args.warmup)
    return {**figures, "cpuPercentPerServer": cpu,
            "databaseConnectionsAtMost": connections.most if connections else None,
            "compilesDuringLoad": len(compiles),
            "compileSecondsMedian": round(statistics.median(compiles), 3) if compiles
            else None,
            "met": figures["p99Ms"] <= 50 and not errors}


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sidecars", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--compile-every", type=float, default=10.0)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--clients", type=int, default=3, help="load processes (in all)")
    parser.add_argument("--converge", type=Path, default=Path(sys.executable).parent / "converge")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="converge-bench-replicas-") as temp, \
            postgres_harness.cluster() as cluster:
        workdir = Path(temp)
        repo = bench.make_repo(workdir, args.rules)
        db = cluster.create_database()
        database = db.rsplit("/", 1)[1]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            urls = []
            for index in range(args.replicas):
                process, url = start_replica(workdir, repo, args.converge, db, f"r{index}")
                processes.append(process)
                urls.append(url)
            wait_ready(urls, processes)
            replicas = measure(urls, [p.pid for p in processes], repo, args,
                               _Connections(cluster.admin_url, database))
        finally:
            _stop(processes)
        single_dir = workdir / "single"
        single_dir.mkdir()
        changes = bench.commit_change  # the same repository: number its commits on
        bench.commit_change = lambda repo, number: changes(repo, number + 100_000)
        server, url = bench.start_server(single_dir, repo, args.converge)
        try:
            single = measure([url], [server.pid], repo, args, None)
        finally:
            _stop([server])
    case = (f"{args.sidecars}x{args.rate:g}/s, {args.rules} rules, compile every "
            f"{args.compile_every:g}s")
    result = {"case": case, "sidecars": args.sidecars, "seconds": args.seconds,
              "rules": args.rules, "replicas": {"count": args.replicas, **replicas},
              "sqliteSingleServer": single, "target": "p99 <= 50 ms, 0 errors",
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(),
                          "loadAverage": round(os.getloadavg()[0], 2)},
              "date": datetime.date.today().isoformat()}
    for name, figures in (("replicas", replicas), ("sqlite", single)):
        print(f"{case} [{name}]: {figures['requests']} requests at "
              f"{figures['ratePerSecond']}/s; p50 {figures['p50Ms']} ms, p99 "
              f"{figures['p99Ms']} ms, max {figures['maxMs']} ms; errors {figures['errors']}; "
              f"CPU % per server {figures['cpuPercentPerServer']}; database connections "
              f"<= {figures['databaseConnectionsAtMost']}; {figures['compilesDuringLoad']} "
              f"compiles, median {figures['compileSecondsMedian']} s")
    if not args.no_write:
        existing = json.loads(args.output.read_text()) if args.output.exists() else {}
        existing.setdefault("results", {})[case] = result
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    return 1 if replicas["errors"] or single["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
