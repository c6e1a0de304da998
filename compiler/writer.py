"""Write a bundle so that a reader never sees half of one.

The new bundle is built in a sibling directory and made durable (one `syncfs`),
then swapped with the old one in a single `renameat2(RENAME_EXCHANGE)` where the kernel
offers it (two renames otherwise), and the old one removed. Files no longer produced
disappear with it. A directory that is not a converge bundle is never replaced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import functools
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from converge.compiler.bundle import MANIFEST

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class WriteError(Exception):
    """The output directory cannot be written or replaced."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library already loaded in this process (for syncfs and renameat2)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name, use_errno=True) if name else None


def _sync_tree(root: Path) -> None:
    """Make every file and directory under `root` durable before it is swapped in.

    One `syncfs` of the file system commits them all at once (a thousand `fsync`s cost a
    journal commit each); where `syncfs` is missing, each file and directory is fsynced.
    """
    libc = _libc()
    syncfs = getattr(libc, "syncfs", None) if libc else None
    if syncfs is not None:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(root)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    libc = _libc()
    renameat2 = getattr(libc, "renameat2", None) if libc else None
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def write(files: Mapping[str, bytes], out: Path) -> None:
    """Replace `out` with exactly `files`.

    Raises:
        WriteError: `out` exists and is not a converge bundle, or cannot be written.
    """
    with Staging(out) as staging:
        staging.commit(files)


class Staging:
    """A new bundle being built beside `out`: files go in as they are ready (from this
    process or a forked one), then `commit` swaps it in. Leaving the `with` block removes
    the staging directory: after a commit, that is the previous bundle.

    Raises:
        WriteError: `out` exists and is not a converge bundle (on creation), or a file
            cannot be written or the bundle swapped in.
    """

    def __init__(self, out: Path) -> None:
        self.out = out = out.absolute()
        if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                                   and not (out / MANIFEST).is_file())):
            raise WriteError(f"{out} exists and is not a converge bundle (no {MANIFEST}); "
                             "refusing to replace it")
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(out)
        self.path = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
        self._written: set[str] = set()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write(self, files: Mapping[str, bytes]) -> None:
        """Write `files` into the staging directory now."""
        try:
            _write_files(files, self.path)
        except OSError as error:
            raise self.error(error) from error
        self._written.update(files)

    def written_elsewhere(self, paths: Iterable[str]) -> None:
        """Record files another process wrote into `path`."""
        self._written.update(paths)

    def error(self, error: OSError | str) -> WriteError:
        """The error to raise when writing failed with `error`."""
        return WriteError(f"cannot write {self.out}: {error}")

    def commit(self, files: Mapping[str, bytes]) -> None:
        """Make the staging directory hold exactly `files`, durable, and swap it in."""
        if not self._written <= set(files):
            raise WriteError(f"staged files that are not in the bundle: "
                             f"{sorted(self._written - set(files))}")
        self.write({path: data for path, data in files.items() if path not in self._written})
        try:
            _sync_tree(self.path)
            os.chmod(self.path, 0o755)
            _swap_in(self.path, self.out)
        except OSError as error:
            raise self.error(error) from error


def _write_files(files: Mapping[str, bytes], staging: Path) -> None:
    """Write every file under the fresh `staging` directory.

    Paths are checked as text: `staging` is new and holds only what is written here, so
    no symbolic link can redirect a path (resolving two paths per file cost 14 `lstat`s).
    Each directory is made once.
    """
    made: set[str] = set()
    for relative, data in sorted(files.items()):
        normal = posixpath.normpath(relative)
        if posixpath.isabs(relative) or normal.split("/")[0] in ("..", "."):
            raise WriteError(f"refusing to write outside the bundle: {relative}")
        parent = posixpath.dirname(normal)
        if parent and parent not in made:
            os.makedirs(staging / parent, exist_ok=True)
            made.add(parent)
        with open(staging / normal, "wb") as handle:
            handle.write(data)


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
    elif not _exchange(staging, out):
        retired = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, retired)
        try:
            os.rename(staging, out)
        except OSError:
            os.rename(retired, out)  # put the previous bundle back
            raise
        shutil.rmtree(retired, ignore_errors=True)
    # after an exchange, `staging` holds the old bundle and is removed by the caller
    _fsync_dir(out.parent)


_ABANDONED_AFTER = 3600.0


def _remove_abandoned(out: Path) -> None:
    """Remove staging directories a killed compile left beside `out` over an hour ago."""
    now = time.time()
    for pattern in (f".{out.name}.new-*", f".{out.name}.old-*"):
        for leftover in out.parent.glob(pattern):
            try:
                if now - leftover.stat().st_mtime > _ABANDONED_AFTER:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                continue


def read(out: Path) -> dict[str, bytes]:
    """Every file under `out`, by '/'-separated relative path (empty if `out` is missing)."""
    if not out.is_dir():
        return {}
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def stale_diff(files: Mapping[str, bytes], out: Path, *,
               normalize: Mapping[str, Callable[[bytes], bytes]] | None = None) -> str:
    """A unified diff from what `out` holds to what it should hold; empty when current.

    `normalize` maps paths to a function applied to the file `out` holds before comparing.
    """
    current = read(out)
    for path, function in (normalize or {}).items():
        if path in current:
            current[path] = function(current[path])
    chunks: list[str] = []
    for path in sorted(set(files) | set(current)):
        old, new = current.get(path), files.get(path)
        if old == new:
            continue
        old_lines = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new_lines = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(
            old_lines, new_lines,
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null"))
        if chunks and not chunks[-1].endswith("\n"):
            chunks[-1] += "\n"
    return "".join(chunks)
