"""Read one verified file of a compiled bundle: from a directory, or the config server.

A directory must hold `manifest.json` and the file, whose SHA-256 the manifest lists; from
a URL the file comes from the config server's `/api/v1/bundles/<target>/files/<name>` (its
`X-Converge-Sha256` checked), with a bearer token when given. Anything else raises
`BundleError` and the daemon keeps what it has.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

__all__ = ["BundleError", "read"]


class BundleError(Exception):
    """The bundle cannot be read or does not verify."""


def read(location: str, path: str, *, token: str | None = None,
         timeout: float = 10.0) -> bytes:
    """The bytes of `path` (e.g. `reconciler/pools.json`) in the bundle at `location`.

    Raises:
        BundleError: unreadable or unverifiable.
    """
    if location.startswith(("http://", "https://")):
        return _fetch(location, path, token=token, timeout=timeout)
    return _read(Path(location), path)


def _read(root: Path, path: str) -> bytes:
    try:
        manifest = json.loads((root / "manifest.json").read_bytes())
        data = (root / path).read_bytes()
    except (OSError, ValueError) as error:
        raise BundleError(f"{root}: not a compiled bundle: {error}") from None
    listed = [f.get("sha256") for f in manifest.get("files", []) if isinstance(f, dict)
              and f.get("path") == path] if isinstance(manifest, dict) else []
    if not listed:
        raise BundleError(f"{root}: manifest.json does not list {path}")
    if hashlib.sha256(data).hexdigest() != listed[0]:
        raise BundleError(f"{root / path}: SHA-256 does not match manifest.json")
    return data


def _fetch(location: str, path: str, *, token: str | None, timeout: float) -> bytes:
    target, _, name = path.partition("/")
    url = f"{location.rstrip('/')}/api/v1/bundles/{target}/files/{name}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        raise BundleError(f"{url}: {error}") from None
    if response.status_code != 200:
        raise BundleError(f"{url}: HTTP {response.status_code}")
    digest = response.headers.get("X-Converge-Sha256")
    if digest and hashlib.sha256(response.content).hexdigest() != digest:
        raise BundleError(f"{url}: SHA-256 does not match X-Converge-Sha256")
    return response.content
