"""Publish a bundle so that a target reading at any instant sees one whole bundle.

Layout (STATE defaults to `.<dest name>.converge` beside DEST):

    STATE/versions/<id>/…          complete sets, each with `.converge-version.json`
    STATE/versions/.staging-*/     a set being written (removed at start-up)
    STATE/good     -> versions/<id>   the last set the target verifiably loaded
    STATE/previous -> versions/<id>   the good one before it
    DEST           -> STATE/versions/<id>   (a relative symlink)

A set is written and fsynced under a staging name, then renamed into `versions/`, so a
directory there is always complete. Publishing is one `rename(2)` of a new symlink over
DEST, then an fsync of DEST's directory: a reader resolving `DEST/*.yaml` sees the old set
or the new one, never a mix, and a crash at any point leaves one of them. The old and the
new set stay on disk for rollback. The sidecar owns exactly DEST (only while it is a
symlink into STATE/versions) and STATE; it removes nothing else.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converge.compiler.bundle import sha256
from converge.reconciler.sidecar.bundles import Candidate
from converge.reconciler.sidecar.secrets import Resolved

METADATA = ".converge-version.json"
EMPTY = "empty"
"""The version published when a first bundle fails and there is no good one to restore."""
_STAGING = ".staging-"
_METADATA_MODE = 0o600
"""The metadata holds the SHA-256 of each file as written, secrets resolved: an offline
guess check of a secret for whoever could read it, so only the sidecar's user can."""


class PublishError(Exception):
    """DEST or STATE cannot be used or written."""


@dataclasses.dataclass(frozen=True, slots=True)
class Version:
    """One complete set under STATE/versions."""

    id: str
    path: Path
    hash: str | None
    """The target hash it was published from (None for the empty set)."""
    commit: str | None
    files: Mapping[str, str]
    """Name under DEST → SHA-256 of the bytes written (secrets resolved)."""
    intact: bool
    """Every file is there with the recorded hash, and nothing else is."""

    def read(self) -> dict[str, bytes]:
        """The files of this set, by name under DEST."""
        return {name: (self.path / name).read_bytes() for name in self.files}


def default_state_dir(dest: Path) -> Path:
    """`.<dest name>.converge` beside DEST (same file system, so symlinks stay relative)."""
    return dest.parent / f".{dest.name}.converge"


