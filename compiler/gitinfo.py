"""The Git commit a repository is at, and whether its specs differ from it (for the manifest).

Only spec files count towards `dirty`: a compiled bundle written inside the repository,
or any other file converge does not read, never makes the specs dirty.

Two `git` processes answer (`rev-parse` for the work tree and commit, `status` for the
changed files). `start` launches them and `Pending.result` reads their answers, so
`converge compile` starts them first and they run on the other core while the specs are
checked; calling GitPython instead cost 0.1 s of imports plus the same `git status`.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from converge.compiler import children, sources
from converge.compiler.bundle import Source

_ENVIRONMENT_OVERRIDES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
"""Variables a Git hook sets that would point `git` at another repository than PATH's."""


class Pending:
    """The two `git` processes started for `path`; `result` waits for them."""

    def __init__(self, path: Path) -> None:
        self._root = path.resolve()
        self._processes: tuple[subprocess.Popen[bytes], ...] = ()
        self._outputs_read: list[bytes] | None = None
        environment = {k: v for k, v in os.environ.items() if k not in _ENVIRONMENT_OVERRIDES}
        commands = (
            ["git", "rev-parse", "--show-toplevel", "--verify", "-q", "HEAD"],
            ["git", "status", "--porcelain", "-z", "--untracked-files=all", "--",
             str(self._root)],
        )
        tie = children.preexec(signal.SIGTERM)  # git removes its index.lock on SIGTERM
        try:
            self._processes = tuple(
                subprocess.Popen(command, cwd=self._root, env=environment,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, preexec_fn=tie)
                for command in commands)
        except OSError:  # no git executable, or PATH vanished: no source info
            for process in self._processes:
                process.communicate()
            self._processes = ()

    def _outputs(self) -> list[bytes] | None:
        """Each process's output once it has exited, None when one failed."""
        if self._outputs_read is None:
            self._outputs_read = [process.communicate()[0] for process in self._processes]
        if len(self._processes) != 2 or any(p.returncode != 0 for p in self._processes):
            return None
        return self._outputs_read

    def close(self) -> None:
        """Wait for the processes (never kill `git status`: it may hold the index lock)."""
        self._outputs()

    def result(self) -> Source | None:
        """The commit of the work tree holding `path` and whether any spec under `path` is
        modified, added, deleted or untracked; None outside Git (or without a commit)."""
        outputs = self._outputs()
        if outputs is None:
            return None
        head, status = outputs
        lines = head.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) != 2:
            return None
        top, commit = Path(lines[0]).resolve(), lines[1]
        root = self._root
        ignore = sources.ignore_patterns(root)
        entries = status.decode("utf-8", "surrogateescape").split("\0")
        changed = (top / entry[3:] for entry in entries if len(entry) > 3)
        dirty = any(sources.is_spec_path(p.relative_to(root).as_posix(), ignore)
                    for p in changed if p.is_relative_to(root))
        return Source(commit, dirty)


def start(path: Path) -> Pending:
    """Start asking Git about `path`; read the answer with `Pending.result`."""
    return Pending(path)


def source_of(path: Path) -> Source | None:
    """The commit of the Git work tree holding `path` and whether any spec under `path`
    is modified, added, deleted or untracked; None outside Git."""
    return start(path).result()
