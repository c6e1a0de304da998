"""KEDA ScaledObjects for WorkerPools that name a Kubernetes workload."""

from __future__ import annotations

from converge.compiler.model import Model


def render(model: Model) -> dict[str, str]:
    """`kubernetes/keda/<pool>.yaml` for each pool with `spec.kubernetes`."""
    return {}
