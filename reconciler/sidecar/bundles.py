"""Verify what a source offers before anything touches disk: one target's files of a bundle.

Pure: takes the manifest's bytes and the files as found (bundle path → bytes) and returns a
`Candidate` whose files are keyed by their name under `--dest`, or raises `BundleError`.
Every file's SHA-256 must match the manifest, the target hash must match its files, and
nothing else may be there: no extra file, no missing file, no path that could leave the
destination.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Mapping
from typing import Any

from converge.compiler.bundle import MANIFEST, SCHEMA_VERSION, pairs_hash, sha256

TARGETS = ("prometheus", "alertmanager", "vmalert")
ROOTS = {"prometheus": "prometheus/rules/", "vmalert": "vmalert/rules/",
         "alertmanager": "alertmanager/"}
"""Where each target's files sit in a bundle; what follows becomes the name under --dest."""

__all__ = ["MANIFEST", "ROOTS", "TARGETS", "BundleError", "Candidate", "dest_name",
           "parse_manifest", "verify"]


class BundleError(Exception):
    """The offered bundle is not exactly what its manifest says; nothing is written."""


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """One target's verified files, ready to publish."""

    target: str
    hash: str
    """The target's hash from the manifest (the server's ETag)."""
    commit: str | None
    files: Mapping[str, bytes]
    """By name under --dest (`http.yaml`, `templates/slack.tmpl`)."""
    manifest: Mapping[str, Any]
    secrets: Mapping[str, tuple[Mapping[str, str], ...]] = dataclasses.field(
        default_factory=dict)
    """The manifest's secret positions, by name under --dest (see `secrets.resolve`)."""


def parse_manifest(data: bytes) -> dict[str, Any]:
    """The manifest as a dict, checked for the fields the sidecar relies on."""
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise BundleError(f"{MANIFEST} is not JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST} is not a JSON object")
    if manifest.get("schemaVersion") != SCHEMA_VERSION:
        raise BundleError(f"{MANIFEST}: schemaVersion {manifest.get('schemaVersion')!r} "
                          f"is not {SCHEMA_VERSION!r}")
    if not isinstance(manifest.get("files"), list) or not isinstance(
            manifest.get("targets"), dict):
        raise BundleError(f"{MANIFEST}: 'files' and 'targets' are missing")
    return manifest


def dest_name(target: str, path: str) -> str:
    """The name under --dest of bundle path `path`, e.g. `prometheus/rules/a.yaml` → `a.yaml`.

    Raises:
        BundleError: `path` is not a plain relative path under the target's root.
    """
    root = ROOTS[target]
    if (not path.startswith(root) or "\\" in path or "\0" in path
            or posixpath.normpath(path) != path):
        raise BundleError(f"unsafe or unexpected path for {target}: {path!r}")
    name = path[len(root):]
    if any(part in ("", ".", "..") or part.startswith(".") for part in name.split("/")):
        raise BundleError(f"unsafe or unexpected path for {target}: {path!r}")
    return name


def verify(*, target: str, manifest_data: bytes, files: Mapping[str, bytes],
           commit: str | None = None) -> Candidate:
    """Check `files` (every file found under the target's root) against the manifest.

    Args:
        target: prometheus, alertmanager or vmalert.
        manifest_data: the bytes of `manifest.json`.
        files: bundle path → bytes, for every file the source holds under `ROOTS[target]`.
        commit: the source commit, when the source knows it better than the manifest.

    Raises:
        BundleError: with the first reason the bundle cannot be trusted.
    """
    manifest = parse_manifest(manifest_data)
    info = manifest["targets"].get(target)
    if not isinstance(info, dict) or not isinstance(info.get("hash"), str):
        raise BundleError(f"the bundle has nothing for {target}")
    listed, sizes = _listed(manifest, target)
    for path in files:
        if path not in listed:
            raise BundleError(f"{path}: not in {MANIFEST}")
    published: dict[str, bytes] = {}
    for path, digest in listed.items():
        if path not in files:
            raise BundleError(f"{path}: missing (listed in {MANIFEST})")
        actual = sha256(files[path])
        if sizes[path] is not None and sizes[path] != len(files[path]):
            raise BundleError(f"{path}: {len(files[path])} bytes, the manifest says "
                              f"{sizes[path]}")
        if actual != digest:
            raise BundleError(f"{path}: SHA-256 {actual[:12]}… does not match the "
                              f"manifest's {digest[:12]}…")
        published[dest_name(target, path)] = files[path]
    if pairs_hash(listed) != info["hash"]:
        raise BundleError(f"the {target} hash in {MANIFEST} does not match its files")
    source = manifest.get("source")
    if commit is None and isinstance(source, dict):
        commit = source.get("commit")
    return Candidate(target, info["hash"], commit if isinstance(commit, str) else None,
                     published, manifest, _secrets(manifest, target))


def _secrets(manifest: Mapping[str, Any], target: str
             ) -> dict[str, tuple[Mapping[str, str], ...]]:
    """Each file's `secrets` positions, checked for shape, by name under --dest."""
    found: dict[str, tuple[Mapping[str, str], ...]] = {}
    for entry in manifest["files"]:
        path = entry["path"]
        if path.split("/", 1)[0] != target or "secrets" not in entry:
            continue
        positions = entry["secrets"]
        if not isinstance(positions, list) or not all(_position(p) for p in positions):
            raise BundleError(f"{MANIFEST}: the secret positions of {path} are malformed")
        found[dest_name(target, path)] = tuple(positions)
    return found


def _position(position: Any) -> bool:
    if not isinstance(position, dict) or not isinstance(position.get("pointer"), str) or (
            not position["pointer"].startswith("/")):
        return False
    kinds = [k for k in ("env", "file") if k in position]
    allowed = {"pointer", "env", "file", "prefix"}
    return (len(kinds) == 1 and isinstance(position[kinds[0]], str)
            and isinstance(position.get("prefix", ""), str) and set(position) <= allowed)


def _listed(manifest: Mapping[str, Any], target: str
            ) -> tuple[dict[str, str], dict[str, int | None]]:
    """The manifest's files of `target`: bundle path → SHA-256, and → size when given."""
    listed: dict[str, str] = {}
    sizes: dict[str, int | None] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or (
                not isinstance(entry.get("sha256"), str)):
            raise BundleError(f"{MANIFEST}: a file entry lacks 'path' or 'sha256'")
        path = entry["path"]
        if path.split("/", 1)[0] != target:
            continue
        dest_name(target, path)
        if path in listed:
            raise BundleError(f"{MANIFEST}: {path} is listed twice")
        listed[path] = entry["sha256"]
        size = entry.get("size")
        sizes[path] = size if isinstance(size, int) else None
    if not listed:
        raise BundleError(f"the bundle has no files for {target}")
    return listed, sizes
