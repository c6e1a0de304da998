"""Start the demo's child processes and stop every one of them, whatever happens.

Each child runs in its own session (its own process group), so stopping it also stops what
it started; its PID is appended to `WORKDIR/pids` the moment it starts, so a test (or a
person) can check afterwards that none survived. Stopping is a ladder: SIGTERM to the
group, a grace period, then SIGKILL.

If the demo itself dies without stopping them (SIGKILL), each child is sent SIGKILL by
the kernel (`converge.compiler.children`), and the converge daemons among them end their
own children the same way.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

from converge.compiler import children

GRACE_SECONDS = 10.0
"""How long a child gets after SIGTERM before its group is killed."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StartError(RuntimeError):
    """A child exited or never became ready; the message ends with its log's tail."""


@dataclasses.dataclass
class Child:
    """One started process: its name, handle and log."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def tail(self, chars: int = 2000) -> str:
        """The end of the child's log."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]


class Supervisor:
    """Starts children, records their PIDs and stops them all in reverse order."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pid_file = workdir / "pids"
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], *,
              env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Child:
        """Start `argv` in a new session, its output appended to `logs/NAME.log`."""
        log_path = self.logs / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
        popen = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=cwd or self.workdir,
                                 env={**os.environ, **(env or {})}, start_new_session=True,
                                 preexec_fn=children.preexec())
        with open(self.pid_file, "a", encoding="utf-8") as pids:
            pids.write(f"{popen.pid} {name}\n")
        child = Child(name, popen, log_path, log)
        self.children.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            timeout: float = 60.0) -> int:
        """Run `argv` to completion (a one-shot child, recorded and logged like the others)."""
        child = self.start(name, argv, env=env)
        try:
            return child.popen.wait(timeout)
        finally:
            _stop(child)

    def wait_ready(self, child: Child, url: str, *, timeout: float = 30.0) -> None:
        """Wait until `url` answers 200; raise `StartError` if the child exits or times out."""
        deadline = time.monotonic() + timeout
        while True:
            if child.popen.poll() is not None:
                raise StartError(f"{child.name} exited at start:\n{child.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StartError(f"{child.name} not ready after {timeout:.0f}s:\n{child.tail()}")
            time.sleep(0.1)

    def stop(self, names: set[str]) -> None:
        """Stop the children with these names now (before removing what they manage)."""
        for child in [c for c in reversed(self.children) if c.name in names]:
            _stop(child)
            self.children.remove(child)

    def stop_all(self, on_stop: Callable[[str], None] | None = None) -> None:
        """Stop every child, newest first (sidecars before their targets)."""
        for child in reversed(self.children):
            _stop(child)
            if on_stop is not None:
                on_stop(child.name)
        self.children.clear()


def _stop(child: Child) -> None:
    """SIGTERM the child's group, wait the grace period, then SIGKILL the group."""
    if child.popen.poll() is None:
        _signal_group(child.popen.pid, signal.SIGTERM)
        try:
            child.popen.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while something it started still runs in its group.
    _signal_group(child.popen.pid, signal.SIGKILL)
    if child.popen.poll() is None:
        child.popen.wait(GRACE_SECONDS)
    if not child.log.closed:
        child.log.close()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
