"""A real Docker-API container engine for tests: podman serving the Docker API on a socket.

``scripts/install-tools --with-podman`` installs podman, runc and busybox-static and
writes the containers.conf this machine kind needs (see shared notes/real-tools.md). Once
per session this module starts ``podman system service --time=0 unix://<tmp>/podman.sock``
and imports a busybox image built from ``/bin/busybox`` (no registry is reachable).
Every container made through ``Containers`` carries the session's label and is removed
after its test; the whole session's are removed at the end. Without podman a test is
skipped locally and fails when ``CI`` is set: in CI an engine test never passes by skipping.

Fixtures (made available by ``tests/conftest.py``): ``engine`` (an ``Engine`` with the
socket URL and a ``docker.DockerClient``) and ``containers`` (a per-test factory).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

IMAGE = "localhost/converge-busybox:test"
APPLETS = ("sh", "sleep", "echo", "cat", "httpd", "nc", "wget", "rm", "touch", "kill",
           "true", "false", "mkdir", "ls", "test", "date")
SESSION_LABEL = "converge.test/session"
BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")

__all__ = ["IMAGE", "Containers", "Engine", "containers", "engine", "free_port"]


@dataclasses.dataclass(frozen=True)
class Engine:
    url: str
    """`unix:///…/podman.sock`, for `--docker-host` and `docker.DockerClient`."""
    client: docker.DockerClient
    session: str
    """The label value every container of this session carries."""


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a host-network container's server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _build_image(podman: str, workdir: Path) -> None:
    busybox = next((p for p in BUSYBOX if Path(p).is_file()), None)
    if busybox is None:
        _missing("busybox is not installed: run scripts/install-tools --with-podman")
        return
    archive = workdir / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        for folder in ("bin", "tmp", "www"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    subprocess.run([podman, "import", str(archive), IMAGE], check=True,
                   capture_output=True, timeout=120)


def _wait_for(sock: Path, service: subprocess.Popen[bytes], log: Path) -> None:
    """Until the socket accepts connections (a raw socket: the SDK leaks failed ones)."""
    deadline = time.monotonic() + 30
    while True:
        with socket.socket(socket.AF_UNIX) as probe, contextlib.suppress(OSError):
            probe.connect(str(sock))
            return
        if service.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"podman system service did not come up: {log.read_text()[-2000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Podman's Docker API on a private socket, with the busybox image imported."""
    podman = shutil.which("podman") or ("/usr/bin/podman" if Path("/usr/bin/podman").is_file()
                                        else None)
    if podman is None:
        _missing("podman is not installed: run scripts/install-tools --with-podman")
        return
    workdir = tmp_path_factory.mktemp("podman")
    _build_image(podman, workdir)
    sock = workdir / "podman.sock"
    log = workdir / "service.log"
    with log.open("wb") as out:
        service = subprocess.Popen([podman, "system", "service", "--time=0", f"unix://{sock}"],
                                   stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    url = f"unix://{sock}"
    _wait_for(sock, service, log)
    client = docker.DockerClient(base_url=url, version="1.41", timeout=60)
    session = uuid.uuid4().hex[:12]
    try:
        assert client.ping()
        yield Engine(url, client, session)
    finally:
        with contextlib.suppress(Exception):
            _remove(client, {"label": f"{SESSION_LABEL}={session}"})
        client.close()
        service.terminate()
        try:
            service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()


def _remove(client: docker.DockerClient, filters: dict[str, Any]) -> None:
    for container in client.containers.list(all=True, filters=filters):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


class Containers:
    """Starts labelled busybox containers for one test and removes them afterwards."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.test = uuid.uuid4().hex[:12]

    @property
    def label(self) -> str:
        """`converge.test/run=<id>`: selects this test's containers only."""
        return f"converge.test/run={self.test}"

    def run(self, command: list[str], *, name: str | None = None,
            labels: dict[str, str] | None = None, **options: Any) -> Any:
        """`docker run -d` of the busybox image with host networking and fast stops."""
        all_labels = {SESSION_LABEL: self.engine.session, "converge.test/run": self.test,
                      **(labels or {})}
        options.setdefault("network_mode", "host")
        options.setdefault("stop_signal", "KILL")
        return self.engine.client.containers.run(
            IMAGE, command, detach=True, labels=all_labels,
            name=name or f"t-{self.test}-{uuid.uuid4().hex[:6]}", **options)

    def remove_all(self) -> None:
        _remove(self.engine.client, {"label": self.label})


@pytest.fixture
def containers(engine: Engine) -> Iterator[Containers]:
    """A factory of this test's containers; all removed after the test."""
    made = Containers(engine)
    try:
        yield made
    finally:
        made.remove_all()
