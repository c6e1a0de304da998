"""A real PostgreSQL for tests: Debian's server binaries (scripts/install-tools installs
`postgresql`), a cluster made by initdb in a temporary directory and started by pg_ctl on
a free loopback port, as the unprivileged `postgres` user when we are root (initdb
refuses root). No system service. Missing binaries skip the tests locally and fail them
under CI (`CI` set), like the other real tools (tests/realtools.py).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

USER = "converge"
_numbers = itertools.count(1)


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (the newest Debian version), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def require_binaries() -> Path:
    """`binaries()`, or skip (fail under CI) with how to install them."""
    found = binaries()
    if found is None:
        message = ("PostgreSQL server binaries not found (initdb, pg_ctl): run "
                   "scripts/install-tools, which installs Debian's postgresql")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """A running cluster in a new directory under /tmp (the `postgres` user must reach
    it: pytest's own temporary folders are private to root), stopped and removed after."""
    bin_dir = require_binaries()
    root = Path(tempfile.mkdtemp(prefix="converge-pg-"))
    try:
        running = Cluster(root, bin_dir)
        try:
            yield running
        finally:
            if running.running():
                running.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """One PostgreSQL cluster in `root`, on 127.0.0.1:`port`."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root = root
        self.bin = bin_dir
        self.data = root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8",
                  "--no-sync")
        self.start()

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                  "-o", f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=300", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash; its backends exit when they notice)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)