class Publisher:
    """Writes sets, swaps DEST between them, remembers the good one.

    Args:
        dest: the directory path the target reads (becomes a symlink).
        state_dir: where sets and markers live.
        target: the target name, recorded in each set.
    """

    def __init__(self, *, dest: Path, state_dir: Path, target: str) -> None:
        self.dest = dest.absolute()
        self.state = state_dir.absolute()
        self.versions = self.state / "versions"
        self.target = target
        self._lock_fd: int | None = None

    def prepare(self) -> None:
        """Create STATE, take its lock, check DEST is ours and clear a crash's leftovers.

        Raises:
            PublishError: DEST exists and is not managed here, or another sidecar holds
                the lock.
        """
        self.versions.mkdir(parents=True, exist_ok=True)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PublishError(f"another sidecar is publishing to {self.dest} "
                               f"(lock {self.state / 'lock'})") from None
        self._lock_fd = fd
        self._check_dest()
        for leftover in self.versions.glob(f"{_STAGING}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for metadata in self.versions.glob(f"*/{METADATA}"):  # written 0644 before
            os.chmod(metadata, _METADATA_MODE)
        for leftover in self.dest.parent.glob(f".{self.dest.name}.link-*"):
            leftover.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the lock."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def active(self) -> Version | None:
        """The set DEST points at, if DEST is ours."""
        return self._version_at(self.dest)

    def good(self) -> Version | None:
        """The last set the target verifiably loaded."""
        return self._version_at(self.state / "good")

    def stage(self, *, candidate: Candidate, resolved: Resolved) -> Version:
        """Write a complete, durable set (not yet published)."""
        files = resolved.files
        staging = self.versions / f"{_STAGING}{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            meta = {"target": self.target, "hash": candidate.hash, "commit": candidate.commit,
                    "files": {name: sha256(data) for name, data in sorted(files.items())},
                    "sensitive": sorted(resolved.sensitive),
                    "bundleHash": candidate.manifest.get("bundleHash")}
            for name, data in sorted(files.items()):
                _write(staging / name, data, 0o600 if name in resolved.sensitive else 0o644)
            _write(staging / METADATA, _json(meta), _METADATA_MODE)
            _fsync_tree(staging)
            version_id = f"{candidate.hash[:16]}-{secrets.token_hex(3)}"
            os.rename(staging, self.versions / version_id)
            _fsync_dir(self.versions)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        version = self._load(version_id)
        assert version is not None
        return version

    def empty(self) -> Version:
        """The empty set (created on first use)."""
        path = self.versions / EMPTY
        if not (path / METADATA).is_file():
            staging = self.versions / f"{_STAGING}{secrets.token_hex(4)}"
            staging.mkdir()
            _write(staging / METADATA, _json({"target": self.target, "hash": None,
                                               "commit": None, "files": {}}), _METADATA_MODE)
            _fsync_tree(staging)
            shutil.rmtree(path, ignore_errors=True)
            os.rename(staging, path)
            _fsync_dir(self.versions)
        version = self._load(EMPTY)
        assert version is not None
        return version

    def activate(self, version: Version) -> None:
        """Point DEST at `version` in one rename, and make that durable."""
        self._swap(self.dest, version)

    def mark_good(self, version: Version) -> None:
        """Remember `version` as good (the old good one becomes `previous`)."""
        current = self.good()
        if current is not None and current.id != version.id:
            self._swap(self.state / "previous", current)
        self._swap(self.state / "good", version)

    def discard(self, version: Version) -> None:
        """Remove a set that was never published."""
        if version.id != EMPTY and version.id not in self._kept():
            shutil.rmtree(version.path, ignore_errors=True)

    def prune(self) -> None:
        """Remove every set but the active, good and previous ones."""
        kept = self._kept()
        for path in self.versions.iterdir():
            if path.name not in kept and not path.name.startswith(_STAGING):
                shutil.rmtree(path, ignore_errors=True)

    def _kept(self) -> set[str]:
        kept = {EMPTY}
        for link in (self.dest, self.state / "good", self.state / "previous"):
            version_id = self._id_at(link)
            if version_id is not None:
                kept.add(version_id)
        return kept

    def _check_dest(self) -> None:
        if self.dest.is_symlink():
            if self._id_at(self.dest) is None:
                raise PublishError(f"{self.dest} is a symlink not managed by this sidecar "
                                   f"(it does not point into {self.versions})")
        elif self.dest.exists() and (not self.dest.is_dir() or any(self.dest.iterdir())):
            raise PublishError(f"{self.dest} exists and is not managed by this sidecar; "
                               "move it away or choose another --dest (the sidecar makes "
                               "it a symlink to the published set)")

    def _id_at(self, link: Path) -> str | None:
        try:
            pointed = os.readlink(link)
        except OSError:
            return None
        resolved = Path(os.path.normpath(link.parent / pointed))
        if resolved.parent != self.versions:
            return None
        return resolved.name

    def _version_at(self, link: Path) -> Version | None:
        version_id = self._id_at(link)
        return self._load(version_id) if version_id is not None else None

    def _load(self, version_id: str) -> Version | None:
        path = self.versions / version_id
        try:
            meta: dict[str, Any] = json.loads((path / METADATA).read_bytes())
            files = dict(meta["files"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return Version(version_id, path, meta.get("hash"), meta.get("commit"), files,
                       _intact(path, files))

    def _swap(self, link: Path, version: Version) -> None:
        temporary = link.parent / f".{link.name}.link-{secrets.token_hex(4)}"
        os.symlink(os.path.relpath(version.path, link.parent), temporary)
        try:
            if not link.is_symlink() and link.is_dir():
                link.rmdir()  # the empty directory DEST was before the first publish
            os.replace(temporary, link)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(link.parent)


def _intact(path: Path, files: Mapping[str, str]) -> bool:
    found = {p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir()}
    if found != {*files, METADATA}:
        return False
    try:
        return all(sha256((path / name).read_bytes()) == digest for name, digest in files.items())
    except OSError:
        return False


def _json(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Make every file and directory under `root` durable before it is renamed into place.

    One `syncfs` commits them all at once (each `fsync` costs a journal commit); where it
    is missing, each file and directory is fsynced.
    """
    os.chmod(root, 0o755)
    if _syncfs(root):
        return
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir():
            _fsync_dir(path)
        else:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(root)


def _syncfs(path: Path) -> bool:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    syncfs = getattr(ctypes.CDLL(name, use_errno=True), "syncfs", None) if name else None
    if syncfs is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
