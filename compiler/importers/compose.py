"""Import a Docker Compose file's `restart` and `healthcheck` settings as HealingPolicies.

One `HealingPolicy` per service, selecting the service's containers by the labels
Compose puts on them (`com.docker.compose.project` / `.service`). The source document's
mapping, made precise:

* `restart` (`deploy.restart_policy.condition` wins when given): `no` (Compose's
  default) → `restart.auto: false`, failures are recorded and alerted only; `always`,
  `unless-stopped`, `any` → `maxRestarts: 10` per `window: 5m`; `on-failure` → the
  defaults (5 per 5m), `on-failure:N` → `maxRestarts: N`.
* `deploy.restart_policy`: `max_attempts` → `maxRestarts`, `window` → `window`,
  `delay` → `backoff.initial`.
* `healthcheck`: the same command becomes an `exec` check (`CMD` as is, `CMD-SHELL` and a
  plain string through `sh -c`), `interval` → `check.interval`, `timeout` →
  `check.timeout`, `start_period` → `check.startPeriod`, `retries` → `failureThreshold`;
  Docker's defaults (30s, 30s, 0s, 3) fill the gaps. A timeout not shorter than the
  interval becomes half the interval (converge requires it shorter).
* no `healthcheck`, `disable: true` or `test: [NONE]` → a `state` check.
"""

from __future__ import annotations

import re
from typing import Any

from converge.compiler.importers import documents as docs
from converge.compiler.importers import names, target_plan
from converge.compiler.importers.result import Document, Imported, OutputFile

ALWAYS = {"always", "unless-stopped", "any"}
ALWAYS_MAX_RESTARTS = 10
ALWAYS_WINDOW = "5m"
DOCKER_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "start_period": 0.0, "retries": 3}
_GO_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(h|ms|m|s|us|µs|ns)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PROJECT_CHARS = re.compile(r"[^a-z0-9_-]+")

__all__ = ["import_compose", "project_name"]


def project_name(text: str) -> str:
    """Compose's normalisation of a project name: lower case, `[a-z0-9_-]`."""
    return _PROJECT_CHARS.sub("", text.lower()).lstrip("_-")


def import_compose(text: str, *, source: str, project: str, taken: set[str]) -> Imported:
    """HealingPolicy specs for every service of a Compose file.

    Args:
        text: the Compose file.
        source: its path, for messages.
        project: the Compose project name (the file's `name:` wins when present).
        taken: HealingPolicy names already used in the output repository.

    Raises:
        SourceFormatError: not YAML, or not a Compose file.
    """
    found = docs.load_all(text, source=source)
    if len(found) != 1 or not isinstance(found[0], dict) or "services" not in found[0]:
        raise docs.SourceFormatError(f"{source}: not a Compose file (no 'services')")
    compose = found[0]
    if compose.get("name"):
        project = project_name(docs.to_text(compose["name"], where="name"))
    services = docs.mapping(compose["services"], where="services")
    allocator = names.Names(taken)
    policies: list[Document] = []
    notes: list[str] = []
    for service, body in services.items():
        where = f"services.{service}"
        spec = _policy(project, str(service), docs.mapping(body, where=where), where, notes)
        name = allocator.allocate(f"{project}-{service}", fallback="service")
        policies.append({"apiVersion": "converge/v1", "kind": "HealingPolicy",
                         "metadata": {"name": name}, "spec": spec})
    if not policies:
        raise docs.SourceFormatError(f"{source}: no services")
    path = f"healing/{names.slug(project, fallback='compose')}.yaml"
    header = (f"Healing policies imported from {source} (Compose project '{project}') by "
              "`converge import compose`.\nOne per service: its `restart` and `healthcheck` "
              "mapped as docs/healer.md describes.")
    summary = f"{len(policies)} HealingPolicy" + ("" if len(policies) == 1 else " specs")
    return Imported(files=(OutputFile(path, tuple(policies), header=header, summary=summary),),
                    notes=tuple(notes), versions=dict(target_plan.DEFAULT_VERSIONS))


def _policy(project: str, service: str, body: dict[str, Any], where: str,
            notes: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"compose": {"project": project, "service": service}}}
    check, threshold = _check(body.get("healthcheck"), f"{where}.healthcheck", notes)
    spec["check"] = check
    if threshold is not None:
        spec["failureThreshold"] = threshold
    spec["restart"] = _restart(body, where)
    return spec


