"""`HealingPolicy`: which containers to watch, how to check them, how to restart them.

Defaults follow the source document's `DefaultHealingConfig` (check every 30 s with a
10 s timeout, act after 3 consecutive failures, at most 5 restarts per 5 minutes) and
Kubernetes' restart backoff (10 s doubling to 300 s, reset after 10 minutes healthy).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from specs.common import Duration, Severity, Spec


class ComposeSelector(Spec):
    project: str | None = None
    service: str | None = None


class Selector(Spec):
    """Containers matching all given parts (labels, compose project/service, name glob)."""

    labels: dict[str, str] = Field(default_factory=dict)
    compose: ComposeSelector | None = None
    name_pattern: str | None = None


class HttpCheck(Spec):
    port: Annotated[int, Field(ge=1, le=65535)]
    path: str = "/"
    scheme: Literal["http", "https"] = "http"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    body_match: str | None = None
    """A regular expression the response body must contain."""


class TcpCheck(Spec):
    port: Annotated[int, Field(ge=1, le=65535)]


class ExecCheck(Spec):
    command: Annotated[list[str], Field(min_length=1)]


class Check(Spec):
    type: Literal["state", "docker-health", "http", "tcp", "exec"] = "state"
    http: HttpCheck | None = None
    tcp: TcpCheck | None = None
    exec: ExecCheck | None = None
    interval: Duration = "30s"
    timeout: Duration = "10s"
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
    initial: Duration = "10s"
    max: Duration = "300s"
    reset_after: Duration = "10m"


class Restart(Spec):
    auto: bool = True
    """Restart on failure; `false` only records and alerts (read-only services)."""
    max_restarts: Annotated[int, Field(ge=0)] = 5
    window: Duration = "5m"
    backoff: Backoff = Backoff()
    verify_timeout: Duration = "60s"
    """After a restart, the check must pass again within this time."""


class Alerting(Spec):
    enabled: bool = True
    level: Severity = "critical"
    """Level of the event sent when the restart budget is spent."""
    channels: list[str] = Field(default_factory=list)
    """`Channel` names; events go through `converge notifier`."""


class HealingPolicySpec(Spec):
    selector: Selector = Selector()
    check: Check = Check()
    failure_threshold: Annotated[int, Field(ge=1)] = 3
    restart: Restart = Restart()
    alert: Alerting = Alerting()
    opt_out_label: str = "converge.healer/ignore"
    """Containers with this label set to "true" are never touched."""
