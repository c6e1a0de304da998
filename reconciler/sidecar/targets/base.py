"""The `Target` protocol, the HTTP plumbing the adapters share, and `build`."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def build(name: str, *, reload_url: str, dest_seen: str, client: httpx.Client,
          validate: bool = True, sleep: Callable[[float], None] | None = None,
          clock: Callable[[], float] | None = None) -> Target:
    """The adapter for `name` (prometheus, alertmanager or vmalert).

    Args:
        reload_url: the target's `/-/reload` URL; its other endpoints share its base.
        dest_seen: DEST as the target sees it (the `file` of its rule groups).
        client: the HTTP client to use.
        validate: run the target's checker before publishing (when installed).
        sleep, clock: injectable for vmalert's polling.
    """
    from converge.reconciler.sidecar.targets import alertmanager, prometheus, vmalert

    http = Http(reload_url=reload_url, client=client)
    if name == "prometheus":
        return prometheus.Prometheus(http, dest_seen=dest_seen, validate=validate)
    if name == "alertmanager":
        return alertmanager.Alertmanager(http, validate=validate)
    if name == "vmalert":
        return vmalert.VMAlert(http, dest_seen=dest_seen, validate=validate,
                               sleep=sleep, clock=clock)
    raise ValueError(f"unknown target {name!r}")
