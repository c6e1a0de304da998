"""The config server (`converge serve`): `GET /api/v1/bundles/{target}` with the last
hash as `If-None-Match`, a bearer token, and sync-status reports back (docs/server.md).

A 304 costs the server nothing and the sidecar nothing: the bundle is downloaded only
when its target hash changed. Every body is verified like any other source's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from converge.reconciler.sidecar import bundles
from converge.reconciler.sidecar.bundles import BundleError, Candidate
from converge.reconciler.sidecar.sources.base import SourceError

TIMEOUT = 30.0


class ServerSource:
    """One target's bundle from the config server at `url`."""

    def __init__(self, url: str, *, target: str, token: str | None,
                 client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.target = target
        self.description = self.url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(timeout=TIMEOUT)
        self._headers = headers

    def fetch(self, known: str | None) -> Candidate | None:
        headers = dict(self._headers)
        if known:
            headers["If-None-Match"] = f'"{known}"'
        try:
            response = self.client.get(f"{self.url}/api/v1/bundles/{self.target}",
                                       headers=headers)
        except httpx.HTTPError as error:
            raise SourceError(str(error) or type(error).__name__) from None
        if response.status_code == 304:
            return None
        if response.status_code in (401, 403):
            raise SourceError(f"the server refused the token (HTTP {response.status_code})")
        if response.status_code != 200:
            raise SourceError(f"HTTP {response.status_code}: {response.text.strip()[:200]}")
        try:
            body = response.json()
        except ValueError:
            raise BundleError("the server's answer is not JSON") from None
        return _candidate(body, target=self.target, etag=response.headers.get("ETag"))

    def report(self, report: Mapping[str, Any]) -> None:
        """POST a sync-status report; failures only cost the report.

        Raises:
            SourceError: the server could not take it.
        """
        try:
            response = self.client.post(f"{self.url}/api/v1/config/sync/status",
                                        json=dict(report), headers=self._headers)
        except httpx.HTTPError as error:
            raise SourceError(str(error) or type(error).__name__) from None
        if response.status_code >= 300:
            raise SourceError(f"status report refused: HTTP {response.status_code}")

    def close(self) -> None:
        self.client.close()


def _candidate(body: Any, *, target: str, etag: str | None) -> Candidate:
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict) or (
            not isinstance(body.get("manifest"), dict)):
        raise BundleError("the server's answer has no 'manifest' and 'files'")
    if body.get("target") != target:
        raise BundleError(f"the server sent the bundle of {body.get('target')!r}")
    files: dict[str, bytes] = {}
    for path, content in body["files"].items():
        if not isinstance(content, str):
            raise BundleError(f"{path}: content is not text")
        files[str(path)] = content.encode("utf-8")
    candidate = bundles.verify(target=target,
                               manifest_data=json.dumps(body["manifest"]).encode("utf-8"),
                               files=files, commit=body.get("commit"))
    tag = etag.removeprefix("W/").strip('"') if etag is not None else candidate.hash
    if body.get("hash") != candidate.hash or tag != candidate.hash:
        raise BundleError("the server's hash or ETag does not match the manifest")
    return candidate
