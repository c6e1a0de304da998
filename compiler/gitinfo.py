"""The Git commit a repository is at, and whether its work tree is dirty (for the manifest)."""

from __future__ import annotations

from pathlib import Path

from compiler.bundle import Source


def source_of(path: Path) -> Source | None:
    """The commit and dirty flag of the Git work tree holding `path`, or None outside Git."""
    try:
        import git
    except ImportError:  # GitPython needs the git executable; without it, no source info
        return None
    try:
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit.hexsha
        relative = path.resolve().relative_to(Path(repo.working_tree_dir or path).resolve())
        scope = [] if str(relative) == "." else [str(relative)]
        dirty = repo.is_dirty(untracked_files=True, path=scope[0] if scope else None)
        return Source(commit, dirty)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
