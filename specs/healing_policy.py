"""`HealingPolicy`: which containers to watch, how to check them, how to restart them.

Defaults follow the source document's `DefaultHealingConfig` (check every 30 s with a
10 s timeout, act after 3 consecutive failures, at most 5 restarts per 5 minutes) and
Kubernetes' restart backoff (10 s doubling to 300 s, reset after 10 minutes healthy).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from converge.specs.common import Duration, KubernetesWorkload, Severity, Spec


class ComposeSelector(Spec):
    """Containers of a Docker Compose project and/or service (their compose labels)."""

    project: str | None = None
    """Docker Compose project name."""
    service: str | None = None
    """Docker Compose service name."""


class Selector(Spec):
    """Containers matching all given parts (labels, compose project/service, name glob)."""

    labels: dict[str, str] = Field(default_factory=dict)
    """Container labels, all of which must have these values."""
    compose: ComposeSelector | None = None
    """Docker Compose project and service."""
    name_pattern: str | None = None
    """Glob the container name must match, such as `task-center-worker-*`."""

    def by_label(self) -> bool:
        """Whether it selects by an explicit label: its own `labels`, or Compose's."""
        compose = self.compose
        return bool(self.labels) or (compose is not None and bool(compose.project
                                                                  or compose.service))

    def is_empty(self) -> bool:
        """Whether it names nothing that narrows it (no label, no Compose part, no name
        pattern but `*`): it would select every container on the engine."""
        return not self.by_label() and not (self.name_pattern or "").strip("*")


class HttpCheck(Spec):
    """Healthy when an HTTP GET to the container gets an expected status (and body)."""

    port: Annotated[int, Field(ge=1, le=65535)]
    """Container port to connect to."""
    path: str = "/"
    """Request path."""
    scheme: Literal["http", "https"] = "http"
    """`https` does not verify the certificate."""
    expect_status: list[int] = Field(default_factory=lambda: [200])
    """Status codes that count as healthy."""
    body_match: str | None = None
    """A regular expression the response body must contain."""


class TcpCheck(Spec):
    """Healthy when a TCP connection to the container opens."""

    port: Annotated[int, Field(ge=1, le=65535)]
    """Container port to connect to."""


class ExecCheck(Spec):
    """Healthy when a command run in the container exits 0."""

    command: Annotated[list[str], Field(min_length=1)]
    """The command and its arguments, such as `[pg_isready, -q]`."""


class Check(Spec):
    """How the healer tells that a container is healthy."""

    type: Literal["state", "docker-health", "http", "tcp", "exec"] = "state"
    """`state`: it runs; `docker-health`: its HEALTHCHECK passes; others: that probe passes."""
    http: HttpCheck | None = None
    """Settings of `type: http`, required with it and refused with any other type."""
    tcp: TcpCheck | None = None
    """Settings of `type: tcp`, required with it and refused with any other type."""
    exec: ExecCheck | None = None
    """Settings of `type: exec`, required with it and refused with any other type."""
    interval: Duration = "30s"
    """Time between checks."""
    timeout: Duration = "10s"
    """One check's time limit; shorter than `interval`."""
    start_period: Duration = "0s"
    """Grace period after a start during which failures do not count."""

    @model_validator(mode="after")
    def _settings_match_type(self) -> Check:
        for kind in ("http", "tcp", "exec"):
            given = getattr(self, kind) is not None
            if given and self.type != kind:
                raise PydanticCustomError(
                    "check_settings", "'{kind}' settings given for a '{type}' check",
                    {"kind": kind, "type": self.type})
            if not given and self.type == kind:
                raise PydanticCustomError(
                    "check_settings", "a '{kind}' check needs its '{kind}' settings",
                    {"kind": kind})
        return self


class Backoff(Spec):
    """Wait between restarts, doubling from `initial` to `max` (Kubernetes' restart backoff)."""

    initial: Duration = "10s"
    """Wait before the second restart (the first is immediate); doubles on each further one."""
    max: Duration = "300s"
    """Longest wait between restarts."""
    reset_after: Duration = "10m"
    """Healthy this long and the backoff starts again from `initial`."""


class Restart(Spec):
    """What the healer does about a failed container."""

    auto: bool = True
    """Restart on failure; `false` only records and alerts (read-only services)."""
    max_restarts: Annotated[int, Field(ge=0)] = 5
    """Restart budget per `window`; once spent, the healer stops restarting and alerts."""
    window: Duration = "5m"
    """Sliding window the restart budget applies to."""
    backoff: Backoff = Backoff()
    """Wait between consecutive restarts."""
    verify_timeout: Duration = "60s"
    """After a restart, the check must pass again within this time."""


class Alerting(Spec):
    """The event sent when a container's restart budget is spent."""

    enabled: bool = True
    """Send the event."""
    level: Severity = "critical"
    """Level of the event sent when the restart budget is spent."""
    channels: list[str] = Field(default_factory=list)
    """`Channel` names; events go through `converge notifier`."""


class HealedWorkload(KubernetesWorkload):
    """A Kubernetes workload the policy's check becomes a liveness probe of."""

    container: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    """The container (in the pod template) that gets the probe."""


class HealingPolicySpec(Spec):
    """Which containers the healer watches, how it checks them, how it restarts them."""

    selector: Selector = Selector()
    """Which containers; required: an empty selector is an error (`healing/empty-selector`)."""
    check: Check = Check()
    """How to tell a container is healthy."""
    failure_threshold: Annotated[int, Field(ge=1)] = 3
    """Consecutive failed checks before acting."""
    restart: Restart = Restart()
    """What to do about a failed container."""
    alert: Alerting = Alerting()
    """Who is told when the restart budget is spent."""
    opt_out_label: str = "converge.healer/ignore"
    """Containers with this label set to "true" are never touched."""
    kubernetes: list[HealedWorkload] = Field(default_factory=list)
    """Kubernetes workloads the policy applies to: a liveness-probe patch for each, and the
    restart budget as alerts (with the `prometheusOperator` target)."""
