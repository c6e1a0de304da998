"""Read spec files straight from Git objects: a commit's tree, never the work tree.

`converge diff` compiles both sides of a change without a checkout or a stash. The files
under PATH at a revision are read from the object database through GitPython, which keeps
one `git cat-file --batch` process open for every tree and blob, with the same rules as
`sources.read_directory`: `*.yaml` and `*.yml`, the always-skipped folders, and the
`.converge-ignore` file at PATH as it is at that revision.
"""

from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from converge.compiler import sources
from converge.compiler.sources import SourceFile

if TYPE_CHECKING:
    import git

_LINK_MODE = 0o120000
_MAX_LINKS = 8


class GitSourceError(Exception):
    """A revision or repository cannot be read: say so in one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Repository:
    """A Git repository and where PATH lies inside its work tree."""

    repo: git.Repo
    prefix: str
    """PATH relative to the top of the work tree, '/'-separated; '' for the top itself."""


@dataclasses.dataclass(frozen=True, slots=True)
class Revision:
    """A revision as the user named it and the commit it resolved to."""

    ref: str
    commit: str


def open_repository(path: Path) -> Repository:
    """The repository whose work tree holds `path` (which may be missing in the work tree).

    Raises:
        GitSourceError: no Git, not inside a Git work tree, or a bare repository.
    """
    try:
        import git
    except ImportError as error:  # GitPython refuses to load without the git executable
        raise GitSourceError(f"cannot run git: {error}".splitlines()[0]) from None
    absolute = path.resolve()
    existing = next((p for p in (absolute, *absolute.parents) if p.exists()), absolute)
    try:
        repo = git.Repo(existing, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitSourceError(f"{path}: not inside a Git repository") from None
    if repo.working_tree_dir is None:
        raise GitSourceError(f"{repo.git_dir}: a bare repository has no work tree for PATH")
    top = Path(repo.working_tree_dir).resolve()
    if not absolute.is_relative_to(top):
        raise GitSourceError(f"{path}: outside the work tree of {top}")
    prefix = absolute.relative_to(top).as_posix()
    return Repository(repo, "" if prefix == "." else prefix)


def resolve(repository: Repository, ref: str) -> Revision:
    """The commit `ref` names (a branch, tag, SHA, `HEAD~2`, `origin/main`…).

    Raises:
        GitSourceError: `ref` names no commit.
    """
    import git

    try:
        commit = repository.repo.commit(ref)
        commit.tree  # noqa: B018  (reads the commit: a shallow clone may name one it lacks)
    except (git.exc.ODBError, ValueError, git.GitCommandError):
        shallow = (Path(repository.repo.git_dir) / "shallow").exists()
        hint = (" (this clone is shallow: fetch the history, e.g. actions/checkout with "
                "`fetch-depth: 0`)") if shallow else ""
        raise GitSourceError(f"unknown revision {ref!r}: not a branch, tag or commit of "
                             f"{repository.repo.working_tree_dir}{hint}") from None
    return Revision(ref, commit.hexsha)


def read_revision(repository: Repository, revision: Revision) -> list[SourceFile]:
    """Every spec file under PATH at `revision`, sorted by path; none when PATH is absent.

    Raises:
        GitSourceError: PATH is a file at that revision, a file name is not UTF-8 text,
            or a symbolic link points outside the commit.
    """
    import git

    try:
        return _read_tree(repository, revision)
    except (git.exc.ODBError, ValueError, git.GitCommandError) as error:
        lines = str(error).splitlines() or [type(error).__name__]
        raise GitSourceError(f"cannot read {revision.ref}: {lines[0]}") from None


def _read_tree(repository: Repository, revision: Revision) -> list[SourceFile]:
    root = repository.repo.commit(revision.commit).tree
    try:
        tree = root / repository.prefix if repository.prefix else root
    except KeyError:
        return []
    if tree.type != "tree":
        raise GitSourceError(f"{repository.prefix}: not a directory at {revision.ref}")
    ignore: list[str] = []
    try:
        ignore_blob = tree / sources.IGNORE_FILE
    except KeyError:
        pass
    else:
        ignore = sources.parse_ignore(ignore_blob.data_stream.read().decode("utf-8", "replace"))
    files = []
    for relative, blob in sorted(_walk(tree, ""), key=lambda found: found[0]):
        if not sources.is_spec_path(relative, ignore):
            continue
        if not relative.isprintable() or not _is_utf8(relative):
            raise GitSourceError(f"{relative!r} at {revision.ref}: the file name is not "
                                 "valid UTF-8 text; rename it")
        files.append(SourceFile(relative, _read(root, blob, revision)))
    return files


def _walk(tree: git.Tree, base: str) -> list[tuple[str, git.Blob]]:
    """Every blob below `tree` as (relative path, blob), skipping the skipped folders."""
    found: list[tuple[str, git.Blob]] = []
    stack = [(tree, base)]
    while stack:
        current, prefix = stack.pop()
        if prefix and _is_bundle(current):
            continue
        for blob in current.blobs:
            found.append((prefix + blob.name, blob))
        for child in current.trees:
            if not _skipped(child.name):
                stack.append((child, f"{prefix}{child.name}/"))
    return found


def _is_bundle(tree: git.Tree) -> bool:
    """A committed compiled bundle (its rule files are no specs), as `sources` skips it."""
    for blob in tree.blobs:
        if blob.name == sources.BUNDLE_MANIFEST:
            return sources.is_bundle_manifest(blob.data_stream.read(4096))
    return False


def _skipped(folder: str) -> bool:
    """Whether `sources` never reads below a folder of this name (`.git`, `out`, …)."""
    return not sources.is_spec_path(f"{folder}/spec.yaml")


def _read(root: git.Tree, blob: git.Blob, revision: Revision) -> bytes:
    """A blob's bytes; a symbolic link is followed inside the commit, as a checkout would."""
    for _ in range(_MAX_LINKS):
        data: bytes = blob.data_stream.read()
        if blob.mode != _LINK_MODE:
            return data
        target = posixpath.normpath(posixpath.join(posixpath.dirname(blob.path),
                                                   data.decode("utf-8", "replace")))
        try:
            found = root / target if not target.startswith(("/", "..")) else None
        except KeyError:
            found = None
        if found is None or found.type != "blob":
            raise GitSourceError(f"{blob.path} at {revision.ref}: a symbolic link to "
                                 f"{data.decode('utf-8', 'replace')!r}, which is not a file "
                                 "of the commit")
        blob = found
    raise GitSourceError(f"{blob.path} at {revision.ref}: too many levels of symbolic links")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
