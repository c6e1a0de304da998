"""The demo's container steps: the healer and the scaler on podman's Docker API.

The demo runs its own `podman system service` on a socket in the work directory (so it
touches no other container on the machine), imports a busybox image built from the host's
`/bin/busybox` (no registry needed), and labels every container it or the scaler makes
with `converge.demo/workdir=<workdir>`, which is how they are all removed at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

from converge.compiler import children
from converge.reconciler.demo import processes, steps, workspace
from converge.reconciler.demo import stack as stacks

LABEL = "converge.demo/workdir"
"""Every container of the demo carries this label, set to its work directory."""

_BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")
_APPLETS = ("sh", "sleep", "echo", "true", "false", "cat")


@dataclasses.dataclass
class Engine:
    """The demo's podman service: its socket URL and a Docker API client."""

    url: str
    client: docker.DockerClient


def podman() -> str | None:
    """The podman binary, if installed."""
    return shutil.which("podman") or ("/usr/bin/podman" if Path("/usr/bin/podman").is_file()
                                      else None)


def unavailable_reason() -> str | None:
    """Why the container steps cannot run here, or None when they can be tried."""
    if podman() is None:
        return "podman is not installed (scripts/install-tools --with-podman)"
    if not any(Path(p).is_file() for p in _BUSYBOX):
        return "busybox is not installed (scripts/install-tools --with-podman)"
    return None


def _socket(workdir: Path) -> Path:
    return workdir / "podman.sock"


def start_engine(sup: processes.Supervisor) -> Engine:
    """Start podman's Docker API service on a private socket; import the demo image."""
    binary = podman()
    if binary is None:
        raise processes.StartError("podman is not installed")
    if sup.run("podman-image-exists", [binary, "image", "exists", workspace.DEMO_IMAGE]) != 0:
        archive = _rootfs(sup.workdir)
        if sup.run("podman-import", [binary, "import", str(archive), workspace.DEMO_IMAGE],
                   timeout=120) != 0:
            raise processes.StartError("podman could not import the busybox image "
                                       f"(see {sup.logs / 'podman-import.log'})")
    sock = _socket(sup.workdir)
    service = sup.start("podman", [binary, "system", "service", "--time=0", f"unix://{sock}"])
    deadline = time.monotonic() + 30
    while True:
        with socket.socket(socket.AF_UNIX) as probe, contextlib.suppress(OSError):
            probe.connect(str(sock))
            break
        if service.popen.poll() is not None or time.monotonic() > deadline:
            raise processes.StartError(f"podman system service did not come up:\n"
                                       f"{service.tail()}")
        time.sleep(0.1)
    url = f"unix://{sock}"
    try:
        client = docker.DockerClient(base_url=url, version="1.41", timeout=60)
        client.ping()
    except docker.errors.DockerException as error:
        raise processes.StartError(f"podman's Docker API does not answer: {error}") from None
    return Engine(url, client)


def _rootfs(workdir: Path) -> Path:
    busybox = next(p for p in _BUSYBOX if Path(p).is_file())
    archive = workdir / "busybox-rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        for folder in ("bin", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in _APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return archive


def remove_all(workdir: Path) -> int:
    """Remove every container labelled with this work directory; returns how many.

    Through the demo's podman service when it answers, else through the podman command.
    """
    selector = f"{LABEL}={workdir}"
    sock = _socket(workdir)
    if not sock.exists():
        return 0
    try:
        client = docker.DockerClient(base_url=f"unix://{sock}", version="1.41", timeout=20)
        try:
            found = client.containers.list(all=True, filters={"label": selector})
            for container in found:
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)
            return len(found)
        finally:
            client.close()
    except docker.errors.DockerException:
        return _remove_with_cli(selector)


def _remove_with_cli(selector: str) -> int:
    binary = podman()
    if binary is None:
        return 0
    listed = subprocess.run([binary, "ps", "-aq", "--filter", f"label={selector}"],
                            capture_output=True, text=True, timeout=60, check=False,
                            preexec_fn=children.preexec())
    ids = listed.stdout.split()
    if ids:
        subprocess.run([binary, "rm", "-f", "-t", "0", *ids], capture_output=True,
                       timeout=120, check=False, preexec_fn=children.preexec())
    return len(ids)


def _daemon_argv(s: stacks.Stack, engine: Engine, name: str, port: int) -> list[str]:
    return [*stacks.CONVERGE, name, "--bundle", s.server_url, "--docker-host", engine.url,
            "--listen", f"127.0.0.1:{port}", "--db", str(s.workdir / f"{name}.db"),
            "--notifier-url", s.notifier_url,
            "--notifier-token-file", str(s.workdir / "token"),
            "--token-file", str(s.workdir / "token"), "--log-format", "text"]


