"""What the server serves now: each target's response body, precomputed.

Built once per successful compile (pure), then read by every request without locks:
the reconcile thread swaps the whole `Published` snapshot by one reference assignment.
A target whose hash did not change keeps its previous body byte for byte, so its ETag
(the target hash) always names exactly one body.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Mapping
from typing import Any

from converge.compiler import bundle

API_VERSION = "converge/bundle/v1"


@dataclasses.dataclass(frozen=True, slots=True)
class TargetBody:
    """One target's files and its response, ready to send."""

    target: str
    hash: str
    commit: str | None
    """The commit these files were first compiled from."""
    etag: str
    body: bytes
    gzipped: bytes
    files: Mapping[str, bytes]
    """Path under the target's folder → exact bytes (for `/files/{path}`)."""
    file_etags: Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    """The bundle served now."""

    commit: str | None
    bundle_hash: str
    compiled_at: float
    targets: Mapping[str, TargetBody]
    index: bytes
    index_etag: str
    manifest: Mapping[str, Any]
    serial: int = 0
    """The id of the compile attempt that made it: grows with every bundle the shared
    state saves, so a sidecar can tell an older bundle from a newer one (`X-Converge-Serial`)."""


def quote(tag: str) -> str:
    return f'"{tag}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an `If-None-Match` list with our (strong) ETag."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def target_document(manifest: Mapping[str, Any], files: Mapping[str, bytes], target: str,
                    commit: str | None) -> dict[str, Any]:
    """The `converge/bundle/v1` document of one target (see docs/server.md)."""
    entries = [entry for entry in manifest["files"] if entry["target"] == target]
    return {
        "apiVersion": API_VERSION,
        "target": target,
        "hash": manifest["targets"][target]["hash"],
        "commit": commit,
        "manifest": {"schemaVersion": manifest["schemaVersion"],
                     "targets": {target: manifest["targets"][target]},
                     "files": entries},
        "files": {entry["path"]: files[entry["path"]].decode("utf-8") for entry in entries},
    }


def publish(built: bundle.Bundle, *, compiled_at: float, previous: Published | None,
            first_commits: Mapping[str, str | None] | None = None,
            serial: int = 0) -> Published:
    """The snapshot for `built`, reusing `previous` bodies whose hash is unchanged.

    Args:
        built: the compiled bundle.
        compiled_at: when it compiled (seconds since the epoch).
        previous: what was served before, if anything.
        first_commits: target → the commit its files were first compiled from, for a
            bundle reloaded from the database (otherwise the bundle's own commit).
        serial: the id of the attempt that compiled it.
    """
    manifest = built.manifest
    commit = (manifest.get("source") or {}).get("commit")
    targets: dict[str, TargetBody] = {}
    for target, info in sorted(manifest["targets"].items()):
        old = previous.targets.get(target) if previous else None
        if old is not None and old.hash == info["hash"]:
            targets[target] = old
            continue
        first = (first_commits or {}).get(target, commit)
        targets[target] = _target_body(manifest, built.files, target, first)
    index = {"commit": commit, "bundleHash": built.hash,
             "targets": {t: {"hash": b.hash, "commit": b.commit,
                             "files": len(b.files), "url": f"/api/v1/bundles/{t}"}
                         for t, b in targets.items()}}
    return Published(commit, built.hash, compiled_at, targets, _encode(index),
                     quote(built.hash), manifest, serial)


def _target_body(manifest: Mapping[str, Any], files: Mapping[str, bytes], target: str,
                 commit: str | None) -> TargetBody:
    document = target_document(manifest, files, target, commit)
    body = encode_document(document)
    own = {path.split("/", 1)[1]: files[path] for path in document["files"]}
    return TargetBody(target=target, hash=document["hash"], commit=commit,
                      etag=quote(document["hash"]), body=body,
                      gzipped=gzip.compress(body, compresslevel=6, mtime=0), files=own,
                      file_etags={p: quote(bundle.sha256(d)) for p, d in own.items()})


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def encode_document(document: Mapping[str, Any]) -> bytes:
    """The same bytes as `_encode(document)`, built one file at a time.

    `json.dumps` holds the GIL for the whole call: megabytes of rule files would stall
    the HTTP event loop for tens of milliseconds. Encoding each file separately lets the
    loop run between them.
    """
    parts: list[str] = []
    for key in sorted(document):
        value = document[key]
        if key == "files":
            encoded = ",".join(f"{_dumps(path)}:{_dumps(value[path])}" for path in sorted(value))
            parts.append(f'"files":{{{encoded}}}')
        else:
            parts.append(f"{_dumps(key)}:{_dumps(value)}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
