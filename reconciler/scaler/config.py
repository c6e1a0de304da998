"""Worker pools as the scaler uses them: the bundle's `reconciler/pools.json`, durations in
seconds, every default applied, the spec hash kept for the containers' label.

`parse` is pure (bytes in, pools out); reading the bundle is `bundle.py`'s job.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from pydantic import ValidationError

from converge.specs.common import parse_duration
from converge.specs.worker_pool import WorkerPoolSpec

__all__ = ["ConfigError", "Direction", "Fallback", "Metric", "Pool", "parse", "pool_from_spec"]


class ConfigError(Exception):
    """`pools.json` is not what `converge compile` writes."""


@dataclasses.dataclass(frozen=True, slots=True)
class Metric:
    query: str
    target: float
    type: Literal["average", "total"] = "average"
    empty_as_zero: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Direction:
    """How fast one direction moves: stabilization window, `max_step` per `period`."""

    stabilization: float = 0.0
    max_step: int = 4
    period: float = 15.0


@dataclasses.dataclass(frozen=True, slots=True)
class Fallback:
    replicas: int
    after_failures: int = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Pool:
    """One `WorkerPool`: what to run, how many, and how to size it."""

    name: str
    spec_hash: str = ""
    image: str = ""
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, Any], ...] = ()
    """Name → a plain string, or `{"env": NAME}` / `{"file": PATH}` resolved on this host."""
    labels: tuple[tuple[str, str], ...] = ()
    cpus: float | None = None
    memory: str | None = None
    min: int = 1
    max: int = 10
    metrics: tuple[Metric, ...] = ()
    """Empty: the pool is not scaled, it is kept at `min`."""
    interval: float = 30.0
    tolerance: float = 0.1
    scale_up: Direction = Direction(0.0, 4, 15.0)
    scale_down: Direction = Direction(300.0, 1, 15.0)
    fallback: Fallback | None = None
    healing_policy: str | None = None
    stop_grace_period: float = 30.0


def pool_from_spec(name: str, spec: WorkerPoolSpec, *, spec_hash: str = "") -> Pool:
    """The scaler's view of a validated `WorkerPool` spec."""
    scaling = spec.scaling
    resources = spec.resources
    pool = Pool(
        name=name, spec_hash=spec_hash, image=spec.image, command=tuple(spec.command),
        env=tuple(sorted((k, v if isinstance(v, str) else v.model_dump(mode="json"))
                         for k, v in spec.env.items())),
        labels=tuple(sorted(spec.labels.items())),
        cpus=resources.cpus if resources else None,
        memory=resources.memory if resources else None,
        min=spec.replicas.min, max=spec.replicas.max, healing_policy=spec.healing_policy,
        stop_grace_period=parse_duration(spec.stop_grace_period))
    if scaling is None:
        return pool
    fallback = scaling.fallback
    return dataclasses.replace(
        pool,
        metrics=tuple(Metric(m.query, m.target, m.type, m.empty_as_zero)
                      for m in scaling.metrics),
        interval=parse_duration(scaling.interval), tolerance=scaling.tolerance,
        scale_up=Direction(parse_duration(scaling.scale_up.stabilization),
                           scaling.scale_up.max_step, parse_duration(scaling.scale_up.period)),
        scale_down=Direction(parse_duration(scaling.scale_down.stabilization),
                             scaling.scale_down.max_step,
                             parse_duration(scaling.scale_down.period)),
        fallback=Fallback(fallback.replicas, fallback.after_failures) if fallback else None)


def parse(data: bytes) -> tuple[Pool, ...]:
    """The pools of a `pools.json`, in name order.

    Raises:
        ConfigError: not JSON, wrong schema, or a pool the spec models refuse.
    """
    try:
        document: Any = json.loads(data)
    except ValueError as error:
        raise ConfigError(f"pools.json is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("pools"), list):
        raise ConfigError("pools.json has no 'pools' list")
    pools = []
    for entry in document["pools"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError("pools.json: a pool without a name")
        try:
            spec = WorkerPoolSpec.model_validate(entry.get("spec", {}))
        except ValidationError as error:
            raise ConfigError(f"pools.json: pool {entry['name']!r}: "
                              f"{error.errors()[0]['msg']}") from None
        pools.append(pool_from_spec(entry["name"], spec,
                                    spec_hash=str(entry.get("specHash", ""))))
    return tuple(sorted(pools, key=lambda p: p.name))
