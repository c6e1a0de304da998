"""Adapters for the three targets behind one `Target` protocol: check, reload, verify.

Each adapter proves what its target loaded instead of trusting an HTTP 200: Prometheus by
its reload metric and `/api/v1/rules`, Alertmanager by `alertmanager_config_hash`, vmalert
(which answers before it reloads) by polling its reload counters and `/api/v1/rules`.
"""

from __future__ import annotations

from converge.reconciler.sidecar.targets.base import Target, TargetError
from converge.reconciler.sidecar.targets.registry import build

__all__ = ["Target", "TargetError", "build"]
