"""What every daemon that talks to a container engine shares: the Docker Engine API client,
its error, RFC 3339 times and readable error messages.

The client is the `docker` SDK's low-level `APIClient` at a fixed API version, so it
works with Docker and with podman's Docker API service, and creating it never calls the
engine (a daemon starts even when the engine is down).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any, TypeVar

import docker
import docker.errors
import docker.utils
import requests

API_VERSION = "1.41"
"""Docker 20.10's API, served by every later Docker and by podman 4."""

T = TypeVar("T")

__all__ = ["API_VERSION", "EngineError", "call", "client", "describe", "timestamp"]


class EngineError(Exception):
    """The engine could not be reached or refused a request."""


def client(base_url: str | None, *, timeout: float = 30.0,
           pool_size: int = 32) -> docker.APIClient:
    """An API client for `base_url` (`unix://…`, `tcp://…`); None reads `DOCKER_HOST`.

    Raises:
        EngineError: the address or the environment is unusable.
    """
    try:
        if base_url is None:
            return docker.APIClient(**docker.utils.kwargs_from_env(), version=API_VERSION,
                                    timeout=int(timeout), max_pool_size=pool_size)
        return docker.APIClient(base_url=base_url, version=API_VERSION, timeout=int(timeout),
                                max_pool_size=pool_size)
    except docker.errors.DockerException as error:
        raise EngineError(str(error)) from None


def call(address: str, request: Callable[[], T]) -> T:
    """`request()`, with every engine or transport failure raised as `EngineError`."""
    try:
        return request()
    except (docker.errors.DockerException, requests.RequestException, OSError) as error:
        raise EngineError(f"{address}: {describe(error)}") from None


def timestamp(text: Any) -> float | None:
    """Epoch seconds of an RFC 3339 time with up to nanoseconds; None for Go's zero time."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    match = re.match(r"^(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if match is None:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    moment = datetime.datetime.fromisoformat(match.group(1) + zone)
    return moment.timestamp() + float("0." + (match.group(2) or "0"))


def describe(error: BaseException) -> str:
    """A short message for an engine error (status code and explanation when there is one)."""
    if isinstance(error, docker.errors.APIError):
        return f"engine API error {error.status_code}: {error.explanation or error}"
    text = str(error).strip() or type(error).__name__
    return text if len(text) < 300 else text[:300] + "…"