def _restart(body: dict[str, Any], where: str) -> dict[str, Any]:
    deploy = docs.mapping(body.get("deploy"), where=f"{where}.deploy")
    policy = docs.mapping(deploy.get("restart_policy"), where=f"{where}.deploy.restart_policy")
    restart: dict[str, Any] = {}
    if policy:
        condition = docs.to_text(policy.get("condition", "any"),
                                 where=f"{where}.deploy.restart_policy.condition")
        if condition == "none":
            return {"auto": False}
        if condition in ALWAYS:
            restart = {"maxRestarts": ALWAYS_MAX_RESTARTS, "window": ALWAYS_WINDOW}
        if policy.get("max_attempts") is not None:
            restart["maxRestarts"] = docs.to_int(
                policy["max_attempts"], where=f"{where}.deploy.restart_policy.max_attempts")
        for key, field in (("window", "window"), ("delay", "backoff")):
            if policy.get(key) is not None:
                value = _duration(policy[key], where=f"{where}.deploy.restart_policy.{key}")
                if field == "window":
                    restart["window"] = value
                else:
                    restart["backoff"] = {"initial": value}
        return restart
    mode = docs.to_text(body.get("restart", "no"), where=f"{where}.restart").strip()
    if mode in ("no", ""):
        return {"auto": False}
    if mode in ALWAYS:
        return {"maxRestarts": ALWAYS_MAX_RESTARTS, "window": ALWAYS_WINDOW}
    if mode.startswith("on-failure"):
        _, _, count = mode.partition(":")
        return {"maxRestarts": docs.to_int(count, where=f"{where}.restart")} if count else {}
    raise docs.SourceFormatError(f"{where}.restart: unknown restart policy {mode!r}")


def _check(value: Any, where: str, notes: list[str]) -> tuple[dict[str, Any], int | None]:
    health = docs.mapping(value, where=where)
    test = health.get("test")
    command = _command(test, where=f"{where}.test") if test is not None else None
    disabled = health.get("disable") is not None and docs.to_bool(
        health["disable"], where=f"{where}.disable")
    if not health or disabled or not command:
        return {"type": "state"}, None
    seconds = {key: _seconds(health[key], where=f"{where}.{key}") if health.get(key)
               is not None else default for key, default in DOCKER_DEFAULTS.items()
               if key != "retries"}
    if seconds["timeout"] >= seconds["interval"]:
        notes.append(f"{where}: timeout {_format(seconds['timeout'])} is not shorter than "
                     f"interval {_format(seconds['interval'])}; the check uses "
                     f"{_format(seconds['interval'] / 2)}")
        seconds["timeout"] = seconds["interval"] / 2
    retries = docs.to_int(health["retries"], where=f"{where}.retries") if health.get(
        "retries") is not None else int(DOCKER_DEFAULTS["retries"])
    check = {"type": "exec", "exec": {"command": command},
             "interval": _format(seconds["interval"]), "timeout": _format(seconds["timeout"])}
    if seconds["start_period"]:
        check["startPeriod"] = _format(seconds["start_period"])
    return check, max(1, retries)


def _command(test: Any, *, where: str) -> list[str] | None:
    """The command of a healthcheck `test`; None for `NONE`."""
    if isinstance(test, str):
        return ["sh", "-c", test] if test.strip() else None
    parts = docs.string_list(test, where=where)
    if not parts or parts[0] == "NONE":
        return None
    if parts[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(parts[1:])]
    if parts[0] == "CMD":
        return parts[1:] or None
    return parts


def _seconds(value: Any, *, where: str) -> float:
    """A Compose (Go) duration such as `1m30s`, `500ms` or `1.5s`, in seconds."""
    text = docs.to_text(value, where=where).strip()
    if text.isdigit():
        return float(text) / 1e9 if int(text) else 0.0  # Compose reads bare numbers as ns
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise docs.SourceFormatError(f"{where}: {text!r} is not a duration such as 30s")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _duration(value: Any, *, where: str) -> str:
    return _format(_seconds(value, where=where))


def _format(seconds: float) -> str:
    """Seconds as a Prometheus duration: 90 → `1m30s`, 0.5 → `500ms`, 0 → `0s`."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    text = ""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            text += f"{count}{unit}"
    return text
