"""Find promtool and run `promtool test rules` on files written to a temporary directory.

The I/O end of rule tests: everything it runs was rendered in memory before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from converge.compiler import children

_EXTRA_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/sbin")
"""Searched after `PATH`: where Debian's package and `scripts/install-tools` put it."""


class PromtoolMissing(Exception):
    """promtool cannot be found or run."""


def find(explicit: Path | None = None) -> str:
    """The promtool to run: `explicit` (a path, or a name on `PATH`), else the first on
    `PATH` or in the usual places.

    Raises:
        PromtoolMissing: there is none (the message says how to get one).
    """
    if explicit is not None:
        if explicit.is_file() and os.access(explicit, os.X_OK):
            return str(explicit.resolve())
        on_path = shutil.which(str(explicit)) if explicit.name == str(explicit) else None
        if on_path is None:
            raise PromtoolMissing(f"--promtool {explicit}: no such executable file")
        return on_path
    found = shutil.which("promtool")
    for directory in _EXTRA_DIRS if found is None else ():
        candidate = Path(directory, "promtool")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found = str(candidate)
            break
    if found is None:
        raise PromtoolMissing(
            "promtool is not installed: rule tests run with `promtool test rules`; install "
            "it (scripts/install-tools, or Debian's `prometheus` package) or pass --promtool "
            "PATH")
    return found


def run_tests(promtool: str, files: dict[str, str], tests: list[str]) -> tuple[int, str]:
    """Write `files` (relative path → text) and run `promtool test rules` on `tests`.

    Returns promtool's exit status and its output, stderr joined to stdout so that each
    failure stays under its file's header.

    Raises:
        PromtoolMissing: promtool cannot be started.
    """
    with tempfile.TemporaryDirectory(prefix="converge-test-") as directory:
        root = Path(directory)
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([promtool, "test", "rules", *tests], cwd=root, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False,
                                  preexec_fn=children.preexec())
        except OSError as error:
            raise PromtoolMissing(f"cannot run {promtool}: {error}") from None
    return done.returncode, done.stdout
