"""The Git commit a repository is at, and whether its specs differ from it (for the manifest).

Only spec files count towards `dirty`: a compiled bundle written inside the repository,
or any other file converge does not read, never makes the specs dirty.
"""

from __future__ import annotations

from pathlib import Path

from compiler import sources
from compiler.bundle import Source


def source_of(path: Path) -> Source | None:
    """The commit of the Git work tree holding `path` and whether any spec under `path`
    is modified, added, deleted or untracked; None outside Git."""
    try:
        import git
    except ImportError:  # GitPython needs the git executable; without it, no source info
        return None
    try:
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit.hexsha
        top = Path(repo.working_tree_dir or path).resolve()
        root = path.resolve()
        status = repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", str(root))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError, ValueError):
        return None
    ignore = sources.ignore_patterns(root)
    changed = (top / entry[3:] for entry in status.split("\0") if len(entry) > 3)
    dirty = any(sources.is_spec_path(p.relative_to(root).as_posix(), ignore)
                for p in changed if p.is_relative_to(root))
    return Source(commit, dirty)
