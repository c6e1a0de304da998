"""`WorkerPool`: a set of identical worker containers sized from Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from specs.common import Duration, EnvRef, FileRef, Spec


class Replicas(Spec):
    min: Annotated[int, Field(ge=0)] = 1
    max: Annotated[int, Field(ge=0)] = 10


class Resources(Spec):
    cpus: Annotated[float, Field(gt=0)] | None = None
    memory: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?([KMGT]i?|[kmg]|b)?$")] | None = None


class ScalingMetric(Spec):
    """A PromQL query and the value each replica should carry."""

    query: Annotated[str, Field(min_length=1)]
    target: float
    type: Literal["average", "total"] = "average"
    """`average`: the query is the pool's whole load and `target` what one replica carries
    (ceil(value / target)); `total`: the query is a pool-wide figure that falls as replicas
    are added, such as mean CPU or wait time (ceil(current × value / target))."""
    empty_as_zero: bool = False
    """Read an empty query result as 0 instead of "no data" (which holds the count)."""


class ScaleUp(Spec):
    stabilization: Duration = "0s"
    """Window over which the lowest recommendation wins (HPA default: 0 s)."""
    max_step: Annotated[int, Field(ge=1)] = 4
    """Most replicas added per `period`."""
    period: Duration = "15s"


class ScaleDown(Spec):
    stabilization: Duration = "5m"
    """Window over which the highest recommendation wins (HPA default: 300 s)."""
    max_step: Annotated[int, Field(ge=1)] = 1
    """Most replicas removed per `period`."""
    period: Duration = "15s"


class Fallback(Spec):
    replicas: Annotated[int, Field(ge=0)]
    after_failures: Annotated[int, Field(ge=1)] = 3


class Scaling(Spec):
    metrics: Annotated[list[ScalingMetric], Field(min_length=1)]
    interval: Duration = "30s"
    tolerance: Annotated[float, Field(ge=0, lt=1)] = 0.1
    scale_up: ScaleUp = ScaleUp()
    scale_down: ScaleDown = ScaleDown()
    fallback: Fallback | None = None


class WorkerPoolSpec(Spec):
    image: Annotated[str, Field(min_length=1)]
    command: list[str] = Field(default_factory=list)
    env: dict[str, str | EnvRef | FileRef] = Field(default_factory=dict)
    """Plain values, or secret references resolved on the scaler's host."""
    labels: dict[str, str] = Field(default_factory=dict)
    resources: Resources | None = None
    replicas: Replicas = Replicas()
    scaling: Scaling | None = None
    healing_policy: str | None = None
    """A `HealingPolicy` name applied to this pool's containers."""
    stop_grace_period: Duration = "30s"
