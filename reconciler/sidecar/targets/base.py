"""The `Target` protocol and the HTTP plumbing the adapters share (the adapters import this
module; `registry` picks one of them, so nothing here imports an adapter)."""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx

from converge.reconciler.sidecar.publish import Version

RELOAD_TIMEOUT = 30.0
"""Seconds a reload may take before it counts as failed."""


class TargetError(Exception):
    """The target refused the set, could not be reached, or loaded something else."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        """The target did not answer at all (it is down or starting)."""


class Target(Protocol):
    """What the sidecar needs from a target."""

    name: str

    def check(self, version: Version) -> str | None:
        """Run the target's own checker on a staged set: why it refuses, or None."""

    def reload(self, version: Version) -> None:
        """Make the target load the set DEST now points at, and wait until it did.

        Raises:
            TargetError: with the reason.
        """

    def verify(self, version: Version) -> None:
        """Check the target runs exactly `version`.

        Raises:
            TargetError: with what differs.
        """


class Http:
    """GET and POST against one target, turning every failure into a `TargetError`."""

    def __init__(self, *, reload_url: str, client: httpx.Client) -> None:
        self.reload_url = reload_url
        suffix = "/-/reload"
        self.base = (reload_url[: -len(suffix)] if reload_url.endswith(suffix)
                     else str(httpx.URL(reload_url).copy_with(path="/", query=None))
                     .rstrip("/"))
        self.client = client

    def post_reload(self) -> None:
        try:
            response = self.client.post(self.reload_url, timeout=RELOAD_TIMEOUT)
        except httpx.HTTPError as error:
            raise TargetError(f"reload request to {self.reload_url} failed: "
                              f"{_describe(error)}",
                              unreachable=isinstance(error, httpx.ConnectError)) from None
        if response.status_code != 200:
            raise TargetError(f"reload refused (HTTP {response.status_code}): "
                              f"{response.text.strip()[:300]}")

    def get_text(self, path: str) -> str:
        try:
            response = self.client.get(self.base + path)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise TargetError(f"GET {self.base + path} failed: {_describe(error)}",
                              unreachable=isinstance(error, httpx.ConnectError)) from None
        return response.text

    def get_json(self, path: str) -> Any:
        text = self.get_text(path)
        try:
            return json.loads(text)
        except ValueError:
            raise TargetError(f"GET {self.base + path}: not JSON") from None


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
