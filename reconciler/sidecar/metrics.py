"""The sidecar's metrics (names are fixed: the meta-monitoring rules read them).

`converge_sidecar_syncs_total{target,result}` (success, failure, unchanged),
`converge_sidecar_reload_duration_seconds{target}`,
`converge_sidecar_last_success_timestamp_seconds{target}` (a verified unchanged sync
counts: the target runs what the source offers),
`converge_sidecar_last_failure_timestamp_seconds{target}`,
`converge_sidecar_bundle_info{target,hash,commit}` = 1 for the set the target runs,
`converge_sidecar_converged{target}` (1: verified loaded == offered),
`converge_sidecar_source_up{target}`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from converge.reconciler.sidecar.sync import Report

RESULTS = ("success", "failure", "unchanged")


class SidecarMetrics:
    """The sidecar's own series for one target."""

    def __init__(self, registry: CollectorRegistry, target: str) -> None:
        self.target = target
        self.syncs = Counter("converge_sidecar_syncs_total", "Syncs by result.",
                             ["target", "result"], registry=registry)
        for result in RESULTS:
            self.syncs.labels(target, result)
        self.reload = Histogram("converge_sidecar_reload_duration_seconds",
                                "Reload plus verification of the target.", ["target"],
                                registry=registry,
                                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.last_success = Gauge("converge_sidecar_last_success_timestamp_seconds",
                                  "When a sync last ended with the target verifiably "
                                  "running the offered bundle.", ["target"], registry=registry)
        self.last_failure = Gauge("converge_sidecar_last_failure_timestamp_seconds",
                                  "When a sync last failed.", ["target"], registry=registry)
        self.bundle_info = Gauge("converge_sidecar_bundle_info",
                                 "1 for the bundle the target verifiably runs.",
                                 ["target", "hash", "commit"], registry=registry)
        self.converged = Gauge("converge_sidecar_converged",
                               "1 when what the target loaded is what the source offers.",
                               ["target"], registry=registry)
        self.source_up = Gauge("converge_sidecar_source_up",
                               "1 when the last fetch reached the source.", ["target"],
                               registry=registry)
        self.converged.labels(target).set(0)
        self._info: tuple[str, str] | None = None

    def observe(self, report: Report, *, converged: bool, source_up: bool | None,
                now: float) -> None:
        """Record one sync."""
        self.syncs.labels(self.target, report.result).inc()
        if report.reload_seconds is not None:
            self.reload.labels(self.target).observe(report.reload_seconds)
        if report.result == "failure":
            self.last_failure.labels(self.target).set(now)
        elif report.result == "success" or converged:
            self.last_success.labels(self.target).set(now)
        self.converged.labels(self.target).set(1 if converged else 0)
        if source_up is not None:
            self.source_up.labels(self.target).set(1 if source_up else 0)
        if report.hash is not None:
            info = (report.hash, report.commit or "")
            if info != self._info:
                if self._info is not None:
                    self.bundle_info.remove(self.target, *self._info)
                self.bundle_info.labels(self.target, *info).set(1)
                self._info = info
