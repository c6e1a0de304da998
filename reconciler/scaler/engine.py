"""The container engine behind a small `Engine` Protocol, and its Docker Engine API adapter.

`DockerEngine` lists the containers one scaler owns with one request (a label filter on
`pools.OWNER_LABEL=<owner>`) and inspects only the stopped ones whose state changed (for
the exit code and when they stopped); `create` makes and starts a container from the
pool's image, command, env, resources and labels plus the scaler's (`pools.POOL_LABEL`,
`pools.HASH_LABEL`, `pools.OWNER_LABEL`), with the pool's stop grace period as its stop
timeout; `remove` stops it (SIGTERM, SIGKILL after the grace period: an exit the healer
reads as deliberate) and removes it, and refuses a container another owner created.
Every engine failure surfaces as `EngineError`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from converge.reconciler.core import dockerapi
from converge.reconciler.core.dockerapi import EngineError
from converge.reconciler.core.secretaccess import NotAllowed, SecretAccess
from converge.reconciler.scaler.config import Pool
from converge.reconciler.scaler.pools import HASH_LABEL, OWNER_LABEL, POOL_LABEL, Replica

_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGT]i?|[kmg]|b)?$")
_UNITS = {"": 1, "b": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "Ki": 1024,
          "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1024, "m": 1024**2, "g": 1024**3}

__all__ = ["DockerEngine", "Engine", "EngineError", "SecretError", "memory_bytes",
           "resolve_env"]


class SecretError(Exception):
    """An env value's `{env: NAME}` or `{file: PATH}` cannot be resolved on this host."""


class Engine(Protocol):
    def replicas(self, *, owner: str) -> list[Replica]:
        """Every container `owner` created (running or not)."""

    def create(self, pool: Pool, env: Mapping[str, str], *, owner: str) -> str:
        """Create and start one container of `pool`, labelled as `owner`'s; its id."""

    def remove(self, replica: Replica, *, grace: float, owner: str) -> None:
        """Stop it within `grace` seconds (then kill), and remove it; refused (an
        `EngineError`) unless `owner` created it."""

    def close(self) -> None: ...


