"""Latency from `git commit` on the served branch to Prometheus serving the new rules.

A real `converge serve` polls a Git repository of `repo-example/` every second; a real
`converge sidecar` next to a real Prometheus polls the server every second (checking each
bundle with promtool, publishing, reloading and verifying). Each iteration commits a new
rule group and times until Prometheus's `/api/v1/rules` lists it. Target: median under
3 s. Results go to `results/latency.json`.

    .venv/bin/python benchmarks/bench_latency.py [--iterations 10] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import sidecar_rig

TARGET_S = 3.0
TOKEN = "bench-token"
GROUP = """apiVersion: converge/v1
kind: RuleGroup
metadata:
  name: bench-{n}
spec:
  rules:
    - record: bench:iteration:{n}
      expr: vector({n})
"""


def _groups(prom_url: str) -> set[str]:
    data = httpx.get(f"{prom_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    return {g["name"] for g in data}


def run(iterations: int, *, seed: int) -> list[float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as name:
        tmp = Path(name)
        dest, repo = tmp / "dest", tmp / "repo"
        sidecar_rig.example_repo(repo)
        prom_argv, prom_url = sidecar_rig.prometheus(tmp, dest)
        server_argv, server_url = sidecar_rig.server(tmp, repo, token=TOKEN)
        with sidecar_rig.process(prom_argv, log=tmp / "prometheus.log",
                                 ready=f"{prom_url}/-/ready"), \
             sidecar_rig.process(server_argv, log=tmp / "server.log",
                                 ready=f"{server_url}/health/ready", timeout=120):
            argv, url = sidecar_rig.sidecar(tmp, source=server_url, dest=dest,
                                            reload_url=f"{prom_url}/-/reload", token=TOKEN)
            with sidecar_rig.process(argv, log=tmp / "sidecar.log", ready=f"{url}/health/live"):
                sidecar_rig.wait(lambda: sidecar_rig.converged(url), timeout=60,
                                 what="first sync")
                latencies = []
                for n in range(1, iterations + 1):
                    time.sleep(rng.uniform(1.0, 2.0))  # de-phase the two 1 s polls
                    (repo / "rules" / f"bench-{n}.yaml").write_text(GROUP.format(n=n))
                    sidecar_rig.git(repo, "add", "-A")
                    sidecar_rig.git(repo, "commit", "-qm", f"bench {n}")
                    committed = time.monotonic()
                    sidecar_rig.wait(lambda n=n: f"bench-{n}" in _groups(prom_url),
                                     timeout=60, what=f"group bench-{n}", pause=0.02)
                    latencies.append(time.monotonic() - committed)
                    print(f"  commit {n}: {latencies[-1]:.2f} s", flush=True)
                return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    latencies = run(args.iterations, seed=args.seed)
    ordered = sorted(latencies)
    summary = {"median_s": round(statistics.median(latencies), 2),
               "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
               "min_s": round(ordered[0], 2), "max_s": round(ordered[-1], 2),
               "iterations": len(latencies)}
    print(f"git commit → Prometheus serves the rules: median {summary['median_s']} s, "
          f"p90 {summary['p90_s']} s, min {summary['min_s']} s, max {summary['max_s']} s")
    print(f"target: median under {TARGET_S:g} s: "
          f"{'met' if summary['median_s'] < TARGET_S else 'MISSED'}")
    if not args.no_write:
        out = sidecar_rig.HERE / "results" / "latency.json"
        out.write_text(json.dumps({
            "benchmark": "git commit to Prometheus serving the rules",
            "setup": "converge serve --interval 1s; converge sidecar --interval 1s (promtool "
                     "check, publish, reload, verify); repo-example plus one group a commit",
            "target_median_s": TARGET_S, "summary": summary,
            "latencies_s": [round(x, 3) for x in latencies],
            "machine": {"python": platform.python_version(), "system": platform.platform()},
        }, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
