"""Find the processes a test started, however deep, by a marker in their environment.

Children inherit the environment, so every process a test's daemon starts (a compile
worker, `git cat-file`, the multiprocessing resource tracker, a forked renderer) carries
the `CONVERGE_TEST_MARKER` the test put there, even after it is re-parented to PID 1.
Linux only: it reads /proc. Import it as ``import leftovers`` (``tests/`` is on
``sys.path``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

VARIABLE = "CONVERGE_TEST_MARKER"

needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc and relies on Linux's parent-death signal")


@dataclasses.dataclass(frozen=True, slots=True)
class Process:
    """A live (not zombie) process carrying the marker."""

    pid: int
    ppid: int
    command: str


def new_marker() -> str:
    return f"children-{uuid.uuid4().hex}"


def environment(marker: str) -> dict[str, str]:
    """This process's environment plus the marker."""
    return {**os.environ, VARIABLE: marker}


def marked(marker: str) -> list[Process]:
    """Every live process carrying `marker`, zombies left out (they hold nothing)."""
    needle = f"{VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if stat[0] != "Z":
            found.append(Process(int(entry.name), int(stat[1]), command[:200]))
    return found


def wait_for(marker: str, predicate: Callable[[list[Process]], bool], *,
             parent: subprocess.Popen[Any], log: Path | None = None,
             timeout: float, poll: float = 0.005) -> list[Process]:
    """The marked processes once `predicate` holds for them; fails after `timeout` or
    when `parent` exits first (showing the end of its `log`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = marked(marker)
        if predicate(found):
            return found
        if parent.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"processes never reached the expected state (parent exit status "
                        f"{parent.returncode}): {found}\n{tail}")
        time.sleep(poll)


def assert_none_left(marker: str, *, within: float = 3.0) -> float:
    """Wait until no process carries `marker`; the seconds it took. Fails listing the
    survivors after `within` seconds."""
    start = time.monotonic()
    while True:
        found = marked(marker)
        if not found:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            pytest.fail(f"still running {within:g}s after their parent died: {found}")
        time.sleep(0.02)


@contextlib.contextmanager
def cleanup(marker: str) -> Iterator[None]:
    """On the way out, SIGKILL whatever still carries `marker` (a failed test must not
    leave them running)."""
    try:
        yield
    finally:
        for process in marked(marker):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)


def kill(process: subprocess.Popen[Any]) -> None:
    """SIGKILL a child of this test and reap it; close its pipes."""
    process.kill()
    process.wait(10)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
