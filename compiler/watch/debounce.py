"""Which file-system events matter to `converge watch`, and when to act on them.

Pure: no clock, no threads. The watcher feeds paths and the time; the `Debouncer` says
when the burst of events one save makes (an editor's temporary file, the rename over the
spec, a second write) has settled, so that one save compiles once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from converge.compiler import sources

_EDITOR_FILES = re.compile(
    r"^\.#|^#.*#$|~$|\.sw[a-p]x?$|^4913$|\.(tmp|bak|orig|rej|kate-swp)$|___jb_(tmp|old)___$")
"""Lock, swap, backup and temporary files of vim, emacs, kate, JetBrains IDEs and others."""


def relevant(relative: str, ignore: Iterable[str] = (), *, directory: bool = False,
             output: str | None = None) -> bool:
    """Whether a change at `relative` ('/'-separated, under the watched root) can change
    the bundle: a spec file, the ignore file, or a directory that may hold specs; never
    one in `output` (the bundle directory, relative to the root) or its staging copies."""
    if output is not None and _in_output(relative, output):
        return False
    if relative == sources.IGNORE_FILE:
        return True
    if _EDITOR_FILES.search(relative.rsplit("/", 1)[-1]):
        return False
    if directory:
        return sources.is_spec_path(f"{relative}/x.yaml", ignore)
    return sources.is_spec_path(relative, ignore)


def _in_output(relative: str, output: str) -> bool:
    if relative == output or relative.startswith(output + "/"):
        return True
    parent, _, name = output.rpartition("/")
    prefix = f"{parent}/" if parent else ""
    return relative.startswith((f"{prefix}.{name}.new-", f"{prefix}.{name}.old-"))


class Debouncer:
    """Collects changed paths and releases them once none has come for `delay` seconds,
    or `limit` seconds after the first, so that a file rewritten without pause still
    compiles."""

    def __init__(self, delay: float, *, limit: float | None = None) -> None:
        self.delay = delay
        self.limit = max(2.0, 10 * delay) if limit is None else limit
        self._pending: set[str] = set()
        self._first = self._last = 0.0

    def add(self, path: str, now: float) -> None:
        if not self._pending:
            self._first = now
        self._pending.add(path)
        self._last = now

    def wait(self, now: float) -> float | None:
        """Seconds until the pending paths are due; None when nothing is pending."""
        if not self._pending:
            return None
        due = min(self._last + self.delay, self._first + self.limit)
        return max(0.0, due - now)

    def take(self, now: float) -> frozenset[str]:
        """The pending paths if they are due (and forget them), else nothing."""
        wait = self.wait(now)
        if wait is None or wait > 0:
            return frozenset()
        batch = frozenset(self._pending)
        self._pending.clear()
        return batch
