"""The container engine behind a small `Engine` Protocol, and its Docker Engine API adapter.

`DockerEngine` talks the Docker Engine API through the `docker` SDK's low-level client,
so it works with Docker and with podman's Docker API service. Listing is one call for
every container (summaries); a container is inspected only when it is new, when its state
or listed health changed, or after the healer restarted it, so watching hundreds of
containers costs one request per pass. Podman's list does not show health, so there a
container with a HEALTHCHECK is inspected on every pass. Every failure surfaces as
`EngineError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from converge.reconciler.core import dockerapi
from converge.reconciler.core.dockerapi import API_VERSION, EngineError
from converge.reconciler.healer.containers import Container

DEFAULT_STOP_TIMEOUT = 10
_timestamp = dockerapi.timestamp
_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")

__all__ = ["API_VERSION", "DockerEngine", "Engine", "EngineError"]


class Engine(Protocol):
    def containers(self) -> list[Container]:
        """Every container (running or not)."""

    def restart(self, container: Container) -> None:
        """Restart (or start) it; returns once the engine has done so."""

    def exec(self, container: Container, command: Sequence[str]) -> tuple[int, str]:
        """Run a command in the container: its exit code and output."""

    def close(self) -> None: ...


class DockerEngine:
    """`Engine` over the Docker Engine API at `base_url` (`unix://…`, `tcp://…`).

    Args:
        base_url: the API's address; None reads `DOCKER_HOST` (else the default socket).
        timeout: seconds for one API call (a restart may take the stop timeout more).
    """

    def __init__(self, base_url: str | None = None, *, timeout: float = 30.0) -> None:
        self.api = dockerapi.client(base_url, timeout=timeout)
        self.address = base_url or self.api.base_url
        self._cache: dict[str, tuple[tuple[str, str], Container, int]] = {}

    def close(self) -> None:
        self.api.close()

    def containers(self) -> list[Container]:
        summaries = self._call(lambda: self.api.containers(all=True))
        found: list[Container] = []
        for summary in summaries:
            key = (str(summary.get("State", "")), _health_of(summary))
            cached = self._cache.get(summary["Id"])
            # Docker's list shows the health in `Status` ("Up 5 minutes (unhealthy)");
            # podman's does not, so a container with a HEALTHCHECK is inspected each time.
            health_unlisted = cached is not None and not key[1] and bool(cached[1].health)
            if cached is None or cached[0] != key or health_unlisted:
                inspected = self._inspect(summary["Id"])
                if inspected is None:
                    continue  # removed in between
                cached = (key, *inspected)
                self._cache[summary["Id"]] = cached
            found.append(cached[1])
        alive = {c.id for c in found}
        for gone in set(self._cache) - alive:
            del self._cache[gone]
        return found

    def restart(self, container: Container) -> None:
        cached = self._cache.pop(container.id, None)
        timeout = cached[2] if cached else DEFAULT_STOP_TIMEOUT
        self._call(lambda: self.api.restart(container.id, timeout=timeout))

    def exec(self, container: Container, command: Sequence[str]) -> tuple[int, str]:
        def run() -> tuple[int, str]:
            created = self.api.exec_create(container.id, list(command))
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
            text = output.decode("utf-8", "replace") if isinstance(output, bytes) else ""
            return (code if isinstance(code, int) else -1), text
        result: tuple[int, str] = self._call(run)
        return result

    def _inspect(self, container_id: str) -> tuple[Container, int] | None:
        try:
            data = self._call(lambda: self.api.inspect_container(container_id))
        except EngineError:
            if not any(s["Id"] == container_id for s in self._call(
                    lambda: self.api.containers(all=True, filters={"id": container_id}))):
                return None
            raise
        return _container(data), int(data.get("Config", {}).get("StopTimeout") or
                                     DEFAULT_STOP_TIMEOUT)

    def _call(self, request: Any) -> Any:
        return dockerapi.call(self.address, request)


def _container(data: dict[str, Any]) -> Container:
    state = data.get("State") or {}
    config = data.get("Config") or {}
    health = state.get("Health") or {}
    return Container(
        id=data["Id"], name=str(data.get("Name", "")).lstrip("/"),
        labels=dict(config.get("Labels") or {}), status=str(state.get("Status", "")),
        exit_code=int(state.get("ExitCode") or 0), oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""), health=str(health.get("Status") or ""),
        started_at=_timestamp(state.get("StartedAt")),
        restart_count=int(data.get("RestartCount") or 0), address=_address(data))


def _health_of(summary: dict[str, Any]) -> str:
    found = _HEALTH_IN_STATUS.search(str(summary.get("Status", "")))
    return found.group(1) if found else ""


def _address(data: dict[str, Any]) -> str:
    networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
    for network in networks.values():
        if isinstance(network, dict) and network.get("IPAddress"):
            return str(network["IPAddress"])
    return "127.0.0.1"  # host network: the container's ports are the host's
