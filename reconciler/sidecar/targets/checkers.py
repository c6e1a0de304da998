"""The targets' own checkers (`promtool`, `amtool`, `vmalert -dryRun`), when installed.

They run on the staged set, secrets already resolved, before anything is published. A
checker that is not installed is skipped (logged once): the reload and its verification
still guard the target. A checker is killed when the sidecar dies
(`converge.compiler.children`).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from converge.compiler import children

TIMEOUT = 60.0
_EXTRA_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/sbin")
_log = logging.getLogger("converge.sidecar.check")
_missing_reported: set[str] = set()


def find(tool: str) -> str | None:
    """The tool's path on PATH or in the usual system directories, or None."""
    found = shutil.which(tool)
    if found is None:
        for directory in _EXTRA_DIRS:
            candidate = os.path.join(directory, tool)
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def run(tool: str, args: Sequence[str]) -> str | None:
    """Run `tool args…`: the checker's complaint when it exits non-zero, else None."""
    path = find(tool)
    if path is None:
        if tool not in _missing_reported:
            _missing_reported.add(tool)
            _log.warning("%s is not installed: bundles are not checked before publishing",
                         tool, extra={"tool": tool})
        return None
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False,
                              preexec_fn=children.preexec())
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{tool} could not run: {error}"
    if done.returncode == 0:
        return None
    output = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
    return f"{tool} rejects the bundle: {_last_lines(output)}"


def rule_files(directory: Path, names: Sequence[str]) -> list[str]:
    return [str(directory / name) for name in sorted(names) if name.endswith((".yaml", ".yml"))]


def _last_lines(text: str, limit: int = 600) -> str:
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= limit else "…" + text[-limit:]
