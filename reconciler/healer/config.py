"""Healing policies as the healer uses them: the bundle's `reconciler/healing.json`, with
every duration in seconds and every default applied.

`parse` is pure (bytes in, policies out); reading a bundle directory or fetching from the
config server is `bundle.py`'s job.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from pydantic import ValidationError

from converge.specs.common import Severity, parse_duration
from converge.specs.healing_policy import HealingPolicySpec

CheckType = Literal["state", "docker-health", "http", "tcp", "exec"]

__all__ = ["CheckSettings", "ConfigError", "Policy", "Selector", "parse", "policy_from_spec"]


class ConfigError(Exception):
    """`healing.json` is not what `converge compile` writes."""


@dataclasses.dataclass(frozen=True, slots=True)
class Selector:
    labels: tuple[tuple[str, str], ...] = ()
    compose_project: str | None = None
    compose_service: str | None = None
    name_pattern: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CheckSettings:
    type: CheckType = "state"
    interval: float = 30.0
    timeout: float = 10.0
    start_period: float = 0.0
    port: int | None = None
    """HTTP and TCP checks."""
    path: str = "/"
    scheme: str = "http"
    expect_status: tuple[int, ...] = (200,)
    body_match: str | None = None
    command: tuple[str, ...] = ()
    """Exec checks."""


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """One `HealingPolicy`, durations in seconds."""

    name: str
    selector: Selector = Selector()
    check: CheckSettings = CheckSettings()
    failure_threshold: int = 3
    auto_restart: bool = True
    max_restarts: int = 5
    window: float = 300.0
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    reset_after: float = 600.0
    verify_timeout: float = 60.0
    alert_enabled: bool = True
    alert_level: Severity = "critical"
    channels: tuple[str, ...] = ()
    opt_out_label: str = "converge.healer/ignore"


def policy_from_spec(name: str, spec: HealingPolicySpec) -> Policy:
    """The healer's view of a validated `HealingPolicy` spec."""
    check = spec.check
    settings = CheckSettings(type=check.type, interval=parse_duration(check.interval),
                             timeout=parse_duration(check.timeout),
                             start_period=parse_duration(check.start_period))
    if check.http is not None:
        settings = dataclasses.replace(
            settings, port=check.http.port, path=check.http.path, scheme=check.http.scheme,
            expect_status=tuple(check.http.expect_status), body_match=check.http.body_match)
    elif check.tcp is not None:
        settings = dataclasses.replace(settings, port=check.tcp.port)
    elif check.exec is not None:
        settings = dataclasses.replace(settings, command=tuple(check.exec.command))
    compose = spec.selector.compose
    restart = spec.restart
    return Policy(
        name=name,
        selector=Selector(labels=tuple(sorted(spec.selector.labels.items())),
                          compose_project=compose.project if compose else None,
                          compose_service=compose.service if compose else None,
                          name_pattern=spec.selector.name_pattern),
        check=settings, failure_threshold=spec.failure_threshold, auto_restart=restart.auto,
        max_restarts=restart.max_restarts, window=parse_duration(restart.window),
        backoff_initial=parse_duration(restart.backoff.initial),
        backoff_max=parse_duration(restart.backoff.max),
        reset_after=parse_duration(restart.backoff.reset_after),
        verify_timeout=parse_duration(restart.verify_timeout),
        alert_enabled=spec.alert.enabled, alert_level=spec.alert.level,
        channels=tuple(spec.alert.channels), opt_out_label=spec.opt_out_label)


def parse(data: bytes) -> tuple[Policy, ...]:
    """The policies of a `healing.json`, in name order.

    Raises:
        ConfigError: not JSON, wrong schema, or a policy the spec models refuse.
    """
    try:
        document: Any = json.loads(data)
    except ValueError as error:
        raise ConfigError(f"healing.json is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("policies"), list):
        raise ConfigError("healing.json has no 'policies' list")
    policies = []
    for entry in document["policies"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError("healing.json: a policy without a name")
        try:
            spec = HealingPolicySpec.model_validate(entry.get("spec", {}))
        except ValidationError as error:
            raise ConfigError(f"healing.json: policy {entry['name']!r}: "
                              f"{error.errors()[0]['msg']}") from None
        policies.append(policy_from_spec(entry["name"], spec))
    return tuple(sorted(policies, key=lambda p: p.name))
