"""The config server's own metrics, `converge_server_…`, beside the runtime's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from converge.reconciler.core.metrics import name

DAEMON = "server"


class ServerMetrics:
    """Compiles, fetches, the bundle served, sidecar reports and webhook deliveries."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.compiles = Counter(name(DAEMON, "compiles_total"),
                                "Compile attempts by result (success, failure, error).",
                                ["result"], registry=registry)
        self.last_compile_success = Gauge(
            name(DAEMON, "last_compile_success_timestamp_seconds"),
            "When a commit last compiled.", registry=registry)
        self.bundle_info = Gauge(name(DAEMON, "bundle_info"),
                                 "The bundle served now (value 1).", ["commit", "hash"],
                                 registry=registry)
        self.fetches = Counter(name(DAEMON, "fetches_total"), "Git fetches by result.",
                               ["result"], registry=registry)
        self.sidecar_reports = Counter(name(DAEMON, "sidecar_reports_total"),
                                       "Sync-status reports from sidecars by result.",
                                       ["result"], registry=registry)
        self.webhooks = Counter(name(DAEMON, "webhooks_total"),
                                "GitHub webhook deliveries by result.", ["result"],
                                registry=registry)
        for result in ("success", "failure", "error"):
            self.compiles.labels(result)
        for result in ("success", "error"):
            self.fetches.labels(result)

    def serving(self, *, commit: str | None, bundle_hash: str) -> None:
        """Point `bundle_info` at the bundle served now."""
        self.bundle_info.clear()
        self.bundle_info.labels(commit or "", bundle_hash).set(1)
