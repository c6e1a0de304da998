"""Discover spec files: from a directory on disk or from a Git tree object.

This is one of the two places the compiler touches I/O. Everything after it works on
`SourceFile`s already in memory, so a working tree, a commit and both sides of a pull
request compile through the same code.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

DEFAULT_PATTERNS = ("**/*.yaml", "**/*.yml")
IGNORE_FILE = ".converge-ignore"
PROJECT_FILE = "converge.yaml"
_ALWAYS_SKIPPED_DIRS = frozenset({".git", ".github", "node_modules", ".venv", "out"})
BUNDLE_MANIFEST = "manifest.json"
_BUNDLE_MARKER = b'"converge/manifest/v1"'


@dataclasses.dataclass(frozen=True, slots=True)
class SourceFile:
    """A spec file's path (relative, '/'-separated) and its raw bytes."""

    path: str
    data: bytes


class SourceError(Exception):
    """The repository root cannot be read at all (missing, not a directory)."""


def read_directory(root: Path) -> list[SourceFile]:
    """Read every spec file under `root`, sorted by path, honouring `.converge-ignore`.

    A symbolic link is read only when it resolves inside `root`, as Git trees are read
    (`gitsource`): a repository cannot make `check`, `compile` or a sidecar's Git source
    read a file of the machine it runs on.

    Raises:
        SourceError: `root` does not exist or is not a directory, or a spec file (or the
            ignore file) is a symbolic link that leaves it.
    """
    if not root.exists():
        raise SourceError(f"{root}: no such file or directory")
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory")
    inside = os.path.realpath(root)
    _refuse_outside(root, IGNORE_FILE, inside)
    ignore = _read_ignore(root / IGNORE_FILE)
    files: list[SourceFile] = []
    for relative in sorted(_walk(root)):
        if is_spec_path(relative, ignore):
            if not relative.isprintable() or _has_surrogates(relative):
                raise SourceError(f"{root / relative!s}: the file name is not valid UTF-8 "
                                  "text; rename it")
            _refuse_outside(root, relative, inside)
            try:
                files.append(SourceFile(relative, (root / relative).read_bytes()))
            except OSError as error:
                raise SourceError(f"{root / relative}: {error.strerror}") from error
    return files


def _refuse_outside(root: Path, relative: str, inside: str) -> None:
    """Raise `SourceError` when `root/relative` is a link resolving outside `inside`."""
    path = root / relative
    if not path.is_symlink():
        return
    target = os.path.realpath(path)
    if os.path.commonpath([inside, target]) != inside:
        raise SourceError(f"{path}: a symbolic link to a file outside {root}; refusing to "
                          "read it (links may only point inside the repository)")


def union(base: Sequence[SourceFile], head: Sequence[SourceFile]) -> list[SourceFile]:
    """The files of `base`, then those of `head` not in `base` byte for byte: every file
    two revisions hold, each once."""
    same = {(source.path, source.data) for source in base}
    return [*base, *(source for source in head if (source.path, source.data) not in same)]


def is_spec_path(relative: str, ignore: Iterable[str] = ()) -> bool:
    """Whether a '/'-separated path is a spec file and not excluded by `ignore` patterns."""
    if not relative.endswith((".yaml", ".yml")):
        return False
    parts = relative.split("/")
    if any(part in _ALWAYS_SKIPPED_DIRS for part in parts[:-1]):
        return False
    return not any(_matches(relative, pattern) for pattern in ignore)


def parse_ignore(text: str) -> list[str]:
    """The patterns of a `.converge-ignore` file: one glob a line, `#` comments."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.rstrip("/"))
    return patterns


def ignore_patterns(root: Path) -> list[str]:
    """The patterns of the `.converge-ignore` file at `root` (none if it has none)."""
    return _read_ignore(root / IGNORE_FILE)


def _read_ignore(path: Path) -> list[str]:
    try:
        return parse_ignore(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return []


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _matches(relative: str, pattern: str) -> bool:
    """gitignore-like: a pattern matches the path, any parent folder, or any base name."""
    pattern = pattern.lstrip("/")
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes) or (
        "/" not in pattern and any(fnmatch.fnmatchcase(part, pattern) for part in parts)
    )


def is_bundle_manifest(head: bytes) -> bool:
    """Whether the first bytes of a `manifest.json` are a converge bundle's manifest."""
    return _BUNDLE_MARKER in head


def _is_bundle_directory(directory: str, filenames: list[str]) -> bool:
    """A compiled bundle (`compile -o` inside the repository): its rule files are no specs."""
    if BUNDLE_MANIFEST not in filenames:
        return False
    try:
        with open(os.path.join(directory, BUNDLE_MANIFEST), "rb") as manifest:
            return is_bundle_manifest(manifest.read(4096))
    except OSError:
        return False


def _walk(root: Path) -> Iterable[str]:
    for directory, dirnames, filenames in os.walk(root):
        if directory != str(root) and _is_bundle_directory(directory, filenames):
            dirnames.clear()
            continue
        dirnames[:] = [d for d in dirnames if d not in _ALWAYS_SKIPPED_DIRS]
        base = Path(directory).relative_to(root)
        for name in filenames:
            yield (base / name).as_posix()
