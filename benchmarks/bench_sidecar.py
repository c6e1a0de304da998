"""Idle memory of `converge sidecar` next to a real Prometheus, after its first sync.

For each source (a compiled `repo-example/` in a directory; the same through a real
`converge serve`), starts Prometheus and the sidecar (interval 1 s), waits until the sidecar
reports `converge_sidecar_converged 1`, lets it idle through `--idle` seconds of unchanged
syncs, and samples its resident set (`VmRSS`) every second; `VmHWM` is the peak. Target:
idle RSS under 60 MB. Results go to `results/sidecar.json`.

    .venv/bin/python benchmarks/bench_sidecar.py [--idle 10] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import sidecar_rig

TARGET_MB = 60.0
TOKEN = "bench-token"


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def measure(source: str, *, idle: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-sidecar-") as name:
        tmp = Path(name)
        dest = tmp / "dest"
        prom_argv, prom_url = sidecar_rig.prometheus(tmp, dest)
        with sidecar_rig.process(prom_argv, log=tmp / "prometheus.log",
                                 ready=f"{prom_url}/-/ready"):
            if source == "dir":
                bundle = tmp / "bundle"
                subprocess.run([*sidecar_rig.CONVERGE, "compile", str(sidecar_rig.EXAMPLE),
                                "-o", str(bundle)], check=True, capture_output=True)
                return _run_sidecar(tmp, f"dir:{bundle}", dest, prom_url, None, idle)
            repo = tmp / "repo"
            sidecar_rig.example_repo(repo)
            server_argv, server_url = sidecar_rig.server(tmp, repo, token=TOKEN)
            with sidecar_rig.process(server_argv, log=tmp / "server.log",
                                     ready=f"{server_url}/health/ready", timeout=120):
                return _run_sidecar(tmp, server_url, dest, prom_url, TOKEN, idle)


def _run_sidecar(tmp: Path, source: str, dest: Path, prom_url: str, token: str | None,
                 idle: float) -> dict[str, object]:
    argv, url = sidecar_rig.sidecar(tmp, source=source, dest=dest,
                                    reload_url=f"{prom_url}/-/reload", token=token)
    started = time.monotonic()
    with sidecar_rig.process(argv, log=tmp / "sidecar.log", ready=f"{url}/health/live") as proc:
        sidecar_rig.wait(lambda: sidecar_rig.converged(url), timeout=60, what="first sync")
        first_sync = time.monotonic() - started
        samples = []
        deadline = time.monotonic() + idle
        while time.monotonic() < deadline:
            time.sleep(1.0)
            samples.append(_status_mb(proc.pid, "VmRSS"))
        return {"source": source.split(":")[0] if source.startswith("dir:") else "server",
                "idle_rss_mb_median": round(statistics.median(samples), 1),
                "idle_rss_mb_max": round(max(samples), 1),
                "peak_rss_mb": round(_status_mb(proc.pid, "VmHWM"), 1),
                "start_to_converged_s": round(first_sync, 2), "samples": len(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle after sync")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    results = [measure(source, idle=args.idle) for source in ("dir", "server")]
    print(f"{'source':8} {'idle RSS median':>16} {'idle max':>9} {'peak':>7} "
          f"{'to converged':>13}")
    for r in results:
        print(f"{r['source']:8} {r['idle_rss_mb_median']:>13} MB {r['idle_rss_mb_max']:>6} MB "
              f"{r['peak_rss_mb']:>4} MB {r['start_to_converged_s']:>11} s")
    ok = all(float(str(r["idle_rss_mb_max"])) < TARGET_MB for r in results)
    print(f"target: idle RSS under {TARGET_MB:g} MB: {'met' if ok else 'MISSED'}")
    if not args.no_write:
        out = sidecar_rig.HERE / "results" / "sidecar.json"
        out.write_text(json.dumps({"benchmark": "sidecar idle RSS", "target_mb": TARGET_MB,
                                   "machine": {"python": platform.python_version(),
                                               "system": platform.platform()},
                                   "results": results}, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