def memory_bytes(text: str) -> int:
    """`1Gi` → 1073741824, `512m` → 536870912 (Docker's lower-case units are binary)."""
    match = _MEMORY.match(text)
    if match is None:
        raise ValueError(f"not a memory size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def resolve_env(pool: Pool, access: SecretAccess | None = None) -> dict[str, str]:
    """The pool's env with secret references read from this host, as far as its operator
    allows (`access`; default: no variable, files under `secretaccess.DEFAULT_DIR`).

    Raises:
        SecretError: a reference is not allowed, a variable unset or a file unreadable.
    """
    access = SecretAccess() if access is None else access
    resolved: dict[str, str] = {}
    for key, value in pool.env:
        if isinstance(value, str):
            resolved[key] = value
            continue
        try:
            found = access.env(value["env"]) if "env" in value else access.file(value["file"])
        except NotAllowed as error:
            raise SecretError(f"env {key}: {error}") from None
        if found is None:
            where = (f"environment variable {value['env']} is not set" if "env" in value
                     else f"file {value['file']} cannot be read")
            raise SecretError(f"env {key}: {where}")
        resolved[key] = found
    return resolved


class DockerEngine:
    """`Engine` over the Docker Engine API at `base_url` (`unix://…`, `tcp://…`).

    Args:
        base_url: the API's address; None reads `DOCKER_HOST` (else the default socket).
        network: the network mode of created containers (`host`, a network name); None
            leaves the engine's default.
        labels: extra labels on every created container, which also narrow what this
            scaler manages (its identity when several scalers share an engine).
        timeout: seconds for one API call (a stop may take its grace period more).
    """

    def __init__(self, base_url: str | None = None, *, network: str | None = None,
                 labels: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        self.api = dockerapi.client(base_url, timeout=timeout)
        self.address = base_url or self.api.base_url
        self.network = network
        self.labels = dict(labels or {})
        self._stopped: dict[str, tuple[str, Replica]] = {}

    def close(self) -> None:
        self.api.close()

    def replicas(self, *, owner: str) -> list[Replica]:
        selector = [f"{OWNER_LABEL}={owner}", POOL_LABEL,
                    *(f"{k}={v}" for k, v in sorted(self.labels.items()))]
        summaries = self._call(lambda: self.api.containers(
            all=True, filters={"label": selector}))
        found: list[Replica] = []
        for summary in summaries:
            replica = self._replica(summary)
            if replica is not None and replica.owner == owner:  # the filter, checked
                found.append(replica)
        alive = {r.id for r in found}
        for gone in set(self._stopped) - alive:
            del self._stopped[gone]
        return found

    def create(self, pool: Pool, env: Mapping[str, str], *, owner: str) -> str:
        labels = {**dict(pool.labels), **self.labels, POOL_LABEL: pool.name,
                  HASH_LABEL: pool.spec_hash, OWNER_LABEL: owner}
        host: dict[str, Any] = {}
        if pool.cpus is not None:
            host["nano_cpus"] = int(pool.cpus * 1e9)
        if pool.memory is not None:
            host["mem_limit"] = memory_bytes(pool.memory)
        if self.network is not None:
            host["network_mode"] = self.network
        name = f"{pool.name}-{pool.spec_hash[:8] or 'nohash'}-{uuid.uuid4().hex[:6]}"

        def run() -> str:
            created = self.api.create_container(
                pool.image, command=list(pool.command) or None, environment=dict(env),
                labels=labels, name=name, detach=True,
                stop_timeout=max(1, round(pool.stop_grace_period)),
                host_config=self.api.create_host_config(**host))
            container_id = str(created["Id"])
            try:
                self.api.start(container_id)
            except Exception:
                self.api.remove_container(container_id, force=True)
                raise
            return container_id

        container_id: str = self._call(run)
        return container_id

    def remove(self, replica: Replica, *, grace: float, owner: str) -> None:
        if replica.owner != owner:
            raise EngineError(f"refusing to remove {replica.name}: created by "
                              f"{replica.owner or 'someone else'}, not by {owner}")

        def stop_and_remove() -> None:
            if replica.status in ("running", "restarting", "paused"):
                self.api.stop(replica.id, timeout=max(0, round(grace)))
            self.api.remove_container(replica.id, force=True)

        try:
            self._call(stop_and_remove)
        except EngineError as error:
            if "404" not in str(error) and "no such container" not in str(error).lower():
                raise

    def _replica(self, summary: dict[str, Any]) -> Replica | None:
        state = str(summary.get("State", ""))
        names = summary.get("Names") or [""]
        replica = Replica(id=summary["Id"], name=str(names[0]).lstrip("/"),
                          labels=dict(summary.get("Labels") or {}), status=state,
                          created=float(summary.get("Created") or 0),
                          health=_health_of(summary))
        if state in ("running", "restarting", "paused"):
            return replica
        key = f"{state}|{summary.get('Status', '')}"
        cached = self._stopped.get(replica.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            data = self._call(lambda: self.api.inspect_container(replica.id))
        except EngineError:
            return None  # removed in between
        info = data.get("State") or {}
        replica = Replica(
            id=replica.id, name=replica.name, labels=replica.labels,
            status=str(info.get("Status") or state), created=replica.created,
            exit_code=int(info.get("ExitCode") or 0), oom_killed=bool(info.get("OOMKilled")),
            error=str(info.get("Error") or ""), health=replica.health,
            finished_at=dockerapi.timestamp(info.get("FinishedAt")))
        self._stopped[replica.id] = (key, replica)
        return replica

    def _call(self, request: Any) -> Any:
        return dockerapi.call(self.address, request)


def _health_of(summary: dict[str, Any]) -> str:
    found = _HEALTH_IN_STATUS.search(str(summary.get("Status", "")))
    if found is None:
        return ""
    return "starting" if found.group(1) == "health: starting" else found.group(1)
