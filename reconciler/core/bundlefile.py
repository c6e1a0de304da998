"""Read one verified file of a compiled bundle: from a directory, or the config server.

A directory must hold `manifest.json` and the file, whose SHA-256 the manifest lists; from
a URL the file comes from the config server's `/api/v1/bundles/<target>/files/<name>` (its
`X-Converge-Sha256` checked), with a bearer token when given. Anything else raises
`BundleError` and the daemon keeps what it has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import httpx

from converge.reconciler.core import conditions
from converge.reconciler.core.loop import TemporaryError
from converge.reconciler.core.status import Status

__all__ = ["BundleError", "Current", "Source", "read"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=_Named)


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


class Source(Generic[T]):
    """Loads one bundle file at `location` (a directory or an `http(s)://` URL) and parses it.

    `parse` turns the verified bytes into items and raises one of `errors` when they are
    invalid; either way a failure surfaces as `BundleError`.
    """

    def __init__(self, location: str, path: str,
                 parse: Callable[[bytes], tuple[T, ...]], errors: type[Exception], *,
                 token: str | None = None, timeout: float = 10.0) -> None:
        self.location = location
        self.path = path
        self._parse, self._errors = parse, errors
        self._token = token
        self._timeout = timeout

    def load(self) -> tuple[T, ...]:
        """The items in the bundle file.

        Raises:
            BundleError: unreadable, unverifiable or invalid.
        """
        data = read(self.location, self.path, token=self._token, timeout=self._timeout)
        try:
            return self._parse(data)
        except self._errors as error:
            raise BundleError(str(error)) from None


class Current(Generic[T]):
    """The items a daemon works from, replaced by each successful bundle read.

    Calling it returns the items (thread-safe); `refresh` is the body of the daemon's
    `bundle` loop: on failure it keeps the items it has, marks the daemon not ready until a
    first bundle loaded, and raises `TemporaryError` so the loop backs off.
    """

    def __init__(self, source: Source[T], status: Status, *, daemon: str, noun: str) -> None:
        self.source, self.status = source, status
        self.daemon, self.noun = daemon, noun
        self.loaded = False
        self._lock = threading.Lock()
        self._items: tuple[T, ...] = ()
        self._log = logging.getLogger(f"converge.{daemon}")

    def __call__(self) -> tuple[T, ...]:
        with self._lock:
            return self._items

    def refresh(self) -> None:
        """Read the bundle once; see the class docstring."""
        try:
            items = self.source.load()
        except BundleError as error:
            if not self.loaded:
                self.status.set(conditions.READY, False, "BundleUnavailable", str(error))
            raise TemporaryError(f"bundle {self.source.location}: {error}") from None
        with self._lock:
            changed = items != self._items
            self._items = items
        names = [item.name for item in items]
        key = self.noun.rsplit(" ", 1)[-1]  # "healing policies" -> "policies"
        if changed or not self.loaded:
            self._log.info("%s loaded %d %s from %s", self.daemon, len(items), self.noun,
                           self.source.location, extra={"event": key, key: names})
        self.loaded = True
        self.status.update({"bundle": {"location": self.source.location, key: names}})
