"""Which adapter serves which target name: the one place that knows all three (the
adapters import `base`, never this module)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from converge.reconciler.sidecar.targets import alertmanager, prometheus, vmalert
from converge.reconciler.sidecar.targets.base import Http, Target

NAMES = ("prometheus", "alertmanager", "vmalert")

__all__ = ["NAMES", "build"]


def build(name: str, *, reload_url: str, dest_seen: str, client: httpx.Client,
          validate: bool = True, sleep: Callable[[float], None] | None = None,
          clock: Callable[[], float] | None = None) -> Target:
    """The adapter for `name` (prometheus, alertmanager or vmalert).

    Args:
        reload_url: the target's `/-/reload` URL; its other endpoints share its base.
        dest_seen: DEST as the target sees it (the `file` of its rule groups).
        client: the HTTP client to use.
        validate: run the target's checker before publishing (when installed).
        sleep, clock: injectable for vmalert's polling.
    """
    http = Http(reload_url=reload_url, client=client)
    if name == "prometheus":
        return prometheus.Prometheus(http, dest_seen=dest_seen, validate=validate)
    if name == "alertmanager":
        return alertmanager.Alertmanager(http, validate=validate)
    if name == "vmalert":
        return vmalert.VMAlert(http, dest_seen=dest_seen, validate=validate,
                               sleep=sleep, clock=clock)
    raise ValueError(f"unknown target {name!r}")
