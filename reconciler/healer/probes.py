"""Run one check against one container: its state first, then the policy's probe.

A container that is not running fails (or is left alone) on its state whatever the check
type, so probes only ever run against running containers: Docker health from what the
engine reports, HTTP (status and an optional body regular expression), TCP connect, and
a command run in the container. HTTPS is not verified (a health endpoint's certificate is
usually self-signed, as Kubernetes' probes assume).
"""

from __future__ import annotations

import functools
import re
import socket

import httpx

from converge.reconciler.healer.config import CheckSettings
from converge.reconciler.healer.containers import Container, Verdict, health_verdict, state_verdict
from converge.reconciler.healer.engine import Engine, EngineError

__all__ = ["Prober"]


class Prober:
    """Checks containers; one HTTP client shared by every HTTP check (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.http = httpx.Client(verify=False, follow_redirects=False,
                                 limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self.http.close()

    def check(self, container: Container, settings: CheckSettings) -> Verdict:
        """The verdict of one check (never raises)."""
        state = state_verdict(container)
        if not state.ok or settings.type == "state":
            return state
        if settings.type == "docker-health":
            return health_verdict(container)
        if settings.type == "http":
            return self._http(container, settings)
        if settings.type == "tcp":
            return _tcp(container, settings)
        return self._exec(container, settings)

    def _http(self, container: Container, settings: CheckSettings) -> Verdict:
        url = f"{settings.scheme}://{_host(container.address)}:{settings.port}{settings.path}"
        try:
            response = self.http.get(url, timeout=settings.timeout)
        except httpx.HTTPError as error:
            return Verdict.failed("health_check_failed",
                                  f"GET {url}: {type(error).__name__}: {error}".rstrip(": "))
        if response.status_code not in settings.expect_status:
            return Verdict.failed("health_check_failed",
                                  f"GET {url}: HTTP {response.status_code}")
        if settings.body_match and not _pattern(settings.body_match).search(response.text):
            return Verdict.failed("health_check_failed",
                                  f"GET {url}: body does not match {settings.body_match!r}")
        return Verdict.passed(f"GET {url}: HTTP {response.status_code}")

    def _exec(self, container: Container, settings: CheckSettings) -> Verdict:
        try:
            code, output = self.engine.exec(container, settings.command)
        except EngineError as error:
            return Verdict.failed("health_check_failed", f"exec failed: {error}")
        if code != 0:
            tail = output.strip().splitlines()[-1:] if output.strip() else []
            return Verdict.failed("health_check_failed",
                                  f"exec {settings.command[0]} exited {code}"
                                  + (f": {tail[0][:200]}" if tail else ""))
        return Verdict.passed(f"exec {settings.command[0]} exited 0")


def _tcp(container: Container, settings: CheckSettings) -> Verdict:
    where = f"{_host(container.address)}:{settings.port}"
    try:
        with socket.create_connection((container.address, settings.port or 0),
                                      timeout=settings.timeout):
            pass
    except OSError as error:
        return Verdict.failed("health_check_failed", f"TCP {where}: {error}")
    return Verdict.passed(f"TCP {where}: connected")


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@functools.lru_cache(maxsize=64)
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)
