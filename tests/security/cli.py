"""Run `converge` as a user does: a separate process, with its real output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

import httpx

_MAIN = "from converge.compiler.commands.main import main; main()"


def converge(args: Sequence[str], *, timeout: float = 60,
             env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """`converge ARGS` in a child process (killed after `timeout` seconds)."""
    return subprocess.run([sys.executable, "-c", _MAIN, *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                          check=False)


def wait_live(process: subprocess.Popen[str], url: str, *, timeout: float = 30) -> None:
    """Until `url`/health/live answers 200; fails at once if the daemon exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx.get(url + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the daemon at {url} did not start")


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM (SIGKILL after 30 s) and what it wrote on stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err or ""
