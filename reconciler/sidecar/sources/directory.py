"""A directory holding a compiled bundle (what `converge compile -o DIR` writes).

Read through one directory file descriptor, so a bundle swapped in by `converge compile`
(which exchanges whole directories) is read from one side of the swap, never both. The
directory is polled every interval: reading a manifest and a few files is cheap, and every
read is verified.
"""

from __future__ import annotations

import os
from pathlib import Path

from converge.reconciler.sidecar import bundles
from converge.reconciler.sidecar.bundles import Candidate
from converge.reconciler.sidecar.sources.base import SourceError


class DirectorySource:
    """`dir:PATH` for one target."""

    def __init__(self, path: Path, *, target: str) -> None:
        self.path = path
        self.target = target
        self.description = f"dir:{path}"

    def fetch(self, known: str | None) -> Candidate:
        manifest, files = read(self.path, self.target)
        return bundles.verify(target=self.target, manifest_data=manifest, files=files)

    def close(self) -> None:
        """Nothing to release."""


def read(path: Path, target: str) -> tuple[bytes, dict[str, bytes]]:
    """`manifest.json` and every file under the target's part of the bundle at `path`.

    Raises:
        SourceError: the directory or its manifest cannot be read.
    """
    try:
        root = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise SourceError(f"cannot open {path}: {error.strerror}") from None
    try:
        try:
            manifest = _read_at(root, bundles.MANIFEST)
        except OSError as error:
            raise SourceError(f"cannot read {path / bundles.MANIFEST}: {error.strerror}"
                              ) from None
        top = bundles.ROOTS[target].split("/", 1)[0]
        files: dict[str, bytes] = {}
        try:
            top_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
        except FileNotFoundError:
            return manifest, files
        os.close(top_fd)
        for directory, _, names, dir_fd in os.fwalk(top, dir_fd=root):
            for name in names:
                relative = f"{directory}/{name}"
                files[relative] = _read_at(dir_fd, name)
        return manifest, files
    except OSError as error:
        raise SourceError(f"cannot read the bundle in {path}: {error}") from None
    finally:
        os.close(root)


def _read_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
