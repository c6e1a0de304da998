"""GitPython repositories whose `git` processes end with the daemon, however it dies.

The config server and the sidecar's Git source run `git fetch`, `clone`, `checkout` and
`clean` through GitPython. Each such command is tied to the daemon with a parent-death
signal (`converge.compiler.children`): SIGTERM, on which `git` removes its lock files, so
a `git fetch` of a killed server neither runs on nor leaves a `.lock` that would fail
the next server's fetch.

GitPython's persistent `git cat-file --batch` processes are left as they are: they read
the object names from a pipe and exit at its end, which comes when the daemon dies (no
other process holds that pipe: every child is started with `close_fds`, and the
compiler's forked workers never run in a threaded daemon). They are started by whichever
thread first reads an object and live on after it, so a parent-death signal, which the
kernel sends when that thread ends, would kill them too early.

Import this module directly (not through `converge.reconciler.core`): it loads GitPython.
"""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import git

from converge.compiler import children


class Git(git.Git):
    """`git.Git` that starts every command it waits for with a parent-death signal."""

    def execute(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("istream") is not subprocess.PIPE and "preexec_fn" not in kwargs:
            tie = children.preexec(signal.SIGTERM)
            if tie is not None:
                kwargs["preexec_fn"] = tie
        return super().execute(command, *args, **kwargs)


class Repo(git.Repo):
    """`git.Repo` (open, `init`, `clone_from`) running its commands through `Git`."""

    GitCommandWrapperType = Git
