"""The specs repository: a bare clone in a cache folder, fetched on demand.

Only committed content is ever compiled: spec files are read from the fetched commit's
tree (`converge.compiler.gitsource`), never from a work tree. A fetch is
`git fetch --force URL +refs/heads/BRANCH:refs/converge/served` (or the remote's `HEAD`),
with no prompt and a time limit, so a gone remote fails fast and the loop backs off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

import git

from converge.compiler import gitsource
from converge.compiler.sources import SourceFile
from converge.reconciler.core import gitrepo

SERVED_REF = "refs/converge/served"
FETCH_TIMEOUT = 120.0


class FetchError(Exception):
    """The remote could not be fetched (gone, unreachable, refused, no such branch)."""


class Repository(Protocol):
    """Where the server's commits come from."""

    def fetch(self) -> str:
        """Fetch the served branch; its commit SHA. Raises `FetchError`."""
        ...

    def sources(self, commit: str) -> list[SourceFile]:
        """The spec files under the served path at `commit`. Raises `GitSourceError`."""
        ...


class GitMirror:
    """A bare clone of `url` under `cache`, fetching `branch` (None: the remote's HEAD).

    Args:
        url: a path or any URL `git fetch` takes.
        branch: the branch to serve; None follows the remote's default branch.
        path: the folder inside the repository holding the specs ('' for the top).
        cache: where the bare clone lives (created on first use).
    """

    def __init__(self, *, url: str, branch: str | None, path: str, cache: Path) -> None:
        self.url = url
        self.branch = branch
        self.path = path.strip("/")
        self.cache = cache
        self._repo: git.Repo | None = None

    def fetch(self) -> str:
        repo = self._open()
        source = f"refs/heads/{self.branch}" if self.branch else "HEAD"
        try:
            repo.git.fetch("--force", "--no-tags", "--quiet", self.url,
                           f"+{source}:{SERVED_REF}", kill_after_timeout=FETCH_TIMEOUT,
                           env=_NO_PROMPT)
            return repo.commit(SERVED_REF).hexsha
        except (git.GitCommandError, git.BadName, ValueError) as error:
            raise FetchError(redact(_one_line(error))) from None

    def sources(self, commit: str) -> list[SourceFile]:
        repository = gitsource.Repository(self._open(), self.path)
        return gitsource.read_revision(repository, gitsource.Revision(commit[:12], commit))

    def close(self) -> None:
        """End the `git cat-file` processes GitPython keeps open."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _open(self) -> git.Repo:
        if self._repo is None:
            if (self.cache / "HEAD").exists():
                self._repo = gitrepo.Repo(self.cache)
            else:
                self.cache.mkdir(parents=True, exist_ok=True)
                self._repo = gitrepo.Repo.init(self.cache, bare=True)
        return self._repo


_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true",
              "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")}


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """`text` with the credentials of any URL in it replaced by `***`
    (`https://user:token@host/x` → `https://***@host/x`), for logs and status pages."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def _one_line(error: Exception) -> str:
    if isinstance(error, git.GitCommandError):
        text = str(error.stderr or "").strip()
        lines = [line.strip().removeprefix("stderr: ").strip("'").strip()
                 for line in text.splitlines() if line.strip()]
        useful = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines
        return useful[0] if useful else f"git fetch failed (exit {error.status})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
