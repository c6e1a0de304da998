"""`WorkerPool`: a set of identical worker containers sized from Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from converge.specs.common import Duration, EnvRef, FileRef, KubernetesWorkload, Spec


class Replicas(Spec):
    """The range the scaler keeps the container count in."""

    min: Annotated[int, Field(ge=0)] = 1
    """Fewest containers; the count of a pool without `scaling`."""
    max: Annotated[int, Field(ge=0)] = 10
    """Most containers; at least 1 and not below `min`."""


class Resources(Spec):
    """Limits of each container."""

    cpus: Annotated[float, Field(gt=0)] | None = None
    """CPU limit in cores (`0.25`, `1`); none when unset."""
    memory: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?([KMGT]i?|[kmg]|b)?$")] | None = None
    """Memory limit: `128Mi`, `1Gi`, `512m`, `2g` (binary) or `500M` (decimal); none when unset."""


class ScalingMetric(Spec):
    """A PromQL query and the value each replica should carry."""

    query: Annotated[str, Field(min_length=1)]
    """PromQL query of the load; checked like rule expressions."""
    target: float
    """The value each replica should carry; greater than 0."""
    type: Literal["average", "total"] = "average"
    """`average`: the query is the pool's whole load and `target` what one replica carries
    (ceil(value / target)); `total`: the query is a pool-wide figure that falls as replicas
    are added, such as mean CPU or wait time (ceil(current × value / target))."""
    empty_as_zero: bool = False
    """Read an empty query result as 0 instead of "no data" (which holds the count)."""


class ScaleUp(Spec):
    """How fast the pool grows."""

    stabilization: Duration = "0s"
    """Window over which the lowest recommendation wins (HPA default: 0 s)."""
    max_step: Annotated[int, Field(ge=1)] = 4
    """Most replicas added per `period`."""
    period: Duration = "15s"
    """The period `maxStep` applies to."""


class ScaleDown(Spec):
    """How fast the pool shrinks."""

    stabilization: Duration = "5m"
    """Window over which the highest recommendation wins (HPA default: 300 s)."""
    max_step: Annotated[int, Field(ge=1)] = 1
    """Most replicas removed per `period`."""
    period: Duration = "15s"
    """The period `maxStep` applies to."""


class Fallback(Spec):
    """The count to aim for while the metric queries keep failing."""

    replicas: Annotated[int, Field(ge=0)]
    """Replica count to aim for, within `replicas.min`…`max`."""
    after_failures: Annotated[int, Field(ge=1)] = 3
    """Failed evaluations in a row before the fallback applies."""


class Scaling(Spec):
    """How the scaler sizes the pool from Prometheus metrics."""

    metrics: Annotated[list[ScalingMetric], Field(min_length=1)]
    """Each metric recommends a replica count; the largest wins."""
    interval: Duration = "30s"
    """How often the queries run."""
    tolerance: Annotated[float, Field(ge=0, lt=1)] = 0.1
    """No change while load ÷ target is within ± this of 1 (as Kubernetes' HPA)."""
    scale_up: ScaleUp = ScaleUp()
    """How fast to grow."""
    scale_down: ScaleDown = ScaleDown()
    """How fast to shrink."""
    fallback: Fallback | None = None
    """What to aim for while the queries keep failing; hold the count when unset."""


class WorkerPoolSpec(Spec):
    """A set of identical worker containers that the scaler sizes from Prometheus metrics."""

    image: Annotated[str, Field(min_length=1)]
    """Container image."""
    command: list[str] = Field(default_factory=list)
    """Command and arguments; the image's own when empty."""
    env: dict[str, str | EnvRef | FileRef] = Field(default_factory=dict)
    """Plain values, or secret references resolved on the scaler's host."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Container labels (dots allowed); healing policies can select on them."""
    resources: Resources | None = None
    """CPU and memory limits of each container; none when unset."""
    replicas: Replicas = Replicas()
    """The range of the container count."""
    scaling: Scaling | None = None
    """How to size the pool from metrics; kept at `replicas.min` when unset."""
    healing_policy: str | None = None
    """A `HealingPolicy` name applied to this pool's containers."""
    stop_grace_period: Duration = "30s"
    """Time a container gets to stop before it is killed."""
    kubernetes: KubernetesWorkload | None = None
    """The Deployment or StatefulSet that runs this pool on Kubernetes: the `keda` target
    renders a ScaledObject for it."""
