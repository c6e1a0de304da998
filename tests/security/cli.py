"""Run `converge` as a user does: a separate process, with its real output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

_MAIN = "from converge.compiler.commands.main import main; main()"


def converge(args: Sequence[str], *, timeout: float = 60,
             env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """`converge ARGS` in a child process (killed after `timeout` seconds)."""
    return subprocess.run([sys.executable, "-c", _MAIN, *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                          check=False)
