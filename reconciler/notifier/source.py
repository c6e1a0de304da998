"""Where the channels come from: a compiled bundle directory or the config server.

`--bundle DIR` reads `DIR/reconciler/channels.json` and checks its SHA-256 against
`DIR/manifest.json`; `--bundle URL` gets the `reconciler` target from the config server
(`GET URL/api/v1/bundles/reconciler`, bearer token, `If-None-Match`) and checks it the
same way. Either gives the file's bytes with the bundle hash (a 304 gives the last ones).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from converge.compiler.bundle import MANIFEST, sha256

CHANNELS = "reconciler/channels.json"
TIMEOUT = 30.0


class SourceError(Exception):
    """The bundle could not be read or does not match its manifest."""


def _checked(manifest: Any, data: bytes) -> str:
    """The bundle's hash, after checking `data` against the manifest's entry for it."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise SourceError(f"{MANIFEST} is not a converge manifest")
    entry = next((f for f in manifest["files"] if isinstance(f, dict)
                  and f.get("path") == CHANNELS), None)
    if entry is None:
        raise SourceError(f"{CHANNELS} is not in {MANIFEST}")
    if entry.get("sha256") != sha256(data):
        raise SourceError(f"{CHANNELS} does not match its SHA-256 in {MANIFEST}")
    return str(manifest.get("bundleHash") or entry["sha256"])


class BundleSource:
    """Reads channels.json from `location` (a directory or an http(s) URL)."""

    def __init__(self, location: str, *, token: str | None = None) -> None:
        self.location = location
        self.remote = location.startswith(("http://", "https://"))
        self._token = token
        self._known: tuple[bytes, str] | None = None

    def fetch(self) -> tuple[bytes, str]:
        """(channels.json bytes, bundle hash).

        Raises:
            SourceError: unreadable, unreachable or not matching its manifest.
        """
        self._known = self._remote() if self.remote else self._directory()
        return self._known

    def _directory(self) -> tuple[bytes, str]:
        root = Path(self.location)
        try:
            data = (root / CHANNELS).read_bytes()
            manifest = json.loads((root / MANIFEST).read_bytes())
        except (OSError, ValueError) as error:
            raise SourceError(f"{root}: {error}") from None
        return data, _checked(manifest, data)

    def _remote(self) -> tuple[bytes, str]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        if self._known:
            headers["If-None-Match"] = f'"{self._known[1]}"'
        url = f"{self.location.rstrip('/')}/api/v1/bundles/reconciler"
        try:
            response = httpx.get(url, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as error:
            raise SourceError(f"{url}: {error or type(error).__name__}") from None
        if response.status_code == 304 and self._known is not None:
            return self._known
        if response.status_code != 200:
            raise SourceError(f"{url}: HTTP {response.status_code}")
        try:
            body = response.json()
            data = str(body["files"][CHANNELS]).encode("utf-8")
            manifest = body["manifest"]
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"{url}: not a bundle with {CHANNELS}") from None
        _checked(manifest, data)
        return data, str(body.get("hash") or sha256(data))
