"""A worker pool's replica range and scaling targets make sense.

`replicas.min` must not exceed `replicas.max`, `max` must be at least 1, a fallback
count must lie within the range, and every scaling metric needs a positive target
(the scaler divides by it).

Fix: correct the numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "pool/replica-range"
SEVERITY = Severity.ERROR
SUMMARY = "a worker pool's replica range or scaling target is impossible"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for pool in model.pools:
        replicas = pool.spec.replicas
        origin = pool.origin.child("replicas")
        if replicas.min > replicas.max:
            yield ctx.diag(origin.child("min"), CODE,
                           f"replicas.min ({replicas.min}) is larger than replicas.max "
                           f"({replicas.max})")
        if replicas.max < 1:
            yield ctx.diag(origin.child("max"), CODE, "replicas.max must be at least 1")
        scaling = pool.spec.scaling
        if scaling is None:
            continue
        for i, metric in enumerate(scaling.metrics):
            if metric.target <= 0:
                yield ctx.diag(pool.origin.child("scaling", "metrics", i, "target"), CODE,
                               f"scaling target must be positive, got {metric.target:g}")
        fallback = scaling.fallback
        if fallback is not None and not replicas.min <= fallback.replicas <= replicas.max:
            yield ctx.diag(pool.origin.child("scaling", "fallback", "replicas"), CODE,
                           f"fallback replicas ({fallback.replicas}) lie outside "
                           f"{replicas.min}..{replicas.max}")
