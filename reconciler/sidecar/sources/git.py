"""A Git repository compiled here: `git+URL[#branch][:subdir]`.

Each fetch runs `git fetch`; a new commit is checked out (detached, in the sidecar's own
clone under STATE) and compiled by the `converge compile` code path in a child process,
so the sidecar itself never loads the compiler and stays small. A commit that does not
compile is remembered and reported, never published; the next commit is tried.

That child and every `git` command end with the sidecar, even when it is killed
(`converge.compiler.children`, `converge.reconciler.core.gitrepo`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from converge.compiler import children
from converge.reconciler.sidecar import bundles
from converge.reconciler.sidecar.bundles import BundleError, Candidate
from converge.reconciler.sidecar.sources import directory
from converge.reconciler.sidecar.sources.base import SourceError

if TYPE_CHECKING:
    import git

COMPILE_TIMEOUT = 300.0
_COMPILE = ("import sys; from converge.compiler.commands.main import main; "
            "sys.argv[0] = 'converge'; main()")


class GitSource:
    """One branch of one repository, for one target."""

    def __init__(self, *, url: str, branch: str | None, subdir: str | None, workdir: Path,
                 target: str) -> None:
        self.url = url
        self.branch = branch
        self.subdir = subdir
        self.workdir = workdir
        self.target = target
        self.description = f"git+{url}" + (f"#{branch}" if branch else "")
        self._repo: git.Repo | None = None
        self._commit: str | None = None
        self._result: Candidate | BundleError | None = None

    def fetch(self, known: str | None) -> Candidate | None:
        commit = self._update()
        if commit != self._commit or self._result is None:
            import git

            try:
                result = self._compile(commit)
            except (git.GitCommandError, OSError) as error:
                raise SourceError(f"checkout of {commit[:12]} failed: {_short(str(error))}"
                                  ) from None
            self._commit, self._result = commit, result
        if isinstance(self._result, BundleError):
            raise self._result
        return None if self._result.hash == known else self._result

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _update(self) -> str:
        """Fetch, and return the commit the branch points at."""
        import git

        try:
            repo = self._open()
            repo.remotes.origin.fetch(prune=True)
            ref = f"origin/{self.branch}" if self.branch else "origin/HEAD"
            return str(repo.commit(ref).hexsha)
        except (git.GitCommandError, git.BadName, ValueError, OSError) as error:
            raise SourceError(f"git fetch of {self.url} failed: {_short(str(error))}") from None

    def _open(self) -> git.Repo:
        from converge.reconciler.core import gitrepo

        if self._repo is None:
            clone = self.workdir / "repo"
            if (clone / ".git").is_dir():
                self._repo = gitrepo.Repo(clone)
            else:
                shutil.rmtree(clone, ignore_errors=True)
                self.workdir.mkdir(parents=True, exist_ok=True)
                self._repo = gitrepo.Repo.clone_from(self.url, clone, no_checkout=True)
        return self._repo

    def _compile(self, commit: str) -> Candidate | BundleError:
        repo = self._open()
        repo.git.checkout("--force", "--detach", commit)
        repo.git.clean("-ffdx")
        root = Path(str(repo.working_tree_dir))
        specs = root / self.subdir if self.subdir else root
        out = self.workdir / "out"
        try:
            done = subprocess.run(
                [sys.executable, "-c", _COMPILE, "compile", str(specs), "-o", str(out)],
                capture_output=True, text=True, stdin=subprocess.DEVNULL,
                timeout=COMPILE_TIMEOUT, check=False, preexec_fn=children.preexec())
        except subprocess.TimeoutExpired:
            return BundleError(f"compiling commit {commit[:12]} took over "
                               f"{COMPILE_TIMEOUT:g}s")
        if done.returncode != 0:
            return BundleError(f"commit {commit[:12]} does not compile: "
                               f"{_short(done.stderr or done.stdout)}")
        manifest, files = directory.read(out, self.target)
        try:
            return bundles.verify(target=self.target, manifest_data=manifest, files=files)
        except BundleError as error:
            return error


def _short(text: str, limit: int = 600) -> str:
    text = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit] + "…"