def crash_loop(s: stacks.Stack, sup: processes.Supervisor, engine: Engine) -> steps.Proof:
    """Step 5: a container that exits 1 every 2 s; the healer restarts it within its budget
    (3 in 5 minutes), then stops and alerts the demo channel."""
    key, value = workspace.CRASHLOOP_LABEL
    container = engine.client.containers.run(
        workspace.DEMO_IMAGE, ["sh", "-c", "sleep 2; exit 1"], detach=True,
        name=f"demo-crashloop-{int(time.time())}", network_mode="host", stop_signal="KILL",
        labels={LABEL: str(s.workdir), key: value})
    port = s.daemon_ports["healer"]
    healer = sup.start("healer", _daemon_argv(s, engine, "healer", port))
    sup.wait_ready(healer, f"http://127.0.0.1:{port}/health/live")
    api = f"http://127.0.0.1:{port}"

    def spent() -> dict[str, Any] | None:
        rows = httpx.get(api + "/api/v1/healer/health", timeout=5,
                         headers=s.auth).json()["containers"]
        mine = [r for r in rows if r["container_name"] == container.name]
        return mine[0] if mine and mine[0]["phase"] == "budget_exhausted" else None

    health = steps.wait_for(spent, what="the healer to spend the restart budget", timeout=90)
    records = httpx.get(api + "/api/v1/healer/history", params={"container": container.name},
                        timeout=5, headers=s.auth).json()["records"]
    restarts = [r for r in records if r["failure_type"] == "auto_restart"]
    event = steps.wait_for(lambda: next((b for b in s.sink.deliveries()
                                         if "restart limit" in str(b)), None),
                           what="the healer's event at the sink", timeout=30)
    title = (event.get("markdown") or {}).get("title") or str(event)[:100]
    return steps.Proof("a crash-looping container is restarted within its budget", (
        f"container {container.name} exits 1 two seconds after each start",
        f"healer restarted it {len(restarts)} times (budget: 3 in 5m; first at once, "
        "then with backoff)",
        *(f"    {_clock(r['detected_at'])} {r['failure_type']}: {r['action']} "
          f"→ {r['action_result']}" for r in reversed(records)),
        f"phase now {health['phase']}: no more restarts; total_restarts="
        f"{health['total_restarts']}",
        f"sink received the healer's event: {title!r}",
    ))


def pool_grows(s: stacks.Stack, sup: processes.Supervisor, engine: Engine) -> steps.Proof:
    """Step 6: the scaler keeps one worker for a short queue and grows the pool with it."""
    pool_filter = {"label": [f"{LABEL}={s.workdir}",
                             f"converge.scaler/pool={workspace.DEMO_POOL}"]}

    def running() -> int:
        return len(engine.client.containers.list(filters={**pool_filter, "status": "running"}))

    s.exporter.set("demo_queue_length", 10)
    steps.wait_for(lambda: _query(s, "sum(demo_queue_length)") == 10.0,
                   what="Prometheus to scrape the short queue")
    port = s.daemon_ports["scaler"]
    scaler = sup.start("scaler", [*_daemon_argv(s, engine, "scaler", port),
                                  "--prometheus", s.target_urls["prometheus"],
                                  "--network", "host", "--interval", "1s",
                                  "--label", f"{LABEL}={s.workdir}"])
    sup.wait_ready(scaler, f"http://127.0.0.1:{port}/health/live")
    steps.wait_for(lambda: running() == 1, what="the pool's first worker", timeout=60)
    s.exporter.set("demo_queue_length", 100)
    steps.wait_for(lambda: running() == 4, what="the pool to grow to 4 workers", timeout=60)
    decisions = httpx.get(f"http://127.0.0.1:{port}/api/v1/scaler/history",
                          params={"pool": workspace.DEMO_POOL}, timeout=5,
                          headers=s.auth).json()["decisions"]
    return steps.Proof("a pool grows with the queue", (
        "queue 10 → 1 worker (min 1, 30 jobs per worker)",
        "queue 100 → ceil(100 / 30) = 4 workers, running now: " + str(running()),
        *(f"    decision {d['previous']} → {d['desired']} ({d['direction']}): {d['reason']}"
          for d in reversed(decisions)),
    ))


def _query(s: stacks.Stack, promql: str) -> float | None:
    data = httpx.get(s.target_urls["prometheus"] + "/api/v1/query", params={"query": promql},
                     timeout=5).json()["data"]["result"]
    return float(data[0]["value"][1]) if data else None


def _clock(value: float | None) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(value)) if value else "-"
