"""What the healer knows about a container, and what its state alone says about it.

Pure: `Container` is what the engine adapter reads (summary plus inspect), `state_verdict`
classifies it. A container that exited because someone stopped it is not a failure: the
healer never fights a person or the scaler. Stops go through a signal — SIGTERM (exit
143), SIGKILL after the stop timeout (137, without the OOM flag), SIGINT (130) — or end
in a clean exit (0); crashes end otherwise, or OOM-killed. A paused container, or one
created and never started, is someone else's business too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from converge.reconciler.core.stops import STOP_EXIT_CODES

FailureType = Literal["health_check_failed", "container_stopped", "container_error"]

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"

__all__ = ["COMPOSE_PROJECT", "COMPOSE_SERVICE", "STOP_EXIT_CODES", "Container",
           "FailureType", "Verdict", "health_verdict", "state_verdict"]


@dataclasses.dataclass(frozen=True, slots=True)
class Container:
    id: str
    name: str
    labels: Mapping[str, str]
    status: str
    """running, exited, dead, restarting, created, paused, …"""
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    health: str = ""
    """Docker health: healthy, unhealthy, starting, or "" (no HEALTHCHECK)."""
    started_at: float | None = None
    """Epoch seconds of the last start."""
    restart_count: int = 0
    address: str = "127.0.0.1"
    """Where to reach the container's ports from the healer's host."""

    @property
    def service(self) -> str:
        """The compose service, else the container's name (records and MTBF group by it)."""
        return self.labels.get(COMPOSE_SERVICE) or self.name

    @property
    def project(self) -> str:
        return self.labels.get(COMPOSE_PROJECT, "")

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """One check's outcome: passed, failed (with a type), or stopped on purpose."""

    ok: bool
    failure: FailureType | None = None
    message: str = ""
    on_purpose: bool = False

    @staticmethod
    def passed(message: str = "") -> Verdict:
        return Verdict(True, None, message)

    @staticmethod
    def failed(failure: FailureType, message: str) -> Verdict:
        return Verdict(False, failure, message)


def state_verdict(container: Container) -> Verdict:
    """What the container's state says: running is healthy; see the module docstring."""
    status = container.status
    if status == "running":
        return Verdict.passed("running")
    if status == "restarting":
        return Verdict.failed("container_error", f"restarting in a loop (engine restart "
                                                 f"count {container.restart_count})")
    if status == "dead":
        return Verdict.failed("container_error", "dead" + _error(container))
    if container.oom_killed:
        return Verdict.failed("container_error",
                              f"OOM-killed (exit {container.exit_code})" + _error(container))
    if status in ("exited", "stopped"):
        if container.exit_code in STOP_EXIT_CODES and not container.error:
            return Verdict(False, None, f"stopped (exit {container.exit_code})", on_purpose=True)
        return Verdict.failed("container_stopped",
                              f"exited with code {container.exit_code}" + _error(container))
    return Verdict(False, None, f"{status}: left to whoever put it there", on_purpose=True)


def health_verdict(container: Container) -> Verdict:
    """The image's own HEALTHCHECK: only `unhealthy` fails (`starting` is not yet known)."""
    if container.health == "unhealthy":
        return Verdict.failed("health_check_failed", "Docker health status: unhealthy")
    if not container.health:
        return Verdict.passed("running (no HEALTHCHECK in the image)")
    return Verdict.passed(f"Docker health status: {container.health}")


def _error(container: Container) -> str:
    return f": {container.error}" if container.error else ""
