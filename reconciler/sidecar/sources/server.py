"""The config server (`converge serve`): `GET /api/v1/bundles/{target}` with the last
hash as `If-None-Match`, a bearer token, and sync-status reports back (docs/server.md).

A 304 costs the server nothing and the sidecar nothing: the bundle is downloaded only
when its target hash changed. Every body is verified like any other source's.

Several server URLs (replicas; `--source URL,URL,...`): the sidecar keeps asking the one
that last answered, and moves on to the next on a connection error or a 5xx. It never
goes backwards: each bundle carries `X-Converge-Serial: <database id>.<serial>` (the id
of the compile that made it, growing in the shared database), and a replica answering
with a lower serial of the same database than the highest one taken (one that has not
caught up) is passed over. A serial from another database (an empty one, a restore)
compares with nothing, so the sidecar follows it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from converge.reconciler.sidecar import bundles
from converge.reconciler.sidecar.bundles import BundleError, Candidate
from converge.reconciler.sidecar.sources.base import SourceError

TIMEOUT = 30.0


class ServerSource:
    """One target's bundle from the config server at `url`: one URL, or several
    separated by commas (replicas, tried in turn)."""

    def __init__(self, url: str | Sequence[str], *, target: str, token: str | None,
                 client: httpx.Client | None = None) -> None:
        urls = url.split(",") if isinstance(url, str) else list(url)
        self.urls = [u.strip().rstrip("/") for u in urls if u.strip()]
        self.url = self.urls[0]
        """The replica asked first: the one that last answered."""
        self.target = target
        self.description = ",".join(self.urls)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(timeout=TIMEOUT)
        self._headers = headers
        self.serial = 0
        """The highest `X-Converge-Serial` taken: older bundles are passed over."""
        self.database = ""
        """The database that serial is from."""

    def _rotation(self) -> list[str]:
        start = self.urls.index(self.url) if self.url in self.urls else 0
        return self.urls[start:] + self.urls[:start]

    def fetch(self, known: str | None) -> Candidate | None:
        headers = dict(self._headers)
        if known:
            headers["If-None-Match"] = f'"{known}"'
        failures: list[str] = []
        behind = False
        for url in self._rotation():
            try:
                response = self.client.get(f"{url}/api/v1/bundles/{self.target}",
                                           headers=headers)
            except httpx.HTTPError as error:
                failures.append(_failure(url, str(error) or type(error).__name__, self.urls))
                continue
            if response.status_code >= 500:
                failures.append(_failure(url, f"HTTP {response.status_code}: "
                                              f"{response.text.strip()[:200]}", self.urls))
                continue
            if response.status_code == 304:
                self.url = url
                return None
            if response.status_code in (401, 403):
                raise SourceError(f"the server refused the token (HTTP {response.status_code})")
            if response.status_code != 200:
                raise SourceError(f"HTTP {response.status_code}: {response.text.strip()[:200]}")
            database, serial = _serial(response.headers.get("X-Converge-Serial"))
            if self._behind(database, serial):
                behind = True  # a replica that has not caught up: never go backwards
                continue
            try:
                body = response.json()
            except ValueError:
                raise BundleError("the server's answer is not JSON") from None
            candidate = _candidate(body, target=self.target, etag=response.headers.get("ETag"))
            self.url = url
            self._take(database, serial)
            return candidate
        if behind and len(failures) < len(self.urls):
            return None  # only older bundles elsewhere: nothing newer to take
        raise SourceError("; ".join(failures))

    def _behind(self, database: str, serial: int | None) -> bool:
        """Whether an answer is older than a bundle already taken (same database)."""
        return serial is not None and database == self.database and serial < self.serial

    def _take(self, database: str, serial: int | None) -> None:
        if serial is None:
            return
        if database != self.database:  # another database: its serials start afresh
            self.database, self.serial = database, serial
        self.serial = max(self.serial, serial)

    def report(self, report: Mapping[str, Any]) -> None:
        """POST a sync-status report (to the replica that last answered, then the
        others); failures only cost the report.

        Raises:
            SourceError: no server could take it.
        """
        failures: list[str] = []
        for url in self._rotation():
            try:
                response = self.client.post(f"{url}/api/v1/config/sync/status",
                                            json=dict(report), headers=self._headers)
            except httpx.HTTPError as error:
                failures.append(_failure(url, str(error) or type(error).__name__, self.urls))
                continue
            if response.status_code >= 500:
                failures.append(_failure(url, f"HTTP {response.status_code}", self.urls))
                continue
            if response.status_code >= 300:
                raise SourceError(f"status report refused: HTTP {response.status_code}")
            return
        raise SourceError("status report refused: " + "; ".join(failures))

    def close(self) -> None:
        self.client.close()


def _failure(url: str, message: str, urls: Sequence[str]) -> str:
    return f"{url}: {message}" if len(urls) > 1 else message


def _serial(header: str | None) -> tuple[str, int | None]:
    """(database id, serial) of `X-Converge-Serial: <id>.<serial>`; no serial without one."""
    database, _, number = (header or "").rpartition(".")
    return database, int(number) if number.isdigit() else None


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
