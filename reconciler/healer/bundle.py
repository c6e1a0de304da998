"""Read the policies from a compiled bundle: a directory, or the config server's URL.

A directory must hold `manifest.json` and `reconciler/healing.json` whose SHA-256 the
manifest lists; from a URL the file comes from the config server's
`/api/v1/bundles/reconciler/files/healing.json` (its `X-Converge-Sha256` checked), with a
bearer token when given. Anything else raises `BundleError` and the healer keeps the
policies it has.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from reconciler.healer import config

HEALING = "reconciler/healing.json"
SERVER_PATH = "/api/v1/bundles/reconciler/files/healing.json"

__all__ = ["HEALING", "BundleError", "BundleSource"]


class BundleError(Exception):
    """The bundle cannot be read or does not verify."""


class BundleSource:
    """Loads policies from `location` (a directory or an `http(s)://` URL)."""

    def __init__(self, location: str, *, token: str | None = None,
                 timeout: float = 10.0) -> None:
        self.location = location
        self.remote = location.startswith(("http://", "https://"))
        self._token = token
        self._timeout = timeout

    def load(self) -> tuple[config.Policy, ...]:
        """The bundle's policies.

        Raises:
            BundleError: unreadable, unverifiable or invalid.
        """
        data = self._fetch() if self.remote else self._read()
        try:
            return config.parse(data)
        except config.ConfigError as error:
            raise BundleError(str(error)) from None

    def _read(self) -> bytes:
        root = Path(self.location)
        try:
            manifest = json.loads((root / "manifest.json").read_bytes())
            data = (root / HEALING).read_bytes()
        except (OSError, ValueError) as error:
            raise BundleError(f"{root}: not a compiled bundle: {error}") from None
        listed = [f.get("sha256") for f in manifest.get("files", []) if isinstance(f, dict)
                  and f.get("path") == HEALING] if isinstance(manifest, dict) else []
        if not listed:
            raise BundleError(f"{root}: manifest.json does not list {HEALING}")
        if hashlib.sha256(data).hexdigest() != listed[0]:
            raise BundleError(f"{root / HEALING}: SHA-256 does not match manifest.json")
        return data

    def _fetch(self) -> bytes:
        url = self.location.rstrip("/") + SERVER_PATH
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            response = httpx.get(url, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as error:
            raise BundleError(f"{url}: {error}") from None
        if response.status_code != 200:
            raise BundleError(f"{url}: HTTP {response.status_code}")
        digest = response.headers.get("X-Converge-Sha256")
        if digest and hashlib.sha256(response.content).hexdigest() != digest:
            raise BundleError(f"{url}: SHA-256 does not match X-Converge-Sha256")
        return response.content
