"""Start the real Prometheus, Alertmanager and vmalert on loopback ports, for sidecar tests.

Each reads what a sidecar publishes under a DEST directory: Prometheus `rule_files:
[DEST/*.yaml]`, Alertmanager `--config.file=DEST/alertmanager.yaml`, vmalert
`-rule=DEST/*.yaml`. Binaries come from `realtools.tool()`, which fails in CI when one is
missing. `Process.stop()` ends the process the test started, by its PID, and closes its log.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

import httpx
import realtools


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class Process:
    """A started target: its base URL, reload URL and log."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str
    log_path: Path
    log: IO[bytes]

    @property
    def reload_url(self) -> str:
        return f"{self.url}/-/reload"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def metric(self, name: str) -> float | None:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None

    def groups(self) -> dict[str, int]:
        """Group name → rule count, from /api/v1/rules."""
        data = self.get("/api/v1/rules").json()["data"]["groups"]
        return {g["name"]: len(g["rules"]) for g in data}

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self.log.close()


def _start(name: str, argv: list[str], *, url: str, ready: str, workdir: Path) -> Process:
    log_path = workdir / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed by Process.stop
    popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=workdir)
    process = Process(name, popen, url, log_path, log)
    deadline = time.monotonic() + 20
    while True:
        if popen.poll() is not None:
            process.stop()
            raise RuntimeError(f"{name} exited at start:\n{process.logs()}")
        try:
            if httpx.get(url + ready, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"{name} not ready after 20s:\n{process.logs()}")
        time.sleep(0.05)


def start_prometheus(workdir: Path, dest: Path) -> Process:
    """Prometheus with `rule_files: [DEST/*.yaml]`, lifecycle API and remote-write receiver."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(f"global:\n  evaluation_interval: 1s\nrule_files:\n  - {dest}/*.yaml\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return _start("prometheus", [
        realtools.tool("prometheus"), f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle", "--web.enable-remote-write-receiver",
        "--log.level=warn"], url=url, ready="/-/ready", workdir=workdir)


def start_alertmanager(workdir: Path, dest: Path, *, port: int | None = None) -> Process:
    """Alertmanager with `--config.file=DEST/alertmanager.yaml` (which must exist) and no
    cluster."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    return _start("alertmanager", [
        realtools.tool("prometheus-alertmanager"), f"--config.file={dest}/alertmanager.yaml",
        f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=", "--log.level=warn"],
        url=url, ready="/-/ready", workdir=workdir)


def start_vmalert(workdir: Path, dest: Path, *, datasource: str, notifier: str) -> Process:
    """vmalert with `-rule=DEST/*.yaml`, querying and remote-writing to `datasource`."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return _start("vmalert", [
        realtools.tool("vmalert"), f"-rule={dest}/*.yaml", f"-datasource.url={datasource}",
        f"-remoteWrite.url={datasource}", f"-notifier.url={notifier}",
        f"-httpListenAddr=127.0.0.1:{port}", "-loggerLevel=ERROR"],
        url=url, ready="/health", workdir=workdir)


def start_server(workdir: Path, *, repo: Path, path: str | None = None,
                 token: str = "test-token", interval: str = "1s") -> Process:
    """`converge serve` on a loopback port, serving `repo`'s `main` branch."""
    import sys

    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "token"
    token_file.write_text(token + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-c", "from converge.compiler.commands.main import main; main()",
            "serve",
            "--repo", str(repo), "--branch", "main", "--listen", f"127.0.0.1:{port}",
            "--interval", interval, "--token-file", str(token_file),
            "--db", str(workdir / "state.db"), "--cache-dir", str(workdir / "git"),
            "--log-format", "text"]
    if path:
        argv += ["--path", path]
    return _start("server", argv, url=url, ready="/health/ready", workdir=workdir)
